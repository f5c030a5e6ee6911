"""The `webhook` action: POST a JSON payload, signed with HMAC-SHA256 when a secret is set.

Signature scheme (the receiver checks it the same way):

    X-FlowSync-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>

The receiver recomputes the HMAC over the timestamp, a dot and the exact request body bytes,
compares in constant time, and rejects a `t` too far from its own clock (replay protection).
`Idempotency-Key: <execution_id>:<node_id>` is the same on every attempt, so receivers can
drop repeated deliveries. Statuses and network errors are retried as in the `http` action.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET

from flowsync.actions.base import PermanentError, StepContext, load_config, to_text
from flowsync.actions.http import OutgoingRequest, request_timeout, send
from flowsync.definition.configs import WebhookConfig
from flowsync.triggers.signature import SIGNATURE_HEADER, sign  # what our receivers check

__all__ = ["SIGNATURE_HEADER", "send_webhook", "sign"]


async def send_webhook(ctx: StepContext) -> dict[str, Any]:
    """POST the rendered payload (`{}` when none is configured) and return the response."""
    config = load_config(ctx, WebhookConfig)
    url = ctx.render(config.url, field="url")
    if not isinstance(url, str):
        raise PermanentError(f"config.url: rendered to {type(url).__name__}, expected a string")
    payload = {} if config.payload is UNSET else ctx.render(config.payload, field="payload")
    body = msgspec.json.encode(payload)
    headers = {
        name: to_text(ctx.render(value, field=f"headers.{name}"))
        for name, value in config.headers.items()
        if name.lower() != "content-type"  # the body is JSON whatever the config says
    }
    headers["Content-Type"] = "application/json"
    if config.secret is not None:
        secret = ctx.render(config.secret, field="secret")
        if not isinstance(secret, str) or not secret:
            raise PermanentError("config.secret: rendered to an empty or non-string value")
        # Signed per attempt: the timestamp must be fresh for the receiver's replay window.
        headers[SIGNATURE_HEADER] = sign(secret, int(ctx.resources.now().timestamp()), body)
    request = OutgoingRequest(
        method="POST",
        url=url,
        headers=headers,
        content=body,
        timeout=request_timeout(ctx, config.timeout),
    )
    return await send(ctx, request)
