"""Devices and the base entity of a TwSMS Voice account.

The account is a service device; each contact is a device of its own, linked to the
account's device, because Home Assistant keeps each device in a single subentry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from homeassistant.config_entries import (
    SIGNAL_CONFIG_ENTRY_CHANGED,
    ConfigEntry,
    ConfigEntryChange,
    ConfigSubentry,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .calls import contacts
from .const import DOMAIN
from .typedefs import TwsmsVoiceConfigEntry

MANUFACTURER = "TwSMS 台灣簡訊"


def account_device_info(entry: TwsmsVoiceConfigEntry) -> DeviceInfo:
    """Return the service device that stands for one account."""
    return DeviceInfo(
        identifiers={(DOMAIN, entry.entry_id)},
        name=f"TwSMS {entry.title}",
        manufacturer=MANUFACTURER,
        model="Voice API",
        entry_type=DeviceEntryType.SERVICE,
        configuration_url="https://www.twsms.com",
    )


def contact_device_info(
    hass: HomeAssistant, entry: TwsmsVoiceConfigEntry, contact: ConfigSubentry
) -> DeviceInfo:
    """Return the device of one contact, reached through the account's device."""
    return DeviceInfo(
        identifiers={(DOMAIN, f"{entry.entry_id}_{contact.subentry_id}")},
        name=contact.title,
        manufacturer=MANUFACTURER,
        model="Contact",
        entry_type=DeviceEntryType.SERVICE,
        via_device_id=dr.async_get_device_id_by_identifier(
            hass, (DOMAIN, entry.entry_id), config_entry_id=entry.entry_id
        ),
    )


class TwsmsVoiceEntity(Entity):
    """An entity of an account's or a contact's device."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(
        self,
        hass: HomeAssistant,
        entry: TwsmsVoiceConfigEntry,
        key: str,
        contact: ConfigSubentry | None = None,
    ) -> None:
        """Attach the entity to the contact's device, or else the account's."""
        if contact is None:
            self._attr_unique_id = f"{entry.entry_id}_{key}"
            self._attr_device_info = account_device_info(entry)
        else:
            self._attr_unique_id = f"{entry.entry_id}_{contact.subentry_id}_{key}"
            self._attr_device_info = contact_device_info(hass, entry, contact)


@callback
def async_add_contact_entities(
    hass: HomeAssistant,
    entry: TwsmsVoiceConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    build: Callable[[ConfigSubentry], Iterable[Entity]],
) -> None:
    """Add each contact's entities, now and whenever a contact is added.

    A new contact needs no reload (a reload would not disturb calls, but it is not
    needed either); a removed contact's entities go with its subentry.
    """
    added: set[str] = set()

    @callback
    def add_new_contacts() -> None:
        for contact in contacts(entry):
            if contact.subentry_id not in added:
                added.add(contact.subentry_id)
                async_add_entities(
                    build(contact), config_subentry_id=contact.subentry_id
                )

    @callback
    def entry_changed(change: ConfigEntryChange, changed: ConfigEntry[Any]) -> None:
        if change is ConfigEntryChange.UPDATED and changed.entry_id == entry.entry_id:
            add_new_contacts()

    add_new_contacts()
    entry.async_on_unload(
        async_dispatcher_connect(hass, SIGNAL_CONFIG_ENTRY_CHANGED, entry_changed)
    )
