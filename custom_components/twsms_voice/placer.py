"""Placing calls: flood protection in front of the account's queue.

Two guards: the same message to the same number within the cooldown is placed once,
and no more than the hourly cap of calls is placed per account, so that a flapping
sensor cannot spend a month of points in ten minutes.
"""

from __future__ import annotations

import asyncio
from collections import deque
import time
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError

from .calls import CallResult, CallTarget
from .const import (
    CONF_CALLS_PER_HOUR,
    CONF_COOLDOWN,
    DEFAULT_CALLS_PER_HOUR,
    DEFAULT_COOLDOWN,
    DOMAIN,
    LOGGER,
)
from .phone import mask_phone
from .queue import CallQueue
from .repairs import AccountIssues
from .tracker import CallTracker


class CallPlacer:
    """Place calls for one account, suppressing repeats within the cooldown.

    The queue delivers each call; the tracker follows it to its outcome.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        queue: CallQueue,
        tracker: CallTracker,
        issues: AccountIssues,
    ) -> None:
        """Bind to the entry whose options hold the cooldown and the cap."""
        self._hass = hass
        self._entry = entry
        self.queue = queue
        self.tracker = tracker
        self._issues = issues
        self._last_placed: dict[tuple[str, str], float] = {}
        self._placed_within_the_hour: deque[float] = deque()
        self.suppressed_calls = 0
        self.capped_calls = 0

    async def async_call(
        self,
        targets: list[CallTarget],
        message: str,
        voice_url: str | None = None,
        context: Context | None = None,
    ) -> list[CallResult]:
        """Call every target at once; one failing number does not stop the others."""
        return list(
            await asyncio.gather(
                *(
                    self.async_call_one(target, message, voice_url, context=context)
                    for target in targets
                )
            )
        )

    async def async_call_one(
        self,
        target: CallTarget,
        message: str,
        voice_url: str | None,
        *,
        repeat: bool = False,
        context: Context | None = None,
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
        if self._over_the_cap(now, context):
            return CallResult(
                target=target,
                error=HomeAssistantError(
                    translation_domain=DOMAIN,
                    translation_key="call_cap_reached",
                    translation_placeholders={"phone": target.phone},
                ),
            )
        self._last_placed[key] = now
        self._placed_within_the_hour.append(now)
        result = await self.queue.async_submit(target, message, voice_url)
        if result.error is not None and not result.queued:
            del self._last_placed[key]  # refused: trying again at once is allowed
        return result

    def _over_the_cap(self, now: float, context: Context | None) -> bool:
        """Count the hour's calls; at the cap, refuse and tell the user who called."""
        cap = self._entry.options.get(CONF_CALLS_PER_HOUR, DEFAULT_CALLS_PER_HOUR)
        while (
            self._placed_within_the_hour
            and now - self._placed_within_the_hour[0] >= 3600
        ):
            self._placed_within_the_hour.popleft()
        if len(self._placed_within_the_hour) < cap:
            self._issues.async_clear_call_cap()
            return False
        self.capped_calls += 1
        caller = _caller(self._hass, context)
        LOGGER.warning("Call cap of %s per hour reached; not calling (%s)", cap, caller)
        self._issues.async_call_cap_reached(cap, caller)
        return True


def _caller(hass: HomeAssistant, context: Context | None) -> str:
    """Name the automation or script whose run made this call, if one did."""
    if context is None:
        return "unknown"
    for state in hass.states.async_all(("automation", "script")):
        if state.context.id == context.id:
            return f"{state.name} ({state.entity_id})"
    return f"context {context.id}"
