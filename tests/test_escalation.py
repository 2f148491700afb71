"""Tests of twsms_voice.call waiting for outcomes, retrying, and escalating."""

from __future__ import annotations

import asyncio
from typing import Any

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.twsms_voice.const import DOMAIN
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from twsms_simulator import FaultKind, PhoneBehaviour, TwsmsSimulator

from .conftest import advance, start_call, until

pytestmark = pytest.mark.usefixtures("calls_last_20_seconds")


def waiting(entry: MockConfigEntry) -> int:
    """Count the calls the account's tracker follows."""
    return len(entry.runtime_data.tracker.pending_calls)


async def until_placed(
    entry: MockConfigEntry, simulator: TwsmsSimulator, placed: int, pending: int = 1
) -> None:
    """Wait until the simulator has ``placed`` calls and the tracker follows them.

    Then let the action's task take that in (it waits for the outcome next).
    """
    await until(lambda: len(simulator.calls) == placed and waiting(entry) == pending)
    for _ in range(100):
        await asyncio.sleep(0)


def statuses(response: dict[str, Any]) -> list[tuple[str, str, int]]:
    """Return (phone, status, attempts) per number."""
    return [(c["phone"], c["status"], c["attempts"]) for c in response["calls"]]


async def test_wait_reports_each_outcome(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """With wait, the response carries each number's final status."""
    simulator.phones |= {
        "0933000002": PhoneBehaviour(status="NoAnswer"),
        "0933000003": PhoneBehaviour(status="Busy"),
    }
    task = start_call(
        hass,
        target=["0933000001", "0933000002", "0933000003"],
        message="Smoke!",
        wait=True,
    )
    await until_placed(loaded_entry, simulator, 3, pending=3)
    await advance(hass, freezer, 45)
    response = await task
    assert statuses(response) == [
        ("0933000001", "answered", 1),
        ("0933000002", "no_answer", 1),
        ("0933000003", "busy", 1),
    ]
    assert response["answered_by"] == {"phone": "0933000001", "contact": None}


async def test_wait_timeout_reports_unknown(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """A call still pending when the wait ends is reported as unknown."""
    task = start_call(
        hass, target="0933000001", message="Smoke!", wait=True, wait_timeout=20
    )
    await until_placed(loaded_entry, simulator, 1)
    await advance(hass, freezer, 20)
    response = await task
    assert statuses(response) == [("0933000001", "unknown", 1)]
    assert response["answered_by"] is None


async def test_sequential_stops_at_the_first_answer(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """One after another: Mom misses it, the neighbour answers, nobody else is called."""
    simulator.phones["0912000001"] = PhoneBehaviour(status="NoAnswer")
    task = start_call(
        hass,
        target=["Mom", "Neighbour", "0933000009"],
        message="Burglar alarm",
        mode="sequential",
    )
    await until_placed(loaded_entry, simulator, 1)
    await advance(hass, freezer, 45)
    await until_placed(loaded_entry, simulator, 2)
    assert [call.phone for call in simulator.calls.values()] == [
        "0912000001",
        "0223456789",
    ]
    await advance(hass, freezer, 45)
    response = await task
    assert statuses(response) == [
        ("0912000001", "no_answer", 1),
        ("0223456789", "answered", 1),
    ]
    assert response["answered_by"] == {"phone": "0223456789", "contact": "Neighbour"}
    assert len(simulator.calls) == 2


async def test_sequential_without_an_answer(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """When nobody answers, everybody was called and nobody answered."""
    simulator.default_behaviour = PhoneBehaviour(status="Busy")
    task = start_call(
        hass, target=["Mom", "Neighbour"], message="Alarm", mode="sequential"
    )
    for placed in (1, 2):
        await until_placed(loaded_entry, simulator, placed)
        await advance(hass, freezer, 45)
    response = await task
    assert [c["status"] for c in response["calls"]] == ["busy", "busy"]
    assert response["answered_by"] is None


async def test_retries_until_answered(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """A busy number is called again after the delay, despite the cooldown."""
    simulator.phones["0933000001"] = PhoneBehaviour(status="Busy")
    task = start_call(
        hass, target="0933000001", message="Smoke!", retries=2, retry_delay=30
    )
    await until_placed(loaded_entry, simulator, 1)
    await advance(hass, freezer, 45)  # busy
    simulator.phones["0933000001"] = PhoneBehaviour(status="FarEnd")
    await advance(hass, freezer, 30)  # the retry delay
    await until_placed(loaded_entry, simulator, 2)
    await advance(hass, freezer, 45)
    response = await task
    assert statuses(response) == [("0933000001", "answered", 2)]
    assert response["calls"][0]["points"] == 4
    assert len(simulator.calls) == 2


async def test_retries_run_out(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """After the last retry the final status is what the last attempt got."""
    simulator.phones["0933000001"] = PhoneBehaviour(status="NoAnswer")
    task = start_call(
        hass, target="0933000001", message="Smoke!", retries=1, retry_delay=0
    )
    await until_placed(loaded_entry, simulator, 1)
    await advance(hass, freezer, 45)
    await until_placed(loaded_entry, simulator, 2)
    await advance(hass, freezer, 45)
    response = await task
    assert statuses(response) == [("0933000001", "no_answer", 2)]


async def test_refused_call_is_not_retried(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """A call the provider refuses ends its number's attempts at once."""
    simulator.add_fault(FaultKind.CODE, code=-8)
    response = await start_call(
        hass, target="0933000001", message="Smoke!", retries=3, wait=True
    )
    assert statuses(response) == [("0933000001", "failed", 1)]
    assert simulator.calls == {}


async def test_waiting_without_response_still_raises(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """Waiting or not, a refused call fails an action whose response nobody reads."""
    simulator.add_fault(FaultKind.CODE, code=-2)
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            DOMAIN,
            "call",
            {"target": "0933000001", "message": "Smoke!", "wait": True},
            blocking=True,
        )


async def test_a_reload_does_not_end_waiting(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """Reloading the account (new options, a new contact) leaves a wait alone."""
    task = start_call(hass, target="0933000001", message="Smoke!", wait=True)
    await until_placed(loaded_entry, simulator, 1)
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await advance(hass, freezer, 45)
    response = await task
    assert statuses(response) == [("0933000001", "answered", 1)]


async def test_stopping_ends_waiting(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """When Home Assistant stops, a waiting action is answered with unknown."""
    task = start_call(hass, target="0933000001", message="Smoke!", wait=True)
    await until_placed(loaded_entry, simulator, 1)
    await asyncio.sleep(0)
    await loaded_entry.runtime_data.async_stop()
    response = await task
    assert statuses(response) == [("0933000001", "unknown", 1)]


async def test_sequential_through_a_provider_blip(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """An HTTP 500 on the first person delays the step; it does not skip them.

    Mom is called (on the second attempt), answers, and the neighbour is never
    called.
    """
    simulator.add_fault(FaultKind.HTTP_500, endpoint="send_voice")
    task = start_call(
        hass, target=["Mom", "Neighbour"], message="Fire!", mode="sequential"
    )
    await until(lambda: len(simulator.requests_to("send_voice")) == 1)
    await hass.async_block_till_done()
    assert simulator.calls == {}
    await advance(hass, freezer, 5)  # TwSMS answers a free question again
    await advance(hass, freezer, 0)  # ... so the call goes again
    await until_placed(loaded_entry, simulator, 1)
    await advance(hass, freezer, 45)
    response = await task
    assert statuses(response) == [("0912000001", "answered", 2)]
    assert [call.phone for call in simulator.calls.values()] == ["0912000001"]
    await advance(hass, freezer, 600)
    assert len(simulator.calls) == 1


async def test_hanging_up_at_once_is_not_an_answer(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """Mom picks up and hangs up after 1 s: the escalation goes on to the neighbour."""
    simulator.phones["0912000001"] = PhoneBehaviour(status="FarEnd", playtime=1)
    task = start_call(
        hass, target=["Mom", "Neighbour"], message="Fire!", mode="sequential"
    )
    await until_placed(loaded_entry, simulator, 1)
    await advance(hass, freezer, 45)
    await until_placed(loaded_entry, simulator, 2)
    await advance(hass, freezer, 45)
    response = await task
    assert statuses(response) == [
        ("0912000001", "hung_up", 1),
        ("0223456789", "answered", 1),
    ]
    assert response["answered_by"] == {"phone": "0223456789", "contact": "Neighbour"}
