"""A *Test call* button per contact: know the alarm path works before the fire.

The test call goes through the same queue, cooldown and tracker as an alarm, so its
outcome shows on the contact's sensors and events like any call. It speaks the
language Home Assistant is set to.
"""

from __future__ import annotations

from homeassistant.components.button import ButtonEntity
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .calls import async_queue_calls, contact_target
from .entity import TwsmsVoiceEntity, async_add_contact_entities
from .typedefs import TwsmsVoiceConfigEntry

PARALLEL_UPDATES = 0

TEST_MESSAGES = {
    "zh": "這是 Home Assistant 的測試來電。發生警報時，您會接到這樣的電話。",
    "en": "This is a test call from Home Assistant. This is how an alarm will "
    "reach you.",
}


def test_message(language: str) -> str:
    """Return the test call's words in ``language`` (English unless Chinese)."""
    return TEST_MESSAGES["zh" if language.startswith("zh") else "en"]


async def async_setup_entry(
    hass: HomeAssistant,
    entry: TwsmsVoiceConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add each contact's test call button."""
    async_add_contact_entities(
        hass,
        entry,
        async_add_entities,
        lambda contact: [TwsmsVoiceTestCallButton(hass, entry, contact)],
    )


class TwsmsVoiceTestCallButton(TwsmsVoiceEntity, ButtonEntity):
    """Call one contact with a short test message."""

    _attr_translation_key = "test_call"
    _attr_entity_category = EntityCategory.DIAGNOSTIC

    def __init__(
        self,
        hass: HomeAssistant,
        entry: TwsmsVoiceConfigEntry,
        contact: ConfigSubentry,
    ) -> None:
        """Bind the button to a contact."""
        super().__init__(hass, entry, "test_call", contact)
        self._entry = entry
        self._target = contact_target(entry, contact, {})

    async def async_press(self) -> None:
        """Queue the test call; a refusal (the hourly cap, say) fails the press."""
        await async_queue_calls(
            self.hass,
            self._entry,
            [self._target],
            test_message(self.hass.config.language),
            {},
            context=self._context,
        )
