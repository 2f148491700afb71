"""Follow every placed call until its outcome is known.

The provider knows a call's outcome only after the call has ended (ringing, then the
message read out), and its log lags 2-10 s behind. So the tracker first asks about a
call when it has most likely ended: after a typical ring, the time the message takes
to read (from its length) and the log's lag; then every few seconds, less and less
often, and gives up after a while with ``unknown``. Due queries go out together,
paced only by the rate limiter. A status report on the account's webhook finishes a
call at once. While nothing is pending no timer runs and no request is made.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from datetime import datetime, timedelta
import re
from typing import TYPE_CHECKING, Any, Final

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.util import dt as dt_util

from .audio import audio_files
from .call_record import CallState, TrackedCall, outcome_state
from .calls import CallTarget
from .const import DOMAIN, EVENT_CALL_FINISHED, LOGGER
from .errors import msgid_reused_error
from .phone import mask_phone, same_number
from .timing import settle_later
from .twsms import CallOutcome, SendResult, TwsmsAuthenticationError, TwsmsError

if TYPE_CHECKING:
    from .account import TwsmsAccount

# First ask when most answered calls have ended and reached the provider's log:
# ringing until somebody answers (up to ~20 s), then the message, then the log's
# 2-10 s lag. A call still under way is asked about again after 15 s (by then an
# unanswered call has stopped ringing), then less and less often.
FIRST_POLL: Final = timedelta(seconds=25)
POLL_INTERVALS: Final = tuple(
    timedelta(seconds=seconds) for seconds in (15, 15, 30, 60, 120)
)
# How fast the provider's voice reads: Chinese characters, and everything else.
_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")
CJK_PER_SECOND: Final = 4.0
OTHER_PER_SECOND: Final = 14.0
RECORDING_SECONDS: Final = 15.0  # a recording's length is not known
FINISHED_KEPT: Final = timedelta(hours=1)  # how long `async_wait` can find a result
FINISHED_KEPT_MAX: Final = 1000


def reading_time(message: str | None) -> timedelta:
    """Estimate how long the provider's voice takes to read ``message``."""
    if message is None:
        return timedelta(seconds=RECORDING_SECONDS)
    chinese = len(_CJK.findall(message))
    return timedelta(
        seconds=chinese / CJK_PER_SECOND + (len(message) - chinese) / OTHER_PER_SECOND
    )


