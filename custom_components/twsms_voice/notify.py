"""Notify platform: ``notify.twsms_voice`` and one notify entity per contact.

The legacy service is what existing automations call (``message``, ``title``,
``target``, ``data``); the entities serve ``notify.send_message``. Both return as
soon as the calls are stored in the queue: a notification is fire-and-forget, and an
automation must not wait a minute for a slow provider. What became of each call
shows on the sensors and in the ``twsms_voice_call_finished`` event.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
import logging
from typing import Any, override

import voluptuous as vol

from homeassistant.components.notify import (
    ATTR_DATA,
    ATTR_TARGET,
    ATTR_TITLE,
    BaseNotificationService,
    NotifyEntity,
    NotifyEntityFeature,
)
from homeassistant.config_entries import ConfigEntryState, ConfigSubentry
from homeassistant.const import CONF_NAME, Platform
from homeassistant.core import Context, HomeAssistant, ServiceCall, callback
from homeassistant.helpers.discovery import async_load_platform
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import ConfigType, DiscoveryInfoType
from homeassistant.util import slugify
from homeassistant.util.hass_dict import HassKey

from .calls import async_queue_calls, contact_target, resolve_targets, spoken_text
from .const import CONF_PRIORITY, DOMAIN, LOGGER, PRIORITY_NORMAL
from .entity import TwsmsVoiceEntity, async_add_contact_entities
from .services import CALL_SETTINGS_SCHEMA
from .typedefs import TwsmsVoiceConfigEntry

PARALLEL_UPDATES = 0

# Home Assistant's configuration, which loading a legacy notify platform needs.
HASS_CONFIG: HassKey[ConfigType] = HassKey(f"{DOMAIN}_hass_config")
DATA_SCHEMA = vol.Schema(CALL_SETTINGS_SCHEMA)
_KNOWN_DATA = frozenset(str(key) for key in CALL_SETTINGS_SCHEMA)
_CALLER: ContextVar[Context | None] = ContextVar(f"{DOMAIN}_caller", default=None)


@callback
def async_load_legacy_service(
    hass: HomeAssistant, entry: TwsmsVoiceConfigEntry
) -> None:
    """Set up the entry's legacy notify service.

    The oldest account is ``notify.twsms_voice``; others are named after their
    title. Disabled accounts count too, so that a name never moves from one
    account to another while automations call it.
    """
    oldest = min(
        hass.config_entries.async_entries(DOMAIN, include_ignore=False),
        key=lambda other: other.created_at,
    )
    name = (
        DOMAIN
        if oldest.entry_id == entry.entry_id
        else f"{DOMAIN}_{slugify(entry.title)}"
    )
    entry.async_create_task(
        hass,
        async_load_platform(
            hass,
            Platform.NOTIFY,
            DOMAIN,
            {CONF_NAME: name, "entry_id": entry.entry_id},
            hass.data[HASS_CONFIG],
        ),
        eager_start=True,
    )


async def async_get_service(
    hass: HomeAssistant,
    config: ConfigType,
    discovery_info: DiscoveryInfoType | None = None,
) -> TwsmsVoiceNotificationService | None:
    """Create the legacy notify service of the entry named in ``discovery_info``."""
    if discovery_info is None:
        return None
    entry: TwsmsVoiceConfigEntry | None = hass.config_entries.async_get_entry(
        discovery_info["entry_id"]
    )
    if entry is None or entry.state not in (
        ConfigEntryState.SETUP_IN_PROGRESS,
        ConfigEntryState.LOADED,
    ):
        return None
    service = TwsmsVoiceNotificationService(entry)
    entry.async_on_unload(service.async_unregister_services)
    return service


def _call_settings(data: Mapping[str, Any] | None) -> dict[str, Any]:
    """Take the settings in ``data`` that a call can use; ignore the others.

    A notify group hands every member the same ``data``: keys meant for other
    services (``push:`` for the mobile app) and values that are not ours
    (``priority: high``, a media player's ``volume: 0.5``) must not stop an alarm
    call. Values of ours that cannot be used are dropped with a warning; the
    mobile app's ``priority``, in nearly every group, only with a debug line.
    """
    if data is None:
        return {}
    if ignored := sorted(str(key) for key in data if key not in _KNOWN_DATA):
        LOGGER.debug("Ignoring notify data not meant for calls: %s", ignored)
    settings: dict[str, Any] = {}
    for key, value in data.items():
        if key not in _KNOWN_DATA:
            continue
        try:
            settings |= DATA_SCHEMA({key: value})
        except vol.Invalid as err:
            LOGGER.log(
                logging.DEBUG if key == CONF_PRIORITY else logging.WARNING,
                "Calling without notify data %s=%r, which a call cannot use: %s",
                key,
                value,
                err,
            )
    return settings


class TwsmsVoiceNotificationService(BaseNotificationService):
    """Call numbers or contacts of one account."""

    def __init__(self, entry: TwsmsVoiceConfigEntry) -> None:
        """Serve one account."""
        self._entry = entry

    @override
    async def async_send_message(self, message: str = "", **kwargs: Any) -> None:
        """Queue a call to each target (every contact when there are none).

        Every valid target is called; invalid ones and calls refused at once
        (the hourly cap, a setting TwSMS cannot take) fail the action afterwards.
        """
        settings = _call_settings(kwargs.get(ATTR_DATA))
        targets, invalid = resolve_targets(
            self._entry, kwargs.get(ATTR_TARGET), settings
        )
        await async_queue_calls(
            self.hass,
            self._entry,
            targets,
            spoken_text(message, kwargs.get(ATTR_TITLE)),
            settings,
            context=_CALLER.get(),
            priority=settings.get(CONF_PRIORITY, PRIORITY_NORMAL),
            invalid=invalid,
        )

    @override
    async def _async_notify_message_service(self, service: ServiceCall) -> None:
        """Keep the caller's context, which the base class does not pass on.

        The hourly cap names the automation that called. Should Home Assistant
        rename this method, calls still work and the cap names no automation; a
        test fails first.
        """
        token = _CALLER.set(service.context)
        try:
            await super()._async_notify_message_service(service)
        finally:
            _CALLER.reset(token)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: TwsmsVoiceConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a notify entity for each contact."""
    async_add_contact_entities(
        hass,
        entry,
        async_add_entities,
        lambda contact: [TwsmsVoiceContactEntity(hass, entry, contact)],
    )


class TwsmsVoiceContactEntity(TwsmsVoiceEntity, NotifyEntity):
    """Call one contact with ``notify.send_message``."""

    _attr_supported_features = NotifyEntityFeature.TITLE
    _attr_translation_key = "call"
    _attr_name = None  # the entity is the contact's device: notify.<contact>

    def __init__(
        self,
        hass: HomeAssistant,
        entry: TwsmsVoiceConfigEntry,
        subentry: ConfigSubentry,
    ) -> None:
        """Bind the entity to a contact subentry."""
        super().__init__(hass, entry, "call", subentry)
        self._entry = entry
        self._target = contact_target(entry, subentry, {})

    @override
    async def async_send_message(self, message: str, title: str | None = None) -> None:
        """Queue a call to the contact that reads the title, then the message."""
        await async_queue_calls(
            self.hass,
            self._entry,
            [self._target],
            spoken_text(message, title),
            {},
            context=self._context,
        )
