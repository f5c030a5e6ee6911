"""Errors as RFC 9457 problem details (application/problem+json), for every failure path."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR, HTTP_503_SERVICE_UNAVAILABLE

from flowsync.log import get_logger

PROBLEM_JSON = "application/problem+json"
log = get_logger("flowsync.api")


class FieldError(msgspec.Struct, frozen=True):
    path: str
    message: str


class Problem(msgspec.Struct, omit_defaults=True):
    status: int
    title: str
    detail: str = ""
    type: str = "about:blank"
    errors: list[FieldError] = []
    request_id: str | None = None


class ApiProblem(HTTPException):
    """Raised by handlers: carries a status, a title, a detail and optional field errors."""

    def __init__(
        self,
        status_code: int,
        title: str,
        detail: str = "",
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status_code=status_code, detail=detail, headers=headers)
        self.title = title
        self.errors = errors or []


def problem_response(
    request: Request[Any, Any, Any], problem: Problem, headers: Any = None
) -> Response[Problem]:
    problem.request_id = request.scope.get("state", {}).get("request_id")
    return Response(problem, status_code=problem.status, media_type=PROBLEM_JSON, headers=headers)


def _title_for(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Problem]:
    if isinstance(exc, ApiProblem):
        problem = Problem(exc.status_code, exc.title, exc.detail, errors=exc.errors)
    elif isinstance(exc, ValidationException):
        errors = [
            FieldError(str(item.get("key") or item.get("source") or "$"), str(item.get("message")))
            for item in (exc.extra if isinstance(exc.extra, list) else [])
            if isinstance(item, dict)
        ]
        problem = Problem(400, "Bad Request", str(exc.detail), errors=errors)
    else:
        problem = Problem(exc.status_code, _title_for(exc.status_code), str(exc.detail))
    return problem_response(request, problem, headers=exc.headers)


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    log.exception("request.failed", path=request.url.path)
    problem = Problem(
        HTTP_500_INTERNAL_SERVER_ERROR,
        "Internal Server Error",
        "the server failed to handle this request; the request id identifies it in the logs",
    )
    return problem_response(request, problem)


def handle_database_timeout(
    request: Request[Any, Any, Any], exc: TimeoutError
) -> Response[Problem]:
    """The pool's command timeout fired: the statement was cancelled, though it may have
    committed first, so the answer says a change may have been made."""
    seconds = getattr(request.app.state, "db_command_timeout", None)
    within = "" if seconds is None else f" within {seconds:g} s"
    log.warning("request.database_timeout", path=request.url.path, timeout=seconds)
    problem = Problem(
        HTTP_503_SERVICE_UNAVAILABLE,
        "Service Unavailable",
        f"the database did not answer{within} (FLOWSYNC_DB_COMMAND_TIMEOUT); try again "
        "(a change this request asked for may have been made)",
    )
    return problem_response(request, problem, headers={"Retry-After": "1"})


EXCEPTION_HANDLERS: dict[Any, Any] = {
    HTTPException: handle_http_exception,
    TimeoutError: handle_database_timeout,
    Exception: handle_unexpected,
}
