"""Tests of the alarm-call blueprint, run by Home Assistant against the simulator.

The blueprint is loaded the way Home Assistant loads one a user imported: from
``blueprints/automation/`` in the configuration directory, validated by Home
Assistant's own blueprint schema, and instantiated by the automation integration.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
import shutil
from typing import Any, cast

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.test_util.aiohttp import AiohttpClientMocker

from custom_components.twsms_voice.const import CONF_COOLDOWN, DOMAIN
from homeassistant.components import persistent_notification
from homeassistant.components.automation import DOMAIN as AUTOMATION_DOMAIN
from homeassistant.components.automation.helpers import async_get_blueprints
from homeassistant.components.blueprint import importer
from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.helpers import selector
from homeassistant.setup import async_setup_component
from twsms_simulator import PhoneBehaviour, TwsmsSimulator

from .conftest import advance, until

pytestmark = pytest.mark.usefixtures("calls_last_20_seconds")

REPOSITORY = Path(__file__).parent.parent
BLUEPRINT_PATH = "twsms_voice/alarm_call.yaml"  # under blueprints/automation/
BLUEPRINT_FILE = REPOSITORY / "blueprints" / "automation" / BLUEPRINT_PATH
SOURCE_URL = (
    "https://github.com/twsms-voice/twsms_voice/blob/main/blueprints/automation/"
    + BLUEPRINT_PATH
)
RAW_URL = (
    "https://raw.githubusercontent.com/twsms-voice/twsms_voice/main/blueprints/"
    "automation/" + BLUEPRINT_PATH
)
AUTOMATION = "automation.alarm_call"
SMOKE = "binary_sensor.kitchen_smoke"
LEAK = "binary_sensor.bathroom_leak"
PANEL = "alarm_control_panel.house"
MOM, NEIGHBOUR = "0912000001", "0223456789"
CALL_TIME = 45  # seconds from placing a call until its outcome is known here


@pytest.fixture
def hass_config_dir(hass_tmp_config_dir: str) -> str:
    """Give each test a configuration directory of its own, holding the blueprint.

    Where the blueprint import dialog puts it: ``blueprints/automation/<author>/``.
    """
    target = Path(hass_tmp_config_dir, "blueprints", "automation", BLUEPRINT_PATH)
    target.parent.mkdir(parents=True)
    shutil.copyfile(BLUEPRINT_FILE, target)
    return hass_tmp_config_dir


@pytest.fixture(autouse=True)
def sensors(hass: HomeAssistant) -> None:
    """Put the sensors and the alarm panel the automation watches in place, all clear."""
    hass.states.async_set(
        SMOKE, STATE_OFF, {"device_class": "smoke", "friendly_name": "Kitchen smoke"}
    )
    hass.states.async_set(
        LEAK, STATE_OFF, {"device_class": "moisture", "friendly_name": "Bathroom leak"}
    )
    hass.states.async_set(PANEL, "armed_away", {"friendly_name": "House alarm"})


async def set_up_alarm_call(hass: HomeAssistant, **inputs: Any) -> None:
    """Create an automation from the blueprint, as the UI would, and check it is on."""
    assert await async_setup_component(
        hass,
        AUTOMATION_DOMAIN,
        {
            AUTOMATION_DOMAIN: {
                "id": "alarm_call",
                "alias": "Alarm call",
                "use_blueprint": {"path": BLUEPRINT_PATH, "input": inputs},
            }
        },
    )
    await hass.async_block_till_done()
    state = hass.states.get(AUTOMATION)
    assert state is not None
    assert state.state == STATE_ON  # unavailable when the blueprint failed


def set_state(hass: HomeAssistant, entity_id: str, state: str) -> None:
    """Change what a sensor or the alarm panel says; keep its name and class."""
    old = hass.states.get(entity_id)
    assert old is not None
    hass.states.async_set(entity_id, state, old.attributes)


def running(hass: HomeAssistant) -> int:
    """Count the automation's runs under way."""
    state = hass.states.get(AUTOMATION)
    assert state is not None
    return int(state.attributes["current"])


