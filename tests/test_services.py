"""Tests of the twsms_voice.call action."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import voluptuous as vol

from custom_components.twsms_voice.const import DOMAIN
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from twsms_simulator import FaultKind, TwsmsSimulator

CALL = "call"


async def _call(
    hass: HomeAssistant, *, response: bool = True, **data: Any
) -> dict[str, Any] | None:
    return await hass.services.async_call(
        DOMAIN, CALL, data, blocking=True, return_response=response
    )


async def test_response_lists_each_number(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """Each number gets its msgid and points, or its error; contacts are named."""
    simulator.add_fault(FaultKind.CODE, code=-8)  # the first request: 0933111222
    response = await _call(
        hass,
        target=["0933111222", "Mom"],
        message="這是語音簡訊發送測試",
        voice="male_1",
    )
    assert response == {
        "calls": [
            {
                "phone": "0933111222",
                "contact": None,
                "status": "failed",
                "msgid": None,
                "points": 0,
                "attempts": 1,
                "error": "The phone number 0933111222 was rejected: it is not a valid number",
            },
            {
                "phone": "0912000001",
                "contact": "Mom",
                "status": "placed",
                "msgid": 8692325,
                "points": 2,
                "attempts": 1,
                "error": None,
            },
        ]
    }
    (placed,) = simulator.calls.values()
    assert placed.params["message"] == "這是語音簡訊發送測試"
    assert placed.params["voice"] == "4"


async def test_suppressed_call_in_response(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """A repeat within the cooldown is reported as suppressed."""
    await _call(hass, target="0933111222", message="Smoke!")
    response = await _call(hass, target="0933111222", message="Smoke!")
    assert response is not None
    assert response["calls"][0]["status"] == "suppressed"
    assert len(simulator.calls) == 1


async def test_failure_without_response_raises(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """When nobody reads the response, a failed call is an error."""
    simulator.add_fault(FaultKind.CODE, code=-2)
    with pytest.raises(HomeAssistantError) as raised:
        await _call(hass, response=False, target="0933111222", message="test")
    assert raised.value.translation_key == "insufficient_points"
    assert await _call(hass, response=False, target="0933111222", message="t") is None


async def test_account_choice(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    office_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """With two accounts the call must name one; unknown or unloaded ones are refused."""
    office = office_entry
    with pytest.raises(ServiceValidationError) as raised:
        await _call(hass, target="0933111222", message="test")
    assert raised.value.translation_key == "entry_required"

    await _call(
        hass, target="0933111222", message="test", config_entry_id=office.entry_id
    )
    assert [call.username for call in simulator.calls.values()] == ["office"]

    with pytest.raises(ServiceValidationError) as raised:
        await _call(hass, target="1", message="test", config_entry_id="nope")
    assert raised.value.translation_key == "entry_not_found"

    assert await hass.config_entries.async_unload(office.entry_id)
    with pytest.raises(ServiceValidationError) as raised:
        await _call(
            hass,
            target="0933111222",
            message="t",
            config_entry_id=office.entry_id,
        )
    assert raised.value.translation_key == "entry_not_loaded"


async def test_schema_refuses_out_of_range(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """Out-of-range settings never reach the provider."""
    for bad in ({"speed": 11}, {"volume": 101}, {"voice": "robot"}, {"voice_url": "x"}):
        with pytest.raises(vol.Invalid):
            await _call(hass, target="0933111222", message="t", **bad)
    assert simulator.requests_to("send_voice") == []
