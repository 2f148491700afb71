"""Tests of the simulator itself: the spec's behaviour without the client in between."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import aiohttp
from aiohttp import web
import pytest

from twsms_simulator import Account, FaultKind, PhoneBehaviour, TwsmsSimulator

from .conftest import PASSWORD, USERNAME

SEND = {
    "username": USERNAME,
    "password": PASSWORD,
    "type": "1",
    "phone": "0912123456",
    "message": "這是語音簡訊發送測試",
}


async def _get(session: aiohttp.ClientSession, url: str, params: dict[str, str]) -> str:
    async with session.get(url, params=params) as response:
        return await response.text()


@pytest.fixture
async def reports(
    socket_enabled: None,
) -> AsyncGenerator[tuple[str, asyncio.Queue[dict[str, str]]]]:
    """Run a receiver for status reports; yield its URL and what it received."""
    received: asyncio.Queue[dict[str, str]] = asyncio.Queue()

    async def receive(request: web.Request) -> web.Response:
        form = await request.post()
        received.put_nowait(dict(request.query) | {k: str(v) for k, v in form.items()})
        return web.Response(text="OK")

    app = web.Application()
    app.router.add_route("*", "/GetRes.php", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/GetRes.php", received
    await runner.cleanup()


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"type": "3"}, "-5"),
        ({"phone": "09-12"}, "-8"),
        ({"phone": ""}, "-8"),
        ({"message": ""}, "-9"),
        ({"voice": "5"}, "-13"),
        ({"voice": "x"}, "-13"),
        ({"speed": "-11"}, "-14"),
        ({"vol": "101"}, "-15"),
        ({"password": "wrong"}, "-4"),
        ({"username": "nobody"}, "-4"),
    ],
)
async def test_send_parameter_codes(
    simulator: TwsmsSimulator,
    session: aiohttp.ClientSession,
    change: dict[str, str],
    code: str,
) -> None:
    """Each wrong parameter gets the send table's code, and costs nothing."""
    reply = await _get(session, f"{simulator.url}/send_voice.php", SEND | change)
    assert reply == f"resp={code}"
    assert simulator.accounts[USERNAME].points == 1000
    assert simulator.calls == {}


@pytest.mark.parametrize(
    ("recording", "code"),
    [("cd-quality", "-11"), ("not-wave", "-10"), ("missing", "-12")],
)
async def test_voice_url_codes(
    simulator: TwsmsSimulator,
    session: aiohttp.ClientSession,
    recording: str,
    code: str,
) -> None:
    """The recording is fetched and checked: format, WAVE-ness, reachability."""
    params = SEND | {
        "type": "2",
        "voice_url": f"{simulator.url}/_simulator/{recording}.wav",
    }
    assert await _get(session, f"{simulator.url}/send_voice.php", params) == (
        f"resp={code}"
    )


async def test_voice_url_unreachable(
    simulator: TwsmsSimulator, session: aiohttp.ClientSession, refused_url: str
) -> None:
    """A recording on a host that refuses connections is -12."""
    params = SEND | {"type": "2", "voice_url": f"{refused_url}/a.wav"}
    assert await _get(session, f"{simulator.url}/send_voice.php", params) == "resp=-12"


async def test_points_run_out(
    simulator: TwsmsSimulator, session: aiohttp.ClientSession
) -> None:
    """Each call costs points; when they run out the answer is -2."""
    simulator.accounts[USERNAME].points = 5
    url = f"{simulator.url}/send_voice.php"
    replies = [await _get(session, url, SEND) for _ in range(3)]
    assert replies == ["resp=8692325,2", "resp=8692326,2", "resp=-2"]
    assert simulator.accounts[USERNAME].points == 1


async def test_call_lifecycle_and_report(
    simulator: TwsmsSimulator,
    session: aiohttp.ClientSession,
    reports: tuple[str, asyncio.Queue[dict[str, str]]],
) -> None:
    """Query says -5 until the outcome is known; then the report goes out once."""
    now = [1000.0]
    simulator.clock = lambda: now[0]
    simulator.outcome_delay = 0.2
    simulator.phones["0912123456"] = PhoneBehaviour(status="NoAnswer")
    report_url, received = reports
    sent = await _get(
        session, f"{simulator.url}/send_voice.php", SEND | {"response": report_url}
    )
    assert sent == "resp=8692325,2"
    query = {"username": USERNAME, "password": PASSWORD, "msgid": "8692325"}
    url = f"{simulator.url}/query_voice.php"
    assert await _get(session, url, query) == "resp=-5"
    now[0] += 0.2
    assert await _get(session, url, query) == "resp=8692325,0912123456,0,2,NoAnswer"
    report = await asyncio.wait_for(received.get(), 5)
    assert report == {
        "msgid": "8692325",
        "phone": "0912123456",
        "playtime": "0",
        "totalpoint": "2",
        "status": "NoAnswer",
    }
    async with asyncio.timeout(5):
        while not simulator.calls[8692325].reported:
            await asyncio.sleep(0.01)


