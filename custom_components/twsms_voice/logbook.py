"""Logbook lines for finished calls: "Mom answered, listened 12 s"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.components.logbook import (
    LOGBOOK_ENTRY_ICON,
    LOGBOOK_ENTRY_MESSAGE,
    LOGBOOK_ENTRY_NAME,
)
from homeassistant.core import Event, HomeAssistant, callback

from .const import DOMAIN, EVENT_CALL_FINISHED
from .phone import mask_phone

# Logbook lines are not translated by Home Assistant: English, or Chinese when
# Home Assistant speaks it.
_OUTCOMES = {
    "en": {
        "answered": "{who} answered",
        "hung_up": "{who} hung up at once",
        "no_answer": "{who} did not answer",
        "busy": "{who} was busy",
        "unknown": "{who} was called; the outcome is unknown",
        "failed": "{who} could not be called",
    },
    "zh": {
        "answered": "{who} 已接聽",
        "hung_up": "{who} 接起即掛斷",
        "no_answer": "{who} 未接聽",
        "busy": "{who} 忙線中",
        "unknown": "已撥給 {who}，結果不明",
        "failed": "無法撥給 {who}",
    },
}
_ICONS = {
    "answered": "mdi:phone-check",
    "hung_up": "mdi:phone-hangup",
    "no_answer": "mdi:phone-missed",
    "busy": "mdi:phone-cancel",
    "unknown": "mdi:phone-remove",
    "failed": "mdi:phone-alert",
}
_LISTENED = {"en": ", listened {seconds} s", "zh": "，收聽 {seconds} 秒"}


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[
        [str, str, Callable[[Event[dict[str, Any]]], dict[str, str]]], None
    ],
) -> None:
    """Describe the call-finished event."""

    @callback
    def describe(event: Event[dict[str, Any]]) -> dict[str, str]:
        data = event.data
        language = "zh" if hass.config.language.startswith("zh") else "en"
        who = data["contact"] or mask_phone(data["phone"])
        outcome = _OUTCOMES[language].get(
            data["status"], "{who}: " + str(data["status"])
        )
        message = outcome.format(who=who)
        if data["status"] in ("answered", "hung_up") and data["duration"] is not None:
            message += _LISTENED[language].format(seconds=data["duration"])
        return {
            LOGBOOK_ENTRY_NAME: "TwSMS Voice",
            LOGBOOK_ENTRY_MESSAGE: message,
            LOGBOOK_ENTRY_ICON: _ICONS.get(data["status"], "mdi:phone"),
        }

    async_describe_event(DOMAIN, EVENT_CALL_FINISHED, describe)
