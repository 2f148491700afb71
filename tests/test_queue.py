"""Tests of the call queue: retries through outages, restarts, expiry, odd replies."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)
from yarl import URL

from custom_components.twsms_voice.const import (
    CONF_CALLS_PER_HOUR,
    CONF_COOLDOWN,
    DOMAIN,
    EVENT_CALL_FINISHED,
)
from custom_components.twsms_voice.queue import LONGEST_RETRY, CallQueue, retry_delay
from custom_components.twsms_voice.twsms import TwsmsVoiceClient
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util
from twsms_simulator import FaultKind, TwsmsSimulator

from .conftest import (
    advance,
    call_as_time_passes,
    queued_calls,
    start_again,
    stop_home_assistant,
    until,
)


async def notify(hass: HomeAssistant, *targets: str, message: str = "Smoke!") -> None:
    """Queue calls to the targets with notify.twsms_voice, and let them be sent."""
    await hass.services.async_call(
        "notify", DOMAIN, {"message": message, "target": list(targets)}, blocking=True
    )
    await hass.async_block_till_done()


def placed(simulator: TwsmsSimulator) -> Counter[str]:
    """Count the calls the simulator placed, per number."""
    return Counter(call.phone for call in simulator.calls.values())


def test_backoff_doubles_up_to_a_ceiling() -> None:
    """2, 4, 8, 16 s, then never more than 30 s between attempts."""
    waits = [retry_delay(attempts).total_seconds() for attempts in range(1, 9)]
    assert waits == [2, 4, 8, 16, 30, 30, 30, 30]
    assert max(waits) == LONGEST_RETRY


async def test_outage_then_every_call_placed_once(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """Refused connections for five minutes; once back, each call goes, once."""
    port = URL(simulator.url).port
    await simulator.stop()
    await notify(hass, "0933000001", "0933000002", "Mom")
    for _ in range(5 * 60 // 10):
        await advance(hass, freezer, 10)
    assert queued_calls(loaded_entry) == 3

    await simulator.start("127.0.0.1", port or 0)
    for _ in range(10):
        await advance(hass, freezer, 1)
    assert queued_calls(loaded_entry) == 0
    assert placed(simulator) == {"0933000001": 1, "0933000002": 1, "0912000001": 1}


async def test_back_within_ten_seconds_after_a_long_outage(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """After three minutes of HTTP 503, every queued call is placed within 10 s.

    While calls wait one is tried every few seconds; the first that goes through
    sends all the others at once.
    """
    simulator.down = 503
    await notify(hass, *(f"093300000{n}" for n in range(5)))
    for _ in range(3 * 60):
        await advance(hass, freezer, 1)
    assert queued_calls(loaded_entry) == 5
    simulator.down = None
    for _ in range(10):
        await advance(hass, freezer, 1)
    assert queued_calls(loaded_entry) == 0
    assert sum(placed(simulator).values()) == 5


async def test_black_holed_requests_do_not_hold_the_others(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """Ten calls whose requests hang are all tried again together once they end.

    Each attempt is a task of its own: no call waits for another's timeout.
    """
    simulator.add_fault(FaultKind.HANG, times=10, endpoint="send_voice")
    await hass.services.async_call(
        "notify",
        DOMAIN,
        {"message": "Smoke!", "target": [f"09330000{n:02d}" for n in range(10)]},
        blocking=True,
    )
    await until(lambda: len(simulator.requests_to("send_voice")) == 10)
    simulator.clear_faults()  # the provider is back: the hung requests end unanswered
    await hass.async_block_till_done()
    assert queued_calls(loaded_entry) == 10
    await advance(hass, freezer, LONGEST_RETRY)
    assert queued_calls(loaded_entry) == 0
    assert sum(placed(simulator).values()) == 10


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": FaultKind.HTTP_500},
        {"kind": FaultKind.HTTP_STATUS, "status": 503},
        {"kind": FaultKind.HTTP_STATUS, "status": 429},
        {"kind": FaultKind.GARBAGE},
        {"kind": FaultKind.DROP},
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
    """5xx, 429, garbage, a dropped connection and -99 are tried again, then placed."""
    simulator.add_fault(endpoint="send_voice", **fault)
    response = await call_as_time_passes(
        hass, freezer, seconds=5, target="0933000001", message="Smoke!"
    )
    assert response["calls"][0]["status"] == "placed"
    assert response["calls"][0]["attempts"] == 2
    assert placed(simulator) == {"0933000001": 1}


async def test_a_drop_after_placing_costs_at_most_one_duplicate(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """TwSMS places the call, then the connection drops before its answer.

    The HTTP client must not send it again by itself: the queue's one retry is
    the only duplicate (two placements, not three).
    """
    simulator.add_fault(FaultKind.DROP_AFTER_PLACING)
    await notify(hass, "0933000001")
    await advance(hass, freezer, LONGEST_RETRY)
    assert len(simulator.requests_to("send_voice")) == 2
    assert placed(simulator) == {"0933000001": 2}


@pytest.mark.parametrize("fault", [FaultKind.EXTRA_FIELD, FaultKind.NO_POINTS])
async def test_odd_success_replies_are_placed_calls(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
    fault: FaultKind,
) -> None:
    """A reply that starts with a msgid is a placed call: never sent again."""
    simulator.add_fault(fault)
    await notify(hass, "0933000001")
    await advance(hass, freezer, 3600)
    assert len(simulator.requests_to("send_voice")) == 1
    assert queued_calls(loaded_entry) == 0
    # Points the reply left out are taken from the outcome, once it is known.
    assert loaded_entry.runtime_data.tracker.points_used == 2


async def test_slow_replies_are_waited_for(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """A slow reply (well within the 60 s timeout) is simply waited for."""
    simulator.add_fault(FaultKind.DELAY, seconds=0.5, endpoint="send_voice")
    response: Any = await hass.services.async_call(
        DOMAIN,
        "call",
        {"target": "0933000001", "message": "Smoke!"},
        blocking=True,
        return_response=True,
    )
    assert response["calls"][0]["status"] == "placed"


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"kind": FaultKind.CODE, "code": -8}, "not a valid number"),
        ({"kind": FaultKind.CODE, "code": -2}, "not enough points"),
        ({"kind": FaultKind.CODE, "code": -3}, "disabled"),
        (
            {"kind": FaultKind.HTTP_STATUS, "status": 400},
            "refused the request with HTTP 400",
        ),
        (
            {"kind": FaultKind.HTTP_STATUS, "status": 404},
            "refused the request with HTTP 404",
        ),
        (
            {"kind": FaultKind.REDIRECT, "location": "https://elsewhere.example"},
            "a redirect to elsewhere.example. Check the API URL",
        ),
    ],
)
async def test_permanent_errors_are_not_retried(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
    fault: dict[str, Any],
    error: str,
) -> None:
    """A wrong number, no points, a disabled account, 4xx and 3xx end the call at once."""
    events = async_capture_events(hass, EVENT_CALL_FINISHED)
    simulator.add_fault(endpoint="send_voice", **fault)
    await notify(hass, "0933000001")
    await advance(hass, freezer, 3600)
    assert len(simulator.requests_to("send_voice")) == 1
    assert queued_calls(loaded_entry) == 0
    (event,) = events
    assert event.data["status"] == "failed"
    assert error in event.data["error"]
    assert "?" not in event.data["error"]  # a redirect's query string is not shown


async def test_too_old_calls_are_reported_not_placed(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """After 15 minutes of failures the call is failed, with why, and never placed."""
    events = async_capture_events(hass, EVENT_CALL_FINISHED)
    simulator.down = 503
    await notify(hass, "Mom")
    for _ in range(16):
        await advance(hass, freezer, 60)
    assert queued_calls(loaded_entry) == 0
    simulator.down = None
    await advance(hass, freezer, 3600)
    assert simulator.calls == {}
    (event,) = events
    assert event.data["status"] == "failed"
    assert event.data["contact"] == "Mom"
    assert "could not be placed within 15 minutes" in event.data["error"]
    assert "HTTP 503" in event.data["error"]
    state = hass.states.get("sensor.mom_last_call")
    assert state is not None
    assert state.state == "failed"
    assert "09*****001" in state.attributes["error"]  # masked where it is kept


async def test_an_unexpected_error_does_not_end_the_retries(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """A bug in one attempt keeps the call queued; the next attempt places it."""
    real_send = TwsmsVoiceClient.send_voice
    attempts = 0

    async def send_once_broken(
        self: TwsmsVoiceClient, *args: Any, **kwargs: Any
    ) -> Any:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise RuntimeError("a bug")
        return await real_send(self, *args, **kwargs)

    with patch.object(TwsmsVoiceClient, "send_voice", send_once_broken):
        await notify(hass, "0933000001")
        assert queued_calls(loaded_entry) == 1
        await advance(hass, freezer, LONGEST_RETRY)
    assert placed(simulator) == {"0933000001": 1}


async def test_queued_calls_survive_a_restart(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """Calls queued when Home Assistant stops are placed after it starts again."""
    simulator.down = 500
    await notify(hass, "0933000001", "0933000002")
    assert queued_calls(loaded_entry) == 2
    await loaded_entry.runtime_data.async_stop()  # what Home Assistant's stop does
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    simulator.down = None
    await advance(hass, freezer, 60)
    assert simulator.calls == {}

    assert await hass.config_entries.async_setup(loaded_entry.entry_id)
    await hass.async_block_till_done()
    await advance(hass, freezer, 0)
    assert sorted(placed(simulator)) == ["0933000001", "0933000002"]
    assert queued_calls(loaded_entry) == 0


def _stored_call(call_id: str, phone: str, age: timedelta) -> dict[str, Any]:
    created = (dt_util.utcnow() - age).isoformat()
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
        "created_at": created,
        "next_attempt": created,
        "attempts": 1,
        "last_error": "Could not reach TwSMS",
    }


@pytest.mark.parametrize("version_0_1", [True, False])
async def test_calls_queued_by_a_previous_run(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    config_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
    version_0_1: bool,
) -> None:
    """After a start, young queued calls are placed and old ones reported.

    Version 0.1 kept the queue in a file of its own; it is taken over and removed.
    """
    calls = [
        _stored_call("young", "0933000001", timedelta(minutes=2)),
        _stored_call("old", "0933000002", timedelta(hours=1)),
    ]
    key = f"{DOMAIN}.{config_entry.entry_id}"
    if version_0_1:
        hass_storage[f"{key}.queue"] = {
            "version": 1,
            "key": f"{key}.queue",
            "data": {"calls": calls},
        }
    else:
        hass_storage[key] = {"version": 1, "key": key, "data": {"queued": calls}}
    events = async_capture_events(hass, EVENT_CALL_FINISHED)
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    await advance(hass, freezer, 0)
    assert list(placed(simulator)) == ["0933000001"]
    assert [(e.data["phone"], e.data["status"]) for e in events] == [
        ("0933000002", "failed")
    ]
    assert f"{key}.queue" not in hass_storage


async def test_a_restarted_call_loses_its_home_assistant_voice(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    config_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A queued call whose voice file was in memory is read by TwSMS's voice.

    The file did not survive the restart: sent with its URL, the call would fail
    at TwSMS (-12) instead of ringing. Other recordings keep theirs.
    """
    key = f"{DOMAIN}.{config_entry.entry_id}"
    served_here = "https://ha.example.com/api/twsms_voice/audio/gone-token.wav"
    elsewhere = "https://files.example.com/alarm.wav?from=/api/twsms_voice/audio/x"
    hass_storage[key] = {
        "version": 1,
        "key": key,
        "data": {
            "queued": [
                _stored_call("tts", "0933000001", timedelta(minutes=1))
                | {"voice_url": served_here},
                _stored_call("own", "0933000002", timedelta(minutes=1))
                | {"voice_url": elsewhere},
            ]
        },
    }
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    await advance(hass, freezer, 0)
    requests = {
        request.params["phone"]: request.params
        for request in simulator.requests_to("send_voice")
    }
    assert requests["0933000001"]["type"] == "1"
    assert "voice_url" not in requests["0933000001"]
    assert requests["0933000001"]["message"] == "Smoke!"
    assert requests["0933000002"]["voice_url"] == elsewhere
    assert caplog.text.count("TwSMS's own voice reads it") == 1


