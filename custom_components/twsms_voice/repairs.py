"""Fix flows for repair issues (the issues themselves are raised in `health.py`).

Only the hourly cap can be fixed from Home Assistant: its flow changes the cap. The
account's other issues are for the TwSMS website and go away by themselves.
"""

from __future__ import annotations

from typing import Any

import voluptuous as vol

from homeassistant.components.repairs import (
    ConfirmRepairFlow,
    RepairsFlow,
    RepairsFlowResult,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from .const import CONF_CALLS_PER_HOUR, DEFAULT_CALLS_PER_HOUR, DOMAIN
from .health import ISSUE_CALL_CAP_REACHED
from .options_flow import CALLS_PER_HOUR_SELECTOR
from .typedefs import TwsmsVoiceConfigEntry


class CallCapRepairFlow(RepairsFlow):
    """Change the hourly cap of the account whose calls it refused."""

    def __init__(
        self, entry: TwsmsVoiceConfigEntry, placeholders: dict[str, str]
    ) -> None:
        """Fix one account's cap; ``placeholders`` say who called and the cap."""
        self._entry = entry
        self._placeholders = placeholders

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> RepairsFlowResult:
        """Start with the form (the flow starts with the issue's data, not input)."""
        return await self.async_step_cap()

    async def async_step_cap(
        self, user_input: dict[str, Any] | None = None
    ) -> RepairsFlowResult:
        """Ask for the new cap; it applies to the next call, without a reload."""
        if user_input is not None:
            self.hass.config_entries.async_update_entry(
                self._entry,
                options={
                    **self._entry.options,
                    CONF_CALLS_PER_HOUR: int(user_input[CONF_CALLS_PER_HOUR]),
                },
            )
            return self.async_create_entry(data={})
        cap = self._entry.options.get(CONF_CALLS_PER_HOUR, DEFAULT_CALLS_PER_HOUR)
        return self.async_show_form(
            step_id="cap",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema(
                    {vol.Required(CONF_CALLS_PER_HOUR): CALLS_PER_HOUR_SELECTOR}
                ),
                {CONF_CALLS_PER_HOUR: cap},
            ),
            description_placeholders=self._placeholders
            | {"account": self._entry.title},
        )


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """Return the fix flow of an issue."""
    entry_id = str((data or {}).get("entry_id"))
    entry: TwsmsVoiceConfigEntry | None = hass.config_entries.async_get_entry(entry_id)
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    if issue_id.startswith(ISSUE_CALL_CAP_REACHED) and entry is not None:
        return CallCapRepairFlow(
            entry, dict(issue.translation_placeholders or {}) if issue else {}
        )
    return ConfirmRepairFlow()
