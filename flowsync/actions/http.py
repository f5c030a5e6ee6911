"""The `http` action, and the sending and status-to-retry rules the webhook action shares.

Every request carries `Idempotency-Key: <execution_id>:<node_id>` (the same on every attempt,
unless the node's config sets that header itself) and `X-FlowSync-Attempt: <n>`, so a remote
that honours the key applies the effect once however often the step runs.

    2xx                         -> output {"status", "headers", "body"}
    408, 429, 5xx, network,     -> RetryableError (retry_after from a Retry-After header)
      timeouts, retry_on_status
    anything else (4xx, 3xx)    -> PermanentError

Redirects are followed (httpx drops credentials when one leaves the origin). Bodies are read
streaming and capped, so a huge or endless response cannot exhaust the worker's memory.
"""

from __future__ import annotations

import asyncio
import codecs
import email.utils
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec
from msgspec import UNSET

from flowsync.actions.base import (
    ActionError,
    PermanentError,
    RetryableError,
    StepContext,
    load_config,
    to_text,
)
from flowsync.definition.configs import HttpConfig
from flowsync.definition.durations import DurationError, parse_duration

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "OutgoingRequest",
    "http_request",
    "parse_retry_after",
    "request_timeout",
    "send",
]

#: Responses with larger bodies fail the step (set `max_response_bytes` to change it).
DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024
#: How much of an error response is read, and how much of it the error details keep.
_ERROR_READ_BYTES = 64 * 1024
_ERROR_BODY_CHARS = 2048
_RETRYABLE_STATUSES = frozenset({408, 429})


@dataclass(frozen=True, slots=True)
class OutgoingRequest:
    """A rendered request, ready to send."""

    method: str
    url: str
    headers: dict[str, str]
    params: dict[str, Any] | None = None
    content: bytes | None = None
    timeout: float | None = None
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    retry_on_status: frozenset[int] = frozenset()


async def http_request(ctx: StepContext) -> dict[str, Any]:
    """Render the node's request, send it, and return the response as output."""
    config = load_config(ctx, HttpConfig)
    url = ctx.render(config.url, field="url")
    if not isinstance(url, str):
        raise PermanentError(f"config.url: rendered to {type(url).__name__}, expected a string")
    headers = {
        name: to_text(ctx.render(value, field=f"headers.{name}"))
        for name, value in config.headers.items()
    }
    params = {
        name: _query_value(ctx.render(value, field=f"query.{name}"))
        for name, value in config.query.items()
    }
    content: bytes | None = None
    if config.json is not UNSET:
        content = msgspec.json.encode(ctx.render(config.json, field="json"))
        if not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = "application/json"
    elif config.body is not None:
        content = to_text(ctx.render(config.body, field="body")).encode()
    request = OutgoingRequest(
        method=config.method,
        url=url,
        headers=headers,
        params=params or None,
        content=content,
        timeout=request_timeout(ctx, config.timeout),
        max_response_bytes=config.max_response_bytes or DEFAULT_MAX_RESPONSE_BYTES,
        retry_on_status=frozenset(config.retry_on_status or ()),
    )
    return await send(ctx, request)


async def send(ctx: StepContext, request: OutgoingRequest) -> dict[str, Any]:
    """Send a request with the step's idempotency headers; classify any failure."""
    headers = httpx.Headers(
        {"Idempotency-Key": ctx.idempotency_key, "X-FlowSync-Attempt": str(ctx.attempt)}
    )
    # The node's own headers win, Idempotency-Key included: the author chose it on purpose.
    headers.update(request.headers)
    headers["X-FlowSync-Attempt"] = str(ctx.attempt)
    where = f"{request.method} {_display_url(request.url)}"
    started = time.monotonic()
    try:
        # asyncio.timeout bounds the whole exchange; httpx's timeout is per network operation.
        async with asyncio.timeout(request.timeout):
            status, reason, response_headers, body = await _exchange(ctx, request, headers)
    except (TimeoutError, httpx.TimeoutException) as exc:
        after = "" if request.timeout is None else f" after {request.timeout:g}s"
        raise RetryableError(
            f"{where} timed out{after}",
            details={"error": type(exc).__name__},
        ) from None
    except (
        httpx.UnsupportedProtocol,
        httpx.InvalidURL,
        httpx.TooManyRedirects,
        httpx.LocalProtocolError,
    ) as exc:
        # The request itself is wrong; sending it again cannot help.
        raise PermanentError(f"{where} cannot be sent: {exc}") from None
    except httpx.RequestError as exc:
        raise RetryableError(
            f"{where} failed: {exc or type(exc).__name__}",
            details={"error": type(exc).__name__},
        ) from None
    elapsed_ms = round((time.monotonic() - started) * 1000)
    ctx.log.info("http.response", request=where, status=status, elapsed_ms=elapsed_ms)
    if 200 <= status < 300 and status not in request.retry_on_status:
        return {"status": status, "headers": response_headers, "body": body}
    raise _status_error(ctx, request, where, status, reason, response_headers, body)


