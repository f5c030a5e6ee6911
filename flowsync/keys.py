"""API keys: generation, hashing and scope rules."""

from __future__ import annotations

import hashlib
import secrets
from typing import Literal

Scope = Literal["admin", "write", "read"]
SCOPES: tuple[Scope, ...] = ("admin", "write", "read")
KEY_PREFIX = "fsk_"

# A scope grants itself and everything below it.
_RANK: dict[str, int] = {"read": 0, "write": 1, "admin": 2}


def new_api_key() -> str:
    """A fresh key: a recognisable prefix and 256 bits of randomness."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def display_prefix(key: str) -> str:
    """The part of a key that may be shown and logged to tell keys apart."""
    return key[: len(KEY_PREFIX) + 6]


def grants(scopes: list[str], needed: Scope) -> bool:
    return any(_RANK.get(scope, -1) >= _RANK[needed] for scope in scopes)
