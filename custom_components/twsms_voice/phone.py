"""Phone numbers as people type them, turned into what the provider dials."""

from __future__ import annotations

import re
from typing import Final

from .twsms import mask_phone

__all__ = ["mask_phone", "normalize_phone", "same_number"]

_SEPARATORS = re.compile(r"[\s\-().]")
_TAIWAN_MOBILE = re.compile(r"09[0-9]{8}")
_TAIWAN_LANDLINE = re.compile(r"0[2-8][0-9]{7,8}")
_INTERNATIONAL = re.compile(r"\+[1-9][0-9]{6,14}")
_TAIWAN_PREFIX: Final = "+886"


def normalize_phone(raw: str) -> str | None:
    """Return the number to dial, or None when it is not a valid number.

    Accepts a Taiwanese mobile (09xxxxxxxx) or landline (0x...) number, or an
    international one in +CC or 00CC form; spaces, dashes, dots and brackets are
    dropped and +886 numbers are written the domestic way (+886 912... -> 0912...).
    """
    number = _SEPARATORS.sub("", raw)
    if number.startswith("00"):
        number = "+" + number.removeprefix("00")
    if number.startswith(_TAIWAN_PREFIX):
        number = "0" + number.removeprefix(_TAIWAN_PREFIX).removeprefix("0")
    if any(
        pattern.fullmatch(number)
        for pattern in (_TAIWAN_MOBILE, _TAIWAN_LANDLINE, _INTERNATIONAL)
    ):
        return number
    return None


def same_number(dialled: str, reported: str) -> bool:
    """Tell whether the provider's spelling of a number is the one dialled.

    The provider may write a number its own way (886…, 00886…), so both are
    normalized first; a report for another number is not about this call.
    """
    if reported.isdigit() and not reported.startswith("0"):
        reported = f"+{reported}"
    return normalize_phone(reported) == dialled
