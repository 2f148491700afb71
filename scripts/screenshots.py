"""Take the README's pictures of the integration in the real Home Assistant frontend.

Starts the TwSMS simulator and a development Home Assistant in a scratch directory,
onboarded and configured through Home Assistant's APIs (the helpers of
scripts/develop.py, as `scripts/develop --check` does: config/ is left alone). It
places calls and provokes a repair through those APIs too, then drives the frontend
in headless Chromium (Debian's `chromium` package, through Playwright) logged in as
the development owner, and saves PNGs in docs/images/.

Needs Debian's `chromium` and, for the Chinese text, `fonts-noto-cjk`. When either is
missing, the script installs them with apt-get when run as root, and otherwise says
how: `sudo apt-get install -y chromium fonts-noto-cjk`. It never runs
`playwright install` (which downloads a browser build of Playwright's own).
CHROMIUM=/path/to/chromium uses another Chromium. A run takes about a minute.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
import contextlib
import json
import os
from pathlib import Path
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any, Final

import aiohttp
from playwright.async_api import (
    BrowserContext,
    FloatRect,
    Locator,
    Page,
    async_playwright,
)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # scripts/develop.py, when run as a script

from scripts import develop  # noqa: E402
from scripts.develop import (  # noqa: E402
    _check_startup_log as check_startup_log,
    _configure_integration as configure_integration,
    _hass_ready as hass_ready,
    _json as hass_json,
    _link_integration as link_integration,
    _long_lived_token as long_lived_token,
    _start_hass as start_hass,
    _start_simulator as start_simulator,
    _wait_for_service as wait_for_service,
    _wait_until_up as wait_until_up,
    _websocket as hass_websocket,
)

OUT: Final = ROOT / "docs" / "images"
CHROMIUM: Final = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
# The flags Chromium needs here: no sandbox as root, no GPU, and no traffic of its
# own (the machine reaches nothing but loopback and the package registries).
CHROMIUM_FLAGS: Final = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
WIDTH: Final = 1280
HEIGHT: Final = 800
TIME_ZONE: Final = "Asia/Taipei"  # config/configuration.yaml's
DIALOG_MARGIN: Final = 24
ALARM: Final = "火警！廚房偵測到煙霧。"
ANSWERED_FOR: Final = 8  # seconds between the test call's outcome and the alarm
# What the scratch configuration adds to config/configuration.yaml: the history and
# logbook a default installation has (the pictures of a call's history), and an
# automation whose calls run into the hourly cap (the repair names it).
EXTRA_CONFIGURATION: Final = """
# Added by scripts/screenshots in its scratch copy.
history:
logbook:
automation: !include automations.yaml
"""
AUTOMATIONS: Final = f"""\
- id: smoke_in_the_kitchen
  alias: Smoke in the kitchen
  triggers:
    - trigger: event
      event_type: screenshots_smoke
  actions:
    - action: twsms_voice.call
      data:
        target: ["0911000003"]
        message: "{ALARM}"
"""
# Where the frontend keeps the login; the tokens need no refresh within a run.
TOKENS_SCRIPT: Final = "localStorage.setItem('hassTokens', {tokens});"
HIDE_PAGE: Final = """hidden => {
  const main = document.querySelector("home-assistant")
    .shadowRoot.querySelector("home-assistant-main");
  main.style.visibility = hidden ? "hidden" : "";
}"""
MORE_INFO: Final = """entityId => document.querySelector("home-assistant").dispatchEvent(
  new CustomEvent("hass-more-info", {detail: {entityId}, bubbles: true, composed: true})
)"""
ANIMATIONS_DONE: Final = """() => document.getAnimations().every(
  a => a.playState !== "running" || a.effect?.getComputedTiming().iterations === Infinity
)"""


def _ensure_chromium() -> None:
    """Install Chromium and CJK fonts with apt-get when missing (as root), or say how."""
    missing = []
    if not os.access(CHROMIUM, os.X_OK):
        missing.append("chromium")
    # Fontconfig comes with chromium; the Chinese in the forms needs a CJK font.
    fc_list = shutil.which("fc-list")
    fonts = (
        fc_list
        and subprocess.run(
            [fc_list, ":lang=zh-tw", "family"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    )
    if not fonts:
        missing.append("fonts-noto-cjk")
    if not missing:
        return
    command = ["apt-get", "install", "-y", *missing]
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        msg = (
            f"screenshots: {', '.join(missing)} missing; install "
            f"{'them' if len(missing) > 1 else 'it'} (Debian's packages) with\n"
            f"  sudo {' '.join(command)}\nand run again."
        )
        raise SystemExit(msg)
    print(f"screenshots: installing {' '.join(missing)} with apt-get", flush=True)
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)  # noqa: S607
    subprocess.run([*command, "-qq"], check=True, env=env)
    if not os.access(CHROMIUM, os.X_OK):
        msg = f"screenshots: apt-get installed chromium, but {CHROMIUM} is not there"
        raise SystemExit(msg)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _use_ports() -> None:
    """Point scripts/develop.py's helpers at free ports, beside a running develop."""
    develop.HASS_PORT = _free_port()
    develop.HASS_URL = f"http://127.0.0.1:{develop.HASS_PORT}"
    develop.CLIENT_ID = f"{develop.HASS_URL}/"
    develop.SIMULATOR_PORT = _free_port()
    develop.SIMULATOR_URL = f"http://127.0.0.1:{develop.SIMULATOR_PORT}"


