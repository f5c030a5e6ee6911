"""POST /events: emit an event for the event triggers (the HTTP twin of flowsync.emit_event).

The event is stored first (so it is never lost), then processed at once in its own
transaction; if another process got to it first, the scheduler's event duty does the work.
A repeated id answers 200 with `duplicate: true` and the executions the first one started.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post

from flowsync.api.auth import requires
from flowsync.api.execution_schemas import bad_request, check_text, decode_body, encoded_input
from flowsync.api.media import require_json
from flowsync.api.problems import ApiProblem
from flowsync.store import triggers as trigger_store
from flowsync.triggers.config import EVENT_TYPE_RE
from flowsync.triggers.events import process_event
from flowsync.triggers.models import EventAccepted, EventIn

MAX_EVENT_BYTES = 256 * 1024


class EventController(Controller):
    path = "/events"
    tags = ("events",)

    @post(
        "/",
        guards=[requires("write")],
        status_code=202,
        summary="Emit an event",
        description="202 with the executions the event started; 200 when its id was seen before.",
    )
    async def emit(self, request: Request[Any, Any, Any]) -> Response[EventAccepted]:
        require_json(request)
        body = await request.body()
        if len(body) > MAX_EVENT_BYTES:
            raise ApiProblem(
                413, "Content Too Large", f"an event may be at most {MAX_EVENT_BYTES} bytes"
            )
        event = decode_body(body, EventIn)
        if len(event.type) > 200 or not EVENT_TYPE_RE.match(event.type):
            raise bad_request(
                "invalid event type",
                "type",
                'dot-separated names of letters, digits, "_" and "-" (at most 200 '
                f'characters), like "orders.paid"; got {event.type[:200]!r}',
            )
        if event.id is not None:
            if not 1 <= len(event.id) <= 200:
                raise bad_request("invalid event id", "id", "must have 1 to 200 characters")
            check_text(event.id, "id")
        encoded_input(event.payload, "payload")

        pool = request.app.state.pool
        event_id, created = await trigger_store.emit_event(
            pool, event.type, event.payload, event.id
        )
        if not created:
            done = await trigger_store.event_executions(pool, event_id)
            return Response(EventAccepted(event_id, True, done), status_code=200)
        started = await process_event(pool, event_id)
        return Response(EventAccepted(event_id, False, started or []), status_code=202)
