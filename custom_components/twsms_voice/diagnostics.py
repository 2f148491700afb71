"""Diagnostics: the account's settings and contacts, without secrets."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant

from .calls import contacts
from .const import CONF_PHONE, CONF_WEBHOOK_ID
from .phone import mask_phone
from .typedefs import TwsmsVoiceConfigEntry

TO_REDACT = {CONF_PASSWORD, CONF_USERNAME, CONF_WEBHOOK_ID, "title", "unique_id"}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: TwsmsVoiceConfigEntry
) -> dict[str, Any]:
    """Return what helps debugging: settings, contacts with masked numbers, counters."""
    account = entry.runtime_data
    return {
        "entry": async_redact_data(
            {
                "title": entry.title,
                "unique_id": entry.unique_id,
                "data": dict(entry.data),
                "options": dict(entry.options),
            },
            TO_REDACT,
        ),
        # Contacts by number in the list: their names are people's names.
        "contacts": [
            dict(contact.data) | {CONF_PHONE: mask_phone(contact.data[CONF_PHONE])}
            for contact in contacts(entry)
        ],
        "suppressed_calls": account.placer.suppressed_calls,
        "capped_calls": account.placer.capped_calls,
        "status_reports": account.response_url is not None,
        "reachable": account.health.reachable,
        "open_issues": account.health.open_issues,
        "points_used": account.tracker.points_used,
        "pending_calls": [
            call.as_attributes() | {"placed_at": call.placed_at.isoformat()}
            for call in account.tracker.pending_calls
        ],
        "queued_calls": [
            {
                "phone": mask_phone(call.target.phone),
                "attempts": call.attempts,
                "created_at": call.created_at.isoformat(),
                "last_error": call.last_error,
            }
            for call in account.queue.queued_calls
        ],
    }
