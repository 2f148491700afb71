"""Tests of following calls to their outcome: polling, status reports, restarts."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
    snapshot_platform,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.twsms_voice.const import (
    CONF_STATUS_CALLBACK,
    CONF_WEBHOOK_ID,
    DOMAIN,
    EVENT_CALL_FINISHED,
)
from custom_components.twsms_voice.twsms import TwsmsVoiceClient
from custom_components.twsms_voice.twsms.models import CallOutcome, CallStatus
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.core_config import async_process_ha_core_config
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from twsms_simulator import FaultKind, PhoneBehaviour, TwsmsSimulator

from .conftest import advance, until

LAST_CALL = "sensor.twsms_test123_last_call"
POINTS_USED = "sensor.twsms_test123_points_used"
MOM_LAST_CALL = "sensor.mom_last_call"
pytestmark = pytest.mark.usefixtures("calls_last_20_seconds")


async def notify(hass: HomeAssistant, target: str | list[str]) -> None:
    """Call ``target`` through notify.twsms_voice."""
    await hass.services.async_call(
        "notify", DOMAIN, {"message": "Smoke!", "target": target}, blocking=True
    )
    await hass.async_block_till_done()


def state_of(hass: HomeAssistant, entity_id: str) -> str:
    """Return an entity's state, which must exist."""
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state.state


def status_report(phone: str, playtime: int, status: str) -> dict[str, str]:
    """Return what TwSMS sends to a call's response URL for the first call."""
    return {
        "msgid": "8692325",
        "phone": phone,
        "playtime": str(playtime),
        "totalpoint": "2",
        "status": status,
    }


def queries(simulator: TwsmsSimulator) -> int:
    """Count query requests, leaving out the credential check at setup."""
    return len(
        [r for r in simulator.requests_to("query_voice") if r.params["msgid"] != "1"]
    )


@pytest.mark.parametrize(
    ("behaviour", "state", "duration"),
    [
        (PhoneBehaviour(status="FarEnd", playtime=17), "answered", 17),
        (PhoneBehaviour(status="NoAnswer"), "no_answer", 0),
        (PhoneBehaviour(status="Busy"), "busy", 0),
    ],
)
async def test_outcome_by_polling(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
    behaviour: PhoneBehaviour,
    state: str,
    duration: int,
) -> None:
    """A call is pending, then polled to its outcome; the event fires once."""
    events = async_capture_events(hass, EVENT_CALL_FINISHED)
    simulator.phones["0912000001"] = behaviour
    await notify(hass, "Mom")
    assert state_of(hass, LAST_CALL) == "pending"
    assert state_of(hass, MOM_LAST_CALL) == "pending"
    assert state_of(hass, POINTS_USED) == "2"

    # First asked 25 s after the message was read out (0.4 s for "Smoke!").
    await advance(hass, freezer, 25)
    assert queries(simulator) == 0  # the call cannot have ended yet
    await advance(hass, freezer, 1)
    assert queries(simulator) == 1
    assert state_of(hass, LAST_CALL) == state
    assert state_of(hass, MOM_LAST_CALL) == state
    attributes = hass.states.get(LAST_CALL).attributes  # type: ignore[union-attr]
    assert attributes["phone"] == "09*****001"
    assert (attributes["msgid"], attributes["duration"]) == (8692325, duration)
    assert [event.data for event in events] == [
        {
            "config_entry_id": loaded_entry.entry_id,
            "msgid": 8692325,
            "phone": "0912000001",
            "contact": "Mom",
            "contact_id": "01JTWSMSCONTACTMOM00000001",
            "status": state,
            "duration": duration,
            "points": 2,
            "error": None,
        }
    ]

    await advance(hass, freezer, 3600)
    assert queries(simulator) == 1  # nothing pending: no more requests
    assert len(events) == 1


