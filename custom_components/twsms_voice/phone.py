"""Phone numbers as people type them, turned into what the provider dials."""

from __future__ import annotations

import re
from typing import Final

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


def mask_phone(phone: str) -> str:
    """Hide the middle of a number, for diagnostics and sensor attributes."""
    if len(phone) <= 6:
        return "*" * len(phone)
    return f"{phone[:4]}{'*' * (len(phone) - 7)}{phone[-3:]}"
