"""Tests of notify.twsms_voice and the contacts' notify entities."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.twsms_voice.const import CONF_COOLDOWN, DOMAIN
from custom_components.twsms_voice.notify import async_get_service
from homeassistant.components.notify.const import (
    ATTR_MESSAGE,
    ATTR_TITLE,
    SERVICE_SEND_MESSAGE,
)
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.const import ATTR_ENTITY_ID, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
from twsms_simulator import FaultKind, TwsmsSimulator

NOTIFY = "notify"


async def _notify(hass: HomeAssistant, **data: Any) -> None:
    await hass.services.async_call(NOTIFY, DOMAIN, data, blocking=True)


def _sent(simulator: TwsmsSimulator) -> dict[str, dict[str, str]]:
    """Return the calls the simulator received, by phone number."""
    return {r.params["phone"]: r.params for r in simulator.requests_to("send_voice")}


async def test_numbers_and_contacts_with_data(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """Numbers and contact names mix; call data beats contact and account settings."""
    await _notify(
        hass,
        message="廚房偵測到煙霧，請立即確認。",
        title="火警",
        target=["+886 933-111-222", "mom"],
        data={"speed": 5},
    )
    sent = _sent(simulator)
    assert sent.keys() == {"0933111222", "0912000001"}
    number, mom = sent["0933111222"], sent["0912000001"]
    assert number["message"] == "火警\n廚房偵測到煙霧，請立即確認。"
    # account options: male_1 (4), volume 80; Mom: female_2 (2), speed -2
    assert (number["voice"], number["speed"], number["vol"]) == ("4", "5", "80")
    assert (mom["voice"], mom["speed"], mom["vol"]) == ("2", "5", "80")


async def test_no_target_calls_every_contact(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """Without a target every contact is called, each with their own settings."""
    await _notify(hass, message="Water leak in the bathroom")
    sent = _sent(simulator)
    assert sent.keys() == {"0912000001", "0223456789"}
    assert sent["0912000001"]["speed"] == "-2"
    assert sent["0223456789"]["speed"] == "0"


async def test_voice_data_and_recording(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """voice/volume by name, and voice_url switches to a recorded (type 2) call."""
    await _notify(
        hass,
        message="alarm",
        target="0933111222",
        data={"voice": "female_3", "volume": 30},
    )
    recording = f"{simulator.url}/_simulator/sample.wav"
    await _notify(
        hass, message="alarm", target="0944111222", data={"voice_url": recording}
    )
    sent = _sent(simulator)
    assert (sent["0933111222"]["voice"], sent["0933111222"]["vol"]) == ("3", "30")
    assert sent["0944111222"]["type"] == "2"
    assert sent["0944111222"]["voice_url"] == recording


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"target": "12345"}, "invalid_target"),
        ({"target": "0933111222", "data": {"voice": "robot"}}, "invalid_data"),
        ({"target": "0933111222", "data": {"speed": 11}}, "invalid_data"),
        ({"target": "0933111222", "data": {"volume": -1}}, "invalid_data"),
    ],
)
async def test_invalid_input(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
    data: dict[str, Any],
    key: str,
) -> None:
    """Bad targets and data are refused before any call, naming what is wrong."""
    with pytest.raises(ServiceValidationError) as raised:
        await _notify(hass, message="test", **data)
    assert raised.value.translation_key == key
    assert simulator.requests_to("send_voice") == []


async def test_no_contacts_and_no_target(
    hass: HomeAssistant, config_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """An account without contacts needs a target."""
    entry = MockConfigEntry(
        domain=DOMAIN, title="solo", unique_id="solo", data=dict(config_entry.data)
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    with pytest.raises(ServiceValidationError) as raised:
        await _notify(hass, message="test")
    assert raised.value.translation_key == "no_targets"
    assert str(raised.value) == (
        "No one to call: give a target, or add contacts to the account"
    )


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
    """Every send code becomes a translated error of the right kind."""
    simulator.add_fault(FaultKind.CODE, code=code)
    with pytest.raises(error) as raised:
        await _notify(hass, message="test", target="0933111222")
    assert type(raised.value) is error
    assert raised.value.translation_key == key
    assert raised.value.translation_domain == DOMAIN
    assert "{" not in str(raised.value)  # placeholders were filled in


async def test_recording_problems_found_by_the_provider(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """The provider fetches the recording; a wrong format names voice_url."""
    with pytest.raises(ServiceValidationError) as raised:
        await _notify(
            hass,
            message="alarm",
            target="0933111222",
            data={"voice_url": f"{simulator.url}/_simulator/cd-quality.wav"},
        )
    assert str(raised.value) == (
        "The file at voice_url must be WAVE, 8000 Hz, 8-bit, mono"
    )


async def test_passing_problems_do_not_fail_the_call(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """Connection trouble, nonsense replies and -99 queue the call; no error."""
    simulator.add_fault(FaultKind.HTTP_500)
    await _notify(hass, message="test", target="0933111222")
    simulator.add_fault(FaultKind.GARBAGE)
    await _notify(hass, message="other test", target="0933111222")
    simulator.add_fault(FaultKind.CODE, code=-99)
    await _notify(hass, message="third test", target="0933111222")
    assert len(loaded_entry.runtime_data.placer.queue.queued_calls) == 3
    assert simulator.calls == {}


async def test_wrong_password_starts_reauth(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """Send code -4 fails the call and asks for a new password."""
    simulator.add_fault(FaultKind.CODE, code=-4)
    with pytest.raises(HomeAssistantError) as raised:
        await _notify(hass, message="test", target="0933111222")
    assert raised.value.translation_key == "authentication_failed"
    await hass.async_block_till_done()
    (flow,) = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert flow["context"]["source"] == SOURCE_REAUTH


async def test_one_bad_number_does_not_stop_the_others(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """Each number is tried; the failure is raised after the others were called."""
    simulator.add_fault(FaultKind.CODE, code=-8)  # the first request fails
    with pytest.raises(ServiceValidationError):
        await _notify(hass, message="test", target=["0933111222", "0944111222"])
    assert len(simulator.calls) == 1
    assert len(simulator.requests_to("send_voice")) == 2


async def test_several_failures_are_reported_together(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """Two failed numbers give one error that lists both."""
    simulator.add_fault(FaultKind.CODE, code=-8, times=2)
    with pytest.raises(HomeAssistantError) as raised:
        await _notify(hass, message="test", target=["0933111222", "0944111222", "mom"])
    assert raised.value.translation_key == "calls_failed"
    message = str(raised.value)
    assert message.startswith("2 of 3 calls failed: ")
    assert message.count("was rejected: it is not a valid number") == 2
    assert len(simulator.calls) == 1


async def test_duplicate_calls_are_suppressed(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """The same message to the same number within the cooldown is placed once."""
    for _ in range(3):
        await _notify(hass, message="Smoke!", target="0933111222")
    await _notify(hass, message="Smoke in the garage!", target="0933111222")
    assert len(simulator.calls) == 2
    assert loaded_entry.runtime_data.placer.suppressed_calls == 2


async def test_failed_calls_are_not_suppressed(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """A call that failed can be tried again at once."""
    simulator.add_fault(FaultKind.CODE, code=-2)
    with pytest.raises(HomeAssistantError):
        await _notify(hass, message="Smoke!", target="0933111222")
    await _notify(hass, message="Smoke!", target="0933111222")
    assert len(simulator.calls) == 1


async def test_cooldown_zero_places_every_call(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """A cooldown of 0 turns suppression off."""
    hass.config_entries.async_update_entry(
        loaded_entry, options={**loaded_entry.options, CONF_COOLDOWN: 0}
    )
    await hass.async_block_till_done()
    for _ in range(2):
        await _notify(hass, message="Smoke!", target="0933111222")
    assert len(simulator.calls) == 2


async def test_contact_entity(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """notify.send_message on a contact calls them, title first, in their voice."""
    await hass.services.async_call(
        NOTIFY,
        SERVICE_SEND_MESSAGE,
        {ATTR_ENTITY_ID: "notify.mom", ATTR_MESSAGE: "前門已開啟", ATTR_TITLE: "保全"},
        blocking=True,
    )
    (request,) = simulator.requests_to("send_voice")
    assert request.params["phone"] == "0912000001"
    assert request.params["message"] == "保全\n前門已開啟"
    assert (request.params["voice"], request.params["speed"]) == ("2", "-2")
    state = hass.states.get("notify.mom")
    assert state is not None
    assert state.state != "unknown"  # the time of the last message


async def test_contact_entity_failure(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """A failed call through the entity raises."""
    simulator.add_fault(FaultKind.CODE, code=-2)
    with pytest.raises(HomeAssistantError, match="not enough points"):
        await hass.services.async_call(
            NOTIFY,
            SERVICE_SEND_MESSAGE,
            {ATTR_ENTITY_ID: "notify.neighbour", ATTR_MESSAGE: "test"},
            blocking=True,
        )


@pytest.mark.parametrize("platforms", [[Platform.NOTIFY]])
async def test_entities(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """The contacts' notify entities, as registered and as states."""
    await snapshot_platform(hass, entity_registry, snapshot, loaded_entry.entry_id)


async def test_legacy_service_only_for_loaded_entries(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    """YAML set-ups and entries that are not loaded get no notify service."""
    config_entry.add_to_hass(hass)
    assert await async_get_service(hass, {}, None) is None
    info = {"name": DOMAIN, "entry_id": config_entry.entry_id}
    assert await async_get_service(hass, {}, info) is None
    assert await async_get_service(hass, {}, info | {"entry_id": "gone"}) is None
