"""What HACS, hassfest and Home Assistant check of a custom integration's files.

No Home Assistant instance is needed: these read files. The rules are those of
HACS's hacs.json schema (hacs/integration, ``utils/validate.py``) and hassfest's
manifest validation for custom integrations (home-assistant/core,
``script/hassfest/manifest.py``); neither tool is installed here, so their rules
are restated below and cite where they come from.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
import re
import struct
import tomllib
from typing import Any
from urllib.parse import urlparse

from awesomeversion import (
    AwesomeVersion,
    AwesomeVersionException,
    AwesomeVersionStrategy,
)
import pytest
import voluptuous as vol

# Imported at collection time, before the test harness puts its own
# `custom_components` package first on the path (it would hide ours).
from custom_components.twsms_voice import PLATFORMS
from custom_components.twsms_voice.const import DOMAIN
from custom_components.twsms_voice.services import CALL_SCHEMA, SERVICE_CALL
import homeassistant
from homeassistant.const import __version__ as HA_VERSION
from homeassistant.helpers import config_validation as cv
from homeassistant.util.yaml import load_yaml_dict

ROOT = Path(__file__).parent.parent
COMPONENT = ROOT / "custom_components" / DOMAIN
HA_PACKAGE = Path(homeassistant.__file__).parent

# hacs.json: HACS_MANIFEST_JSON_SCHEMA, which refuses any other key.
HACS_KEYS: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "content_in_root": bool,
    "zip_release": bool,
    "filename": str,
    "hide_default_branch": bool,
    "country": (str, list),
    "homeassistant": str,
    "hacs": str,
    "persistent_directory": str,
    "render_readme": bool,
}

# manifest.json: CUSTOM_INTEGRATION_MANIFEST_SCHEMA, which refuses any other key.
MANIFEST_KEYS = {
    "domain",
    "name",
    "integration_type",
    "config_flow",
    "mqtt",
    "zeroconf",
    "ssdp",
    "bluetooth",
    "homekit",
    "dhcp",
    "usb",
    "documentation",
    "quality_scale",
    "requirements",
    "dependencies",
    "after_dependencies",
    "codeowners",
    "loggers",
    "disabled",
    "iot_class",
    "single_config_entry",
    "preview_features",
    "version",
    "issue_tracker",
    "import_executor",
}
IOT_CLASSES = {
    "assumed_state",
    "calculated",
    "cloud_polling",
    "cloud_push",
    "local_polling",
    "local_push",
}
# hassfest's IntegrationType, less "virtual" (which only core may use).
INTEGRATION_TYPES = {
    "device",
    "entity",
    "hardware",
    "helper",
    "hub",
    "service",
    "system",
}
VERSION_STRATEGIES = [
    AwesomeVersionStrategy.CALVER,
    AwesomeVersionStrategy.SEMVER,
    AwesomeVersionStrategy.SIMPLEVER,
    AwesomeVersionStrategy.BUILDVER,
    AwesomeVersionStrategy.PEP440,
]
CORE_DOCUMENTATION = "https://www.home-assistant.io/integrations"
REFERENCE = re.compile(r"\[%key:([\w:]+)%\]")


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _png_size(path: Path) -> tuple[int, int]:
    """Return a PNG's width and height, read from its IHDR chunk."""
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    assert header[12:16] == b"IHDR", f"{path.name} does not start with IHDR"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def _schema_keys(schema: Any) -> dict[str, Any]:
    """Return the markers of a voluptuous schema by name, through vol.All."""
    if isinstance(schema, vol.Schema) and isinstance(schema.schema, dict):
        return {str(marker.schema): marker for marker in schema.schema}
    for validator in getattr(schema, "validators", ()):
        if keys := _schema_keys(validator):
            return keys
    return {}


def _default(marker: Any) -> Any:
    """Return a schema marker's default, or None when it has none."""
    default = getattr(marker, "default", vol.UNDEFINED)
    return None if default is vol.UNDEFINED else default()


def _lookup(tree: dict[str, Any], path: list[str], reference: str) -> str:
    node: Any = tree
    for part in path:
        assert isinstance(node, dict), reference
        assert part in node, f"{reference} points nowhere"
        node = node[part]
    assert isinstance(node, str), f"{reference} is not a string"
    return node


def _resolve(text: str, strings: dict[str, Any]) -> str:
    """Replace [%key:…%] references as Home Assistant's translation build does."""

    def target(found: re.Match[str]) -> str:
        reference = found.group(0)
        match found.group(1).split("::"):
            case ["common", *path]:
                common = _json(HA_PACKAGE / "strings.json")["common"]
                return _resolve(_lookup(common, path, reference), strings)
            case ["component", domain, *path] if domain == DOMAIN:
                return _resolve(_lookup(strings, path, reference), strings)
            case ["component", domain, *path]:
                other = _json(HA_PACKAGE / "components" / domain / "strings.json")
                return _resolve(_lookup(other, path, reference), other)
        pytest.fail(f"Unknown kind of reference: {reference}")

    return REFERENCE.sub(target, text)


