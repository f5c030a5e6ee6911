"""Settings from FLOWSYNC_* variables: the database command timeout."""

from __future__ import annotations

import pytest

from flowsync.config import DB_COMMAND_TIMEOUT_SECONDS, ConfigError, load_settings


def test_the_command_timeout_defaults_and_reads_seconds() -> None:
    assert load_settings({}).db_command_timeout == DB_COMMAND_TIMEOUT_SECONDS
    assert load_settings({"FLOWSYNC_DB_COMMAND_TIMEOUT": "2.5"}).db_command_timeout == 2.5
    assert load_settings({"FLOWSYNC_DB_COMMAND_TIMEOUT": ""}).db_command_timeout == 60.0


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("30s", "FLOWSYNC_DB_COMMAND_TIMEOUT: expected a number of seconds, got '30s'"),
        ("0", "FLOWSYNC_DB_COMMAND_TIMEOUT: must be a number of seconds above 0, got '0'"),
        ("-1", "FLOWSYNC_DB_COMMAND_TIMEOUT: must be a number of seconds above 0, got '-1'"),
        ("nan", "FLOWSYNC_DB_COMMAND_TIMEOUT: must be a number of seconds above 0, got 'nan'"),
        ("inf", "FLOWSYNC_DB_COMMAND_TIMEOUT: must be a number of seconds above 0, got 'inf'"),
    ],
)
def test_a_bad_command_timeout_says_what_is_wrong(value: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings({"FLOWSYNC_DB_COMMAND_TIMEOUT": value})
    assert str(raised.value) == message
