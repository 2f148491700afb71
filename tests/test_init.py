"""Tests of setting up and unloading an account."""

from __future__ import annotations

from freezegun.api import FrozenDateTimeFactory
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.twsms_voice.const import DOMAIN
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from twsms_simulator import FaultKind, TwsmsSimulator

from .conftest import advance

NOTIFY = "notify"


async def test_setup_and_unload(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """Setup checks the account without a call; unload removes service and entities."""
    assert simulator.calls == {}
    assert [r.params["msgid"] for r in simulator.requests_to("query_voice")] == ["1"]
    assert hass.services.has_service(NOTIFY, DOMAIN)
    assert hass.states.get("notify.mom") is not None
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, loaded_entry.entry_id), loaded_entry.entry_id
    )
    assert device is not None
    assert device.name == "TwSMS test123"

    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert loaded_entry.state is ConfigEntryState.NOT_LOADED
    assert not hass.services.has_service(NOTIFY, DOMAIN)
    state = hass.states.get("notify.mom")
    assert state is not None
    assert state.state == "unavailable"


async def test_wrong_password_starts_reauth(
    hass: HomeAssistant, config_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """A rejected password fails setup and asks the user for a new one."""
    simulator.accounts[config_entry.data["username"]].password = "changed"
    config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.SETUP_ERROR
    (flow,) = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert flow["context"]["source"] == SOURCE_REAUTH


async def test_provider_unreachable_at_start(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """TwSMS down at start: the account loads anyway and queues calls until it is back."""
    simulator.add_fault(FaultKind.HTTP_500, times=2)  # the check, then the first send
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.LOADED
    await hass.services.async_call(
        NOTIFY, DOMAIN, {"message": "Smoke!", "target": "0933111222"}, blocking=True
    )
    await hass.async_block_till_done()
    assert len(simulator.requests_to("send_voice")) == 1
    assert simulator.calls == {}
    await advance(hass, freezer, 10)
    assert [call.phone for call in simulator.calls.values()] == ["0933111222"]


async def test_disabled_account_retries(
    hass: HomeAssistant, config_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """Provider-side account problems keep the entry retrying, not failing for good."""
    simulator.add_fault(FaultKind.CODE, code=-2)
    config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.SETUP_RETRY


async def test_service_names_with_two_accounts(
    hass: HomeAssistant, office_entry: MockConfigEntry
) -> None:
    """The oldest account keeps notify.twsms_voice; others are named after theirs."""
    assert hass.services.has_service(NOTIFY, DOMAIN)
    assert hass.services.has_service(NOTIFY, f"{DOMAIN}_office")

    assert await hass.config_entries.async_unload(office_entry.entry_id)
    assert hass.services.has_service(NOTIFY, DOMAIN)
    assert not hass.services.has_service(NOTIFY, f"{DOMAIN}_office")
