"""Calls through what Home Assistant does around them.

Reloads, cancelled callers, a provider silent at start, disabling and deleting the
account.

These run on the real clock (the simulator delays replies by real time), with the
harness's lingering-timer and lingering-task checks on.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
import time
from typing import Any
from unittest.mock import patch

import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.twsms_voice.const import DOMAIN, EVENT_CALL_FINISHED
from homeassistant.config_entries import ConfigEntryDisabler, ConfigEntryState
from homeassistant.const import (
    EVENT_HOMEASSISTANT_STOP,
    EVENT_STATE_CHANGED,
    STATE_UNAVAILABLE,
)
from homeassistant.core import HomeAssistant
from homeassistant.core_config import async_process_ha_core_config
from homeassistant.exceptions import HomeAssistantError
from twsms_simulator import FaultKind, PhoneBehaviour, TwsmsSimulator

from .conftest import queued_calls, start_again, start_call, stop_home_assistant


@pytest.fixture
async def reports_come_back(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    simulator: TwsmsSimulator,
) -> None:
    """Let the simulator report each outcome to the webhook, half a second later."""
    client = await hass_client_no_auth()
    url = str(client.make_url("")).rstrip("/")
    await async_process_ha_core_config(hass, {"external_url": url})
    simulator.outcome_delay = 0.5


async def until_sent(simulator: TwsmsSimulator, count: int = 1) -> None:
    """Wait (real time) until the simulator has received ``count`` sends."""
    async with asyncio.timeout(10):
        while len(simulator.requests_to("send_voice")) < count:
            await asyncio.sleep(0.01)


async def until_finished(events: list[Any], count: int = 1) -> None:
    """Wait (real time) until ``count`` calls have finished."""
    async with asyncio.timeout(10):
        while len(events) < count:
            await asyncio.sleep(0.01)


@pytest.mark.usefixtures("reports_come_back")
async def test_reload_while_a_request_is_under_way(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """Reload mid-request: one request, one call, one outcome, one event."""
    events = async_capture_events(hass, EVENT_CALL_FINISHED)
    simulator.add_fault(FaultKind.DELAY, seconds=0.5, endpoint="send_voice")
    await hass.services.async_call(
        "notify", DOMAIN, {"message": "Smoke!", "target": "Mom"}, blocking=True
    )
    await until_sent(simulator)
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await until_finished(events)
    await asyncio.sleep(1)  # time for anything wrong to show (a second attempt)
    await hass.async_block_till_done()
    assert len(simulator.requests_to("send_voice")) == 1
    assert len(simulator.calls) == 1
    assert [(event.data["status"], event.data["contact"]) for event in events] == [
        ("answered", "Mom")
    ]
    state = hass.states.get("sensor.mom_last_call")
    assert state is not None
    assert state.state == "answered"
    assert queued_calls(loaded_entry) == 0


@pytest.mark.usefixtures("reports_come_back")
async def test_caller_cancelled_while_a_request_is_under_way(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """An automation restarted mid-request: the call ends as if nothing happened."""
    events = async_capture_events(hass, EVENT_CALL_FINISHED)
    simulator.add_fault(FaultKind.DELAY, seconds=0.5, endpoint="send_voice")
    task = start_call(hass, target="Mom", message="Smoke!", wait=True)
    await until_sent(simulator)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await until_finished(events)
    await asyncio.sleep(1)
    await hass.async_block_till_done()
    assert len(simulator.requests_to("send_voice")) == 1
    assert [event.data["status"] for event in events] == ["answered"]
    assert queued_calls(loaded_entry) == 0


async def test_a_silent_provider_at_start_does_not_keep_the_service_away(
    hass: HomeAssistant, config_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """TwSMS takes requests and never answers: setup ends within the check's bound.

    notify.twsms_voice exists at once, and an alarm is queued, not refused.
    """
    simulator.add_fault(FaultKind.HANG, times=2)  # the check, then the first send
    config_entry.add_to_hass(hass)
    started = time.monotonic()
    with patch("custom_components.twsms_voice.account.CHECK_TIMEOUT", 0.5):
        assert await hass.config_entries.async_setup(config_entry.entry_id)
    assert time.monotonic() - started < 5
    assert config_entry.state is ConfigEntryState.LOADED
    await hass.async_block_till_done()
    assert hass.services.has_service("notify", DOMAIN)
    await hass.services.async_call(
        "notify", DOMAIN, {"message": "Smoke!", "target": "Mom"}, blocking=True
    )
    assert queued_calls(config_entry) == 1
    simulator.clear_faults()
    await hass.async_block_till_done()


async def test_disabling_stops_everything(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """A disabled account makes no request; re-enabled, its queued call goes."""
    simulator.down = 500
    await hass.services.async_call(
        "notify", DOMAIN, {"message": "Smoke!", "target": "Mom"}, blocking=True
    )
    await hass.async_block_till_done()
    assert await hass.config_entries.async_set_disabled_by(
        loaded_entry.entry_id, ConfigEntryDisabler.USER
    )
    simulator.down = None
    sent = len(simulator.requests)
    await asyncio.sleep(6)  # past the first retry and the probe
    assert len(simulator.requests) == sent

    assert await hass.config_entries.async_set_disabled_by(loaded_entry.entry_id, None)
    async with asyncio.timeout(10):
        while not simulator.calls:
            await asyncio.sleep(0.01)
    assert [call.phone for call in simulator.calls.values()] == ["0912000001"]


async def test_removing_the_account_ends_its_calls(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """Every call ends with its event; nothing runs or is written afterwards."""
    events = async_capture_events(hass, EVENT_CALL_FINISHED)
    await hass.services.async_call(
        "notify", DOMAIN, {"message": "Smoke!", "target": "Mom"}, blocking=True
    )
    await hass.async_block_till_done()  # placed: followed until its outcome
    simulator.down = 503
    await hass.services.async_call(
        "notify", DOMAIN, {"message": "Smoke!", "target": "0933111222"}, blocking=True
    )
    await hass.async_block_till_done()  # queued
    key = f"{DOMAIN}.{loaded_entry.entry_id}"

    await hass.config_entries.async_remove(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert [(event.data["phone"], event.data["status"]) for event in events] == [
        ("0933111222", "failed"),  # queued: never placed
        ("0912000001", "unknown"),  # placed, its outcome no longer followed
    ]
    assert events[0].data["error"] == (
        "The TwSMS account was removed before the call could be placed"
    )
    assert events[1].data["error"] == (
        "The TwSMS account was removed before the call's outcome was known"
    )
    simulator.down = None
    sent = len(simulator.requests)
    await asyncio.sleep(6)
    await hass.async_block_till_done()
    assert len(simulator.requests) == sent
    assert key not in hass_storage


async def test_removing_the_account_while_a_request_is_out(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """The request under way may end: the call TwSMS placed is known as placed.

    It then ends `unknown` like every call followed, with its msgid: not `failed`.
    """
    events = async_capture_events(hass, EVENT_CALL_FINISHED)
    simulator.add_fault(FaultKind.DELAY, seconds=0.5, endpoint="send_voice")
    await hass.services.async_call(
        "notify", DOMAIN, {"message": "Smoke!", "target": "Mom"}, blocking=True
    )
    await until_sent(simulator)
    await hass.config_entries.async_remove(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert len(simulator.calls) == 1
    assert [(event.data["status"], event.data["msgid"]) for event in events] == [
        ("unknown", 8692325)
    ]
    assert "outcome was known" in events[0].data["error"]


async def test_removing_the_account_with_a_call_that_may_have_rung(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """A call whose answer was lost waits for TwSMS when the account is deleted.

    It may have rung: it ends `unknown`, and says so, not "could not be placed".
    """
    events = async_capture_events(hass, EVENT_CALL_FINISHED)
    simulator.add_fault(FaultKind.DROP_AFTER_PLACING)
    simulator.add_fault(FaultKind.HTTP_STATUS, status=503, times=100)  # the probes
    await hass.services.async_call(
        "notify", DOMAIN, {"message": "Smoke!", "target": "Mom"}, blocking=True
    )
    await until_sent(simulator)
    await hass.async_block_till_done()
    assert queued_calls(loaded_entry) == 1  # held until TwSMS answers again
    await hass.config_entries.async_remove(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert len(simulator.calls) == 1
    assert [event.data["status"] for event in events] == ["unknown"]
    assert events[0].data["error"] == (
        "The TwSMS account was removed; the call may have been placed before"
        " (an answer from TwSMS was lost)"
    )


async def test_removing_an_account_disabled_since_the_start(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    config_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Home Assistant never set the integration up; deleting the entry still works.

    The call it had queued ends with its event, and its file is gone.
    """
    key = f"{DOMAIN}.{config_entry.entry_id}"
    stored = {
        "id": "waiting",
        "target": {
            "phone": "0933000001",
            "contact_id": None,
            "contact": None,
            "speech": {"voice": 1, "speed": 0, "volume": 100},
        },
        "message": "Smoke!",
        "created_at": "2026-01-01T00:00:00+00:00",
        "next_attempt": "2026-01-01T00:00:00+00:00",
    }
    hass_storage[key] = {"version": 1, "key": key, "data": {"queued": [stored]}}
    config_entry.disabled_by = ConfigEntryDisabler.USER
    config_entry.add_to_hass(hass)
    events = async_capture_events(hass, EVENT_CALL_FINISHED)
    await hass.config_entries.async_remove(config_entry.entry_id)
    await hass.async_block_till_done()
    assert [(event.data["phone"], event.data["status"]) for event in events] == [
        ("0933000001", "failed")
    ]
    assert key not in hass_storage
    assert "Error" not in caplog.text
    assert simulator.requests == []


