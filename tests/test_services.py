"""Tests of the twsms_voice.call action."""

from __future__ import annotations

import asyncio
from typing import Any

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import voluptuous as vol

from custom_components.twsms_voice.const import DOMAIN
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
from twsms_simulator import FaultKind, TwsmsSimulator

from .conftest import advance, call_as_time_passes, queued_calls, start_call

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
        ],
        "invalid_targets": [],
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
    """Out-of-range settings never reach the provider.

    A fraction is refused, not rounded down: `volume: 0.5` is no silent call.
    """
    for bad in (
        {"speed": 11},
        {"volume": 101},
        {"volume": 0.5},
        {"volume": True},
        {"volume": 10**400},
        {"speed": "fast"},
        {"voice": "robot"},
        {"voice_url": "x"},
        {"tts": True},
    ):
        with pytest.raises(vol.Invalid):
            await _call(hass, target="0933111222", message="t", **bad)
    assert simulator.requests_to("send_voice") == []


SEND_CODES = [
    (-1, HomeAssistantError, "ip_not_allowed"),
    (-2, HomeAssistantError, "insufficient_points"),
    (-3, HomeAssistantError, "account_disabled"),
    (-5, ServiceValidationError, "invalid_call_settings"),
    (-6, ServiceValidationError, "invalid_call_settings"),
    (-7, ServiceValidationError, "invalid_call_settings"),
    (-8, ServiceValidationError, "invalid_phone"),
    (-9, ServiceValidationError, "invalid_message"),
    (-10, ServiceValidationError, "voice_url_not_wave"),
    (-11, ServiceValidationError, "voice_url_wrong_format"),
    (-12, ServiceValidationError, "voice_url_unreachable"),
    (-13, ServiceValidationError, "invalid_voice"),
    (-14, ServiceValidationError, "invalid_speed"),
    (-15, ServiceValidationError, "invalid_volume"),
    (-42, HomeAssistantError, "provider_error_code"),
]


@pytest.mark.parametrize(("code", "error", "key"), SEND_CODES)
async def test_provider_codes(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
    code: int,
    error: type[HomeAssistantError],
    key: str,
) -> None:
    """Every send code becomes a translated error of the right kind, at once."""
    simulator.add_fault(FaultKind.CODE, code=code)
    with pytest.raises(error) as raised:
        await _call(hass, response=False, message="test", target="0933111222")
    assert type(raised.value) is error
    assert raised.value.translation_key == key
    assert raised.value.translation_domain == DOMAIN
    assert "{" not in str(raised.value)  # placeholders were filled in
    assert len(simulator.requests_to("send_voice")) == 1  # not retried


