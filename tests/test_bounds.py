"""Memory stays bounded however many calls pass: 10,000 calls through each structure."""

from __future__ import annotations

from freezegun.api import FrozenDateTimeFactory
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.twsms_voice.calls import CallResult, CallTarget
from custom_components.twsms_voice.placer import COOLDOWN_REMEMBERED, MAX_CALLS_PER_HOUR
from custom_components.twsms_voice.queued_call import QueuedCall
from custom_components.twsms_voice.tracker import FINISHED_KEPT_MAX
from custom_components.twsms_voice.twsms import (
    CallOutcome,
    CallStatus,
    SendResult,
    SpeechSettings,
)
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from .conftest import advance

CALLS = 10_000


def target(number: int) -> CallTarget:
    """Return a target with a number of its own."""
    return CallTarget(phone=f"09{number:08d}", speech=SpeechSettings())


async def test_the_cooldown_and_the_hourly_count_are_bounded(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """10,000 distinct calls leave at most the bounds in the guards."""
    placer = loaded_entry.runtime_data.placer
    for number in range(CALLS):
        call = QueuedCall(
            id=str(number),
            target=target(number),
            message="Smoke!",
            voice_url=None,
            created_at=dt_util.utcnow(),
            next_attempt=dt_util.utcnow(),
            settled=hass.loop.create_future(),
        )
        placer.adopt([call])  # as a queued call is
        placer.call_settled(
            call,
            CallResult(
                target=target(number), sent=SendResult(msgid=number + 1, points=2)
            ),
        )
    assert len(placer._recent) == COOLDOWN_REMEMBERED  # noqa: SLF001
    assert len(placer._accepted) == MAX_CALLS_PER_HOUR  # noqa: SLF001
    assert not placer._waiting  # noqa: SLF001
    assert not placer._guarded  # noqa: SLF001
    assert placer._on_their_way == 0  # noqa: SLF001


async def test_finished_calls_are_bounded_by_count_and_time(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, loaded_entry: MockConfigEntry
) -> None:
    """10,000 finished calls keep the newest 1,000, and none after an hour."""
    tracker = loaded_entry.runtime_data.tracker
    for number in range(CALLS):
        msgid = number + 1
        tracker.call_placed(
            target(number), SendResult(msgid=msgid, points=2), "x", None
        )
        tracker.async_report(
            CallOutcome(
                msgid=msgid,
                phone=target(number).phone,
                seconds=5,
                points=2,
                status=CallStatus.ANSWERED,
            )
        )
    assert tracker.pending_calls == []
    assert len(tracker._finished) == FINISHED_KEPT_MAX  # noqa: SLF001
    assert tracker.points_used == 2 * CALLS
    await advance(hass, freezer, 3601)
    tracker.call_placed(target(0), SendResult(msgid=CALLS + 1, points=2), "x", None)
    tracker.async_report(
        CallOutcome(
            msgid=CALLS + 1,
            phone=target(0).phone,
            seconds=5,
            points=2,
            status=CallStatus.ANSWERED,
        )
    )
    assert len(tracker._finished) == 1  # noqa: SLF001
