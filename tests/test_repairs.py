"""Tests of the repair issues raised for account problems, and their removal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.twsms_voice.const import DOMAIN
from custom_components.twsms_voice.placer import _caller
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from twsms_simulator import FaultKind, TwsmsSimulator

from .conftest import advance

STRINGS = Path(__file__).parent.parent / "custom_components/twsms_voice/strings.json"
ENTRY_ID = "01JTWSMSVOICEACCOUNT0000001"


async def notify(hass: HomeAssistant, message: str = "Smoke!") -> None:
    """Call one number and wait for the attempt, ignoring whether it worked."""
    await hass.services.async_call(
        DOMAIN,
        "call",
        {"target": "0933000001", "message": message},
        blocking=True,
        return_response=True,
    )


def issue_ids(issue_registry: ir.IssueRegistry) -> set[str]:
    """Return the ids of this integration's open issues."""
    return {issue_id for domain, issue_id in issue_registry.issues if domain == DOMAIN}


def account_issue(kind: str) -> str:
    """Return the id of an issue of the test account (ids carry the entry id)."""
    return f"{kind}_{ENTRY_ID}"


@pytest.mark.parametrize(
    ("code", "endpoint", "issue_id"),
    [
        (-1, "send_voice", "ip_not_allowed"),
        (-2, "send_voice", "insufficient_points"),
        (-3, "send_voice", "account_disabled"),
    ],
)
async def test_issue_raised_then_cleared(
    hass: HomeAssistant,
    issue_registry: ir.IssueRegistry,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
    code: int,
    endpoint: str,
    issue_id: str,
) -> None:
    """The provider's code raises the issue; the next good request removes it."""
    simulator.add_fault(FaultKind.CODE, code=code, endpoint=endpoint)
    await notify(hass)
    assert issue_ids(issue_registry) == {account_issue(issue_id)}
    issue = issue_registry.async_get_issue(DOMAIN, account_issue(issue_id))
    assert issue is not None
    assert issue.translation_key == issue_id
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_placeholders == {"account": "test123"}
    strings = json.loads(STRINGS.read_text(encoding="utf-8"))
    assert "{account}" in strings["issues"][issue_id]["description"]

    await notify(hass, message="again")
    assert issue_ids(issue_registry) == set()


