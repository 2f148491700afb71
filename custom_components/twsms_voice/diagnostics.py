"""Diagnostics: the account's settings and contacts, without secrets."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant

from .const import CONF_PHONE, CONF_WEBHOOK_ID, SUBENTRY_CONTACT
from .data import TwsmsVoiceConfigEntry
from .phone import mask_phone

TO_REDACT = {CONF_PASSWORD, CONF_USERNAME, CONF_WEBHOOK_ID, "title", "unique_id"}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: TwsmsVoiceConfigEntry
) -> dict[str, Any]:
    """Return what helps debugging: settings, contacts with masked numbers, counters."""
    placer = entry.runtime_data.placer
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
        "contacts": [
            {"name": subentry.title}
            | dict(subentry.data)
            | {CONF_PHONE: mask_phone(subentry.data[CONF_PHONE])}
            for subentry in entry.subentries.values()
            if subentry.subentry_type == SUBENTRY_CONTACT
        ],
        "suppressed_calls": placer.suppressed_calls,
        "capped_calls": placer.capped_calls,
        "status_reports": placer.queue.response_url is not None,
        "points_used": placer.tracker.points_used,
        "pending_calls": [
            call.as_attributes() | {"placed_at": call.placed_at.isoformat()}
            for call in placer.tracker.pending_calls
        ],
        "queued_calls": [
            {
                "phone": mask_phone(call.target.phone),
                "attempts": call.attempts,
                "created_at": call.created_at.isoformat(),
                "last_error": call.last_error,
            }
            for call in placer.queue.queued_calls
        ],
    }
