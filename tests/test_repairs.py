"""Tests of the repair issues raised for account problems, and their removal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.twsms_voice.const import DOMAIN
from custom_components.twsms_voice.placer import _caller
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from twsms_simulator import FaultKind, TwsmsSimulator

from .conftest import advance

STRINGS = Path(__file__).parent.parent / "custom_components/twsms_voice/strings.json"


async def notify(hass: HomeAssistant, message: str = "Smoke!") -> None:
    """Call one number, ignoring whether it worked."""
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
    assert issue_ids(issue_registry) == {issue_id}
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
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
    assert issue_ids(issue_registry) == {issue_id}
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
    await notify(hass)
    await advance(hass, freezer, 5)
    assert issue_ids(issue_registry) == set()
    await advance(hass, freezer, 10)
    issue = issue_registry.async_get_issue(DOMAIN, "provider_errors")
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.WARNING
    await advance(hass, freezer, 20)
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
    simulator.add_fault(FaultKind.HTTP_500)
    await notify(hass, message="again")
    assert issue_ids(issue_registry) == {"insufficient_points"}


async def test_other_accounts_issue_is_kept(
    hass: HomeAssistant,
    issue_registry: ir.IssueRegistry,
    loaded_entry: MockConfigEntry,
) -> None:
    """A good request of one account does not remove another account's issue."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        "insufficient_points",
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key="insufficient_points",
        translation_placeholders={"account": "office"},
        data={"entry_id": "another-entry"},
    )
    await notify(hass)
    assert issue_ids(issue_registry) == {"insufficient_points"}


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
    assert issue_ids(issue_registry) == {"account_disabled"}
    await hass.config_entries.async_remove(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert issue_ids(issue_registry) == set()


async def test_call_cap_names_the_automation(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    issue_registry: ir.IssueRegistry,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """Past the hourly cap calls fail, and the repair says which automation called."""
    hass.config_entries.async_update_entry(
        loaded_entry, options={**loaded_entry.options, "calls_per_hour": 3}
    )
    await hass.async_block_till_done()
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
    issue = issue_registry.async_get_issue(DOMAIN, "call_cap_reached")
    assert issue is not None
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
        issue = issue_registry.async_get_issue(DOMAIN, "call_cap_reached")
        assert issue is not None
        assert issue.translation_placeholders is not None
        assert issue.translation_placeholders["caller"].startswith(caller)
    await advance(hass, freezer, 3600)
    await notify(hass, message="an hour later")
    assert len(simulator.calls) == 4
    assert issue_ids(issue_registry) == set()


async def test_caller_unknown_without_context(hass: HomeAssistant) -> None:
    """A call without any context names no caller."""
    assert _caller(hass, None) == "unknown"
