"""The benchmark of issue 9: twsms_voice against a YAML rest_command and a bare GET.

One run starts the TwSMS simulator in this process and a real Home Assistant
(`hass --config <scratch> --skip-pip`) with the integration linked into its
custom_components, as HACS installs it, configured against the simulator through
Home Assistant's own APIs (the helpers of scripts/develop.py), and a YAML
`rest_command` that calls the simulator's send_voice.php with a URL template. It
measures each figure side by side in the same run, prints one Markdown table and,
for a full run, writes BENCHMARKS.md. `--smoke` runs every kind of measurement once
(n=1, no goals judged) in a few seconds, for CI.

A small custom component, `bench_probe`, is written into the scratch configuration:
it measures the lateness of a 5 ms timer on Home Assistant's event loop, runs the
garbage collector and (with --profile) cProfile, on request over HTTP.
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
import contextlib
import ctypes
import ctypes.util
from dataclasses import dataclass, field
from datetime import UTC, datetime
import gc
import json
import os
from pathlib import Path
import platform
import random
import shlex
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from typing import Any, Final

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the simulator and scripts/develop.py, run as a script

from scripts import develop  # noqa: E402
from scripts.develop import (  # noqa: E402
    _check_startup_log as check_startup_log,
    _configure_integration as configure_integration,
    _hass_ready as hass_ready,
    _json as hass_json,
    _link_integration as link_integration,
    _start_hass as start_hass,
    _wait_for_service as wait_for_service,
)
from twsms_simulator import (  # noqa: E402
    Account as SimAccount,
    CallTiming,
    FaultKind,
    PhoneBehaviour,
    PlacedCall,
    ReceivedRequest,
    TwsmsSimulator,
)

DOMAIN: Final = "twsms_voice"
EVENT_FINISHED: Final = f"{DOMAIN}_call_finished"
RATE: Final = 40  # requests per second: the rate limit option the goals assume
CALLS_PER_HOUR: Final = 1000  # the option's maximum
SAVE_DELAY: Final = 1.0  # the integration writes later changes within a second
REST_ACCOUNT: Final = ("rest", "rest-password")
BARE_ACCOUNT: Final = ("bare", "bare-password")
# More TwSMS accounts for the integration, each with its own hourly cap: the
# calls-per-hour option is at most 1,000, and a run places more than that.
EXTRA_ACCOUNTS: Final = ("bursta", "burstb", "memory")
ONBOARDING_EXTRAS: Final = ("google_translate", "met", "radio_browser", "shopping_list")
BENCHMARKS: Final = ROOT / "BENCHMARKS.md"
KEEP_MARKER: Final = (
    "<!-- Everything below this line is kept when scripts/bench rewrites the file. -->"
)
ALARM: Final = "火警！廚房偵測到煙霧，請立即確認。"  # 17 characters: about 4 s to read
IN_CLOSE_WRITE: Final = 0x08
IN_MOVED_TO: Final = 0x80

PROBE_MANIFEST: Final = {
    "domain": "bench_probe",
    "name": "Benchmark probe",
    "version": "0.0.1",
    "documentation": "https://example.invalid/bench_probe",
    "codeowners": [],
    "dependencies": ["http"],
    "requirements": [],
    "iot_class": "local_push",
}
PROBE_CODE: Final = '''"""Written by scripts/bench.py: event-loop lateness, gc and cProfile over HTTP."""

from __future__ import annotations

import cProfile
import gc
import io
import logging
import pstats
import sys
import threading
import time
import traceback

from aiohttp import web

from homeassistant.components.http import HomeAssistantView
from homeassistant.core import HomeAssistant

INTERVAL = 0.005  # seconds between two ticks of the lateness timer


class LoopLag:
    """A timer every 5 ms; how late it ran is how long the loop was held."""

    def __init__(self, hass: HomeAssistant) -> None:
        self._loop = hass.loop
        self._due = 0.0
        self._gc_started = 0.0
        self._loop_thread = threading.get_ident()  # set up in the loop's thread
        self.last_beat = time.monotonic()
        self.reset()
        self._arm()
        gc.callbacks.append(self._gc)
        threading.Thread(target=self._watch, name="bench_probe", daemon=True).start()

    def _watch(self) -> None:
        """Sample the loop thread's stack every 2 ms while the loop is behind.

        The samples of the longest episode (from the moment the loop is more than
        8 ms behind until the timer runs again) are kept.
        """
        episode, depth, samples = None, 0.0, []
        while True:
            time.sleep(0.002)
            beat = self.last_beat
            behind = time.monotonic() - beat - INTERVAL
            if episode is not None and beat != episode:  # the episode is over
                if samples and depth > self.stall_sampled:
                    self.stall_sampled, self.stall_samples = depth, samples
                episode, depth, samples = None, 0.0, []
            if behind > 0.008:
                episode, depth = beat, max(depth, behind)
                frame = sys._current_frames().get(self._loop_thread)
                if frame is not None:
                    samples.append("".join(traceback.format_stack(frame, limit=16)))

    def reset(self) -> None:
        self.max_late = 0.0
        self.max_at = 0.0
        self.ticks = 0
        self.over_10ms = 0
        self.since = time.monotonic()
        self.gc_max = 0.0  # the longest collection, in any thread
        self.gc_max_generation = -1
        self.gc_max_at = 0.0
        self.stall_sampled = 0.0
        self.stall_samples: list = []

    def _gc(self, phase: str, info: dict) -> None:
        now = time.monotonic()
        if phase == "start":
            self._gc_started = now
        elif self._gc_started and now - self._gc_started > self.gc_max:
            self.gc_max = now - self._gc_started
            self.gc_max_generation = info.get("generation", -1)
            self.gc_max_at = now

    def _arm(self) -> None:
        self._due = self._loop.time() + INTERVAL
        self._loop.call_at(self._due, self._tick)

    def _tick(self) -> None:
        now = self.last_beat = self._loop.time()
        late = now - self._due
        self.ticks += 1
        if late > self.max_late:
            self.max_late, self.max_at = late, now
        if late > 0.010:
            self.over_10ms += 1
        self._arm()

    def as_dict(self) -> dict:
        return {
            "max_late": self.max_late,
            "max_at": self.max_at,
            "ticks": self.ticks,
            "over_10ms": self.over_10ms,
            "gc_max": self.gc_max,
            "gc_max_generation": self.gc_max_generation,
            "gc_max_at": self.gc_max_at,
            "stall_sampled": self.stall_sampled,
            "stall_samples": self.stall_samples,
            "since": self.since,
            "now": time.monotonic(),
        }


class ProbeView(HomeAssistantView):
    url = "/api/bench_probe/{action}"
    name = "api:bench_probe"

    def __init__(self, hass: HomeAssistant) -> None:
        self._hass = hass
        self._lag = LoopLag(hass)
        self._profile: cProfile.Profile | None = None
        self._dumps = 0
        self._slow: list = []
        self._slow_handler: logging.Handler | None = None

    async def get(self, request: web.Request, action: str) -> web.Response:
        return self.json(self._lag.as_dict())

    async def post(self, request: web.Request, action: str) -> web.Response:
        extra: dict = {}
        if action == "reset":
            self._lag.reset()
        elif action == "gc":
            extra["collected"] = gc.collect()
            extra["blocks"] = sys.getallocatedblocks()
        elif action == "profile_start":
            self._profile = cProfile.Profile()
            self._profile.enable()
        elif action == "slow_start":  # asyncio names callbacks over 5 ms
            probe = self

            class Slow(logging.Handler):
                def emit(self, record: logging.LogRecord) -> None:
                    if record.getMessage().startswith("Executing"):
                        probe._slow.append(record.getMessage())

            self._slow = []
            self._slow_handler = Slow()
            logging.getLogger("asyncio").addHandler(self._slow_handler)
            self._hass.loop.slow_callback_duration = 0.005
            self._hass.loop.set_debug(True)
        elif action == "slow_stop" and self._slow_handler is not None:
            self._hass.loop.set_debug(False)
            logging.getLogger("asyncio").removeHandler(self._slow_handler)
            self._slow_handler = None
            extra["slow"] = self._slow
        elif action == "profile_stop" and self._profile is not None:
            self._profile.disable()
            self._dumps += 1
            path = self._hass.config.path(f"bench_profile_{self._dumps}.prof")
            self._profile.dump_stats(path)
            text = io.StringIO()
            stats = pstats.Stats(self._profile, stream=text)
            text.write(f"{path}\\ntottime by area, waits left out (s):\\n")
            for area, seconds in sorted(_areas(stats).items(), key=lambda a: -a[1]):
                text.write(f"  {seconds:8.3f}  {area}\\n")
            stats.sort_stats("tottime").print_stats(25)
            stats.sort_stats("cumulative").print_stats("twsms_voice", 30)
            extra |= {"path": path, "text": text.getvalue()}
            self._profile = None
        return self.json(self._lag.as_dict() | extra)


def _areas(stats: pstats.Stats) -> dict:
    areas: dict = {}
    for (filename, _, function), (_, _, tottime, _, _) in stats.stats.items():
        if "select.epoll" in function or "time.sleep" in function:
            continue  # waiting, not working (the sleep is the probe's watchdog)
        if "/twsms_voice/" in filename:
            area = "the integration (custom_components/twsms_voice)"
        elif "/homeassistant/" in filename:
            area = "Home Assistant"
        elif any(part in filename for part in ("/aiohttp", "/yarl/", "/multidict/")):
            area = "aiohttp, yarl, multidict"
        elif "/asyncio/" in filename:
            area = "asyncio"
        elif filename == "~":
            area = "built-in functions (socket sends, file calls, ...)"
        else:
            area = "other Python"
        areas[area] = areas.get(area, 0.0) + tottime
    return areas


async def async_setup(hass: HomeAssistant, config: dict) -> bool:
    hass.http.register_view(ProbeView(hass))
    return True
'''

CONFIGURATION: Final = """# Written by scripts/bench.py for one benchmark run.
homeassistant:
  name: TwSMS Voice benchmark
  time_zone: Asia/Taipei
  country: TW
  unit_system: metric
  currency: TWD
  # Where the simulator sends its status reports (the TwSMS `response` callback).
  external_url: http://127.0.0.1:{hass_port}

http:
  server_host: 127.0.0.1
  server_port: {hass_port}

frontend:
config:

