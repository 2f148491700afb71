"""Placing calls: the duplicate-call cooldown in front of the account's queue."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from homeassistant.config_entries import ConfigEntry

from .calls import CallResult, CallTarget
from .const import CONF_COOLDOWN, DEFAULT_COOLDOWN, LOGGER
from .phone import mask_phone
from .queue import CallQueue
from .tracker import CallTracker


class CallPlacer:
    """Place calls for one account, suppressing repeats within the cooldown.

    The queue delivers each call; the tracker follows it to its outcome.
    """

    def __init__(
        self, entry: ConfigEntry[Any], queue: CallQueue, tracker: CallTracker
    ) -> None:
        """Bind to the entry whose options hold the cooldown."""
        self._entry = entry
        self.queue = queue
        self.tracker = tracker
        self._last_placed: dict[tuple[str, str], float] = {}
        self.suppressed_calls = 0

    async def async_call(
        self,
        targets: list[CallTarget],
        message: str,
        voice_url: str | None = None,
    ) -> list[CallResult]:
        """Call every target at once; one failing number does not stop the others."""
        return list(
            await asyncio.gather(
                *(self.async_call_one(target, message, voice_url) for target in targets)
            )
        )

    async def async_call_one(
        self,
        target: CallTarget,
        message: str,
        voice_url: str | None,
        *,
        repeat: bool = False,
    ) -> CallResult:
        """Place one call; ``repeat`` (a retry) is exempt from the cooldown."""
        key = (target.phone, voice_url or message)
        now = time.monotonic()
        cooldown = self._entry.options.get(CONF_COOLDOWN, DEFAULT_COOLDOWN)
        self._last_placed = {
            placed: at
            for placed, at in self._last_placed.items()
            if now - at < cooldown
        }
        if key in self._last_placed and not repeat:
            self.suppressed_calls += 1
            LOGGER.info(
                "Not calling %s again: same message within %s s",
                mask_phone(target.phone),
                cooldown,
            )
            return CallResult(target=target, suppressed=True)
        self._last_placed[key] = now
        result = await self.queue.async_submit(target, message, voice_url)
        if result.error is not None and not result.queued:
            del self._last_placed[key]  # refused: trying again at once is allowed
        return result
