"""Tests of the config flow: account, reauth, reconfigure, options and contacts."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.twsms_voice.config_flow import _api_url
from custom_components.twsms_voice.const import (
    CONF_ADVANCED,
    CONF_API_URL,
    CONF_CALLS_PER_HOUR,
    CONF_COOLDOWN,
    CONF_GIVE_UP_AFTER,
    CONF_MAX_QUEUE_AGE,
    CONF_PHONE,
    CONF_RATE_LIMIT,
    CONF_SPEED,
    CONF_STATUS_CALLBACK,
    CONF_VOICE,
    CONF_VOLUME,
    DOMAIN,
    SUBENTRY_CONTACT,
)
from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_NAME, CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from twsms_simulator import Account, FaultKind, TwsmsSimulator

from .conftest import PASSWORD, USERNAME


def _account_input(url: str, password: str = PASSWORD) -> dict[str, Any]:
    return {
        CONF_USERNAME: USERNAME,
        CONF_PASSWORD: password,
        CONF_ADVANCED: {CONF_API_URL: url},
    }


async def test_user_flow(hass: HomeAssistant, simulator: TwsmsSimulator) -> None:
    """A working account is added after a check that places no call."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _account_input(simulator.url)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == USERNAME
    assert result["data"] == {
        CONF_USERNAME: USERNAME,
        CONF_PASSWORD: PASSWORD,
        CONF_API_URL: simulator.url,
    }
    assert result["result"].unique_id == USERNAME
    assert simulator.calls == {}
    assert simulator.requests_to("send_voice") == []


@pytest.mark.parametrize(
    ("fault_code", "error"),
    [
        (-1, "ip_not_allowed"),
        (-2, "account_disabled"),
        (-3, "invalid_auth"),
        (-99, "unknown"),
    ],
)
async def test_user_flow_provider_errors(
    hass: HomeAssistant, simulator: TwsmsSimulator, fault_code: int, error: str
) -> None:
    """Each query error becomes its own form error; the user can then fix it."""
    simulator.add_fault(FaultKind.CODE, code=fault_code, endpoint="query_voice")
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _account_input(simulator.url)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _account_input(simulator.url)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_user_flow_wrong_password_for_real(
    hass: HomeAssistant, simulator: TwsmsSimulator
) -> None:
    """The simulator's own -3 for a wrong password shows invalid_auth."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _account_input(simulator.url, password="wrong")
    )
    assert result["errors"] == {"base": "invalid_auth"}


async def test_user_flow_connection_errors(
    hass: HomeAssistant, simulator: TwsmsSimulator, refused_url: str
) -> None:
    """Unreachable, non-TwSMS and non-HTTP API URLs are form errors."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    flow_id = result["flow_id"]
    for url, error in (
        (refused_url, "cannot_connect"),
        (f"{simulator.url}/not-twsms", "unexpected_reply"),
        ("ftp://example.com", "invalid_api_url"),
    ):
        result = await hass.config_entries.flow.async_configure(
            flow_id, _account_input(url)
        )
        assert result["errors"] == {"base": error}, url
    simulator.add_fault(FaultKind.GARBAGE)
    result = await hass.config_entries.flow.async_configure(
        flow_id, _account_input(simulator.url)
    )
    assert result["errors"] == {"base": "unexpected_reply"}


async def test_user_flow_duplicate(
    hass: HomeAssistant, config_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """One entry per username."""
    config_entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _account_input(simulator.url)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("api.twsms.com", "https://api.twsms.com"),
        ("https://api.twsms.com/", "https://api.twsms.com"),
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
        ("ftp://api.twsms.com", None),
        ("https://", None),
    ],
)
def test_api_url(typed: str, expected: str | None) -> None:
    """HTTPS unless the user types http://; other schemes are refused."""
    assert _api_url(typed) == expected


async def test_reauth(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """A new password is checked, stored and the entry reloaded with it."""
    simulator.accounts[USERNAME].password = "new-password"
    result = await loaded_entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_PASSWORD: "still-wrong", CONF_ADVANCED: {CONF_API_URL: simulator.url}},
    )
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_PASSWORD: "new-password", CONF_ADVANCED: {CONF_API_URL: simulator.url}},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert loaded_entry.data[CONF_PASSWORD] == "new-password"
    assert loaded_entry.data[CONF_USERNAME] == USERNAME
    assert loaded_entry.state is ConfigEntryState.LOADED