def _write_config(config: Path) -> None:
    shutil.copy(develop.CONFIG / "configuration.yaml", config)
    with (config / "configuration.yaml").open("a", encoding="utf-8") as yaml:
        yaml.write(EXTRA_CONFIGURATION)
    (config / "automations.yaml").write_text(AUTOMATIONS, encoding="utf-8")


async def _until[T](
    what: str, probe: Callable[[], Awaitable[T | None]], seconds: float = 30
) -> T:
    """Poll ``probe`` until it returns something; fail naming ``what`` after a while."""
    deadline = time.monotonic() + seconds
    while (result := await probe()) is None:
        if time.monotonic() > deadline:
            msg = f"screenshots: waited {seconds:.0f} s in vain for {what}"
            raise RuntimeError(msg)
        await asyncio.sleep(0.5)
    return result


class Instance:
    """The scratch Home Assistant, over its REST and websocket APIs."""

    def __init__(self, session: aiohttp.ClientSession, token: str) -> None:
        """Talk to Home Assistant with the owner's token."""
        self.session = session
        self.token = token

    async def rest(self, method: str, path: str, **kwargs: Any) -> Any:
        """Return the JSON answer of one REST request."""
        return await hass_json(self.session, method, path, self.token, **kwargs)

    async def ws(self, command: dict[str, Any]) -> Any:
        """Return the result of one websocket command; fail on an error."""
        [reply] = await hass_websocket(self.session, self.token, command)
        if not reply["success"]:
            msg = f"{command['type']} failed: {reply['error']}"
            raise RuntimeError(msg)
        return reply["result"]

    async def state(self, entity_id: str) -> dict[str, Any]:
        """Return an entity's state."""
        state: dict[str, Any] = await self.rest("GET", f"/api/states/{entity_id}")
        return state

    async def entry_id(self) -> str:
        """Return the TwSMS account's config entry."""
        entries = await self.rest(
            "GET", "/api/config/config_entries/entry?domain=twsms_voice"
        )
        entry_id: str = entries[0]["entry_id"]
        return entry_id

    async def devices(self) -> dict[str, str]:
        """Return the integration's device ids by name: the account's, the contacts'."""
        entry_id = await self.entry_id()
        return {
            device["name"]: device["id"]
            for device in await self.ws({"type": "config/device_registry/list"})
            if entry_id in device["config_entries"]
        }

    async def set_language(self, language: str) -> None:
        """Set the owner's language in their profile, as its page does."""
        await self.ws(
            {
                "type": "frontend/set_user_data",
                "key": "language",
                "value": {"language": language, "time_zone": "server"},
            }
        )

    async def press_test_call(self) -> None:
        """Press Mom's Test call button; the simulator has her answer it 10 s later."""
        await self.rest(
            "POST",
            "/api/services/button/press",
            json={"entity_id": "button.mom_test_call"},
        )

    async def alarm(self) -> None:
        """Once the test call is answered, alarm Mom and Neighbour by notify.

        The alarm goes through the contacts' notify entities (notify.send_message),
        so that they show when they last sent something. Mom answers, the Neighbour
        never does; the simulator reports each outcome 10 s after the call.
        """
        test_call = await _until(
            "the outcome of the test call",
            lambda: self._last_call("mom", "answered", not_msgid=None),
        )
        # Answered for a while, so that the history shows it between the calls.
        await asyncio.sleep(ANSWERED_FOR)
        await self.rest(
            "POST",
            "/api/services/notify/send_message",
            json={"entity_id": ["notify.mom", "notify.neighbour"], "message": ALARM},
        )
        await _until(
            "the outcome of the alarm to Mom",
            lambda: self._last_call("mom", "answered", not_msgid=test_call),
        )
        await _until(
            "the outcome of the alarm to Neighbour",
            lambda: self._last_call("neighbour", "no_answer", not_msgid=None),
        )

    async def _last_call(
        self, contact: str, status: str, not_msgid: int | None
    ) -> int | None:
        """Return the msgid of the contact's last call once it has ``status``."""
        state = await self.state(f"sensor.{contact}_last_call")
        msgid: int | None = state["attributes"].get("msgid")
        if state["state"] != status or msgid is None or msgid == not_msgid:
            return None
        return msgid

    async def provoke_call_cap(self) -> None:
        """Cap the account at one call an hour (options flow), then call too often.

        The duplicate-call cooldown is turned off in the same go, so the automation's
        repeated message is refused by the cap, not suppressed as a duplicate.
        """
        entry_id = await self.entry_id()
        flow = await self.rest(
            "POST",
            "/api/config/config_entries/options/flow",
            json={"handler": entry_id},
        )
        options = {
            field["name"]: field["description"]["suggested_value"]
            for field in flow["data_schema"]
            if "suggested_value" in (field.get("description") or {})
        }
        result = await self.rest(
            "POST",
            f"/api/config/config_entries/options/flow/{flow['flow_id']}",
            json=options | {"calls_per_hour": 1, "cooldown": 0},
        )
        if result["type"] != "create_entry":
            msg = f"The options flow did not take the options: {result}"
            raise RuntimeError(msg)

        async def loaded() -> bool | None:
            entries = await self.rest(
                "GET", "/api/config/config_entries/entry?domain=twsms_voice"
            )
            return True if entries[0]["state"] == "loaded" else None

        await _until("the account to reload with its new options", loaded)
        for _ in range(3):
            await self.rest("POST", "/api/events/screenshots_smoke")
            with contextlib.suppress(RuntimeError):
                await _until("the call cap's repair", self._cap_issue, seconds=5)
                break
        else:
            msg = "screenshots: three calls over the cap raised no repair"
            raise RuntimeError(msg)
        # Only this integration's repair in the picture: Home Assistant's own
        # (the http: YAML it moved into its storage, say) are ignored, as in the UI.
        for issue in (await self.ws({"type": "repairs/list_issues"}))["issues"]:
            if issue["domain"] != "twsms_voice":
                await self.ws(
                    {
                        "type": "repairs/ignore_issue",
                        "domain": issue["domain"],
                        "issue_id": issue["issue_id"],
                        "ignore": True,
                    }
                )

    async def _cap_issue(self) -> bool | None:
        issues = (await self.ws({"type": "repairs/list_issues"}))["issues"]
        capped = any(issue["translation_key"] == "call_cap_reached" for issue in issues)
        return True if capped else None


