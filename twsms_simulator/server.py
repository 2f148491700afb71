"""The simulator's aiohttp application: both endpoints, call lifecycle, faults.

A request to an API endpoint goes through the same layers as at the real provider,
and each layer can be told to misbehave on its own:

1. The web server in front of the API: a request target longer than
   `max_url_length` gets 414, as Apache's LimitRequestLine gives; while `down`
   holds an HTTP status, every API request gets it ("503 until I say so").
2. The fault list: the first fault for the endpoint is used up by this request.
   Most kinds replace the reply without acting (DELAY only waits, then acts);
   EXTRA_FIELD, NO_POINTS and DROP_AFTER_PLACING place the call and only bend the
   reply, since a client must survive a call placed behind a reply it cannot read.
3. The API itself, as the spec describes it, including fetching and checking the
   recording of type 2 calls.

Every request that reaches an endpoint is kept in `requests`, whatever layer
answered it. Calls end and become known after the fixed `outcome_delay`, or after
a drawn ring time, playtime and log lag when `timing` holds a `CallTiming`.

Mind that the aiohttp client sends a GET once more when the connection closes
without a reply (DROP, HANG, DROP_AFTER_PLACING): that retry takes the next fault,
or a normal reply. Set `times=2` to show the caller the fault itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
import io
import logging
import math
import random
import re
import struct
import time
from typing import Final, NamedTuple
import wave

import aiohttp
from aiohttp import web

_LOGGER = logging.getLogger(__name__)

ANSWERED: Final = "FarEnd"
NO_ANSWER: Final = "NoAnswer"
BUSY: Final = "Busy"
STATUSES: Final = (ANSWERED, NO_ANSWER, BUSY)
# Seconds listened to an answered call when neither the number nor a timing model
# says otherwise: what the simulator always did, and tests rely on.
DEFAULT_PLAYTIME: Final = 12
# Apache's default LimitRequestLine: a PHP API like TwSMS's most likely sits behind one.
DEFAULT_MAX_URL_LENGTH: Final = 8190
# aiohttp's own parser answers a bare 400 to request lines over its `max_line_size`;
# the simulator lifts that this far above `max_url_length`, so its own 414 answers.
_PARSER_HEADROOM: Final = 1 << 20
_PCM: Final = 1  # the WAVE format tag of plain PCM samples
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
    """How the person at a number reacts: the final status and seconds listened.

    `playtime` None means "not said": 12 s, or with a `CallTiming` the time it takes
    to read the message; either way only answered calls have a playtime.
    """

    status: str = ANSWERED
    playtime: int | None = None


@dataclass
class CallTiming:
    """How long the phases of each call take, drawn per call, for benchmarks of polling.

    An answered call rings for a while, then plays the message for as long as it
    takes to read it (unless the number's `PhoneBehaviour.playtime` says how long
    the person listened); an unanswered call rings until the network gives up; a
    busy line ends at once. The outcome reaches the provider's message log
    `log_lag` later (the spec: 2–10 s), and only then can it be queried or reported.
    A seed makes the draws repeat, so two benchmark runs meet the same calls.
    """

    answer_after: tuple[float, float] = (3.0, 20.0)
    no_answer_after: float = 30.0
    busy_after: float = 2.0
    chars_per_second: float = 4.0  # reading speed of Chinese text by the voice
    log_lag: tuple[float, float] = (2.0, 10.0)
    seed: int | None = None
    _random: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Start the seeded draws."""
        self._random = random.Random(self.seed)

    def draw(self, behaviour: PhoneBehaviour, message: str) -> tuple[int, float, float]:
        """Return seconds listened, seconds until the call ends, until it is known."""
        if behaviour.status == ANSWERED:
            playtime = behaviour.playtime
            if playtime is None:
                playtime = math.ceil(len(message) / self.chars_per_second)
            ends_after = self._random.uniform(*self.answer_after) + playtime
        else:
            playtime = 0
            ends_after = (
                self.no_answer_after
                if behaviour.status == NO_ANSWER
                else self.busy_after
            )
        return playtime, ends_after, ends_after + self._random.uniform(*self.log_lag)


