"""Tests of the call event entities and the logbook lines of finished calls."""

from __future__ import annotations

from typing import Any

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.twsms_voice import logbook
from custom_components.twsms_voice.const import DOMAIN, EVENT_CALL_FINISHED
from homeassistant.components.logbook import (
    LOGBOOK_ENTRY_ICON,
    LOGBOOK_ENTRY_MESSAGE,
    LOGBOOK_ENTRY_NAME,
)
from homeassistant.const import Platform
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import entity_registry as er
from twsms_simulator import FaultKind, PhoneBehaviour, TwsmsSimulator

from .conftest import advance

pytestmark = pytest.mark.usefixtures("calls_last_20_seconds")


async def notify(hass: HomeAssistant, target: str) -> None:
    """Queue a call with notify.twsms_voice and let it be sent."""
    await hass.services.async_call(
        "notify", DOMAIN, {"message": "Smoke!", "target": target}, blocking=True
    )
    await hass.async_block_till_done()


def event_type(hass: HomeAssistant, entity_id: str) -> Any:
    """Return the type of the last event an event entity fired."""
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state.attributes.get("event_type")


@pytest.mark.parametrize(
    ("behaviour", "expected"),
    [
        (PhoneBehaviour(status="FarEnd", playtime=12), "answered"),
        (PhoneBehaviour(status="FarEnd", playtime=1), "hung_up"),
        (PhoneBehaviour(status="NoAnswer"), "no_answer"),
        (PhoneBehaviour(status="Busy"), "busy"),
    ],
)
async def test_events_fire_with_the_outcome(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
    behaviour: PhoneBehaviour,
    expected: str,
) -> None:
    """The contact's and the account's event entities fire; the other contact's not."""
    simulator.phones["0912000001"] = behaviour
    await notify(hass, "Mom")
    await advance(hass, freezer, 60)
    assert event_type(hass, "event.mom_call") == expected
    assert event_type(hass, "event.twsms_test123_call") == expected
    assert event_type(hass, "event.neighbour_call") is None
    state = hass.states.get("event.mom_call")
    assert state is not None
    assert state.attributes["phone"] == "09*****001"


async def test_failed_calls_fire_failed(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """A call TwSMS refused fires ``failed``."""
    simulator.add_fault(FaultKind.CODE, code=-2, endpoint="send_voice")
    await notify(hass, "Neighbour")
    assert event_type(hass, "event.neighbour_call") == "failed"


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (
            {"contact": "Mom", "status": "answered", "duration": 12},
            "Mom answered, listened 12 s",
        ),
        (
            {"contact": "Mom", "status": "hung_up", "duration": 1},
            "Mom hung up at once, listened 1 s",
        ),
        ({"contact": None, "status": "busy", "duration": 0}, "09*****001 was busy"),
        (
            {"contact": None, "status": "failed", "duration": None},
            "09*****001 could not be called",
        ),
    ],
)
def test_logbook_lines(hass: HomeAssistant, data: dict[str, Any], line: str) -> None:
    """A finished call reads as a sentence in the logbook, the number masked."""
    hass.config.language = "en"
    described: dict[str, Any] = {}

    def describe_event(domain: str, event_type: str, describe: Any) -> None:
        described[event_type] = describe

    logbook.async_describe_events(hass, describe_event)
    event: Event[dict[str, Any]] = Event(
        EVENT_CALL_FINISHED, {"phone": "0912000001"} | data
    )
    entry = described[EVENT_CALL_FINISHED](event)
    assert entry[LOGBOOK_ENTRY_NAME] == "TwSMS Voice"
    assert entry[LOGBOOK_ENTRY_MESSAGE] == line
    assert entry[LOGBOOK_ENTRY_ICON].startswith("mdi:phone")


@pytest.mark.parametrize("platforms", [[Platform.EVENT]])
async def test_entities(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """A call event entity for the account and for each contact."""
    await snapshot_platform(hass, entity_registry, snapshot, loaded_entry.entry_id)


def test_logbook_lines_in_chinese(hass: HomeAssistant) -> None:
    """When Home Assistant speaks Chinese, so does the logbook."""
    hass.config.language = "zh-Hant"
    described: dict[str, Any] = {}
    logbook.async_describe_events(
        hass, lambda domain, event_type, describe: described.update({"d": describe})
    )
    event: Event[dict[str, Any]] = Event(
        EVENT_CALL_FINISHED,
        {
            "phone": "0912000001",
            "contact": "媽媽",
            "status": "answered",
            "duration": 12,
        },
    )
    assert described["d"](event)[LOGBOOK_ENTRY_MESSAGE] == "媽媽 已接聽，收聽 12 秒"
