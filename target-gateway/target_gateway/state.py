"""The STATE gate: a tap's STATE is printed only once everything before it is in the Gateway,
and never after a write failed.

A Singer target prints the STATE messages it received once the records before them are
safely written; the runner (or Meltano) saves the last one and starts the next run from it.
Printing one after a failed write would let the next run skip that write for good (the
worst failure is a silent one). So:

- a STATE waits until no record read before it is still unwritten (the sinks count them)
  and the shop's Gateway state has been read (a run that never reached the Gateway confirms
  nothing, not even that the categories before a STATE were used); then it is printed,
  unless the run is blocked: a write failed, the run was interrupted, or the mode writes
  nothing (dry run, template only); from then on no STATE is printed;
- a STATE equal to the last printed one is not printed again.

singer-sdk has no public hook for this: its Target prints the latest STATE after every full
drain of the sinks, from a private method. The gate therefore takes STATE messages where the
SDK's public extension point for input is, the message reader (``message_reader_class``):
:meth:`StateGate.wrap` replaces the reader's STATE callback, so the SDK never holds a state to
print. ``tests/test_sdk_contract.py`` pins that the SDK prints nothing of its own.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import IO, Any

from singer_sdk.io_base import SingerMessageType
from singer_sdk.singerlib.exceptions import InvalidInputLine

Callback = Callable[[dict], None]


class StateGate:
    """Holds the latest STATE until it may be printed (see the module docstring)."""

    def __init__(self, *, blocked: Callable[[], bool], settled: Callable[[], bool],
                 on_withheld: Callable[[], None] = lambda: None,
                 out: Callable[[], IO[str]] = lambda: sys.stdout) -> None:
        self._blocked = blocked
        self._settled = settled
        self._on_withheld = on_withheld
        self._out = out
        self._pending: Any = None
        self._printed: Any = None
        self.withheld = False

    def wrap(self, callbacks: dict[str, Callback]) -> dict[str, Callback]:
        """The reader's callbacks with STATE taken here, and a flush after every message."""
        def after(callback: Callback) -> Callback:
            def run(message: dict) -> None:
                callback(message)
                self.flush()
            return run

        wrapped = {kind: after(callback) for kind, callback in callbacks.items()}
        wrapped[SingerMessageType.STATE] = self.receive
        return wrapped

    def receive(self, message: dict) -> None:
        """A STATE message from the input."""
        if "value" not in message:
            raise InvalidInputLine(f"a STATE message without a value: {str(message)[:120]}")
        self._pending = message["value"]
        self.flush()

    def flush(self) -> None:
        """Print the pending STATE if everything before it is written and nothing failed."""
        if self._pending is None or not self._settled():
            return
        state, self._pending = self._pending, None
        if self._blocked():
            if not self.withheld:
                self.withheld = True
                self._on_withheld()
            return
        if state == self._printed:
            return
        self._printed = state
        out = self._out()
        out.write(json.dumps(state) + "\n")
        out.flush()
