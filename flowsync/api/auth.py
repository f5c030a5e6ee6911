"""Bearer API keys: authentication middleware, scope guards, and a short-lived key cache."""

from __future__ import annotations

import time
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from flowsync import store
from flowsync.api.problems import ApiProblem
from flowsync.keys import Scope, grants, hash_api_key

# Verified keys are trusted for this long, so most requests skip the lookup; a revoked key
# stops working within the same time.
KEY_CACHE_SECONDS = 10.0
_KEY_CACHE_MAX = 1024

UNAUTHORIZED_HEADERS = {"WWW-Authenticate": 'Bearer realm="flowsync"'}


class KeyCache:
    def __init__(self) -> None:
        self._entries: dict[bytes, tuple[float, store.ApiKeyIdentity]] = {}

    def get(self, key_hash: bytes) -> store.ApiKeyIdentity | None:
        entry = self._entries.get(key_hash)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, key_hash: bytes, identity: store.ApiKeyIdentity) -> None:
        if len(self._entries) >= _KEY_CACHE_MAX:
            self._entries.clear()
        self._entries[key_hash] = (time.monotonic() + KEY_CACHE_SECONDS, identity)


class ApiKeyMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiProblem(
                401,
                "Unauthorized",
                "send an API key as 'Authorization: Bearer <key>' "
                "(create one with: bin/flowsync api-key create --scope admin)",
                headers=UNAUTHORIZED_HEADERS,
            )
        key_hash = hash_api_key(token.strip())
        cache: KeyCache = connection.app.state.key_cache
        identity = cache.get(key_hash)
        if identity is None:
            identity = await store.authenticate_api_key(connection.app.state.pool, key_hash)
            if identity is None:
                raise ApiProblem(
                    401,
                    "Unauthorized",
                    "the API key is unknown or revoked",
                    headers=UNAUTHORIZED_HEADERS,
                )
            cache.put(key_hash, identity)
        return AuthenticationResult(user=identity, auth=identity)


def requires(scope: Scope) -> Any:
    """A route guard: the caller's key must grant `scope` (admin ⊇ write ⊇ read)."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        identity: store.ApiKeyIdentity = connection.auth
        if not grants(identity.scopes, scope):
            raise ApiProblem(
                403,
                "Forbidden",
                f"this API key has scopes {sorted(identity.scopes)}; this operation needs "
                f"'{scope}'",
            )

    return guard
