"""One file per account for everything its calls need across a restart.

The queued calls and the followed calls live in the same file, so that a call the
provider just accepted leaves the queue and enters the tracker in one write: there
is no moment at which a restart would find it in neither (lost) or in both (placed
again). New calls are written before their first request; every later change is
written within a second, several changes in one write.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.storage import Store

from .const import DOMAIN, LOGGER

STORAGE_VERSION: Final = 1
SAVE_DELAY: Final = 1.0


class AccountStore:
    """Load and save one account's calls."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry_id: str,
        data_to_store: Callable[[], dict[str, Any]],
    ) -> None:
        """Save what ``data_to_store`` returns."""
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}"
        )
        # Before version 0.2 the queue had a file of its own.
        self._old_queue: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}.queue"
        )
        self._data_to_store = data_to_store
        self._closed = False
        self._write_due = False
        self._migrating = False

    async def async_load(self) -> dict[str, Any]:
        """Return what was stored, or nothing if it cannot be read."""
        stored: Any = await self._store.async_load() or {}
        if not isinstance(stored, dict):
            LOGGER.warning("Ignoring stored calls that cannot be read")
            stored = {}
        old_queue: Any = await self._old_queue.async_load()
        if isinstance(old_queue, dict):
            stored["queued"] = old_queue.get("calls", [])
            self._migrating = True
        return dict(stored)

    async def async_finish_loading(self) -> None:
        """Write what was loaded in today's form, and only then drop the old file."""
        if self._migrating:
            await self.async_save()
            await self._old_queue.async_remove()
            self._migrating = False

    async def async_save(self) -> None:
        """Write now (and forget a write that was waiting)."""
        if not self._closed:
            self._write_due = False
            await self._store.async_save(self._data_to_store())

    @callback
    def schedule_save(self) -> None:
        """Write within a second, together with the other changes until then.

        Once: Home Assistant's delayed save starts its delay again on every call,
        and a burst of changes would put the write off for as long as it lasts.
        """
        if not self._closed and not self._write_due:
            self._write_due = True
            self._store.async_delay_save(self._data_when_written, SAVE_DELAY)

    def _data_when_written(self) -> dict[str, Any]:
        self._write_due = False
        return self._data_to_store()

    async def async_close(self) -> None:
        """Write what is pending, then nothing more (the account has stopped).

        A stopped account's file belongs to the next one started for the entry.
        """
        await self.async_save()
        self._closed = True

    async def async_remove(self) -> None:
        """Delete the file for good: nothing is written afterwards."""
        self._closed = True
        # Writing first waits for a write under way and drops a delayed one, which
        # would otherwise put the file back after it was removed.
        await self._store.async_save({})
        await self._store.async_remove()
        await self._old_queue.async_remove()
