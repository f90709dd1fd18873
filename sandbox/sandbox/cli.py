"""Command line shared by every ``python -m sandbox.<platform>``: port, catalog and switches.

It prints one line, ``<name> listening on http://127.0.0.1:<port>``, then serves until
interrupted, so that scripts (the demo, the Docker test, benchmarks) can read the URL.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from sandbox.server import Emulator, RateLimit, Switches


def parse_switches(args: argparse.Namespace) -> Switches:
    """Switches from the common flags."""
    limit = None
    if args.rate_limit:
        capacity, _, leak = args.rate_limit.partition("/")
        limit = RateLimit(float(capacity), float(leak or capacity))
    return Switches(latency=args.latency, rate_limit=limit, error_rate=args.error_rate,
                    drop_rate=args.drop_rate, seed=args.seed)


def common_parser(name: str) -> argparse.ArgumentParser:
    """The flags every emulator takes; platform modules may add their own."""
    parser = argparse.ArgumentParser(prog=f"python -m sandbox.{name}",
                                     description=f"Local {name} emulator on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=42, help="catalog and fault seed")
    parser.add_argument("--products", type=int, default=60, help="products in the catalog")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    parser.add_argument("--rate-limit", default=None,
                        help="leaky bucket CAPACITY/LEAK_PER_SECOND, e.g. 10/2")
    parser.add_argument("--error-rate", type=float, default=0.0, help="share of 5xx answers")
    parser.add_argument("--drop-rate", type=float, default=0.0,
                        help="share of dropped connections")
    return parser


def run(name: str, factory: Callable[[argparse.Namespace, Switches], Emulator],
        argv: Sequence[str] | None = None,
        parser: argparse.ArgumentParser | None = None) -> None:
    """Parse flags, build the emulator with ``factory`` and serve it in the foreground."""
    parser = parser or common_parser(name)
    args = parser.parse_args(argv)
    emulator = factory(args, parse_switches(args))
    emulator.start(args.port)
    print(f"{name} listening on {emulator.url}", flush=True)
    try:
        emulator.wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
        sys.stdout.flush()
