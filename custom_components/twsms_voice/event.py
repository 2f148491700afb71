"""Event entities: how each call ended, per contact and per account.

The same news as the ``twsms_voice_call_finished`` bus event, as entities the UI can
offer in automation triggers (no event name to type).
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.event import EventEntity
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .call_record import CallState
from .const import EVENT_CALL_FINISHED
from .entity import TwsmsVoiceEntity, async_add_contact_entities
from .phone import mask_phone
from .typedefs import TwsmsVoiceConfigEntry

PARALLEL_UPDATES = 0

EVENT_TYPES = [state.value for state in CallState if state is not CallState.PENDING]


async def async_setup_entry(
    hass: HomeAssistant,
    entry: TwsmsVoiceConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the account's call event and each contact's."""
    async_add_entities([TwsmsVoiceCallEvent(hass, entry)])
    async_add_contact_entities(
        hass,
        entry,
        async_add_entities,
        lambda contact: [TwsmsVoiceCallEvent(hass, entry, contact)],
    )


class TwsmsVoiceCallEvent(TwsmsVoiceEntity, EventEntity):
    """Fires once per finished call, of the account or of one contact."""

    _attr_translation_key = "call"
    _attr_event_types = EVENT_TYPES

    def __init__(
        self,
        hass: HomeAssistant,
        entry: TwsmsVoiceConfigEntry,
        contact: ConfigSubentry | None = None,
    ) -> None:
        """Listen to one account's calls, or to one contact's."""
        super().__init__(hass, entry, "call_event", contact)
        self._entry_id = entry.entry_id
        self._contact_id = contact.subentry_id if contact else None

    async def async_added_to_hass(self) -> None:
        """Listen for finished calls."""
        await super().async_added_to_hass()
        self.async_on_remove(
            self.hass.bus.async_listen(
                EVENT_CALL_FINISHED, self._call_finished, event_filter=self._mine
            )
        )

    @callback
    def _mine(self, event_data: dict[str, Any]) -> bool:
        if event_data["config_entry_id"] != self._entry_id:
            return False
        return self._contact_id in (None, event_data["contact_id"])

    @callback
    def _call_finished(self, event: Event[dict[str, Any]]) -> None:
        """Fire with the outcome; the number is masked (it goes to the recorder)."""
        data = event.data
        self._trigger_event(
            str(data["status"]),
            {
                "msgid": data["msgid"],
                "phone": mask_phone(data["phone"]),
                "contact": data["contact"],
                "duration": data["duration"],
                "points": data["points"],
            },
        )
        self.async_write_ha_state()
