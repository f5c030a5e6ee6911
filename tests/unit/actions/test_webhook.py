"""The webhook action: signed JSON POSTs, the same retry rules as http."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from flowsync.actions import PermanentError, RetryableError
from flowsync.actions.webhook import send_webhook, sign
from tests.unit.actions.conftest import NOW, Server, run_step


def test_signature_verifies_by_recomputing_the_hmac(server: Server) -> None:
    config = {
        "url": f"{server.url}/echo",
        "payload": {"order": "{{ input.order_id }}", "paid": True},
        "secret": "{{ env.HOOK_SECRET }}",
        "headers": {"X-Tenant": "acme"},
    }
    output = run_step(
        send_webhook, "webhook", config, input={"order_id": 42}, env={"HOOK_SECRET": "k3y"}
    )
    assert output["status"] == 200
    [received] = server.requests
    assert received.method == "POST"
    assert json.loads(received.body) == {"order": 42, "paid": True}
    assert received.headers["content-type"] == "application/json"
    assert received.headers["x-tenant"] == "acme"
    assert received.headers["idempotency-key"] == "0b5e6d1c-0000-4000-8000-000000000001:call"

    # What a receiver does: split the header, recompute over "<t>.<raw body>", compare.
    parts = dict(item.split("=", 1) for item in received.headers["x-flowsync-signature"].split(","))
    assert int(parts["t"]) == int(NOW.timestamp())
    expected = hmac.new(b"k3y", parts["t"].encode() + b"." + received.body, hashlib.sha256)
    assert hmac.compare_digest(parts["v1"], expected.hexdigest())


def test_unsigned_without_a_secret_and_empty_object_without_payload(server: Server) -> None:
    run_step(send_webhook, "webhook", {"url": f"{server.url}/echo"})
    [received] = server.requests
    assert "x-flowsync-signature" not in received.headers
    assert received.body == b"{}"


def test_sign_is_stable() -> None:
    assert sign("s", 1, b"{}") == ("t=1,v1=" + hmac.new(b"s", b"1.{}", hashlib.sha256).hexdigest())


def test_statuses_are_classified_like_http(server: Server) -> None:
    with pytest.raises(RetryableError) as caught:
        run_step(send_webhook, "webhook", {"url": f"{server.url}/status/503?retry_after=7"})
    assert caught.value.retry_after == 7
    with pytest.raises(PermanentError):
        run_step(send_webhook, "webhook", {"url": f"{server.url}/status/410"})


def test_an_empty_secret_is_permanent(server: Server) -> None:
    config = {"url": f"{server.url}/echo", "secret": "{{ env.MISSING_OK }}"}
    with pytest.raises(PermanentError, match=r"config\.secret"):
        run_step(send_webhook, "webhook", config, env={"MISSING_OK": ""})
