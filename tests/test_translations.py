"""Checks that every language says everything, with the same placeholders."""

from __future__ import annotations

import json
from pathlib import Path
import re
from typing import Any

import pytest

COMPONENT = Path(__file__).parent.parent / "custom_components" / "twsms_voice"
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat |= _flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _load(name: str) -> dict[str, str]:
    return _flatten(json.loads((COMPONENT / name).read_text(encoding="utf-8")))


def test_english_is_strings_json() -> None:
    """translations/en.json is the English source, unchanged."""
    assert _load("translations/en.json") == _load("strings.json")


@pytest.mark.parametrize("language", ["zh-Hant"])
def test_every_string_translated(language: str) -> None:
    """Each key exists in the translation, with the same placeholders."""
    source = _load("strings.json")
    translated = _load(f"translations/{language}.json")
    assert translated.keys() == source.keys()
    for key, text in source.items():
        assert set(PLACEHOLDER.findall(translated[key])) == set(
            PLACEHOLDER.findall(text)
        ), key


def test_every_raised_key_has_a_message() -> None:
    """Each translation_key the code raises with has an exception message."""
    strings = json.loads((COMPONENT / "strings.json").read_text(encoding="utf-8"))
    code = "\n".join(
        path.read_text(encoding="utf-8") for path in COMPONENT.glob("*.py")
    )  # the glue only: the client subpackage knows nothing of translations
    raised = set(re.findall(r'translation_key="(\w+)"', code))
    raised |= set(re.findall(r'^\s+-?\d+: "(\w+)",$', code, re.MULTILINE))
    raised |= set(re.findall(r'^\s+\(Twsms\w+, "(\w+)"\),$', code, re.MULTILINE))
    raised |= set(re.findall(r'^\s+"\w+": "(\w+)",$', code, re.MULTILINE))
    form_errors = set(strings["config"]["error"])
    entities = {key for platform in strings["entity"].values() for key in platform}
    selectors = set(strings["selector"])
    assert raised - form_errors - entities - selectors <= set(strings["exceptions"])
