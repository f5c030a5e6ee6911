"""`flowsync triggers list|create|delete|install-pgmq`."""

from __future__ import annotations

import pytest

from flowsync.cli import main
from tests.sql.conftest import Db


def test_create_list_delete(cli_db: str, db: Db, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["triggers", "list"]) == 0
    assert capsys.readouterr().out.strip() == "no triggers"
    assert main(["triggers", "create", "wf", "--kind", "webhook"]) == 0
    created = capsys.readouterr()
    hook_id = created.out.split()[0]
    assert "POST /hooks/hk_" in created.out and "secret: whsec_" in created.out
    assert "shown once" in created.err
    config = '{"cron": "0 9 * * 1-5", "timezone": "Europe/Berlin"}'
    assert main(["triggers", "create", "wf", "--kind", "cron", "--config", config]) == 0
    assert "cron '0 9 * * 1-5' Europe/Berlin" in capsys.readouterr().out
    assert main(["triggers", "list", "--workflow", "wf"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0].split()[:4] == ["ID", "WORKFLOW", "KIND", "STATE"]
    assert [line.split()[2] for line in listing[1:]] == ["webhook", "cron"]
    assert "whsec_" not in "\n".join(listing)
    assert main(["triggers", "delete", hook_id]) == 0
    assert main(["triggers", "delete", hook_id]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_errors_name_the_field(cli_db: str, db: Db, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["triggers", "create", "wf", "--kind", "cron", "--config", '{"cron": "x"}']) == 1
    assert "config.cron: expected 5 fields" in capsys.readouterr().err
    assert main(["triggers", "create", "nope", "--kind", "event", "--config", '{"type": "a"}']) == 1
    assert 'workflow "nope" does not exist' in capsys.readouterr().err
    assert main(["triggers", "create", "wf", "--kind", "event", "--config", "{"]) == 1
    assert "--config is not valid JSON" in capsys.readouterr().err
    assert main(["triggers", "delete", "not-a-uuid"]) == 1


def test_install_pgmq(cli_db: str, db: Db, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["triggers", "install-pgmq"]) == 0
    assert capsys.readouterr().out.strip() == "pgmq installed"
    assert main(["triggers", "install-pgmq"]) == 0
    assert capsys.readouterr().out.strip() == "pgmq was already installed"


def test_create_refuses_what_the_api_refuses(
    cli_db: str, db: Db, capsys: pytest.CaptureFixture[str]
) -> None:
    # A NUL inside a CEL string literal is a valid filter, but Postgres cannot store it.
    nul = """{"type": "a", "filter": "payload.x == '\\u0000'"}"""
    assert main(["triggers", "create", "wf", "--kind", "event", "--config", nul]) == 1
    assert "config: must not contain NUL characters" in capsys.readouterr().err
    long_secret = "s" * 513
    assert main(["triggers", "create", "wf", "--kind", "webhook", "--secret", long_secret]) == 1
    assert "secret: at most 512 characters" in capsys.readouterr().err
    assert main(["triggers", "create", "wf", "--kind", "webhook", "--secret", "short"]) == 1
    assert "secret: at least 8 characters" in capsys.readouterr().err
    event = ["triggers", "create", "wf", "--kind", "event", "--config", '{"type": "a"}']
    assert main([*event, "--secret", "long-enough"]) == 1
    assert "secret: only webhook triggers have one" in capsys.readouterr().err
    assert db.conn.execute("SELECT count(*) AS n FROM flowsync.triggers").fetchone() == {"n": 0}
