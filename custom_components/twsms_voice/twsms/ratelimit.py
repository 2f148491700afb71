"""Spacing requests out so that no more than a given number start per second."""

from __future__ import annotations

import asyncio
import time
from typing import Final

# Starts are spaced 10 % wider than the rate asks: requests that leave this end
# evenly can arrive a little bunched at the other, and must still keep the limit.
MARGIN: Final = 1.1


class RateLimiter:
    """Let requests start at most ``rate`` times in any one second, evenly spaced.

    The provider handles 40-50 requests per second for all its customers; a burst of
    calls waits its turn here instead of being refused there. Even spacing (rather
    than bursts of ``rate``) keeps the limit true where the requests arrive.
    """

    def __init__(self, rate: int) -> None:
        """Allow ``rate`` starts per second."""
        if rate < 1:
            msg = "rate must be at least 1"
            raise ValueError(msg)
        self._interval = MARGIN / rate
        self._next_start = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait for this request's turn."""
        async with self._lock:
            now = time.monotonic()
            if self._next_start > now:
                await asyncio.sleep(self._next_start - now)
                # From when this start really happens: a late wake-up must not
                # shorten the gap to the next one.
                now = time.monotonic()
            self._next_start = now + self._interval
