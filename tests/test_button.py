"""Tests of the contacts' Test call buttons."""

from __future__ import annotations

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from homeassistant.components.button import SERVICE_PRESS
from homeassistant.const import ATTR_ENTITY_ID, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from twsms_simulator import TwsmsSimulator

from .conftest import advance

pytestmark = pytest.mark.usefixtures("calls_last_20_seconds")


async def press(hass: HomeAssistant, entity_id: str) -> None:
    """Press a button and let its call be sent."""
    await hass.services.async_call(
        "button", SERVICE_PRESS, {ATTR_ENTITY_ID: entity_id}, blocking=True
    )
    await hass.async_block_till_done()


@pytest.mark.parametrize(
    ("language", "words"), [("en", "This is a test call"), ("zh-Hant", "測試來電")]
)
async def test_a_test_call_is_a_call_like_any_other(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
    language: str,
    words: str,
) -> None:
    """In the user's language, in the contact's voice; its outcome on the sensors."""
    hass.config.language = language
    await press(hass, "button.mom_test_call")
    (request,) = simulator.requests_to("send_voice")
    assert request.params["phone"] == "0912000001"
    assert words in request.params["message"]
    assert request.params["voice"] == "2"  # Mom's own voice
    state = hass.states.get("sensor.mom_last_call")
    assert state is not None
    assert state.state == "pending"
    await advance(hass, freezer, 60)
    state = hass.states.get("sensor.mom_last_call")
    assert state is not None
    assert state.state == "answered"


async def test_a_refused_test_call_fails_the_press(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """Over the hourly cap, pressing says so."""
    hass.config_entries.async_update_entry(
        loaded_entry, options={**loaded_entry.options, "calls_per_hour": 1}
    )
    await press(hass, "button.mom_test_call")
    with pytest.raises(HomeAssistantError, match="cap of calls per hour"):
        await press(hass, "button.neighbour_test_call")
    assert len(simulator.calls) == 1


@pytest.mark.parametrize("platforms", [[Platform.BUTTON]])
async def test_entities(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """One Test call button per contact, on the contact's device."""
    await snapshot_platform(hass, entity_registry, snapshot, loaded_entry.entry_id)
