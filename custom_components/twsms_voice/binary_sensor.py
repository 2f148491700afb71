"""Binary sensors of an account's health, to automate on before an alarm needs it.

*TwSMS reachable* follows the requests the account makes anyway (and the periodic
check); *Account problem* is on while any repair issue of the account is open.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import TwsmsVoiceEntity
from .health import AccountHealth
from .typedefs import TwsmsVoiceConfigEntry

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class TwsmsVoiceBinarySensorDescription(BinarySensorEntityDescription):
    """A binary sensor computed from the account's health."""

    value_fn: Callable[[AccountHealth], bool]


DESCRIPTIONS = (
    TwsmsVoiceBinarySensorDescription(
        key="reachable",
        translation_key="reachable",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda health: health.reachable,
    ),
    TwsmsVoiceBinarySensorDescription(
        key="account_problem",
        translation_key="account_problem",
        device_class=BinarySensorDeviceClass.PROBLEM,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda health: bool(health.open_issues),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: TwsmsVoiceConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the account's health sensors."""
    async_add_entities(
        TwsmsVoiceBinarySensor(hass, entry, description) for description in DESCRIPTIONS
    )


class TwsmsVoiceBinarySensor(TwsmsVoiceEntity, BinarySensorEntity):
    """A binary sensor that follows the account's health."""

    entity_description: TwsmsVoiceBinarySensorDescription

    def __init__(
        self,
        hass: HomeAssistant,
        entry: TwsmsVoiceConfigEntry,
        description: TwsmsVoiceBinarySensorDescription,
    ) -> None:
        """Follow one account's health."""
        super().__init__(hass, entry, description.key)
        self.entity_description = description
        self._health = entry.runtime_data.health

    async def async_added_to_hass(self) -> None:
        """Update whenever the health changes."""
        await super().async_added_to_hass()
        self.async_on_remove(self._health.async_add_listener(self.async_write_ha_state))
        self.async_on_remove(self._health.async_track_issues(self.async_write_ha_state))

    @property
    def is_on(self) -> bool:
        """Return the health figure."""
        return self.entity_description.value_fn(self._health)
