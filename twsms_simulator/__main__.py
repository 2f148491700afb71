"""Run the simulator from the command line.

python -m twsms_simulator --port 8765 --account demo:demo-password:500 \
    --phone 0911000001=NoAnswer --phone 0911000002=Busy --outcome-delay 15
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging

from .server import STATUSES, Account, PhoneBehaviour, TwsmsSimulator


def _account(spec: str) -> tuple[str, Account]:
    username, _, rest = spec.partition(":")
    password, _, points = rest.partition(":")
    if not username or not password:
        msg = "use USERNAME:PASSWORD[:POINTS]"
        raise argparse.ArgumentTypeError(msg)
    return username, Account(password=password, points=int(points or 1000))


def _phone(spec: str) -> tuple[str, PhoneBehaviour]:
    phone, _, rest = spec.partition("=")
    status, _, playtime = rest.partition(":")
    if status not in STATUSES:
        msg = f"status must be one of {', '.join(STATUSES)}"
        raise argparse.ArgumentTypeError(msg)
    return phone, PhoneBehaviour(status=status, playtime=int(playtime or 12))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m twsms_simulator", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--account",
        type=_account,
        action="append",
        default=[],
        help="USERNAME:PASSWORD[:POINTS]; repeatable (default demo:demo-password)",
    )
    parser.add_argument(
        "--phone",
        type=_phone,
        action="append",
        default=[],
        help="NUMBER=FarEnd|NoAnswer|Busy[:SECONDS]; others answer after 12 s",
    )
    parser.add_argument(
        "--outcome-delay",
        type=float,
        default=10.0,
        help="seconds from placing a call until its outcome is known",
    )
    parser.add_argument("--points-per-call", type=int, default=2)
    parser.add_argument("--callback-method", choices=("GET", "POST"), default="GET")
    return parser


async def _serve(args: argparse.Namespace) -> None:
    simulator = TwsmsSimulator(
        accounts=dict(args.account) or {"demo": Account(password="demo-password")},
        outcome_delay=args.outcome_delay,
        points_per_call=args.points_per_call,
        phones=dict(args.phone),
        callback_method=args.callback_method,
    )
    url = await simulator.start(args.host, args.port)
    print(f"TwSMS simulator listening on {url}", flush=True)  # noqa: T201
    try:
        await asyncio.Event().wait()
    finally:
        await simulator.stop()


def main() -> None:
    """Serve until interrupted."""
    logging.basicConfig(level=logging.INFO)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(_parser().parse_args()))


if __name__ == "__main__":
    main()
