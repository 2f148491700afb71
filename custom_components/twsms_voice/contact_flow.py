"""Contacts: a name, one phone number and optional voice settings (subentries)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import voluptuous as vol

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.const import CONF_NAME
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from .const import (
    CONF_PHONE,
    CONF_SPEED,
    CONF_VOICE,
    CONF_VOLUME,
    SUBENTRY_CONTACT,
    VOICES,
)
from .phone import normalize_phone

VOICE_SELECTOR = SelectSelector(
    SelectSelectorConfig(
        options=list(VOICES),
        translation_key=CONF_VOICE,
        mode=SelectSelectorMode.DROPDOWN,
    )
)


def _number(low: int, high: int, step: int, mode: NumberSelectorMode) -> NumberSelector:
    return NumberSelector(NumberSelectorConfig(min=low, max=high, step=step, mode=mode))


def voice_fields(*, required: bool) -> dict[vol.Marker, Any]:
    """Voice, speed and volume: required defaults for the account, optional per contact.

    An optional value is a box, not a slider: an untouched slider would look like
    a value chosen (its minimum) while it means "the account's default".
    """
    marker = vol.Required if required else vol.Optional
    mode = NumberSelectorMode.SLIDER if required else NumberSelectorMode.BOX
    return {
        marker(CONF_VOICE): VOICE_SELECTOR,
        marker(CONF_SPEED): _number(-10, 10, 1, mode),
        marker(CONF_VOLUME): _number(0, 100, 5, mode),
    }


class ContactSubentryFlow(ConfigSubentryFlow):
    """Add or change a contact: a name, one phone number, optional voice settings."""

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Add a contact."""
        return await self._async_contact_form("user", user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change a contact."""
        return await self._async_contact_form("reconfigure", user_input)

    async def _async_contact_form(
        self, step_id: str, user_input: dict[str, Any] | None
    ) -> SubentryFlowResult:
        entry = self._get_entry()
        editing = (
            self._get_reconfigure_subentry()
            if self.source == SOURCE_RECONFIGURE
            else None
        )
        others = [
            subentry
            for subentry in entry.subentries.values()
            if subentry.subentry_type == SUBENTRY_CONTACT and subentry is not editing
        ]
        errors: dict[str, str] = {}
        if user_input is not None:
            name = user_input[CONF_NAME].strip()
            phone = normalize_phone(user_input[CONF_PHONE])
            if phone is None:
                errors[CONF_PHONE] = "invalid_phone"
            elif any(other.data[CONF_PHONE] == phone for other in others):
                errors[CONF_PHONE] = "phone_exists"
            if not name:
                errors[CONF_NAME] = "invalid_name"
            elif normalize_phone(name) is not None:
                # A target that reads as a number is that number, never a name.
                errors[CONF_NAME] = "name_is_a_number"
            elif any(other.title.casefold() == name.casefold() for other in others):
                errors[CONF_NAME] = "name_exists"
            if not errors:
                data = {CONF_PHONE: phone} | {
                    key: user_input[key] if key == CONF_VOICE else int(user_input[key])
                    for key in (CONF_VOICE, CONF_SPEED, CONF_VOLUME)
                    if key in user_input
                }
                if editing is None:
                    return self.async_create_entry(
                        title=name, data=data, unique_id=phone
                    )
                return self.async_update_reload_and_abort(
                    entry, editing, title=name, data=data, unique_id=phone
                )
        schema = vol.Schema(
            {
                vol.Required(CONF_NAME): str,
                vol.Required(CONF_PHONE): TextSelector(
                    TextSelectorConfig(type=TextSelectorType.TEL)
                ),
                **voice_fields(required=False),
            }
        )
        suggested: Mapping[str, Any] = user_input or (
            {CONF_NAME: editing.title} | dict(editing.data) if editing else {}
        )
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
        )
