"""The config entry type of an account.

A leaf module: it imports nothing of this integration at run time, so every module
can name the entry type without an import cycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntry

if TYPE_CHECKING:
    from .account import TwsmsAccount

type TwsmsVoiceConfigEntry = ConfigEntry[TwsmsAccount]