def _resolve_tree(tree: Any, strings: dict[str, Any]) -> Any:
    if isinstance(tree, dict):
        return {key: _resolve_tree(value, strings) for key, value in tree.items()}
    return _resolve(tree, strings) if isinstance(tree, str) else tree


def _keys(tree: dict[str, Any], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for key, value in tree.items():
        if isinstance(value, dict):
            keys |= _keys(value, f"{prefix}{key}.")
        else:
            keys.add(f"{prefix}{key}")
    return keys


@pytest.fixture
def hacs() -> dict[str, Any]:
    """Return hacs.json."""
    data: dict[str, Any] = _json(ROOT / "hacs.json")
    return data


@pytest.fixture
def manifest() -> dict[str, Any]:
    """Return the integration's manifest.json, keys in file order."""
    data: dict[str, Any] = _json(COMPONENT / "manifest.json")
    return data


@pytest.fixture
def strings() -> dict[str, Any]:
    """Return strings.json."""
    data: dict[str, Any] = _json(COMPONENT / "strings.json")
    return data


@pytest.fixture
def services() -> dict[str, Any]:
    """Return services.yaml."""
    data: dict[str, Any] = load_yaml_dict(COMPONENT / "services.yaml")
    return data


def test_hacs_json_has_only_keys_hacs_knows(hacs: dict[str, Any]) -> None:
    """HACS refuses a hacs.json with a key its schema does not list, or no name."""
    assert set(hacs) <= set(HACS_KEYS), set(hacs) - set(HACS_KEYS)
    assert "name" in hacs
    for key, value in hacs.items():
        assert isinstance(value, HACS_KEYS[key]), key


def test_hacs_minimum_is_the_tested_home_assistant(hacs: dict[str, Any]) -> None:
    """HACS offers the integration from the release the pinned suite runs on.

    An older minimum would promise releases no test has run on: when the pin
    moves (pytest-homeassistant-custom-component), the minimum moves with it.
    """
    AwesomeVersion(hacs["homeassistant"], ensure_strategy=VERSION_STRATEGIES)
    assert hacs["homeassistant"] == HA_VERSION


def test_manifest_is_what_hassfest_wants(manifest: dict[str, Any]) -> None:
    """Known keys, domain and name first then alphabetical, valid values."""
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:]), "hassfest: keys must be sorted"
    assert set(keys) <= MANIFEST_KEYS, set(keys) - MANIFEST_KEYS
    assert manifest["domain"] == COMPONENT.name == DOMAIN
    assert not (HA_PACKAGE / "components" / DOMAIN).exists(), "collides with core"
    try:
        AwesomeVersion(manifest["version"], ensure_strategy=VERSION_STRATEGIES)
    except AwesomeVersionException:
        pytest.fail(f"{manifest['version']!r} is not a version hassfest accepts")
    documentation = urlparse(manifest["documentation"])
    assert documentation.scheme == "https" and documentation.netloc
    assert not manifest["documentation"].startswith(CORE_DOCUMENTATION)
    issue_tracker = urlparse(manifest["issue_tracker"])
    assert issue_tracker.scheme in ("http", "https") and issue_tracker.netloc
    assert manifest["codeowners"]
    assert all(re.fullmatch(r"@[\w.-]+(/[\w.-]+)?", o) for o in manifest["codeowners"])
    assert manifest["iot_class"] in IOT_CLASSES
    assert manifest["integration_type"] in INTEGRATION_TYPES
    for key in ("requirements", "dependencies", "after_dependencies", "loggers"):
        assert all(isinstance(item, str) for item in manifest.get(key, [])), key
    for domain in (*manifest["dependencies"], *manifest["after_dependencies"]):
        assert (HA_PACKAGE / "components" / domain / "manifest.json").exists(), domain


def test_english_is_strings_json_resolved(strings: dict[str, Any]) -> None:
    """translations/en.json is strings.json with its [%key:…%] references resolved.

    That is what Home Assistant's translation build makes of strings.json; the
    literal comparison in test_translations holds only while there is no reference.
    """
    assert _json(COMPONENT / "translations" / "en.json") == _resolve_tree(
        strings, strings
    )


@pytest.mark.parametrize(
    "path",
    sorted((COMPONENT / "translations").glob("*.json")),
    ids=lambda path: path.stem,
)
def test_every_translation_has_every_key(path: Path, strings: dict[str, Any]) -> None:
    """Each language file, present or added later, has each key and no stale one."""
    assert _keys(_json(path)) == _keys(strings)


