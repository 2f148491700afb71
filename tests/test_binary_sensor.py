"""Tests of the account's health sensors and the periodic account check."""

from __future__ import annotations

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    snapshot_platform,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from yarl import URL

from custom_components.twsms_voice.const import CONF_CHECK_EVERY, DOMAIN
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from twsms_simulator import FaultKind, TwsmsSimulator

from .conftest import advance

REACHABLE = "binary_sensor.twsms_test123_reachable"
PROBLEM = "binary_sensor.twsms_test123_account_problem"


def state_of(hass: HomeAssistant, entity_id: str) -> str:
    """Return an entity's state, which must exist."""
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state.state


def checks(simulator: TwsmsSimulator) -> int:
    """Count the credential checks (queries of msgid 1) the simulator received."""
    return len(
        [r for r in simulator.requests_to("query_voice") if r.params["msgid"] == "1"]
    )


async def test_reachable_follows_an_outage(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """Off while TwSMS cannot be reached, on again with the first good request."""
    assert state_of(hass, REACHABLE) == "on"
    port = URL(simulator.url).port
    await simulator.stop()
    await hass.services.async_call(
        "notify", DOMAIN, {"message": "Smoke!", "target": "Mom"}, blocking=True
    )
    await hass.async_block_till_done()
    assert state_of(hass, REACHABLE) == "off"
    await simulator.start("127.0.0.1", port or 0)
    await advance(hass, freezer, 5)
    assert state_of(hass, REACHABLE) == "on"
    assert len(simulator.calls) == 1


async def test_problem_follows_a_repair(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """On while a repair issue of the account is open; off once it is gone."""
    assert state_of(hass, PROBLEM) == "off"
    simulator.add_fault(FaultKind.CODE, code=-2, endpoint="send_voice")
    await hass.services.async_call(
        "notify", DOMAIN, {"message": "Smoke!", "target": "Mom"}, blocking=True
    )
    await hass.async_block_till_done()
    assert state_of(hass, PROBLEM) == "on"
    await hass.services.async_call(
        "notify", DOMAIN, {"message": "Again", "target": "Mom"}, blocking=True
    )
    await hass.async_block_till_done()
    assert state_of(hass, PROBLEM) == "off"


async def test_the_account_is_checked_on_quiet_days(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """One free check a day finds a disabled account before an alarm does."""
    assert checks(simulator) == 1  # at setup
    simulator.accounts["test123"].disabled = True
    await advance(hass, freezer, 23 * 3600)
    assert checks(simulator) == 1
    await advance(hass, freezer, 3601)
    await hass.async_block_till_done(wait_background_tasks=True)  # the check's task
    assert checks(simulator) == 2
    assert simulator.requests_to("send_voice") == []
    assert state_of(hass, PROBLEM) == "on"


async def test_no_check_when_turned_off(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    config_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """With the check off and nothing pending, not a single request, for days."""
    config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        config_entry, options={**config_entry.options, CONF_CHECK_EVERY: 0}
    )
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    requests = len(simulator.requests)
    for _ in range(7):
        await advance(hass, freezer, 24 * 3600)
    assert len(simulator.requests) == requests


@pytest.mark.parametrize("platforms", [[Platform.BINARY_SENSOR]])
async def test_entities(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """The account's two health sensors."""
    await snapshot_platform(hass, entity_registry, snapshot, loaded_entry.entry_id)


async def test_problem_follows_a_repair_fixed_in_home_assistant(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """The cap's fix flow removes its issue: the problem sensor turns off too."""
    assert await async_setup_component(hass, "repairs", {})
    hass.config_entries.async_update_entry(
        loaded_entry, options={**loaded_entry.options, "calls_per_hour": 1}
    )
    for message in ("one", "two"):
        await hass.services.async_call(
            DOMAIN,
            "call",
            {"target": "0933000001", "message": message},
            blocking=True,
            return_response=True,
        )
    assert state_of(hass, PROBLEM) == "on"
    client = await hass_client()
    flow = await (
        await client.post(
            "/api/repairs/issues/fix",
            json={
                "handler": DOMAIN,
                "issue_id": f"call_cap_reached_{loaded_entry.entry_id}",
            },
        )
    ).json()
    await client.post(
        f"/api/repairs/issues/fix/{flow['flow_id']}", json={"calls_per_hour": 10}
    )
    await hass.async_block_till_done()
    assert state_of(hass, PROBLEM) == "off"
