"""Shared fixtures: the TwSMS simulator on loopback and a client talking to it."""

from __future__ import annotations

from collections.abc import AsyncGenerator
import socket

import aiohttp
import pytest

# Imported at collection time, before the test harness puts its own
# `custom_components` package first on the path (it would hide ours).
import custom_components.twsms_voice  # noqa: F401
from custom_components.twsms_voice.twsms import TwsmsVoiceClient
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
