"""The http action against a real server on 127.0.0.1: outputs, headers and retry rules."""

from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime

import pytest

from flowsync.actions import PermanentError, RetryableError
from flowsync.actions.http import http_request, parse_retry_after
from tests.unit.actions.conftest import NOW, Server, free_port, run_step, run_with_context


def test_json_body_is_parsed(server: Server) -> None:
    output = run_step(http_request, "http", {"url": f"{server.url}/json"})
    assert output["status"] == 200
    assert output["body"] == {"ok": True, "items": [1, 2]}
    assert output["headers"]["content-type"] == "application/json"


def test_text_body_is_decoded_with_its_charset(server: Server) -> None:
    output = run_step(http_request, "http", {"url": f"{server.url}/text"})
    assert output["body"] == "héllo"


def test_idempotency_key_is_sent_and_stable_across_attempts(server: Server) -> None:
    config = {"method": "POST", "url": f"{server.url}/json", "json": {"a": 1}}
    run_step(http_request, "http", config, attempt=1)
    run_step(http_request, "http", config, attempt=2)
    first, second = server.requests
    key = "0b5e6d1c-0000-4000-8000-000000000001:call"
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"] == key
    assert (first.headers["x-flowsync-attempt"], second.headers["x-flowsync-attempt"]) == (
        "1",
        "2",
    )


def test_templates_render_from_input_and_steps(server: Server) -> None:
    config = {
        "method": "PUT",
        "url": "{{ input.base }}/echo",
        "headers": {"X-Order": "order-{{ input.order_id }}"},
        "query": {"total": "{{ steps.fetch.output.body.total }}", "fixed": 3},
        "json": {"id": "{{ input.order_id }}", "note": "for {{ execution.workflow }}"},
    }
    output = run_step(
        http_request,
        "http",
        config,
        input={"base": server.url, "order_id": 42},
        steps={"fetch": {"output": {"body": {"total": 1500}}}},
    )
    echoed = output["body"]
    assert echoed["headers"]["x-order"] == "order-42"
    assert echoed["headers"]["content-type"] == "application/json"
    assert echoed["query"] == {"total": ["1500"], "fixed": ["3"]}
    assert echoed["body"] == '{"id":42,"note":"for orders"}'
    assert server.requests[0].method == "PUT"


def test_500_is_retryable_with_the_status_and_a_truncated_body(server: Server) -> None:
    with pytest.raises(RetryableError) as caught:
        run_step(http_request, "http", {"url": f"{server.url}/status/500"})
    assert caught.value.details is not None
    assert caught.value.details["status"] == 500
    assert caught.value.details["body"].startswith("boom boom")
    assert len(caught.value.details["body"]) == 2048
    assert caught.value.retry_after is None
    assert "500" in caught.value.message


def test_503_retry_after_seconds(server: Server) -> None:
    with pytest.raises(RetryableError) as caught:
        run_step(http_request, "http", {"url": f"{server.url}/status/503?retry_after=7"})
    assert caught.value.retry_after == 7


@pytest.mark.parametrize("status", [408, 429])
def test_408_and_429_are_retryable(server: Server, status: int) -> None:
    with pytest.raises(RetryableError):
        run_step(http_request, "http", {"url": f"{server.url}/status/{status}"})


def test_404_is_permanent(server: Server) -> None:
    with pytest.raises(PermanentError) as caught:
        run_step(http_request, "http", {"url": f"{server.url}/status/404"})
    assert caught.value.retryable is False
    assert caught.value.details is not None
    assert caught.value.details["status"] == 404


def test_retry_on_status_makes_a_4xx_retryable(server: Server) -> None:
    config = {"url": f"{server.url}/status/404", "retry_on_status": [404]}
    with pytest.raises(RetryableError):
        run_step(http_request, "http", config)


def test_connection_refused_is_retryable() -> None:
    with pytest.raises(RetryableError) as caught:
        run_step(http_request, "http", {"url": f"http://127.0.0.1:{free_port()}/x"})
    assert caught.value.details == {"error": "ConnectError"}


def test_timeout_is_retryable(server: Server) -> None:
    with pytest.raises(RetryableError) as caught:
        run_step(http_request, "http", {"url": f"{server.url}/slow", "timeout": "200ms"})
    assert caught.value.message.endswith("timed out after 0.2s")


def test_step_timeout_applies_when_the_node_sets_none(server: Server) -> None:
    with pytest.raises(RetryableError, match="timed out"):
        run_step(http_request, "http", {"url": f"{server.url}/slow"}, timeout=0.2)


@pytest.mark.parametrize("chunked", [False, True])
def test_body_over_the_cap_is_permanent(server: Server, chunked: bool) -> None:
    url = f"{server.url}/big?n=1000" + ("&chunked=1" if chunked else "")
    with pytest.raises(PermanentError, match="max_response_bytes"):
        run_step(http_request, "http", {"url": url, "max_response_bytes": 500})
    output = run_step(http_request, "http", {"url": url, "max_response_bytes": 1000})
    assert output["body"] == "x" * 1000


def test_large_error_bodies_do_not_hit_the_cap(server: Server) -> None:
    # A 5xx must stay retryable even when its body is larger than max_response_bytes.
    config = {"url": f"{server.url}/status/502", "max_response_bytes": 10}
    with pytest.raises(RetryableError):
        run_step(http_request, "http", config)


def test_bad_urls_are_permanent() -> None:
    with pytest.raises(PermanentError, match="cannot be sent"):
        run_step(http_request, "http", {"url": "ftp://127.0.0.1/file"})


def test_template_errors_are_permanent_and_name_the_field() -> None:
    with pytest.raises(PermanentError, match=r"config\.url"):
        run_step(http_request, "http", {"url": "{{ input.missing.deeper }}"}, input={})


def test_the_response_is_logged_without_the_query(server: Server) -> None:
    _, ctx = run_with_context(http_request, "http", {"url": f"{server.url}/json?token=s3cret"})
    [line] = ctx.log.lines
    assert line.message == "http.response"
    assert line.fields["status"] == 200
    assert "s3cret" not in str(line.fields)


def test_parse_retry_after() -> None:
    assert parse_retry_after("7", NOW) == 7
    assert parse_retry_after(" 0 ", NOW) == 0
    assert parse_retry_after(format_datetime(NOW + timedelta(seconds=90), usegmt=True), NOW) == 90
    assert parse_retry_after(format_datetime(NOW - timedelta(seconds=90), usegmt=True), NOW) == 0
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after(None, NOW) is None
    assert parse_retry_after("-5", NOW) == 0