def test_services_yaml_fields_are_the_call_schema(services: dict[str, Any]) -> None:
    """The action's fields in the UI are the ones its schema accepts, alike.

    The entity target fields come with services.yaml's `target:`, not as fields.
    """
    fields = services[SERVICE_CALL]["fields"]
    schema = _schema_keys(CALL_SCHEMA)
    targets = set(_schema_keys(vol.Schema(cv.ENTITY_SERVICE_FIELDS)))
    assert "target" in services[SERVICE_CALL]
    assert targets <= set(schema)
    schema = {name: marker for name, marker in schema.items() if name not in targets}
    assert set(fields) == set(schema), (
        f"only in CALL_SCHEMA: {sorted(set(schema) - set(fields))}, "
        f"only in services.yaml: {sorted(set(fields) - set(schema))}"
    )
    for name, marker in schema.items():
        assert fields[name].get("required", False) == isinstance(marker, vol.Required)
        assert fields[name].get("default") == _default(marker), name


def test_services_yaml_is_translated(
    services: dict[str, Any], strings: dict[str, Any]
) -> None:
    """Each action and field has its name in strings.json, each selector its options."""
    assert set(strings["services"]) == set(services)
    for service, description in services.items():
        assert set(strings["services"][service]["fields"]) == set(description["fields"])
        for field in description["fields"].values():
            for selector in field.get("selector", {}).values():
                if key := (selector or {}).get("translation_key"):
                    assert set(strings["selector"][key]["options"]) == set(
                        selector["options"]
                    )


def test_brand_icons() -> None:
    """brand/icon.png is 256 px square and icon@2x.png 512 px."""
    assert _png_size(COMPONENT / "brand" / "icon.png") == (256, 256)
    assert _png_size(COMPONENT / "brand" / "icon@2x.png") == (512, 512)


def test_development_frontend_is_the_pinned_one() -> None:
    """The dev group's frontend is the release the pinned Home Assistant asks for."""
    constraints = (HA_PACKAGE / "package_constraints.txt").read_text(encoding="utf-8")
    wanted = re.search(r"^home-assistant-frontend==(\S+)$", constraints, re.MULTILINE)
    assert wanted is not None
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert (
        f"home-assistant-frontend=={wanted.group(1)}"
        in (pyproject["dependency-groups"]["dev"])
    )


# The rules of the Integration Quality Scale, as hassfest knows them.
QUALITY_RULES = {
    "bronze": [
        "action-setup", "appropriate-polling", "brands", "common-modules",
        "config-flow", "config-flow-test-coverage", "dependency-transparency",
        "docs-actions", "docs-conditions", "docs-high-level-description",
        "docs-installation-instructions", "docs-removal-instructions",
        "docs-triggers", "entity-event-setup", "entity-unique-id",
        "has-entity-name", "runtime-data", "test-before-configure",
        "test-before-setup", "unique-config-entry",
    ],
    "silver": [
        "action-exceptions", "config-entry-unloading",
        "docs-configuration-parameters", "docs-installation-parameters",
        "entity-unavailable", "integration-owner", "log-when-unavailable",
        "parallel-updates", "reauthentication-flow", "test-coverage",
    ],
    "gold": [
        "devices", "diagnostics", "discovery", "discovery-update-info",
        "docs-data-update", "docs-examples", "docs-known-limitations",
        "docs-supported-devices", "docs-supported-functions",
        "docs-troubleshooting", "docs-use-cases", "dynamic-devices",
        "entity-category", "entity-device-class", "entity-disabled-by-default",
        "entity-translations", "exception-translations", "icon-translations",
        "reconfiguration-flow", "repair-issues", "stale-devices",
    ],
    "platinum": ["async-dependency", "inject-websession", "strict-typing"],
}  # fmt: skip


def test_quality_scale_covers_every_rule() -> None:
    """Every rule is done, or exempt with a reason; the README names the tier."""
    rules = load_yaml_dict(str(COMPONENT / "quality_scale.yaml"))["rules"]
    every = [rule for tier in QUALITY_RULES.values() for rule in tier]
    assert sorted(rules) == sorted(every)
    for name, status in rules.items():
        if status != "done":
            assert status["status"] == "exempt", name
            assert len(status["comment"]) > 20, name
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "Platinum" in readme


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_platform_limits_parallel_updates(platform: str) -> None:
    """Each entity platform the integration sets up says how many updates may run."""
    module = importlib.import_module(f"custom_components.twsms_voice.{platform}")
    assert module.PARALLEL_UPDATES == 0