async def test_a_new_contact_needs_no_reload(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """Adding a contact adds its entities; the others never become unavailable."""
    unavailable = []

    def record(event: Any) -> None:
        new_state = event.data["new_state"]
        if new_state is not None and new_state.state == STATE_UNAVAILABLE:
            unavailable.append(new_state.entity_id)

    hass.bus.async_listen(EVENT_STATE_CHANGED, record)
    result = await hass.config_entries.subentries.async_init(
        (loaded_entry.entry_id, "contact"), context={"source": "user"}
    )
    await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"name": "Dad", "phone": "0933111222"}
    )
    await hass.async_block_till_done()
    assert hass.states.get("notify.dad") is not None
    assert unavailable == []


@pytest.mark.usefixtures("reports_come_back")
async def test_a_removed_account_places_no_more_calls(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """An escalation waiting to retry when its account is deleted stops there.

    The action returns what it learned: the unanswered call.
    """
    events = async_capture_events(hass, EVENT_CALL_FINISHED)
    simulator.phones["0912000001"] = PhoneBehaviour(status="NoAnswer")
    task = start_call(hass, target="Mom", message="Smoke!", retries=2, retry_delay=1)
    await until_finished(events)  # unanswered: the retry waits its second
    await hass.config_entries.async_remove(loaded_entry.entry_id)
    async with asyncio.timeout(5):
        response = await task
    assert [call["status"] for call in response["calls"]] == ["no_answer"]
    await asyncio.sleep(1.5)
    assert len(simulator.requests_to("send_voice")) == 1


async def test_home_assistant_stopping_stops_the_account(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """The stop event flushes what is pending and takes no more calls."""
    await hass.services.async_call(
        "notify", DOMAIN, {"message": "Smoke!", "target": "Mom"}, blocking=True
    )
    await hass.async_block_till_done()
    key = f"{DOMAIN}.{loaded_entry.entry_id}"
    assert hass_storage[key]["data"]["pending"] == []  # not written yet
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    assert [call["msgid"] for call in hass_storage[key]["data"]["pending"]] == [8692325]
    with pytest.raises(HomeAssistantError, match="not loaded"):
        await hass.services.async_call(
            "notify", DOMAIN, {"message": "Again", "target": "Mom"}, blocking=True
        )


async def test_stopping_answers_an_action_waiting_for_placement(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """TwSMS is away and `twsms_voice.call` waits for its call; Home Assistant stops.

    The action ends then (the call stays stored for the next start) rather than
    holding the stop for its whole wait.
    """
    simulator.down = 503
    task = start_call(hass, target="Mom", message="Fire!", wait=True, wait_timeout=300)
    await until_sent(simulator)
    await stop_home_assistant(loaded_entry)
    async with asyncio.timeout(5):
        response = await task
    (call,) = response["calls"]
    assert call["status"] == "queued"
    assert "stays stored" in call["error"]
    stored = hass_storage[f"{DOMAIN}.{loaded_entry.entry_id}"]["data"]["queued"]
    assert [call["target"]["phone"] for call in stored] == ["0912000001"]


async def test_stopping_ends_a_sequential_escalation_waiting_for_placement(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """The first person's call waits for TwSMS when Home Assistant stops.

    The action returns it `queued` (stored for the next start); the next person is
    not called by a stopped account, and the action does not fail for it.
    """
    simulator.down = 503
    task = start_call(
        hass, target=["Mom", "Neighbour"], message="Fire!", mode="sequential"
    )
    await until_sent(simulator)
    await stop_home_assistant(loaded_entry)
    async with asyncio.timeout(5):
        response = await task
    assert [(call["contact"], call["status"]) for call in response["calls"]] == [
        ("Mom", "queued")
    ]
    stored = hass_storage[f"{DOMAIN}.{loaded_entry.entry_id}"]["data"]["queued"]
    assert [call["target"]["contact"] for call in stored] == ["Mom"]


async def test_a_reload_does_not_wait_for_a_slow_provider(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """Changing an option reloads the entry at once: no new check of the account.

    An alarm right after finds notify.twsms_voice there.
    """
    simulator.add_fault(FaultKind.HANG, endpoint="query_voice")
    checks = len(simulator.requests_to("query_voice"))
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert len(simulator.requests_to("query_voice")) == checks  # none would end
    await hass.services.async_call(
        "notify", DOMAIN, {"message": "Smoke!", "target": "Mom"}, blocking=True
    )
    await hass.async_block_till_done()
    assert len(simulator.calls) == 1
    simulator.clear_faults()


async def test_stopping_mid_request_keeps_the_call_as_maybe_placed(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """Home Assistant stops while TwSMS has the request: stored as maybe placed.

    After the start it is sent again only once TwSMS answers, and only once.
    """
    simulator.add_fault(FaultKind.HANG, endpoint="send_voice")
    await hass.services.async_call(
        "notify", DOMAIN, {"message": "Smoke!", "target": "Mom"}, blocking=True
    )
    async with asyncio.timeout(5):
        while not simulator.requests_to("send_voice"):
            await asyncio.sleep(0.01)
    await stop_home_assistant(loaded_entry)
    simulator.clear_faults()
    (stored,) = hass_storage[f"{DOMAIN}.{loaded_entry.entry_id}"]["data"]["queued"]
    assert (stored["unsure"], stored["held"]) == (1, True)

    # Started again: TwSMS answers the account check, the call is sent, and its
    # answer is lost once more: it ends `unknown`, never sent a third time.
    simulator.add_fault(FaultKind.DROP_AFTER_PLACING)
    events = async_capture_events(hass, EVENT_CALL_FINISHED)
    await start_again(hass, loaded_entry)
    await until_finished(events)
    assert [event.data["status"] for event in events] == ["unknown"]
    assert len(simulator.requests_to("send_voice")) == 2
    assert queued_calls(loaded_entry) == 0


async def test_stopping_before_a_call_had_its_turn(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """Calls still waiting for the rate limiter at stop were never sent.

    Stored as such, they go as soon as Home Assistant is back, both tries left.
    """
    loaded_entry.runtime_data.limiter.rate = 1
    numbers = ["0933000001", "0933000002", "0933000003"]
    await hass.services.async_call(
        "notify", DOMAIN, {"message": "Smoke!", "target": numbers}, blocking=True
    )
    async with asyncio.timeout(5):
        while queued_calls(loaded_entry) > 2:  # the first placed, two wait
            await asyncio.sleep(0.01)
    await stop_home_assistant(loaded_entry)
    stored = hass_storage[f"{DOMAIN}.{loaded_entry.entry_id}"]["data"]["queued"]
    assert [(call["unsure"], call["held"]) for call in stored] == [(0, False)] * 2
    assert len(simulator.requests_to("send_voice")) == 1

    await start_again(hass, loaded_entry)
    await until_sent(simulator, 3)
    assert sorted(call.phone for call in simulator.calls.values()) == numbers


async def test_stopping_during_the_one_resend(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """A call resent after a lost answer, and Home Assistant stops while it is out.

    It may have rung twice already: it ends `unknown` there and then, and is never
    sent again after the start.
    """
    events = async_capture_events(hass, EVENT_CALL_FINISHED)
    simulator.add_fault(FaultKind.DROP_AFTER_PLACING)
    simulator.add_fault(FaultKind.HANG, endpoint="send_voice")
    with patch(
        "custom_components.twsms_voice.queue.PROBE_INTERVAL", timedelta(seconds=0.1)
    ):
        await hass.services.async_call(
            "notify", DOMAIN, {"message": "Smoke!", "target": "Mom"}, blocking=True
        )
        await until_sent(simulator, 2)  # the probe was answered: the one resend
    await stop_home_assistant(loaded_entry)
    simulator.clear_faults()
    assert [event.data["status"] for event in events] == ["unknown"]
    assert "cut off before TwSMS answered" in events[0].data["error"]
    assert hass_storage[f"{DOMAIN}.{loaded_entry.entry_id}"]["data"]["queued"] == []

    await start_again(hass, loaded_entry)
    assert queued_calls(loaded_entry) == 0  # nothing left that could be sent
    assert len(simulator.requests_to("send_voice")) == 2
