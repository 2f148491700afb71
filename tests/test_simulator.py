"""Tests of the simulator itself: the spec's behaviour without the client in between."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
import struct
from typing import Any

import aiohttp
from aiohttp import web
import pytest
from yarl import URL

from twsms_simulator import (
    Account,
    CallTiming,
    FaultKind,
    PhoneBehaviour,
    TwsmsSimulator,
)
from twsms_simulator.__main__ import _parse_args, _simulator

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


def _riff_wave(
    tag: int, rate: int, bits: int, channels: int, *, junk: bytes = b""
) -> bytes:
    """Return a RIFF/WAVE file with any format tag, which `wave` cannot write.

    `junk` goes in a chunk before the format, as some editors put metadata there.
    """
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits)
    data = b"\xff" * block * 800
    chunks = b""
    if junk:
        chunks += (
            b"JUNK" + struct.pack("<I", len(junk)) + junk + b"\0" * (len(junk) % 2)
        )
    chunks += b"fmt " + struct.pack("<I", len(fmt)) + fmt
    chunks += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


@pytest.fixture
async def file_host(
    socket_enabled: None,
) -> AsyncGenerator[tuple[str, dict[str, bytes | int]]]:
    """Serve recordings for voice_url: bytes, an HTTP status, or /hang for silence."""
    files: dict[str, bytes | int] = {}
    stop_hanging = asyncio.Event()

    async def serve(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name == "hang":
            await stop_hanging.wait()
        found = files.get(name, 404)
        if isinstance(found, int):
            return web.Response(status=found)
        return web.Response(body=found, content_type="audio/wav")

    app = web.Application()
    app.router.add_get("/{name}", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}", files
    stop_hanging.set()
    await runner.cleanup()


async def _send_type_2(
    simulator: TwsmsSimulator, session: aiohttp.ClientSession, voice_url: str
) -> str:
    params = SEND | {"type": "2", "voice_url": voice_url}
    return await _get(session, f"{simulator.url}/send_voice.php", params)


@pytest.mark.parametrize(
    ("audio", "code"),
    [
        (404, "-12"),
        (410, "-12"),
        (b"ID3 an MP3", "-10"),
        (b"RIFF\x04\x00\x00\x00AVI ", "-10"),  # RIFF, but a video
        (b"RIFF\x04\x00\x00\x00WAVE", "-10"),  # WAVE, but no format chunk
        (_riff_wave(1, 8000, 16, 1), "-11"),  # 16-bit
        (_riff_wave(1, 8000, 8, 2), "-11"),  # stereo
        (_riff_wave(1, 16000, 8, 1), "-11"),  # 16 kHz
        (_riff_wave(7, 8000, 8, 1), "-11"),  # μ-law: 8 kHz, 8-bit, mono, not PCM
    ],
)
async def test_voice_url_checks(
    simulator: TwsmsSimulator,
    session: aiohttp.ClientSession,
    file_host: tuple[str, dict[str, bytes | int]],
    audio: bytes | int,
    code: str,
) -> None:
    """Unfetchable is -12, not RIFF/WAVE is -10, WAVE of another format is -11."""
    host, files = file_host
    files["a.wav"] = audio
    assert await _send_type_2(simulator, session, f"{host}/a.wav") == f"resp={code}"
    assert simulator.calls == {}


async def test_voice_url_timeout(
    simulator: TwsmsSimulator,
    session: aiohttp.ClientSession,
    file_host: tuple[str, dict[str, bytes | int]],
) -> None:
    """A host that never answers is -12 once the fetch gives up."""
    simulator.voice_url_timeout = 0.1
    host, _ = file_host
    assert await _send_type_2(simulator, session, f"{host}/hang") == "resp=-12"


async def test_voice_format_is_recorded(
    simulator: TwsmsSimulator,
    session: aiohttp.ClientSession,
    file_host: tuple[str, dict[str, bytes | int]],
) -> None:
    """A placed call keeps the format of its recording; text-to-speech has none."""
    host, files = file_host
    files["a.wav"] = _riff_wave(1, 8000, 8, 1, junk=b"odd")
    assert await _send_type_2(simulator, session, f"{host}/a.wav") == "resp=8692325,2"
    await _get(session, f"{simulator.url}/send_voice.php", SEND)
    assert simulator.calls[8692325].voice_format == (8000, 1, 1)
    assert simulator.calls[8692326].voice_format is None


@pytest.mark.parametrize(
    ("kind", "reply"),
    [
        (FaultKind.EXTRA_FIELD, "resp=8692325,2,998"),
        (FaultKind.NO_POINTS, "resp=8692325"),
    ],
)
async def test_odd_success_replies_place_the_call(
    simulator: TwsmsSimulator,
    session: aiohttp.ClientSession,
    reports: tuple[str, asyncio.Queue[dict[str, str]]],
    kind: FaultKind,
    reply: str,
) -> None:
    """Only the reply is odd: the call is placed, charged and reported."""
    simulator.add_fault(kind)
    report_url, received = reports
    params = SEND | {"response": report_url}
    assert await _get(session, f"{simulator.url}/send_voice.php", params) == reply
    assert list(simulator.calls) == [8692325]
    assert simulator.accounts[USERNAME].points == 998
    report = await asyncio.wait_for(received.get(), 5)
    assert report["msgid"] == "8692325"


async def test_odd_success_replies_leave_errors_alone(
    simulator: TwsmsSimulator, session: aiohttp.ClientSession
) -> None:
    """A refused call is refused as usual; the fault is used up all the same."""
    simulator.add_fault(FaultKind.EXTRA_FIELD)
    url = f"{simulator.url}/send_voice.php"
    assert await _get(session, url, SEND | {"phone": "x"}) == "resp=-8"
    assert await _get(session, url, SEND) == "resp=8692325,2"


async def test_drop_before_and_after_placing(
    simulator: TwsmsSimulator,
    session: aiohttp.ClientSession,
    reports: tuple[str, asyncio.Queue[dict[str, str]]],
) -> None:
    """DROP acts on nothing; DROP_AFTER_PLACING places and reports the call first.

    The aiohttp client sends a GET again when the connection drops, so each fault
    is set for both tries.
    """
    report_url, received = reports
    params = SEND | {"response": report_url}
    url = f"{simulator.url}/send_voice.php"
    simulator.add_fault(FaultKind.DROP, times=2)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await _get(session, url, params)
    assert simulator.calls == {}
    simulator.add_fault(FaultKind.DROP_AFTER_PLACING, times=2)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await _get(session, url, params)
    assert list(simulator.calls) == [8692325, 8692326]
    assert simulator.accounts[USERNAME].points == 996
    reported = {(await asyncio.wait_for(received.get(), 5))["msgid"] for _ in "ab"}
    assert reported == {"8692325", "8692326"}


async def test_drop_after_placing_then_retry(
    simulator: TwsmsSimulator, session: aiohttp.ClientSession
) -> None:
    """One drop after placing, retried by aiohttp, makes two calls and one reply."""
    simulator.add_fault(FaultKind.DROP_AFTER_PLACING)
    url = f"{simulator.url}/send_voice.php"
    assert await _get(session, url, SEND) == "resp=8692326,2"
    assert list(simulator.calls) == [8692325, 8692326]


@pytest.mark.parametrize(("status", "sent"), [(None, 302), (301, 301), (307, 307)])
async def test_redirect_keeps_path_and_query(
    simulator: TwsmsSimulator,
    session: aiohttp.ClientSession,
    status: int | None,
    sent: int,
) -> None:
    """A redirect names the other host with the request's own path and query."""
    simulator.add_fault(
        FaultKind.REDIRECT, status=status, location="https://elsewhere.example/"
    )
    url = URL(f"{simulator.url}/send_voice.php").with_query(SEND)
    async with session.get(url, allow_redirects=False) as reply:
        assert reply.status == sent
        location = reply.headers["Location"]
    assert location == f"https://elsewhere.example{url.raw_path_qs}"
    assert simulator.calls == {}


