"""Waiting for outcomes, retrying unanswered numbers, and calling one after another.

Used by ``twsms_voice.call`` when it is asked to wait, to retry, or to work down a list
of people until somebody answers. Each step first waits for its call to be placed:
a provider that refuses for a moment (HTTP 500) delays the step, it does not skip
the person. Both waits together take at most ``wait_timeout``. When the account
stops (Home Assistant stops, the entry is disabled) the escalation ends there with
what it has: its queued call stays stored, the next people are not called.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from enum import StrEnum
from typing import TYPE_CHECKING

from homeassistant.core import Context, HomeAssistant
from homeassistant.util import dt as dt_util

from .call_record import CallState
from .calls import CallResult, CallTarget
from .const import PRIORITY_NORMAL
from .timing import async_sleep

if TYPE_CHECKING:
    from .account import TwsmsAccount

RETRY_ON = frozenset({CallState.NO_ANSWER, CallState.BUSY, CallState.HUNG_UP})


class CallMode(StrEnum):
    """How several targets are called."""

    PARALLEL = "parallel"  # everybody at once
    SEQUENTIAL = "sequential"  # one after another, until somebody answers


async def async_call_until_settled(
    hass: HomeAssistant,
    account: TwsmsAccount,
    target: CallTarget,
    message: str,
    voice_url: str | None,
    *,
    retries: int,
    retry_delay: float,
    wait_timeout: float,
    context: Context | None = None,
    priority: str = PRIORITY_NORMAL,
) -> CallResult:
    """Call ``target``, wait for the outcome, and call again on no answer or busy."""
    points = attempts = calls = 0
    while True:
        calls += 1
        started = dt_util.utcnow()
        (ticket,) = await account.placer.async_submit(
            [target],
            message,
            voice_url,
            context=context,
            priority=priority,
            repeat=calls > 1,
        )
        result = await ticket.async_result(hass, wait_timeout)
        points += result.points
        attempts += result.attempts
        if result.sent is None:  # refused, suppressed, or still not placed
            return replace(result, attempts=attempts, points=points)
        waited = (dt_util.utcnow() - started).total_seconds()
        outcome = await account.tracker.async_wait(
            result.sent.msgid, max(wait_timeout - waited, 0)
        )
        result = replace(result, outcome=outcome, attempts=attempts, points=points)
        if outcome not in RETRY_ON or calls > retries:
            return result
        if retry_delay:
            await async_sleep(hass, retry_delay)
        if account.stopped:
            return result


async def async_escalate(
    hass: HomeAssistant,
    account: TwsmsAccount,
    targets: list[CallTarget],
    message: str,
    voice_url: str | None,
    *,
    mode: CallMode,
    retries: int,
    retry_delay: float,
    wait_timeout: float,
    context: Context | None = None,
    priority: str = PRIORITY_NORMAL,
) -> list[CallResult]:
    """Call the targets as ``mode`` says, waiting for each outcome."""

    async def follow(target: CallTarget) -> CallResult:
        return await async_call_until_settled(
            hass,
            account,
            target,
            message,
            voice_url,
            retries=retries,
            retry_delay=retry_delay,
            wait_timeout=wait_timeout,
            context=context,
            priority=priority,
        )

    if mode is CallMode.PARALLEL:
        return list(await asyncio.gather(*(follow(target) for target in targets)))
    results: list[CallResult] = []
    for target in targets:
        results.append(await follow(target))
        if results[-1].outcome is CallState.ANSWERED or account.stopped:
            break
    return results
