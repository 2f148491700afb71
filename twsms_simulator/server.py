"""The simulator's aiohttp application: both endpoints, call lifecycle, faults."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
import io
import logging
import re
import time
from typing import Final
import wave

import aiohttp
from aiohttp import web

_LOGGER = logging.getLogger(__name__)

ANSWERED: Final = "FarEnd"
NO_ANSWER: Final = "NoAnswer"
BUSY: Final = "Busy"
STATUSES: Final = (ANSWERED, NO_ANSWER, BUSY)
_PHONE = re.compile(r"\+?[0-9]{6,20}")
_INTEGER = re.compile(r"-?[0-9]+")


@dataclass
class Account:
    """A provider account: password, remaining points and the switches for -1/-3."""

    password: str
    points: int = 1000
    disabled: bool = False
    allowed_ips: frozenset[str] | None = None  # None: every source IP may call


@dataclass(frozen=True)
class PhoneBehaviour:
    """How the person at a number reacts: the final status and seconds listened."""

    status: str = ANSWERED
    playtime: int = 12


class FaultKind(StrEnum):
    """Misbehaviours the simulator can be told to show."""

    DELAY = "delay"  # answer normally after `seconds`
    HTTP_500 = "http_500"
    GARBAGE = "garbage"  # HTTP 200, not `resp=...`, echoing the URL as proxies do
    DROP = "drop"  # close the connection without any reply
    CODE = "code"  # answer `resp=<code>` whatever the request


@dataclass
class Fault:
    """One injected misbehaviour, used up by `times` requests to `endpoint`."""

    kind: FaultKind
    times: int = 1
    seconds: float = 0.0
    code: int = -99
    endpoint: str | None = None  # None: either endpoint


@dataclass(frozen=True)
class ReceivedRequest:
    """A request as the simulator decoded it."""

    endpoint: str
    params: dict[str, str]
    remote: str | None
    received_at: float  # time.monotonic(), for rate checks


@dataclass
class PlacedCall:
    """A call the simulator accepted."""

    msgid: int
    username: str
    phone: str
    params: dict[str, str]
    points: int
    placed_at: float
    behaviour: PhoneBehaviour
    reported: bool = False

    def reply_fields(self) -> str:
        """Return the query/report fields of the finished call."""
        playtime = self.behaviour.playtime if self.behaviour.status == ANSWERED else 0
        return f"{self.msgid},{self.phone},{playtime},{self.points},{self.behaviour.status}"


def _wave(rate: int, width: int, channels: int) -> bytes:
    """Return half a second of silence in the given WAVE format."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as recording:
        recording.setframerate(rate)
        recording.setsampwidth(width)
        recording.setnchannels(channels)
        silence = b"\x80" if width == 1 else b"\x00" * width
        recording.writeframes(silence * channels * (rate // 2))
    return buffer.getvalue()


# Recordings the simulator serves itself, so type 2 calls can be tried without a host.
RECORDINGS: Final = {
    "sample": _wave(8000, 1, 1),  # the format the spec asks for
    "cd-quality": _wave(44100, 2, 2),  # a WAVE file, but the wrong format (-11)
    "not-wave": b"ID3 this is an MP3, not a WAVE file",  # (-10)
}


def _resp(value: str | int) -> web.Response:
    return web.Response(text=f"resp={value}", content_type="text/html")


@dataclass
class TwsmsSimulator:
    """Serve `send_voice.php` and `query_voice.php` as the spec describes them."""

    accounts: dict[str, Account] = field(default_factory=dict)
    outcome_delay: float = 0.0
    points_per_call: int = 2
    next_msgid: int = 8692325
    default_behaviour: PhoneBehaviour = field(default_factory=PhoneBehaviour)
    phones: dict[str, PhoneBehaviour] = field(default_factory=dict)
    callback_method: str = "GET"
    clock: Callable[[], float] = time.monotonic
    requests: list[ReceivedRequest] = field(default_factory=list)
    calls: dict[int, PlacedCall] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    callback_errors: list[str] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    _session: aiohttp.ClientSession | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _url: str | None = None

    def add_fault(
        self,
        kind: FaultKind,
        *,
        times: int = 1,
        seconds: float = 0.0,
        code: int = -99,
        endpoint: str | None = None,
    ) -> None:
        """Misbehave for the next `times` matching requests."""
        self.faults.append(Fault(kind, times, seconds, code, endpoint))

    @property
    def url(self) -> str:
        """Return the base URL to give the client."""
        if self._url is None:
            msg = "the simulator is not running"
            raise RuntimeError(msg)
        return self._url

    def requests_to(self, endpoint: str) -> list[ReceivedRequest]:
        """Return the requests received by one endpoint, oldest first."""
        return [request for request in self.requests if request.endpoint == endpoint]

    def make_app(self) -> web.Application:
        """Build the aiohttp application."""
        app = web.Application()
        app.router.add_get("/send_voice.php", self._handle_send)
        app.router.add_get("/query_voice.php", self._handle_query)
        app.router.add_get("/_simulator/calls", self._handle_list_calls)
        app.router.add_get("/_simulator/{name}.wav", self._handle_recording)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on host:port (0 picks a free port) and return the base URL."""
        self._session = aiohttp.ClientSession()
        self._runner = web.AppRunner(self.make_app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server  # noqa: SLF001 - aiohttp exposes the bound port nowhere else
        assert isinstance(server, asyncio.Server)
        bound_port = server.sockets[0].getsockname()[1]
        self._url = f"http://{host}:{bound_port}"
        return self._url

    async def stop(self) -> None:
        """Stop listening, cancel pending status reports and close the session."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()
        self._runner = self._session = self._url = None

    async def _apply_fault(
        self, request: web.Request, endpoint: str
    ) -> web.StreamResponse | None:
        """Consume the first fault that applies; return the reply it forces, if any."""
        for fault in self.faults:
            if fault.endpoint in (None, endpoint):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                break
        else:
            return None
        if fault.kind is FaultKind.DELAY:
            await asyncio.sleep(fault.seconds)
            return None
        if fault.kind is FaultKind.HTTP_500:
            return web.Response(status=500, text="Internal Server Error")
        if fault.kind is FaultKind.GARBAGE:
            return web.Response(
                text=f"<html>Service unavailable: {request.path_qs}</html>",
                content_type="text/html",
            )
        if fault.kind is FaultKind.CODE:
            return _resp(fault.code)
        assert request.transport is not None
        request.transport.abort()
        return web.Response()

    def _record(self, request: web.Request, endpoint: str) -> dict[str, str]:
        params = dict(request.query)
        self.requests.append(
            ReceivedRequest(endpoint, params, request.remote, time.monotonic())
        )
        return params

    def _authenticate(
        self, request: web.Request, params: dict[str, str]
    ) -> Account | str:
        """Return the account, or which check failed: 'ip', 'auth' or 'disabled'."""
        account = self.accounts.get(params.get("username", ""))
        if account is not None and account.allowed_ips is not None:
            if request.remote not in account.allowed_ips:
                return "ip"
        if account is None or account.password != params.get("password"):
            return "auth"
        if account.disabled:
            return "disabled"
        return account

    async def _handle_send(self, request: web.Request) -> web.StreamResponse:
        params = self._record(request, "send_voice")
        if forced := await self._apply_fault(request, "send_voice"):
            return forced
        account = self._authenticate(request, params)
        if isinstance(account, str):
            return _resp({"ip": -1, "disabled": -3, "auth": -4}[account])
        if code := await self._send_parameter_error(params):
            return _resp(code)
        if account.points < self.points_per_call:
            return _resp(-2)
        account.points -= self.points_per_call
        phone = params["phone"]
        call = PlacedCall(
            msgid=self.next_msgid,
            username=params["username"],
            phone=phone,
            params=params,
            points=self.points_per_call,
            placed_at=self.clock(),
            behaviour=self.phones.get(phone, self.default_behaviour),
        )
        self.next_msgid += 1
        self.calls[call.msgid] = call
        if response_url := params.get("response"):
            task = asyncio.create_task(self._report(call, response_url))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return _resp(f"{call.msgid},{call.points}")

    async def _send_parameter_error(self, params: dict[str, str]) -> int | None:
        """Return the send table's code for the first wrong parameter, if any."""
        call_type = params.get("type")
        if call_type not in ("1", "2"):
            return -5
        if not _PHONE.fullmatch(params.get("phone", "")):
            return -8
        if not params.get("message", "").strip():
            return -9
        if call_type == "2":
            return await self._voice_url_error(params.get("voice_url", ""))
        for tag, code, low, high in (
            ("voice", -13, 1, 4),
            ("speed", -14, -10, 10),
            ("vol", -15, 0, 100),
        ):
            value = params.get(tag)
            if value is not None and not (
                _INTEGER.fullmatch(value) and low <= int(value) <= high
            ):
                return code
        return None

    async def _voice_url_error(self, voice_url: str) -> int | None:
        """Fetch the recording as the provider would and check its format."""
        assert self._session is not None
        try:
            async with asyncio.timeout(5):
                async with self._session.get(voice_url) as response:
                    response.raise_for_status()
                    audio = await response.read()
        except aiohttp.ClientError, TimeoutError, ValueError:
            return -12
        try:
            with wave.open(io.BytesIO(audio)) as recording:
                shape = (
                    recording.getframerate(),
                    recording.getsampwidth(),
                    recording.getnchannels(),
                )
        except wave.Error, EOFError:
            return -10
        return None if shape == (8000, 1, 1) else -11

    async def _handle_query(self, request: web.Request) -> web.StreamResponse:
        params = self._record(request, "query_voice")
        if forced := await self._apply_fault(request, "query_voice"):
            return forced
        account = self._authenticate(request, params)
        if isinstance(account, str):
            return _resp({"ip": -1, "disabled": -2, "auth": -3}[account])
        msgid = params.get("msgid", "")
        call = self.calls.get(int(msgid)) if msgid.isdigit() else None
        if call is None or call.username != params["username"]:
            return _resp(-4)
        if not self._finished(call):
            return _resp(-5)
        return _resp(call.reply_fields())

    def _finished(self, call: PlacedCall) -> bool:
        return self.clock() >= call.placed_at + self.outcome_delay

    async def _report(self, call: PlacedCall, response_url: str) -> None:
        """Tell the caller's `response` URL the outcome once the call has ended."""
        await asyncio.sleep(self.outcome_delay)
        msgid, phone, playtime, points, status = call.reply_fields().split(",")
        report = {
            "msgid": msgid,
            "phone": phone,
            "playtime": playtime,
            "totalpoint": points,
            "status": status,
        }
        assert self._session is not None
        try:
            async with asyncio.timeout(10):
                if self.callback_method == "POST":
                    reply = await self._session.post(response_url, data=report)
                else:
                    reply = await self._session.get(response_url, params=report)
                reply.release()
                call.reported = reply.status < 400
        except (aiohttp.ClientError, TimeoutError) as err:
            self.callback_errors.append(f"{call.msgid}: {err!r}")
            _LOGGER.warning("Status report for %s failed: %r", call.msgid, err)

    async def _handle_recording(self, request: web.Request) -> web.Response:
        """Serve one of the built-in recordings."""
        audio = RECORDINGS.get(request.match_info["name"])
        if audio is None:
            raise web.HTTPNotFound
        return web.Response(body=audio, content_type="audio/wav")

    async def _handle_list_calls(self, _request: web.Request) -> web.Response:
        """List placed calls as JSON, for people poking at the development instance."""
        return web.json_response(
            [
                {
                    "msgid": call.msgid,
                    "username": call.username,
                    "phone": call.phone,
                    "message": call.params.get("message"),
                    "type": call.params.get("type"),
                    "finished": self._finished(call),
                    "status": call.behaviour.status,
                    "reported": call.reported,
                }
                for call in self.calls.values()
            ]
        )
