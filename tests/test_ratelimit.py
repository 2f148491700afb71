"""Tests of the request rate limit: bursts wait, nothing is dropped."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.twsms_voice.const import CONF_RATE_LIMIT, DOMAIN
from custom_components.twsms_voice.twsms.ratelimit import WINDOW, RateLimiter
from homeassistant.core import HomeAssistant
from twsms_simulator import TwsmsSimulator

LIMIT = 40  # what the provider's platform takes for everyone


def most_in_one_second(times: list[float]) -> int:
    """Return the largest number of times within any window of one second."""
    times = sorted(times)
    return max(
        sum(1 for other in times[index:] if other < start + 1.0)
        for index, start in enumerate(times)
    )


async def test_200_targets_never_exceed_the_limit(
    hass: HomeAssistant, config_entry: MockConfigEntry, simulator: TwsmsSimulator
) -> None:
    """A burst of 200 numbers is spread out and every call is placed."""
    config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        config_entry,
        options={**config_entry.options, CONF_RATE_LIMIT: LIMIT, "calls_per_hour": 500},
    )
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    targets = [f"0933{number:06d}" for number in range(200)]
    response: Any = await hass.services.async_call(
        DOMAIN,
        "call",
        {"target": targets, "message": "Flood!"},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    assert [call["status"] for call in response["calls"]] == ["placed"] * 200
    sends = simulator.requests_to("send_voice")
    assert sorted(request.params["phone"] for request in sends) == targets
    assert (
        most_in_one_second([request.received_at for request in simulator.requests])
        <= LIMIT
    )


async def test_limiter_spaces_starts_and_keeps_the_window() -> None:
    """Starts are 1/rate apart, and no more than rate fall in any 1.03 s window."""
    limiter = RateLimiter(10)
    starts: list[float] = []

    async def start() -> None:
        await limiter.acquire()
        starts.append(time.monotonic())

    await asyncio.gather(*(start() for _ in range(12)))
    gaps = [later - earlier for earlier, later in zip(starts, starts[1:], strict=False)]
    # Measured a little after each start: a busy machine may shift one by a little.
    assert min(gaps) >= 1 / 10 - 0.005
    assert starts[10] - starts[0] >= WINDOW - 0.005
    assert starts[11] - starts[1] >= WINDOW - 0.005


async def test_a_late_start_does_not_squeeze_the_next_ones() -> None:
    """A start held up (a busy event loop) leaves the others their spacing."""
    limiter = RateLimiter(5)
    await limiter.acquire()
    time.sleep(0.5)  # noqa: ASYNC251 - the event loop is busy elsewhere
    starts: list[float] = []
    for _ in range(5):
        await limiter.acquire()
        starts.append(time.monotonic())
    assert most_in_one_second(starts) <= 5
    gaps = [later - earlier for earlier, later in zip(starts, starts[1:], strict=False)]
    assert min(gaps) >= 1 / 5 - 0.005


async def test_the_rate_can_change() -> None:
    """Options change the rate of a limiter already in use, for the next starts."""
    limiter = RateLimiter(1)
    await limiter.acquire()
    limiter.rate = 50
    started = time.monotonic()
    for _ in range(5):
        await limiter.acquire()
    assert time.monotonic() - started < 0.9  # at 1 per second this takes 5 s


def test_limiter_needs_a_positive_rate() -> None:
    """A rate below one makes no sense."""
    with pytest.raises(ValueError, match="at least 1"):
        RateLimiter(0)
