"""Client for the TwSMS (台灣簡訊) Voice API.

This package imports nothing from Home Assistant so it can be published on its own.
"""

from .client import DEFAULT_BASE_URL, MIN_TIMEOUT, TwsmsVoiceClient
from .exceptions import (
    TwsmsAccountDisabledError,
    TwsmsApiError,
    TwsmsAuthenticationError,
    TwsmsConnectionError,
    TwsmsError,
    TwsmsInsufficientPointsError,
    TwsmsInvalidRequestError,
    TwsmsIpNotAllowedError,
    TwsmsMalformedReplyError,
    TwsmsProviderError,
)
from .models import (
    CallOutcome,
    CallPending,
    CallStatus,
    SendResult,
    SpeechSettings,
    Voice,
)
from .replies import parse_status_report

__all__ = [
    "DEFAULT_BASE_URL",
    "MIN_TIMEOUT",
    "CallOutcome",
    "CallPending",
    "CallStatus",
    "SendResult",
    "SpeechSettings",
    "TwsmsAccountDisabledError",
    "TwsmsApiError",
    "TwsmsAuthenticationError",
    "TwsmsConnectionError",
    "TwsmsError",
    "TwsmsInsufficientPointsError",
    "TwsmsInvalidRequestError",
    "TwsmsIpNotAllowedError",
    "TwsmsMalformedReplyError",
    "TwsmsProviderError",
    "TwsmsVoiceClient",
    "Voice",
    "parse_status_report",
]