class Camera:
    """The frontend in Chromium: opens pages and dialogs and saves them as PNGs."""

    def __init__(self, context: BrowserContext, out: Path) -> None:
        """Save into ``out``."""
        self.context = context
        self.out = out
        self.saved: list[Path] = []

    async def page(self, path: str, height: int = HEIGHT) -> Page:
        """Open a frontend page in a new tab and wait until it has settled."""
        page = await self.context.new_page()
        await page.set_viewport_size({"width": WIDTH, "height": height})
        await page.goto(f"{develop.HASS_URL}{path}", wait_until="networkidle")
        await page.locator("home-assistant-main").wait_for()
        await settle(page)
        return page

    async def save(self, page: Page, name: str, clip: FloatRect | None = None) -> None:
        """Save the viewport, or the part ``clip`` says, as ``name``.png."""
        await settle(page)
        target = self.out / f"{name}.png"
        await page.screenshot(path=target, clip=clip, animations="disabled")
        self.saved.append(target)
        print(f"screenshots: {_shown(target)} ({_size(target)})", flush=True)

    async def save_dialog(self, page: Page, dialog: Locator, name: str) -> None:
        """Save an open dialog, on the plain backdrop without the page behind it.

        ``dialog`` is the dialog's element (dialog-data-entry-flow, say): its form is
        slotted into the <dialog> of its shadow root, whose box is what is saved.
        """
        window = dialog.locator("dialog[open]")
        await window.wait_for()
        await page.evaluate(HIDE_PAGE, True)  # noqa: FBT003 - a JavaScript argument
        await settle(page)
        box = await window.bounding_box()
        if box is None:
            msg = f"screenshots: the dialog of {name} is not on the page"
            raise RuntimeError(msg)
        await self.save(page, name, _around(box, page, DIALOG_MARGIN))
        await page.evaluate(HIDE_PAGE, False)  # noqa: FBT003

    async def fit_content(self, page: Page) -> None:
        """Make the viewport as tall as the page, so that nothing is cut off."""
        height = await page.evaluate("document.scrollingElement.scrollHeight")
        await page.set_viewport_size({"width": WIDTH, "height": max(HEIGHT, height)})
        await settle(page)


