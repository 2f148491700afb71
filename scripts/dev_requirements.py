"""Print what the development instance needs besides Home Assistant, one a line.

``hass --skip-pip`` installs nothing, so every library an integration it sets up
imports must already be in the environment: the frontend, and the libraries of the
integrations Home Assistant sets up on its own (its default integrations, what
config/configuration.yaml names, what onboarding adds, this integration, and all
their dependencies) and of what they name as after-dependencies. The versions are
the ones the installed Home Assistant pins in its integrations' manifests; install
them with its package_constraints.txt as constraints, as Home Assistant itself would.

Run with the environment's own Python: scripts/setup --latest does, for
.venv-latest. For .venv, pyproject.toml's dev group pins what the pinned release
needs beyond what the test harness brings (and leaves out what no integration set
up at start imports, like cloud's openai).
"""

from __future__ import annotations

import json
from pathlib import Path
import re
import sys
from typing import Any

import homeassistant
from homeassistant import bootstrap

ROOT = Path(__file__).resolve().parent.parent
COMPONENTS = Path(homeassistant.__file__).parent / "components"
OUR_DOMAIN = "twsms_voice"
OUR_MANIFEST = ROOT / "custom_components" / OUR_DOMAIN / "manifest.json"


def _manifest(domain: str) -> dict[str, Any]:
    path = COMPONENTS / domain / "manifest.json"
    if domain == OUR_DOMAIN:
        path = OUR_MANIFEST
    if not path.exists():  # a YAML key that is no integration, or a removed one
        return {}
    manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return manifest


def _configured_domains() -> set[str]:
    """Return the top-level keys of the development configuration.yaml."""
    text = (ROOT / "config" / "configuration.yaml").read_text(encoding="utf-8")
    return set(re.findall(r"^(\w+):", text, re.MULTILINE))


def _onboarding_domains() -> set[str]:
    """Return the integrations onboarding sets up, read from its own code."""
    views = (COMPONENTS / "onboarding" / "views.py").read_text(encoding="utf-8")
    found = re.search(r"onboard_integrations = \[(.*?)\]", views, re.DOTALL)
    if found is None:
        msg = "Cannot find the integrations onboarding sets up in onboarding/views.py"
        raise SystemExit(msg)
    return set(re.findall(r'"(\w+)"', found.group(1)))


def requirements() -> list[str]:
    """Return the requirements of every integration the instance sets up.

    As Home Assistant's bootstrap does, this takes the integrations to set up and all
    their dependencies, and the requirements of their after-dependencies too (an
    integration may import one it only orders itself after, as analytics does hassio).
    """
    todo = [
        *bootstrap.CORE_INTEGRATIONS,
        *bootstrap.DEFAULT_INTEGRATIONS,
        *_configured_domains(),
        *_onboarding_domains(),
        OUR_DOMAIN,
    ]
    seen: set[str] = set()
    found: set[str] = set()
    while todo:
        domain = todo.pop()
        if domain in seen:
            continue
        seen.add(domain)
        manifest = _manifest(domain)
        todo.extend(manifest.get("dependencies", []))
        found.update(manifest.get("requirements", []))
        for after in manifest.get("after_dependencies", []):
            found.update(_manifest(after).get("requirements", []))
    return sorted(found, key=str.lower)


if __name__ == "__main__":
    sys.stdout.write("".join(f"{line}\n" for line in requirements()))