async def test_recording_problems_found_by_the_provider(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """The provider fetches the recording; a wrong format names voice_url."""
    with pytest.raises(ServiceValidationError) as raised:
        await _call(
            hass,
            response=False,
            message="alarm",
            target="0933111222",
            voice_url=f"{simulator.url}/_simulator/cd-quality.wav",
        )
    assert str(raised.value) == (
        "The file at voice_url must be WAVE, 8000 Hz, 8-bit, mono"
    )


async def test_several_failures_are_reported_together(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """Two failed numbers and an invalid one give one error that lists them all."""
    simulator.add_fault(FaultKind.CODE, code=-8, times=2, endpoint="send_voice")
    with pytest.raises(HomeAssistantError) as raised:
        await _call(
            hass,
            response=False,
            message="test",
            target=["0933111222", "0944111222", "mom", "nobody"],
        )
    assert raised.value.translation_key == "calls_failed"
    message = str(raised.value)
    assert message.startswith("3 of 4 calls failed: Not called: nobody")
    assert message.count("was rejected: it is not a valid number") == 2
    assert len(simulator.calls) == 1


async def test_invalid_targets_in_the_response(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """The response lists what could not be called beside the calls placed."""
    response = await _call(hass, target=["12", "Mom", "Grandpa"], message="test")
    assert response is not None
    assert response["invalid_targets"] == ["12", "Grandpa"]
    assert [call["contact"] for call in response["calls"]] == ["Mom"]
    assert len(simulator.calls) == 1


async def test_queued_when_not_placed_in_time(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """The action waits at most PLACEMENT_TIMEOUT s; the call then goes on queued."""
    simulator.down = 503
    response = await call_as_time_passes(
        hass, freezer, target="0933111222", message="Smoke!"
    )
    (call,) = response["calls"]
    assert call["status"] == "queued"
    assert "HTTP 503" in call["error"]
    assert call["attempts"] > 1
    simulator.down = None
    await advance(hass, freezer, 30)
    assert [placed.phone for placed in simulator.calls.values()] == ["0933111222"]


async def test_placed_after_a_blip_within_the_wait(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """An HTTP 500 then success: the response has the msgid of the second attempt."""
    simulator.add_fault(FaultKind.HTTP_500, endpoint="send_voice")
    response = await call_as_time_passes(
        hass, freezer, seconds=5, target="0933111222", message="Smoke!"
    )
    (call,) = response["calls"]
    assert (call["status"], call["msgid"], call["attempts"]) == ("placed", 8692325, 2)


async def test_critical_calls_pass_the_cooldown(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """priority: critical places a repeat that the cooldown would suppress."""
    await _call(hass, target="0933111222", message="Fire!")
    response = await _call(
        hass, target="0933111222", message="Fire!", priority="critical"
    )
    assert response is not None
    assert response["calls"][0]["status"] == "placed"
    assert len(simulator.calls) == 2


async def test_message_too_long_for_a_url(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """A message no GET request can carry is refused before any request."""
    with pytest.raises(ServiceValidationError) as raised:
        await _call(hass, response=False, target="0933111222", message="火" * 300)
    assert raised.value.translation_key == "invalid_message"
    assert "at most 2048 bytes" in str(raised.value)
    assert "Chinese characters" in str(raised.value)
    assert simulator.requests_to("send_voice") == []


async def test_cancelled_action_does_not_cancel_the_call(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """An automation stopped while its call is under way: the call still ends well.

    One request, one placed call, one outcome followed.
    """
    simulator.add_fault(FaultKind.DELAY, seconds=0.5, endpoint="send_voice")
    task = start_call(hass, target="0933111222", message="Smoke!")
    async with asyncio.timeout(5):
        while not simulator.requests_to("send_voice"):
            await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await hass.async_block_till_done()
    assert len(simulator.requests_to("send_voice")) == 1
    assert [call.phone for call in simulator.calls.values()] == ["0933111222"]
    assert queued_calls(loaded_entry) == 0
    assert [c.msgid for c in loaded_entry.runtime_data.tracker.pending_calls] == [
        8692325
    ]


async def test_contacts_picked_as_entities_or_devices(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    office_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """The action editor's entity and device pickers resolve to the contacts.

    The account is the contacts' own, even with two accounts and none named.
    """
    neighbour = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, f"{loaded_entry.entry_id}_01JTWSMSCONTACTNEIGHBOUR01"),
        loaded_entry.entry_id,
    )
    assert neighbour is not None
    response = await _call(
        hass,
        message="Smoke!",
        entity_id="notify.mom",
        device_id=neighbour.id,
        target="0933111222",
    )
    assert response is not None
    assert [call["contact"] for call in response["calls"]] == [
        "Mom",
        "Neighbour",
        None,
    ]
    assert sorted(call.phone for call in simulator.calls.values()) == [
        "0223456789",
        "0912000001",
        "0933111222",
    ]
    assert {call.username for call in simulator.calls.values()} == {"test123"}


async def test_an_entity_that_is_no_contact(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """An entity picked that is not a contact is named; the contacts are called."""
    response = await _call(
        hass,
        message="Smoke!",
        entity_id=["notify.mom", "sensor.twsms_test123_points_used"],
    )
    assert response is not None
    assert response["invalid_targets"] == ["sensor.twsms_test123_points_used"]
    assert [call.phone for call in simulator.calls.values()] == ["0912000001"]


async def test_no_target_at_all(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """The action calls nobody by default: it needs a target of some kind."""
    with pytest.raises(ServiceValidationError) as raised:
        await _call(hass, message="Smoke!")
    assert raised.value.translation_key == "no_targets"


async def test_contacts_of_another_account(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    office_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """Picking a contact of another account than the one named calls nobody wrong."""
    response = await _call(
        hass,
        message="Smoke!",
        entity_id="notify.mom",
        target="0933111222",
        config_entry_id=office_entry.entry_id,
    )
    assert response is not None
    assert response["invalid_targets"] == ["Mom"]
    assert [(c.username, c.phone) for c in simulator.calls.values()] == [
        ("office", "0933111222")
    ]
