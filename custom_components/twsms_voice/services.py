"""The ``twsms_voice.call`` action: call numbers or contacts, get per-number results.

Unlike the notify action it waits: until each call is placed (its response needs the
msgid) or has failed, for at most `PLACEMENT_TIMEOUT`; a call still being tried then
is reported ``queued`` and goes on. With ``wait``, ``retries`` or the sequential mode
it follows each call to its outcome. Cancelling the action (an automation stopped)
never cancels a call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping
from typing import Any, Final

import voluptuous as vol

from homeassistant.components.media_source import is_media_source_id
from homeassistant.components.tts import DOMAIN as TTS_DOMAIN
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_CONFIG_ENTRY_ID, ATTR_DEVICE_ID, ATTR_ENTITY_ID
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv, entity_registry as er
from homeassistant.helpers.target import (
    TargetSelection,
    async_extract_referenced_entity_ids,
)

from .audio import async_call_audio, audio_files
from .call_record import CallState
from .calls import raise_for_failures, resolve_targets
from .const import (
    CONF_PRIORITY,
    CONF_SPEED,
    CONF_TTS,
    CONF_TTS_LANGUAGE,
    CONF_TTS_VOICE,
    CONF_VOICE,
    CONF_VOICE_URL,
    CONF_VOLUME,
    DOMAIN,
    PRIORITIES,
    PRIORITY_NORMAL,
    VOICES,
)
from .escalation import CallMode, async_escalate
from .twsms.client import SPEED_RANGE, VOLUME_RANGE
from .typedefs import TwsmsVoiceConfigEntry

SERVICE_CALL = "call"
ATTR_TARGET = "target"
ATTR_MESSAGE = "message"
ATTR_WAIT = "wait"
ATTR_WAIT_TIMEOUT = "wait_timeout"
ATTR_MODE = "mode"
ATTR_RETRIES = "retries"
ATTR_RETRY_DELAY = "retry_delay"
PLACEMENT_TIMEOUT: Final = 30.0  # seconds the action waits for calls to be placed


def _media_source_id(value: Any) -> str:
    """Accept a media-source:// URI (a recording from Home Assistant's media)."""
    text = cv.string(value)
    if not is_media_source_id(text):
        raise vol.Invalid("not a media-source:// URI")
    return text


def _whole_number(value: Any) -> int:
    """Accept 80, 80.0 or "80"; refuse 0.5 (or true) rather than make it 0 (or 1).

    A notify group hands a media player's ``volume: 0.5`` to every member: read
    as a whole number, that would be a silent call.
    """
    if isinstance(value, bool):
        raise vol.Invalid("expected a whole number")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError) as err:
        raise vol.Invalid("expected a whole number") from err
    if not number.is_integer():
        raise vol.Invalid("expected a whole number")
    return int(number)


# Voice settings a single call may override; shared with the notify `data` field.
CALL_SETTINGS_SCHEMA = {
    vol.Optional(CONF_VOICE): vol.In(VOICES),
    vol.Optional(CONF_SPEED): vol.All(
        _whole_number, vol.Range(min=SPEED_RANGE.start, max=SPEED_RANGE.stop - 1)
    ),
    vol.Optional(CONF_VOLUME): vol.All(
        _whole_number, vol.Range(min=VOLUME_RANGE.start, max=VOLUME_RANGE.stop - 1)
    ),
    vol.Optional(CONF_VOICE_URL): vol.Any(cv.url, _media_source_id),
    vol.Optional(CONF_TTS): vol.All(cv.string, cv.entity_domain(TTS_DOMAIN)),
    vol.Optional(CONF_TTS_LANGUAGE): cv.string,
    vol.Optional(CONF_TTS_VOICE): cv.string,
    vol.Optional(CONF_PRIORITY): vol.In(PRIORITIES),
}

CALL_SCHEMA = vol.Schema(
    {
        vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
        **cv.ENTITY_SERVICE_FIELDS,
        vol.Optional(ATTR_TARGET): vol.All(cv.ensure_list, [cv.string]),
        vol.Required(ATTR_MESSAGE): cv.string,
        **CALL_SETTINGS_SCHEMA,
        vol.Optional(ATTR_WAIT, default=False): cv.boolean,
        vol.Optional(ATTR_WAIT_TIMEOUT, default=300): vol.All(
            vol.Coerce(float), vol.Range(min=1, max=3600)
        ),
        vol.Optional(ATTR_MODE, default=CallMode.PARALLEL): vol.Coerce(CallMode),
        vol.Optional(ATTR_RETRIES, default=0): vol.All(
            vol.Coerce(int), vol.Range(min=0, max=5)
        ),
        vol.Optional(ATTR_RETRY_DELAY, default=60): vol.All(
            vol.Coerce(float), vol.Range(min=0, max=3600)
        ),
    }
)