logger:
  default: warning
  logs:
    haffmpeg.core: critical
    haffmpeg.tools: critical
    homeassistant.components.camera.img_util: critical

# What a user would write instead of the integration.
rest_command:
  twsms_call:
    url: "{simulator}/send_voice.php?username={rest_user}&password={rest_password}&type=1&phone={{{{ phone }}}}&message={{{{ message | urlencode }}}}"

bench_probe:
"""


# --------------------------------------------------------------------------- helpers


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _quantile(values: Sequence[float], q: float) -> float:
    """Return the q-quantile (0-1), interpolated; the value itself when n is 1."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _spread(values: Sequence[float], unit: float = 1.0, digits: int = 2) -> str:
    """Return 'median (min–max)' in ``unit``, or the value alone when n is 1."""
    scaled = [value / unit for value in values]
    if len(scaled) == 1:
        return f"{scaled[0]:.{digits}f}"
    return (
        f"{statistics.median(scaled):.{digits}f} "
        f"({min(scaled):.{digits}f}–{max(scaled):.{digits}f}, n={len(scaled)})"
    )


def _p50_p99(values: Sequence[float]) -> tuple[float, float]:
    return _quantile(values, 0.5), _quantile(values, 0.99)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def _window_max(times: Sequence[float], window: float = 1.0) -> tuple[int, int]:
    """Return the most requests in any ``window`` s, and how many windows exceeded RATE.

    Each request is the end of one window (the ``window`` seconds before it); a
    window counts as over the limit when it holds more than RATE requests.
    """
    ordered = sorted(times)
    most = over = start = 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= window:
            start += 1
        count = end - start + 1
        most = max(most, count)
        over += count > RATE
    return most, over


def _rate(times: Sequence[float]) -> float:
    if len(times) < 2:
        return float("nan")
    return (len(times) - 1) / (max(times) - min(times))


class _Collector[T]:
    """Gathers the first ``count`` items that match, then resolves."""

    def __init__(self, predicate: Callable[[T], bool], count: int) -> None:
        self.predicate = predicate
        self.count = count
        self.items: list[T] = []
        self.future: asyncio.Future[list[T]] = (
            asyncio.get_running_loop().create_future()
        )

    def offer(self, item: T) -> None:
        if not self.future.done() and self.predicate(item):
            self.items.append(item)
            if len(self.items) >= self.count:
                self.future.set_result(self.items)

    async def wait(self, timeout: float, what: str) -> list[T]:
        try:
            return await asyncio.wait_for(asyncio.shield(self.future), timeout)
        except TimeoutError:
            msg = f"{what}: {len(self.items)} of {self.count} within {timeout:.0f} s"
            raise RuntimeError(msg) from None


class Feed[T](list[T]):
    """A list that tells waiting collectors about each item appended."""

    def __init__(self) -> None:
        """Start empty."""
        super().__init__()
        self._collectors: list[_Collector[T]] = []

    def append(self, item: T) -> None:
        """Keep ``item`` and offer it to the collectors."""
        super().append(item)
        for collector in list(self._collectors):
            collector.offer(item)
            if collector.future.done():
                self._collectors.remove(collector)

    def collect(
        self, predicate: Callable[[T], bool], count: int, start: int
    ) -> _Collector[T]:
        """Collect ``count`` matching items, from index ``start`` on."""
        collector = _Collector(predicate, count)
        for item in self[start:]:
            collector.offer(item)
        if not collector.future.done():
            self._collectors.append(collector)
        return collector


class Placements(dict[int, PlacedCall]):
    """The simulator's placed calls, also fed in order of placement."""

    def __init__(self) -> None:
        """Start empty."""
        super().__init__()
        self.feed: Feed[PlacedCall] = Feed()

    def __setitem__(self, msgid: int, call: PlacedCall) -> None:
        """Keep the call and feed it."""
        super().__setitem__(msgid, call)
        self.feed.append(call)


type Call = tuple[str, str]  # (phone, message): how the bench knows a call


@dataclass(frozen=True)
class Finished:
    """A twsms_voice_call_finished event as the bench received it."""

    msgid: int | None
    phone: str
    status: str
    arrival: float  # time.monotonic() when the websocket message arrived


@dataclass(frozen=True)
class EntryChange:
    """A config entry state change as the bench received it."""

    entry_id: str
    state: str
    arrival: float


class HassSocket:
    """One authenticated websocket to Home Assistant, commands matched by id."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Read in the background."""
        self._ws = ws
        self._id = 0
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._handlers: dict[int, Callable[[Any, float], None]] = {}
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(
        cls, session: aiohttp.ClientSession, url: str, token: str
    ) -> HassSocket:
        """Open and authenticate."""
        ws = await session.ws_connect(f"{url}/api/websocket", max_msg_size=0)
        await ws.receive_json()  # auth_required
        await ws.send_json({"type": "auth", "access_token": token})
        if (auth := await ws.receive_json())["type"] != "auth_ok":
            msg = f"The websocket API refused the token: {auth}"
            raise RuntimeError(msg)
        return cls(ws)

    async def close(self) -> None:
        """Close the socket and stop reading."""
        await self._ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader

    async def send(
        self,
        command: dict[str, Any],
        on_event: Callable[[Any, float], None] | None = None,
    ) -> asyncio.Future[dict[str, Any]]:
        """Send ``command`` now; return the future of its result."""
        self._id += 1
        future: asyncio.Future[dict[str, Any]] = (
            asyncio.get_running_loop().create_future()
        )
        self._pending[self._id] = future
        if on_event is not None:
            self._handlers[self._id] = on_event
        await self._ws.send_str(json.dumps({"id": self._id} | command))
        return future

    async def call(self, command: dict[str, Any]) -> Any:
        """Send ``command`` and return its result; raise if it failed."""
        reply = await (await self.send(command))
        if not reply.get("success"):
            msg = f"{command['type']} failed: {reply.get('error')}"
            raise RuntimeError(msg)
        return reply.get("result")

    async def _read(self) -> None:
        try:
            async for message in self._ws:
                if message.type is not aiohttp.WSMsgType.TEXT:
                    continue
                arrival = time.monotonic()
                payload = json.loads(message.data)
                for item in payload if isinstance(payload, list) else [payload]:
                    self._dispatch(item, arrival)
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(RuntimeError("the websocket closed"))

    def _dispatch(self, item: dict[str, Any], arrival: float) -> None:
        if item.get("type") == "result":
            future = self._pending.pop(item["id"], None)
            if future is not None and not future.done():
                future.set_result(item)
        elif item.get("type") == "event" and (
            handler := self._handlers.get(item["id"])
        ):
            handler(item["event"], arrival)


class StorageWrites:
    """Count the writes Home Assistant makes to one store file, with inotify.

    Home Assistant writes a store to a temporary file and renames it into place:
    each write is one IN_MOVED_TO event for the store's name.
    """

    def __init__(self, directory: Path, prefix: str) -> None:
        """Watch ``directory`` for files renamed to ``prefix``*."""
        self._libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        self._fd: int = self._libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self._fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        watch = self._libc.inotify_add_watch(
            self._fd, str(directory).encode(), IN_MOVED_TO | IN_CLOSE_WRITE
        )
        if watch < 0:
            raise OSError(ctypes.get_errno(), f"inotify_add_watch {directory}")
        self._directory = directory
        self._prefix = prefix
        self.writes: list[tuple[float, str, int]] = []  # (monotonic, name, bytes)
        asyncio.get_running_loop().add_reader(self._fd, self.drain)

    def drain(self) -> None:
        """Read every event the kernel holds."""
        while True:
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                return
            offset = 0
            while offset < len(data):
                _, mask, _, length = struct.unpack_from("iIII", data, offset)
                raw = data[offset + 16 : offset + 16 + length]
                name = raw.rstrip(b"\0").decode()
                offset += 16 + length
                if mask & IN_MOVED_TO and name.startswith(self._prefix):
                    try:
                        size = (self._directory / name).stat().st_size
                    except FileNotFoundError:
                        size = 0
                    self.writes.append((time.monotonic(), name, size))

    def between(self, name: str, start: float, end: float) -> list[int]:
        """Return the sizes of the writes to ``name`` from ``start`` to ``end``."""
        self.drain()
        return [
            size
            for moment, written, size in self.writes
            if written == name and start <= moment <= end
        ]

    def close(self) -> None:
        """Stop watching."""
        asyncio.get_running_loop().remove_reader(self._fd)
        os.close(self._fd)


def _cpu_ticks(pid: int) -> int:
    """Return utime + stime of a process, in clock ticks (its threads included)."""
    stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5)


def _machine_busy_ticks() -> int:
    """Return the CPU time all processes used, in ticks, from /proc/stat."""
    fields = Path("/proc/stat").read_text(encoding="ascii").splitlines()[0].split()
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[1:9])
    return user + nice + system + irq + softirq + steal


class OtherLoad:
    """How much CPU processes other than Home Assistant and the bench take.

    Other work on the machine (a test run, say) competes with both for 2 cores and
    shows as stalls and outliers that are not the integration's.
    """

    def __init__(self, pid: int) -> None:
        """Follow the machine, minus ``pid`` (Home Assistant) and this process."""
        self._pid = pid
        self._start = self._others()

    def _others(self) -> int:
        own = _cpu_ticks(self._pid) + _cpu_ticks(os.getpid())
        return _machine_busy_ticks() - own

    def seconds(self) -> float:
        """Return the CPU seconds others used since this object was made."""
        ticks = max(0, self._others() - self._start)  # ticks round per process
        return ticks / os.sysconf("SC_CLK_TCK")


def _cpu_ns(pid: int) -> int:
    """Return the CPU time of a process's live threads, in ns (schedstat).

    utime + stime count in 10 ms ticks, too coarse for a call that costs a fraction
    of a millisecond; a thread that ends takes its schedstat time along, but Home
    Assistant's worker threads live as long as it does.
    """
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            total += int((task / "schedstat").read_text(encoding="ascii").split()[0])
    return total


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    msg = f"no VmRSS for {pid}"
    raise RuntimeError(msg)


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _filesystem(path: Path) -> str:
    """Return the type of the filesystem ``path`` is on, from /proc/mounts."""
    best, kind = "", "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/mounts").read_text(encoding="utf-8").splitlines():
            _, mount, fstype, *_ = line.split()
            if str(path).startswith(mount) and len(mount) > len(best):
                best, kind = mount, fstype
    return kind


