"""A per-account call queue that loses nothing.

Every call is stored before any request is made. A call the provider could not take
because of a passing problem (no connection, a timeout, HTTP 5xx, a reply that makes
no sense, its own system error -99) stays queued and is tried again with exponential
backoff and jitter, until it goes through or is older than the maximum age (an alarm
call an hour late is worse than none); then it is reported as failed. Calls still
queued when Home Assistant stops are tried again when it starts. Errors no retry can
fix (a wrong number or setting, the account's password, state or points) end the call
at once.

The guarantee is at least once: a request whose answer was lost may have been placed,
and is placed again.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
import random
from typing import Any, Final
from uuid import uuid4

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .calls import CallResult, CallTarget
from .const import DOMAIN, LOGGER
from .errors import call_error
from .phone import mask_phone
from .tracker import CallTracker
from .twsms import (
    SpeechSettings,
    TwsmsAuthenticationError,
    TwsmsConnectionError,
    TwsmsError,
    TwsmsMalformedReplyError,
    TwsmsProviderError,
    TwsmsVoiceClient,
    Voice,
)

STORAGE_VERSION: Final = 1
FIRST_RETRY: Final = 5.0  # seconds; doubled for each further attempt
LONGEST_RETRY: Final = 120.0
TRANSIENT_ERRORS: Final = (
    TwsmsConnectionError,
    TwsmsMalformedReplyError,
    TwsmsProviderError,
)


def retry_delay(attempts: int) -> timedelta:
    """Return the wait after ``attempts`` failed attempts: doubling, capped, jittered."""
    ceiling = min(LONGEST_RETRY, FIRST_RETRY * 2 ** (attempts - 1))
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))  # noqa: S311


@dataclass(kw_only=True)
class QueuedCall:
    """A call not yet accepted by the provider."""

    id: str
    target: CallTarget
    message: str
    voice_url: str | None
    created_at: datetime
    next_attempt: datetime
    attempts: int = 0
    last_error: str | None = None
    in_flight: bool = False

    def as_storage(self) -> dict[str, Any]:
        """Return a JSON-friendly copy."""
        stored = asdict(self)
        del stored["in_flight"]
        stored["target"]["speech"]["voice"] = int(self.target.speech.voice)
        for key in ("created_at", "next_attempt"):
            stored[key] = stored[key].isoformat()
        return stored

    @classmethod
    def from_storage(cls, stored: dict[str, Any]) -> QueuedCall:
        """Rebuild a call saved by `as_storage`."""
        target = stored["target"]
        speech = target["speech"]
        return cls(
            id=stored["id"],
            target=CallTarget(
                phone=target["phone"],
                contact_id=target["contact_id"],
                contact=target["contact"],
                speech=SpeechSettings(
                    voice=Voice(speech["voice"]),
                    speed=speech["speed"],
                    volume=speech["volume"],
                ),
            ),
            message=stored["message"],
            voice_url=stored["voice_url"],
            created_at=dt_util.parse_datetime(
                stored["created_at"], raise_on_error=True
            ),
            next_attempt=dt_util.parse_datetime(
                stored["next_attempt"], raise_on_error=True
            ),
            attempts=stored["attempts"],
            last_error=stored["last_error"],
        )


class CallQueue:
    """Deliver one account's calls to the provider."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        client: TwsmsVoiceClient,
        tracker: CallTracker,
        *,
        response_url: str | None,
        max_age: timedelta,
    ) -> None:
        """Prepare; nothing runs until `async_load`."""
        self._hass = hass
        self._entry = entry
        self._client = client
        self._tracker = tracker
        self.response_url = response_url
        self._max_age = max_age
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry.entry_id}.queue"
        )
        self._calls: dict[str, QueuedCall] = {}
        self._cancel_timer: CALLBACK_TYPE | None = None

    @property
    def queued_calls(self) -> list[QueuedCall]:
        """Return the calls waiting for another attempt."""
        return list(self._calls.values())

    async def async_load(self) -> None:
        """Take back the calls a previous run left queued, and try them again."""
        stored = await self._store.async_load() or {}
        for saved in stored.get("calls", []):
            call = QueuedCall.from_storage(saved)
            self._calls[call.id] = call
        self._schedule()

    async def async_unload(self) -> None:
        """Stop retrying; what is queued stays stored for the next start."""
        if self._cancel_timer:
            self._cancel_timer()
            self._cancel_timer = None
        await self._save()

    async def async_remove(self) -> None:
        """Forget the queue of an account that is deleted."""
        await self._store.async_remove()

    async def async_submit(
        self, target: CallTarget, message: str, voice_url: str | None
    ) -> CallResult:
        """Store the call, then make the first attempt."""
        now = dt_util.utcnow()
        call = QueuedCall(
            id=uuid4().hex,
            target=target,
            message=message,
            voice_url=voice_url,
            created_at=now,
            next_attempt=now,
        )
        self._calls[call.id] = call
        await self._save()
        return await self._async_attempt(call)

    async def _save(self) -> None:
        await self._store.async_save(
            {"calls": [call.as_storage() for call in self._calls.values()]}
        )

    async def _async_attempt(self, call: QueuedCall) -> CallResult:
        """Send one queued call; keep it for later when the problem may pass."""
        target = call.target
        call.in_flight = True
        call.attempts += 1
        try:
            sent = await self._client.send_voice(
                target.phone,
                call.message,
                speech=target.speech,
                voice_url=call.voice_url,
                response_url=self.response_url,
            )
        except TwsmsError as err:
            error = call_error(err, target.phone)
            now = dt_util.utcnow()
            if isinstance(err, TRANSIENT_ERRORS):
                if now - call.created_at < self._max_age:
                    call.last_error = str(error)
                    call.next_attempt = now + retry_delay(call.attempts)
                    call.in_flight = False
                    LOGGER.warning(
                        "Call to %s not placed (attempt %s), trying again: %s",
                        mask_phone(target.phone),
                        call.attempts,
                        error,
                    )
                    await self._save()
                    self._schedule()
                    return CallResult(target=target, error=error, queued=True)
            elif isinstance(err, TwsmsAuthenticationError):
                self._entry.async_start_reauth(self._hass)
            await self._async_give_up(call, error)
            return CallResult(target=target, error=error)
        del self._calls[call.id]
        await self._save()
        LOGGER.debug("Called %s: msgid %s", mask_phone(target.phone), sent.msgid)
        self._tracker.async_call_placed(target, sent)
        return CallResult(target=target, sent=sent, points=sent.points)

    async def _async_give_up(self, call: QueuedCall, error: HomeAssistantError) -> None:
        self._calls.pop(call.id, None)
        await self._save()
        self._tracker.async_call_failed(call.target, str(error))

    def _schedule(self) -> None:
        """Set the one timer for the next retry; none while nothing is queued."""
        if self._cancel_timer:
            self._cancel_timer()
            self._cancel_timer = None
        waiting = [
            call.next_attempt for call in self._calls.values() if not call.in_flight
        ]
        if waiting:
            self._cancel_timer = async_track_point_in_utc_time(
                self._hass, self._async_retry_due, min(waiting)
            )

    async def _async_retry_due(self, _: datetime) -> None:
        """Try every due call again, one after another; drop those too old."""
        self._cancel_timer = None
        now = dt_util.utcnow()
        for call in list(self._calls.values()):
            if call.in_flight or call.next_attempt > now:
                continue
            if now - call.created_at >= self._max_age:
                await self._async_give_up(
                    call,
                    HomeAssistantError(
                        translation_domain=DOMAIN,
                        translation_key="call_expired",
                        translation_placeholders={
                            "phone": call.target.phone,
                            "minutes": str(round(self._max_age.total_seconds() / 60)),
                            "error": call.last_error or "",
                        },
                    ),
                )
                continue
            await self._async_attempt(call)
        self._schedule()
