"""One account's calls, for the whole run of Home Assistant.

The queue, the tracker and the flood guards of an account live here, not in its
config entry's setup: reloading the entry (new options, a new password, a new
contact, the Reload button) only rebuilds its entities and services. A call in
flight, a wait for an answer and the hourly count go through a reload untouched,
and one queue and one tracker ever work on an account's calls and its file. They
stop when Home Assistant stops, when the entry is disabled and when it is deleted.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.util.hass_dict import HassKey

from .calls import contacts
from .const import (
    CONF_CHECK_EVERY,
    CONF_GIVE_UP_AFTER,
    CONF_MAX_QUEUE_AGE,
    CONF_MIN_LISTENING,
    CONF_RATE_LIMIT,
    DEFAULT_CHECK_EVERY,
    DEFAULT_GIVE_UP_AFTER,
    DEFAULT_MAX_QUEUE_AGE,
    DEFAULT_MIN_LISTENING,
    DEFAULT_RATE_LIMIT,
    DOMAIN,
    LOGGER,
)
from .credentials import async_check_credentials, create_client
from .errors import removed_error
from .health import AccountHealth
from .placer import CallPlacer
from .queue import TRANSIENT_ERRORS, CallQueue
from .status_report import StatusReports
from .storage import AccountStore
from .tracker import CallTracker
from .twsms import (
    RateLimiter,
    TwsmsAuthenticationError,
    TwsmsConnectionError,
    TwsmsError,
    TwsmsVoiceClient,
)
from .typedefs import TwsmsVoiceConfigEntry

DATA_ACCOUNTS: HassKey[dict[str, TwsmsAccount]] = HassKey(f"{DOMAIN}_accounts")
CHECK_TIMEOUT: Final = 8.0  # seconds; setup must not keep notify.twsms_voice away
DRAIN_TIMEOUT: Final = 10.0  # seconds for requests under way when stopping


class TwsmsAccount:
    """The client, queue, tracker and guards of one account."""

    def __init__(self, hass: HomeAssistant, entry: TwsmsVoiceConfigEntry) -> None:
        """Build the parts; `async_get` loads what was stored."""
        self.hass = hass
        self.entry = entry
        self.limiter = RateLimiter(DEFAULT_RATE_LIMIT)
        self.health = AccountHealth(hass, entry)
        self.client = self._new_client()
        self.store = AccountStore(hass, entry.entry_id, self._data_to_store)
        self.tracker = CallTracker(hass, self)
        self.queue = CallQueue(hass, self)
        self.placer = CallPlacer(hass, self)
        self.status_reports = StatusReports(hass, entry, self.tracker.async_report)
        self._unsubscribe_stop: CALLBACK_TYPE | None = None
        self._cancel_check: CALLBACK_TYPE | None = None
        self._stopped = False
        # The account was checked (or TwSMS was away) since it was made; a reload
        # needs no new check (reauth and reconfigure checked their new data).
        self.checked = False

    @classmethod
    async def async_get(
        cls, hass: HomeAssistant, entry: TwsmsVoiceConfigEntry
    ) -> TwsmsAccount:
        """Return the entry's account, loading it the first time."""
        accounts = hass.data.setdefault(DATA_ACCOUNTS, {})
        if (account := accounts.get(entry.entry_id)) is None:
            account = cls(hass, entry)
            await account.async_load()
            accounts[entry.entry_id] = account
        return account

    @property
    def stopped(self) -> bool:
        """Tell whether the account stopped for good (a later setup makes a new one)."""
        return self._stopped

    @property
    def response_url(self) -> str | None:
        """Return where TwSMS should report the outcome of a call placed now."""
        return self.status_reports.url

    async def async_load(self) -> None:
        """Take back the queued and followed calls of the last run."""
        stored = await self.store.async_load()
        try:
            self.queue.restore(stored.get("queued", []))
            self.tracker.restore(stored)
        except (TypeError, ValueError, AttributeError) as err:
            LOGGER.warning(
                "Some stored calls of %s cannot be read: %r", self.entry.title, err
            )
        self.placer.adopt(self.queue.queued_calls)
        await self.store.async_finish_loading()
        self.status_reports.register()
        self._unsubscribe_stop = self.hass.bus.async_listen_once(
            EVENT_HOMEASSISTANT_STOP, self._async_home_assistant_stops
        )

    @callback
    def configure(self) -> None:
        """Take the entry's current credentials and options."""
        options = self.entry.options
        self.limiter.rate = int(options.get(CONF_RATE_LIMIT, DEFAULT_RATE_LIMIT))
        self.client = self._new_client()
        self.queue.max_age = timedelta(
            minutes=options.get(CONF_MAX_QUEUE_AGE, DEFAULT_MAX_QUEUE_AGE)
        )
        self.tracker.give_up_after = timedelta(
            minutes=options.get(CONF_GIVE_UP_AFTER, DEFAULT_GIVE_UP_AFTER)
        )
        self.tracker.min_listening = int(
            options.get(CONF_MIN_LISTENING, DEFAULT_MIN_LISTENING)
        )

    async def async_check(self) -> None:
        """Check the account without placing a call, within a few seconds.

        A rejected password fails setup and asks for a new one; account problems the
        user must fix at TwSMS make setup retry. A provider that cannot be reached
        (or does not answer in time) does not stop setup: an alarm must not find
        notify.twsms_voice missing because the internet blinked while Home Assistant
        started. The queue holds calls until TwSMS is back.
        """
        try:
            await async_check_credentials(self.client, CHECK_TIMEOUT)
        except TwsmsAuthenticationError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="setup_authentication_failed"
            ) from err
        except TRANSIENT_ERRORS as err:
            if not isinstance(err, TwsmsConnectionError):  # that one is logged already
                LOGGER.warning("TwSMS did not confirm the account at start: %s", err)
        except TwsmsError as err:
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN,
                translation_key="setup_not_ready",
                translation_placeholders={"error": str(err)},
            ) from err
        self.checked = True

    @callback
    def start(self) -> None:
        """Place and follow calls."""
        self.status_reports.start()
        self.tracker.forget_contacts_except(
            {contact.subentry_id for contact in contacts(self.entry)}
        )
        self.queue.start()
        self.tracker.start()
        if hours := self.entry.options.get(CONF_CHECK_EVERY, DEFAULT_CHECK_EVERY):
            self._cancel_check = async_track_time_interval(
                self.hass,
                self._async_check_quietly,
                timedelta(hours=hours),
                name=f"{DOMAIN} account check",
            )

    @callback
    def pause(self) -> None:
        """Stop the timers while the entry reloads; requests under way go on."""
        self.queue.pause()
        self.tracker.pause()
        if self._cancel_check is not None:
            self._cancel_check()
            self._cancel_check = None

    async def _async_check_quietly(self, _: datetime) -> None:
        """Check the account on a quiet day, so a problem shows before an alarm.

        What the check learns goes where every request's answer goes: the repairs,
        the health sensors, and re-authentication for a rejected password.
        """
        try:
            await async_check_credentials(self.client)
        except TwsmsAuthenticationError:
            if self.hass.data[DATA_ACCOUNTS].get(self.entry.entry_id) is self:
                self.entry.async_start_reauth(self.hass)
        except TwsmsError as err:
            LOGGER.debug("Check of %s: %s", self.entry.title, err)

    async def async_stop(self) -> None:
        """Stop for good (Home Assistant stops, or the entry is disabled).

        Requests under way get a few seconds to end; what is queued stays stored.
        """
        self._forget()
        await self.queue.async_stop(DRAIN_TIMEOUT)
        self.queue.answer_waiters()
        await self.tracker.async_stop()
        self.status_reports.unregister()
        await self.store.async_close()

    async def async_remove(self) -> None:
        """End every call of a deleted account, and delete everything it kept.

        Requests under way get a few seconds to end (a call TwSMS placed is then
        known as such); every call still queued ends ``failed`` (``unknown`` if an
        earlier request may have placed it) and every call still followed
        ``unknown``: each with its event.
        """
        self._forget()
        await self.queue.async_stop(DRAIN_TIMEOUT)
        await self.queue.async_fail_all()
        self.tracker.end_pending(removed_error(placed=True))
        await self.tracker.async_stop()
        await self.status_reports.async_remove()
        await self.store.async_remove()
        self.health.async_clear()

    def _forget(self) -> None:
        """Leave the registry of accounts: the next setup starts a new one."""
        self.hass.data[DATA_ACCOUNTS].pop(self.entry.entry_id, None)
        self._stopped = True
        if self._unsubscribe_stop is not None:
            self._unsubscribe_stop()
            self._unsubscribe_stop = None

    async def _async_home_assistant_stops(self, _: Event) -> None:
        self._unsubscribe_stop = None  # a once-listener is gone when it runs
        await self.async_stop()

    def _new_client(self) -> TwsmsVoiceClient:
        return create_client(self.hass, self.entry.data, self.limiter, self._on_reply)

    @callback
    def _on_reply(self, error: TwsmsError | None) -> None:
        """Learn from every request; once TwSMS answers again, send what waits.

        Any real answer counts (the free check's "unknown call" too): only the
        passing problems say it is still away.
        """
        if self.stopped:
            return  # a late answer: the account's health is no longer told
        self.health.on_reply(error)
        if not isinstance(error, TRANSIENT_ERRORS):
            self.queue.retry_now()

    def _data_to_store(self) -> dict[str, Any]:
        return {"queued": self.queue.as_storage()} | self.tracker.as_storage()
