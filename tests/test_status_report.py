"""Tests of the account's webhook and the URL calls give TwSMS for reports."""

from __future__ import annotations

import logging
from typing import Any
from unittest.mock import AsyncMock, patch

from hypothesis import given, strategies as st
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.twsms_voice.const import (
    CONF_WEBHOOK_ID,
    DOMAIN,
    EVENT_CALL_FINISHED,
)
from custom_components.twsms_voice.status_report import MAX_REPORT_BYTES, read_report
from homeassistant.components import cloud
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.core_config import async_process_ha_core_config
from homeassistant.helpers.dispatcher import async_dispatcher_send
from twsms_simulator import FaultKind, TwsmsSimulator

CLOUDHOOK = "https://hooks.nabu.casa/abcdef"
REPORT = {
    "msgid": "8692325",
    "phone": "0933111222",
    "playtime": "7",
    "totalpoint": "2",
    "status": "FarEnd",
}


async def notify(hass: HomeAssistant, target: str = "0933111222") -> None:
    """Queue a call with notify.twsms_voice and let it be sent."""
    await hass.services.async_call(
        "notify", DOMAIN, {"message": "Smoke!", "target": target}, blocking=True
    )
    await hass.async_block_till_done()


def response_url(simulator: TwsmsSimulator) -> str | None:
    """Return the status report URL of the last call the simulator received."""
    return simulator.requests_to("send_voice")[-1].params.get("response")


@pytest.fixture
def cloud_state() -> dict[str, bool]:
    """Home Assistant Cloud with a subscription, not connected yet (as at boot)."""
    return {"connected": False}


@pytest.fixture
def home_assistant_cloud(hass: HomeAssistant, cloud_state: dict[str, bool]) -> Any:
    """Stand in for Home Assistant Cloud's helpers; return the cloudhook mocks."""
    hass.config.components.add("cloud")

    async def create(_: HomeAssistant, __: str) -> str:
        if not cloud_state["connected"]:
            raise cloud.CloudNotConnected
        return CLOUDHOOK

    with (
        patch.object(cloud, "async_active_subscription", return_value=True),
        patch.object(cloud, "async_is_logged_in", return_value=True),
        patch.object(
            cloud, "async_is_connected", side_effect=lambda _: cloud_state["connected"]
        ),
        patch.object(
            cloud, "async_get_or_create_cloudhook", side_effect=create
        ) as get_or_create,
        patch.object(cloud, "async_delete_cloudhook", AsyncMock()) as delete,
    ):
        yield get_or_create, delete


def cloud_connects(hass: HomeAssistant, cloud_state: dict[str, bool]) -> None:
    """Connect the cloud, as it does a little after every start."""
    cloud_state["connected"] = True
    async_dispatcher_send(
        hass,
        cloud.SIGNAL_CLOUD_CONNECTION_STATE,
        cloud.CloudConnectionState.CLOUD_CONNECTED,
    )


