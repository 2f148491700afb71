"""Notify platform: ``notify.twsms_voice`` and one notify entity per contact.

The legacy service is what existing automations call (``message``, ``title``,
``target``, ``data``); the entities serve ``notify.send_message``.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, override

import voluptuous as vol

from homeassistant.components.notify import NotifyEntity
from homeassistant.components.notify.const import (
    ATTR_DATA,
    ATTR_TARGET,
    ATTR_TITLE,
    NotifyEntityFeature,
)
from homeassistant.components.notify.legacy import BaseNotificationService
from homeassistant.config_entries import ConfigEntryState, ConfigSubentry
from homeassistant.core import Context, HomeAssistant, ServiceCall
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import ConfigType, DiscoveryInfoType

from .calls import contact_target, raise_for_failures, resolve_targets, spoken_text
from .const import CONF_VOICE_URL, DOMAIN, SUBENTRY_CONTACT
from .data import TwsmsVoiceConfigEntry
from .entity import TwsmsVoiceEntity
from .services import CALL_SETTINGS_SCHEMA

PARALLEL_UPDATES = 0

DATA_SCHEMA = vol.Schema(CALL_SETTINGS_SCHEMA)
_CALLER: ContextVar[Context | None] = ContextVar(f"{DOMAIN}_caller", default=None)


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


class TwsmsVoiceNotificationService(BaseNotificationService):
    """Call numbers or contacts of one account."""

    def __init__(self, entry: TwsmsVoiceConfigEntry) -> None:
        """Serve one account."""
        self._entry = entry

    @override
    async def async_send_message(self, message: str = "", **kwargs: Any) -> None:
        """Call the targets (every contact when there are none)."""
        try:
            data = DATA_SCHEMA(kwargs.get(ATTR_DATA) or {})
        except vol.Invalid as err:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="invalid_data",
                translation_placeholders={"error": str(err)},
            ) from err
        targets = resolve_targets(self._entry, kwargs.get(ATTR_TARGET), data)
        results = await self._entry.runtime_data.placer.async_call(
            targets,
            spoken_text(message, kwargs.get(ATTR_TITLE)),
            data.get(CONF_VOICE_URL),
            _CALLER.get(),
        )
        raise_for_failures(results)

    @override
    async def _async_notify_message_service(self, service: ServiceCall) -> None:
        """Keep the caller's context, which the base class does not pass on.

        The hourly cap names the automation that called. Should Home Assistant
        rename this method, calls still work; the cap then names no automation.
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
    for subentry_id, subentry in entry.subentries.items():
        if subentry.subentry_type == SUBENTRY_CONTACT:
            async_add_entities(
                [TwsmsVoiceContactEntity(hass, entry, subentry)],
                config_subentry_id=subentry_id,
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
        """Call the contact and read the title, then the message."""
        results = await self._entry.runtime_data.placer.async_call(
            [self._target], spoken_text(message, title), context=self._context
        )
        raise_for_failures(results)