@pytest.mark.parametrize(
    ("kind", "status", "sent"),
    [
        (FaultKind.HTTP_500, None, 500),
        (FaultKind.HTTP_STATUS, None, 500),
        (FaultKind.HTTP_STATUS, 400, 400),
        (FaultKind.HTTP_STATUS, 404, 404),
        (FaultKind.HTTP_STATUS, 503, 503),
    ],
)
async def test_http_status(
    simulator: TwsmsSimulator,
    session: aiohttp.ClientSession,
    kind: FaultKind,
    status: int | None,
    sent: int,
) -> None:
    """HTTP errors come without acting."""
    simulator.add_fault(kind, status=status)
    async with session.get(f"{simulator.url}/send_voice.php", params=SEND) as reply:
        assert reply.status == sent
    assert simulator.calls == {}


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": FaultKind.REDIRECT},
        {"kind": FaultKind.REDIRECT, "location": "http://x", "status": 200},
        {"kind": FaultKind.HTTP_STATUS, "status": 302},
        {"kind": FaultKind.NO_POINTS, "endpoint": "query_voice"},
    ],
)
def test_impossible_faults_are_refused(fault: dict[str, Any]) -> None:
    """A fault that could never happen is an error when added, not a silent no-op."""
    with pytest.raises(ValueError):
        TwsmsSimulator().add_fault(**fault)


