"""Devices and the base entity of a TwSMS Voice account.

The account is a service device; each contact is a device of its own, linked to the
account's device, because Home Assistant keeps each device in a single subentry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity

from .const import DOMAIN

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry, ConfigSubentry
    from homeassistant.core import HomeAssistant

MANUFACTURER = "TwSMS 台灣簡訊"


def account_device_info(entry: ConfigEntry[Any]) -> DeviceInfo:
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
    hass: HomeAssistant, entry: ConfigEntry[Any], contact: ConfigSubentry
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
        entry: ConfigEntry[Any],
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
