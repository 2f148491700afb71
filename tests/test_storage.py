"""Tests of what an account keeps: one write per action, nothing placed twice."""

from __future__ import annotations

import asyncio
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.twsms_voice.const import DOMAIN
from custom_components.twsms_voice.storage import AccountStore
from custom_components.twsms_voice.twsms import TwsmsVoiceClient
from homeassistant.core import HomeAssistant
from twsms_simulator import TwsmsSimulator

from .conftest import advance


async def notify(hass: HomeAssistant, targets: list[str]) -> None:
    """Queue calls with notify.twsms_voice and let them be sent."""
    await hass.services.async_call(
        "notify", DOMAIN, {"message": "Smoke!", "target": targets}, blocking=True
    )
    await hass.async_block_till_done()


def stored(hass_storage: dict[str, Any], entry: MockConfigEntry) -> dict[str, Any]:
    """Return what the account's file holds."""
    data: dict[str, Any] = hass_storage[f"{DOMAIN}.{entry.entry_id}"]["data"]
    return data


async def test_a_call_is_stored_before_its_request(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """When the request leaves, the call is in the file already."""
    real_send = TwsmsVoiceClient.send_voice
    seen_in_store: list[list[str]] = []

    async def send(self: TwsmsVoiceClient, phone: str, *args: Any, **kw: Any) -> Any:
        queued = stored(hass_storage, loaded_entry)["queued"]
        seen_in_store.append([call["target"]["phone"] for call in queued])
        return await real_send(self, phone, *args, **kw)

    with patch.object(TwsmsVoiceClient, "send_voice", send):
        await notify(hass, ["0933000001"])
    assert seen_in_store == [["0933000001"]]


async def test_one_write_per_action_before_the_first_request(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """50 targets: one write before the requests; the rest coalesced into one."""
    real_save = AccountStore.async_save
    writes = 0

    async def count(self: AccountStore) -> None:
        nonlocal writes
        writes += 1
        await real_save(self)

    targets = [f"09330000{n:02d}" for n in range(50)]
    with patch.object(AccountStore, "async_save", count):
        await notify(hass, targets)
    assert writes == 1
    assert len(simulator.calls) == 50
    assert len(stored(hass_storage, loaded_entry)["queued"]) == 50  # not written yet
    await advance(hass, freezer, 1)  # the coalesced write
    data = stored(hass_storage, loaded_entry)
    assert data["queued"] == []
    assert len(data["pending"]) == 50


async def test_a_placed_call_is_not_placed_again_after_a_restart(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """A stop right after TwSMS accepted a call writes that down first.

    The coalesced write is flushed on stop: the next start follows the call, and
    does not place it again.
    """
    await notify(hass, ["0933000001"])
    assert len(stored(hass_storage, loaded_entry)["queued"]) == 1  # not written yet
    await loaded_entry.runtime_data.async_stop()  # what Home Assistant's stop does
    data = stored(hass_storage, loaded_entry)
    assert data["queued"] == []
    assert [call["msgid"] for call in data["pending"]] == [8692325]

    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    assert await hass.config_entries.async_setup(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert len(simulator.requests_to("send_voice")) == 1
    assert [c.msgid for c in loaded_entry.runtime_data.tracker.pending_calls] == [
        8692325
    ]


async def test_a_call_being_stored_is_not_sent_by_anything_else(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A request that goes through while new calls are written sends none of them.

    Only the write's end sends them: each once, and only once stored.
    """
    real_save = AccountStore.async_save
    saving = asyncio.Event()
    release = asyncio.Event()

    async def slow_save(self: AccountStore) -> None:
        saving.set()
        await release.wait()
        await real_save(self)

    with patch.object(AccountStore, "async_save", slow_save):
        task = hass.async_create_task(notify(hass, ["0933000001", "0933000002"]))
        await saving.wait()
        loaded_entry.runtime_data.queue.retry_now()  # another call just went through
        await asyncio.sleep(0.1)
        assert simulator.requests_to("send_voice") == []
        release.set()
        await task
    assert len(simulator.requests_to("send_voice")) == 2
    assert "Error" not in caplog.text


async def test_a_burst_of_changes_is_written_within_a_second(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, hass_storage: dict[str, Any]
) -> None:
    """Changes every 0.4 s for 2 s: written meanwhile, not only after a quiet second.

    Home Assistant's delayed save starts its delay again at every change.
    """
    data = {"changes": 0}
    store = AccountStore(hass, "burst", lambda: dict(data))
    for _ in range(5):
        data["changes"] += 1
        store.schedule_save()
        await advance(hass, freezer, 0.4)
    assert hass_storage[f"{DOMAIN}.burst"]["data"]["changes"] >= 2
    await store.async_close()
    assert hass_storage[f"{DOMAIN}.burst"]["data"]["changes"] == 5
