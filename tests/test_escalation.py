"""Tests of twsms_voice.call waiting for outcomes, retrying, and escalating."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.twsms_voice.const import DOMAIN
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from twsms_simulator import FaultKind, PhoneBehaviour, TwsmsSimulator

from .conftest import advance

pytestmark = pytest.mark.usefixtures("calls_last_30_seconds")


async def until(condition: Callable[[], bool]) -> None:
    """Let the action's own task run (network I/O included) until ``condition``.

    The clock is frozen, so this counts loop iterations instead of seconds.
    """
    for _ in range(200_000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never came true")


def waiting(entry: MockConfigEntry) -> int:
    """Count the calls the account's tracker follows."""
    return len(entry.runtime_data.placer.tracker.pending_calls)


async def until_placed(
    entry: MockConfigEntry, simulator: TwsmsSimulator, placed: int, pending: int = 1
) -> None:
    """Wait until the simulator has ``placed`` calls and the tracker follows them."""
    await until(lambda: len(simulator.calls) == placed and waiting(entry) == pending)


def start_call(hass: HomeAssistant, **data: Any) -> asyncio.Task[Any]:
    """Start twsms_voice.call in a task of its own: it waits for outcomes."""
    return asyncio.ensure_future(
        hass.services.async_call(
            DOMAIN, "call", data, blocking=True, return_response=True
        )
    )


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


async def test_unload_ends_waiting(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """Unloading the account answers a waiting action with unknown."""
    task = start_call(hass, target="0933000001", message="Smoke!", wait=True)
    await until_placed(loaded_entry, simulator, 1)
    await asyncio.sleep(0)
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    response = await task
    assert statuses(response) == [("0933000001", "unknown", 1)]