async def test_polls_back_off_then_give_up(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """While the provider says 'not finished', queries thin out; after 10 min: unknown."""
    events = async_capture_events(hass, EVENT_CALL_FINISHED)
    simulator.outcome_delay = 24 * 3600
    await notify(hass, "0933111222")
    placed_at = dt_util.utcnow()
    asked_at: list[datetime] = []
    for _ in range(11 * 60):
        await advance(hass, freezer, 1)
        if queries(simulator) > len(asked_at):
            asked_at.append(dt_util.utcnow())
    offsets = [round((at - placed_at).total_seconds()) for at in asked_at]
    assert offsets == [26, 41, 56, 86, 146, 266, 386, 506, 600]
    assert state_of(hass, LAST_CALL) == "unknown"
    assert [event.data["status"] for event in events] == ["unknown"]


async def test_query_errors_keep_the_call_pending(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """A failed query is tried again later; a rejected password asks for a new one."""
    await notify(hass, "0933111222")
    simulator.add_fault(FaultKind.HTTP_500, endpoint="query_voice")
    await advance(hass, freezer, 26)
    assert state_of(hass, LAST_CALL) == "pending"
    simulator.add_fault(FaultKind.CODE, code=-3, endpoint="query_voice")
    await advance(hass, freezer, 15)
    assert state_of(hass, LAST_CALL) == "pending"
    (flow,) = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert flow["context"]["source"] == "reauth"
    await advance(hass, freezer, 15)
    assert state_of(hass, LAST_CALL) == "answered"


@pytest.fixture
async def external_url(hass: HomeAssistant) -> str:
    """Give Home Assistant an external URL, so status reports can be asked for."""
    url = "https://home.example.com"
    await async_process_ha_core_config(hass, {"external_url": url})
    return url


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_outcome_by_status_report(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    external_url: str,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
    hass_client_no_auth: ClientSessionGenerator,
    method: str,
) -> None:
    """The report settles the call at once; polling stops; repeats change nothing."""
    events = async_capture_events(hass, EVENT_CALL_FINISHED)
    await notify(hass, "Mom")
    webhook_path = f"/api/webhook/{loaded_entry.data[CONF_WEBHOOK_ID]}"
    (request,) = simulator.requests_to("send_voice")
    assert request.params["response"] == f"{external_url}{webhook_path}"

    report = status_report("0912000001", 21, "FarEnd")
    client = await hass_client_no_auth()
    for _ in range(2):  # the provider may report twice
        if method == "GET":
            response = await client.get(webhook_path, params=report)
        else:
            response = await client.post(webhook_path, data=report)
        assert response.status == 200
        await hass.async_block_till_done()
    assert state_of(hass, MOM_LAST_CALL) == "answered"
    assert [(e.data["status"], e.data["duration"]) for e in events] == [
        ("answered", 21)
    ]
    await advance(hass, freezer, 3600)
    assert queries(simulator) == 0
    assert len(events) == 1
    assert state_of(hass, POINTS_USED) == "2"


async def test_status_reports_that_are_ignored(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    external_url: str,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Unknown msgids and malformed reports leave the call to polling."""
    events = async_capture_events(hass, EVENT_CALL_FINISHED)
    await notify(hass, "0933111222")
    webhook_path = f"/api/webhook/{loaded_entry.data[CONF_WEBHOOK_ID]}"
    good = status_report("0933111222", 5, "FarEnd")
    client = await hass_client_no_auth()
    for report in (
        good | {"msgid": "999"},
        good | {"phone": "0987654321"},  # a forged report: the msgid, not the number
        good | {"status": "Hangup"},
        good | {"playtime": "-1"},
        {"msgid": "8692325"},
        {},
    ):
        response = await client.get(webhook_path, params=report)
        assert response.status == 200
        assert await response.text() == "OK"
    await hass.async_block_till_done()
    assert state_of(hass, LAST_CALL) == "pending"
    await advance(hass, freezer, 26)
    assert state_of(hass, LAST_CALL) == "answered"
    assert len(events) == 1


async def test_no_status_reports_when_turned_off(
    hass: HomeAssistant,
    external_url: str,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """With the option off, calls carry no response URL."""
    hass.config_entries.async_update_entry(
        loaded_entry, options={**loaded_entry.options, CONF_STATUS_CALLBACK: False}
    )
    await hass.config_entries.async_reload(loaded_entry.entry_id)
    await notify(hass, "0933111222")
    (request,) = simulator.requests_to("send_voice")
    assert "response" not in request.params


async def test_no_status_reports_without_external_url(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """Without a URL the provider could reach, calls carry no response URL."""
    await notify(hass, "0933111222")
    (request,) = simulator.requests_to("send_voice")
    assert "response" not in request.params


async def test_failed_call_is_recorded(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """A refused call shows as failed, with the reason, and costs nothing."""
    simulator.add_fault(FaultKind.CODE, code=-2)
    await notify(hass, "Mom")
    assert state_of(hass, MOM_LAST_CALL) == "failed"
    attributes = hass.states.get(MOM_LAST_CALL).attributes  # type: ignore[union-attr]
    assert "not enough points" in attributes["error"]
    assert state_of(hass, POINTS_USED) == "0"


async def test_no_queries_while_idle(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """With nothing pending the tracker makes no request at all."""
    requests = queries(simulator)
    for _ in range(24):
        await advance(hass, freezer, 3600)
        await hass.async_block_till_done(wait_background_tasks=True)
    assert queries(simulator) == requests  # (the daily account check aside)


async def test_pending_calls_survive_a_restart(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """Pending calls, last outcomes and points used are stored and resumed.

    The calls end 150 s after they were placed (on the test's clock): still under
    way when Home Assistant is back two minutes later, and asked about at once.
    """
    simulator.clock = lambda: dt_util.utcnow().timestamp()
    simulator.outcome_delay = 150
    events = async_capture_events(hass, EVENT_CALL_FINISHED)
    await notify(hass, ["Mom", "0933111222"])
    await loaded_entry.runtime_data.async_stop()  # what Home Assistant's stop does
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    await advance(hass, freezer, 120)
    assert queries(simulator) == 0  # nothing runs while stopped

    assert await hass.config_entries.async_setup(loaded_entry.entry_id)
    await advance(hass, freezer, 1)
    assert state_of(hass, POINTS_USED) == "4"
    assert state_of(hass, MOM_LAST_CALL) == "pending"
    assert queries(simulator) == 2  # overdue: both asked about at once
    for _ in range(6):
        await advance(hass, freezer, 10)
    assert state_of(hass, MOM_LAST_CALL) == "answered"
    assert sorted(event.data["phone"] for event in events) == [
        "0912000001",
        "0933111222",
    ]

    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert state_of(hass, MOM_LAST_CALL) == "answered"
    assert state_of(hass, POINTS_USED) == "4"


async def test_calls_from_a_previous_run_are_resumed(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    config_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """A call stored by a Home Assistant that stopped is followed after start."""
    simulator.outcome_delay = 0  # the call ended while Home Assistant was down
    placed = await _placed_call(simulator)
    stored_call = {
        "msgid": placed,
        "phone": "0912000001",
        "contact_id": "01JTWSMSCONTACTMOM00000001",
        "contact": "Mom",
        "placed_at": (dt_util.utcnow() - timedelta(minutes=2)).isoformat(),
        "state": "pending",
        "duration": None,
        "points": 2,
        "error": None,
        "polls": 0,
        "next_poll": (dt_util.utcnow() - timedelta(minutes=1)).isoformat(),
    }
    hass_storage[f"{DOMAIN}.{config_entry.entry_id}"] = {
        "version": 1,
        "key": f"{DOMAIN}.{config_entry.entry_id}",
        "data": {
            "points_used": 2,
            "pending": [stored_call],
            "last_call": stored_call,
            "last_call_by_contact": {"01JTWSMSCONTACTMOM00000001": stored_call},
        },
    }
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    await advance(hass, freezer, 0)
    assert queries(simulator) == 1
    assert state_of(hass, POINTS_USED) == "2"
    assert state_of(hass, LAST_CALL) == "answered"
    assert state_of(hass, MOM_LAST_CALL) == "answered"


async def _placed_call(simulator: TwsmsSimulator) -> int:
    """Place a call directly at the simulator, as a previous run would have."""
    import aiohttp  # noqa: PLC0415 - only this helper talks to it directly

    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{simulator.url}/send_voice.php",
            params={
                "username": "test123",
                "password": "1234test",
                "type": "1",
                "phone": "0912000001",
                "message": "Smoke!",
            },
        ) as response,
    ):
        return int((await response.text()).removeprefix("resp=").split(",")[0])


@pytest.mark.parametrize("platforms", [[Platform.SENSOR]])
async def test_sensor_entities(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """The account's and the contacts' sensors, as registered and as states."""
    await snapshot_platform(hass, entity_registry, snapshot, loaded_entry.entry_id)


async def test_wait_for_a_call_already_settled(
    hass: HomeAssistant,
    external_url: str,
    loaded_entry: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Waiting for a call that was reported already returns its outcome at once."""
    await notify(hass, "0933111222")
    client = await hass_client_no_auth()
    await client.get(
        f"/api/webhook/{loaded_entry.data[CONF_WEBHOOK_ID]}",
        params=status_report("0933111222", 9, "Busy"),
    )
    tracker = loaded_entry.runtime_data.tracker
    assert await tracker.async_wait(8692325, 60) == "busy"
    assert await tracker.async_wait(1234, 60) == "unknown"


async def test_removing_the_account_forgets_its_calls(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    loaded_entry: MockConfigEntry,
) -> None:
    """Deleting the entry deletes what its tracker stored."""
    await notify(hass, "0933111222")
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    key = f"{DOMAIN}.{loaded_entry.entry_id}"
    assert key in hass_storage
    await hass.config_entries.async_remove(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert key not in hass_storage


async def test_due_queries_go_out_together(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """Twenty calls due at once are all asked about at once, not one by one."""
    await notify(hass, [f"09330000{n:02d}" for n in range(20)])
    simulator.add_fault(FaultKind.HANG, times=20, endpoint="query_voice")
    freezer.tick(timedelta(seconds=26))
    async_fire_time_changed(hass)  # (waiting for the hung queries would never end)
    await until(lambda: queries(simulator) == 20)  # all under way together
    simulator.clear_faults()
    await hass.async_block_till_done()
    await advance(hass, freezer, 15)
    assert state_of(hass, LAST_CALL) == "answered"
    assert loaded_entry.runtime_data.tracker.pending_calls == []


async def test_two_calls_given_one_msgid(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """TwSMS answers two sends with the same msgid: the first still gets its event."""
    events = async_capture_events(hass, EVENT_CALL_FINISHED)
    simulator.add_fault(FaultKind.CODE, code=777, times=2, endpoint="send_voice")
    await notify(hass, "Mom")
    await notify(hass, "Neighbour")
    await advance(hass, freezer, 3600)
    assert [(event.data["contact"], event.data["status"]) for event in events] == [
        ("Mom", "unknown"),
        ("Neighbour", "unknown"),
    ]
    assert "message ID 777" in events[0].data["error"]


async def test_a_msgid_given_again_while_its_query_is_under_way(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """The answer about the first call does not end the newer call with its msgid.

    Each call ends once, with its own event: the first ``unknown`` (saying why), the
    newer one as its own query tells.
    """
    events = async_capture_events(hass, EVENT_CALL_FINISHED)
    simulator.add_fault(FaultKind.CODE, code=777, times=2, endpoint="send_voice")
    answer_now = asyncio.Event()
    asked: list[int] = []

    async def held_query(_: TwsmsVoiceClient, msgid: int) -> CallOutcome:
        asked.append(msgid)
        if len(asked) == 1:
            await answer_now.wait()
        return CallOutcome(
            msgid=msgid,
            phone="0223456789",
            seconds=9,
            points=2,
            status=CallStatus.ANSWERED,
        )

    with patch.object(TwsmsVoiceClient, "query_voice", held_query):
        await notify(hass, "Mom")
        freezer.tick(timedelta(seconds=60))
        async_fire_time_changed(hass)
        await until(lambda: len(asked) == 1)  # Mom's query is under way
        await hass.services.async_call(
            "notify",
            DOMAIN,
            {"message": "Smoke!", "target": "Neighbour"},
            blocking=True,
        )
        await until(lambda: len(events) == 1)
        answer_now.set()
        await advance(hass, freezer, 3600)
    outcomes = [(event.data["contact"], event.data["status"]) for event in events]
    assert outcomes == [("Mom", "unknown"), ("Neighbour", "answered")]
    assert "message ID 777" in events[0].data["error"]
    assert not loaded_entry.runtime_data.tracker.pending_calls


async def test_points_used_never_go_down(
    hass: HomeAssistant,
    external_url: str,
    loaded_entry: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """A report with fewer points than the send said leaves the total as it was."""
    await notify(hass, "0933111222")
    client = await hass_client_no_auth()
    report = status_report("0933111222", 9, "FarEnd") | {"totalpoint": "0"}
    await client.get(
        f"/api/webhook/{loaded_entry.data[CONF_WEBHOOK_ID]}", params=report
    )
    await hass.async_block_till_done()
    assert state_of(hass, POINTS_USED) == "2"
