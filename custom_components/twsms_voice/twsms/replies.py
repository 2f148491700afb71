"""Parsers for the provider's ``resp=...`` replies and its two error-code tables.

Kept free of I/O so they can be tested exhaustively: whatever bytes the provider sends,
these either return a typed value or raise a :class:`TwsmsError` subclass.
"""

from __future__ import annotations

from collections.abc import Mapping
import logging
import re
from typing import Final

from .exceptions import (
    TwsmsAccountDisabledError,
    TwsmsApiError,
    TwsmsAuthenticationError,
    TwsmsInsufficientPointsError,
    TwsmsInvalidRequestError,
    TwsmsIpNotAllowedError,
    TwsmsMalformedReplyError,
    TwsmsProviderError,
)
from .models import CallOutcome, CallPending, CallStatus, SendResult

_LOGGER = logging.getLogger(__name__)

QUERY_NOT_FINISHED: Final = -5
_INTEGER = re.compile(r"-?[0-9]{1,18}")
_POINTS = re.compile(r"[0-9]{1,9}")
_SHOWN_BODY_LENGTH: Final = 80


def _ip_not_allowed(code: int) -> TwsmsApiError:
    return TwsmsIpNotAllowedError(code, "The source IP address may not use the API")


def _disabled(code: int) -> TwsmsApiError:
    return TwsmsAccountDisabledError(code, "The account is disabled")


def _wrong_credentials(code: int) -> TwsmsApiError:
    return TwsmsAuthenticationError(code, "Wrong account or password")


# The send table: parameter codes name the request tag at fault.
_SEND_INVALID: Final[dict[int, tuple[str, str]]] = {
    -5: ("type", "Voice method setting is wrong"),
    -6: ("replay_method", "Replay method setting is wrong"),
    -7: ("replay_count", "Replay count setting is wrong"),
    -8: ("phone", "Phone number is wrong"),
    -9: ("message", "Message content is wrong"),
    -10: ("voice_url", "The file at voice_url is not a WAVE file"),
    -11: ("voice_url", "The file at voice_url must be 8000 Hz, 8-bit, mono"),
    -12: ("voice_url", "The file at voice_url could not be fetched"),
    -13: ("voice", "Voice setting is wrong"),
    -14: ("speed", "Speed setting is wrong"),
    -15: ("vol", "Volume setting is wrong"),
}


def send_error(code: int) -> TwsmsApiError:
    """Return the exception for a negative code of the send table."""
    if code == -1:
        return _ip_not_allowed(code)
    if code == -2:
        return TwsmsInsufficientPointsError(code, "Not enough points")
    if code == -3:
        return _disabled(code)
    if code == -4:
        return _wrong_credentials(code)
    if code == -99:
        return TwsmsProviderError(code, "Provider system error")
    if code in _SEND_INVALID:
        parameter, message = _SEND_INVALID[code]
        return TwsmsInvalidRequestError(code, message, parameter)
    return TwsmsApiError(code, f"Unknown send error code {code}")


def query_error(code: int) -> TwsmsApiError:
    """Return the exception for a negative code of the query table (except -5)."""
    if code == -1:
        return _ip_not_allowed(code)
    if code == -2:
        return _disabled(code)
    if code == -3:
        return _wrong_credentials(code)
    if code == -4:
        return TwsmsInvalidRequestError(code, "Unknown msgid", "msgid")
    return TwsmsApiError(code, f"Unknown query error code {code}")


def malformed_reply(body: str) -> TwsmsMalformedReplyError:
    """Return the error for ``body``: cut short and escaped, to be readable."""
    shown = body[:_SHOWN_BODY_LENGTH].encode("unicode_escape").decode("ascii")
    return TwsmsMalformedReplyError(f"Unexpected reply from the provider: {shown!r}")


def _integer(field: str, body: str) -> int:
    if not _INTEGER.fullmatch(field):
        raise malformed_reply(body)
    return int(field)


def _fields(body: str) -> tuple[list[str], int]:
    """Split ``resp=a,b,...`` and return the fields with the first one as a number."""
    # A PHP file saved with a byte-order mark, or a reply in capitals, still means
    # what it says.
    text = body.lstrip("\ufeff").strip()
    if text[:5].lower() != "resp=":
        raise malformed_reply(body)
    fields = [field.strip() for field in text[5:].split(",")]
    return fields, _integer(fields[0], body)


def parse_send_reply(body: str) -> SendResult:
    """Parse a ``send_voice.php`` reply: ``resp=<msgid>,<points>`` or ``resp=<code>``.

    A positive first field is a msgid: the call was placed, whatever follows it. Such
    a reply must never be read as malformed, since a malformed reply is retried and
    the retry would call again. Points that are missing or make no sense count as 0.
    """
    fields, first = _fields(body)
    if first < 0:
        raise send_error(first)
    if first == 0:
        raise malformed_reply(body)
    points = fields[1] if len(fields) > 1 else ""
    if not _POINTS.fullmatch(points):
        _LOGGER.debug("Call %s placed; the reply does not say its points", first)
        return SendResult(msgid=first, points=0)
    return SendResult(msgid=first, points=int(points))


def parse_query_reply(body: str, msgid: int) -> CallOutcome | CallPending:
    """Parse the ``query_voice.php`` reply to a query about ``msgid``.

    ``resp=<msgid>,<phone>,<seconds>,<points>,<status>`` or ``resp=<code>``; code -5
    is not an error but a call still under way, returned as :class:`CallPending`.
    An outcome for another msgid than the one asked about is malformed.
    """
    fields, first = _fields(body)
    if first == QUERY_NOT_FINISHED:
        return CallPending(msgid=msgid)
    if first < 0:
        raise query_error(first)
    if len(fields) != 5 or first != msgid:
        raise malformed_reply(body)
    _, phone, seconds, points, status = fields
    try:
        call_status = CallStatus(status)
    except ValueError:
        raise malformed_reply(body) from None
    numbers = [_integer(value, body) for value in (seconds, points)]
    if not phone or min(numbers) < 0:
        raise malformed_reply(body)
    return CallOutcome(
        msgid=msgid,
        phone=phone,
        seconds=numbers[0],
        points=numbers[1],
        status=call_status,
    )


def parse_status_report(fields: Mapping[str, str]) -> CallOutcome | None:
    """Parse the report the provider sends to a call's ``response`` URL.

    The fields are ``msgid``, ``phone``, ``playtime``, ``totalpoint`` and ``status``.
    Returns None for anything that is not a complete, well-formed report: the URL
    is reachable from the internet, so whatever arrives there is untrusted.
    """
    numbers = [
        fields.get(key, "").strip() for key in ("msgid", "playtime", "totalpoint")
    ]
    if not all(_INTEGER.fullmatch(number) for number in numbers):
        return None
    msgid, seconds, points = (int(number) for number in numbers)
    try:
        status = CallStatus(fields.get("status", "").strip())
    except ValueError:
        return None
    phone = fields.get("phone", "").strip()
    if msgid <= 0 or seconds < 0 or points < 0:
        return None
    return CallOutcome(
        msgid=msgid, phone=phone, seconds=seconds, points=points, status=status
    )