# --------------------------------------------------------------------------- rows


@dataclass
class Row:
    """One line of the table."""

    figure: str
    twsms: str
    rest: str = "—"
    bare: str = "—"
    goal: str = "—"
    met: bool | None = None  # None: no goal, or not judged


@dataclass
class Sizes:
    """How much of each measurement a run makes."""

    smoke: bool
    warmup: int
    dispatch_runs: int
    isolated_calls: int
    idle_seconds: float
    cpu_blocks: int
    cpu_block_calls: int
    bursts: tuple[int, ...]
    paced_reference: int
    outages: tuple[float, ...]
    outage_calls: int
    references: int
    polling: bool
    round_calls: int
    realistic_calls: int
    reloads: int
    setups: int
    rss_calls: int
    report_after: float  # s from placing a call to its status report, rows 1-4

    @classmethod
    def full(cls) -> Sizes:
        """Return the full run's: under 5 minutes on 2 cores."""
        return cls(
            smoke=False,
            warmup=20,
            dispatch_runs=200,
            isolated_calls=5,
            idle_seconds=5.0,
            cpu_blocks=4,
            cpu_block_calls=50,
            bursts=(200, 400, 400),
            paced_reference=200,
            outages=(1.0, 3.0, 5.0),
            outage_calls=20,
            references=3,
            polling=True,
            round_calls=20,
            realistic_calls=100,
            reloads=5,
            setups=5,
            rss_calls=1000,
            report_after=0.03,
        )

    @classmethod
    def for_smoke(cls) -> Sizes:
        """Return the smoke run's: one of each kind, in a few seconds."""
        return cls(
            smoke=True,
            warmup=1,
            dispatch_runs=1,
            isolated_calls=1,
            idle_seconds=1.0,
            cpu_blocks=1,
            cpu_block_calls=1,
            bursts=(10,),
            paced_reference=10,
            outages=(0.5,),
            outage_calls=3,
            references=1,
            polling=False,
            round_calls=0,
            realistic_calls=0,
            reloads=1,
            setups=1,
            rss_calls=10,
            # A busy CI machine must not see a report before the send's own reply.
            report_after=0.2,
        )


@dataclass
class Results:
    """Everything measured, for the table."""

    latency: dict[str, list[float]] = field(default_factory=dict)
    cpu_ms: dict[str, float] = field(default_factory=dict)  # from schedstat
    cpu_ms_ticks: dict[str, float] = field(default_factory=dict)  # utime + stime
    idle_ticks_per_s: float = 0.0
    idle_ns_per_s: float = 0.0
    idle_lag: float = 0.0
    idle_seconds: float = 0.0
    idle_requests: int = 0
    writes_isolated: tuple[int, int, int] = (0, 0, 0)  # writes, calls, bytes of last
    writes_back_to_back: tuple[int, int] = (0, 0)
    writes_burst: tuple[int, int, int] = (0, 0, 0)
    bursts: dict[int, list[dict[str, float]]] = field(default_factory=dict)
    paced_rate: tuple[float, int, int] = (0.0, 0, 0)
    outage: list[dict[str, float]] = field(default_factory=list)
    outage_reference: list[float] = field(default_factory=list)
    poll_round: float | None = None
    poll_reference: list[float] = field(default_factory=list)
    queries_per_call: float | None = None
    outcome_lag: list[float] = field(default_factory=list)
    outcome_mix: dict[str, int] = field(default_factory=dict)
    setups: list[float] = field(default_factory=list)
    reloads: list[float] = field(default_factory=list)
    notify_missing: list[bool] = field(default_factory=list)  # right after loaded
    rss_kib: list[int] = field(default_factory=list)
    blocks: list[int] = field(default_factory=list)  # sys.getallocatedblocks()
    # notify/call of row 1: (issued → the store written, the store written → request)
    store_first: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    burst_writes_at: list[float] = field(default_factory=list)  # s after the notify
    burst_span: float = 0.0  # the notify → its last outcome
    check_every: Any = None  # the periodic account check option, if the form has it
    rss_calls: int = 0
    profiles: dict[str, str] = field(default_factory=dict)  # with --profile
    # Per burst: targets, longest stall, when, the loop thread's stack sampled in it,
    # and the CPU seconds other processes used meanwhile
    stall_stacks: list[tuple[int, float, float, list[str], float]] = field(
        default_factory=list
    )
    others: list[tuple[str, float, float]] = field(default_factory=list)  # per phase
    placed_twice: int = 0  # calls of the integration the simulator placed twice
    unexpected_errors: int = 0  # "Unexpected error" in Home Assistant's log


# --------------------------------------------------------------------------- the bench


@dataclass
class Account:
    """One config entry of the integration, as the bench uses it."""

    username: str
    entry_id: str
    notify: str  # the legacy notify service: twsms_voice or twsms_voice_<title>
    options: dict[str, Any] = field(default_factory=dict)  # what the bench sets
    form: dict[str, Any] = field(default_factory=dict)  # all of them, as submitted


