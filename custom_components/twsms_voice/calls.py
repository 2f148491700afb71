"""Who to call, with which voice, and what became of each call.

Every way into the integration (the notify service, a contact's notify entity and the
``twsms_voice.call`` action) uses these, so they all resolve targets, apply voice
settings and report errors the same way; `placer.py` places the calls.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from .audio import async_call_audio
from .call_record import CallState
from .const import (
    CONF_PHONE,
    CONF_SPEED,
    CONF_VOICE,
    CONF_VOLUME,
    DEFAULT_SPEED,
    DEFAULT_VOICE,
    DEFAULT_VOLUME,
    DOMAIN,
    PRIORITY_NORMAL,
    SUBENTRY_CONTACT,
    VOICES,
)
from .phone import normalize_phone
from .twsms import SendResult, SpeechSettings, Voice
from .typedefs import TwsmsVoiceConfigEntry


@dataclass(frozen=True, kw_only=True)
class CallTarget:
    """One number to dial, the contact it belongs to, and the voice to use."""

    phone: str
    contact_id: str | None = None
    contact: str | None = None
    speech: SpeechSettings


@dataclass(frozen=True, kw_only=True)
class CallResult:
    """What happened when one target was called (over all its attempts)."""

    target: CallTarget
    sent: SendResult | None = None  # the last attempt
    error: HomeAssistantError | None = None
    suppressed: bool = False
    queued: bool = False  # refused for now (``error``), to be tried again
    outcome: CallState | None = None  # only when the caller waited for it
    attempts: int = 0  # requests sent to TwSMS
    points: int = 0  # over all attempts

    @property
    def status(self) -> str:
        """Return the outcome, or else what became of the request."""
        if self.outcome is not None:
            return self.outcome
        if self.suppressed:
            return "suppressed"
        if self.queued:
            return "queued"
        return CallState.FAILED if self.error else "placed"

    def as_response(self) -> dict[str, Any]:
        """Return the result as action response data."""
        return {
            "phone": self.target.phone,
            "contact": self.target.contact,
            "status": self.status,
            "msgid": self.sent.msgid if self.sent else None,
            "points": self.points,
            "attempts": self.attempts,
            "error": str(self.error) if self.error else None,
        }


def speech_to_storage(speech: SpeechSettings) -> dict[str, int]:
    """Return voice settings as stored."""
    return {"voice": int(speech.voice), "speed": speech.speed, "volume": speech.volume}


def speech_from_storage(stored: Mapping[str, Any]) -> SpeechSettings:
    """Rebuild voice settings saved by `speech_to_storage`."""
    return SpeechSettings(
        voice=Voice(stored["voice"]),
        speed=int(stored["speed"]),
        volume=int(stored["volume"]),
    )


def speech_settings(*layers: Mapping[str, Any]) -> SpeechSettings:
    """Merge voice settings; later layers (contact, then the call) win."""
    merged: dict[str, Any] = {
        CONF_VOICE: DEFAULT_VOICE,
        CONF_SPEED: DEFAULT_SPEED,
        CONF_VOLUME: DEFAULT_VOLUME,
    }
    for layer in layers:
        merged |= {
            key: layer[key]
            for key in (CONF_VOICE, CONF_SPEED, CONF_VOLUME)
            if layer.get(key) is not None
        }
    return SpeechSettings(
        voice=VOICES[merged[CONF_VOICE]],
        speed=int(merged[CONF_SPEED]),
        volume=int(merged[CONF_VOLUME]),
    )


def contacts(entry: TwsmsVoiceConfigEntry) -> list[ConfigSubentry]:
    """Return the account's contacts."""
    return [
        subentry
        for subentry in entry.subentries.values()
        if subentry.subentry_type == SUBENTRY_CONTACT
    ]


