"""What a loaded account keeps in its config entry's runtime data."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry

from .placer import CallPlacer

type TwsmsVoiceConfigEntry = ConfigEntry[TwsmsVoiceData]


@dataclass
class TwsmsVoiceData:
    """The loaded account: the call placer and, through it, the client."""

    placer: CallPlacer
