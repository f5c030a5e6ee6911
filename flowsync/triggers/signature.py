"""Authenticating webhook deliveries by the trigger's own secret.

HMAC (the default), the same scheme the `webhook` action signs with:

    X-FlowSync-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>

The HMAC covers the timestamp, a dot and the exact body bytes. A `t` more than five minutes
away from the server's clock (either way) is refused, so a captured delivery cannot be
replayed later; several `v1=` entries may be sent (while rotating secrets) and one must match.
Comparisons take constant time. Bearer: `Authorization: Bearer <secret>`, compared in
constant time too.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping

__all__ = [
    "SIGNATURE_HEADER",
    "TOLERANCE_SECONDS",
    "check_bearer",
    "check_signature",
    "new_hook_key",
    "new_secret",
    "sign",
]

SIGNATURE_HEADER = "X-FlowSync-Signature"
TOLERANCE_SECONDS = 300


def new_secret() -> str:
    """A random secret for a webhook trigger created without one."""
    return "whsec_" + secrets.token_urlsafe(32)


def new_hook_key() -> str:
    """The unguessable token in a webhook trigger's URL (/hooks/<key>)."""
    return "hk_" + secrets.token_urlsafe(24)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The header value a sender puts on `body` sent at `timestamp`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def check_signature(secret: str, header: str | None, body: bytes, now: float) -> str | None:
    """None when `header` signs `body` with `secret` recently enough, else why not."""
    if not header:
        return f"missing {SIGNATURE_HEADER} header (t=<unix time>,v1=<hex HMAC-SHA256>)"
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t":
            try:
                timestamp = int(value)
            except ValueError:
                return "the signature timestamp t is not an integer"
        elif name == "v1":
            candidates.append(value.strip())
    if timestamp is None or not candidates:
        return f"malformed {SIGNATURE_HEADER} header: expected t=<unix time>,v1=<hex>"
    if abs(now - timestamp) > TOLERANCE_SECONDS:
        return (
            f"the signature timestamp is more than {TOLERANCE_SECONDS // 60} minutes from "
            "the server's clock (replayed or a skewed clock)"
        )
    expected = sign(secret, timestamp, body).partition(",v1=")[2].encode()
    # Compare with every candidate (no early exit), each in constant time.
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(expected, candidate.encode("ascii", "replace"))
    return None if matched else "the signature does not match"


def check_bearer(secret: str, headers: Mapping[str, str]) -> str | None:
    """None when the Authorization header carries `secret` as a bearer token, else why not."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return "missing 'Authorization: Bearer <token>' header"
    if not hmac.compare_digest(token.strip().encode(), secret.encode()):
        return "the bearer token does not match"
    return None
