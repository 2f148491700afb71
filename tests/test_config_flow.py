"""Tests of the config flow: account, reauth, reconfigure, options and contacts."""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

from hypothesis import given, strategies as st
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from yarl import URL

from custom_components.twsms_voice.config_flow import _api_url
from custom_components.twsms_voice.const import (
    CONF_ADVANCED,
    CONF_API_URL,
    CONF_CALLS_PER_HOUR,
    CONF_CHECK_EVERY,
    CONF_COOLDOWN,
    CONF_GIVE_UP_AFTER,
    CONF_MAX_QUEUE_AGE,
    CONF_MIN_LISTENING,
    CONF_PHONE,
    CONF_RATE_LIMIT,
    CONF_SPEED,
    CONF_STATUS_CALLBACK,
    CONF_VOICE,
    CONF_VOLUME,
    CONF_WEBHOOK_ID,
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
    data = dict(result["data"])
    webhook_id = data.pop(CONF_WEBHOOK_ID)
    assert data == {
        CONF_USERNAME: USERNAME,
        CONF_PASSWORD: PASSWORD,
        CONF_API_URL: simulator.url,
    }
    assert len(webhook_id) >= 32  # made once, here, for the life of the entry
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
        ("https://[::1", None),
        ("https://api.twsms.com:99999", None),
        ("https://api.twsms.com:0", None),
        ("https://api.twsms.com:port", None),
        ("http://[::1]:8765", "http://[::1]:8765"),
    ],
)
def test_api_url(typed: str, expected: str | None) -> None:
    """HTTPS unless the user types http://; other schemes are refused."""
    assert _api_url(typed) == expected


@given(st.text(max_size=60))
def test_any_typed_api_url_is_a_url_or_refused(typed: str) -> None:
    """Whatever is typed, the field gives an http(s) URL or None, never an error."""
    url = _api_url(typed)
    if url is not None:
        assert url.startswith(("http://", "https://"))
        assert URL(url).host


@pytest.mark.parametrize("typed", ["https://[::1", "http://127.0.0.1:99999"])
async def test_broken_api_urls_are_form_errors(
    hass: HomeAssistant, simulator: TwsmsSimulator, typed: str
) -> None:
    """URLs yarl cannot even parse are a form error, not an HTTP 500."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _account_input(typed)
    )
    assert result["errors"] == {"base": "invalid_api_url"}


async def test_unexpected_error_is_a_form_error(
    hass: HomeAssistant, simulator: TwsmsSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug while checking the account shows "unknown", with the traceback logged."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    with patch(
        "custom_components.twsms_voice.config_flow.async_check_credentials",
        side_effect=RuntimeError("boom"),
    ):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], _account_input(simulator.url)
        )
    assert result["errors"] == {"base": "unknown"}
    assert "RuntimeError: boom" in caplog.text


async def test_reauth(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """A new password is checked, stored and the entry reloaded with it."""
    webhook_id = loaded_entry.data[CONF_WEBHOOK_ID]
    simulator.accounts[USERNAME].password = "new-password"
    result = await loaded_entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    schema = result["data_schema"]
    assert schema is not None
    assert list(schema.schema) == [CONF_PASSWORD]  # nothing else
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_PASSWORD: "still-wrong"},
    )
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PASSWORD: "new-password"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert loaded_entry.data[CONF_PASSWORD] == "new-password"
    assert loaded_entry.data[CONF_USERNAME] == USERNAME
    assert loaded_entry.data[CONF_WEBHOOK_ID] == webhook_id
    assert loaded_entry.state is ConfigEntryState.LOADED


async def test_reauth_after_a_failed_setup_loads_the_entry(
    hass: HomeAssistant, config_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """Setup failed on the password; after reauth the entry is loaded, no restart.

    No update listener exists after a failed setup: the flow itself reloads.
    """
    simulator.accounts[USERNAME].password = "new-password"
    config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.SETUP_ERROR
    (flow,) = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    result: Any = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {CONF_PASSWORD: "new-password"}
    )
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    # (read again: mypy still believes the setup_error asserted above)
    entry = hass.config_entries.async_get_known_entry(config_entry.entry_id)
    assert entry.state is ConfigEntryState.LOADED
    assert hass.services.has_service("notify", DOMAIN)
    assert config_entry.update_listeners == []  # nothing Home Assistant deprecates


async def test_reconfigure(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
    refused_url: str,
) -> None:
    """The API URL and password can change; an unreachable URL is refused."""
    webhook_id = loaded_entry.data[CONF_WEBHOOK_ID]
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
        assert loaded_entry.data[CONF_WEBHOOK_ID] == webhook_id
        assert loaded_entry.state is ConfigEntryState.LOADED
        # The flow's check; the reload that follows needs none of its own.
        assert len(moved.requests_to("query_voice")) == 1
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
            CONF_MIN_LISTENING: 5.0,
            CONF_CHECK_EVERY: 0.0,
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
        CONF_MIN_LISTENING: 5,
        CONF_CHECK_EVERY: 0,
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
            {CONF_NAME: "0933 111 222", CONF_PHONE: "0933111222"},
            {CONF_NAME: "name_is_a_number"},
        ),
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
    # Added without a reload: the account's entities were never unavailable.
    assert hass.states.get("notify.dad") is not None
    assert hass.states.get("sensor.dad_last_call") is not None
    assert loaded_entry.state is ConfigEntryState.LOADED


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
