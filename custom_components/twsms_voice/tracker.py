"""Follow every placed call until its outcome is known.

The provider knows a call's outcome only after the call has ended (ringing plus the
message), and its log lags 2-10 s behind. So the tracker queries a call first after a
typical ring-and-play time, then less and less often, and gives up after a while with
``unknown``. A status report on the account's webhook finishes a call at once. While
nothing is pending no timer runs and no request is made. Pending calls, the last
outcomes and the points used are stored, so a restart resumes where it stopped.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later, async_track_point_in_utc_time
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .call_record import OUTCOME_STATES, CallState, TrackedCall
from .calls import CallTarget
from .const import DOMAIN, EVENT_CALL_FINISHED, LOGGER
from .phone import mask_phone
from .twsms import (
    CallOutcome,
    SendResult,
    TwsmsAuthenticationError,
    TwsmsError,
    TwsmsVoiceClient,
)

STORAGE_VERSION: Final = 1
FIRST_POLL: Final = timedelta(seconds=45)  # ringing, the message, the log's lag
POLL_INTERVALS: Final = tuple(
    timedelta(seconds=seconds) for seconds in (15, 30, 60, 120)
)
SAVE_DELAY: Final = 1.0
FINISHED_KEPT: Final = timedelta(hours=1)  # how long `async_wait` can find a result


def _settle_later[T](
    hass: HomeAssistant, future: asyncio.Future[T], seconds: float, value: T
) -> CALLBACK_TYPE:
    """Give ``future`` its ``value`` after ``seconds``, on Home Assistant's clock."""

    @callback  # in the event loop: a plain function would run in the executor
    def settle(_: datetime) -> None:
        if not future.done():
            future.set_result(value)

    return async_call_later(hass, seconds, settle)


async def async_sleep(hass: HomeAssistant, seconds: float) -> None:
    """Wait on Home Assistant's clock (timers the test harness can move)."""
    done: asyncio.Future[None] = hass.loop.create_future()
    cancel = _settle_later(hass, done, seconds, None)
    try:
        await done
    finally:
        cancel()


