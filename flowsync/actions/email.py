"""The `email` action: send a plain-text message through the worker's SMTP server.

SMTP has no idempotency key, so a retry after a lost reply can deliver twice. The Message-ID
is derived from the step's idempotency key (`<execution_id>.<node_id>@<sender domain>`), the
same on every attempt, so receivers and mail stores that dedupe by Message-ID drop the copy.
"""

from __future__ import annotations

import email.utils
from email.message import EmailMessage
from typing import Any

import aiosmtplib

from flowsync.actions.base import (
    ActionError,
    PermanentError,
    RetryableError,
    StepContext,
    load_config,
    to_text,
)
from flowsync.definition.configs import EmailConfig

__all__ = ["message_id", "send_email"]

_DEFAULT_TIMEOUT = 60.0
_SMTP_VARIABLES = (
    "FLOWSYNC_SMTP_HOST (required), FLOWSYNC_SMTP_PORT (587), FLOWSYNC_SMTP_USERNAME, "
    "FLOWSYNC_SMTP_PASSWORD, FLOWSYNC_SMTP_STARTTLS (true/false/auto) and FLOWSYNC_SMTP_SENDER"
)


def message_id(idempotency_key: str, sender: str) -> str:
    """The Message-ID for a step: stable across attempts (node ids are valid dot-atoms)."""
    domain = email.utils.parseaddr(sender)[1].rpartition("@")[2] or "flowsync.invalid"
    return f"<{idempotency_key.replace(':', '.')}@{domain}>"


async def send_email(ctx: StepContext) -> dict[str, Any]:
    """Render and send the message; output the Message-ID and the accepted recipients."""
    config = load_config(ctx, EmailConfig)
    smtp = ctx.resources.smtp
    if smtp is None:
        raise PermanentError(f"no SMTP server is configured for this worker: set {_SMTP_VARIABLES}")
    recipients = _recipients(ctx, config.to)
    sender = to_text(ctx.render(config.from_, field="from")) if config.from_ else smtp.sender
    if not sender:
        raise PermanentError('no sender: set "from" on the node or FLOWSYNC_SMTP_SENDER')
    msg_id = message_id(ctx.idempotency_key, sender)
    message = EmailMessage()
    try:
        message["From"] = sender
        message["To"] = ", ".join(recipients)
        message["Subject"] = to_text(ctx.render(config.subject, field="subject"))
        message["Date"] = email.utils.format_datetime(ctx.resources.now())
        message["Message-ID"] = msg_id
        message.set_content(to_text(ctx.render(config.body, field="body")))
    except ValueError as exc:  # e.g. a line break in a rendered header (header injection)
        raise PermanentError(f"cannot build the message: {exc}") from None
    try:
        refused, _reply = await aiosmtplib.send(
            message,
            hostname=smtp.host,
            port=smtp.port,
            username=smtp.username,
            password=smtp.password,
            # Port 465 speaks TLS from the first byte; other ports upgrade with STARTTLS.
            use_tls=smtp.port == 465,
            start_tls=False if smtp.port == 465 else smtp.starttls,
            timeout=ctx.timeout or _DEFAULT_TIMEOUT,
        )
    except aiosmtplib.SMTPException as exc:
        raise _classify(exc, smtp.host, smtp.port) from None
    except OSError as exc:
        raise RetryableError(f"cannot reach SMTP server {smtp.host}:{smtp.port}: {exc}") from None
    refused_text = {address: f"{reply.code} {reply.message}" for address, reply in refused.items()}
    if refused_text:
        ctx.log.warning("email.recipients_refused", refused=refused_text)
    accepted = [address for address in recipients if address not in refused]
    ctx.log.info("email.sent", message_id=msg_id, recipients=len(accepted))
    return {"message_id": msg_id, "accepted": accepted, "refused": refused_text}


def _recipients(ctx: StepContext, templates: list[str]) -> list[str]:
    """Rendered addresses; a placeholder may render to a list of them."""
    found: list[str] = []
    for index, template in enumerate(templates):
        value = ctx.render(template, field=f"to[{index}]")
        for item in value if isinstance(value, list) else [value]:
            if not isinstance(item, str):
                raise PermanentError(
                    f"config.to[{index}]: rendered to {type(item).__name__}, expected an address"
                )
            if item.strip():
                found.append(item.strip())
    if not found:
        raise PermanentError("config.to: no recipients after rendering")
    return found


def _classify(exc: aiosmtplib.SMTPException, host: str, port: int) -> ActionError:
    """4xx replies and lost connections are temporary in SMTP; 5xx replies are final."""
    where = f"SMTP server {host}:{port}"
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = {
            refusal.recipient: f"{refusal.code} {refusal.message}" for refusal in exc.recipients
        }
        message = f"{where} refused every recipient"
        if any(400 <= refusal.code < 500 for refusal in exc.recipients):
            return RetryableError(message, details={"refused": codes})
        return PermanentError(message, details={"refused": codes})
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        message = f"{where} answered {exc.code} {exc.message}"
        if 400 <= exc.code < 500:
            return RetryableError(message, details={"code": exc.code})
        return PermanentError(message, details={"code": exc.code})
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return PermanentError(f"{where}: {exc.message}")
    return RetryableError(f"{where}: {exc.message}", details={"error": type(exc).__name__})
