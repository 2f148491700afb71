"""The options of an account: call defaults, guards, and how outcomes are followed."""

from __future__ import annotations

from typing import Any

import voluptuous as vol

from homeassistant.config_entries import ConfigFlowResult, OptionsFlowWithReload
from homeassistant.helpers.selector import (
    BooleanSelector,
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
)

from .const import (
    CONF_CALLS_PER_HOUR,
    CONF_CHECK_EVERY,
    CONF_COOLDOWN,
    CONF_GIVE_UP_AFTER,
    CONF_MAX_QUEUE_AGE,
    CONF_MIN_LISTENING,
    CONF_RATE_LIMIT,
    CONF_SPEED,
    CONF_STATUS_CALLBACK,
    CONF_TTS,
    CONF_VOICE,
    CONF_VOLUME,
    DEFAULT_CALLS_PER_HOUR,
    DEFAULT_CHECK_EVERY,
    DEFAULT_COOLDOWN,
    DEFAULT_GIVE_UP_AFTER,
    DEFAULT_MAX_QUEUE_AGE,
    DEFAULT_MIN_LISTENING,
    DEFAULT_RATE_LIMIT,
    DEFAULT_SPEED,
    DEFAULT_STATUS_CALLBACK,
    DEFAULT_VOICE,
    DEFAULT_VOLUME,
)
from .contact_flow import voice_fields


def _box(low: int, high: int, unit: str) -> NumberSelector:
    return NumberSelector(
        NumberSelectorConfig(
            min=low,
            max=high,
            step=1,
            unit_of_measurement=unit,
            mode=NumberSelectorMode.BOX,
        )
    )


COOLDOWN_SELECTOR = _box(0, 3600, "s")
MINUTES_SELECTOR = _box(1, 60, "min")
CALLS_PER_HOUR_SELECTOR = _box(1, 1000, "/h")
HOURS_SELECTOR = _box(0, 168, "h")
LISTENING_SELECTOR = _box(0, 60, "s")
RATE_SELECTOR = _box(1, 40, "/s")


class TwsmsVoiceOptionsFlow(OptionsFlowWithReload):
    """Call defaults, duplicate-call cooldown and how outcomes are followed.

    The entry reloads with the new options; calls under way are not disturbed.
    """

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show and store the options."""
        if user_input is not None:
            return self.async_create_entry(
                data={
                    CONF_VOICE: user_input[CONF_VOICE],
                    CONF_SPEED: int(user_input[CONF_SPEED]),
                    CONF_VOLUME: int(user_input[CONF_VOLUME]),
                    CONF_COOLDOWN: int(user_input[CONF_COOLDOWN]),
                    CONF_GIVE_UP_AFTER: int(user_input[CONF_GIVE_UP_AFTER]),
                    CONF_MAX_QUEUE_AGE: int(user_input[CONF_MAX_QUEUE_AGE]),
                    CONF_RATE_LIMIT: int(user_input[CONF_RATE_LIMIT]),
                    CONF_CALLS_PER_HOUR: int(user_input[CONF_CALLS_PER_HOUR]),
                    CONF_STATUS_CALLBACK: user_input[CONF_STATUS_CALLBACK],
                    CONF_MIN_LISTENING: int(user_input[CONF_MIN_LISTENING]),
                    CONF_CHECK_EVERY: int(user_input[CONF_CHECK_EVERY]),
                }
                | ({CONF_TTS: tts} if (tts := user_input.get(CONF_TTS)) else {})
            )
        schema = vol.Schema(
            {
                **voice_fields(required=True),
                vol.Required(CONF_COOLDOWN): COOLDOWN_SELECTOR,
                vol.Required(CONF_GIVE_UP_AFTER): MINUTES_SELECTOR,
                vol.Required(CONF_MAX_QUEUE_AGE): MINUTES_SELECTOR,
                vol.Required(CONF_RATE_LIMIT): RATE_SELECTOR,
                vol.Required(CONF_CALLS_PER_HOUR): CALLS_PER_HOUR_SELECTOR,
                vol.Required(CONF_STATUS_CALLBACK): BooleanSelector(),
                vol.Required(CONF_MIN_LISTENING): LISTENING_SELECTOR,
                vol.Required(CONF_CHECK_EVERY): HOURS_SELECTOR,
                vol.Optional(CONF_TTS): EntitySelector(
                    EntitySelectorConfig(domain="tts")
                ),
            }
        )
        defaults = {
            CONF_VOICE: DEFAULT_VOICE,
            CONF_SPEED: DEFAULT_SPEED,
            CONF_VOLUME: DEFAULT_VOLUME,
            CONF_COOLDOWN: DEFAULT_COOLDOWN,
            CONF_GIVE_UP_AFTER: DEFAULT_GIVE_UP_AFTER,
            CONF_MAX_QUEUE_AGE: DEFAULT_MAX_QUEUE_AGE,
            CONF_RATE_LIMIT: DEFAULT_RATE_LIMIT,
            CONF_CALLS_PER_HOUR: DEFAULT_CALLS_PER_HOUR,
            CONF_STATUS_CALLBACK: DEFAULT_STATUS_CALLBACK,
            CONF_MIN_LISTENING: DEFAULT_MIN_LISTENING,
            CONF_CHECK_EVERY: DEFAULT_CHECK_EVERY,
        }
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                schema, defaults | dict(self.config_entry.options)
            ),
        )