async def settle(page: Page) -> None:
    """Wait until no request is under way and no animation (but spinners) runs."""
    await page.wait_for_load_state("networkidle")
    await page.wait_for_function(ANIMATIONS_DONE)
    await page.wait_for_timeout(300)


def _around(box: FloatRect, page: Page, margin: float) -> FloatRect:
    """Return ``box`` grown by ``margin``, within the viewport."""
    size = page.viewport_size or {"width": WIDTH, "height": HEIGHT}
    left, top = max(0.0, box["x"] - margin), max(0.0, box["y"] - margin)
    right = min(float(size["width"]), box["x"] + box["width"] + margin)
    bottom = min(float(size["height"]), box["y"] + box["height"] + margin)
    return {"x": left, "y": top, "width": right - left, "height": bottom - top}


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


def _size(path: Path) -> str:
    return f"{path.stat().st_size / 1024:.0f} KB"


def _flow_dialog(page: Page) -> Locator:
    """Return the dialog of config, subentry, options and repair flows."""
    return page.locator("dialog-data-entry-flow")


async def _open_add_integration(camera: Camera) -> Page:
    """Open Settings → Devices & services → Add integration → TwSMS Voice.

    The button and the search are found the same way in any language.
    """
    page = await camera.page("/config/integrations/dashboard")
    await page.locator("ha-button[slot=fab]").click()
    await page.locator("dialog-add-integration dialog[open]").wait_for()
    await settle(page)
    await page.keyboard.type("TwSMS")
    await (
        page.locator("dialog-add-integration")
        .get_by_text("TwSMS Voice", exact=True)
        .click()
    )
    await _flow_dialog(page).locator("ha-form").first.wait_for()
    return page


async def shoot_config_flow(camera: Camera, name: str) -> None:
    """1. The account form of the config flow."""
    page = await _open_add_integration(camera)
    await camera.save_dialog(page, _flow_dialog(page), name)
    await page.close()


async def shoot_contact_form(camera: Camera) -> None:
    """2. The contact form (the Add contact subentry flow), filled in."""
    # Tall enough for the whole form, which scrolls at 800 px.
    page = await camera.page("/config/integrations/integration/twsms_voice", 1000)
    await page.get_by_role("button", name="Add contact").first.click()
    dialog = _flow_dialog(page)
    await dialog.locator("ha-form").first.wait_for()
    fields = dialog.locator("ha-form input")  # the name, then the phone number
    await fields.nth(0).fill("Dad")
    await fields.nth(1).fill("0987 654 321")
    await page.keyboard.press("Tab")
    await camera.save_dialog(page, dialog, "contact-form")
    await page.close()


async def shoot_devices(camera: Camera, devices: dict[str, str]) -> None:
    """3. The devices of a contact and of the account, with their entities."""
    for device, name in (("Mom", "device-contact"), ("TwSMS demo", "device-account")):
        page = await camera.page(f"/config/devices/device/{devices[device]}")
        # The Activity card: the device's logbook, with the calls in it.
        await page.locator("ha-logbook").get_by_text("Last call").first.wait_for()
        await camera.fit_content(page)
        await camera.save(page, name)
        await page.close()


async def shoot_history(camera: Camera, devices: dict[str, str]) -> None:
    """4. A call's history: Mom's Last call (more info) and the activity log."""
    page = await camera.page(f"/config/devices/device/{devices['Mom']}")
    await page.evaluate(MORE_INFO, "sensor.mom_last_call")
    dialog = page.locator("ha-more-info-dialog")
    await dialog.locator("ha-more-info-history").wait_for()
    await dialog.locator("state-history-charts").first.wait_for()
    await dialog.locator("ha-logbook").get_by_text("Answered").first.wait_for()
    await camera.save_dialog(page, dialog, "call-history")
    await page.close()
    page = await camera.page("/logbook")
    await page.get_by_text("Mom answered", exact=False).first.wait_for()
    await camera.save(page, "activity")
    await page.close()