async def test_faults_compose_in_order(
    simulator: TwsmsSimulator, session: aiohttp.ClientSession
) -> None:
    """Old and new kinds queue up per endpoint; send-only kinds skip queries."""
    simulator.add_fault(FaultKind.NO_POINTS)
    simulator.add_fault(FaultKind.HTTP_STATUS, status=404)
    simulator.add_fault(FaultKind.CODE, code=-99, endpoint="send_voice")
    simulator.add_fault(FaultKind.EXTRA_FIELD, times=2)
    query = {"username": USERNAME, "password": PASSWORD, "msgid": "8692325"}
    send_url = f"{simulator.url}/send_voice.php"
    query_url = f"{simulator.url}/query_voice.php"
    # The 404 is the first fault a query can take; NO_POINTS waits for a send.
    assert await _get(session, query_url, query) == "404 Not Found"
    assert await _get(session, send_url, SEND) == "resp=8692325"
    assert await _get(session, query_url, query) == (
        "resp=8692325,0912123456,12,2,FarEnd"
    )
    replies = [await _get(session, send_url, SEND) for _ in range(4)]
    assert replies == [
        "resp=-99",
        "resp=8692326,2,996",
        "resp=8692327,2,994",
        "resp=8692328,2",
    ]


async def test_url_length_limit(
    simulator: TwsmsSimulator, session: aiohttp.ClientSession
) -> None:
    """Targets over max_url_length get 414 without acting, however long they are.

    aiohttp's own parser would answer a bare 400 above 8190 bytes; the simulator
    lifts that limit so the Apache-like 414 is what clients meet.
    """
    base = URL(f"{simulator.url}/send_voice.php").with_query(SEND)
    filler = 8190 - len(base.raw_path_qs) - len("&pad=")
    fits = base.update_query(pad="x" * filler)
    assert len(fits.raw_path_qs) == 8190
    async with session.get(fits) as reply:
        assert await reply.text() == "resp=8692325,2"
    for pad in ("x" * (filler + 1), "x" * 100_000):
        async with session.get(base.update_query(pad=pad)) as reply:
            assert reply.status == 414
    assert list(simulator.calls) == [8692325]
    assert len(simulator.requests_to("send_voice")) == 3
    simulator.max_url_length = 100
    async with session.get(base) as reply:
        assert reply.status == 414


async def _raw_get(simulator: TwsmsSimulator, params: dict[str, str]) -> bytes:
    """Send one GET and return every byte of the answer, without a client's retries."""
    target = URL("/send_voice.php").with_query(params).raw_path_qs
    server = URL(simulator.url)
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(f"GET {target} HTTP/1.1\r\nHost: twsms\r\n\r\n".encode())
    try:
        return await reader.read()
    finally:
        writer.close()


