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

from homeassistant.core import HomeAssistant

from .conftest import PASSWORD, USERNAME


async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    loaded_entry: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    """Settings and contacts are there; the password and full numbers are not."""
    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, loaded_entry
    )
    # The simulator's port changes from run to run.
    assert diagnostics == snapshot(matcher=path_type({"entry.data.api_url": (str,)}))
    text = json.dumps(diagnostics, ensure_ascii=False)
    assert PASSWORD not in text
    assert USERNAME not in text
    assert "0912000001" not in text
