"""Waiting for outcomes, retrying unanswered numbers, and calling one after another.

Used by ``twsms_voice.call`` when it is asked to wait, to retry, or to work down a list
of people until somebody answers.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from enum import StrEnum

from homeassistant.core import Context, HomeAssistant

from .call_record import CallState
from .calls import CallResult, CallTarget
from .placer import CallPlacer
from .tracker import async_sleep

RETRY_ON = frozenset({CallState.NO_ANSWER, CallState.BUSY})


class CallMode(StrEnum):
    """How several targets are called."""

    PARALLEL = "parallel"  # everybody at once
    SEQUENTIAL = "sequential"  # one after another, until somebody answers


async def async_call_until_settled(
    hass: HomeAssistant,
    placer: CallPlacer,
    target: CallTarget,
    message: str,
    voice_url: str | None,
    *,
    retries: int,
    retry_delay: float,
    wait_timeout: float,
    context: Context | None = None,
) -> CallResult:
    """Call ``target``, wait for the outcome, and call again on no answer or busy."""
    points = attempt = 0
    while True:
        attempt += 1
        result = await placer.async_call_one(
            target, message, voice_url, repeat=attempt > 1, context=context
        )
        points += result.points
        if result.sent is None:  # refused, queued, or suppressed as a duplicate
            return replace(result, attempts=attempt, points=points)
        outcome = await placer.tracker.async_wait(result.sent.msgid, wait_timeout)
        result = replace(result, outcome=outcome, attempts=attempt, points=points)
        if outcome not in RETRY_ON or attempt > retries:
            return result
        if retry_delay:
            await async_sleep(hass, retry_delay)


async def async_escalate(
    hass: HomeAssistant,
    placer: CallPlacer,
    targets: list[CallTarget],
    message: str,
    voice_url: str | None,
    *,
    mode: CallMode,
    retries: int,
    retry_delay: float,
    wait_timeout: float,
    context: Context | None = None,
) -> list[CallResult]:
    """Call the targets as ``mode`` says, waiting for each outcome."""

    async def follow(target: CallTarget) -> CallResult:
        return await async_call_until_settled(
            hass,
            placer,
            target,
            message,
            voice_url,
            retries=retries,
            retry_delay=retry_delay,
            wait_timeout=wait_timeout,
            context=context,
        )

    if mode is CallMode.PARALLEL:
        return list(await asyncio.gather(*(follow(target) for target in targets)))
    results: list[CallResult] = []
    for target in targets:
        results.append(await follow(target))
        if results[-1].outcome is CallState.ANSWERED:
            break
    return results