async def _hung_request(simulator: TwsmsSimulator) -> asyncio.Task[bytes]:
    """Start a request to a hanging simulator; return once it is held."""
    simulator.add_fault(FaultKind.HANG)
    hung = asyncio.create_task(_raw_get(simulator, SEND))
    async with asyncio.timeout(5):
        while not simulator.requests:
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    assert not hung.done()
    return hung


async def test_hang_until_cleared(
    simulator: TwsmsSimulator, session: aiohttp.ClientSession
) -> None:
    """A hung request gets no answer; clear_faults() closes it, still unanswered."""
    hung = await _hung_request(simulator)
    simulator.add_fault(FaultKind.CODE, code=-99)
    simulator.clear_faults()
    assert await hung == b""
    assert simulator.calls == {}
    url = f"{simulator.url}/send_voice.php"
    assert await _get(session, url, SEND) == "resp=8692325,2"  # the -99 went too


async def test_hang_until_stopped(simulator: TwsmsSimulator) -> None:
    """Stopping the simulator closes hung requests instead of waiting for them."""
    hung = await _hung_request(simulator)
    async with asyncio.timeout(5):
        await simulator.stop()
    assert await hung == b""
    assert simulator.calls == {}


async def test_down_until_told_otherwise(
    simulator: TwsmsSimulator, session: aiohttp.ClientSession
) -> None:
    """While `down` is set both endpoints answer it, and faults wait their turn."""
    simulator.add_fault(FaultKind.CODE, code=-99)
    simulator.down = 503
    query = {"username": USERNAME, "password": PASSWORD, "msgid": "1"}
    for endpoint, params in (("send_voice", SEND), ("query_voice", query)):
        for _ in range(3):
            url = f"{simulator.url}/{endpoint}.php"
            async with session.get(url, params=params) as reply:
                assert reply.status == 503
    assert len(simulator.requests) == 6
    simulator.down = None
    url = f"{simulator.url}/send_voice.php"
    assert await _get(session, url, SEND) == "resp=-99"
    assert await _get(session, url, SEND) == "resp=8692325,2"


@pytest.mark.parametrize(
    "overrides", [{"phone": "0987654321"}, {"msgid": "1"}, {"status": "FarEnd"}]
)
async def test_forged_reports(
    simulator: TwsmsSimulator,
    session: aiohttp.ClientSession,
    reports: tuple[str, asyncio.Queue[dict[str, str]]],
    overrides: dict[str, str],
) -> None:
    """Calls placed while report_overrides is set are reported with those lies."""
    simulator.phones["0912123456"] = PhoneBehaviour(status="Busy")
    report_url, received = reports
    params = SEND | {"response": report_url}
    url = f"{simulator.url}/send_voice.php"
    simulator.report_overrides = overrides
    await _get(session, url, params)
    simulator.report_overrides = {}
    await _get(session, url, params)
    first, second = [await asyncio.wait_for(received.get(), 5) for _ in range(2)]
    lies = {"msgid": "8692325", "phone": "0912123456", "status": "Busy"} | overrides
    assert {name: first[name] for name in lies} == lies
    truth = {"msgid": "8692326", "phone": "0912123456", "status": "Busy"}
    assert {name: second[name] for name in truth} == truth


async def test_fixed_timing_by_default(
    simulator: TwsmsSimulator, session: aiohttp.ClientSession
) -> None:
    """Without a model every call ends and is known `outcome_delay` after placing."""
    simulator.clock = lambda: 1000.0
    simulator.outcome_delay = 30
    await _get(session, f"{simulator.url}/send_voice.php", SEND)
    call = simulator.calls[8692325]
    assert (call.placed_at, call.ended_at, call.known_at) == (1000, 1030, 1030)
    assert call.playtime == 12