def phones_called(simulator: TwsmsSimulator) -> list[str]:
    """Return the numbers the provider was asked to call, in order."""
    return [request.params["phone"] for request in simulator.requests_to("send_voice")]


async def let_run() -> None:
    """Let the automation's run take in what just happened."""
    for _ in range(100):
        await asyncio.sleep(0)


async def tick(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float
) -> None:
    """Move Home Assistant's clock on and run the timers that fell due.

    Unlike ``advance`` this does not wait for Home Assistant's tasks to be done: an
    automation's run is one of them, and it waits on this very clock.
    """
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await let_run()


async def until_placed(
    entry: MockConfigEntry, simulator: TwsmsSimulator, placed: int
) -> None:
    """Wait until the provider has ``placed`` calls and the last one is followed.

    Then let the action take that in: it waits for the outcome next, on the clock.
    """
    tracker = entry.runtime_data.tracker
    await until(
        lambda: len(simulator.calls) == placed and len(tracker.pending_calls) == 1
    )
    await let_run()


async def until_answered_or_not(entry: MockConfigEntry) -> None:
    """Wait until the outcome of the call is known and the run has taken it in."""
    tracker = entry.runtime_data.tracker
    await until(lambda: not tracker.pending_calls)
    await let_run()


async def until_finished(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, simulator: TwsmsSimulator
) -> None:
    """Wait for the run to end; then check that nothing else is called for an hour."""
    await until(lambda: running(hass) == 0)
    placed = len(simulator.requests_to("send_voice"))
    await advance(hass, freezer, 3600)
    await hass.async_block_till_done()
    assert len(simulator.requests_to("send_voice")) == placed


async def test_blueprint_is_valid(hass: HomeAssistant) -> None:
    """Home Assistant's blueprint schema takes the blueprint, and its inputs are right.

    Every default is a valid selection for its selector, only the sensors are
    required, and the blueprint runs on the Home Assistant the tests use.
    """
    blueprint = await async_get_blueprints(hass).async_get_blueprint(BLUEPRINT_PATH)
    assert blueprint.domain == AUTOMATION_DOMAIN
    assert blueprint.validate() is None  # min_version is met
    assert blueprint.metadata["homeassistant"] == {"min_version": "2026.10.4"}
    assert blueprint.metadata["source_url"] == SOURCE_URL
    assert "依序撥打" in blueprint.metadata["description"]  # a line in zh-Hant

    inputs = blueprint.inputs
    assert list(inputs) == [
        "alarm_entities",
        "contacts",
        "other_targets",
        "message",
        "rounds",
        "round_delay",
        "config_entry",
    ]
    assert [name for name, spec in inputs.items() if "default" not in spec] == [
        "alarm_entities"
    ]
    for name, spec in inputs.items():
        if "default" in spec:
            # Every selector validates a selection when called; the base class
            # does not say so.
            chosen = cast("Callable[[Any], Any]", selector.selector(spec["selector"]))
            assert chosen(spec["default"]) == spec["default"], name

    alarm = inputs["alarm_entities"]["selector"]["entity"]
    assert alarm["multiple"] is True
    binary_sensors, panels = alarm["filter"]
    assert binary_sensors["domain"] == ["binary_sensor"]
    assert {"smoke", "gas", "moisture", "carbon_monoxide", "safety", "problem"} <= set(
        binary_sensors["device_class"]
    )
    assert panels == {"domain": ["alarm_control_panel"]}
    contacts = inputs["contacts"]["selector"]["entity"]
    assert contacts["multiple"] is True
    assert contacts["reorder"] is True  # the order is the calling order
    assert contacts["filter"] == [{"integration": DOMAIN, "domain": ["notify"]}]
    assert inputs["other_targets"]["selector"]["text"]["multiple"] is True
    assert inputs["message"]["selector"] == {"template": {}}
    assert inputs["rounds"]["selector"]["number"] | {"default": 3} == {
        "min": 1,
        "max": 5,
        "step": 1,
        "mode": "slider",
        "default": inputs["rounds"]["default"],
    }
    assert inputs["config_entry"]["selector"] == {
        "config_entry": {"integration": DOMAIN}
    }