class CallTracker:
    """Track the calls of one account."""

    def __init__(self, hass: HomeAssistant, account: TwsmsAccount) -> None:
        """Prepare; nothing runs until `start`."""
        self._hass = hass
        self._account = account
        self._pending: dict[int, TrackedCall] = {}
        self._finished: OrderedDict[int, TrackedCall] = OrderedDict()
        self._waiters: dict[int, list[asyncio.Future[CallState]]] = {}
        self._listeners: list[CALLBACK_TYPE] = []
        self._polls: dict[int, asyncio.Task[None]] = {}
        self._cancel_timer: CALLBACK_TYPE | None = None
        self._running = False
        self._stopped = False
        self.give_up_after = timedelta(minutes=10)
        self.min_listening = 3
        self.last_call: TrackedCall | None = None
        self.last_call_by_contact: dict[str, TrackedCall] = {}
        self.points_used = 0
        self._audio = audio_files(hass)

    @property
    def pending_calls(self) -> list[TrackedCall]:
        """Return the calls whose outcome is not known yet."""
        return list(self._pending.values())

    def restore(self, stored: dict[str, Any]) -> None:
        """Take back what the last run stored; records that make no sense are skipped."""
        self.points_used = int(stored.get("points_used", 0))
        for saved in stored.get("pending", []):
            if (call := _restored(saved)) and call.msgid is not None:
                self._pending[call.msgid] = call

        def current(saved: dict[str, Any] | None) -> TrackedCall | None:
            # A last call still pending is the same object as the pending one, so
            # that settling it also settles the sensors.
            call = _restored(saved) if saved else None
            if call is None or call.msgid is None:
                return call
            return self._pending.get(call.msgid, call)

        self.last_call = current(stored.get("last_call"))
        for contact_id, saved in stored.get("last_call_by_contact", {}).items():
            if call := current(saved):
                self.last_call_by_contact[contact_id] = call

    def as_storage(self) -> dict[str, Any]:
        """Return what a restart needs: pending calls, the last outcomes, the points."""
        return {
            "points_used": self.points_used,
            "pending": [call.as_storage() for call in self._pending.values()],
            "last_call": self.last_call.as_storage() if self.last_call else None,
            "last_call_by_contact": {
                contact_id: call.as_storage()
                for contact_id, call in self.last_call_by_contact.items()
            },
        }

    @callback
    def start(self) -> None:
        """Follow the pending calls."""
        self._running = True
        self._schedule()

    @callback
    def pause(self) -> None:
        """Stop asking; queries under way end on their own."""
        self._running = False
        self._cancel_schedule()

    async def async_stop(self) -> None:
        """Stop, cancel queries under way and answer waiters with what is known."""
        self.pause()
        self._stopped = True
        polls = list(self._polls.values())
        for poll in polls:
            poll.cancel()
        await asyncio.gather(*polls, return_exceptions=True)
        for waiters in self._waiters.values():
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(CallState.UNKNOWN)

    @callback
    def forget_contacts_except(self, contact_ids: set[str]) -> None:
        """Drop the last call of contacts that no longer exist."""
        for contact_id in set(self.last_call_by_contact) - contact_ids:
            del self.last_call_by_contact[contact_id]

    @callback
    def async_add_listener(self, update: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call ``update`` whenever a call changes; return the way to stop."""
        self._listeners.append(update)
        return lambda: self._listeners.remove(update)

    @callback
    def call_placed(
        self,
        target: CallTarget,
        sent: SendResult,
        message: str,
        voice_url: str | None,
    ) -> None:
        """Start following a call the provider accepted."""
        if (same := self._pending.get(sent.msgid)) is not None:
            # TwSMS gave one msgid to two calls: the first can no longer be told.
            reused = msgid_reused_error(sent.msgid)
            self._finish(same, CallState.UNKNOWN, None, str(reused))
        now = dt_util.utcnow()
        call = TrackedCall(
            msgid=sent.msgid,
            phone=target.phone,
            contact_id=target.contact_id,
            contact=target.contact,
            placed_at=now,
            points=sent.points,
            next_poll=now + reading_time(message) + FIRST_POLL,
            voice_url=voice_url,
        )
        self._pending[sent.msgid] = call
        self.points_used += sent.points
        self._record(call)
        self._schedule()

    @callback
    def call_failed(
        self,
        target: CallTarget,
        error: str,
        masked_error: str,
        voice_url: str | None,
        state: CallState = CallState.FAILED,
    ) -> None:
        """Record a call that ended without being followed, and say so in the event.

        It was never placed (``failed``), or may have been (``unknown``).

        The event carries ``error`` with the number in full, as automations want it
        (the recorder keeps events too); sensors and diagnostics show it masked.
        """
        call = TrackedCall(
            msgid=None,
            phone=target.phone,
            contact_id=target.contact_id,
            contact=target.contact,
            placed_at=dt_util.utcnow(),
            state=state,
            error=masked_error,
        )
        self._fire_finished(call, error)
        self._record(call)
        self._audio.release(voice_url)

    @callback
    def async_report(self, outcome: CallOutcome) -> None:
        """Finish a call from a status report, if it is about a call being followed.

        Anyone who knows the webhook's URL can send a report, so it must name both
        a pending call's msgid and the number that call dialled.
        """
        call = self._pending.get(outcome.msgid)
        if call is None or not same_number(call.phone, outcome.phone):
            LOGGER.debug("Ignoring a status report that matches no pending call")
            return
        self._finish_with(call, outcome)
        self._schedule()

    async def async_wait(self, msgid: int, timeout: float) -> CallState:
        """Wait up to ``timeout`` seconds for a call's outcome; ``unknown`` after."""
        if msgid not in self._pending or self._stopped:
            finished = self._finished.get(msgid)
            return finished.state if finished else CallState.UNKNOWN
        waiter: asyncio.Future[CallState] = self._hass.loop.create_future()
        self._waiters.setdefault(msgid, []).append(waiter)
        cancel = settle_later(self._hass, waiter, timeout, CallState.UNKNOWN)
        try:
            return await waiter
        finally:
            cancel()
            waiters = self._waiters.get(msgid, [])
            if waiter in waiters:
                waiters.remove(waiter)

    def _record(self, call: TrackedCall) -> None:
        """Make ``call`` the latest one, store and tell the sensors."""
        self.last_call = call
        if call.contact_id is not None:
            self.last_call_by_contact[call.contact_id] = call
        self._changed()

    def _changed(self) -> None:
        self._account.store.schedule_save()
        for update in list(self._listeners):
            update()

    def _finish_with(self, call: TrackedCall, outcome: CallOutcome) -> None:
        """Settle a pending call with the outcome the provider told."""
        state = outcome_state(outcome.status, outcome.seconds, self.min_listening)
        # What the provider finally charged counts, if more than it said at first
        # (points used only ever grow: a refund shows in the TwSMS console).
        if outcome.points > call.points:
            self.points_used += outcome.points - call.points
            call.points = outcome.points
        self._finish(call, state, outcome.seconds)

    @callback
    def end_pending(self, reason: HomeAssistantError) -> None:
        """End every call still followed as ``unknown``, saying why."""
        for call in list(self._pending.values()):
            self._finish(call, CallState.UNKNOWN, None, str(reason))

    def _finish(
        self,
        call: TrackedCall,
        state: CallState,
        duration: int | None,
        error: str | None = None,
    ) -> None:
        """Settle a pending call: once, whoever learns the outcome first.

        ``error`` says why the outcome cannot be known (no number in it).
        """
        assert call.msgid is not None
        del self._pending[call.msgid]
        call.state, call.duration, call.next_poll = state, duration, None
        if error is not None:
            call.error = error
        self._keep_finished(call.msgid, call)
        for waiter in self._waiters.pop(call.msgid, []):
            if not waiter.done():
                waiter.set_result(state)
        self._fire_finished(call, error)
        self._audio.release(call.voice_url)
        LOGGER.debug("Call %s to %s: %s", call.msgid, mask_phone(call.phone), state)
        self._changed()

    def _keep_finished(self, msgid: int, call: TrackedCall) -> None:
        """Remember an outcome for late waiters, within bounds of time and count."""
        self._finished[msgid] = call
        oldest = dt_util.utcnow() - FINISHED_KEPT
        while self._finished and (
            len(self._finished) > FINISHED_KEPT_MAX
            or next(iter(self._finished.values())).placed_at < oldest
        ):
            self._finished.popitem(last=False)

    def _fire_finished(self, call: TrackedCall, error: str | None) -> None:
        """Tell automations how a call ended: once per call."""
        self._hass.bus.async_fire(
            EVENT_CALL_FINISHED,
            {
                "config_entry_id": self._account.entry.entry_id,
                "msgid": call.msgid,
                "phone": call.phone,
                "contact": call.contact,
                "contact_id": call.contact_id,
                "status": call.state,
                "duration": call.duration,
                "points": call.points,
                "error": error,
            },
        )

    def _cancel_schedule(self) -> None:
        if self._cancel_timer:
            self._cancel_timer()
            self._cancel_timer = None

    def _schedule(self) -> None:
        """Set the one timer for the next due query; none while nothing is pending."""
        self._cancel_schedule()
        due = [
            call.next_poll
            for msgid, call in self._pending.items()
            if msgid not in self._polls and call.next_poll is not None
        ]
        if self._running and due:
            self._cancel_timer = async_track_point_in_utc_time(
                self._hass, self._poll_due, min(due)
            )

    @callback
    def _poll_due(self, _: datetime) -> None:
        """Query every call that is due, all at once (the rate limiter paces them)."""
        self._cancel_timer = None
        now = dt_util.utcnow()
        for msgid, call in self._pending.items():
            if msgid not in self._polls and call.next_poll and call.next_poll <= now:
                self._polls[msgid] = self._hass.async_create_task(
                    self._async_poll(call), f"{DOMAIN} call query", eager_start=False
                )
        self._schedule()

    async def _async_poll(self, call: TrackedCall) -> None:
        """Ask the provider about one call; settle it or plan the next question."""
        assert call.msgid is not None
        try:
            try:
                answer = await self._account.client.query_voice(call.msgid)
            finally:
                del self._polls[call.msgid]
        except TwsmsAuthenticationError:
            self._account.entry.async_start_reauth(self._hass)
            answer = None
        except TwsmsError as err:
            LOGGER.debug("Query for call %s failed: %s", call.msgid, err)
            answer = None
        # Unless it ended meanwhile (a status report came first, or TwSMS gave its
        # msgid to a newer call, which this answer may be about).
        if self._pending.get(call.msgid) is call:
            if isinstance(answer, CallOutcome):
                self._finish_with(call, answer)
            else:
                self._plan_next_poll(call)
        self._schedule()

    def _plan_next_poll(self, call: TrackedCall) -> None:
        """Ask again a little later, or give up with ``unknown`` when it is time."""
        now = dt_util.utcnow()
        give_up_at = call.placed_at + self.give_up_after
        if now >= give_up_at:
            self._finish(call, CallState.UNKNOWN, None)
            return
        interval = POLL_INTERVALS[min(call.polls, len(POLL_INTERVALS) - 1)]
        call.polls += 1
        call.next_poll = min(now + interval, give_up_at)
        self._account.store.schedule_save()


def _restored(saved: dict[str, Any]) -> TrackedCall | None:
    """Rebuild a stored call, or warn and skip it."""
    try:
        return TrackedCall.from_storage(saved)
    except ValueError as err:
        LOGGER.warning("Skipping a stored call that cannot be read: %s", err)
        return None
