"""Tests of the diagnostics download."""

from __future__ import annotations

import json

from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.matchers import path_type

from custom_components.twsms_voice.const import CONF_WEBHOOK_ID, DOMAIN
from homeassistant.core import HomeAssistant
from twsms_simulator import TwsmsSimulator

from .conftest import PASSWORD, USERNAME


async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
    snapshot: SnapshotAssertion,
) -> None:
    """Settings, contacts and calls are there; secrets and full numbers are not."""
    await _notify(hass, "Mom")  # placed: followed until its outcome
    simulator.down = 500
    await _notify(hass, "0933111222")  # queued: TwSMS answered HTTP 500
    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, loaded_entry
    )
    # The simulator's port and the times change from run to run.
    assert diagnostics == snapshot(
        matcher=path_type(
            {
                "entry.data.api_url": (str,),
                "pending_calls.0.placed_at": (str,),
                "queued_calls.0.created_at": (str,),
            }
        )
    )
    text = json.dumps(diagnostics, ensure_ascii=False)
    for secret in (
        PASSWORD,
        USERNAME,
        loaded_entry.data[CONF_WEBHOOK_ID],
        "0912000001",
        "0933111222",
    ):
        assert secret not in text


async def _notify(hass: HomeAssistant, target: str) -> None:
    await hass.services.async_call(
        "notify", DOMAIN, {"message": "Smoke!", "target": target}, blocking=True
    )
    await hass.async_block_till_done()