@pytest.mark.parametrize("url", [SOURCE_URL, RAW_URL])
async def test_import_from_github(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker, url: str
) -> None:
    """What the import dialog fetches, from the file's page or its raw URL, is valid."""
    raw = BLUEPRINT_FILE.read_text(encoding="utf-8")
    aioclient_mock.get(RAW_URL, text=raw)  # type: ignore[no-untyped-call]
    imported = await importer.fetch_blueprint_from_url(hass, url)
    assert imported.suggested_filename == "twsms-voice/alarm_call"
    assert imported.blueprint.domain == AUTOMATION_DOMAIN
    assert imported.blueprint.validate() is None


async def test_calls_one_after_another_until_somebody_answers(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    office_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """Smoke: Mom misses the call, the neighbour answers, and nobody else is called.

    Of two accounts, the contacts' own places the calls, without being chosen.
    """
    simulator.phones[MOM] = PhoneBehaviour(status="NoAnswer")
    assert hass.states.get("notify.mom") is not None
    await set_up_alarm_call(
        hass,
        alarm_entities=[SMOKE, PANEL],
        contacts=["notify.mom", "notify.neighbour"],
        other_targets=["0933000009"],
    )

    set_state(hass, SMOKE, STATE_ON)
    await until_placed(loaded_entry, simulator, 1)
    assert phones_called(simulator) == [MOM]
    await tick(hass, freezer, CALL_TIME)  # no answer
    await until_placed(loaded_entry, simulator, 2)
    assert phones_called(simulator) == [MOM, NEIGHBOUR]
    await tick(hass, freezer, CALL_TIME)  # answered

    await until_finished(hass, freezer, simulator)
    assert phones_called(simulator) == [MOM, NEIGHBOUR]
    assert {call.username for call in simulator.calls.values()} == {loaded_entry.title}
    message = simulator.requests_to("send_voice")[0].params["message"]
    assert message == (
        "警報！Kitchen smoke已觸發，請立即確認。"
        "Alarm: Kitchen smoke went off. Please check at once."
    )


async def test_nobody_answers_for_all_rounds(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """Nobody answers: the list is called exactly ``rounds`` times, in order.

    The targets are typed in (a name and a number) and the account is found by
    itself. The calls are critical: a cooldown of an hour does not hold back the
    second round.
    """
    hass.config_entries.async_update_entry(
        loaded_entry, options={**loaded_entry.options, CONF_COOLDOWN: 3600}
    )
    simulator.default_behaviour = PhoneBehaviour(status="NoAnswer")
    await set_up_alarm_call(
        hass,
        alarm_entities=[LEAK],
        other_targets=["Mom", " 02-2345-6789 "],
        message="{{ trigger.to_state.name }}: water!",
        rounds=2,
        round_delay={"seconds": 30},
    )

    set_state(hass, LEAK, STATE_ON)
    for placed in (1, 2):
        await until_placed(loaded_entry, simulator, placed)
        await tick(hass, freezer, CALL_TIME)
    await until_answered_or_not(loaded_entry)
    await tick(hass, freezer, 29)  # the pause between rounds
    assert len(simulator.calls) == 2
    await tick(hass, freezer, 1)
    for placed in (3, 4):
        await until_placed(loaded_entry, simulator, placed)
        await tick(hass, freezer, CALL_TIME)

    await until_finished(hass, freezer, simulator)
    assert phones_called(simulator) == [MOM, NEIGHBOUR, MOM, NEIGHBOUR]
    assert {
        request.params["message"] for request in simulator.requests_to("send_voice")
    } == {"Bathroom leak: water!"}


async def test_no_further_round_once_the_alarm_is_over(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """The smoke clears during the pause: the run ends then, without another round."""
    simulator.default_behaviour = PhoneBehaviour(status="Busy")
    await set_up_alarm_call(
        hass,
        alarm_entities=[SMOKE],
        contacts=["notify.mom", "notify.neighbour"],
        config_entry=loaded_entry.entry_id,
        rounds=5,
        round_delay={"minutes": 5},
    )

    set_state(hass, SMOKE, STATE_ON)
    for placed in (1, 2):
        await until_placed(loaded_entry, simulator, placed)
        await tick(hass, freezer, CALL_TIME)
    await until_answered_or_not(loaded_entry)
    await tick(hass, freezer, 60)  # a minute into the pause
    assert running(hass) == 1
    set_state(hass, SMOKE, STATE_OFF)

    await until_finished(hass, freezer, simulator)
    assert phones_called(simulator) == [MOM, NEIGHBOUR]


async def test_one_run_for_sensors_that_trip_together(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """A second sensor tripping during a round starts no second run, but keeps this one.

    The alarm panel is disarmed while the leak sensor is still on: the next round
    comes; when the leak sensor is off too, the calls stop.
    """
    simulator.default_behaviour = PhoneBehaviour(status="NoAnswer")
    await set_up_alarm_call(
        hass,
        alarm_entities=[PANEL, LEAK],
        contacts=["notify.neighbour"],
        rounds=3,
        round_delay={"seconds": 10},
    )

    set_state(hass, PANEL, "triggered")
    await until_placed(loaded_entry, simulator, 1)
    set_state(hass, LEAK, STATE_ON)  # no second run
    set_state(hass, PANEL, "disarmed")
    await let_run()
    assert running(hass) == 1
    assert len(simulator.calls) == 1
    await tick(hass, freezer, CALL_TIME)
    await until_answered_or_not(loaded_entry)
    await tick(hass, freezer, 10)  # the pause: the leak sensor is still on
    await until_placed(loaded_entry, simulator, 2)
    set_state(hass, LEAK, STATE_OFF)
    await tick(hass, freezer, CALL_TIME)

    await until_finished(hass, freezer, simulator)
    assert phones_called(simulator) == [NEIGHBOUR, NEIGHBOUR]
    message = simulator.requests_to("send_voice")[0].params["message"]
    assert "House alarm" in message  # named after what tripped first


async def test_names_nobody_can_call(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """A target that is neither a number nor a contact is named in a notification.

    The others are called all the same.
    """
    assert await async_setup_component(hass, persistent_notification.DOMAIN, {})
    notes: dict[str, persistent_notification.Notification] = {}
    unsubscribe = persistent_notification.async_register_callback(
        hass, lambda _, changed: notes.update(changed)
    )
    await set_up_alarm_call(
        hass, alarm_entities=[SMOKE], other_targets=["Grandpa", "Neighbour"]
    )

    set_state(hass, SMOKE, STATE_ON)
    await until_placed(loaded_entry, simulator, 1)
    await tick(hass, freezer, CALL_TIME)

    await until_finished(hass, freezer, simulator)
    unsubscribe()
    assert phones_called(simulator) == [NEIGHBOUR]
    assert list(notes) == ["automation.alarm_call_invalid_targets"]
    assert notes["automation.alarm_call_invalid_targets"]["message"] == (
        "Alarm call: cannot call Grandpa (not a phone number or contact of the "
        "account). 無法撥打：Grandpa"
    )


async def test_nobody_to_call_is_an_error(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Neither contacts nor numbers: the run stops at once, with an error to see."""
    await set_up_alarm_call(hass, alarm_entities=SMOKE)  # one entity, YAML style

    set_state(hass, SMOKE, STATE_ON)
    await hass.async_block_till_done()

    assert running(hass) == 0
    assert simulator.requests_to("send_voice") == []
    assert "No contacts or numbers chosen to call" in caplog.text
