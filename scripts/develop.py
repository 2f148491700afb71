"""Run the simulator and a development Home Assistant configured against it.

Home Assistant is onboarded and the integration configured through Home Assistant's
own HTTP APIs (onboarding, auth, config entry flows), exactly as a person would in
the UI. The integration is linked into config/custom_components, where HACS would
copy it.

Runs with the Python of the environment whose Home Assistant it starts: .venv (the
pinned release) or .venv-latest (the newest, made by scripts/setup --latest).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
from pathlib import Path
import re
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
RESTART_EXIT_CODE = 100  # hass exits with it when asked to restart (UI, or itself)
_SETUP_FAILURE = re.compile(
    r" (ERROR|CRITICAL) .*\[homeassistant\.(setup|loader|bootstrap|config_entries)\]"
)


def _link_integration(config: Path) -> None:
    """Put the integration where HACS installs it."""
    target = config / "custom_components" / "twsms_voice"
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        target.symlink_to(ROOT / "custom_components" / "twsms_voice")


def _stored_http_port(config: Path) -> int | None:
    """Return the port Home Assistant will listen on, once it ignores the YAML.

    Home Assistant (2026.10 and later) moves the `http:` YAML into .storage/http on
    its first start and ignores the YAML from then on. Read only, to explain a port
    that no longer follows DEVELOP_HASS_PORT.
    """
    try:
        stored = json.loads((config / ".storage" / "http").read_text(encoding="utf-8"))
    except FileNotFoundError, ValueError:
        return None
    data = stored.get("data", {})
    if not data.get("yaml_migration_done"):
        return None
    pending = data.get("pending")
    active = pending if pending and pending.get("error") is None else data["stable"]
    port: int = active["server_port"]
    return port


def _start_simulator(*, quiet: bool) -> subprocess.Popen[bytes]:
    output = subprocess.DEVNULL if quiet else None
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module
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


def _start_hass(config: Path, *, quiet: bool) -> subprocess.Popen[bytes]:
    output = subprocess.DEVNULL if quiet else None
    return subprocess.Popen(  # noqa: S603 - the venv's own hass
        [str(VENV_BIN / "hass"), "--config", str(config), "--skip-pip"],
        cwd=ROOT,
        env=os.environ
        | {"DEVELOP_HASS_PORT": str(HASS_PORT), "DEVELOP_EXTERNAL_URL": HASS_URL},
        stdout=output,
        stderr=output,
    )


async def _wait_until_up(
    session: aiohttp.ClientSession,
    url: str,
    seconds: int,
    process: subprocess.Popen[bytes],
) -> None:
    """Poll ``url`` until it answers at all, while the process serving it runs."""
    for _ in range(seconds * 2):
        if process.poll() is not None:
            msg = f"{url} will not come up: its process ended ({process.returncode})"
            raise RuntimeError(msg)
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


async def _websocket(
    session: aiohttp.ClientSession, token: str, *commands: dict[str, Any]
) -> list[dict[str, Any]]:
    """Send commands over one authenticated websocket; return their replies."""
    replies: list[dict[str, Any]] = []
    async with session.ws_connect(f"{HASS_URL}/api/websocket") as socket:
        await socket.receive_json()  # auth_required
        await socket.send_json({"type": "auth", "access_token": token})
        auth = await socket.receive_json()
        if auth["type"] != "auth_ok":
            msg = f"The websocket API refused the token: {auth}"
            raise RuntimeError(msg)
        for number, command in enumerate(commands, start=1):
            await socket.send_json({"id": number} | command)
            while (reply := await socket.receive_json()).get("id") != number:
                pass  # not ours (an event, say)
            replies.append(reply)
    return replies


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
    [reply] = await _websocket(
        session,
        token,
        {
            "type": "auth/long_lived_access_token",
            "client_name": "scripts/develop",
            "lifespan": 3650,
        },
    )
    long_lived: str = reply["result"]
    token_file.write_text(long_lived + "\n", encoding="utf-8")
    return long_lived


async def _confirm_http_config(session: aiohttp.ClientSession, token: str) -> str:
    """Confirm the HTTP configuration Home Assistant tries out; say what was done.

    Home Assistant (2026.10 and later) moves the `http:` YAML into its storage as a
    pending configuration on trial: unless it is confirmed within 5 minutes (the UI
    asks the person who set it), it is reverted and Home Assistant restarts, then on
    its default port. This confirms it the way the UI does. Releases without the
    command answer "unknown_command": there is nothing to confirm.
    """
    [reply] = await _websocket(session, token, {"type": "http/config"})
    if not reply["success"]:
        if reply["error"]["code"] == "unknown_command":
            return "nothing to confirm (no http/config command)"
        msg = f"Reading the HTTP configuration failed: {reply['error']}"
        raise RuntimeError(msg)
    if reply["result"].get("revert_at") is None:
        return "nothing to confirm (no HTTP configuration on trial)"
    revert_at = reply["result"]["revert_at"]
    promoted, after = await _websocket(
        session, token, {"type": "http/config/promote"}, {"type": "http/config"}
    )
    if not promoted["success"] or after["result"].get("revert_at") is not None:
        msg = f"Confirming the HTTP configuration failed: {promoted}, then {after}"
        raise RuntimeError(msg)
    return f"confirmed the HTTP configuration on trial (it would revert at {revert_at})"


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

    notify returns once the call is queued, so the call reaches the simulator a
    moment later. The simulator reports 10 s after the call; the first status query
    would come 25 s after the message was read out. An answered call within 20 s
    therefore came by the status report.
    """
    message = "scripts/develop --check: 測試來電"
    await _json(
        session,
        "POST",
        "/api/services/notify/twsms_voice",
        token,
        json={"message": message, "target": ["Mom"]},
    )
    for _ in range(20):
        async with session.get(f"{SIMULATOR_URL}/_simulator/calls") as response:
            calls = await response.json()
        if any(call["message"] == message for call in calls):
            break
        await asyncio.sleep(0.25)
    else:
        msg = f"The simulator never received the call: {calls}"
        raise RuntimeError(msg)
    print("check: notify.twsms_voice reached the simulator")
    for _ in range(40):
        state = await _json(session, "GET", "/api/states/sensor.mom_last_call", token)
        if state["state"] == "answered":
            print("check: the simulator's status report reached Home Assistant")
            return
        await asyncio.sleep(0.5)
    msg = f"No status report within 20 s: {state}"
    raise RuntimeError(msg)


