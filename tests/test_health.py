"""Tests of how an account's health is learnt and told: logs when TwSMS comes and goes."""

from __future__ import annotations

import logging

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from yarl import URL

from custom_components.twsms_voice.const import DOMAIN
from homeassistant.core import HomeAssistant
from twsms_simulator import TwsmsSimulator

from .conftest import advance


def our_records(
    caplog: pytest.LogCaptureFixture, level: int
) -> list[logging.LogRecord]:
    """Return the integration's log records of exactly ``level``."""
    return [
        record
        for record in caplog.records
        if record.name.startswith("custom_components.twsms_voice")
        and record.levelno == level
    ]


async def test_one_warning_when_unreachable_one_line_when_back(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Minutes of refused connections and many attempts: one warning, not one each."""
    port = URL(simulator.url).port
    await simulator.stop()
    await hass.services.async_call(
        "notify",
        DOMAIN,
        {"message": "Smoke!", "target": ["0933000001", "0933000002"]},
        blocking=True,
    )
    await hass.async_block_till_done()
    for _ in range(12):
        await advance(hass, freezer, 10)
    assert simulator.requests_to("send_voice") == []  # none got through
    (warning,) = our_records(caplog, logging.WARNING)
    assert "TwSMS cannot be reached (test123)" in warning.getMessage()

    await simulator.start("127.0.0.1", port or 0)
    for _ in range(10):
        await advance(hass, freezer, 1)
    assert len(simulator.calls) == 2
    (back,) = [
        record
        for record in our_records(caplog, logging.INFO)
        if "can be reached again" in record.getMessage()
    ]
    assert back.getMessage() == "TwSMS can be reached again (test123)"
    assert len(our_records(caplog, logging.WARNING)) == 1
