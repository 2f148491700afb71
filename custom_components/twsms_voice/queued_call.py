"""A call waiting to be placed, as the queue keeps it and storage writes it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util

from .calls import CallResult, CallTarget, speech_from_storage, speech_to_storage


@dataclass(kw_only=True, eq=False)
class QueuedCall:
    """A call not yet accepted by the provider."""

    id: str
    target: CallTarget
    message: str
    voice_url: str | None
    created_at: datetime
    next_attempt: datetime
    attempts: int = 0
    last_error: str | None = None  # what went wrong, with the number masked
    # Attempts whose request may have reached the provider (its answer was lost).
    unsure: int = 0
    # After such an attempt the call waits until the provider answers again.
    held: bool = False
    # What is heard, for the duplicate guards: kept, as a voice made by Home
    # Assistant is not (its URL dies with a restart, what it said does not).
    heard: str | None = None
    # Settled once, when the call is placed or has failed; whoever waits, waits here.
    settled: asyncio.Future[CallResult] = field(repr=False)
    last_exception: HomeAssistantError | None = field(default=None, repr=False)

    def as_storage(self) -> dict[str, Any]:
        """Return a JSON-friendly copy (by hand: `asdict` is slow on the hot path)."""
        target = self.target
        return {
            "id": self.id,
            "target": {
                "phone": target.phone,
                "contact_id": target.contact_id,
                "contact": target.contact,
                "speech": speech_to_storage(target.speech),
            },
            "message": self.message,
            "voice_url": self.voice_url,
            "created_at": self.created_at.isoformat(),
            "next_attempt": self.next_attempt.isoformat(),
            "attempts": self.attempts,
            "last_error": self.last_error,
            "unsure": self.unsure,
            "held": self.held,
            "heard": self.heard,
        }

    @classmethod
    def from_storage(
        cls, stored: Any, settled: asyncio.Future[CallResult]
    ) -> QueuedCall:
        """Rebuild a call saved by `as_storage`; raise ValueError if it makes no sense."""
        if not isinstance(stored, dict):
            msg = f"not a stored call: {stored!r}"
            raise ValueError(msg)  # noqa: TRY004 - one error for any unreadable record
        voice_url, heard = stored.get("voice_url"), stored.get("heard")
        if not all(
            text is None or isinstance(text, str) for text in (voice_url, heard)
        ):
            msg = f"voice_url or heard is not text: {voice_url!r}, {heard!r}"
            raise ValueError(msg)
        try:
            target = stored["target"]
            return cls(
                id=str(stored["id"]),
                target=CallTarget(
                    phone=str(target["phone"]),
                    contact_id=target.get("contact_id"),
                    contact=target.get("contact"),
                    speech=speech_from_storage(target["speech"]),
                ),
                message=str(stored["message"]),
                voice_url=voice_url,
                created_at=dt_util.parse_datetime(
                    stored["created_at"], raise_on_error=True
                ),
                next_attempt=dt_util.parse_datetime(
                    stored["next_attempt"], raise_on_error=True
                ),
                attempts=int(stored.get("attempts", 0)),
                last_error=stored.get("last_error"),
                unsure=int(stored.get("unsure", 0)),
                held=bool(stored.get("held", False)),
                heard=heard,
                settled=settled,
            )
        except (KeyError, TypeError, AttributeError) as err:
            raise ValueError(repr(err)) from err
