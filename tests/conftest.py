"""Shared fixtures: the TwSMS simulator on loopback and a client talking to it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Generator
from datetime import timedelta
import socket
from typing import Any
from unittest.mock import patch

import aiohttp
from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

# Imported at collection time, before the test harness puts its own
# `custom_components` package first on the path (it would hide ours).
from custom_components.twsms_voice import PLATFORMS
from custom_components.twsms_voice.const import (
    CONF_API_URL,
    CONF_COOLDOWN,
    CONF_PHONE,
    CONF_SPEED,
    CONF_VOICE,
    CONF_VOLUME,
    CONF_WEBHOOK_ID,
    DOMAIN,
    SUBENTRY_CONTACT,
)
from custom_components.twsms_voice.services import PLACEMENT_TIMEOUT
from custom_components.twsms_voice.twsms import TwsmsVoiceClient
from custom_components.twsms_voice.twsms.ratelimit import RateLimiter
from homeassistant.config_entries import ConfigEntryState, ConfigSubentryDataWithId
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME, Platform
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from twsms_simulator import Account, TwsmsSimulator

USERNAME = "test123"
PASSWORD = "1234test"


@pytest.fixture
async def simulator(socket_enabled: None) -> AsyncGenerator[TwsmsSimulator]:
    """Run a simulator holding the spec's example account on a free loopback port.

    The harness blocks opening sockets; listening on loopback needs them (outgoing
    connections stay limited to 127.0.0.1 and name lookups stay disabled).
    """
    twsms = TwsmsSimulator(accounts={USERNAME: Account(password=PASSWORD)})
    await twsms.start()
    yield twsms
    await twsms.stop()


@pytest.fixture
async def session() -> AsyncGenerator[aiohttp.ClientSession]:
    """Give client tests their own session, as Home Assistant gives the integration."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
def client(
    simulator: TwsmsSimulator, session: aiohttp.ClientSession
) -> TwsmsVoiceClient:
    """Return a client for the example account, pointed at the simulator."""
    return TwsmsVoiceClient(session, USERNAME, PASSWORD, base_url=simulator.url)


@pytest.fixture
def wav_url(simulator: TwsmsSimulator) -> str:
    """Return the URL of a recording in the format the provider wants."""
    return f"{simulator.url}/_simulator/sample.wav"


@pytest.fixture
def refused_url(socket_enabled: None) -> str:
    """Return a loopback URL whose port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


CONTACTS = [
    ConfigSubentryDataWithId(
        subentry_type=SUBENTRY_CONTACT,
        subentry_id="01JTWSMSCONTACTMOM00000001",
        title="Mom",
        unique_id="0912000001",
        data={CONF_PHONE: "0912000001", CONF_VOICE: "female_2", CONF_SPEED: -2},
    ),
    ConfigSubentryDataWithId(
        subentry_type=SUBENTRY_CONTACT,
        subentry_id="01JTWSMSCONTACTNEIGHBOUR01",
        title="Neighbour",
        unique_id="0223456789",
        data={CONF_PHONE: "0223456789"},
    ),
]


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Serialize states and registry entries the way Home Assistant's tests do.

    The harness defines this fixture too, but syrupy's own plugin can win the lookup.
    """
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.fixture(autouse=True)
def no_rate_limit_on_a_frozen_clock(request: pytest.FixtureRequest) -> Generator[None]:
    """Skip request spacing in tests that stop the clock: asyncio cannot sleep then.

    The spacing itself is tested in test_ratelimit.py, on the real clock.
    """
    if "freezer" not in request.fixturenames:
        yield
        return

    async def start_at_once(self: RateLimiter) -> None:
        del self

    with patch.object(RateLimiter, "acquire", start_at_once):
        yield


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load the integration from custom_components."""


@pytest.fixture
def config_entry(simulator: TwsmsSimulator) -> MockConfigEntry:
    """Return an account with two contacts, pointed at the simulator."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=USERNAME,
        unique_id=USERNAME,
        data={
            CONF_USERNAME: USERNAME,
            CONF_PASSWORD: PASSWORD,
            CONF_API_URL: simulator.url,
        },
        options={
            CONF_VOICE: "male_1",
            CONF_SPEED: 0,
            CONF_VOLUME: 80,
            CONF_COOLDOWN: 60,
        },
        subentries_data=CONTACTS,
        entry_id="01JTWSMSVOICEACCOUNT0000001",
    )


