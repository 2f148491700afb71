"""A per-account call queue that loses nothing and places each call once.

Every call is stored before any request is made. Each attempt is a task of the queue
of its own, so nothing that happens to the caller (a cancelled automation, a reload
of the entry) can leave a call half-sent: the attempt ends, and the call is placed,
queued again or failed, in every case.

A call the provider could not take because of a passing problem (no connection, HTTP
503 or 429, its own system error -99) is tried again
after 2, 4, 8, 16 and then every 30 s, until it goes through or is older than the
maximum age (an alarm call an hour late is worse than none); then it is reported as
failed. While calls wait, the account is asked a free question every few seconds,
and the moment any request succeeds every waiting call goes at once: after an
outage, alarms leave as soon as the provider is back. Calls still queued when Home
Assistant stops are tried again when it starts. Errors no retry can fix (a wrong
number or setting, a wrong API URL, the account's password, state or points) end the
call at once.

A request whose answer was lost after it was sent (a timeout, a dropped connection,
a gateway's HTTP 5xx, a reply that is not the provider's, Home Assistant stopping
while it was out) may have placed the call. Such a call is sent again only once the
provider answers again, and only once: a second lost answer, or a refusal of the
resend, ends it as ``unknown``. So the guarantee is at least once, and a lost answer
costs at most one duplicate.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, Final
from uuid import uuid4

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.util import dt as dt_util

from .audio import audio_files
from .call_record import CallState
from .calls import CallResult, CallTarget
from .const import DOMAIN, LOGGER
from .credentials import async_check_credentials
from .errors import (
    both_ways,
    call_error,
    expired_error,
    removed_error,
    stopped_error,
    unsure_error,
)
from .phone import mask_phone
from .queued_call import QueuedCall
from .twsms import (
    SendResult,
    TwsmsAuthenticationError,
    TwsmsConnectionError,
    TwsmsError,
    TwsmsMalformedReplyError,
    TwsmsProviderError,
)

if TYPE_CHECKING:
    from .account import TwsmsAccount

FIRST_RETRY: Final = 2.0  # seconds; doubled for each further attempt
LONGEST_RETRY: Final = 30.0
PROBE_INTERVAL: Final = timedelta(seconds=5)  # while calls wait, TwSMS is asked
PROBE_TIMEOUT: Final = 10.0
MOST_UNSURE: Final = 2  # lost answers before a call ends as `unknown`
EAGER_CALLS: Final = 10  # at most this many attempts start within the storing step
TRANSIENT_ERRORS: Final = (
    TwsmsConnectionError,
    TwsmsMalformedReplyError,
    TwsmsProviderError,
)


def retry_delay(attempts: int) -> timedelta:
    """Return the wait after ``attempts`` failed attempts: doubling, capped."""
    return timedelta(seconds=min(LONGEST_RETRY, FIRST_RETRY * 2 ** (attempts - 1)))


class CallQueue:
    """Deliver one account's calls to the provider."""

    def __init__(self, hass: HomeAssistant, account: TwsmsAccount) -> None:
        """Prepare; nothing runs until `start`."""
        self._hass = hass
        self._account = account
        self._audio = audio_files(hass)
        self._calls: dict[str, QueuedCall] = {}
        self._unstored: set[str] = set()  # added, not written yet: not to be sent
        self._attempts: dict[str, asyncio.Task[None]] = {}
        self._probe: asyncio.Task[None] | None = None
        self._cancel_timer: CALLBACK_TYPE | None = None
        self._running = False
        self._stopped = False
        self._last_request_at = dt_util.utcnow()
        self.max_age = timedelta(minutes=15)

    @property
    def queued_calls(self) -> list[QueuedCall]:
        """Return the calls not placed yet (waiting, or being tried now)."""
        return list(self._calls.values())

    def restore(self, stored: list[dict[str, Any]]) -> None:
        """Take back the calls a previous run left queued."""
        for saved in stored:
            try:
                call = QueuedCall.from_storage(saved, self._hass.loop.create_future())
            except ValueError as err:
                LOGGER.warning("Skipping a stored call that cannot be read: %s", err)
                continue
            if self._audio.no_longer_served(call.voice_url):
                # Sent with a file that is gone, it would fail at TwSMS, not ring.
                LOGGER.warning(
                    "The voice of a call to %s did not survive the restart;"
                    " TwSMS's own voice reads it",
                    mask_phone(call.target.phone),
                )
                call.voice_url = None
            self._calls[call.id] = call

    def as_storage(self) -> list[dict[str, Any]]:
        """Return the queued calls as stored."""
        return [call.as_storage() for call in self._calls.values()]

    @callback
    def start(self) -> None:
        """Try the queued calls as they fall due."""
        self._running = True
        self._schedule()

    @callback
    def pause(self) -> None:
        """Stop trying again; attempts under way end on their own."""
        self._running = False
        self._cancel_schedule()

    async def async_stop(self, timeout: float) -> None:
        """Take no more calls; let attempts under way end, then cancel the rest.

        A cancelled attempt leaves its call queued and stored; if its request had
        left, the provider may have placed it, and it counts as a lost answer.
        """
        self._stopped = True
        self.pause()
        if self._attempts:
            await asyncio.wait(self._attempts.values(), timeout=timeout)
        await self._async_cancel_tasks()

    @callback
    def answer_waiters(self) -> None:
        """Tell whoever waits for a call's placement that it stays stored.

        For a stopped account (Home Assistant stops, the entry is disabled): an
        action must not hold the stop for its whole wait.
        """
        stopped = stopped_error()
        for call in self._calls.values():
            self._settle(
                call,
                CallResult(
                    target=call.target,
                    queued=True,
                    error=stopped,
                    attempts=call.attempts,
                ),
            )

    async def async_fail_all(self) -> None:
        """End every call, for an account that is deleted."""
        self._stopped = True
        self.pause()
        await self._async_cancel_tasks()
        for call in list(self._calls.values()):
            if call.unsure:
                error = removed_error(placed=None)
                self._give_up(call, error, str(error), CallState.UNKNOWN)
            else:
                error = removed_error(placed=False)
                self._give_up(call, error, str(error))

    async def _async_cancel_tasks(self) -> None:
        tasks = [*self._attempts.values(), *([self._probe] if self._probe else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def add(
        self,
        targets: list[CallTarget],
        message: str,
        voice_url: str | None,
        heard: str,
    ) -> list[QueuedCall]:
        """Queue the calls; `async_send` stores them and makes their first attempts.

        Until then they are not sent by anything else (a retry, a probe's success).
        """
        if self._stopped:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="entry_not_loaded",
                translation_placeholders={"title": self._account.entry.title},
            )
        now = dt_util.utcnow()
        calls = [
            QueuedCall(
                id=uuid4().hex,
                target=target,
                message=message,
                voice_url=voice_url,
                created_at=now,
                next_attempt=now,
                heard=heard,
                settled=self._hass.loop.create_future(),
            )
            for target in targets
        ]
        for call in calls:
            self._calls[call.id] = call
            self._unstored.add(call.id)
            self._audio.hold(voice_url)
        return calls

    async def async_send(self, calls: list[QueuedCall]) -> None:
        """Store the calls, then make the first attempt of each."""
        try:
            await self._account.store.async_save()
        finally:
            for call in calls:
                self._unstored.discard(call.id)
        # A few calls start right here, in this step; a long list is started as
        # tasks that wait their turn at the rate limiter, doing nothing before it.
        eager = len(calls) <= EAGER_CALLS
        for call in calls:
            if call.id in self._calls:  # not ended meanwhile (an account removed)
                self._start_attempt(call, eager=eager)

    @callback
    def renew(self, call: QueuedCall) -> None:
        """Make a waiting call as young as the newest request for it.

        It stands for that request too: it must not grow too old to place first.
        """
        call.created_at = dt_util.utcnow()
        self._account.store.schedule_save()

    @callback
    def retry_now(self) -> None:
        """Try every waiting call at once: a request just went through."""
        if len(self._calls) == len(self._attempts) + len(self._unstored):
            return  # nothing waits
        now = dt_util.utcnow()
        for call in self._waiting():
            call.held = False
            call.next_attempt = min(call.next_attempt, now)
        self._schedule()

    def _waiting(self) -> list[QueuedCall]:
        """Return the calls stored and not being tried right now."""
        return [
            call
            for call in self._calls.values()
            if call.id not in self._attempts and call.id not in self._unstored
        ]

    def _start_attempt(self, call: QueuedCall, *, eager: bool = False) -> None:
        if call.id in self._attempts or self._stopped:
            return
        self._last_request_at = dt_util.utcnow()
        attempt = self._hass.async_create_task(
            self._async_attempt(call), f"{DOMAIN} call attempt", eager_start=eager
        )
        if not attempt.done():  # an eager start may have ended it already
            self._attempts[call.id] = attempt

    async def _async_attempt(self, call: QueuedCall) -> None:
        """Send one queued call; queue it again when the problem may pass."""
        target = call.target
        call.attempts += 1  # counts tries, for the backoff too
        request_left = False

        def request_leaves() -> None:
            nonlocal request_left
            request_left = True

        try:
            try:
                sent = await self._account.client.send_voice(
                    target.phone,
                    call.message,
                    speech=target.speech,
                    voice_url=call.voice_url,
                    response_url=self._account.response_url,
                    on_request=request_leaves,
                )
            finally:  # whatever ends the attempt, even a cancellation
                self._attempts.pop(call.id, None)
        except asyncio.CancelledError:
            if not request_left:
                call.attempts -= 1  # cut off before its turn: no try at all
            else:
                # Cut off (a stop, a disable, a removal) with the request out: like
                # a lost answer, the call may have been placed.
                self._attempt_failed(
                    call,
                    TwsmsConnectionError(
                        "the request was cut off before TwSMS answered",
                        maybe_sent=True,
                    ),
                )
            raise
        except TwsmsError as err:
            self._attempt_failed(call, err)
        except Exception:  # noqa: BLE001 - a bug here must not end the call's delivery
            LOGGER.exception("Unexpected error calling %s", mask_phone(target.phone))
            # Once the request left, TwSMS may have placed the call all the same.
            self._attempt_failed(
                call,
                TwsmsConnectionError("unexpected error", maybe_sent=request_left),
            )
        else:
            self._placed(call, sent)

    def _attempt_failed(self, call: QueuedCall, err: TwsmsError) -> None:
        error, masked = both_ways(partial(call_error, err), call.target.phone)
        if not isinstance(err, TRANSIENT_ERRORS):
            if isinstance(err, TwsmsAuthenticationError):
                self._account.entry.async_start_reauth(self._hass)
            if call.unsure:  # refused now, but an earlier request may have rung
                self._give_up_unsure(call, err)
            else:
                self._give_up(call, error, masked)
            return
        maybe_sent = isinstance(err, TwsmsMalformedReplyError) or (
            isinstance(err, TwsmsConnectionError) and err.maybe_sent
        )
        call.unsure += maybe_sent
        if self._expired(call, dt_util.utcnow()):
            self._give_up_expired(call)
        elif call.unsure >= MOST_UNSURE:
            self._give_up_unsure(call, err)
        else:
            self._retry_later(call, masked, error, held=maybe_sent)

    def _retry_later(
        self,
        call: QueuedCall,
        reason: str,
        error: HomeAssistantError | None,
        *,
        held: bool = False,
    ) -> None:
        call.last_error = reason
        call.last_exception = error
        call.held = held
        call.next_attempt = dt_util.utcnow() + retry_delay(call.attempts)
        LOGGER.debug(
            "Call to %s not placed (attempt %s), trying again%s: %s",
            mask_phone(call.target.phone),
            call.attempts,
            " once TwSMS answers" if held else "",
            reason,
        )
        self._account.store.schedule_save()
        self._schedule()

    def _placed(self, call: QueuedCall, sent: SendResult) -> None:
        # Settled first: whoever waits (and the guards) learn it whatever follows.
        self._settle(
            call,
            CallResult(
                target=call.target,
                sent=sent,
                points=sent.points,
                attempts=call.attempts,
            ),
        )
        # Forgotten here and followed by the tracker in one step: one write holds both.
        del self._calls[call.id]
        self._account.tracker.call_placed(
            call.target, sent, call.message, call.voice_url
        )
        LOGGER.debug("Called %s: msgid %s", mask_phone(call.target.phone), sent.msgid)

    def _give_up(
        self,
        call: QueuedCall,
        error: HomeAssistantError,
        masked: str,
        state: CallState = CallState.FAILED,
    ) -> None:
        outcome = state if state is not CallState.FAILED else None
        self._settle(  # first: whoever waits learns it whatever follows
            call,
            CallResult(
                target=call.target,
                error=error,
                outcome=outcome,
                attempts=call.attempts,
            ),
        )
        self._calls.pop(call.id, None)
        self._account.tracker.call_failed(
            call.target, str(error), masked, call.voice_url, state
        )

    def _give_up_unsure(self, call: QueuedCall, err: TwsmsError) -> None:
        """End a call an earlier request may have placed: ``unknown``, never resent."""
        error, masked = both_ways(partial(unsure_error, err), call.target.phone)
        self._give_up(call, error, masked, CallState.UNKNOWN)

    def _settle(self, call: QueuedCall, result: CallResult) -> None:
        if not call.settled.done():
            self._account.placer.call_settled(call, result)
            call.settled.set_result(result)

    def _expired(self, call: QueuedCall, now: datetime) -> bool:
        return now - call.created_at >= self.max_age

    def _give_up_expired(self, call: QueuedCall) -> None:
        """End a call too old to place; ``unknown`` if an answer to it was lost."""
        error, masked = both_ways(
            partial(expired_error, self.max_age, call.last_error), call.target.phone
        )
        self._give_up(
            call, error, masked, CallState.UNKNOWN if call.unsure else CallState.FAILED
        )

    def _cancel_schedule(self) -> None:
        if self._cancel_timer:
            self._cancel_timer()
            self._cancel_timer = None

    def _schedule(self) -> None:
        """Set the one timer for the next attempt or probe; none while nothing waits."""
        self._cancel_schedule()
        waiting = self._waiting()
        if not self._running or not waiting:
            return
        times = [call.next_attempt for call in waiting if not call.held]
        if self._probe is None:  # the next probe; a probe under way reschedules
            times.append(self._last_request_at + PROBE_INTERVAL)
        if not times:
            return
        due = min(times)
        self._cancel_timer = async_track_point_in_utc_time(
            self._hass, self._async_attempt_due, due
        )

    @callback
    def _async_attempt_due(self, _: datetime) -> None:
        """Try every due call again at once; end those too old; else probe.

        The probe is a free question to the provider; when it is answered,
        `retry_now` sends every waiting call.
        """
        self._cancel_timer = None
        now = dt_util.utcnow()
        started = False
        for call in self._waiting():
            if self._expired(call, now):
                self._give_up_expired(call)
            elif not call.held and call.next_attempt <= now:
                self._start_attempt(call)
                started = True
        if (
            not started
            and self._probe is None
            and self._waiting()
            and now >= self._last_request_at + PROBE_INTERVAL
        ):
            self._last_request_at = now
            self._probe = self._hass.async_create_task(
                self._async_probe(), f"{DOMAIN} probe", eager_start=False
            )
        self._schedule()

    async def _async_probe(self) -> None:
        """Ask the provider a free question: its answer goes to the account's health."""
        try:
            await async_check_credentials(self._account.client, PROBE_TIMEOUT)
        except TwsmsError:
            pass  # still down: the account's health has heard it
        finally:
            self._probe = None
            self._schedule()
