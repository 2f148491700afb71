"""Client for the TwSMS (台灣簡訊) Voice API.

This package imports nothing from Home Assistant so it can be published on its own.
"""

from .client import (
    DEFAULT_BASE_URL,
    MAX_QUERY_LENGTH,
    MIN_TIMEOUT,
    TwsmsVoiceClient,
    mask_phone,
)
from .exceptions import (
    TwsmsAccountDisabledError,
    TwsmsApiError,
    TwsmsAuthenticationError,
    TwsmsConnectionError,
    TwsmsError,
    TwsmsHttpError,
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
from .ratelimit import RateLimiter
from .replies import parse_status_report

__all__ = [
    "DEFAULT_BASE_URL",
    "MAX_QUERY_LENGTH",
    "MIN_TIMEOUT",
    "CallOutcome",
    "CallPending",
    "CallStatus",
    "RateLimiter",
    "SendResult",
    "SpeechSettings",
    "TwsmsAccountDisabledError",
    "TwsmsApiError",
    "TwsmsAuthenticationError",
    "TwsmsConnectionError",
    "TwsmsError",
    "TwsmsHttpError",
    "TwsmsInsufficientPointsError",
    "TwsmsInvalidRequestError",
    "TwsmsIpNotAllowedError",
    "TwsmsMalformedReplyError",
    "TwsmsProviderError",
    "TwsmsVoiceClient",
    "Voice",
    "mask_phone",
    "parse_status_report",
]
