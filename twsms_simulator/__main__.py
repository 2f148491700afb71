r"""Run the simulator from the command line.

python -m twsms_simulator --port 8765 --account demo:demo-password:500 \
    --phone 0911000001=NoAnswer --phone 0911000002=Busy --outcome-delay 15

For benchmarks of polling, let calls take as long as real ones (ring, message, log lag):

python -m twsms_simulator --realistic --seed 7 --chars-per-second 4

While it runs, GET /_simulator/calls lists the placed calls and /_simulator/requests
the requests received (passwords hidden).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging

from .server import (
    DEFAULT_MAX_URL_LENGTH,
    STATUSES,
    Account,
    CallTiming,
    PhoneBehaviour,
    TwsmsSimulator,
)


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
    return phone, PhoneBehaviour(
        status=status, playtime=int(playtime) if playtime else None
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m twsms_simulator",
        description=__doc__.split("\n\n", 1)[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
        help="NUMBER=FarEnd|NoAnswer|Busy[:SECONDS listened]; others answer "
        "(12 s, or the message's reading time with --realistic)",
    )
    timing = parser.add_mutually_exclusive_group()
    timing.add_argument(
        "--outcome-delay",
        type=float,
        default=10.0,
        help="seconds from placing a call until its outcome is known (default 10)",
    )
    timing.add_argument(
        "--realistic",
        action="store_true",
        help="draw each call's timing instead: answered after 3-20 s of ringing, "
        "then the message is read; no answer after 30 s; busy after 2 s; "
        "the outcome is known 2-10 s after the call ends",
    )
    parser.add_argument(
        "--seed", type=int, help="with --realistic: repeat the same draws"
    )
    parser.add_argument(
        "--chars-per-second",
        type=float,
        help="with --realistic: how fast the message is read (default 4)",
    )
    parser.add_argument(
        "--max-url-length",
        type=int,
        default=DEFAULT_MAX_URL_LENGTH,
        help="longer request targets get HTTP 414, as from Apache "
        f"(default {DEFAULT_MAX_URL_LENGTH})",
    )
    parser.add_argument("--points-per-call", type=int, default=2)
    parser.add_argument("--callback-method", choices=("GET", "POST"), default="GET")
    return parser


def _parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.realistic and (
        args.seed is not None or args.chars_per_second is not None
    ):
        parser.error("--seed and --chars-per-second need --realistic")
    return args


def _simulator(args: argparse.Namespace) -> TwsmsSimulator:
    """Build the simulator the command line describes."""
    timing = None
    if args.realistic:
        timing = CallTiming(seed=args.seed)
        if args.chars_per_second is not None:
            timing.chars_per_second = args.chars_per_second
    return TwsmsSimulator(
        accounts=dict(args.account) or {"demo": Account(password="demo-password")},
        outcome_delay=args.outcome_delay,
        points_per_call=args.points_per_call,
        phones=dict(args.phone),
        callback_method=args.callback_method,
        timing=timing,
        max_url_length=args.max_url_length,
    )


async def _serve(simulator: TwsmsSimulator, host: str, port: int) -> None:
    url = await simulator.start(host, port)
    print(f"TwSMS simulator listening on {url}", flush=True)  # noqa: T201
    try:
        await asyncio.Event().wait()
    finally:
        await simulator.stop()


def main() -> None:
    """Serve until interrupted."""
    logging.basicConfig(level=logging.INFO)
    args = _parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(_simulator(args), args.host, args.port))


if __name__ == "__main__":
    main()