async def shoot_repair(camera: Camera) -> None:
    """5. Settings → Repairs with the call cap's issue, and its fix flow."""
    page = await camera.page("/config/repairs")
    issue = page.locator("ha-card", has_text="capped")
    await issue.wait_for()
    card = await issue.bounding_box()
    sidebar = await page.locator("ha-sidebar").bounding_box()
    if card is None or sidebar is None:
        msg = "screenshots: the repairs page has no card or no sidebar"
        raise RuntimeError(msg)
    left = sidebar["x"] + sidebar["width"]
    await camera.save(
        page,
        "repairs",
        {
            "x": left,
            "y": 0,
            "width": WIDTH - left,
            "height": card["y"] + card["height"] + DIALOG_MARGIN,
        },
    )
    await issue.get_by_text("capped").click()
    dialog = _flow_dialog(page)
    await dialog.locator("ha-form").first.wait_for()
    await camera.save_dialog(page, dialog, "repair-fix-flow")
    await page.close()


async def _run(config: Path, out: Path, *, zh_hant: bool) -> list[Path]:
    """Start everything, take the pictures, stop everything; return the files."""
    link_integration(config)
    processes = {
        "simulator": start_simulator(quiet=True),
        "hass": start_hass(config, quiet=True),
    }
    try:
        async with aiohttp.ClientSession() as session:
            await wait_until_up(
                session,
                f"{develop.SIMULATOR_URL}/_simulator/calls",
                30,
                processes["simulator"],
            )
            token = await hass_ready(session, processes["hass"])
            await configure_integration(session, token)
            await wait_for_service(session, token, "notify", "twsms_voice")
            token = await long_lived_token(session, token, config / develop.TOKEN_NAME)
            check_startup_log(config)
            hass = Instance(session, token)
            await hass.set_language("en")
            return await _shoot(hass, config, out, zh_hant=zh_hant)
    except BaseException:
        log = config / "home-assistant.log"
        if log.exists():
            print(*log.read_text(encoding="utf-8").splitlines()[-40:], sep="\n")
        raise
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


async def _shoot(
    hass: Instance, config: Path, out: Path, *, zh_hant: bool
) -> list[Path]:
    tokens = {
        "hassUrl": develop.HASS_URL,
        "clientId": develop.CLIENT_ID,
        "access_token": hass.token,  # long-lived: never refreshed
        "refresh_token": "",
        "token_type": "Bearer",
        "expires_in": 10 * 365 * 86400,
        "expires": int((time.time() + 10 * 365 * 86400) * 1000),
    }
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            config / "chromium",  # a fresh profile
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": WIDTH, "height": HEIGHT},
            device_scale_factor=1,
            locale="en-US",
            timezone_id=TIME_ZONE,
            color_scheme="light",
            reduced_motion="reduce",
            service_workers="block",
        )
        try:
            await context.add_init_script(
                TOKENS_SCRIPT.format(tokens=json.dumps(json.dumps(tokens)))
            )
            camera = Camera(context, out)
            devices = await hass.devices()
            await hass.press_test_call()  # ringing while the forms are taken
            await shoot_config_flow(camera, "config-flow")
            await shoot_contact_form(camera)
            print("screenshots: calling Mom and Neighbour", flush=True)
            await hass.alarm()
            await shoot_devices(camera, devices)
            await shoot_history(camera, devices)
            print("screenshots: calling over the hourly cap", flush=True)
            await hass.provoke_call_cap()
            await shoot_repair(camera)
            if zh_hant:
                await hass.set_language("zh-Hant")
                await shoot_config_flow(camera, "config-flow-zh-hant")
            return camera.saved
        finally:
            await context.close()


def main() -> None:
    """Parse the arguments, then take the pictures."""
    parser = argparse.ArgumentParser(
        prog="scripts/screenshots",
        description=__doc__.splitlines()[0],
        epilog="\n\n".join(__doc__.split("\n\n")[1:]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=OUT,
        help=f"where the PNGs go (default: {OUT.relative_to(ROOT)})",
    )
    parser.add_argument(
        "--no-zh-hant",
        dest="zh_hant",
        action="store_false",
        help="skip the Traditional Chinese picture of the config flow",
    )
    args = parser.parse_args()
    began = time.monotonic()
    _ensure_chromium()
    args.out.mkdir(parents=True, exist_ok=True)
    _use_ports()
    with tempfile.TemporaryDirectory(prefix="twsms-screenshots-") as scratch:
        config = Path(scratch)
        _write_config(config)
        saved = asyncio.run(_run(config, args.out.resolve(), zh_hant=args.zh_hant))
    print(f"screenshots: {len(saved)} pictures in {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