async def test_report_by_post(
    simulator: TwsmsSimulator,
    session: aiohttp.ClientSession,
    reports: tuple[str, asyncio.Queue[dict[str, str]]],
) -> None:
    """The report can be sent as a POST form instead."""
    simulator.callback_method = "POST"
    report_url, received = reports
    await _get(
        session, f"{simulator.url}/send_voice.php", SEND | {"response": report_url}
    )
    report = await asyncio.wait_for(received.get(), 5)
    assert report["status"] == "FarEnd"
    assert report["playtime"] == "12"


async def test_report_to_unreachable_url_is_recorded(
    simulator: TwsmsSimulator, session: aiohttp.ClientSession, refused_url: str
) -> None:
    """A report that cannot be delivered is kept for inspection, not raised."""
    await _get(
        session, f"{simulator.url}/send_voice.php", SEND | {"response": refused_url}
    )
    for _ in range(100):
        if simulator.callback_errors:
            break
        await asyncio.sleep(0.02)
    assert simulator.callback_errors[0].startswith("8692325: ")


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"password": "wrong"}, "-3"),
        ({"msgid": "8692325"}, "-4"),
        ({"msgid": "abc"}, "-4"),
    ],
)
async def test_query_codes(
    simulator: TwsmsSimulator,
    session: aiohttp.ClientSession,
    change: dict[str, str],
    code: str,
) -> None:
    """Query answers -3 for wrong credentials and -4 for unknown msgids."""
    query = {"username": USERNAME, "password": PASSWORD, "msgid": "1"} | change
    assert await _get(session, f"{simulator.url}/query_voice.php", query) == (
        f"resp={code}"
    )


async def test_query_of_another_accounts_call(
    simulator: TwsmsSimulator, session: aiohttp.ClientSession
) -> None:
    """A msgid placed by another account is unknown to this one."""
    simulator.accounts["other"] = Account(password="pw")
    await _get(session, f"{simulator.url}/send_voice.php", SEND)
    query = {"username": "other", "password": "pw", "msgid": "8692325"}
    assert await _get(session, f"{simulator.url}/query_voice.php", query) == "resp=-4"


async def test_account_switches(
    simulator: TwsmsSimulator, session: aiohttp.ClientSession
) -> None:
    """Disabled accounts and foreign IPs get their codes on both endpoints."""
    account = simulator.accounts[USERNAME]
    query = {"username": USERNAME, "password": PASSWORD, "msgid": "1"}
    send_url = f"{simulator.url}/send_voice.php"
    query_url = f"{simulator.url}/query_voice.php"
    account.disabled = True
    assert await _get(session, send_url, SEND) == "resp=-3"
    assert await _get(session, query_url, query) == "resp=-2"
    account.allowed_ips = frozenset({"192.0.2.1"})
    assert await _get(session, send_url, SEND) == "resp=-1"
    assert await _get(session, query_url, query) == "resp=-1"
    account.allowed_ips = frozenset({"127.0.0.1"})
    account.disabled = False
    assert await _get(session, send_url, SEND) == "resp=8692325,2"


async def test_faults_by_endpoint_and_count(
    simulator: TwsmsSimulator, session: aiohttp.ClientSession
) -> None:
    """A fault hits only its endpoint, as many times as asked, then stops."""
    simulator.add_fault(FaultKind.CODE, code=-99, times=2, endpoint="send_voice")
    simulator.add_fault(FaultKind.DELAY, seconds=0.01)
    query = {"username": USERNAME, "password": PASSWORD, "msgid": "1"}
    send_url = f"{simulator.url}/send_voice.php"
    assert await _get(session, f"{simulator.url}/query_voice.php", query) == "resp=-4"
    replies = [await _get(session, send_url, SEND) for _ in range(3)]
    assert replies == ["resp=-99", "resp=-99", "resp=8692325,2"]
    assert simulator.faults == []


async def test_http_500(
    simulator: TwsmsSimulator, session: aiohttp.ClientSession
) -> None:
    """The HTTP 500 fault answers with that status."""
    simulator.add_fault(FaultKind.HTTP_500)
    async with session.get(f"{simulator.url}/send_voice.php", params=SEND) as reply:
        assert reply.status == 500


async def test_calls_listing(
    simulator: TwsmsSimulator, session: aiohttp.ClientSession
) -> None:
    """The inspection endpoint lists placed calls with the decoded message."""
    await _get(session, f"{simulator.url}/send_voice.php", SEND)
    async with session.get(f"{simulator.url}/_simulator/calls") as reply:
        (call,) = await reply.json()
    assert call["message"] == "這是語音簡訊發送測試"
    assert call["finished"] is True


def test_url_before_start() -> None:
    """Asking a stopped simulator for its URL is a programming error."""
    with pytest.raises(RuntimeError):
        _ = TwsmsSimulator().url