class CallTracker:
    """Track the calls of one account."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        client: TwsmsVoiceClient,
        give_up_after: timedelta,
    ) -> None:
        """Prepare; nothing runs until `async_load`."""
        self._hass = hass
        self._entry = entry
        self._client = client
        self._give_up_after = give_up_after
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry.entry_id}"
        )
        self._pending: dict[int, TrackedCall] = {}
        self._finished: dict[int, TrackedCall] = {}
        self._waiters: dict[int, list[asyncio.Future[CallState]]] = {}
        self._listeners: list[CALLBACK_TYPE] = []
        self._cancel_timer: CALLBACK_TYPE | None = None
        self._polling = False
        self.last_call: TrackedCall | None = None
        self.last_call_by_contact: dict[str, TrackedCall] = {}
        self.points_used = 0

    @property
    def pending_calls(self) -> list[TrackedCall]:
        """Return the calls whose outcome is not known yet."""
        return list(self._pending.values())

    async def async_load(self) -> None:
        """Restore what the last run stored and resume following pending calls."""
        stored = await self._store.async_load() or {}
        self.points_used = stored.get("points_used", 0)
        for saved in stored.get("pending", []):
            call = TrackedCall.from_storage(saved)
            if call.msgid is not None:
                self._pending[call.msgid] = call

        def restore(saved: dict[str, Any]) -> TrackedCall:
            # A last call still pending is the same object as the pending one, so
            # that settling it also settles the sensors.
            call = TrackedCall.from_storage(saved)
            return self._pending.get(call.msgid or 0, call)

        if last := stored.get("last_call"):
            self.last_call = restore(last)
        self.last_call_by_contact = {
            contact_id: restore(call)
            for contact_id, call in stored.get("last_call_by_contact", {}).items()
        }
        self._schedule()

    async def async_unload(self) -> None:
        """Stop polling, answer waiters with what is known, and store the state."""
        if self._cancel_timer:
            self._cancel_timer()
            self._cancel_timer = None
        for waiters in self._waiters.values():
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(CallState.UNKNOWN)
        await self._store.async_save(self._data_to_store())

    async def async_remove(self) -> None:
        """Forget everything stored, for an account that is deleted."""
        await self._store.async_remove()

    @callback
    def async_add_listener(self, update: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call ``update`` whenever a call changes; return the way to stop."""
        self._listeners.append(update)
        return lambda: self._listeners.remove(update)

    @callback
    def async_call_placed(self, target: CallTarget, sent: SendResult) -> None:
        """Start following a call the provider accepted."""
        now = dt_util.utcnow()
        call = TrackedCall(
            msgid=sent.msgid,
            phone=target.phone,
            contact_id=target.contact_id,
            contact=target.contact,
            placed_at=now,
            points=sent.points,
            next_poll=now + FIRST_POLL,
        )
        self._pending[sent.msgid] = call
        self.points_used += sent.points
        self._record(call)
        self._schedule()

    @callback
    def async_call_failed(self, target: CallTarget, error: str) -> None:
        """Record a call that was never placed, and say so in the event."""
        call = TrackedCall(
            msgid=None,
            phone=target.phone,
            contact_id=target.contact_id,
            contact=target.contact,
            placed_at=dt_util.utcnow(),
            state=CallState.FAILED,
            error=error,
        )
        self._fire_finished(call)
        self._record(call)

    @callback
    def async_report(self, outcome: CallOutcome) -> None:
        """Finish a call from the provider's status report; ignore unknown msgids."""
        call = self._pending.get(outcome.msgid)
        if call is None:
            LOGGER.debug("Ignoring a status report for msgid %s", outcome.msgid)
            return
        self._finish(call, OUTCOME_STATES[outcome.status], outcome.seconds)
        self._schedule()

    async def async_wait(self, msgid: int, timeout: float) -> CallState:
        """Wait up to ``timeout`` seconds for a call's outcome; ``unknown`` after."""
        if msgid not in self._pending:
            finished = self._finished.get(msgid)
            return finished.state if finished else CallState.UNKNOWN
        waiter: asyncio.Future[CallState] = self._hass.loop.create_future()
        self._waiters.setdefault(msgid, []).append(waiter)
        cancel = _settle_later(self._hass, waiter, timeout, CallState.UNKNOWN)
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
        self._store.async_delay_save(self._data_to_store, SAVE_DELAY)
        for update in list(self._listeners):
            update()

    def _data_to_store(self) -> dict[str, Any]:
        return {
            "points_used": self.points_used,
            "pending": [call.as_storage() for call in self._pending.values()],
            "last_call": self.last_call.as_storage() if self.last_call else None,
            "last_call_by_contact": {
                contact_id: call.as_storage()
                for contact_id, call in self.last_call_by_contact.items()
            },
        }

    def _finish(
        self, call: TrackedCall, state: CallState, duration: int | None
    ) -> None:
        """Settle a pending call: once, whoever learns the outcome first."""
        assert call.msgid is not None
        del self._pending[call.msgid]
        call.state, call.duration, call.next_poll = state, duration, None
        now = dt_util.utcnow()
        self._finished = {
            msgid: finished
            for msgid, finished in self._finished.items()
            if now - finished.placed_at < FINISHED_KEPT
        } | {call.msgid: call}
        for waiter in self._waiters.pop(call.msgid, []):
            if not waiter.done():
                waiter.set_result(state)
        self._fire_finished(call)
        LOGGER.debug("Call %s to %s: %s", call.msgid, mask_phone(call.phone), state)
        self._changed()

    def _fire_finished(self, call: TrackedCall) -> None:
        """Tell automations how a call ended: once per call."""
        self._hass.bus.async_fire(
            EVENT_CALL_FINISHED,
            {
                "config_entry_id": self._entry.entry_id,
                "msgid": call.msgid,
                "phone": call.phone,
                "contact": call.contact,
                "status": call.state,
                "duration": call.duration,
                "points": call.points,
                "error": call.error,
            },
        )

    def _schedule(self) -> None:
        """Set the one timer for the next due query; none while nothing is pending."""
        if self._cancel_timer:
            self._cancel_timer()
            self._cancel_timer = None
        if self._polling or not self._pending:
            return
        due = min(call.next_poll or dt_util.utcnow() for call in self._pending.values())
        self._cancel_timer = async_track_point_in_utc_time(
            self._hass, self._async_poll_due, due
        )

    async def _async_poll_due(self, _: datetime) -> None:
        """Query every call that is due, one after another, then re-arm the timer."""
        self._cancel_timer = None
        self._polling = True
        try:
            now = dt_util.utcnow()
            for call in list(self._pending.values()):
                if call.next_poll is None or call.next_poll <= now:
                    await self._async_poll(call)
        finally:
            self._polling = False
            self._schedule()

    async def _async_poll(self, call: TrackedCall) -> None:
        """Ask the provider about one call; settle it or plan the next question."""
        assert call.msgid is not None
        try:
            answer = await self._client.query_voice(call.msgid)
        except TwsmsAuthenticationError:
            self._entry.async_start_reauth(self._hass)
            answer = None
        except TwsmsError as err:
            LOGGER.debug("Query for call %s failed: %s", call.msgid, err)
            answer = None
        if call.msgid not in self._pending:  # a status report came first
            return
        if isinstance(answer, CallOutcome):
            self._finish(call, OUTCOME_STATES[answer.status], answer.seconds)
            return
        now = dt_util.utcnow()
        give_up_at = call.placed_at + self._give_up_after
        if now >= give_up_at:
            self._finish(call, CallState.UNKNOWN, None)
            return
        interval = POLL_INTERVALS[min(call.polls, len(POLL_INTERVALS) - 1)]
        call.polls += 1
        call.next_poll = min(now + interval, give_up_at)
        self._store.async_delay_save(self._data_to_store, SAVE_DELAY)