@pytest.mark.parametrize(
    ("code", "issue_id"), [(-1, "ip_not_allowed"), (-2, "account_disabled")]
)
async def test_query_codes_raise_issues(
    hass: HomeAssistant,
    issue_registry: ir.IssueRegistry,
    config_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
    code: int,
    issue_id: str,
) -> None:
    """Query -1 and -2 (as at setup) raise theirs; the retried setup clears them."""
    simulator.add_fault(FaultKind.CODE, code=code, endpoint="query_voice")
    config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    assert issue_ids(issue_registry) == {account_issue(issue_id)}
    await hass.config_entries.async_reload(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.LOADED
    assert issue_ids(issue_registry) == set()


async def test_repeated_system_errors(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    issue_registry: ir.IssueRegistry,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """Three -99 in a row raise a warning; the call then goes through and clears it."""
    simulator.add_fault(FaultKind.CODE, code=-99, times=3, endpoint="send_voice")
    await hass.services.async_call(
        "notify", DOMAIN, {"message": "Smoke!", "target": "0933000001"}, blocking=True
    )
    await hass.async_block_till_done()
    await advance(hass, freezer, 2)
    assert issue_ids(issue_registry) == set()
    await advance(hass, freezer, 4)
    issue = issue_registry.async_get_issue(DOMAIN, account_issue("provider_errors"))
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.WARNING
    await advance(hass, freezer, 8)
    assert len(simulator.calls) == 1
    assert issue_ids(issue_registry) == set()


async def test_connection_errors_leave_issues_alone(
    hass: HomeAssistant,
    issue_registry: ir.IssueRegistry,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """A request that never reached the provider neither raises nor clears issues."""
    simulator.add_fault(FaultKind.CODE, code=-2)
    await notify(hass)
    simulator.down = 500
    await hass.services.async_call(
        "notify", DOMAIN, {"message": "again", "target": "0933000001"}, blocking=True
    )
    await hass.async_block_till_done()
    assert issue_ids(issue_registry) == {account_issue("insufficient_points")}


async def test_each_account_has_its_own_issues(
    hass: HomeAssistant,
    issue_registry: ir.IssueRegistry,
    office_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """Two accounts out of points: two issues; one topped up clears only its own."""
    simulator.add_fault(FaultKind.CODE, code=-2, times=2, endpoint="send_voice")
    await _call(hass, "0933000001", "Smoke!", config_entry_id=ENTRY_ID)
    await hass.services.async_call(
        DOMAIN,
        "call",
        {
            "target": "0933000001",
            "message": "Smoke!",
            "config_entry_id": office_entry.entry_id,
        },
        blocking=True,
        return_response=True,
    )
    office_issue = f"insufficient_points_{office_entry.entry_id}"
    assert issue_ids(issue_registry) == {
        account_issue("insufficient_points"),
        office_issue,
    }
    office = issue_registry.async_get_issue(DOMAIN, office_issue)
    assert office is not None
    assert office.translation_placeholders == {"account": "office"}
    await _call(hass, "0933000001", "again", config_entry_id=ENTRY_ID)
    assert issue_ids(issue_registry) == {office_issue}


async def test_wrong_credentials_start_reauth_not_an_issue(
    hass: HomeAssistant,
    issue_registry: ir.IssueRegistry,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """Send -4 asks for the password again instead of raising an issue."""
    simulator.add_fault(FaultKind.CODE, code=-4)
    await notify(hass)
    await hass.async_block_till_done()
    (flow,) = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert flow["context"]["source"] == SOURCE_REAUTH
    assert issue_ids(issue_registry) == set()


async def test_removed_account_takes_its_issues(
    hass: HomeAssistant,
    issue_registry: ir.IssueRegistry,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """Deleting the account deletes its issues."""
    simulator.add_fault(FaultKind.CODE, code=-3)
    await notify(hass)
    assert issue_ids(issue_registry) == {account_issue("account_disabled")}
    await hass.config_entries.async_remove(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert issue_ids(issue_registry) == set()


async def _cap_of(hass: HomeAssistant, entry: MockConfigEntry, cap: int) -> None:
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "calls_per_hour": cap}
    )
    await hass.async_block_till_done()


async def _call(
    hass: HomeAssistant, target: str, message: str, **data: Any
) -> dict[str, Any]:
    response: Any = await hass.services.async_call(
        DOMAIN,
        "call",
        {"target": target, "message": message} | data,
        blocking=True,
        return_response=True,
        context=data.pop("context", None),
    )
    return dict(response["calls"][0])


async def test_call_cap_names_the_automation(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    issue_registry: ir.IssueRegistry,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """Past the hourly cap calls fail, and the repair says which automation called."""
    await _cap_of(hass, loaded_entry, 3)
    run = Context()
    hass.states.async_set(
        "automation.flapping_sensor",
        "on",
        {"friendly_name": "Flapping sensor"},
        context=run,
    )
    responses: list[Any] = [
        await hass.services.async_call(
            DOMAIN,
            "call",
            {"target": "0933000001", "message": f"Smoke {number}"},
            blocking=True,
            return_response=True,
            context=run,
        )
        for number in range(5)
    ]
    assert [r["calls"][0]["status"] for r in responses] == ["placed"] * 3 + [
        "failed"
    ] * 2
    assert len(simulator.calls) == 3
    escalation: Any = await hass.services.async_call(
        DOMAIN,
        "call",
        {"target": "0933000004", "message": "Smoke", "mode": "sequential"},
        blocking=True,
        return_response=True,
        context=run,
    )
    assert escalation["calls"][0]["status"] == "failed"
    issue = issue_registry.async_get_issue(DOMAIN, account_issue("call_cap_reached"))
    assert issue is not None
    assert issue.is_fixable
    assert issue.translation_placeholders == {
        "account": "test123",
        "cap": "3",
        "caller": "Flapping sensor (automation.flapping_sensor)",
    }
    with pytest.raises(HomeAssistantError, match="cap of calls per hour"):
        await hass.services.async_call(
            DOMAIN, "call", {"target": "0933000002", "message": "Smoke"}, blocking=True
        )

    other_run = Context()
    hass.states.async_set(
        "script.siren", "on", {"friendly_name": "Siren"}, context=other_run
    )
    for context, caller in ((other_run, "Siren (script.siren)"), (None, "context ")):
        with pytest.raises(HomeAssistantError):
            await hass.services.async_call(
                "notify",
                DOMAIN,
                {"message": "Smoke", "target": "0933000003"},
                blocking=True,
                context=context,
            )
        issue = issue_registry.async_get_issue(
            DOMAIN, account_issue("call_cap_reached")
        )
        assert issue is not None
        assert issue.translation_placeholders is not None
        assert issue.translation_placeholders["caller"].startswith(caller)
    await advance(hass, freezer, 3600)
    await notify(hass, message="an hour later")
    assert len(simulator.calls) == 4
    assert issue_ids(issue_registry) == set()


async def test_refused_calls_do_not_use_up_the_cap(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """Only calls TwSMS accepted count: refusals leave room for the real alarm."""
    await _cap_of(hass, loaded_entry, 2)
    simulator.add_fault(FaultKind.CODE, code=-8, times=5, endpoint="send_voice")
    for number in range(5):
        assert (await _call(hass, "0933000001", f"try {number}"))["status"] == "failed"
    for number in range(2):
        result = await _call(hass, "0933000001", f"alarm {number}")
        assert result["status"] == "placed"
    assert (await _call(hass, "0933000001", "one too many"))["status"] == "failed"


async def test_critical_calls_pass_a_full_cap(
    hass: HomeAssistant,
    issue_registry: ir.IssueRegistry,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """Once a flapping automation hit the cap, a critical alarm still goes out."""
    await _cap_of(hass, loaded_entry, 1)
    await _call(hass, "0933000001", "flap")
    assert (await _call(hass, "0933000001", "flap again"))["status"] == "failed"
    result = await _call(hass, "Mom", "Fire in the kitchen", priority="critical")
    assert result["status"] == "placed"
    assert len(simulator.calls) == 2


async def test_the_cap_count_survives_a_reload(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """Changing an option reloads the entry, not the hour's count."""
    await _cap_of(hass, loaded_entry, 2)
    await _call(hass, "0933000001", "one")
    await _call(hass, "0933000001", "two")
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    assert (await _call(hass, "0933000001", "three"))["status"] == "failed"


async def test_the_cap_repair_raises_the_cap(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    issue_registry: ir.IssueRegistry,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """The repair's fix flow changes the cap; the next call goes through at once."""
    assert await async_setup_component(hass, "repairs", {})
    await _cap_of(hass, loaded_entry, 1)
    await _call(hass, "0933000001", "one")
    assert (await _call(hass, "0933000001", "two"))["status"] == "failed"
    issue_id = account_issue("call_cap_reached")
    client = await hass_client()
    response = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": issue_id}
    )
    flow = await response.json()
    assert flow["step_id"] == "cap"
    assert flow["description_placeholders"]["account"] == "test123"
    assert flow["description_placeholders"]["cap"] == "1"
    assert flow["description_placeholders"]["caller"].startswith("context ")
    response = await client.post(
        f"/api/repairs/issues/fix/{flow['flow_id']}", json={"calls_per_hour": 10}
    )
    assert (await response.json())["type"] == "create_entry"
    assert loaded_entry.options["calls_per_hour"] == 10
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    assert (await _call(hass, "0933000001", "three"))["status"] == "placed"


async def test_caller_unknown_without_context(hass: HomeAssistant) -> None:
    """A call without any context names no caller."""
    assert _caller(hass, None) == "unknown"