async def test_reconfigure(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
    refused_url: str,
) -> None:
    """The API URL and password can change; an unreachable URL is refused."""
    result = await loaded_entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_PASSWORD: PASSWORD, CONF_ADVANCED: {CONF_API_URL: refused_url}},
    )
    assert result["errors"] == {"base": "cannot_connect"}
    moved = TwsmsSimulator(accounts={USERNAME: Account(password="rotated")})
    new_url = await moved.start()
    try:
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {CONF_PASSWORD: "rotated", CONF_ADVANCED: {CONF_API_URL: new_url + "/"}},
        )
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "reconfigure_successful"
        await hass.async_block_till_done()
        assert loaded_entry.data[CONF_API_URL] == new_url
        assert loaded_entry.data[CONF_PASSWORD] == "rotated"
        assert loaded_entry.state is ConfigEntryState.LOADED
        assert len(moved.requests_to("query_voice")) == 2  # the check, then setup
    finally:
        await hass.config_entries.async_unload(loaded_entry.entry_id)
        await moved.stop()


async def test_options(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    """The call defaults are stored as whole numbers and the entry reloads."""
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    assert result["step_id"] == "init"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_VOICE: "female_3",
            CONF_SPEED: 3.0,
            CONF_VOLUME: 55.0,
            CONF_COOLDOWN: 0.0,
            CONF_GIVE_UP_AFTER: 15.0,
            CONF_MAX_QUEUE_AGE: 5.0,
            CONF_RATE_LIMIT: 20.0,
            CONF_CALLS_PER_HOUR: 100.0,
            CONF_STATUS_CALLBACK: False,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert loaded_entry.options == {
        CONF_VOICE: "female_3",
        CONF_SPEED: 3,
        CONF_VOLUME: 55,
        CONF_COOLDOWN: 0,
        CONF_GIVE_UP_AFTER: 15,
        CONF_MAX_QUEUE_AGE: 5,
        CONF_RATE_LIMIT: 20,
        CONF_CALLS_PER_HOUR: 100,
        CONF_STATUS_CALLBACK: False,
    }
    assert loaded_entry.state is ConfigEntryState.LOADED


async def test_add_contact(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    """A contact's number is normalised and checked; names and numbers are unique."""
    result = await hass.config_entries.subentries.async_init(
        (loaded_entry.entry_id, SUBENTRY_CONTACT), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    for contact, errors in (
        ({CONF_NAME: "Dad", CONF_PHONE: "12345"}, {CONF_PHONE: "invalid_phone"}),
        ({CONF_NAME: " ", CONF_PHONE: "0933 111 222"}, {CONF_NAME: "invalid_name"}),
        ({CONF_NAME: "mom", CONF_PHONE: "0933111222"}, {CONF_NAME: "name_exists"}),
        (
            {CONF_NAME: "Dad", CONF_PHONE: "+886 912 000 001"},
            {CONF_PHONE: "phone_exists"},
        ),
    ):
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"], contact
        )
        assert result["errors"] == errors, contact
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {CONF_NAME: "Dad", CONF_PHONE: "+886 933-111-222", CONF_VOLUME: 70.0},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    dad = next(s for s in loaded_entry.subentries.values() if s.title == "Dad")
    assert dict(dad.data) == {CONF_PHONE: "0933111222", CONF_VOLUME: 70}
    assert dad.unique_id == "0933111222"
    assert hass.states.get("notify.dad") is not None


async def test_edit_contact(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    """A contact keeps its own number and name when edited, and can change them."""
    mom = next(s for s in loaded_entry.subentries.values() if s.title == "Mom")
    started = await loaded_entry.start_subentry_reconfigure_flow(hass, mom.subentry_id)
    assert started["step_id"] == "reconfigure"
    result = await hass.config_entries.subentries.async_configure(
        started["flow_id"],
        {CONF_NAME: "Mother", CONF_PHONE: "0912000001", CONF_VOICE: "female_1"},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    mom = loaded_entry.subentries[mom.subentry_id]
    assert mom.title == "Mother"
    assert dict(mom.data) == {CONF_PHONE: "0912000001", CONF_VOICE: "female_1"}