async def test_realistic_timing(
    simulator: TwsmsSimulator, session: aiohttp.ClientSession
) -> None:
    """Ring, then read the message, then the log lag; each drawn from its range."""
    now = [1000.0]
    simulator.clock = lambda: now[0]
    simulator.timing = CallTiming(seed=7)
    simulator.phones |= {
        "0911000001": PhoneBehaviour(status="NoAnswer"),
        "0911000002": PhoneBehaviour(status="Busy"),
        "0911000003": PhoneBehaviour(status="FarEnd", playtime=5),
    }
    url = f"{simulator.url}/send_voice.php"
    for phone in ("0912123456", "0911000001", "0911000002", "0911000003"):
        await _get(
            session, url, SEND | {"phone": phone, "message": "九個字的語音訊息啊"}
        )
    answered, no_answer, busy, short = simulator.calls.values()
    assert answered.playtime == 3  # 9 characters at 4 per second
    assert 3 + 3 <= answered.ended_at - 1000 <= 20 + 3
    assert (no_answer.ended_at, no_answer.playtime) == (1030, 0)
    assert (busy.ended_at, busy.playtime) == (1002, 0)
    assert short.playtime == 5
    for call in simulator.calls.values():
        assert 2 <= call.known_at - call.ended_at <= 10
    again = CallTiming(seed=7)
    assert again.draw(answered.behaviour, "九個字的語音訊息啊")[1] == pytest.approx(
        answered.ended_at - 1000
    )

    query = {"username": USERNAME, "password": PASSWORD, "msgid": "8692325"}
    query_url = f"{simulator.url}/query_voice.php"
    now[0] = answered.ended_at
    assert await _get(session, query_url, query) == "resp=-5"
    now[0] = answered.known_at
    assert await _get(session, query_url, query) == (
        "resp=8692325,0912123456,3,2,FarEnd"
    )


async def test_realistic_report_waits_for_the_log(
    simulator: TwsmsSimulator,
    session: aiohttp.ClientSession,
    reports: tuple[str, asyncio.Queue[dict[str, str]]],
) -> None:
    """The status report goes out when the outcome is known, not at a fixed delay."""
    simulator.outcome_delay = 3600
    simulator.timing = CallTiming(answer_after=(0.05, 0.05), log_lag=(0.05, 0.05))
    simulator.default_behaviour = PhoneBehaviour(playtime=0)  # hung up at once
    report_url, received = reports
    await _get(
        session, f"{simulator.url}/send_voice.php", SEND | {"response": report_url}
    )
    report = await asyncio.wait_for(received.get(), 5)
    assert report["status"] == "FarEnd"


async def test_requests_listing(
    simulator: TwsmsSimulator, session: aiohttp.ClientSession
) -> None:
    """The inspection endpoint lists requests, with the password hidden."""
    await _get(session, f"{simulator.url}/send_voice.php", SEND)
    async with session.get(f"{simulator.url}/_simulator/requests") as reply:
        (request,) = await reply.json()
    assert request["endpoint"] == "send_voice"
    assert request["params"] == SEND | {"password": "***"}
    assert request["remote"] == "127.0.0.1"
    assert datetime.fromisoformat(request["time"]).tzinfo is UTC


@pytest.mark.parametrize(
    ("argv", "timing"),
    [
        ([], None),
        (["--realistic", "--seed", "7"], CallTiming(seed=7)),
        (["--realistic", "--chars-per-second", "6"], CallTiming(chars_per_second=6)),
    ],
)
def test_command_line(argv: list[str], timing: CallTiming | None) -> None:
    """The command line builds the simulator it describes."""
    simulator = _simulator(_parse_args([*argv, "--phone", "0911000001=Busy"]))
    assert simulator.timing == timing
    assert simulator.phones == {"0911000001": PhoneBehaviour(status="Busy")}
    assert simulator.max_url_length == 8190


@pytest.mark.parametrize(
    "argv", [["--seed", "7"], ["--realistic", "--outcome-delay", "5"]]
)
def test_command_line_refuses_contradictions(argv: list[str]) -> None:
    """Model options without the model, or both models, are usage errors."""
    with pytest.raises(SystemExit):
        _parse_args(argv)
