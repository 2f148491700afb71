"""What the integration knows about a call, as sensors show it and storage keeps it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from homeassistant.util import dt as dt_util

from .phone import mask_phone
from .twsms import CallStatus


class CallState(StrEnum):
    """What the integration knows about a call."""

    PENDING = "pending"
    ANSWERED = "answered"
    HUNG_UP = "hung_up"  # answered, but not listened to for long enough
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"
    UNKNOWN = "unknown"


def outcome_state(status: CallStatus, seconds: int, min_listening: int) -> CallState:
    """Return what a finished call means: an answer is only heard if listened to.

    A person who picks up and hangs up at once (or a phone that rejects the call
    after one ring) has not heard the alarm; for an escalation that is not an answer.
    """
    if status is CallStatus.ANSWERED:
        return CallState.ANSWERED if seconds >= min_listening else CallState.HUNG_UP
    return CallState.NO_ANSWER if status is CallStatus.NO_ANSWER else CallState.BUSY


@dataclass(kw_only=True)
class TrackedCall:
    """One call, placed or refused, and what became of it."""

    msgid: int | None
    phone: str
    contact_id: str | None = None
    contact: str | None = None
    placed_at: datetime
    state: CallState = CallState.PENDING
    duration: int | None = None
    points: int = 0
    error: str | None = None
    polls: int = 0
    next_poll: datetime | None = None
    voice_url: str | None = None  # a recording served by Home Assistant, say

    def as_attributes(self) -> dict[str, Any]:
        """Return the sensor attributes: the number only partly shown."""
        return {
            "msgid": self.msgid,
            "phone": mask_phone(self.phone),
            "duration": self.duration,
            "points": self.points,
            "error": self.error,
        }

    def as_storage(self) -> dict[str, Any]:
        """Return a JSON-friendly copy (by hand: `asdict` is slow on the hot path)."""
        return {
            "msgid": self.msgid,
            "phone": self.phone,
            "contact_id": self.contact_id,
            "contact": self.contact,
            "placed_at": self.placed_at.isoformat(),
            "state": self.state.value,
            "duration": self.duration,
            "points": self.points,
            "error": self.error,
            "polls": self.polls,
            "next_poll": self.next_poll.isoformat() if self.next_poll else None,
            "voice_url": self.voice_url,
        }

    @classmethod
    def from_storage(cls, stored: dict[str, Any]) -> TrackedCall:
        """Rebuild a call saved by `as_storage`; raise ValueError if it makes no sense."""
        try:
            next_poll = stored.get("next_poll")
            msgid = stored["msgid"]
            return cls(
                msgid=None if msgid is None else int(msgid),
                phone=str(stored["phone"]),
                contact_id=stored.get("contact_id"),
                contact=stored.get("contact"),
                placed_at=dt_util.parse_datetime(
                    stored["placed_at"], raise_on_error=True
                ),
                state=CallState(stored["state"]),
                duration=stored.get("duration"),
                points=int(stored.get("points", 0)),
                error=stored.get("error"),
                polls=int(stored.get("polls", 0)),
                next_poll=next_poll
                and dt_util.parse_datetime(next_poll, raise_on_error=True),
                voice_url=stored.get("voice_url"),
            )
        except (KeyError, TypeError, AttributeError) as err:
            raise ValueError(repr(err)) from err