@pytest.fixture
def platforms() -> list[Platform]:
    """Return the platforms to set up; a test may narrow them (for snapshots)."""
    return PLATFORMS


@pytest.fixture
async def loaded_entry(
    hass: HomeAssistant, config_entry: MockConfigEntry, platforms: list[Platform]
) -> AsyncGenerator[MockConfigEntry]:
    """Set the account up and wait until its notify service is registered."""
    config_entry.add_to_hass(hass)
    with patch("custom_components.twsms_voice.PLATFORMS", platforms):
        assert await hass.config_entries.async_setup(config_entry.entry_id)
        await hass.async_block_till_done()
        assert config_entry.state is ConfigEntryState.LOADED
        yield config_entry


@pytest.fixture
def calls_last_20_seconds(simulator: TwsmsSimulator) -> None:
    """Let simulated calls end 20 s after they are placed, on the test's clock."""
    simulator.clock = lambda: dt_util.utcnow().timestamp()
    simulator.outcome_delay = 20


async def stop_home_assistant(entry: MockConfigEntry) -> None:
    """Stop the entry's account as Home Assistant's stop does, with a short drain."""
    with patch("custom_components.twsms_voice.account.DRAIN_TIMEOUT", 0.1):
        await entry.runtime_data.async_stop()


async def start_again(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Set the entry up anew, as the next start of Home Assistant does."""
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def advance(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float
) -> None:
    """Move Home Assistant's clock and let the timers that fell due run."""
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


async def until(condition: Callable[[], bool]) -> None:
    """Let tasks run (network I/O included) until ``condition`` holds.

    With a frozen clock nothing that sleeps ever wakes, so this counts loop
    iterations instead of seconds.
    """
    for _ in range(200_000):
        if condition():
            return
        await asyncio.sleep(0)
    msg = "the condition never came true"
    raise AssertionError(msg)


def start_call(hass: HomeAssistant, **data: Any) -> asyncio.Task[Any]:
    """Start twsms_voice.call in a task the harness does not wait for.

    The action waits on Home Assistant's clock (for placement, for outcomes), so a
    test with a frozen clock must move it while the action runs.
    """
    return asyncio.ensure_future(
        hass.services.async_call(
            DOMAIN, "call", data, blocking=True, return_response=True
        )
    )


async def call_as_time_passes(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    seconds: float = PLACEMENT_TIMEOUT,
    **data: Any,
) -> Any:
    """Run twsms_voice.call while the clock moves on by ``seconds``; return its response."""
    task = start_call(hass, **data)
    await hass.async_block_till_done()
    for _ in range(int(seconds)):
        await advance(hass, freezer, 1)
    return await task


def queued_calls(entry: MockConfigEntry) -> int:
    """Count the account's calls not placed yet."""
    return len(entry.runtime_data.queue.queued_calls)


@pytest.fixture
async def office_entry(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> MockConfigEntry:
    """Set up a second account, "office", created after the first."""
    simulator.accounts["office"] = Account(password="pw")
    office = MockConfigEntry(
        domain=DOMAIN,
        title="office",
        unique_id="office",
        data={
            **loaded_entry.data,
            CONF_USERNAME: "office",
            CONF_PASSWORD: "pw",
            CONF_WEBHOOK_ID: "office-webhook",
        },
    )
    office.add_to_hass(hass)
    assert await hass.config_entries.async_setup(office.entry_id)
    await hass.async_block_till_done()
    return office
