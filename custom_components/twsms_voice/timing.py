"""Waiting on Home Assistant's clock, so that tests can move time instead of sleeping."""

from __future__ import annotations

import asyncio
from datetime import datetime

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later


def settle_later[T](
    hass: HomeAssistant, future: asyncio.Future[T], seconds: float, value: T
) -> CALLBACK_TYPE:
    """Give ``future`` its ``value`` after ``seconds``, unless it is done by then."""

    @callback  # in the event loop: a plain function would run in the executor
    def settle(_: datetime) -> None:
        if not future.done():
            future.set_result(value)

    return async_call_later(hass, seconds, settle)


async def async_sleep(hass: HomeAssistant, seconds: float) -> None:
    """Sleep for ``seconds``."""
    done: asyncio.Future[None] = hass.loop.create_future()
    cancel = settle_later(hass, done, seconds, None)
    try:
        await done
    finally:
        cancel()


async def async_wait_for[T](
    hass: HomeAssistant, future: asyncio.Future[T], seconds: float, default: T
) -> T:
    """Return ``future``'s result, or ``default`` if it has none after ``seconds``.

    Whatever happens to the waiter (a timeout, a cancelled automation), ``future``
    itself is never cancelled: it belongs to whoever will settle it.
    """
    if not future.done():
        timer: asyncio.Future[T] = hass.loop.create_future()
        cancel = settle_later(hass, timer, seconds, default)
        try:
            await asyncio.wait((future, timer), return_when=asyncio.FIRST_COMPLETED)
        finally:
            cancel()
            timer.cancel()
    return future.result() if future.done() else default
