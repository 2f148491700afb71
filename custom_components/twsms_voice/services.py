"""The ``twsms_voice.call`` action: call numbers or contacts, get per-number results."""

from __future__ import annotations

import voluptuous as vol

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv

from .calls import raise_for_failures, resolve_targets
from .const import CONF_SPEED, CONF_VOICE, CONF_VOICE_URL, CONF_VOLUME, DOMAIN, VOICES
from .data import TwsmsVoiceConfigEntry
from .twsms.client import SPEED_RANGE, VOLUME_RANGE

SERVICE_CALL = "call"
ATTR_TARGET = "target"
ATTR_MESSAGE = "message"

# Voice settings a single call may override; shared with the notify `data` field.
CALL_SETTINGS_SCHEMA = {
    vol.Optional(CONF_VOICE): vol.In(VOICES),
    vol.Optional(CONF_SPEED): vol.All(
        vol.Coerce(int), vol.Range(min=SPEED_RANGE.start, max=SPEED_RANGE.stop - 1)
    ),
    vol.Optional(CONF_VOLUME): vol.All(
        vol.Coerce(int), vol.Range(min=VOLUME_RANGE.start, max=VOLUME_RANGE.stop - 1)
    ),
    vol.Optional(CONF_VOICE_URL): cv.url,
}

CALL_SCHEMA = vol.Schema(
    {
        vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_TARGET): vol.All(cv.ensure_list, [cv.string]),
        vol.Required(ATTR_MESSAGE): cv.string,
        **CALL_SETTINGS_SCHEMA,
    }
)


def _loaded_entry(call: ServiceCall) -> TwsmsVoiceConfigEntry:
    """Return the entry the call names, or the only one there is."""
    entries = call.hass.config_entries.async_loaded_entries(DOMAIN)
    if entry_id := call.data.get(ATTR_CONFIG_ENTRY_ID):
        entry = call.hass.config_entries.async_get_entry(entry_id)
        if entry is None or entry.domain != DOMAIN:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="entry_not_found",
                translation_placeholders={"entry_id": entry_id},
            )
        if entry.state is not ConfigEntryState.LOADED:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="entry_not_loaded",
                translation_placeholders={"title": entry.title},
            )
        return entry
    if len(entries) != 1:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_required",
            translation_placeholders={"count": str(len(entries))},
        )
    return entries[0]


async def _async_call(call: ServiceCall) -> ServiceResponse:
    """Call every target; report each one's msgid and points, or its error."""
    entry = _loaded_entry(call)
    targets = resolve_targets(entry, call.data[ATTR_TARGET], call.data)
    results = await entry.runtime_data.placer.async_call(
        targets, call.data[ATTR_MESSAGE], call.data.get(CONF_VOICE_URL)
    )
    if not call.return_response:
        raise_for_failures(results)
        return None
    return {"calls": [result.as_response() for result in results]}


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the integration's actions."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_CALL,
        _async_call,
        schema=CALL_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