async def test_cloud_connecting_after_setup(
    hass: HomeAssistant,
    home_assistant_cloud: Any,
    cloud_state: dict[str, bool],
    config_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """Setup does not wait for the cloud: calls go at once, the cloudhook later."""
    get_or_create, delete = home_assistant_cloud
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.LOADED
    await notify(hass)
    assert len(simulator.calls) == 1
    assert response_url(simulator) is None  # no external URL: polling until then

    cloud_connects(hass, cloud_state)
    await hass.async_block_till_done()
    get_or_create.assert_called_once_with(hass, config_entry.data[CONF_WEBHOOK_ID])
    await notify(hass, "0944111222")
    assert response_url(simulator) == CLOUDHOOK

    await hass.config_entries.async_remove(config_entry.entry_id)
    await hass.async_block_till_done()
    delete.assert_called_once_with(hass, config_entry.data[CONF_WEBHOOK_ID])


async def test_cloud_connected_at_setup(
    hass: HomeAssistant,
    home_assistant_cloud: Any,
    cloud_state: dict[str, bool],
    config_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """With the cloud already there, the first call carries the cloudhook."""
    cloud_state["connected"] = True
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    await notify(hass)
    assert response_url(simulator) == CLOUDHOOK


async def test_cloud_going_away_falls_back_to_the_external_url(
    hass: HomeAssistant,
    home_assistant_cloud: Any,
    cloud_state: dict[str, bool],
    config_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """While the cloud is disconnected, reports go to the external URL."""
    await async_process_ha_core_config(hass, {"external_url": "https://home.example"})
    cloud_state["connected"] = True
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    cloud_state["connected"] = False
    async_dispatcher_send(
        hass,
        cloud.SIGNAL_CLOUD_CONNECTION_STATE,
        cloud.CloudConnectionState.CLOUD_DISCONNECTED,
    )
    await notify(hass)
    webhook_id = config_entry.data[CONF_WEBHOOK_ID]
    assert response_url(simulator) == f"https://home.example/api/webhook/{webhook_id}"


async def test_cloudhook_that_cannot_be_made(
    hass: HomeAssistant,
    home_assistant_cloud: Any,
    cloud_state: dict[str, bool],
    config_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """When the cloud refuses a cloudhook, calls go on without a report URL."""
    get_or_create, _ = home_assistant_cloud
    get_or_create.side_effect = cloud.CloudNotAvailable
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    cloud_connects(hass, cloud_state)
    await hass.async_block_till_done()
    await notify(hass)
    assert response_url(simulator) is None


@pytest.fixture
async def external_url(hass: HomeAssistant) -> str:
    """Give Home Assistant an external URL, so status reports can be asked for."""
    url = "https://home.example.com"
    await async_process_ha_core_config(hass, {"external_url": url})
    return url


async def test_no_webhook_id_in_any_log(
    hass: HomeAssistant,
    external_url: str,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
    hass_client_no_auth: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Debug logging of a call, a proxy's garbage, reports: our logs never show it."""
    caplog.set_level(logging.DEBUG)
    webhook_id = loaded_entry.data[CONF_WEBHOOK_ID]
    await notify(hass)
    simulator.add_fault(FaultKind.GARBAGE, endpoint="send_voice")  # echoes the URL
    await notify(hass, "0944111222")
    client = await hass_client_no_auth()
    for method, body in (("get", None), ("post", b"x" * 100_000), ("put", b"")):
        await client.request(
            method, f"/api/webhook/{webhook_id}", params=REPORT, data=body
        )
    await hass.async_block_till_done()
    assert response_url(simulator) == f"{external_url}/api/webhook/{webhook_id}"
    ours = [
        record.getMessage()
        for record in caplog.records
        if record.name.startswith("custom_components.twsms_voice")
    ]
    assert "Sending a call to 09*****222 (6 characters)" in ours  # debug was on
    assert not [line for line in ours if webhook_id in line]
    # Home Assistant's own webhook debug lines name it; nothing worse than debug.
    assert not [
        record
        for record in caplog.records
        if webhook_id in record.getMessage() and record.levelno > logging.INFO
    ]


async def test_a_huge_report_is_refused_unread(
    hass: HomeAssistant,
    external_url: str,
    loaded_entry: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A 16 MB body gets 413 at once, with no traceback and nothing settled."""
    events = async_capture_events(hass, EVENT_CALL_FINISHED)
    await notify(hass)
    client = await hass_client_no_auth()
    body = "&".join(f"{key}={value}" for key, value in REPORT.items())
    response = await client.post(
        f"/api/webhook/{loaded_entry.data[CONF_WEBHOOK_ID]}",
        data=(body + "&padding=" + "x" * 16_000_000).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status == 413
    assert "Traceback" not in caplog.text
    assert events == []


async def test_a_report_in_a_post_form(
    hass: HomeAssistant,
    external_url: str,
    loaded_entry: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """A POST form settles the call like a GET query."""
    events = async_capture_events(hass, EVENT_CALL_FINISHED)
    await notify(hass)
    client = await hass_client_no_auth()
    response = await client.post(
        f"/api/webhook/{loaded_entry.data[CONF_WEBHOOK_ID]}", data=REPORT
    )
    assert response.status == 200
    await hass.async_block_till_done()
    assert [(event.data["status"], event.data["duration"]) for event in events] == [
        ("answered", 7)
    ]


@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]),
    query=st.dictionaries(st.text(max_size=20), st.text(max_size=40), max_size=8),
    body=st.binary(max_size=2 * MAX_REPORT_BYTES),
)
def test_any_request_gets_an_answer(
    method: str, query: dict[str, str], body: bytes
) -> None:
    """Whatever arrives, the webhook answers with a status and never raises."""
    status, outcome = read_report(method, query, body)
    assert status in (200, 405, 413)
    if outcome is not None:
        assert status == 200
        assert outcome.msgid > 0


@given(
    msgid=st.integers(min_value=1, max_value=10**12),
    playtime=st.integers(min_value=0, max_value=3600),
    status=st.sampled_from(["FarEnd", "NoAnswer", "Busy"]),
    in_body=st.booleans(),
)
def test_every_well_formed_report_is_read(
    msgid: int, playtime: int, status: str, in_body: bool
) -> None:
    """A complete report is read, from the query or from a form."""
    report = REPORT | {
        "msgid": str(msgid),
        "playtime": str(playtime),
        "status": status,
    }
    form = "&".join(f"{key}={value}" for key, value in report.items()).encode()
    code, outcome = (
        read_report("POST", {}, form) if in_body else read_report("GET", report, b"")
    )
    assert code == 200
    assert outcome is not None
    assert (outcome.msgid, outcome.seconds) == (msgid, playtime)


async def test_cloud_gone_while_the_cloudhook_was_made(
    hass: HomeAssistant,
    home_assistant_cloud: Any,
    cloud_state: dict[str, bool],
    config_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """The cloud disconnects while its webhook is being made: it is not used."""
    get_or_create, _ = home_assistant_cloud

    async def create_then_drop(_: HomeAssistant, __: str) -> str:
        cloud_state["connected"] = False
        return CLOUDHOOK

    get_or_create.side_effect = create_then_drop
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    cloud_connects(hass, cloud_state)
    await hass.async_block_till_done()
    await notify(hass)
    assert response_url(simulator) is None
