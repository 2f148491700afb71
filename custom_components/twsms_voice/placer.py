"""Placing calls: checks and flood protection in front of the account's queue.

Two guards: the same message to the same number is placed once within the cooldown
after it was placed, and no more calls than the hourly cap are placed per account,
so that a flapping sensor cannot spend a month of points in ten minutes. Both count
calls TwSMS accepted, calls that may have rung (their answer was lost) and those on
their way (so that a burst cannot overshoot the cap); a call that never rang does
not count. A critical call passes both guards. Both are bounded in memory, however
many calls pass through.

A call asked for again while the same call still waits in the queue (TwSMS away)
joins it: one ring when TwSMS is back, not one per time the alarm fired, and the
waiting call is as young as the newest request for it.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from dataclasses import dataclass
import time
from typing import TYPE_CHECKING, Final

from homeassistant.core import Context, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError

from .audio import audio_files
from .call_record import CallState
from .calls import CallResult, CallTarget
from .const import (
    CONF_CALLS_PER_HOUR,
    CONF_COOLDOWN,
    DEFAULT_CALLS_PER_HOUR,
    DEFAULT_COOLDOWN,
    DOMAIN,
    LOGGER,
    PRIORITY_CRITICAL,
    PRIORITY_NORMAL,
)
from .errors import call_error
from .phone import mask_phone
from .queued_call import QueuedCall
from .timing import async_wait_for
from .twsms import TwsmsError

if TYPE_CHECKING:
    from .account import TwsmsAccount

HOUR: Final = 3600.0
MAX_CALLS_PER_HOUR: Final = 1000  # the option's upper bound
COOLDOWN_REMEMBERED: Final = 10_000  # the most (number, message) pairs remembered
STEP: Final = 50  # targets handled per step of the event loop


@dataclass(frozen=True, kw_only=True)
class CallTicket:
    """A call handed to the placer: its result now, or once it is placed or failed."""

    target: CallTarget
    settled: asyncio.Future[CallResult]
    queued: QueuedCall | None = None

    def result_so_far(self) -> CallResult:
        """Return the result if the call has ended already, else ``queued``."""
        if self.settled.done():
            return self.settled.result()
        return CallResult(target=self.target, queued=True)

    async def async_result(self, hass: HomeAssistant, timeout: float) -> CallResult:
        """Wait up to ``timeout`` s for the call to be placed or to fail.

        A call not placed by then is ``queued``: it goes on being tried. Cancelling
        the wait (an automation stopped) does not touch the call.
        """
        pending = CallResult(target=self.target, queued=True)
        result = await async_wait_for(hass, self.settled, timeout, pending)
        if result is pending and self.queued is not None:
            return CallResult(
                target=self.target,
                queued=True,
                error=self.queued.last_exception,
                attempts=self.queued.attempts,
            )
        return result


class CallPlacer:
    """Place calls for one account, suppressing repeats and keeping the hourly cap."""

    def __init__(self, hass: HomeAssistant, account: TwsmsAccount) -> None:
        """Serve one account; the cap and the cooldown are read from its options."""
        self._hass = hass
        self._account = account
        self._audio = audio_files(hass)
        self._recent: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._waiting: dict[tuple[str, str], QueuedCall] = {}  # queued, not placed
        self._guarded: dict[str, tuple[tuple[str, str], str]] = {}  # id: key, priority
        self._accepted: deque[float] = deque(maxlen=MAX_CALLS_PER_HOUR)
        self._on_their_way = 0
        self.suppressed_calls = 0
        self.capped_calls = 0

    async def async_submit(
        self,
        targets: list[CallTarget],
        message: str,
        voice_url: str | None = None,
        *,
        context: Context | None = None,
        priority: str = PRIORITY_NORMAL,
        repeat: bool = False,
    ) -> list[CallTicket]:
        """Check and guard each call, and queue those that pass; return at once.

        The calls are stored when this returns; the tickets tell what became of
        each. ``repeat`` (a retry of an unanswered call) passes the cooldown.
        Shielded: a caller cancelled halfway (an automation restarted) still has
        all its calls queued, and the guards' counts stay right.
        """
        return await asyncio.shield(
            self._hass.async_create_task(
                self._async_submit(
                    targets,
                    message,
                    voice_url,
                    context=context,
                    priority=priority,
                    repeat=repeat,
                ),
                f"{DOMAIN} submit calls",
            )
        )

    async def _async_submit(
        self,
        targets: list[CallTarget],
        message: str,
        voice_url: str | None,
        *,
        context: Context | None,
        priority: str,
        repeat: bool,
    ) -> list[CallTicket]:
        tickets: list[CallTicket] = []
        passed: list[CallTarget] = []
        capped = self.capped_calls
        heard = self._heard(message, voice_url)
        for index, target in enumerate(targets):
            if index and not index % STEP:
                await asyncio.sleep(0)  # a long list must not hold the event loop
            key = (target.phone, heard)
            if (twin := self._waiting_twin(key)) is not None:
                self._account.queue.renew(twin)
                LOGGER.info(
                    "Calling %s once: the same call still waits to be placed",
                    mask_phone(target.phone),
                )
                tickets.append(
                    CallTicket(target=twin.target, settled=twin.settled, queued=twin)
                )
                continue
            refusal = self._refusal(
                target, message, voice_url, key=key, priority=priority, repeat=repeat
            )
            if refusal is None:
                passed.append(target)
            else:
                tickets.append(self._settled_ticket(refusal))
        self._update_cap_issue(context, capped_now=self.capped_calls > capped)
        if not passed:
            return tickets
        calls = self._account.queue.add(passed, message, voice_url, heard)
        for call in calls:
            self._guard(call, priority)
            tickets.append(
                CallTicket(target=call.target, settled=call.settled, queued=call)
            )
        await self._account.queue.async_send(calls)
        return tickets

    def _settled_ticket(self, result: CallResult) -> CallTicket:
        settled: asyncio.Future[CallResult] = self._hass.loop.create_future()
        settled.set_result(result)
        return CallTicket(target=result.target, settled=settled)

    def _refusal(
        self,
        target: CallTarget,
        message: str,
        voice_url: str | None,
        *,
        key: tuple[str, str],
        priority: str,
        repeat: bool,
    ) -> CallResult | None:
        """Return why the call is not placed, or None to place it."""
        try:
            self._account.client.check_send(
                target.phone,
                message,
                speech=target.speech,
                voice_url=voice_url,
                response_url=self._account.response_url,
            )
        except TwsmsError as err:
            return CallResult(target=target, error=call_error(err, target.phone))
        if priority == PRIORITY_CRITICAL:
            self._remember(key)
            return None
        if self._in_cooldown(key) and not repeat:
            self.suppressed_calls += 1
            LOGGER.info(
                "Not calling %s again: same message within %s s",
                mask_phone(target.phone),
                self._cooldown,
            )
            return CallResult(target=target, suppressed=True)
        if self._calls_this_hour() + 1 > self._cap:
            self.capped_calls += 1
            return CallResult(
                target=target,
                error=HomeAssistantError(
                    translation_domain=DOMAIN,
                    translation_key="call_cap_reached",
                    translation_placeholders={"phone": target.phone},
                ),
            )
        self._remember(key)
        self._on_their_way += 1  # until the queue settles it
        return None

    @property
    def _cooldown(self) -> float:
        return float(self._account.entry.options.get(CONF_COOLDOWN, DEFAULT_COOLDOWN))

    @property
    def _cap(self) -> int:
        return int(
            self._account.entry.options.get(CONF_CALLS_PER_HOUR, DEFAULT_CALLS_PER_HOUR)
        )

    def _in_cooldown(self, key: tuple[str, str]) -> bool:
        """Tell whether the same call was placed within the cooldown (0: off)."""
        oldest = time.monotonic() - self._cooldown
        while self._recent and next(iter(self._recent.values())) < oldest:
            self._recent.popitem(last=False)
        return self._cooldown > 0 and key in self._recent

    def _waiting_twin(self, key: tuple[str, str]) -> QueuedCall | None:
        """Return the same call still waiting in the queue; a cooldown of 0: none.

        Asked for again (the alarm fired again) while TwSMS is away, it would ring
        twice the moment TwSMS is back.
        """
        return self._waiting.get(key) if self._cooldown > 0 else None

    def _remember(self, key: tuple[str, str]) -> None:
        self._recent[key] = time.monotonic()
        self._recent.move_to_end(key)
        if len(self._recent) > COOLDOWN_REMEMBERED:
            self._recent.popitem(last=False)

    def _calls_this_hour(self) -> int:
        """Count the calls accepted within the hour and those on their way."""
        oldest = time.monotonic() - HOUR
        while self._accepted and self._accepted[0] <= oldest:
            self._accepted.popleft()
        return len(self._accepted) + self._on_their_way

    def _heard(self, message: str, voice_url: str | None) -> str:
        """Return what is heard: with the number, what makes two calls the same call.

        Audio made here gets a new URL each time; what it says is what counts.
        """
        return self._audio.source(voice_url) or voice_url or message

    @callback
    def adopt(self, calls: list[QueuedCall]) -> None:
        """Guard the calls a previous run left queued as if just asked for.

        Otherwise the same alarm fired again after a start would ring beside its
        restored call, and neither would count for the hour. Their priority is not
        stored: they count as normal ones (towards fewer calls, never more).
        """
        for call in calls:
            self._guard(call, PRIORITY_NORMAL)
            self._on_their_way += 1

    def _guard(self, call: QueuedCall, priority: str) -> None:
        """Follow a queued call until the queue says it ended (`call_settled`)."""
        if call.heard is None:  # stored by an older version
            call.heard = self._heard(call.message, call.voice_url)
        key = (call.target.phone, call.heard)
        self._waiting[key] = call
        self._guarded[call.id] = (key, priority)

    @callback
    def call_settled(self, call: QueuedCall, result: CallResult) -> None:
        """Count a call that ended, in the same step (the queue calls this).

        A call that rang (or may have) counts for the hour, and its cooldown runs
        from now; one that never rang may be tried again at once. Done at once,
        not in a future's callback: a request in between must not see it waiting.
        """
        if (guard := self._guarded.pop(call.id, None)) is None:
            return
        key, priority = guard
        if priority != PRIORITY_CRITICAL:
            self._on_their_way -= 1
        if self._waiting.get(key) is call:
            del self._waiting[key]
        if result.sent is not None or result.outcome is CallState.UNKNOWN:
            self._accepted.append(time.monotonic())
            self._remember(key)
        elif result.error is not None:
            self._recent.pop(key, None)

    def _update_cap_issue(self, context: Context | None, *, capped_now: bool) -> None:
        """Raise the cap's repair issue naming who called, or withdraw it."""
        health = self._account.health
        if capped_now:
            caller = _caller(self._hass, context)
            LOGGER.warning(
                "Call cap of %s per hour reached; not calling (%s)", self._cap, caller
            )
            health.async_call_cap_reached(self._cap, caller)
        elif self._calls_this_hour() < self._cap:
            health.async_clear_call_cap()


def _caller(hass: HomeAssistant, context: Context | None) -> str:
    """Name the automation or script whose run made this call, if one did."""
    if context is None:
        return "unknown"
    for state in hass.states.async_all(("automation", "script")):
        if state.context.id == context.id:
            return f"{state.name} ({state.entity_id})"
    return f"context {context.id}"