class FaultKind(StrEnum):
    """Misbehaviours the simulator can be told to show."""

    DELAY = "delay"  # answer normally after `seconds`
    HTTP_500 = "http_500"
    HTTP_STATUS = "http_status"  # answer `status` (default 500) without acting
    REDIRECT = "redirect"  # answer `status` (default 302) to `location` + path + query
    GARBAGE = "garbage"  # HTTP 200, not `resp=...`, echoing the URL as proxies do
    DROP = "drop"  # close the connection without any reply
    HANG = "hang"  # say nothing until clear_faults() or stop(), then close
    CODE = "code"  # answer `resp=<code>` whatever the request
    # send_voice only: the call is really placed, then the reply is bent.
    EXTRA_FIELD = "extra_field"  # `resp=<msgid>,<points>,<points left>`
    NO_POINTS = "no_points"  # `resp=<msgid>`
    DROP_AFTER_PLACING = "drop_after_placing"  # close the connection without a reply


_AFTER_PLACING: Final = frozenset(
    {FaultKind.EXTRA_FIELD, FaultKind.NO_POINTS, FaultKind.DROP_AFTER_PLACING}
)


@dataclass
class Fault:
    """One injected misbehaviour, used up by `times` requests to `endpoint`."""

    kind: FaultKind
    times: int = 1
    seconds: float = 0.0
    code: int = -99
    endpoint: str | None = None  # None: either endpoint
    status: int | None = None  # HTTP_STATUS and REDIRECT: None for their usual one
    location: str | None = None  # REDIRECT: scheme://host[:port] to send clients to

    def __post_init__(self) -> None:
        """Refuse faults that could never happen, before a test waits for them."""
        if self.kind in _AFTER_PLACING:
            if self.endpoint not in (None, "send_voice"):
                msg = f"{self.kind} bends send_voice replies only"
                raise ValueError(msg)
            self.endpoint = "send_voice"
        if self.kind is FaultKind.REDIRECT:
            if not self.location:
                msg = "a redirect needs a location"
                raise ValueError(msg)
            if self.status is not None and not 300 <= self.status < 400:
                msg = f"a redirect has a 3xx status, not {self.status}"
                raise ValueError(msg)
        if self.kind is FaultKind.HTTP_STATUS and self.status is not None:
            if not 400 <= self.status < 600:
                msg = f"an HTTP error has a 4xx or 5xx status, not {self.status}"
                raise ValueError(msg)


@dataclass(frozen=True)
class ReceivedRequest:
    """A request as the simulator decoded it."""

    endpoint: str
    params: dict[str, str]
    remote: str | None
    received_at: float  # time.monotonic(), for rate checks
    wall_time: float = field(default_factory=time.time)  # for people reading logs


class VoiceFormat(NamedTuple):
    """The shape of a PCM recording, which decides between success and -11."""

    rate: int  # samples per second
    width: int  # bytes per sample
    channels: int


ACCEPTED_VOICE_FORMAT: Final = VoiceFormat(8000, 1, 1)


@dataclass
class PlacedCall:
    """A call the simulator accepted, with when it ends and when that is known."""

    msgid: int
    username: str
    phone: str
    params: dict[str, str]
    points: int
    placed_at: float
    behaviour: PhoneBehaviour
    reported: bool = False
    playtime: int = field(kw_only=True)  # seconds listened, 0 unless answered
    ended_at: float = field(kw_only=True)  # on the simulator's clock
    known_at: float = field(kw_only=True)  # from then on query and report tell it
    voice_format: VoiceFormat | None = field(default=None, kw_only=True)  # type 2
    report_overrides: dict[str, str] = field(default_factory=dict, kw_only=True)

    def reply_fields(self) -> str:
        """Return the query/report fields of the finished call."""
        return f"{self.msgid},{self.phone},{self.playtime},{self.points},{self.behaviour.status}"


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


