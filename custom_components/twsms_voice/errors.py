"""Turn the client's exceptions into translated Home Assistant errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from .const import DOMAIN
from .phone import mask_phone
from .twsms import (
    TwsmsAccountDisabledError,
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

# Provider codes for a parameter, by the translation key that tells the user what to fix.
_INVALID_PARAMETER_KEYS = {
    -8: "invalid_phone",
    -9: "invalid_message",
    -10: "voice_url_not_wave",
    -11: "voice_url_wrong_format",
    -12: "voice_url_unreachable",
    -13: "invalid_voice",
    -14: "invalid_speed",
    -15: "invalid_volume",
}
# The same, for values the client refused before sending, by request tag.
_LOCAL_PARAMETER_KEYS = {
    "phone": "invalid_phone",
    "message": "invalid_message",
    "voice_url": "invalid_voice_url",
    "voice": "invalid_voice",
    "speed": "invalid_speed",
    "vol": "invalid_volume",
}
_ACCOUNT_KEYS: tuple[tuple[type[TwsmsError], str], ...] = (
    (TwsmsAuthenticationError, "authentication_failed"),
    (TwsmsAccountDisabledError, "account_disabled"),
    (TwsmsIpNotAllowedError, "ip_not_allowed"),
    (TwsmsInsufficientPointsError, "insufficient_points"),
    (TwsmsProviderError, "provider_error"),
    (TwsmsConnectionError, "connection_failed"),
    (TwsmsHttpError, "http_error"),
    (TwsmsMalformedReplyError, "unexpected_reply"),
)


def call_error(err: TwsmsError, phone: str) -> HomeAssistantError:
    """Return the error a person sees when the call to ``phone`` failed with ``err``.

    Parameter problems are the caller's to fix (ServiceValidationError, naming the
    field); everything else is the account's or the provider's.
    """
    placeholders = {"phone": phone, "error": str(err)}
    if isinstance(err, TwsmsInvalidRequestError):
        key = (
            _LOCAL_PARAMETER_KEYS.get(err.parameter)
            if err.code is None
            else _INVALID_PARAMETER_KEYS.get(err.code)
        )
        return ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=key or "invalid_call_settings",
            translation_placeholders=placeholders | {"code": str(err.code)},
        )
    key = next(
        (key for kind, key in _ACCOUNT_KEYS if isinstance(err, kind)),
        "provider_error_code",
    )
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders=placeholders
        | {"code": str(getattr(err, "code", None))},
    )


def both_ways(
    make: Callable[[str], HomeAssistantError], phone: str
) -> tuple[HomeAssistantError, str]:
    """Return an error for the caller, and its text with the number masked to keep."""
    return make(phone), str(make(mask_phone(phone)))


def expired_error(
    max_age: timedelta, last_error: str | None, phone: str
) -> HomeAssistantError:
    """Return the error of a call no attempt could place within ``max_age``."""
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="call_expired",
        translation_placeholders={
            "phone": phone,
            "minutes": str(round(max_age.total_seconds() / 60)),
            "error": last_error or "",
        },
    )


def removed_error(*, placed: bool | None) -> HomeAssistantError:
    """Return why a call of a deleted account ended.

    ``placed``: ``False`` never placed, ``None`` may have been placed (an answer
    was lost), ``True`` placed and followed, its outcome never known.
    """
    key = {
        False: "account_removed",
        None: "account_removed_unsure",
        True: "account_removed_followed",
    }[placed]
    return HomeAssistantError(translation_domain=DOMAIN, translation_key=key)


def stopped_error() -> HomeAssistantError:
    """Return why a call waiting in a stopped account's queue is not placed now."""
    return HomeAssistantError(
        translation_domain=DOMAIN, translation_key="account_stopped"
    )


def msgid_reused_error(msgid: int) -> HomeAssistantError:
    """Return why a call whose msgid TwSMS gave to a newer call ends ``unknown``."""
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="msgid_reused",
        translation_placeholders={"msgid": str(msgid)},
    )


def unsure_error(err: TwsmsError, phone: str) -> HomeAssistantError:
    """Return the error of a call that may have been placed: its answers were lost."""
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="call_unsure",
        translation_placeholders={"phone": phone, "error": str(err)},
    )
