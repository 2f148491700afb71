"""Sensors: the last call and the points used per account, the last call per contact."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .call_record import CallState, TrackedCall
from .entity import TwsmsVoiceEntity, async_add_contact_entities
from .tracker import CallTracker
from .typedefs import TwsmsVoiceConfigEntry

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class TwsmsVoiceSensorDescription(SensorEntityDescription):
    """A sensor computed from the account's call tracker."""

    call_fn: Callable[[CallTracker, str | None], TrackedCall | None] | None = None
    value_fn: Callable[[CallTracker], int] | None = None


LAST_CALL = TwsmsVoiceSensorDescription(
    key="last_call",
    translation_key="last_call",
    device_class=SensorDeviceClass.ENUM,
    options=list(CallState),
    call_fn=lambda tracker, contact_id: (
        tracker.last_call
        if contact_id is None
        else tracker.last_call_by_contact.get(contact_id)
    ),
)
POINTS_USED = TwsmsVoiceSensorDescription(
    key="points_used",
    translation_key="points_used",
    state_class=SensorStateClass.TOTAL_INCREASING,
    value_fn=lambda tracker: tracker.points_used,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: TwsmsVoiceConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the account's sensors and each contact's last-call sensor."""
    async_add_entities(
        TwsmsVoiceSensor(hass, entry, description)
        for description in (LAST_CALL, POINTS_USED)
    )
    async_add_contact_entities(
        hass,
        entry,
        async_add_entities,
        lambda contact: [TwsmsVoiceSensor(hass, entry, LAST_CALL, contact)],
    )


class TwsmsVoiceSensor(TwsmsVoiceEntity, SensorEntity):
    """A sensor that follows the call tracker."""

    entity_description: TwsmsVoiceSensorDescription

    def __init__(
        self,
        hass: HomeAssistant,
        entry: TwsmsVoiceConfigEntry,
        description: TwsmsVoiceSensorDescription,
        contact: ConfigSubentry | None = None,
    ) -> None:
        """Follow the account's tracker, for the account or for one contact."""
        super().__init__(hass, entry, description.key, contact)
        self.entity_description = description
        self._tracker = entry.runtime_data.tracker
        self._contact_id = contact.subentry_id if contact else None

    async def async_added_to_hass(self) -> None:
        """Update whenever a call changes."""
        await super().async_added_to_hass()
        self.async_on_remove(
            self._tracker.async_add_listener(self.async_write_ha_state)
        )

    def _call(self) -> TrackedCall | None:
        call_fn = self.entity_description.call_fn
        return call_fn(self._tracker, self._contact_id) if call_fn else None

    @property
    def native_value(self) -> str | int | None:
        """Return the last call's state, or the counter."""
        if value_fn := self.entity_description.value_fn:
            return value_fn(self._tracker)
        call = self._call()
        return call.state if call else None

    @property
    def extra_state_attributes(self) -> Mapping[str, Any] | None:
        """Describe the last call (its number partly masked)."""
        call = self._call()
        return call.as_attributes() if call else None