class Bench:
    """Drives Home Assistant and the simulator through every measurement."""

    def __init__(
        self,
        sizes: Sizes,
        session: aiohttp.ClientSession,
        simulator: TwsmsSimulator,
        placements: Placements,
        requests: Feed[ReceivedRequest],
        *,
        hass_url: str,
        token: str,
        pid: int,
        config: Path,
        profile: bool,
    ) -> None:
        """Hold what every measurement needs; `async_start` connects."""
        self.sizes = sizes
        self.session = session
        self.sim = simulator
        self.placements = placements
        self.requests = requests
        self.hass_url = hass_url
        self.token = token
        self.pid = pid
        self.config = config
        self.profile = profile
        self.results = Results()
        self.finished: Feed[Finished] = Feed()
        self.entry_changes: Feed[EntryChange] = Feed()
        self.socket: HassSocket
        self.writes: StorageWrites
        self.accounts: dict[str, Account] = {}
        self.main: Account
        self.random = random.Random(9)  # noqa: S311 - an order of runs, not a secret
        self._phone = 0

    # ---------------------------------------------------------------- plumbing

    async def async_start(self) -> None:
        """Connect, subscribe, add the other accounts, watch the stores."""
        self.socket = await HassSocket.connect(self.session, self.hass_url, self.token)
        await self.socket.send(
            {"type": "subscribe_events", "event_type": EVENT_FINISHED},
            self._on_finished,
        )
        await self.socket.send(
            {"type": "config_entries/subscribe"}, self._on_entry_change
        )
        [entry] = await self.rest(
            "GET", f"/api/config/config_entries/entry?domain={DOMAIN}"
        )
        username = develop.TWSMS_ACCOUNT["username"]
        self.main = Account(username, entry["entry_id"], DOMAIN)
        self.accounts[username] = self.main
        for username in EXTRA_ACCOUNTS:
            await self.add_account(username)
        self.writes = StorageWrites(self.config / ".storage", f"{DOMAIN}.")

    async def async_stop(self) -> None:
        """Close what `async_start` opened."""
        self.writes.close()
        await self.socket.close()

    def _on_finished(self, event: dict[str, Any], arrival: float) -> None:
        data = event["data"]
        self.finished.append(
            Finished(data["msgid"], data["phone"], data["status"], arrival)
        )

    def _on_entry_change(self, changes: list[dict[str, Any]], arrival: float) -> None:
        for change in changes:
            entry = change["entry"]
            self.entry_changes.append(
                EntryChange(entry["entry_id"], entry["state"], arrival)
            )

    async def rest(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call Home Assistant's REST API."""
        return await hass_json(self.session, method, path, self.token, **kwargs)

    async def probe(self, action: str) -> dict[str, Any]:
        """Ask bench_probe for its figures (GET) or to act (POST)."""
        method = "GET" if action == "lag" else "POST"
        result: dict[str, Any] = await self.rest(method, f"/api/bench_probe/{action}")
        return result

    def phones(self, count: int) -> list[str]:
        """Return ``count`` numbers nobody was called on yet in this run."""
        first = self._phone
        self._phone += count
        return [
            f"09{20_000_000 + number:08d}" for number in range(first, first + count)
        ]

    def _integration(self, request: ReceivedRequest) -> bool:
        """Tell whether a request came from the integration (any of its accounts)."""
        return request.params.get("username") in self.accounts

    async def add_account(self, username: str) -> None:
        """Add a TwSMS account through the config flow, as a user would."""
        self.sim.accounts[username] = SimAccount(
            password=f"{username}-pw", points=10**9
        )
        flow = await self.rest(
            "POST",
            "/api/config/config_entries/flow",
            json={"handler": DOMAIN, "show_advanced_options": True},
        )
        result = await self.rest(
            "POST",
            f"/api/config/config_entries/flow/{flow['flow_id']}",
            json={
                "username": username,
                "password": f"{username}-pw",
                "advanced": {"api_url": self.sim.url},
            },
        )
        if result["type"] != "create_entry":
            msg = f"Adding the TwSMS account {username} failed: {result}"
            raise RuntimeError(msg)
        service = f"{DOMAIN}_{username}"  # not the oldest account: named after it
        await wait_for_service(self.session, self.token, "notify", service)
        self.accounts[username] = Account(
            username, result["result"]["entry_id"], service
        )

    async def notify(
        self, targets: list[str], message: str, account: Account | None = None
    ) -> tuple[float, asyncio.Future[dict[str, Any]]]:
        """Send notify.twsms_voice; return when it left and its result's future."""
        command = {
            "type": "call_service",
            "domain": "notify",
            "service": (account or self.main).notify,
            "service_data": {"message": message, "target": targets},
        }
        issued = time.monotonic()
        return issued, await self.socket.send(command)

    async def settle(self, replies: Iterable[asyncio.Future[dict[str, Any]]]) -> None:
        """Wait for service results; raise on a failed one."""
        for reply in await asyncio.gather(*replies):
            if not reply.get("success"):
                msg = f"a service call failed: {reply.get('error')}"
                raise RuntimeError(msg)

    def watch_calls(self, calls: Iterable[Call]) -> _Collector[PlacedCall]:
        """Collect the first placement of each (phone, message) of ``calls``.

        A call is known by its number and message, not its msgid: the integration
        may place one call twice, and follow only one of the two msgids.
        """
        remaining = set(calls)
        count = len(remaining)

        def first(placed: PlacedCall) -> bool:
            key = (placed.phone, placed.params.get("message", ""))
            if key not in remaining:
                return False
            remaining.discard(key)
            return True

        return self.placements.feed.collect(first, count, len(self.placements.feed))

    def watch_outcomes(self, calls: Iterable[Call], start: int) -> _Collector[Finished]:
        """Collect one finished event for each (phone, message), from ``start`` on."""
        remaining = set(calls)
        count = len(remaining)

        def first(event: Finished) -> bool:
            placed = self.placements.get(event.msgid or 0)
            key = (event.phone, placed.params.get("message", "") if placed else "")
            if key not in remaining:
                return False
            remaining.discard(key)
            return True

        return self.finished.collect(first, count, start)

    def placed_ids(self, calls: Iterable[Call]) -> set[int]:
        """Return the msgids of every placement of ``calls``, twice-placed included."""
        wanted = set(calls)
        return {
            placed.msgid
            for placed in self.placements.values()
            if (placed.phone, placed.params.get("message", "")) in wanted
        }

    async def place_and_finish(
        self,
        targets: list[str],
        message: str,
        timeout: float,
        account: Account | None = None,
    ) -> float:
        """notify.twsms_voice to ``targets``; wait until every call has its outcome.

        Return when the notify was sent.
        """
        calls = [(phone, message) for phone in targets]
        placed = self.watch_calls(calls)
        start = len(self.finished)
        issued, reply = await self.notify(targets, message, account)
        await placed.wait(timeout, f"calls placed for {message!r}")
        await self.settle([reply])
        await self.watch_outcomes(calls, start).wait(
            timeout, f"outcomes of {message!r}"
        )
        return issued

    async def bare_get(
        self, endpoint: str, params: dict[str, str]
    ) -> tuple[float, float]:
        """One GET straight to the simulator; return when it left and came back."""
        issued = time.monotonic()
        async with self.session.get(
            f"{self.sim.url}/{endpoint}", params=params
        ) as reply:
            await reply.read()
        return issued, time.monotonic()

    def bare_send_params(self, phone: str, message: str) -> dict[str, str]:
        """Return the parameters of a send as a bare client would pass them."""
        username, password = BARE_ACCOUNT
        return {
            "username": username,
            "password": password,
            "type": "1",
            "phone": phone,
            "message": message,
        }

    async def paced(
        self, count: int, make: Callable[[int], tuple[str, dict[str, str]]]
    ) -> tuple[float, list[float]]:
        """``count`` GETs started 1/RATE s apart, concurrently; return start and ends."""
        start = time.monotonic()

        async def one(index: int) -> float:
            await asyncio.sleep(max(0.0, start + index / RATE - time.monotonic()))
            endpoint, params = make(index)
            return (await self.bare_get(endpoint, params))[1]

        return start, list(await asyncio.gather(*(one(i) for i in range(count))))

    async def paced_sends(self, phones: list[str], message: str) -> float:
        """Bare sends to ``phones``, 1/RATE s apart, concurrently; return the start."""
        start, _ = await self.paced(
            len(phones),
            lambda i: ("send_voice.php", self.bare_send_params(phones[i], message)),
        )
        return start

    async def set_options(self, account: Account, **changes: Any) -> None:
        """Change options through the options flow, as a user would; await the reload."""
        account.options |= changes
        start = len(self.entry_changes)
        flow = await self.rest(
            "POST",
            "/api/config/config_entries/options/flow",
            json={"handler": account.entry_id},
        )
        # Every field keeps what the form suggests (the current value or its
        # default), but those the bench sets: the form may grow fields meanwhile.
        form: dict[str, Any] = {}
        for field_ in flow["data_schema"]:
            value = (field_.get("description") or {}).get("suggested_value")
            if value is None:
                value = field_.get("default")
            if value is not None:  # an optional field left empty stays out
                form[field_["name"]] = value
        if missing := set(account.options) - set(form):
            msg = f"The options form has no {sorted(missing)}: {sorted(form)}"
            raise RuntimeError(msg)
        account.form = form | account.options
        result = await self.rest(
            "POST",
            f"/api/config/config_entries/options/flow/{flow['flow_id']}",
            json=account.form,
        )
        if result["type"] != "create_entry":
            msg = f"The options flow did not finish: {result}"
            raise RuntimeError(msg)
        # The options flow reloads the entry on its own: out of `loaded`, then back.
        left = self.entry_changes.collect(
            lambda change: (
                change.entry_id == account.entry_id and change.state != "loaded"
            ),
            1,
            start,
        )
        await left.wait(30, "the reload after the options flow")
        back = self.entry_changes.collect(
            lambda change: (
                change.entry_id == account.entry_id and change.state == "loaded"
            ),
            1,
            start + self.entry_changes[start:].index(left.items[0]),
        )
        await back.wait(30, "the entry loaded again after the options flow")
        await self.expect_notify(account)

    async def expect_loaded(self, account: Account) -> None:
        """Raise unless the entry is loaded."""
        entries = await self.rest(
            "GET", f"/api/config/config_entries/entry?domain={DOMAIN}"
        )
        [state] = [e["state"] for e in entries if e["entry_id"] == account.entry_id]
        if state != "loaded":
            msg = f"The entry of {account.username} is {state}, not loaded"
            raise RuntimeError(msg)

    async def reload(self) -> None:
        """Reload the main entry over the REST API, as the UI's Reload does; time it."""
        started = time.monotonic()
        await self.rest(
            "POST", f"/api/config/config_entries/entry/{self.main.entry_id}/reload"
        )
        self.results.reloads.append(time.monotonic() - started)
        await self.expect_loaded(self.main)
        await self.expect_notify(self.main)

    async def expect_notify(self, account: Account) -> None:
        """Wait until the account's notify service is back after a reload.

        The entry is `loaded` a moment before its legacy notify service is
        registered again; a notify in that moment fails with "not found".
        """
        services = await self.rest("GET", "/api/services")
        notify = next(s["services"] for s in services if s["domain"] == "notify")
        self.results.notify_missing.append(account.notify not in notify)
        await wait_for_service(self.session, self.token, "notify", account.notify)

    async def quiet(self, seconds: float = SAVE_DELAY + 0.3) -> None:
        """Let delayed writes and late replies land before the next measurement."""
        await asyncio.sleep(seconds)

    def store_name(self, account: Account) -> str:
        """Return the file name of an account's store in .storage."""
        return f"{DOMAIN}.{account.entry_id}"

    # ---------------------------------------------------------------- measurements

    async def configure(self) -> None:
        """Set the options the goals assume, through the options flow."""
        for account in self.accounts.values():
            account.options = {
                "rate_limit": RATE,
                "calls_per_hour": CALLS_PER_HOUR,
                "cooldown": 0,
                "status_callback": True,
            }
            await self.set_options(account)
        self.results.check_every = self.main.form.get("check_every")

    async def one_call(self, variant: str, index: int) -> float:
        """Issue one call by ``variant``; return issued → request at the provider."""
        message = f"bench {variant} {index}"
        [phone] = self.phones(1)
        arrived = self.requests.collect(
            lambda request: request.params.get("message") == message,
            1,
            len(self.requests),
        )
        if variant == "bare":
            issued, _ = await self.bare_get(
                "send_voice.php", self.bare_send_params(phone, message)
            )
            [request] = await arrived.wait(10, message)
            return request.received_at - issued
        outcome = self.watch_outcomes([(phone, message)], len(self.finished))
        if variant == "notify":
            issued, reply = await self.notify([phone], message)
        else:
            if variant == "call":
                domain, service = DOMAIN, "call"
                data = {
                    "target": [phone],
                    "message": message,
                    "config_entry_id": self.main.entry_id,
                }
            else:
                domain, service = "rest_command", "twsms_call"
                data = {"phone": phone, "message": message}
            command = {
                "type": "call_service",
                "domain": domain,
                "service": service,
                "service_data": data,
            }
            issued = time.monotonic()
            reply = await self.socket.send(command)
        [request] = await arrived.wait(10, message)
        await self.settle([reply])
        if variant != "rest":  # wait for the outcome: the next run starts quiet
            await outcome.wait(10, message)
            self.writes.drain()
            written = [
                moment
                for moment, name, _ in self.writes.writes[-8:]
                if name == self.store_name(self.main)
                and issued <= moment <= request.received_at
            ]
            if written:
                self.results.store_first.setdefault(variant, []).append(
                    (written[0] - issued, request.received_at - written[0])
                )
        return request.received_at - issued

    async def measure_dispatch(self) -> None:
        """Row 1: one call, issued → at the provider, the variants interleaved."""
        variants = ["notify", "call", "rest", "bare"]
        latency: dict[str, list[float]] = {variant: [] for variant in variants}
        for index in range(self.sizes.warmup + self.sizes.dispatch_runs):
            self.random.shuffle(variants)
            for variant in variants:
                seconds = await self.one_call(variant, index)
                if index >= self.sizes.warmup:
                    latency[variant].append(seconds)
                await asyncio.sleep(self.random.uniform(0.002, 0.008))
        self.results.latency = latency

    async def measure_isolated_writes(self) -> None:
        """Row 4: store writes of calls made one at a time, each write landed."""
        await self.quiet()
        start = time.monotonic()
        for index in range(self.sizes.isolated_calls):
            [phone] = self.phones(1)
            await self.place_and_finish([phone], f"bench isolated {index}", 10)
            await self.quiet()
        sizes = self.writes.between(self.store_name(self.main), start, time.monotonic())
        self.results.writes_isolated = (
            len(sizes),
            self.sizes.isolated_calls,
            sizes[-1] if sizes else 0,
        )

    async def measure_idle(self) -> None:
        """Row 8: nothing pending, nothing asked for; also the CPU baseline."""
        await self.quiet()
        await self.probe("reset")
        requests = len(self.requests)
        ticks, nanoseconds = _cpu_ticks(self.pid), _cpu_ns(self.pid)
        start = time.monotonic()
        await asyncio.sleep(self.sizes.idle_seconds)
        elapsed = time.monotonic() - start
        spent = _cpu_ticks(self.pid) - ticks
        self.results.idle_ns_per_s = (_cpu_ns(self.pid) - nanoseconds) / elapsed
        lag = await self.probe("lag")
        self.results.idle_lag = max(self.results.idle_lag, lag["max_late"])
        self.results.idle_seconds += elapsed
        self.results.idle_requests += sum(
            self._integration(request) for request in self.requests[requests:]
        )
        self.results.idle_ticks_per_s = spent / elapsed

    async def measure_cpu(self) -> None:
        """Row 3 (and 4, back to back): CPU of Home Assistant per call, per variant."""
        await self.measure_idle()
        ticks_per_s = os.sysconf("SC_CLK_TCK")
        spent_by: dict[str, float] = {"notify": 0.0, "rest": 0.0}  # ticks
        ns_by: dict[str, float] = {"notify": 0.0, "rest": 0.0}
        calls_by: dict[str, int] = {"notify": 0, "rest": 0}
        start = time.monotonic()
        variants = ["notify", "rest"]
        for block in range(self.sizes.cpu_blocks):
            self.random.shuffle(variants)
            for variant in variants:
                name = f"one block of {self.sizes.cpu_block_calls} {variant} calls"
                profiling = self.profile and name not in self.results.profiles
                if profiling:
                    await self.probe("profile_start")
                ticks, nanoseconds = _cpu_ticks(self.pid), _cpu_ns(self.pid)
                began = time.monotonic()
                for index in range(self.sizes.cpu_block_calls):
                    await self.one_call(variant, 100_000 + block * 1000 + index)
                took = time.monotonic() - began
                used = _cpu_ticks(self.pid) - ticks
                ns_by[variant] += (
                    _cpu_ns(self.pid) - nanoseconds - self.results.idle_ns_per_s * took
                )
                if profiling:
                    self.results.profiles[name] = (await self.probe("profile_stop"))[
                        "text"
                    ]
                spent_by[variant] += used - self.results.idle_ticks_per_s * took
                calls_by[variant] += self.sizes.cpu_block_calls
        await self.quiet()
        writes = self.writes.between(
            self.store_name(self.main), start, time.monotonic()
        )
        self.results.writes_back_to_back = (len(writes), calls_by["notify"])
        self.results.cpu_ms_ticks = {
            variant: 1000 * spent_by[variant] / ticks_per_s / calls_by[variant]
            for variant in variants
        }
        self.results.cpu_ms = {
            variant: ns_by[variant] / 1e6 / calls_by[variant] for variant in variants
        }

    async def burst(self, count: int, index: int, account: Account) -> None:
        """Row 2: one notify to ``count`` numbers at the rate limit."""
        await self.quiet()
        message = f"bench burst {index}"
        targets = self.phones(count)
        arrived = self.requests.collect(
            lambda request: request.params.get("message") == message,
            count,
            len(self.requests),
        )
        await self.probe("reset")
        others = OtherLoad(self.pid)
        name = f"the first {count}-target burst"
        profiling = self.profile and count >= 400 and name not in self.results.profiles
        slow = self.profile and count >= 400 and not profiling
        if profiling:
            await self.probe("profile_start")
        if slow:
            await self.probe("slow_start")
        issued = await self.place_and_finish(targets, message, 120, account)
        ended = time.monotonic()
        lag = await self.probe("lag")
        if profiling:
            self.results.profiles[name] = (await self.probe("profile_stop"))["text"]
        if slow:
            self.results.profiles[
                f"a {count}-target burst, asyncio debug mode (callbacks over 5 ms)"
            ] = "\n".join((await self.probe("slow_stop"))["slow"]) or "none"
        received = [request.received_at for request in await arrived.wait(5, message)]
        most, over = _window_max(received)
        self.results.stall_stacks.append(
            (
                count,
                lag["max_late"],
                lag["max_at"] - issued,
                lag["stall_samples"],
                others.seconds(),
            )
        )
        self.results.bursts.setdefault(count, []).append(
            {
                "first": min(received) - issued,
                "stall": lag["max_late"],
                "stall_at": lag["max_at"] - issued,
                "gc_max": lag["gc_max"],
                "gc_generation": lag["gc_max_generation"],
                "rate": _rate(received),
                "most": most,
                "over": over,
            }
        )
        if index == 0:  # row 4: what one burst writes
            await self.quiet()
            sizes = self.writes.between(
                self.store_name(account), issued, time.monotonic()
            )
            self.results.writes_burst = (len(sizes), count, max(sizes, default=0))
            self.results.burst_writes_at = [
                moment - issued
                for moment, name, _ in self.writes.writes
                if name == self.store_name(account) and moment >= issued
            ]
            self.results.burst_span = ended - issued

    async def measure_bursts(self) -> None:
        """Row 2 for each burst size, then the bare paced reference.

        Two accounts take turns, so that neither reaches the hourly cap. Status
        reports come 0.5 s after each call from here on: a burst must not outrun
        its own reports.
        """
        self.sim.outcome_delay = 0.5
        accounts = [self.accounts[name] for name in EXTRA_ACCOUNTS[:2]]
        for index, count in enumerate(self.sizes.bursts):
            await self.burst(count, index, accounts[index % 2])
        start = len(self.requests)
        await self.paced_sends(self.phones(self.sizes.paced_reference), "bench paced")
        received = [
            request.received_at
            for request in self.requests[start:]
            if request.params.get("message") == "bench paced"
        ]
        most, over = _window_max(received)
        self.results.paced_rate = (_rate(received), most, over)

    async def outage(self, trial: int, outage: float) -> None:
        """Row 5, once: calls queued while the provider is down, sent once it is back."""
        await self.quiet()
        count = self.sizes.outage_calls
        message = f"bench outage {trial}"
        tried = self.requests.collect(
            lambda request: request.params.get("message") == message,
            count,
            len(self.requests),
        )
        phones = self.phones(count)
        calls = [(phone, message) for phone in phones]
        placed = self.watch_calls(calls)
        self.sim.down = 503
        events_start = len(self.finished)
        issued, reply = await self.notify(phones, message)
        await self.settle([reply])
        await tried.wait(10, f"first attempts of {message!r}")
        await asyncio.sleep(max(0.0, issued + outage - time.monotonic()))
        self.sim.add_fault(
            FaultKind.DELAY, times=1_000_000, seconds=0.2, endpoint="send_voice"
        )
        requests = len(self.requests)
        self.sim.down = None
        recovered = time.monotonic()
        placements = await placed.wait(60, f"calls of {message!r} after the outage")
        last = max(call.placed_at for call in placements)
        first = min(
            request.received_at
            for request in self.requests[requests:]
            if self._integration(request) and request.endpoint == "send_voice"
        )
        await self.watch_outcomes(calls, events_start).wait(
            30, f"outcomes of {message!r}"
        )
        self.sim.clear_faults()
        self.results.outage.append(
            {
                "total": last - recovered,
                "noticed": first - recovered,
                "drain": last - first,
            }
        )

    async def measure_outage(self) -> None:
        """Row 5: each trial, then the bare paced concurrent reference."""
        for trial, outage in enumerate(self.sizes.outages):
            await self.outage(trial, outage)
        count = self.sizes.outage_calls
        for repeat in range(self.sizes.references):
            message = f"bench outage reference {repeat}"
            phones = self.phones(count)
            placed = self.watch_calls((phone, message) for phone in phones)
            self.sim.add_fault(
                FaultKind.DELAY, times=count, seconds=0.2, endpoint="send_voice"
            )
            start = await self.paced_sends(phones, message)
            calls = await placed.wait(10, message)
            self.results.outage_reference.append(
                max(call.placed_at for call in calls) - start
            )
            self.sim.clear_faults()

    def queries_for(self, msgids: set[int] | dict[int, PlacedCall]) -> list[float]:
        """Return when the simulator received each query about one of ``msgids``."""
        return [
            request.received_at
            for request in self.requests
            if request.endpoint == "query_voice"
            and int(request.params.get("msgid", "0")) in msgids
        ]

    async def measure_polling(self) -> None:
        """Rows 6 and 7, polling only: one round over 20 calls, then a realistic mix.

        Both sets of calls are placed together; the round's calls are busy lines
        (known after 4-12 s), so all 20 are due and known at the first query 25 s
        after placing, seconds before the first queries of the realistic calls.
        """
        await self.set_options(self.main, status_callback=False)
        self.sim.timing = CallTiming(seed=7)
        round_phones = self.phones(self.sizes.round_calls)
        for phone in round_phones:
            self.sim.phones[phone] = PhoneBehaviour(status="Busy")
        mix = ["FarEnd"] * 70 + ["NoAnswer"] * 20 + ["Busy"] * 10
        self.random.shuffle(mix)
        realistic_phones = self.phones(self.sizes.realistic_calls)
        for number, phone in enumerate(realistic_phones):
            self.sim.phones[phone] = PhoneBehaviour(status=mix[number % len(mix)])
        events_start = len(self.finished)
        round_calls = [(phone, "bench polling round") for phone in round_phones]
        real_calls = [(phone, ALARM) for phone in realistic_phones]
        round_placed = self.watch_calls(round_calls)
        real_placed = self.watch_calls(real_calls)
        _, round_reply = await self.notify(round_phones, "bench polling round")
        _, real_reply = await self.notify(realistic_phones, ALARM)
        await self.settle([round_reply, real_reply])
        await round_placed.wait(30, "the calls of the polling round")
        await real_placed.wait(30, "the realistic calls")
        for _ in range(self.sizes.reloads):  # samples of the reload time, meanwhile
            await asyncio.sleep(1.0)
            await self.reload()
        round_events = await self.watch_outcomes(round_calls, events_start).wait(
            120, "the polling round"
        )
        round_ids = self.placed_ids(round_calls)
        self.results.poll_round = max(e.arrival for e in round_events) - min(
            self.queries_for(round_ids)
        )
        username, password = develop.TWSMS_ACCOUNT.values()
        ids = sorted(round_ids)
        for _ in range(self.sizes.references):
            start, ends = await self.paced(
                len(ids),
                lambda i: (
                    "query_voice.php",
                    {"username": username, "password": password, "msgid": str(ids[i])},
                ),
            )
            self.results.poll_reference.append(max(ends) - start)
        real_events = await self.watch_outcomes(real_calls, events_start).wait(
            240, "the realistic calls' outcomes"
        )
        completed = [
            e for e in real_events if e.msgid is not None and e.status != "unknown"
        ]
        self.results.queries_per_call = len(
            self.queries_for(self.placed_ids(real_calls))
        ) / max(1, len(completed))
        self.results.outcome_lag = [
            e.arrival - self.placements[e.msgid].ended_at
            for e in completed
            if e.msgid is not None
        ]
        for event in real_events:
            self.results.outcome_mix[event.status] = (
                self.results.outcome_mix.get(event.status, 0) + 1
            )
        await self.measure_idle()  # row 8 again, now that calls are followed by polling
        self.sim.timing = None
        await self.set_options(self.main, status_callback=True)

    async def measure_memory(self) -> None:
        """Row 9: RSS of Home Assistant after gc, before, halfway and after many calls.

        An account of its own, which nothing else called this hour: the hourly cap
        (at most 1,000) must not refuse any of them.
        """
        account = self.accounts[EXTRA_ACCOUNTS[2]]
        await self.quiet()
        self.results.blocks = [(await self.probe("gc"))["blocks"]]
        self.results.rss_kib = [_rss_kib(self.pid)]
        half = self.sizes.rss_calls // 2
        for part, count in enumerate((half, self.sizes.rss_calls - half)):
            await self.memory_part(account, part, count)
            await self.quiet()
            self.results.blocks.append((await self.probe("gc"))["blocks"])
            self.results.rss_kib.append(_rss_kib(self.pid))
        self.results.rss_calls = self.sizes.rss_calls

    async def memory_part(self, account: Account, part: int, count: int) -> None:
        """``count`` notifies of one call each, sent at RATE per second; await all."""
        events_start = len(self.finished)
        calls = [
            (phone, f"bench memory {part} {number}")
            for number, phone in enumerate(self.phones(count))
        ]
        placed = self.watch_calls(calls)
        replies = []
        start = time.monotonic()
        for number, (phone, message) in enumerate(calls):
            await asyncio.sleep(max(0.0, start + number / RATE - time.monotonic()))
            replies.append((await self.notify([phone], message, account))[1])
        await self.settle(replies)
        await placed.wait(120, "the memory run's calls")
        await self.watch_outcomes(calls, events_start).wait(
            60, "the memory run's outcomes"
        )

    async def measure_setup(self) -> None:
        """Row 9: disable, then enable the main entry (a full setup), timed.

        Last, because enabling an entry re-enables its entities, after which Home
        Assistant reloads the entry once more, 30 s later.
        """
        for _ in range(self.sizes.setups):
            entry_id = self.main.entry_id
            await self.socket.call(
                {
                    "type": "config_entries/disable",
                    "entry_id": entry_id,
                    "disabled_by": "user",
                }
            )
            started = time.monotonic()
            await self.socket.call(
                {
                    "type": "config_entries/disable",
                    "entry_id": entry_id,
                    "disabled_by": None,
                }
            )
            self.results.setups.append(time.monotonic() - started)
            await self.expect_loaded(self.main)
            await self.expect_notify(self.main)

    async def run(self) -> None:
        """Every measurement, in an order that keeps each one clean."""
        self.sim.outcome_delay = self.sizes.report_after  # reports come at once
        phases: list[tuple[str, Callable[[], Awaitable[None]]]] = [
            ("options through the options flow", self.configure),
            ("one call, interleaved (row 1)", self.measure_dispatch),
            ("store writes of isolated calls (row 4)", self.measure_isolated_writes),
            ("idle, then CPU per call (rows 8, 3)", self.measure_cpu),
            ("bursts (row 2)", self.measure_bursts),
            ("calls queued during an outage (row 5)", self.measure_outage),
        ]
        if self.sizes.polling:
            phases.append(
                ("polling: a round, a realistic mix (rows 6, 7)", self.measure_polling)
            )
        else:
            phases.append(("reloads (row 9)", self.reloads))
        phases += [
            ("memory (row 9)", self.measure_memory),
            ("setup (row 9)", self.measure_setup),
        ]
        for name, phase in phases:
            started = time.monotonic()
            others = OtherLoad(self.pid)
            print(f"bench: {name}", end="", flush=True)
            await phase()
            took, busy = time.monotonic() - started, others.seconds()
            self.results.others.append((name, took, busy))
            print(f": {took:.1f} s (other processes: {busy:.1f} s of CPU)", flush=True)
        self.count_mishaps()

    def count_mishaps(self) -> None:
        """Count calls the integration placed twice, and the errors it logged.

        No reply was lost in any measurement, so the at-least-once guarantee
        allows no second placement here.
        """
        placed = Counter(
            (call.username, call.phone, call.params.get("message"))
            for call in self.placements.values()
            if call.username in self.accounts
        )
        self.results.placed_twice = sum(count - 1 for count in placed.values())
        log = (self.config / "home-assistant.log").read_text(encoding="utf-8")
        self.results.unexpected_errors = log.count("Unexpected error")

    async def reloads(self) -> None:
        """Time reloads alone, when no polling run gives them a place."""
        for _ in range(self.sizes.reloads):
            await self.reload()


# --------------------------------------------------------------------------- the table


def _rows(results: Results, sizes: Sizes) -> list[Row]:  # noqa: C901
    judge = not sizes.smoke
    rows: list[Row] = []
    lat = results.latency
    n = len(lat["bare"])

    def p(values: list[float]) -> str:
        p50, p99 = _p50_p99(values)
        return f"{_ms(p50)} / {_ms(p99)}"

    def over(variant: str) -> list[float]:
        return [a - b for a, b in zip(lat[variant], lat["bare"], strict=True)]

    rows.append(
        Row(
            f"one call: issued → request at the provider, p50 / p99 (ms), n={n}",
            f"notify {p(lat['notify'])}; call {p(lat['call'])}",
            p(lat["rest"]),
            p(lat["bare"]),
        )
    )
    overs = {variant: _p50_p99(over(variant)) for variant in ("notify", "call", "rest")}
    split = [pair for pairs in results.store_first.values() for pair in pairs]
    store_note = (
        f" [p50 issued → store written {_ms(_quantile([a for a, _ in split], 0.5))}, "
        f"written → request {_ms(_quantile([b for _, b in split], 0.5))}]"
        if split
        else ""
    )
    rows.append(
        Row(
            "dispatch over the bare GET (paired per run), p50; p99 (ms)",
            f"notify {_ms(overs['notify'][0])}; {_ms(overs['notify'][1])} · "
            f"call {_ms(overs['call'][0])}; {_ms(overs['call'][1])}{store_note}",
            f"{_ms(overs['rest'][0])}; {_ms(overs['rest'][1])}",
            "0 (the floor)",
            "< 1.0 ms; p99 < 3 ms",
            all(o[0] < 0.001 and o[1] < 0.003 for k, o in overs.items() if k != "rest")
            if judge
            else None,
        )
    )
    cpu, ticks = results.cpu_ms, results.cpu_ms_ticks
    rows.append(
        Row(
            f"Home Assistant CPU per call (ms), idle subtracted, "
            f"n={sizes.cpu_blocks * sizes.cpu_block_calls} each: schedstat "
            "[utime + stime]",
            (
                f"{cpu['notify']:.2f} ({cpu['notify'] / cpu['rest']:.1f}× rest_command)"
                if cpu["rest"] > 0
                else f"{cpu['notify']:.2f}"
            )
            + f" [{ticks['notify']:.2f}]",
            f"{cpu['rest']:.2f} [{ticks['rest']:.2f}]",
            "— (not in Home Assistant)",
            "≤ 3× rest_command",
            cpu["notify"] <= 3 * cpu["rest"] if judge else None,
        )
    )
    for count, runs in sorted(results.bursts.items()):
        first = [run["first"] for run in runs]
        stall = [run["stall"] for run in runs]
        big = count == max(results.bursts)
        where = "; ".join(
            f"{run['stall'] * 1000:.1f} at +{run['stall_at']:.2f} s, longest gc "
            f"{run['gc_max'] * 1000:.1f} (gen {run['gc_generation']:.0f})"
            for run in runs
        )
        rows.append(
            Row(
                f"{count} targets in one notify: longest loop stall; first request "
                "(ms) [each run's stall: when after the notify; the longest garbage "
                "collection meanwhile]",
                f"{_spread(stall, 0.001)}; {_spread(first, 0.001)} [{where}]",
                "—",
                "—",
                "< 20 ms; < 20 ms (worst run)" if big else "—",
                (max(stall) < 0.020 and max(first) < 0.020) if big and judge else None,
            )
        )
    runs = [run for each in results.bursts.values() for run in each]
    rates = [run["rate"] for run in runs]
    most = max(int(run["most"]) for run in runs)
    windows = sum(int(run["over"]) for run in runs)
    paced_rate, paced_most, paced_over = results.paced_rate
    rows.append(
        Row(
            f"burst rate at the provider, limit {RATE}/s: achieved (% of limit); "
            f"most in any 1 s; windows above the limit",
            f"{_spread(rates, 1, 1)} /s, worst {100 * min(rates) / RATE:.1f} %; "
            f"{most}; {windows}",
            "—",
            f"{sizes.paced_reference} GETs paced 1/{RATE} s: {paced_rate:.1f} /s; "
            f"{paced_most}; {paced_over}",
            "≥ 95 % of the limit; 0 windows above it",
            (min(rates) >= 0.95 * RATE and windows == 0) if judge else None,
        )
    )
    iso_writes, iso_calls, iso_bytes = results.writes_isolated
    b2b_writes, b2b_calls = results.writes_back_to_back
    burst_writes, burst_calls, burst_bytes = results.writes_burst
    rows.append(
        Row(
            "store writes (.storage/twsms_voice.*) per call: one at a time; back to back",
            f"{iso_writes / iso_calls:.2f} ({iso_bytes / 1024:.1f} KiB each); "
            f"{b2b_writes / max(1, b2b_calls):.2f}",
            "— (stores nothing)",
        )
    )
    rows.append(
        Row(
            f"store writes for one {burst_calls}-target notify (until every outcome)",
            f"{burst_writes} ({burst_writes / max(1, burst_calls):.2f} per call; "
            f"largest {burst_bytes / 1024:.1f} KiB; at "
            f"{', '.join(f'+{at:.1f}' for at in results.burst_writes_at)} s, "
            f"the last outcome at +{results.burst_span:.1f} s)",
            "— (stores nothing)",
        )
    )
    totals = [trial["total"] for trial in results.outage]
    bound = sizes.outage_calls / RATE + 0.5
    rows.append(
        Row(
            f"{sizes.outage_calls} calls queued in an outage, provider 200 ms away: "
            "recovery → last placement (s)",
            f"{_spread(totals)} [noticed after {_spread([t['noticed'] for t in results.outage])}; "
            f"then {_spread([t['drain'] for t in results.outage])}]",
            "—",
            f"paced concurrent: {_spread(results.outage_reference)}",
            f"≤ {sizes.outage_calls}/limit + 0.5 s = {bound:.2f} s (worst trial)",
            max(totals) <= bound if judge else None,
        )
    )
    if results.poll_round is not None:
        rows.append(
            Row(
                f"one polling round over {sizes.round_calls} pending calls: "
                "first query → last outcome in Home Assistant (s)",
                f"{results.poll_round:.2f}",
                "—",
                f"paced concurrent: {_spread(results.poll_reference)}",
            )
        )
    if results.queries_per_call is not None:
        mix = ", ".join(f"{k} {v}" for k, v in sorted(results.outcome_mix.items()))
        lag = results.outcome_lag
        rows.append(
            Row(
                f"polling only, {sizes.realistic_calls} realistic calls ({mix}): queries "
                "per completed call; outcome known − call end, median (min–max, p90) (s)",
                f"{results.queries_per_call:.2f}; {statistics.median(lag):.1f} "
                f"({min(lag):.1f}–{max(lag):.1f}, p90 {_quantile(lag, 0.9):.1f})",
                "—",
                "—",
                "≤ 1.3 queries per call; ≤ 15 s (median)",
                (results.queries_per_call <= 1.3 and statistics.median(lag) <= 15)
                if judge
                else None,
            )
        )
    per_hour = results.idle_requests / results.idle_seconds * 3600
    check = (
        f" (and by design one account check every {results.check_every} h, "
        "option check_every: too rare to show here)"
        if results.check_every
        else ""
    )
    rows.append(
        Row(
            f"idle: requests per hour ({results.idle_requests} in "
            f"{results.idle_seconds:.0f} s, extrapolated)",
            f"{per_hour:.0f}{check}",
            "—",
            "—",
            "0 requests",
            results.idle_requests == 0 if judge else None,
        )
    )
    rows.append(
        Row(
            "config entry: setup (enable); reload, median (min–max) (ms); "
            "notify service missing when the entry is loaded again",
            f"{_spread(results.setups, 0.001, 0)}; {_spread(results.reloads, 0.001, 0)}; "
            f"{sum(results.notify_missing)} of {len(results.notify_missing)} times",
        )
    )
    rows.append(
        Row(
            "sanity: calls the provider got twice (no reply was lost); "
            "`Unexpected error` in the log",
            f"{results.placed_twice}; {results.unexpected_errors}",
            "—",
            "—",
            "— (0; 0 expected)",
        )
    )
    rss, blocks = results.rss_kib, results.blocks
    rows.append(
        Row(
            f"memory of Home Assistant after gc, over {results.rss_calls} calls: "
            "RSS (KiB); allocated blocks (sys.getallocatedblocks)",
            f"{rss[-1] - rss[0]:+,} KiB ({rss[0]:,} → {rss[1]:,} → {rss[-1]:,} at "
            f"0 / half / all); {blocks[-1] - blocks[0]:+,} blocks "
            f"({(blocks[1] - blocks[0]) / max(1, results.rss_calls // 2):+.1f} per call "
            f"in the first half, "
            f"{(blocks[2] - blocks[1]) / max(1, results.rss_calls - results.rss_calls // 2):+.1f}"
            " in the second)",
            "—",
            "—",
            f"flat after gc over 10,000 calls: measured over {results.rss_calls:,}",
            None,
        )
    )
    return rows


def _short_path(line: str) -> str:
    """Cut the install prefix off the file names of a formatted stack."""
    for marker in ("site-packages/", "custom_components/", "lib/python3.14/"):
        if marker in line:
            head, _, tail = line.partition('File "')
            return f'{head}File "{tail.split(marker, 1)[1]}' if tail else line
    return line


def _stalls(results: Results) -> str:
    """Describe where Home Assistant's loop was during each burst's longest stall."""
    parts = [
        "## Where the longest stall of each burst was\n",
        (
            "`bench_probe` runs a watchdog thread that samples the event loop "
            "thread's stack (`sys._current_frames()`) every 2 ms while the loop is "
            "more than 8 ms behind, and keeps the samples of the longest such "
            "episode. A sample in `select` means the loop thread was not running "
            "Python code there: it waited for the CPU or the GIL, or the episode was "
            "ending. The commonest other stack is shown, innermost frame last.\n"
        ),
    ]
    for count, stall, at, samples, busy in results.stall_stacks:
        parts.append(
            f"**{count} targets**: {stall * 1000:.1f} ms, +{at:.2f} s after the "
            f"notify; other processes used {busy:.2f} s of CPU during the burst."
        )
        if not samples:
            parts.append(" No episode over 8 ms was sampled.\n")
            continue
        waiting = [s for s in samples if "in select" in s.rstrip().splitlines()[-2]]
        working = Counter(stack for stack in samples if stack not in waiting)
        summary = f" {len(samples)} samples, {len(waiting)} in `select`."
        if not working:
            parts.append(summary + "\n")
            continue
        stack, seen = working.most_common(1)[0]
        lines = [_short_path(line) for line in stack.rstrip().splitlines()]
        parts.append(
            f"{summary} The commonest running stack ({seen} of {len(samples)}):"
            "\n\n```\n" + "\n".join(lines) + "\n```\n"
        )
    return "\n".join(parts)


def _table(rows: list[Row], *, smoke: bool) -> str:
    lines = [
        "| figure | twsms_voice | rest_command | bare GET | goal | met? |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        if smoke:
            met = "not judged"
        elif row.met is None:
            met = "—"
        else:
            met = "yes" if row.met else "**no**"
        lines.append(
            f"| {row.figure} | {row.twsms} | {row.rest} | {row.bare} | {row.goal} | {met} |"
        )
    return "\n".join(lines)


METHOD: Final = """\
## How it is measured

- **Set-up.** The TwSMS simulator runs inside the bench process; Home Assistant runs
  as its own process (`hass --config <scratch> --skip-pip`) with the integration
  linked into its `custom_components`, onboarded and configured by the helpers of
  `scripts/develop.py`, plus a YAML `rest_command` and `bench_probe` (below). The
  configuration has `frontend:` and `config:` but not `default_config:`, so no
  recorder writes the integration's state changes to a database. The integration
  logs at `warning`, as a user's would. What onboarding sets up besides (weather,
  radio, text-to-speech, shopping list) is deleted: without internet its retries
  would only add noise. Options are set through the options flow over the REST API:
  rate limit {rate}/s, {cap} calls per hour, cooldown 0, status reports on (the
  instance has an external URL, so every call asks the simulator to report to the
  account's webhook), except in the polling rows; every other field keeps what the
  form suggests. The simulator reports each outcome 30 ms after placing the call
  (0.5 s from the bursts on), so each call's whole life, report included, happens
  inside its measurement.
- **Four TwSMS accounts.** The calls-per-hour option is at most {cap} and one run
  places about 3,000 calls, so the main account (`notify.twsms_voice`, with the two
  contacts `scripts/develop.py` adds) serves rows 1 and 3–8, two more
  (`notify.twsms_voice_bursta`, `…_burstb`) take turns with the bursts, and a fourth
  (`…_memory`) serves the memory row. None reaches its cap.
- **Clocks.** Service calls go over one websocket. "Issued" is when the bench sends
  the message, "at the provider" the simulator's `received_at`; both are
  `time.monotonic()`, one clock on one machine. "Outcome known" is the arrival of the
  `twsms_voice_call_finished` event over the websocket.
- **rest_command** is `url: "…/send_voice.php?username=…&password=…&type=1&phone={{{{
  phone }}}}&message={{{{ message | urlencode }}}}"`, what a user would write instead of
  the integration. **bare GET** is one aiohttp GET from the bench process to the
  simulator: the floor.
- **Row 1.** {runs} runs after {warmup} of warm-up; in each run `notify.twsms_voice`,
  `twsms_voice.call`, `rest_command` and the bare GET go in a shuffled order, each
  after the previous one has finished (for the integration: its outcome event came).
  "Over the bare GET" is each run's latency minus the same run's bare GET, so its
  p50 and p99 are of paired differences. The split in brackets places the write of
  the account's store (inotify, below) between the two ends.
- **Loop stall** comes from `bench_probe`, a custom component written into the
  scratch configuration: a timer due every 5 ms (`loop.call_at`) records how late it
  runs. The figure is the longest lateness from just before the notify until its
  last outcome; a stall of S shows as a lateness between S − 5 ms and S. Idle, the
  longest lateness was {idle_lag:.1f} ms.
- **CPU** is the CPU time of the hass process over {blocks} interleaved blocks of
  {block} calls per variant, minus the idle rate times the block's wall time. The
  figure judged sums `/proc/<pid>/task/*/schedstat` (ns; idle {idle_ms:.1f} ms/s);
  utime + stime from `/proc/<pid>/stat` (all threads, idle {idle_ticks:.2f} ticks/s)
  is shown in brackets, but its 10 ms ticks are too coarse for the `rest_command`
  figure (a few ticks in all). A call of the integration is counted until its
  outcome event: receiving the status report, updating the sensors and writing the
  store are part of it. A `rest_command` call has no such life. Both include
  sending the bench its websocket messages (the service result; for the
  integration also the outcome event).
- **Store writes** are counted with inotify: Home Assistant writes a store to a
  temporary file and renames it into place, one `IN_MOVED_TO` of
  `.storage/twsms_voice.<entry id>` per write. "One at a time" waits 1.3 s after each
  call's outcome; "back to back" counts over the CPU row's calls. The scratch
  directory is on {filesystem}.
- **Bursts** are one notify to 200 numbers, then twice to 400. Rate = (n − 1) / (last
  − first arrival); a window is the second before each arrival, and it is "above the
  limit" when it holds more than {rate}. The bare reference is {paced} GETs started
  exactly 1/{rate} s apart.
- **Outage.** The simulator answers 503 (`down`) while {outage_calls} calls are
  queued by one notify; after {outages} s (one trial each) it is back and answers each
  send after 200 ms (a `DELAY` fault). "Noticed" is recovery → the first send that
  reaches it; "then" is that send → the last placement. The reference is
  {outage_calls} bare GETs started 1/{rate} s apart, concurrently, with the same delay.
- **Polling** (status reports off): {round_calls} busy lines (known 4–12 s after
  placing) and {realistic} calls under the simulator's `CallTiming(seed=7)` (70 %
  answer after 3–20 s of ringing and listen to the message, 20 % ring 30 s unanswered,
  10 % are busy; each outcome is known 2–10 s after the call ends) are placed
  together. The round is the first query about the {round_calls} → the last of their
  outcome events; "call end" is the simulator's `ended_at`. {reloads} reloads of the
  entry (REST, as the UI's Reload) are timed while these calls wait, before any
  query is due.
- **Idle** counts the integration's requests while nothing is pending, in two
  windows (after the calls with status reports, after the polled ones), and
  extrapolates to an hour: it shows only that none came in that time.
- **Setup** is enabling the disabled main entry (`config_entries/disable` over the
  websocket, timed to its reply), {setups} times, last of all: enabling an entry
  re-enables its entities, and Home Assistant then reloads the entry once more, 30 s
  later. After each setup and reload the bench also checks whether
  `notify.twsms_voice` is registered the moment the entry reads `loaded`.
- **Memory** is VmRSS of the hass process and `sys.getallocatedblocks()`, each after
  `gc.collect()` (a `bench_probe` request), before, halfway and after {rss} calls, one
  notify each, sent at {rate}/s. The goal speaks of 10,000 calls; at {rate}/s those
  would take over 4 minutes, and no account may place more than {cap} an hour. The
  structures the integration bounds at 1,000 entries (finished calls kept for late
  waiters, the hourly cap's timestamps) fill during exactly these calls, so their
  plateau lies beyond the run: the figure is shown, not judged.
- **Sanity.** No reply was lost in any measurement, so at-least-once allows no call to
  reach the provider twice; the row counts those that did (same account, number and
  message), and the `Unexpected error` lines in Home Assistant's log.
- Where a goal names no statistic, the worst run is judged.
"""


def _method(results: Results, sizes: Sizes, config: Path) -> str:
    return METHOD.format(
        rate=RATE,
        cap=CALLS_PER_HOUR,
        runs=sizes.dispatch_runs,
        warmup=sizes.warmup,
        idle_lag=results.idle_lag * 1000,
        blocks=sizes.cpu_blocks,
        block=sizes.cpu_block_calls,
        idle_ticks=results.idle_ticks_per_s,
        idle_ms=results.idle_ns_per_s / 1e6,
        filesystem=f"{_filesystem(config)} ({config.parent})",
        outage_calls=sizes.outage_calls,
        outages=", ".join(f"{outage:g}" for outage in sizes.outages),
        round_calls=sizes.round_calls,
        realistic=sizes.realistic_calls,
        reloads=sizes.reloads,
        rss=sizes.rss_calls,
        setups=sizes.setups,
        paced=sizes.paced_reference,
    )


def _revision() -> str:
    """Name the integration's code that ran: the commit, and whether it was edited."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        edited = subprocess.run(
            ["git", "status", "--porcelain", "--", "custom_components"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except OSError, subprocess.CalledProcessError:
        return "unknown (not a git checkout)"
    return f"{head}, with uncommitted changes" if edited else head


def _load_note(results: Results) -> str:
    """Say how much CPU other processes took while the bench measured."""
    took = sum(phase[1] for phase in results.others)
    busy = sum(phase[2] for phase in results.others)
    worst = max(results.others, key=lambda phase: phase[2] / max(phase[1], 0.001))
    return (
        f"{busy:.1f} s over {took:.0f} s ({100 * busy / max(took, 0.001):.0f} % of one "
        f"core); the most in {worst[0]}: {worst[2]:.1f} s over {worst[1]:.0f} s"
    )


def _write_benchmarks(
    table: str,
    method: str,
    *,
    version: str,
    revision: str,
    command: str,
    elapsed: float,
    load: str,
) -> None:
    kept = ""
    if BENCHMARKS.exists():
        text = BENCHMARKS.read_text(encoding="utf-8")
        if KEEP_MARKER in text:
            kept = text.split(KEEP_MARKER, 1)[1]
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    header = f"""# Benchmarks

What `scripts/bench` measured (issue 9): the integration against a YAML
`rest_command` and a bare GET, in one run, on one machine. Written by the bench;
do not edit above the line at the end.

| | |
|---|---|
| command | `{command}` |
| date | {now} |
| machine | {_cpu_model()}, {os.cpu_count()} cores |
| Python | {platform.python_version()} |
| Home Assistant | {version} |
| integration | `custom_components/twsms_voice` at {revision}, when the run began |
| run took | {elapsed:.0f} s |
| CPU of other processes meanwhile | {load} |

"""
    BENCHMARKS.write_text(
        f"{header}{table}\n\n{method}\n{KEEP_MARKER}{kept or chr(10)}",
        encoding="utf-8",
    )


# --------------------------------------------------------------------------- running


def _write_config(config: Path, hass_port: int, simulator_url: str) -> None:
    username, password = REST_ACCOUNT
    (config / "configuration.yaml").write_text(
        CONFIGURATION.format(
            hass_port=hass_port,
            simulator=simulator_url,
            rest_user=username,
            rest_password=password,
        ),
        encoding="utf-8",
    )
    probe = config / "custom_components" / "bench_probe"
    probe.mkdir(parents=True, exist_ok=True)
    (probe / "manifest.json").write_text(json.dumps(PROBE_MANIFEST), encoding="utf-8")
    (probe / "__init__.py").write_text(PROBE_CODE, encoding="utf-8")
    link_integration(config)


async def _remove_onboarding_extras(session: aiohttp.ClientSession, token: str) -> None:
    """Delete what onboarding set up besides the integration; it only adds noise.

    Onboarding starts their config flows in the background: wait a little for each.
    """
    deleted: set[str] = set()
    for _ in range(12):
        entries = await hass_json(
            session, "GET", "/api/config/config_entries/entry", token
        )
        for entry in entries:
            if entry["domain"] in ONBOARDING_EXTRAS:
                await hass_json(
                    session,
                    "DELETE",
                    f"/api/config/config_entries/entry/{entry['entry_id']}",
                    token,
                )
                deleted.add(entry["domain"])
        if deleted == set(ONBOARDING_EXTRAS):
            return
        await asyncio.sleep(0.25)


async def _run(args: argparse.Namespace, config: Path) -> None:
    began = time.monotonic()
    revision = _revision()  # what Home Assistant is about to load
    sizes = Sizes.for_smoke() if args.smoke else Sizes.full()
    placements = Placements()
    requests: Feed[ReceivedRequest] = Feed()
    username, password = develop.TWSMS_ACCOUNT.values()
    simulator = TwsmsSimulator(
        accounts={
            username: SimAccount(password=password, points=10**9),
            REST_ACCOUNT[0]: SimAccount(password=REST_ACCOUNT[1], points=10**9),
            BARE_ACCOUNT[0]: SimAccount(password=BARE_ACCOUNT[1], points=10**9),
        },
        requests=requests,
        calls=placements,
    )
    simulator_url = await simulator.start("127.0.0.1", 0)
    hass_port = _free_port()
    # scripts/develop.py's helpers read where Home Assistant and the simulator are
    # from these module globals.
    develop.HASS_PORT = hass_port
    develop.HASS_URL = f"http://127.0.0.1:{hass_port}"
    develop.CLIENT_ID = f"{develop.HASS_URL}/"
    develop.SIMULATOR_URL = simulator_url
    _write_config(config, hass_port, simulator_url)
    hass = start_hass(config, quiet=True)
    bench: Bench | None = None
    try:
        async with aiohttp.ClientSession() as session:
            token = await hass_ready(session, hass)
            await _remove_onboarding_extras(session, token)
            await configure_integration(session, token)
            await wait_for_service(session, token, "notify", DOMAIN)
            await wait_for_service(session, token, "rest_command", "twsms_call")
            check_startup_log(config)
            version = (await hass_json(session, "GET", "/api/config", token))["version"]
            print(f"bench: set up in {time.monotonic() - began:.0f} s", flush=True)
            gc.collect()
            gc.freeze()
            bench = Bench(
                sizes,
                session,
                simulator,
                placements,
                requests,
                hass_url=develop.HASS_URL,
                token=token,
                pid=hass.pid,
                config=config,
                profile=args.profile,
            )
            await bench.async_start()
            try:
                await bench.run()
            finally:
                await bench.async_stop()
    except BaseException:
        log = config / "home-assistant.log"
        if log.exists():
            print(*log.read_text(encoding="utf-8").splitlines()[-40:], sep="\n")
        raise
    finally:
        hass.terminate()
        try:
            hass.wait(timeout=30)
        except subprocess.TimeoutExpired:
            hass.kill()
        await simulator.stop()
    elapsed = time.monotonic() - began
    assert bench is not None
    table = _table(_rows(bench.results, sizes), smoke=sizes.smoke)
    stalls = _stalls(bench.results)
    print()
    print(table)
    if not sizes.smoke:
        print()
        print(stalls)
    print(f"\nbench: {'smoke ' if sizes.smoke else ''}run took {elapsed:.0f} s")
    print(f"bench: CPU of other processes meanwhile: {_load_note(bench.results)}")
    for name, text in bench.results.profiles.items():
        print(f"\ncProfile of Home Assistant during {name}:\n")
        print(text)
    if not sizes.smoke and not args.no_write:
        command = shlex.join(["scripts/bench", *sys.argv[1:]])
        method = _method(bench.results, sizes, config)
        _write_benchmarks(
            f"{table}\n\n{stalls}",
            method,
            version=version,
            revision=revision,
            command=command,
            elapsed=elapsed,
            load=_load_note(bench.results),
        )
        print(f"bench: wrote {BENCHMARKS.relative_to(ROOT)}")


def main() -> None:
    """Parse the arguments and run the benchmark once."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="a few seconds: every measurement once (n=1), no goals judged, "
        "BENCHMARKS.md untouched",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile Home Assistant (cProfile) during the first 400-target burst "
        "and the first block of each variant in the CPU row, and print the result; "
        "their figures then include the profiler's cost",
    )
    parser.add_argument(
        "--no-write", action="store_true", help="do not rewrite BENCHMARKS.md"
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the scratch configuration directory (its log, its .storage)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(
        prefix="twsms-bench-", delete=not args.keep
    ) as scratch:
        if args.keep:
            print(f"bench: configuration in {scratch}", flush=True)
        asyncio.run(_run(args, Path(scratch)))


if __name__ == "__main__":
    main()
