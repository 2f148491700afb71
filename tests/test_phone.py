"""Tests of phone number normalisation and masking."""

from __future__ import annotations

from hypothesis import given, strategies as st
import pytest

from custom_components.twsms_voice.phone import mask_phone, normalize_phone


@pytest.mark.parametrize(
    ("typed", "dialled"),
    [
        ("0912345678", "0912345678"),
        ("0912-345-678", "0912345678"),
        ("0912 345 678", "0912345678"),
        ("+886 912 345 678", "0912345678"),
        ("+886-912-345-678", "0912345678"),
        ("+886 0912 345 678", "0912345678"),
        ("00886912345678", "0912345678"),
        ("(02) 2345-6789", "0223456789"),
        ("+886 2 2345 6789", "0223456789"),
        ("037-123-456", "037123456"),
        ("+1 (415) 555-0100", "+14155550100"),
        ("0044 20 7946 0958", "+442079460958"),
    ],
)
def test_valid_numbers(typed: str, dialled: str) -> None:
    """Separators go, +886 becomes domestic, 00 becomes +."""
    assert normalize_phone(typed) == dialled


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "12345",
        "0912",
        "09123456789",
        "0112345678",
        "+0123456",
        "+1 555",
        "mom",
        "09１2345678",
    ],
)
def test_invalid_numbers(typed: str) -> None:
    """Too short, too long, wrong prefix, letters or full-width digits are refused."""
    assert normalize_phone(typed) is None


@given(st.text())
def test_any_text_is_a_number_or_none(typed: str) -> None:
    """No input crashes normalisation, and whatever passes is plain digits."""
    dialled = normalize_phone(typed)
    if dialled is not None:
        digits = dialled.removeprefix("+")
        assert digits.isascii()
        assert digits.isdigit()
        assert normalize_phone(dialled) == dialled


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("0912345678", "09*****678"),
        ("+14155550100", "+14******100"),
        ("123456", "******"),
    ],
)
def test_mask(phone: str, masked: str) -> None:
    """The middle of a number is hidden; very short numbers entirely."""
    assert mask_phone(phone) == masked