async def test_unreadable_stored_calls_are_skipped(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    config_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A corrupt or unknown record is skipped with a warning; the rest loads."""
    key = f"{DOMAIN}.{config_entry.entry_id}"
    good = _stored_call("good", "0933000001", timedelta(minutes=1))
    hass_storage[key] = {
        "version": 1,
        "key": key,
        "data": {
            "queued": [
                {"id": "broken"},
                "junk",
                good | {"created_at": "yesterday"},
                good | {"voice_url": 42},
                good,
            ],
            "pending": [{"msgid": "not a number"}, 42],
            "last_call": {"state": "exploded"},
            "points_used": 7,
        },
    }
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    await advance(hass, freezer, 0)
    assert list(placed(simulator)) == ["0933000001"]
    assert caplog.text.count("Skipping a stored call that cannot be read") == 7
    assert config_entry.runtime_data.tracker.points_used == 9


async def test_two_lost_answers_end_the_call_as_unknown(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """TwSMS acts on a send but its answer never comes, twice: no third call.

    The call may have been placed, so it ends as `unknown`, saying why.
    """
    events = async_capture_events(hass, EVENT_CALL_FINISHED)
    simulator.add_fault(FaultKind.DROP_AFTER_PLACING, times=2)
    await notify(hass, "0933000001")
    for _ in range(12):
        await advance(hass, freezer, 10)
    assert len(simulator.requests_to("send_voice")) == 2
    assert queued_calls(loaded_entry) == 0
    (event,) = events
    assert event.data["status"] == "unknown"
    assert "may have been placed" in event.data["error"]


async def test_a_lost_answer_waits_for_the_provider_to_answer(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """After a lost answer the call is not sent blindly again: only once TwSMS answers.

    While it does not, the queue asks it a free question every few seconds.
    """
    simulator.add_fault(FaultKind.DROP_AFTER_PLACING)
    simulator.add_fault(FaultKind.HTTP_STATUS, status=503, times=6)  # the probes
    await notify(hass, "0933000001")
    for _ in range(6):
        await advance(hass, freezer, 5)
    assert len(simulator.requests_to("send_voice")) == 1  # only probes so far
    probes = [
        r for r in simulator.requests_to("query_voice") if r.params["msgid"] == "1"
    ]
    assert len(probes) >= 5
    await advance(hass, freezer, 5)  # a probe is answered: the call goes again
    await advance(hass, freezer, 0)
    assert len(simulator.requests_to("send_voice")) == 2
    assert queued_calls(loaded_entry) == 0


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": FaultKind.GARBAGE},
        {"kind": FaultKind.HTTP_STATUS, "status": 502},
    ],
)
async def test_replies_that_may_hide_a_placed_call_ring_at_most_twice(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
    fault: dict[str, Any],
) -> None:
    """An unreadable reply or a gateway's 502 may come after TwSMS placed the call.

    Such a call is sent again once, then ends as `unknown`: never a ring storm.
    """
    events = async_capture_events(hass, EVENT_CALL_FINISHED)
    simulator.add_fault(endpoint="send_voice", times=100, **fault)
    await notify(hass, "0933000001")
    for _ in range(20 * 60 // 10):
        await advance(hass, freezer, 10)
    assert len(simulator.requests_to("send_voice")) == 2
    assert [event.data["status"] for event in events] == ["unknown"]


async def test_a_call_too_old_after_a_lost_answer_is_unknown(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """A call that may have rung, then kept from TwSMS until too old: not `failed`."""
    events = async_capture_events(hass, EVENT_CALL_FINISHED)
    simulator.add_fault(FaultKind.DROP_AFTER_PLACING)
    await notify(hass, "0933000001")
    simulator.down = 503
    for _ in range(16):
        await advance(hass, freezer, 60)
    assert [event.data["status"] for event in events] == ["unknown"]
    assert len(simulator.calls) == 1


@pytest.mark.parametrize(
    "refusal",
    [
        {"kind": FaultKind.CODE, "code": -2},
        {"kind": FaultKind.HTTP_STATUS, "status": 404},
    ],
    ids=["no_points", "http_404"],
)
async def test_a_refused_resend_after_a_lost_answer_is_unknown(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
    refusal: dict[str, Any],
) -> None:
    """The first request rang the phone; TwSMS refuses the resend: not `failed`.

    `failed` says the phone never rang, which an escalation or a person would trust.
    """
    events = async_capture_events(hass, EVENT_CALL_FINISHED)
    simulator.add_fault(FaultKind.DROP_AFTER_PLACING)
    simulator.add_fault(endpoint="send_voice", **refusal)
    await notify(hass, "0933000001")
    for _ in range(3):
        await advance(hass, freezer, 10)
    assert len(simulator.calls) == 1
    assert len(simulator.requests_to("send_voice")) == 2
    (event,) = events
    assert event.data["status"] == "unknown"
    assert "may have been placed" in event.data["error"]


async def test_an_unexpected_error_after_the_request_left(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A bug after TwSMS placed the call counts as a lost answer: at most two rings.

    Retried as if nothing had been sent, the phone would ring every half minute.
    """
    events = async_capture_events(hass, EVENT_CALL_FINISHED)
    with patch(
        "custom_components.twsms_voice.twsms.client.parse_send_reply",
        side_effect=RuntimeError("a bug"),
    ):
        await notify(hass, "0933000001")
        for _ in range(15 * 60 // 10):
            await advance(hass, freezer, 10)
    assert len(simulator.calls) == 2
    assert [event.data["status"] for event in events] == ["unknown"]
    assert "Unexpected error calling" in caplog.text


async def test_a_call_that_may_have_rung_keeps_its_cooldown(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """Ended `unknown`, it may have rung twice: the same alert again is suppressed."""
    events = async_capture_events(hass, EVENT_CALL_FINISHED)
    simulator.add_fault(FaultKind.DROP_AFTER_PLACING, times=2)
    await notify(hass, "0933000001")
    for _ in range(3):
        await advance(hass, freezer, 10)
    assert [event.data["status"] for event in events] == ["unknown"]
    await notify(hass, "0933000001")
    await advance(hass, freezer, 0)
    assert len(simulator.calls) == 2
    assert loaded_entry.runtime_data.placer.suppressed_calls == 1


async def test_a_call_that_may_have_rung_counts_for_the_hour(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """A gateway that loses every answer must not ring past the hourly cap."""
    hass.config_entries.async_update_entry(
        loaded_entry, options={**loaded_entry.options, CONF_CALLS_PER_HOUR: 2}
    )
    await hass.async_block_till_done()
    simulator.add_fault(FaultKind.DROP_AFTER_PLACING, times=2)
    await notify(hass, "0933000001")
    for _ in range(3):
        await advance(hass, freezer, 10)
    with pytest.raises(HomeAssistantError, match="cap of calls per hour"):
        await notify(hass, "0933000002", "0933000003")
    await advance(hass, freezer, 0)
    assert placed(simulator) == {"0933000001": 2, "0933000002": 1}


async def test_an_alert_fired_again_during_an_outage_rings_once(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """The same call fired every 70 s while TwSMS is away: one ring when it is back.

    The first still waits; the others would ring with it the moment TwSMS answers.
    """
    simulator.down = 503
    await notify(hass, "0933000001")
    for _ in range(3):
        await advance(hass, freezer, 70)
        await notify(hass, "0933000001")
    assert queued_calls(loaded_entry) == 1
    simulator.down = None
    for _ in range(3):
        await advance(hass, freezer, 10)
    assert placed(simulator) == {"0933000001": 1}
    await advance(hass, freezer, 30)  # its cooldown runs from when it was placed
    await notify(hass, "0933000001")
    assert placed(simulator) == {"0933000001": 1}
    await advance(hass, freezer, 31)
    await notify(hass, "0933000001")
    assert placed(simulator) == {"0933000001": 2}


async def test_an_alert_fired_again_keeps_its_waiting_call_young(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """Fired at the start of a long outage and again 14 minutes in: it still rings.

    The first request alone would be too old (15 minutes) when TwSMS is back at 16;
    the call that stands for both is as young as the newest.
    """
    events = async_capture_events(hass, EVENT_CALL_FINISHED)
    simulator.down = 503
    await notify(hass, "0933000001")
    for _ in range(14):
        await advance(hass, freezer, 60)
    await notify(hass, "0933000001")
    for _ in range(2):
        await advance(hass, freezer, 60)
    simulator.down = None
    for _ in range(3):
        await advance(hass, freezer, 10)
    assert placed(simulator) == {"0933000001": 1}
    assert "failed" not in [event.data["status"] for event in events]


async def test_an_alert_fired_again_after_a_restart_joins_its_stored_call(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """TwSMS is away across a restart; the alarm fires again after the start: one ring."""
    simulator.down = 503
    await notify(hass, "0933000001")
    await stop_home_assistant(loaded_entry)
    await start_again(hass, loaded_entry)
    await notify(hass, "0933000001")
    assert queued_calls(loaded_entry) == 1
    simulator.down = None
    for _ in range(4):
        await advance(hass, freezer, 10)
    assert placed(simulator) == {"0933000001": 1}


async def test_a_stored_call_that_may_have_rung_still_rings_at_most_twice(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """Its answer was lost, then a restart, then the same alarm: no third ring."""
    simulator.add_fault(FaultKind.DROP_AFTER_PLACING)
    await notify(hass, "0933000001")
    simulator.down = 503
    await advance(hass, freezer, 6)
    await stop_home_assistant(loaded_entry)
    await start_again(hass, loaded_entry)
    await notify(hass, "0933000001")
    simulator.down = None
    for _ in range(6):
        await advance(hass, freezer, 10)
    assert placed(simulator) == {"0933000001": 2}


async def test_a_stored_call_placed_at_the_start_has_its_cooldown(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """Placed right after the start, then the same alarm a second later: one ring."""
    simulator.down = 503
    await notify(hass, "0933000001")
    await stop_home_assistant(loaded_entry)
    simulator.down = None
    await start_again(hass, loaded_entry)
    await advance(hass, freezer, 0)
    assert placed(simulator) == {"0933000001": 1}
    await advance(hass, freezer, 1)
    await notify(hass, "0933000001")
    assert placed(simulator) == {"0933000001": 1}
    assert loaded_entry.runtime_data.placer.suppressed_calls == 1


async def test_an_alert_fired_from_the_failed_event_is_queued(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """An automation calls again when a call ends `failed` (it never rang).

    It runs while the failed call is being ended: it must see it ended, not find
    it waiting (joined, then lost with it) or within the cooldown (suppressed).
    """
    hass.config_entries.async_update_entry(
        loaded_entry, options={**loaded_entry.options, CONF_COOLDOWN: 3600}
    )
    await hass.async_block_till_done()
    calls_again: list[asyncio.Task[Any]] = []

    @callback
    def call_again(event: Event) -> None:
        if event.data["status"] == "failed" and not calls_again:
            calls_again.append(
                hass.async_create_task(notify(hass, "0933000001"), eager_start=True)
            )

    hass.bus.async_listen(EVENT_CALL_FINISHED, call_again)
    simulator.down = 503
    await notify(hass, "0933000001")
    for _ in range(16 * 2):
        await advance(hass, freezer, 30)
        if calls_again:
            break
    assert calls_again, "the call never failed"
    await calls_again[0]
    assert loaded_entry.runtime_data.placer.suppressed_calls == 0
    assert queued_calls(loaded_entry) == 1


async def test_a_hung_probe_does_not_spin(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """While a probe is under way, the queue's timer waits for it (no busy loop)."""
    runs = 0
    real_due = CallQueue._async_attempt_due  # noqa: SLF001

    def counted(queue: CallQueue, now: Any) -> None:
        nonlocal runs
        runs += 1
        real_due(queue, now)

    patcher = patch.object(CallQueue, "_async_attempt_due", callback(counted))
    patcher.start()
    simulator.add_fault(FaultKind.DROP_AFTER_PLACING)
    simulator.add_fault(FaultKind.HANG, endpoint="query_voice")
    await notify(hass, "0933000001")
    freezer.tick(timedelta(seconds=6))
    async_fire_time_changed(hass)  # the probe starts, and hangs
    await until(lambda: len(simulator.requests_to("query_voice")) == 2)
    for _ in range(3):  # the timer would fire in the past, again and again
        freezer.tick(timedelta(seconds=3))
        async_fire_time_changed(hass)
        for _ in range(100):
            await asyncio.sleep(0)
    assert runs < 5  # not once per turn of the event loop
    patcher.stop()
    simulator.clear_faults()
    await hass.async_block_till_done()
    await advance(hass, freezer, 6)
    await advance(hass, freezer, 0)
    assert len(simulator.requests_to("send_voice")) == 2
