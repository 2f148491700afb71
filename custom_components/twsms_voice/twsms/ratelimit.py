"""Keeping requests under a number per second, as the provider sees them."""

from __future__ import annotations

import asyncio
from collections import deque
import time
from typing import Final

# The window is a little longer than a second: requests that leave this end within
# one window can arrive a little bunched at the other, and must still keep the limit.
WINDOW: Final = 1.03


class RateLimiter:
    """Let at most ``rate`` requests start in any window, never two at once.

    The provider handles 40-50 requests per second for all its customers; a burst of
    calls waits its turn here instead of being refused there. Starts are at least
    1/``rate`` apart (no bunches), and the window counts real start times, so a late
    wake-up of the event loop cannot squeeze more starts into a second.
    """

    def __init__(self, rate: int) -> None:
        """Allow ``rate`` starts per second."""
        self._starts: deque[float] = deque()
        self._lock = asyncio.Lock()
        self.rate = rate

    @property
    def rate(self) -> int:
        """Return the number of starts allowed per second."""
        return self._rate

    @rate.setter
    def rate(self, rate: int) -> None:
        """Change the rate; requests already waiting get the new one."""
        if rate < 1:
            msg = "rate must be at least 1"
            raise ValueError(msg)
        self._rate = rate
        self._spacing = 1 / rate
        self._starts = deque(self._starts, maxlen=rate)

    async def acquire(self) -> None:
        """Wait for this request's turn."""
        async with self._lock:
            while (delay := self._delay(time.monotonic())) > 0:
                await asyncio.sleep(delay)
            self._starts.append(time.monotonic())

    def _delay(self, now: float) -> float:
        """Return how long a start must wait from ``now``; 0 or less: go."""
        if not self._starts:
            return 0.0
        ready = self._starts[-1] + self._spacing
        if len(self._starts) == self._rate:
            ready = max(ready, self._starts[0] + WINDOW)
        return ready - now
