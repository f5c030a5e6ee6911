"""The email action against a local SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from flowsync.actions import PermanentError, RetryableError, SmtpSettings
from flowsync.actions.email import send_email
from flowsync.config import ConfigError
from tests.unit.actions.conftest import free_port, run_step, run_with_context

MESSAGE_ID = "<0b5e6d1c-0000-4000-8000-000000000001.call@shop.example>"


@dataclass
class Inbox:
    """An aiosmtpd handler that keeps what it receives and refuses nobody@ addresses."""

    messages: list[Any] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address.startswith("nobody@"):
            return "550 no such user"
        if address.startswith("busy@"):
            return "451 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 Message accepted"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, SmtpSettings]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, SmtpSettings(host="127.0.0.1", port=port, sender="Shop <bot@shop.example>")
    finally:
        controller.stop()


def test_message_arrives_with_a_message_id_from_the_idempotency_key(
    smtp: tuple[Inbox, SmtpSettings],
) -> None:
    inbox, settings = smtp
    config = {
        "to": ["{{ input.customer }}", "ops@shop.example"],
        "subject": "Order {{ input.order_id }} paid",
        "body": "Total: {{ steps.fetch.output.total }}",
    }
    output = run_step(
        send_email,
        "email",
        config,
        smtp=settings,
        input={"customer": "ada@example.org", "order_id": 42},
        steps={"fetch": {"output": {"total": 1500}}},
    )
    assert output == {
        "message_id": MESSAGE_ID,
        "accepted": ["ada@example.org", "ops@shop.example"],
        "refused": {},
    }
    [envelope] = inbox.messages
    assert envelope.mail_from == "bot@shop.example"
    assert envelope.rcpt_tos == ["ada@example.org", "ops@shop.example"]
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert message["Message-ID"] == MESSAGE_ID
    assert message["Subject"] == "Order 42 paid"
    assert message.get_content().strip() == "Total: 1500"


def test_the_message_id_is_the_same_on_every_attempt(smtp: tuple[Inbox, SmtpSettings]) -> None:
    inbox, settings = smtp
    config = {"to": ["a@example.org"], "from": "noreply@shop.example"}
    run_step(send_email, "email", config, smtp=settings, attempt=1)
    run_step(send_email, "email", config, smtp=settings, attempt=2)
    ids = {email.message_from_bytes(envelope.content)["Message-ID"] for envelope in inbox.messages}
    assert ids == {MESSAGE_ID}


def test_partly_refused_recipients_are_reported(smtp: tuple[Inbox, SmtpSettings]) -> None:
    _, settings = smtp
    config = {"to": ["a@example.org", "nobody@example.org"]}
    output, ctx = run_with_context(send_email, "email", config, smtp=settings)
    assert output["accepted"] == ["a@example.org"]
    assert output["refused"] == {"nobody@example.org": "550 no such user"}
    assert ctx.log.lines[0].message == "email.recipients_refused"


def test_all_refused_is_permanent_but_4xx_retries(smtp: tuple[Inbox, SmtpSettings]) -> None:
    _, settings = smtp
    with pytest.raises(PermanentError, match="refused every recipient"):
        run_step(send_email, "email", {"to": ["nobody@example.org"]}, smtp=settings)
    with pytest.raises(RetryableError) as caught:
        run_step(send_email, "email", {"to": ["busy@example.org"]}, smtp=settings)
    assert caught.value.details == {"refused": {"busy@example.org": "451 try again later"}}


def test_without_smtp_settings_the_error_names_the_variables() -> None:
    with pytest.raises(PermanentError, match="FLOWSYNC_SMTP_HOST"):
        run_step(send_email, "email", {"to": ["a@example.org"]})


def test_unreachable_server_is_retryable() -> None:
    settings = SmtpSettings(host="127.0.0.1", port=free_port(), sender="bot@shop.example")
    with pytest.raises(RetryableError):
        run_step(send_email, "email", {"to": ["a@example.org"]}, smtp=settings, timeout=2)


def test_header_injection_is_refused(smtp: tuple[Inbox, SmtpSettings]) -> None:
    _, settings = smtp
    config = {"to": ["a@example.org"], "subject": "{{ input.subject }}"}
    with pytest.raises(PermanentError, match="cannot build the message"):
        run_step(send_email, "email", config, smtp=settings, input={"subject": "x\nBcc: e@vil"})


def test_smtp_settings_from_env() -> None:
    assert SmtpSettings.from_env({}) is None
    settings = SmtpSettings.from_env(
        {
            "FLOWSYNC_SMTP_HOST": "mail.example",
            "FLOWSYNC_SMTP_PORT": "2525",
            "FLOWSYNC_SMTP_USERNAME": "bot",
            "FLOWSYNC_SMTP_PASSWORD": "pw",
            "FLOWSYNC_SMTP_STARTTLS": "true",
            "FLOWSYNC_SMTP_SENDER": "bot@example.org",
        }
    )
    assert settings == SmtpSettings(
        host="mail.example",
        port=2525,
        username="bot",
        password="pw",
        starttls=True,
        sender="bot@example.org",
    )
    assert "pw" not in repr(settings)
    defaults = SmtpSettings.from_env({"FLOWSYNC_SMTP_HOST": "mail.example"})
    assert defaults is not None
    assert (defaults.port, defaults.starttls) == (587, None)
    with pytest.raises(ConfigError, match="FLOWSYNC_SMTP_PORT"):
        SmtpSettings.from_env({"FLOWSYNC_SMTP_HOST": "h", "FLOWSYNC_SMTP_PORT": "x"})
    with pytest.raises(ConfigError, match="FLOWSYNC_SMTP_STARTTLS"):
        SmtpSettings.from_env({"FLOWSYNC_SMTP_HOST": "h", "FLOWSYNC_SMTP_STARTTLS": "maybe"})
