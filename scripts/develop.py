"""Run the simulator and a development Home Assistant configured against it.

Home Assistant is onboarded and the integration configured through Home Assistant's
own HTTP APIs (onboarding, auth, config entry flows), exactly as a person would in
the UI. The integration is linked into config/custom_components, where HACS would
copy it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
from pathlib import Path
import shutil
import signal
import subprocess
import sys
import tempfile
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config"
VENV_BIN = Path(sys.executable).parent
HASS_PORT = int(os.environ.get("DEVELOP_HASS_PORT", "8123"))
SIMULATOR_PORT = int(os.environ.get("DEVELOP_SIMULATOR_PORT", "8765"))
HASS_URL = f"http://127.0.0.1:{HASS_PORT}"
SIMULATOR_URL = f"http://127.0.0.1:{SIMULATOR_PORT}"
CLIENT_ID = f"{HASS_URL}/"
OWNER = {"name": "Developer", "username": "dev", "password": "dev-password"}
TWSMS_ACCOUNT = {"username": "demo", "password": "demo-password"}
CONTACTS = [
    {"name": "Mom", "phone": "0912 345 678"},
    {"name": "Neighbour", "phone": "0911000002"},  # never answers (see below)
]
TOKEN_NAME = ".develop-token"


def _link_integration(config: Path) -> None:
    """Put the integration where HACS installs it."""
    target = config / "custom_components" / "twsms_voice"
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        target.symlink_to(ROOT / "custom_components" / "twsms_voice")


def _start_processes(
    config: Path, *, quiet: bool
) -> tuple[subprocess.Popen[bytes], subprocess.Popen[bytes]]:
    output = subprocess.DEVNULL if quiet else None
    simulator = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [
            sys.executable,
            "-m",
            "twsms_simulator",
            "--port",
            str(SIMULATOR_PORT),
            "--account",
            f"{TWSMS_ACCOUNT['username']}:{TWSMS_ACCOUNT['password']}:1000",
            "--phone",
            "0911000002=NoAnswer",
            "--phone",
            "0911000003=Busy",
        ],
        cwd=ROOT,
        stdout=output,
        stderr=output,
    )
    hass = subprocess.Popen(  # noqa: S603 - the venv's own hass
        [str(VENV_BIN / "hass"), "--config", str(config), "--skip-pip"],
        cwd=ROOT,
        env=os.environ
        | {"DEVELOP_HASS_PORT": str(HASS_PORT), "DEVELOP_EXTERNAL_URL": HASS_URL},
        stdout=output,
        stderr=output,
    )
    return simulator, hass


async def _wait_until_up(
    session: aiohttp.ClientSession, url: str, seconds: int
) -> None:
    """Poll ``url`` until it answers at all."""
    for _ in range(seconds * 2):
        with contextlib.suppress(aiohttp.ClientError):
            async with session.get(url) as response:
                if response.status < 500:
                    return
        await asyncio.sleep(0.5)
    msg = f"{url} did not come up within {seconds} s"
    raise RuntimeError(msg)


async def _json(
    session: aiohttp.ClientSession,
    method: str,
    path: str,
    token: str | None = None,
    **kwargs: Any,
) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with session.request(
        method, f"{HASS_URL}{path}", headers=headers, **kwargs
    ) as response:
        if response.status >= 400:
            msg = f"{method} {path}: HTTP {response.status}: {await response.text()}"
            raise RuntimeError(msg)
        return await response.json()


async def _access_token(session: aiohttp.ClientSession) -> str:
    """Onboard a new instance, or log in to an onboarded one; return a token."""
    async with session.get(f"{HASS_URL}/api/onboarding") as response:
        # Once onboarding is complete, the onboarding API is gone (404).
        steps = await response.json() if response.status == 200 else []
    if any(step["step"] == "user" and not step["done"] for step in steps):
        created = await _json(
            session,
            "POST",
            "/api/onboarding/users",
            json={"client_id": CLIENT_ID, "language": "en"} | OWNER,
        )
        code = created["auth_code"]
    else:
        flow = await _json(
            session,
            "POST",
            "/auth/login_flow",
            json={
                "client_id": CLIENT_ID,
                "handler": ["homeassistant", None],
                "redirect_uri": CLIENT_ID,
            },
        )
        result = await _json(
            session,
            "POST",
            f"/auth/login_flow/{flow['flow_id']}",
            json={
                "client_id": CLIENT_ID,
                "username": OWNER["username"],
                "password": OWNER["password"],
            },
        )
        code = result["result"]
    tokens = await _json(
        session,
        "POST",
        "/auth/token",
        data={"grant_type": "authorization_code", "code": code, "client_id": CLIENT_ID},
    )
    token: str = tokens["access_token"]
    for step in steps:
        if not step["done"] and step["step"] != "user":
            body = {"client_id": CLIENT_ID, "redirect_uri": CLIENT_ID}
            await _json(
                session, "POST", f"/api/onboarding/{step['step']}", token, json=body
            )
    return token


async def _configure_integration(session: aiohttp.ClientSession, token: str) -> None:
    """Add the TwSMS account and its contacts through the config flows."""
    entries = await _json(
        session, "GET", "/api/config/config_entries/entry?domain=twsms_voice", token
    )
    if entries:
        return
    flow = await _json(
        session,
        "POST",
        "/api/config/config_entries/flow",
        token,
        json={"handler": "twsms_voice", "show_advanced_options": True},
    )
    result = await _json(
        session,
        "POST",
        f"/api/config/config_entries/flow/{flow['flow_id']}",
        token,
        json=TWSMS_ACCOUNT | {"advanced": {"api_url": SIMULATOR_URL}},
    )
    if result["type"] != "create_entry":
        msg = f"Adding the TwSMS account failed: {result}"
        raise RuntimeError(msg)
    entry_id = result["result"]["entry_id"]
    for contact in CONTACTS:
        flow = await _json(
            session,
            "POST",
            "/api/config/config_entries/subentries/flow",
            token,
            json={"handler": [entry_id, "contact"]},
        )
        await _json(
            session,
            "POST",
            f"/api/config/config_entries/subentries/flow/{flow['flow_id']}",
            token,
            json=contact,
        )


async def _long_lived_token(
    session: aiohttp.ClientSession, token: str, token_file: Path
) -> str:
    """Reuse the token of an earlier run, or create one over the websocket API."""
    if token_file.exists():
        saved = token_file.read_text(encoding="utf-8").strip()
        async with session.get(
            f"{HASS_URL}/api/", headers={"Authorization": f"Bearer {saved}"}
        ) as response:
            if response.status == 200:
                return saved
    async with session.ws_connect(f"{HASS_URL}/api/websocket") as socket:
        await socket.receive_json()  # auth_required
        await socket.send_json({"type": "auth", "access_token": token})
        await socket.receive_json()  # auth_ok
        await socket.send_json(
            {
                "id": 1,
                "type": "auth/long_lived_access_token",
                "client_name": "scripts/develop",
                "lifespan": 3650,
            }
        )
        reply = await socket.receive_json()
    long_lived: str = reply["result"]
    token_file.write_text(long_lived + "\n", encoding="utf-8")
    return long_lived


async def _wait_for_service(
    session: aiohttp.ClientSession, token: str, domain: str, service: str
) -> None:
    for _ in range(60):
        services = await _json(session, "GET", "/api/services", token)
        if any(
            entry["domain"] == domain and service in entry["services"]
            for entry in services
        ):
            return
        await asyncio.sleep(0.5)
    msg = f"{domain}.{service} was never registered"
    raise RuntimeError(msg)


async def _check_a_call(session: aiohttp.ClientSession, token: str) -> None:
    """Call notify.twsms_voice; the simulator must place it and report its outcome.

    The simulator reports 10 s after the call; the first status query would come
    after 45 s. An answered call within 30 s therefore came by the status report.
    """
    message = "scripts/develop --check: 測試來電"
    await _json(
        session,
        "POST",
        "/api/services/notify/twsms_voice",
        token,
        json={"message": message, "target": ["Mom"]},
    )
    async with session.get(f"{SIMULATOR_URL}/_simulator/calls") as response:
        calls = await response.json()
    if not any(call["message"] == message for call in calls):
        msg = f"The simulator never received the call: {calls}"
        raise RuntimeError(msg)
    print("check: notify.twsms_voice reached the simulator")
    for _ in range(60):
        state = await _json(session, "GET", "/api/states/sensor.mom_last_call", token)
        if state["state"] == "answered":
            print("check: the simulator's status report reached Home Assistant")
            return
        await asyncio.sleep(0.5)
    msg = f"No status report within 30 s: {state}"
    raise RuntimeError(msg)


def _print_welcome(token: str) -> None:
    example = json.dumps(
        {"message": "火警！廚房偵測到煙霧。", "target": ["Mom", "0911000003"]},
        ensure_ascii=False,
    )
    print(
        f"""