def _targeted_contacts(
    hass: HomeAssistant, data: Mapping[str, Any]
) -> tuple[dict[str, list[str]], list[str]]:
    """Return the contacts picked as entity, device or area targets, by account.

    A contact is any of its entities (its notify entity, say) or its device; they
    keep the order they were picked in (it matters for the sequential mode). An
    entity picked by name that is no contact's is returned as invalid.
    """
    selected = async_extract_referenced_entity_ids(hass, TargetSelection(dict(data)))
    registry = er.async_get(hass)
    order = [
        *cv.ensure_list(data.get(ATTR_ENTITY_ID)),
        *cv.ensure_list(data.get(ATTR_DEVICE_ID)),
    ]

    def rank(entity_id: str) -> tuple[int, str]:
        entity = registry.async_get(entity_id)
        for position, picked_id in enumerate(order):
            if picked_id in (entity_id, entity and entity.device_id):
                return position, entity_id
        return len(order), entity_id

    picked: dict[str, list[str]] = {}
    invalid: list[str] = []
    for entity_id in sorted(
        selected.referenced | selected.indirectly_referenced, key=rank
    ):
        entity = registry.async_get(entity_id)
        if (
            entity is None
            or entity.platform != DOMAIN
            or entity.config_entry_id is None
            or entity.config_subentry_id is None
        ):
            if entity_id in selected.referenced:
                invalid.append(entity_id)
            continue
        contacts = picked.setdefault(entity.config_entry_id, [])
        if entity.config_subentry_id not in contacts:
            contacts.append(entity.config_subentry_id)
    return picked, invalid


def _loaded_entry(
    call: ServiceCall, targeted: Collection[str]
) -> TwsmsVoiceConfigEntry:
    """Return the account the call names, or that its picked contacts belong to.

    Without either, the only account there is.
    """
    entry_id = call.data.get(ATTR_CONFIG_ENTRY_ID)
    if not entry_id and len(targeted) == 1:
        (entry_id,) = targeted
    if entry_id:
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
    entries = call.hass.config_entries.async_loaded_entries(DOMAIN)
    if len(entries) != 1:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_required",
            translation_placeholders={"count": str(len(entries))},
        )
    return entries[0]


async def _async_call(call: ServiceCall) -> ServiceResponse:
    """Call the targets; report each one's msgid and points, or its error.

    With ``wait``, ``retries`` or the sequential mode, the action follows each call to
    its outcome, and the response says who answered.
    """
    picked, invalid_entities = _targeted_contacts(call.hass, call.data)
    entry = _loaded_entry(call, picked)
    targets, invalid = resolve_targets(
        entry, call.data.get(ATTR_TARGET, []), call.data, picked.get(entry.entry_id, [])
    )
    invalid += invalid_entities
    # Contacts of another account cannot be called from this one: say so.
    invalid += [
        contact.title
        for entry_id, contact_ids in picked.items()
        if entry_id != entry.entry_id
        and (other := call.hass.config_entries.async_get_entry(entry_id))
        for contact_id in contact_ids
        if (contact := other.subentries.get(contact_id))
    ]
    account = entry.runtime_data
    message = call.data[ATTR_MESSAGE]
    voice_url = await async_call_audio(call.hass, entry.options, message, call.data)
    priority = call.data.get(CONF_PRIORITY, PRIORITY_NORMAL)
    mode: CallMode = call.data[ATTR_MODE]
    follow = (
        call.data[ATTR_WAIT] or mode is CallMode.SEQUENTIAL or call.data[ATTR_RETRIES]
    )
    if follow:
        audio = audio_files(call.hass)
        audio.hold(voice_url)  # for every step and retry, not just the first call
        try:
            results = await async_escalate(
                call.hass,
                account,
                targets,
                message,
                voice_url,
                mode=mode,
                retries=call.data[ATTR_RETRIES],
                retry_delay=call.data[ATTR_RETRY_DELAY],
                wait_timeout=call.data[ATTR_WAIT_TIMEOUT],
                context=call.context,
                priority=priority,
            )
        finally:
            audio.release(voice_url)
    else:
        tickets = await account.placer.async_submit(
            targets, message, voice_url, context=call.context, priority=priority
        )
        results = list(
            await asyncio.gather(
                *(
                    ticket.async_result(call.hass, PLACEMENT_TIMEOUT)
                    for ticket in tickets
                )
            )
        )
    if not call.return_response:
        raise_for_failures(results, invalid)
        return None
    response: dict[str, Any] = {
        "calls": [result.as_response() for result in results],
        "invalid_targets": invalid,
    }
    if follow:
        answered = next(
            (result for result in results if result.outcome is CallState.ANSWERED),
            None,
        )
        response["answered_by"] = (
            {"phone": answered.target.phone, "contact": answered.target.contact}
            if answered
            else None
        )
    return response


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
