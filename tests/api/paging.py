"""Walking a paginated listing of the API to its end by following `next_cursor`."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient


def every_item(
    client: TestClient,  # type: ignore[type-arg]
    path: str,
    limit: int,
    **params: Any,
) -> list[dict[str, Any]]:
    """All items of `path`, asked for `limit` at a time, in the order the pages gave them."""
    items: list[dict[str, Any]] = []
    cursors_seen: set[str] = set()
    query = {**params, "limit": limit}
    while True:
        response = client.get(path, params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= limit, f"{path}: a page longer than its limit"
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
        # (a cursor that comes back again would loop forever)
        assert cursor not in cursors_seen, f"{path}: cursor {cursor} came back"
        cursors_seen.add(cursor)
        query["cursor"] = cursor
