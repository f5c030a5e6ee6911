"""POST /hooks/{key}: webhook ingestion, authenticated by the trigger's own secret (no API key).

    404 unknown or disabled key ─▶ 413 body over the trigger's limit ─▶ 401 bad signature/token
    ─▶ 415 not JSON (when JSON is required) / 400 invalid JSON ─▶ filter: 202 {"matched": false}
    ─▶ delivery id seen before: 200 with its execution ─▶ 422 input mapping failed
    ─▶ 202 with the new execution (409 when the workflow is archived)

The body is read up to the trigger's `max_body_bytes` and no further. A delivery id (header
`config.delivery_id_header`, default X-Delivery-Id) starts at most one execution per trigger
for as long as fire records are kept (the retention window).
"""

from __future__ import annotations

import time
from typing import Any

import msgspec
from litestar import Controller, Request, Response, post
from litestar.params import FromPath

from flowsync.api.execution_schemas import bad_request, encoded_input
from flowsync.api.media import is_json
from flowsync.api.problems import ApiProblem
from flowsync.store import triggers as trigger_store
from flowsync.triggers.config import MAX_WEBHOOK_BODY, TriggerConfigError, WebhookConfig
from flowsync.triggers.config import decode_config as decode_trigger_config
from flowsync.triggers.mapping import MappingError, build_input, evaluate_filter
from flowsync.triggers.models import HookResult
from flowsync.triggers.signature import SIGNATURE_HEADER, check_bearer, check_signature

MAX_DELIVERY_ID = 190
_UNAUTHORIZED_HEADERS = {"WWW-Authenticate": 'Signature realm="flowsync-hooks"'}


def _not_found() -> ApiProblem:
    return ApiProblem(404, "Not Found", "no enabled webhook trigger has this key")


async def _read_body(request: Request[Any, Any, Any], limit: int) -> bytes:
    announced = request.headers.get("content-length")
    if announced is not None and announced.isdigit() and int(announced) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> ApiProblem:
    return ApiProblem(
        413, "Content Too Large", f"this webhook accepts bodies of at most {limit} bytes"
    )


def _parse_body(request: Request[Any, Any, Any], config: WebhookConfig, body: bytes) -> Any:
    if not is_json(request):
        if config.require_json:
            raise ApiProblem(
                415,
                "Unsupported Media Type",
                "this webhook takes application/json bodies "
                f"(got {request.headers.get('content-type') or 'no content type'})",
            )
        text = body.decode("utf-8", errors="replace")
        return text.replace("\x00", "\ufffd")
    try:
        value = msgspec.json.decode(body) if body else {}
    except (msgspec.DecodeError, RecursionError) as exc:
        raise bad_request("the body is not valid JSON", "body", str(exc)) from None
    encoded_input(value, "body")
    return value


class HookController(Controller):
    path = "/hooks"
    tags = ("webhooks",)

    @post(
        "/{key:str}",
        opt={"exclude_from_auth": True},
        security=[{}],
        status_code=202,
        request_max_body_size=MAX_WEBHOOK_BODY,
        summary="Deliver a webhook to a trigger",
        description=(
            f"Authenticated by the trigger's secret: `{SIGNATURE_HEADER}: t=<unix>,v1=<hex>` "
            "(HMAC-SHA256 over `<t>.<body>`, at most 5 minutes old), or "
            "`Authorization: Bearer <secret>` for bearer-token triggers. 202 with the started "
            "execution, or `{matched: false}` when the filter declines; 200 for a repeated "
            "delivery id, with the execution the first delivery started."
        ),
    )
    async def deliver(
        self, request: Request[Any, Any, Any], key: FromPath[str]
    ) -> Response[HookResult]:
        pool = request.app.state.pool
        if len(key) > 100 or "\x00" in key:
            raise _not_found()
        target = await trigger_store.webhook_by_key(pool, key)
        if target is None or not target.enabled:
            raise _not_found()
        try:
            config = decode_trigger_config("webhook", target.config)
        except TriggerConfigError:
            raise _not_found() from None
        assert isinstance(config, WebhookConfig)

        body = await _read_body(request, config.max_body_bytes)
        if config.auth == "bearer":
            refused = check_bearer(target.secret, request.headers)
        else:
            header = request.headers.get(SIGNATURE_HEADER)
            refused = check_signature(target.secret, header, body, time.time())
        if refused is not None:
            raise ApiProblem(401, "Unauthorized", refused, headers=_UNAUTHORIZED_HEADERS)

        payload = _parse_body(request, config, body)
        headers = {name.lower(): value for name, value in request.headers.items()}
        variables = {
            "body": payload,
            "headers": headers,
            "trigger": {"id": str(target.id), "kind": "webhook", "workflow": target.workflow},
        }
        matched, reason = evaluate_filter(config.filter, variables)
        if not matched:
            return Response(HookResult(matched=False, reason=reason), status_code=202)

        delivery_id = request.headers.get(config.delivery_id_header)
        if delivery_id is not None and (
            not 1 <= len(delivery_id) <= MAX_DELIVERY_ID or "\x00" in delivery_id
        ):
            raise bad_request(
                f"the {config.delivery_id_header} header has 1 to {MAX_DELIVERY_ID} characters",
                f"header.{config.delivery_id_header}",
                f"has {len(delivery_id)} characters",
            )
        try:
            value = build_input(target.input_mapping, variables, payload)
        except MappingError as exc:
            raise ApiProblem(422, "Unprocessable Content", str(exc)) from None
        encoded_input(value, "input")

        fired = await trigger_store.fire_trigger(
            pool, target.id, None if delivery_id is None else f"delivery:{delivery_id}", value
        )
        if fired.result == "not_found":
            raise _not_found()
        if fired.result == "failed":
            raise ApiProblem(409, "Conflict", fired.error or "the execution could not start")
        duplicate = fired.result == "duplicate"
        return Response(
            HookResult(matched=True, execution_id=fired.execution_id, duplicate=duplicate),
            status_code=200 if duplicate else 202,
        )
