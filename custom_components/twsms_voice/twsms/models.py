"""Typed values exchanged with the TwSMS Voice API."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum


class Voice(IntEnum):
    """Text-to-speech voices, numbered as the ``voice`` tag expects."""

    FEMALE_1 = 1
    FEMALE_2 = 2
    FEMALE_3 = 3
    MALE_1 = 4


class CallStatus(StrEnum):
    """Final state of a call, spelled as the provider reports it."""

    ANSWERED = "FarEnd"
    NO_ANSWER = "NoAnswer"
    BUSY = "Busy"


@dataclass(frozen=True, kw_only=True)
class SpeechSettings:
    """How the provider's synthetic voice reads a type 1 message."""

    voice: Voice = Voice.FEMALE_1
    speed: int = 0
    volume: int = 100


@dataclass(frozen=True, kw_only=True)
class SendResult:
    """The provider accepted a call: its serial number and the points charged."""

    msgid: int
    points: int


@dataclass(frozen=True, kw_only=True)
class CallOutcome:
    """What happened to a finished call."""

    msgid: int
    phone: str
    seconds: int
    points: int
    status: CallStatus


@dataclass(frozen=True, kw_only=True)
class CallPending:
    """The call has not been dialled or has not finished yet (query -5)."""

    msgid: int
