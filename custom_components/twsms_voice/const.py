"""Constants of the TwSMS Voice integration."""

from __future__ import annotations

import logging
from typing import Final

from .twsms import Voice

DOMAIN: Final = "twsms_voice"
LOGGER = logging.getLogger(__package__)

CONF_ADVANCED: Final = "advanced"
CONF_API_URL: Final = "api_url"
CONF_PHONE: Final = "phone"
CONF_VOICE: Final = "voice"
CONF_SPEED: Final = "speed"
CONF_VOLUME: Final = "volume"
CONF_VOICE_URL: Final = "voice_url"
CONF_TTS: Final = "tts"
CONF_TTS_LANGUAGE: Final = "tts_language"
CONF_TTS_VOICE: Final = "tts_voice"
CONF_COOLDOWN: Final = "cooldown"
CONF_GIVE_UP_AFTER: Final = "give_up_after"
CONF_MAX_QUEUE_AGE: Final = "max_queue_age"
CONF_RATE_LIMIT: Final = "rate_limit"
CONF_CALLS_PER_HOUR: Final = "calls_per_hour"
CONF_STATUS_CALLBACK: Final = "status_callback"
CONF_WEBHOOK_ID: Final = "webhook_id"
CONF_PRIORITY: Final = "priority"
CONF_CHECK_EVERY: Final = "check_every"
CONF_MIN_LISTENING: Final = "min_listening"

SUBENTRY_CONTACT: Final = "contact"

# Service and notify `data` spell voices by name; the provider numbers them.
VOICES: Final = {
    "female_1": Voice.FEMALE_1,
    "female_2": Voice.FEMALE_2,
    "female_3": Voice.FEMALE_3,
    "male_1": Voice.MALE_1,
}
DEFAULT_VOICE: Final = "female_1"
DEFAULT_SPEED: Final = 0
DEFAULT_VOLUME: Final = 100
DEFAULT_COOLDOWN: Final = 60  # seconds; the same message to the same number
DEFAULT_GIVE_UP_AFTER: Final = 10  # minutes until a call's outcome is `unknown`
DEFAULT_MAX_QUEUE_AGE: Final = 15  # minutes a call is retried before it is `failed`
DEFAULT_CALLS_PER_HOUR: Final = 60  # a runaway automation stops here
DEFAULT_RATE_LIMIT: Final = 10  # requests per second; the provider takes 40-50 in all
DEFAULT_STATUS_CALLBACK: Final = True
DEFAULT_CHECK_EVERY: Final = 24  # hours between checks of a quiet account; 0: never
DEFAULT_MIN_LISTENING: Final = 3  # seconds; an answer shorter than this is `hung_up`

EVENT_CALL_FINISHED: Final = f"{DOMAIN}_call_finished"

# A critical call passes the duplicate-call cooldown and the hourly cap.
PRIORITY_NORMAL: Final = "normal"
PRIORITY_CRITICAL: Final = "critical"
PRIORITIES: Final = (PRIORITY_NORMAL, PRIORITY_CRITICAL)

# A msgid no account can own; querying it checks credentials without placing a call.
CREDENTIALS_PROBE_MSGID: Final = 1