def _wave_format(audio: bytes) -> tuple[int, VoiceFormat] | None:
    """Return the format tag and shape of a RIFF/WAVE file; None if it is not one.

    Read from the header by hand rather than with `wave`, which refuses WAVE files
    that are not PCM (A-law, μ-law, float): those are WAVE files in the wrong
    format (-11) to the provider, not files of another kind (-10).
    """
    if audio[:4] != b"RIFF" or audio[8:12] != b"WAVE":
        return None
    offset = 12
    while offset + 8 <= len(audio):
        chunk, size = struct.unpack_from("<4sI", audio, offset)
        if chunk == b"fmt " and size >= 16 and offset + 24 <= len(audio):
            tag, channels, rate, _, _, bits = struct.unpack_from(
                "<HHIIHH", audio, offset + 8
            )
            return tag, VoiceFormat(rate, math.ceil(bits / 8), channels)
        offset += 8 + size + size % 2  # chunks are padded to even lengths
    return None


def _resp(value: str | int) -> web.Response:
    return web.Response(text=f"resp={value}", content_type="text/html")


def _http_status(status: int) -> web.Response:
    """Answer a bare HTTP status, as a web server or proxy in front of the API would."""
    response = web.Response(status=status)
    response.text = f"{status} {response.reason}"
    return response


def _drop(request: web.Request) -> web.Response:
    """Abort the connection: the client sees it close without any reply."""
    if request.transport is not None:  # None: the client already went away
        request.transport.abort()
    return web.Response()