def resolve_targets(
    entry: TwsmsVoiceConfigEntry,
    targets: Iterable[str] | None,
    call: Mapping[str, Any],
    contact_ids: Iterable[str] = (),
) -> tuple[list[CallTarget], list[str]]:
    """Turn contacts (picked as entities, or named) and phone numbers into targets.

    Return the targets and what could not be resolved: one typo must not keep the
    others from being called. No targets at all means every contact of the account.
    A target that reads as a phone number is that number (a contact's voice
    settings apply when it is theirs); anything else is a contact's name, in any
    case.
    """
    known = contacts(entry)
    by_id = {contact.subentry_id: contact for contact in known}
    by_name = {contact.title.casefold(): contact for contact in known}
    by_phone = {contact.data[CONF_PHONE]: contact for contact in known}
    picked = [by_id[contact_id] for contact_id in contact_ids if contact_id in by_id]
    if targets is not None:
        names = list(targets)
    else:
        names = [] if picked else list(by_name)
    if not names and not picked:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="no_targets"
        )
    resolved: dict[str, CallTarget] = {}
    for chosen in picked:
        target = contact_target(entry, chosen, call)
        resolved.setdefault(target.phone, target)
    invalid: list[str] = []
    for name in names:
        phone = normalize_phone(name)
        contact = (
            by_phone.get(phone)
            if phone is not None
            else by_name.get(name.strip().casefold())
        )
        if contact is not None:
            target = contact_target(entry, contact, call)
        elif phone is not None:
            target = CallTarget(
                phone=phone, speech=speech_settings(entry.options, call)
            )
        else:
            invalid.append(name)
            continue
        resolved.setdefault(target.phone, target)
    return list(resolved.values()), invalid


def invalid_targets_error(invalid: list[str]) -> ServiceValidationError:
    """Return the error that names the targets nobody could call."""
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="invalid_target",
        translation_placeholders={"targets": ", ".join(invalid)},
    )


def contact_target(
    entry: TwsmsVoiceConfigEntry, contact: ConfigSubentry, call: Mapping[str, Any]
) -> CallTarget:
    """Return the target for a contact, in their voice unless the call says."""
    return CallTarget(
        phone=contact.data[CONF_PHONE],
        contact_id=contact.subentry_id,
        contact=contact.title,
        speech=speech_settings(entry.options, contact.data, call),
    )


def spoken_text(message: str, title: str | None) -> str:
    """Put the title, when there is one, before the message."""
    return f"{title}\n{message}" if title else message


async def async_queue_calls(
    hass: HomeAssistant,
    entry: TwsmsVoiceConfigEntry,
    targets: list[CallTarget],
    text: str,
    settings: Mapping[str, Any],
    *,
    context: Context | None,
    priority: str = PRIORITY_NORMAL,
    invalid: list[str] | None = None,
) -> None:
    """Queue calls reading ``text`` in the voice ``settings`` ask for, or the account's.

    Returns once every call is stored (fire-and-forget, as a notification is);
    raises afterwards for refused calls and ``invalid`` targets.
    """
    tickets = await entry.runtime_data.placer.async_submit(
        targets,
        text,
        await async_call_audio(hass, entry.options, text, settings),
        context=context,
        priority=priority,
    )
    raise_for_failures([ticket.result_so_far() for ticket in tickets], invalid or [])


def raise_for_failures(results: list[CallResult], invalid: list[str]) -> None:
    """Raise when any call failed or any target was invalid; several together.

    A queued call has not failed: it is tried again until it goes through or is
    too old, and its end shows on the sensors and in the call-finished event.
    """
    failures: list[HomeAssistantError] = [
        result.error
        for result in results
        if result.error is not None and not result.queued
    ]
    if invalid:
        failures.insert(0, invalid_targets_error(invalid))
    if len(failures) == 1:
        raise failures[0]
    if failures:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="calls_failed",
            translation_placeholders={
                "failed": str(len(failures)),
                "total": str(len(results) + len(invalid)),
                "errors": "; ".join(str(error) for error in failures),
            },
        )