async def _exchange(
    ctx: StepContext, request: OutgoingRequest, headers: httpx.Headers
) -> tuple[int, str, dict[str, str], Any]:
    """One request: status, reason, headers and body (parsed on success, text on error)."""
    client = ctx.resources.http
    timeout = client.timeout if request.timeout is None else httpx.Timeout(request.timeout)
    async with client.stream(
        request.method,
        request.url,
        headers=headers,
        params=request.params,
        content=request.content,
        timeout=timeout,
        follow_redirects=True,
    ) as response:
        status = response.status_code
        ok = 200 <= status < 300 and status not in request.retry_on_status
        limit = request.max_response_bytes if ok else _ERROR_READ_BYTES
        declared = response.headers.get("content-length", "")
        # Content-Length counts encoded bytes; the cap is on decoded ones, so only trust it
        # to fail early when the body is not compressed.
        plain = "content-encoding" not in response.headers
        if ok and plain and declared.isdigit() and int(declared) > limit:
            raise _too_large(request, status)
        raw, complete = await _read_capped(response, limit)
        if ok and not complete:
            raise _too_large(request, status)
        response_headers = dict(response.headers.items())
        if ok:
            body = _parse_body(ctx, response, raw)
        else:
            body = _decode_text(response, raw)[:_ERROR_BODY_CHARS]
        return status, response.reason_phrase, response_headers, body


async def _read_capped(response: httpx.Response, limit: int) -> tuple[bytes, bool]:
    """Read at most `limit` bytes (after content decoding, so gzip bombs stay bounded);
    the flag says whether the whole body fit."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            chunks.append(chunk[: len(chunk) - (size - limit)])
            return b"".join(chunks), False
        chunks.append(chunk)
    return b"".join(chunks), True


def _too_large(request: OutgoingRequest, status: int) -> PermanentError:
    return PermanentError(
        f"response body is larger than max_response_bytes ({request.max_response_bytes} bytes)",
        details={"status": status, "max_response_bytes": request.max_response_bytes},
    )


def _parse_body(ctx: StepContext, response: httpx.Response, raw: bytes) -> Any:
    media_type = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        if not raw.strip():
            return None
        try:
            return msgspec.json.decode(raw)
        except msgspec.DecodeError:
            # A server that mislabels its body still answered; keep the text.
            ctx.log.warning("http.body_not_json", content_type=media_type)
    return _decode_text(response, raw)


def _decode_text(response: httpx.Response, raw: bytes) -> str:
    encoding = response.charset_encoding or "utf-8"
    try:
        codecs.lookup(encoding)
    except LookupError:
        encoding = "utf-8"
    return raw.decode(encoding, errors="replace")


def _status_error(
    ctx: StepContext,
    request: OutgoingRequest,
    where: str,
    status: int,
    reason: str,
    headers: dict[str, str],
    body: str,
) -> ActionError:
    message = f"{where} answered {status} {reason}".rstrip()
    details: dict[str, Any] = {"status": status, "body": body}
    if status in request.retry_on_status or status in _RETRYABLE_STATUSES or status >= 500:
        retry_after = parse_retry_after(headers.get("retry-after"), ctx.resources.now())
        return RetryableError(message, details=details, retry_after=retry_after)
    return PermanentError(message, details=details)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or an HTTP date), or None."""
    if not value or not (text := value.strip()):
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)


def _query_value(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list) and all(isinstance(item, str | int | float) for item in value):
        return value  # repeated parameter: ?tag=a&tag=b
    return to_text(value)


def request_timeout(ctx: StepContext, configured: str | None) -> float | None:
    """The node's own request timeout in seconds, else the step's timeout."""
    if configured is None:
        return ctx.timeout
    try:
        return parse_duration(configured).total_seconds()
    except DurationError as exc:
        raise PermanentError(f"config.timeout: {exc}") from None


def _display_url(url: str) -> str:
    """The URL without credentials, query or fragment: those may hold secrets."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return url[:200]
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}{parsed.path}"
