"""Tests of the call queue: retries through outages, restarts, expiry."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)
from yarl import URL

from custom_components.twsms_voice.const import DOMAIN, EVENT_CALL_FINISHED
from custom_components.twsms_voice.queue import LONGEST_RETRY, retry_delay
from homeassistant.core import HomeAssistant
from twsms_simulator import FaultKind, TwsmsSimulator

from .conftest import advance

LAST_CALL = "sensor.twsms_test123_last_call"


async def call(hass: HomeAssistant, *targets: str, message: str = "Smoke!") -> Any:
    """Call the targets with twsms_voice.call and return the response."""
    return await hass.services.async_call(
        DOMAIN,
        "call",
        {"target": list(targets), "message": message},
        blocking=True,
        return_response=True,
    )


def queued(entry: MockConfigEntry) -> int:
    """Count the calls waiting for another attempt."""
    return len(entry.runtime_data.placer.queue.queued_calls)


def test_backoff_doubles_with_jitter_and_a_ceiling() -> None:
    """Each wait is within half of and the full doubled delay, never past the cap."""
    for attempts, ceiling in ((1, 5), (2, 10), (3, 20), (6, 120), (30, 120)):
        for _ in range(50):
            seconds = retry_delay(attempts).total_seconds()
            assert ceiling / 2 <= seconds <= ceiling
            assert seconds <= LONGEST_RETRY


async def test_outage_then_every_call_placed_once(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """The provider refuses connections for minutes; afterwards each call goes once."""
    port = URL(simulator.url).port
    await simulator.stop()
    response = await call(hass, "0933000001", "0933000002", "Mom")
    assert [c["status"] for c in response["calls"]] == ["queued"] * 3
    assert "Could not reach TwSMS" in response["calls"][0]["error"]
    for _ in range(5 * 60 // 10):  # five minutes of outage
        await advance(hass, freezer, 10)
    assert queued(loaded_entry) == 3

    await simulator.start("127.0.0.1", port or 0)
    for _ in range(3):
        await advance(hass, freezer, LONGEST_RETRY)
    assert queued(loaded_entry) == 0
    assert Counter(c.phone for c in simulator.calls.values()) == {
        "0933000001": 1,
        "0933000002": 1,
        "0912000001": 1,
    }


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": FaultKind.HTTP_500},
        {"kind": FaultKind.GARBAGE},
        {"kind": FaultKind.DROP, "times": 2},  # the HTTP client retries a drop once
        {"kind": FaultKind.CODE, "code": -99},
    ],
)
async def test_passing_faults_are_retried(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
    fault: dict[str, Any],
) -> None:
    """5xx, garbage, dropped connections and -99 are tried again, then placed."""
    simulator.add_fault(endpoint="send_voice", **fault)
    response = await call(hass, "0933000001")
    assert response["calls"][0]["status"] == "queued"
    await advance(hass, freezer, 5)
    assert [c.phone for c in simulator.calls.values()] == ["0933000001"]
    assert queued(loaded_entry) == 0


async def test_slow_replies_are_waited_for(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """A slow reply (well within the 60 s timeout) is simply waited for."""
    simulator.add_fault(FaultKind.DELAY, seconds=0.5, endpoint="send_voice")
    response = await call(hass, "0933000001")
    assert response["calls"][0]["status"] == "placed"


async def test_permanent_errors_are_not_retried(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """A wrong number, no points or a disabled account end the call at once."""
    events = async_capture_events(hass, EVENT_CALL_FINISHED)
    for code in (-8, -2, -3):
        simulator.add_fault(FaultKind.CODE, code=code)
        response = await call(hass, "0933000001", message=f"code {code}")
        assert response["calls"][0]["status"] == "failed"
    await advance(hass, freezer, 3600)
    assert len(simulator.requests_to("send_voice")) == 3
    assert queued(loaded_entry) == 0
    assert [event.data["status"] for event in events] == ["failed"] * 3
    assert "not a valid number" in events[0].data["error"]


async def test_too_old_calls_are_reported_not_placed(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """After 15 minutes of failures the call is failed, with why, and never placed."""
    events = async_capture_events(hass, EVENT_CALL_FINISHED)
    simulator.add_fault(FaultKind.HTTP_500, times=1000, endpoint="send_voice")
    await call(hass, "Mom")
    for _ in range(16):
        await advance(hass, freezer, 60)
    assert queued(loaded_entry) == 0
    simulator.faults.clear()
    await advance(hass, freezer, 3600)
    assert simulator.calls == {}
    (event,) = events
    assert event.data["status"] == "failed"
    assert event.data["contact"] == "Mom"
    assert "could not be placed within 15 minutes" in event.data["error"]
    assert "HTTP 500" in event.data["error"]
    state = hass.states.get("sensor.mom_last_call")
    assert state is not None
    assert state.state == "failed"


async def test_queued_calls_survive_a_restart(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """Calls queued when Home Assistant stops are placed after it starts again."""
    simulator.add_fault(FaultKind.HTTP_500, times=2, endpoint="send_voice")
    await call(hass, "0933000001", "0933000002")
    assert queued(loaded_entry) == 2
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    await advance(hass, freezer, 60)
    assert simulator.calls == {}

    assert await hass.config_entries.async_setup(loaded_entry.entry_id)
    await hass.async_block_till_done()
    await advance(hass, freezer, 0)
    assert sorted(c.phone for c in simulator.calls.values()) == [
        "0933000001",
        "0933000002",
    ]
    assert queued(loaded_entry) == 0


def _stored_call(call_id: str, phone: str, age: timedelta, now: Any) -> dict[str, Any]:
    return {
        "id": call_id,
        "target": {
            "phone": phone,
            "contact_id": None,
            "contact": None,
            "speech": {"voice": 1, "speed": 0, "volume": 100},
        },
        "message": "Smoke!",
        "voice_url": None,
        "created_at": (now - age).isoformat(),
        "next_attempt": (now - age).isoformat(),
        "attempts": 1,
        "last_error": "Could not reach TwSMS",
    }


async def test_calls_queued_by_a_previous_run(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    config_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """After a start, young queued calls are placed and old ones reported."""
    from homeassistant.util import dt as dt_util  # noqa: PLC0415

    now = dt_util.utcnow()
    key = f"{DOMAIN}.{config_entry.entry_id}.queue"
    hass_storage[key] = {
        "version": 1,
        "key": key,
        "data": {
            "calls": [
                _stored_call("young", "0933000001", timedelta(minutes=2), now),
                _stored_call("old", "0933000002", timedelta(hours=1), now),
            ]
        },
    }
    events = async_capture_events(hass, EVENT_CALL_FINISHED)
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    await advance(hass, freezer, 0)
    assert [c.phone for c in simulator.calls.values()] == ["0933000001"]
    assert [(e.data["phone"], e.data["status"]) for e in events] == [
        ("0933000002", "failed")
    ]
