"""Content-type checks shared by every endpoint that reads a JSON body."""

from __future__ import annotations

from typing import Any

from litestar import Request

from flowsync.api.problems import ApiProblem


def media_type(request: Request[Any, Any, Any]) -> str:
    """The request's media type, lower-case, without parameters ("" when absent)."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def is_json(request: Request[Any, Any, Any]) -> bool:
    kind = media_type(request)
    return kind == "application/json" or kind.endswith("+json")


def require_json(request: Request[Any, Any, Any]) -> None:
    """415 unless the body is declared as JSON."""
    if not is_json(request):
        raise ApiProblem(
            415,
            "Unsupported Media Type",
            f"send the body as application/json (got {media_type(request) or 'no content type'})",
        )