Home Assistant is running: {HASS_URL}
  log in as {OWNER["username"]} / {OWNER["password"]}
TwSMS simulator: {SIMULATOR_URL} (account {TWSMS_ACCOUNT["username"]} / {TWSMS_ACCOUNT["password"]})
  0911000002 never answers, 0911000003 is busy, every other number answers
  placed calls: {SIMULATOR_URL}/_simulator/calls

Call someone (the token is also in config/{TOKEN_NAME}):
  curl -X POST -H "Authorization: Bearer {token}" \\
       -H "Content-Type: application/json" \\
       -d '{example}' \\
       {HASS_URL}/api/services/notify/twsms_voice

Press Ctrl-C to stop Home Assistant and the simulator.
""",
        flush=True,
    )


async def _run(config: Path, check: bool) -> None:
    _link_integration(config)
    simulator, hass = _start_processes(config, quiet=check)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        async with aiohttp.ClientSession() as session:
            await _wait_until_up(session, f"{SIMULATOR_URL}/_simulator/calls", 30)
            await _wait_until_up(session, f"{HASS_URL}/api/", 300)
            token = await _access_token(session)
            await _configure_integration(session, token)
            await _wait_for_service(session, token, "notify", "twsms_voice")
            long_lived = await _long_lived_token(session, token, config / TOKEN_NAME)
            if check:
                try:
                    await _check_a_call(session, long_lived)
                except RuntimeError:
                    log = config / "home-assistant.log"
                    print(*log.read_text(encoding="utf-8").splitlines()[-60:], sep="\n")
                    raise
                return
            _print_welcome(long_lived)
        waiters = [
            asyncio.ensure_future(stop.wait()),
            asyncio.ensure_future(asyncio.to_thread(hass.wait)),
            asyncio.ensure_future(asyncio.to_thread(simulator.wait)),
        ]
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for process in (hass, simulator):
            if process.poll() is None:
                process.terminate()
        for process in (hass, simulator):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        print("Stopped Home Assistant and the simulator.", flush=True)


def main() -> None:
    """Parse the arguments and run until Ctrl-C (or once, with --check)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="place one call through notify.twsms_voice, check it, then stop",
    )
    if not parser.parse_args().check:
        asyncio.run(_run(CONFIG, check=False))
        return
    # A check starts from nothing, as on a fresh clone, and leaves config/ alone.
    with tempfile.TemporaryDirectory(prefix="twsms-develop-") as scratch:
        config = Path(scratch)
        shutil.copy(CONFIG / "configuration.yaml", config)
        asyncio.run(_run(config, check=True))


if __name__ == "__main__":
    main()