@dataclass
class TwsmsSimulator:
    """Serve `send_voice.php` and `query_voice.php` as the spec describes them."""

    accounts: dict[str, Account] = field(default_factory=dict)
    outcome_delay: float = 0.0  # placement to outcome known, unless `timing` is set
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
    timing: CallTiming | None = None  # None: every call is known after outcome_delay
    max_url_length: int = DEFAULT_MAX_URL_LENGTH  # request target bytes, else 414
    down: int | None = None  # while set, the HTTP status every API request gets
    # Fields that replace the truth in the status reports of calls placed while set,
    # e.g. {"phone": "0900000000"} or {"msgid": "1"}: a forged report.
    report_overrides: dict[str, str] = field(default_factory=dict)
    voice_url_timeout: float = 5.0  # then the recording counts as unreachable (-12)
    _runner: web.AppRunner | None = None
    _session: aiohttp.ClientSession | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _url: str | None = None
    _hang_release: asyncio.Event = field(default_factory=asyncio.Event)

    def add_fault(
        self,
        kind: FaultKind,
        *,
        times: int = 1,
        seconds: float = 0.0,
        code: int = -99,
        endpoint: str | None = None,
        status: int | None = None,
        location: str | None = None,
    ) -> None:
        """Misbehave for the next `times` matching requests."""
        self.faults.append(
            Fault(kind, times, seconds, code, endpoint, status, location)
        )

    def clear_faults(self) -> None:
        """Forget pending faults; close the requests HANG holds, still unanswered."""
        self.faults.clear()
        self._release_hung_requests()

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
        app.router.add_get("/_simulator/requests", self._handle_list_requests)
        app.router.add_get("/_simulator/{name}.wav", self._handle_recording)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on host:port (0 picks a free port) and return the base URL."""
        self._session = aiohttp.ClientSession()
        self._runner = web.AppRunner(
            self.make_app(),
            access_log=None,
            max_line_size=self.max_url_length + _PARSER_HEADROOM,
        )
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
        self._release_hung_requests()  # else the runner waits for them to finish
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()
        self._runner = self._session = self._url = None

    def _release_hung_requests(self) -> None:
        self._hang_release.set()
        self._hang_release = asyncio.Event()

    def _refusal(self, request: web.Request) -> web.Response | None:
        """Answer as the web server in front of the API would, before the API acts."""
        if len(request.raw_path.encode()) > self.max_url_length:
            return _http_status(414)
        if self.down is not None:
            return _http_status(self.down)
        return None

    def _take_fault(self, endpoint: str) -> Fault | None:
        """Use up one request's worth of the first fault that applies, if any."""
        for fault in self.faults:
            if fault.endpoint in (None, endpoint):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    async def _forced_reply(
        self, request: web.Request, fault: Fault | None
    ) -> web.Response | None:
        """Return the reply a fault gives instead of acting; None to act."""
        if fault is None:
            return None
        match fault.kind:
            case FaultKind.DELAY:
                await asyncio.sleep(fault.seconds)
                return None
            case FaultKind.HTTP_500:
                return _http_status(500)
            case FaultKind.HTTP_STATUS:
                return _http_status(fault.status or 500)
            case FaultKind.REDIRECT:
                assert fault.location is not None
                return web.Response(
                    status=fault.status or 302,
                    headers={"Location": fault.location.rstrip("/") + request.raw_path},
                )
            case FaultKind.GARBAGE:
                return web.Response(
                    text=f"<html>Service unavailable: {request.path_qs}</html>",
                    content_type="text/html",
                )
            case FaultKind.CODE:
                return _resp(fault.code)
            case FaultKind.DROP:
                return _drop(request)
            case FaultKind.HANG:
                await self._hang_release.wait()
                return _drop(request)
            case (
                FaultKind.EXTRA_FIELD
                | FaultKind.NO_POINTS
                | FaultKind.DROP_AFTER_PLACING
            ):
                return None

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

    async def _handle_send(self, request: web.Request) -> web.Response:
        params = self._record(request, "send_voice")
        if (refusal := self._refusal(request)) is not None:
            return refusal
        fault = self._take_fault("send_voice")
        if (forced := await self._forced_reply(request, fault)) is not None:
            return forced
        call = await self._place_call(request, params)
        if isinstance(call, int):
            return _resp(call)
        if fault is not None:
            if fault.kind is FaultKind.EXTRA_FIELD:
                points_left = self.accounts[call.username].points
                return _resp(f"{call.msgid},{call.points},{points_left}")
            if fault.kind is FaultKind.NO_POINTS:
                return _resp(call.msgid)
            if fault.kind is FaultKind.DROP_AFTER_PLACING:
                return _drop(request)
        return _resp(f"{call.msgid},{call.points}")

    async def _place_call(
        self, request: web.Request, params: dict[str, str]
    ) -> PlacedCall | int:
        """Check the request as the provider would; place the call or return the code."""
        account = self._authenticate(request, params)
        if isinstance(account, str):
            return {"ip": -1, "disabled": -3, "auth": -4}[account]
        if code := self._send_parameter_error(params):
            return code
        voice_format = None
        if params["type"] == "2":
            fetched = await self._fetch_voice(params.get("voice_url", ""))
            if isinstance(fetched, int):
                return fetched
            voice_format = fetched
        if account.points < self.points_per_call:
            return -2
        account.points -= self.points_per_call
        phone = params["phone"]
        behaviour = self.phones.get(phone, self.default_behaviour)
        playtime, ends_after, known_after = self._draw(behaviour, params["message"])
        placed_at = self.clock()
        call = PlacedCall(
            msgid=self.next_msgid,
            username=params["username"],
            phone=phone,
            params=params,
            points=self.points_per_call,
            placed_at=placed_at,
            behaviour=behaviour,
            playtime=playtime,
            ended_at=placed_at + ends_after,
            known_at=placed_at + known_after,
            voice_format=voice_format,
            report_overrides=dict(self.report_overrides),
        )
        self.next_msgid += 1
        self.calls[call.msgid] = call
        if response_url := params.get("response"):
            task = asyncio.create_task(self._report(call, response_url))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return call

    def _draw(
        self, behaviour: PhoneBehaviour, message: str
    ) -> tuple[int, float, float]:
        """Return seconds listened, seconds until the call ends, until it is known."""
        if self.timing is not None:
            return self.timing.draw(behaviour, message)
        playtime = 0
        if behaviour.status == ANSWERED:
            playtime = (
                DEFAULT_PLAYTIME if behaviour.playtime is None else behaviour.playtime
            )
        return playtime, self.outcome_delay, self.outcome_delay

    def _send_parameter_error(self, params: dict[str, str]) -> int | None:
        """Return the send table's code for the first wrong parameter, if any."""
        call_type = params.get("type")
        if call_type not in ("1", "2"):
            return -5
        if not _PHONE.fullmatch(params.get("phone", "")):
            return -8
        if not params.get("message", "").strip():
            return -9
        if call_type == "2":  # voice, speed and vol only apply to text-to-speech
            return None
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

    async def _fetch_voice(self, voice_url: str) -> VoiceFormat | int:
        """Fetch the recording as the provider would; return its format or the code.

        -12 when it cannot be had (refused, HTTP error, timeout), -10 when it is not
        a RIFF/WAVE file, -11 when it is one but not 8000 Hz, 8-bit, mono PCM.
        """
        assert self._session is not None
        try:
            async with asyncio.timeout(self.voice_url_timeout):
                async with self._session.get(voice_url) as response:
                    response.raise_for_status()
                    audio = await response.read()
        except aiohttp.ClientError, TimeoutError, ValueError:
            return -12
        found = _wave_format(audio)
        if found is None:
            return -10
        tag, voice_format = found
        if tag != _PCM or voice_format != ACCEPTED_VOICE_FORMAT:
            _LOGGER.info("%s is format %s, %s: -11", voice_url, tag, voice_format)
            return -11
        return voice_format

    async def _handle_query(self, request: web.Request) -> web.Response:
        params = self._record(request, "query_voice")
        if (refusal := self._refusal(request)) is not None:
            return refusal
        fault = self._take_fault("query_voice")
        if (forced := await self._forced_reply(request, fault)) is not None:
            return forced
        account = self._authenticate(request, params)
        if isinstance(account, str):
            return _resp({"ip": -1, "disabled": -2, "auth": -3}[account])
        msgid = params.get("msgid", "")
        call = self.calls.get(int(msgid)) if msgid.isdigit() else None
        if call is None or call.username != params["username"]:
            return _resp(-4)
        if not self._known(call):
            return _resp(-5)
        return _resp(call.reply_fields())

    def _known(self, call: PlacedCall) -> bool:
        return self.clock() >= call.known_at

    async def _report(self, call: PlacedCall, response_url: str) -> None:
        """Tell the caller's `response` URL the outcome once the call has ended."""
        await asyncio.sleep(call.known_at - call.placed_at)
        msgid, phone, playtime, points, status = call.reply_fields().split(",")
        report = {
            "msgid": msgid,
            "phone": phone,
            "playtime": playtime,
            "totalpoint": points,
            "status": status,
        } | call.report_overrides
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
                    "finished": self._known(call),
                    "status": call.behaviour.status,
                    "reported": call.reported,
                }
                for call in self.calls.values()
            ]
        )

    async def _handle_list_requests(self, _request: web.Request) -> web.Response:
        """List API requests as JSON, passwords hidden, for people debugging a client."""
        return web.json_response(
            [
                {
                    "endpoint": received.endpoint,
                    "params": {
                        name: "***" if name == "password" else value
                        for name, value in received.params.items()
                    },
                    "remote": received.remote,
                    "time": datetime.fromtimestamp(received.wall_time, UTC).isoformat(
                        timespec="milliseconds"
                    ),
                }
                for received in self.requests
            ]
        )