def _check_startup_log(config: Path) -> None:
    """Fail when Home Assistant could not set something up, a missing library say.

    ``hass --skip-pip`` installs nothing: an integration whose library is missing
    from the environment only shows up here, as its setup failing.
    """
    failures = [
        line
        for line in (config / "home-assistant.log")
        .read_text(encoding="utf-8")
        .splitlines()
        if _SETUP_FAILURE.search(line)
    ]
    if failures:
        msg = "Home Assistant failed to set up:\n" + "\n".join(failures)
        raise RuntimeError(msg)
    print("check: Home Assistant set everything up without an error")


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


async def _hass_ready(
    session: aiohttp.ClientSession, hass: subprocess.Popen[bytes]
) -> str:
    """Wait for Home Assistant, log in (onboarding it when new); return a token.

    Also confirms the HTTP configuration Home Assistant puts on trial at start.
    """
    await _wait_until_up(session, f"{HASS_URL}/api/", 300, hass)
    token = await _access_token(session)
    version = (await _json(session, "GET", "/api/config", token))["version"]
    print(
        f"Home Assistant {version}: {await _confirm_http_config(session, token)}",
        flush=True,
    )
    return token


async def _until_one_ends(
    stop: asyncio.Event, *processes: subprocess.Popen[bytes]
) -> None:
    """Return on Ctrl-C, or when one of the processes has ended."""
    while not stop.is_set() and all(process.poll() is None for process in processes):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1)


async def _develop(
    session: aiohttp.ClientSession,
    config: Path,
    processes: dict[str, subprocess.Popen[bytes]],
    stop: asyncio.Event,
    *,
    check: bool,
) -> None:
    """Set everything up, then check one call or serve until something stops."""
    await _wait_until_up(
        session, f"{SIMULATOR_URL}/_simulator/calls", 30, processes["simulator"]
    )
    token = await _hass_ready(session, processes["hass"])
    await _configure_integration(session, token)
    await _wait_for_service(session, token, "notify", "twsms_voice")
    long_lived = await _long_lived_token(session, token, config / TOKEN_NAME)
    if check:
        try:
            await _check_a_call(session, long_lived)
            _check_startup_log(config)
        except RuntimeError:
            log = config / "home-assistant.log"
            print(*log.read_text(encoding="utf-8").splitlines()[-60:], sep="\n")
            raise
        return
    _print_welcome(long_lived)
    while True:
        await _until_one_ends(stop, *processes.values())
        if processes["hass"].poll() != RESTART_EXIT_CODE:
            return
        # Restarting from the UI (to load changed code, say) ends the process, as
        # under any supervisor; start it again.
        print("Home Assistant asked to restart; starting it again", flush=True)
        processes["hass"] = _start_hass(config, quiet=False)
        await _hass_ready(session, processes["hass"])


async def _run(config: Path, check: bool) -> None:
    _link_integration(config)
    stored_port = _stored_http_port(config)
    if stored_port is not None and stored_port != HASS_PORT:
        msg = (
            f"Home Assistant keeps the HTTP settings of {config} in .storage/http "
            f"since its first start, and listens on port {stored_port}, not "
            f"{HASS_PORT}: run with DEVELOP_HASS_PORT={stored_port}, change the port "
            "under Settings > System > Network, or delete .storage/http there to "
            "take configuration.yaml's again."
        )
        raise SystemExit(msg)
    processes = {
        "simulator": _start_simulator(quiet=check),
        "hass": _start_hass(config, quiet=check),
    }
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        async with aiohttp.ClientSession() as session:
            work = asyncio.ensure_future(
                _develop(session, config, processes, stop, check=check)
            )
            stopped = asyncio.ensure_future(stop.wait())
            await asyncio.wait((work, stopped), return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            if not work.done():  # Ctrl-C while setting up or checking
                work.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await work
                if check:
                    raise SystemExit("check: interrupted")
            await work
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        for process in processes.values():
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
