"""The delay action: snooze on the first run, wake only once the target time has passed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from flowsync.actions import PermanentError, Snooze
from flowsync.actions.delay import delay
from tests.unit.actions.conftest import NOW, run_step

LATER = NOW + timedelta(minutes=10)


def test_duration_snoozes_until_now_plus_duration() -> None:
    result = run_step(delay, "delay", {"duration": "10m"})
    assert result == Snooze(until=LATER, state={"until": "2030-01-31T09:10:00Z"})


def test_woken_on_time_outputs_when_it_waited_until() -> None:
    state = {"until": "2030-01-31T09:10:00Z"}
    result = run_step(delay, "delay", {"duration": "10m"}, state=state, now=LATER)
    assert result == {"waited_until": "2030-01-31T09:10:00Z"}


def test_early_wake_up_snoozes_again_to_the_same_target() -> None:
    # The state wins over the config: the target must not move with the clock.
    state = {"until": "2030-01-31T09:10:00Z"}
    early = NOW + timedelta(minutes=4)
    result = run_step(delay, "delay", {"duration": "10m"}, state=state, now=early)
    assert result == Snooze(until=LATER, state=state)


def test_until_template_with_an_offset_is_normalised_to_utc() -> None:
    config = {"until": "{{ input.at }}"}
    result = run_step(delay, "delay", config, input={"at": "2030-01-31T11:10:00+02:00"})
    assert result == Snooze(until=LATER, state={"until": "2030-01-31T09:10:00Z"})


def test_until_from_a_cel_timestamp() -> None:
    result = run_step(delay, "delay", {"until": "{{ timestamp('2030-01-31T09:10:00Z') }}"})
    assert isinstance(result, Snooze)
    assert result.until == LATER


def test_until_in_the_past_completes_at_once() -> None:
    result = run_step(delay, "delay", {"until": "2020-01-01T00:00:00Z"})
    assert result == {"waited_until": "2020-01-01T00:00:00Z"}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("tomorrow", '"tomorrow" is not an RFC 3339 timestamp'),
        ("2030-01-31T09:10:00", "has no time zone"),
        (42, "got int 42"),
    ],
)
def test_bad_until_is_permanent_and_names_the_value(value: object, message: str) -> None:
    with pytest.raises(PermanentError, match=message):
        run_step(delay, "delay", {"until": "{{ input.at }}"}, input={"at": value})


def test_snooze_until_is_timezone_aware() -> None:
    result = run_step(delay, "delay", {"duration": "1s"})
    assert result.until.tzinfo is not None
    assert result.until == datetime(2030, 1, 31, 9, 0, 1, tzinfo=UTC)
