"""Tests of notify.twsms_voice and the contacts' notify entities."""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.twsms_voice.const import (
    CONF_CALLS_PER_HOUR,
    CONF_COOLDOWN,
    DOMAIN,
    EVENT_CALL_FINISHED,
)
from custom_components.twsms_voice.notify import async_get_service
from homeassistant.components.notify import (
    ATTR_MESSAGE,
    ATTR_TITLE,
    SERVICE_SEND_MESSAGE,
    BaseNotificationService,
)
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryDisabler
from homeassistant.const import ATTR_ENTITY_ID, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
from twsms_simulator import FaultKind, TwsmsSimulator

from .conftest import queued_calls

NOTIFY = "notify"


async def _notify(hass: HomeAssistant, **data: Any) -> None:
    """Call notify.twsms_voice, then let the calls it queued be sent."""
    try:
        await hass.services.async_call(NOTIFY, DOMAIN, data, blocking=True)
    finally:
        await hass.async_block_till_done()


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


async def test_invalid_target(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """A target that is neither a number nor a contact is refused, named."""
    with pytest.raises(ServiceValidationError) as raised:
        await _notify(hass, message="test", target="12345")
    assert raised.value.translation_key == "invalid_target"
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


async def test_provider_refusals_end_in_the_event_not_in_the_action(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """Notify is fire-and-forget: a number TwSMS rejects fails in the event.

    (twsms_voice.call, which waits, raises it: see test_services.)
    """
    events = async_capture_events(hass, EVENT_CALL_FINISHED)
    simulator.add_fault(FaultKind.CODE, code=-8)
    await _notify(hass, message="test", target="0933111222")
    (event,) = events
    assert event.data["status"] == "failed"
    assert event.data["error"] == (
        "The phone number 0933111222 was rejected: it is not a valid number"
    )
    state = hass.states.get("sensor.twsms_test123_last_call")
    assert state is not None
    assert state.attributes["error"] == (
        "The phone number 09*****222 was rejected: it is not a valid number"
    )


async def test_notify_returns_once_the_calls_are_stored(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """A slow provider does not hold the automation: the call goes on behind it."""
    simulator.add_fault(FaultKind.HANG, endpoint="send_voice")
    async with asyncio.timeout(5):
        await hass.services.async_call(
            NOTIFY, DOMAIN, {"message": "Smoke!", "target": "0933111222"}, blocking=True
        )
    assert queued_calls(loaded_entry) == 1  # stored, and on its way
    async with asyncio.timeout(5):
        while not simulator.requests_to("send_voice"):
            await asyncio.sleep(0.01)
    simulator.clear_faults()  # the provider drops the request unanswered
    await hass.async_block_till_done()
    assert queued_calls(loaded_entry) == 1  # to be tried again
    assert simulator.calls == {}


async def test_passing_problems_do_not_fail_the_call(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """Connection trouble, nonsense replies and -99 queue the call; no error."""
    simulator.add_fault(FaultKind.HTTP_500)
    await _notify(hass, message="test", target="0933111222")
    simulator.add_fault(FaultKind.GARBAGE)
    await _notify(hass, message="other test", target="0933111222")
    simulator.add_fault(FaultKind.CODE, code=-99)
    await _notify(hass, message="third test", target="0933111222")
    assert queued_calls(loaded_entry) == 3
    assert simulator.calls == {}


async def test_wrong_password_starts_reauth(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """Send code -4 fails the call and asks for a new password."""
    events = async_capture_events(hass, EVENT_CALL_FINISHED)
    simulator.add_fault(FaultKind.CODE, code=-4)
    await _notify(hass, message="test", target="0933111222")
    assert [event.data["status"] for event in events] == ["failed"]
    (flow,) = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert flow["context"]["source"] == SOURCE_REAUTH


async def test_one_invalid_number_does_not_stop_the_others(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """Every valid target is called; then the action fails naming the invalid ones."""
    with pytest.raises(ServiceValidationError) as raised:
        await _notify(
            hass, message="test", target=["0933111222", "12345", "Mom", "Dad"]
        )
    assert raised.value.translation_key == "invalid_target"
    assert str(raised.value) == (
        "Not called: 12345, Dad: neither a contact of this account nor a valid "
        "phone number. Every other target was called"
    )
    assert sorted(call.phone for call in simulator.calls.values()) == [
        "0912000001",
        "0933111222",
    ]


async def test_notify_group_data_for_other_services_is_ignored(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """A notify group passes the mobile app's data too: the call is still placed."""
    await _notify(
        hass,
        message="Smoke!",
        target="0933111222",
        data={"push": {"sound": "alarm.caf"}, "ttl": 0, "priority": "high", "speed": 2},
    )
    (request,) = simulator.requests_to("send_voice")
    assert request.params["speed"] == "2"


async def test_notify_data_a_call_cannot_use_does_not_stop_it(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Values of our keys meant for others (a group's media player) are dropped.

    `volume: 0.5` is not read as 0 (a silent call); the call goes out with the
    account's settings and a warning for each value left out.
    """
    await _notify(
        hass,
        message="Smoke!",
        target="0933111222",
        data={
            "volume": 0.5,
            "speed": 11,
            "voice": "Joanna",
            "tts": True,
            "priority": "high",
            "tts_language": "en",
        },
    )
    (request,) = simulator.requests_to("send_voice")
    assert (request.params["vol"], request.params["speed"]) == ("80", "0")
    assert request.params["voice"] == "4"  # the account's male_1
    warned = {
        record.args[0]  # type: ignore[index]
        for record in caplog.records
        if record.levelno == logging.WARNING
        and record.msg.startswith("Calling without notify data")
    }
    assert warned == {"volume", "speed", "voice", "tts"}  # the app's priority: debug


async def test_private_notify_hook_still_exists() -> None:
    """notify.py overrides this private method to learn who called.

    If Home Assistant renames it, calls still work, but the hourly cap's repair
    could no longer name the automation: this test says so first.
    """
    assert callable(BaseNotificationService._async_notify_message_service)  # noqa: SLF001


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
    await hass.async_block_till_done()
    (request,) = simulator.requests_to("send_voice")
    assert request.params["phone"] == "0912000001"
    assert request.params["message"] == "保全\n前門已開啟"
    assert (request.params["voice"], request.params["speed"]) == ("2", "-2")
    state = hass.states.get("notify.mom")
    assert state is not None
    assert state.state != "unknown"  # the time of the last message


async def test_contact_entity_refusal(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """A call refused before any request (the hourly cap) fails the action."""
    hass.config_entries.async_update_entry(
        loaded_entry, options={**loaded_entry.options, CONF_CALLS_PER_HOUR: 1}
    )
    await hass.config_entries.async_reload(loaded_entry.entry_id)
    for message, raised in (("first", None), ("second", HomeAssistantError)):
        if raised is None:
            await _send_message(hass, "notify.neighbour", message)
            continue
        with pytest.raises(raised, match="cap of calls per hour is reached"):
            await _send_message(hass, "notify.neighbour", message)
    assert len(simulator.calls) == 1


async def _send_message(hass: HomeAssistant, entity_id: str, message: str) -> None:
    await hass.services.async_call(
        NOTIFY,
        SERVICE_SEND_MESSAGE,
        {ATTR_ENTITY_ID: entity_id, ATTR_MESSAGE: message},
        blocking=True,
    )
    await hass.async_block_till_done()


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


async def test_service_names_stay_with_their_accounts(
    hass: HomeAssistant, office_entry: MockConfigEntry, loaded_entry: MockConfigEntry
) -> None:
    """Disabling the oldest account does not hand its name to another one."""
    assert await hass.config_entries.async_set_disabled_by(
        loaded_entry.entry_id, ConfigEntryDisabler.USER
    )
    assert await hass.config_entries.async_reload(office_entry.entry_id)
    await hass.async_block_till_done()
    assert not hass.services.has_service(NOTIFY, DOMAIN)
    assert hass.services.has_service(NOTIFY, f"{DOMAIN}_office")
    assert await hass.config_entries.async_set_disabled_by(loaded_entry.entry_id, None)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_reload(office_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.services.has_service(NOTIFY, DOMAIN)
    assert hass.services.has_service(NOTIFY, f"{DOMAIN}_office")


async def test_a_cancelled_notify_still_queues_every_call(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """An automation restarted while a long list is being queued: all are called.

    And the same alarm again is suppressed only for the numbers really called.
    """
    targets = [f"09330000{n:02d}" for n in range(60)]
    hass.config_entries.async_update_entry(
        loaded_entry, options={**loaded_entry.options, CONF_CALLS_PER_HOUR: 200}
    )
    task = hass.async_create_task(
        hass.services.async_call(
            NOTIFY, DOMAIN, {"message": "Fire!", "target": targets}, blocking=True
        ),
        eager_start=False,
    )
    placer = loaded_entry.runtime_data.placer
    checked = 0
    real_refusal = placer._refusal  # noqa: SLF001

    def refusal_then_cancel(*args: Any, **kwargs: Any) -> Any:
        nonlocal checked
        checked += 1
        if checked == 10:  # the automation restarts while the list is worked on
            task.cancel()
        return real_refusal(*args, **kwargs)

    with patch.object(placer, "_refusal", refusal_then_cancel):
        with pytest.raises(asyncio.CancelledError):
            await task
        await hass.async_block_till_done()
    assert len(simulator.calls) == 60
    assert loaded_entry.runtime_data.placer._calls_this_hour() == 60  # noqa: SLF001
