"""``tap | target`` as two child processes with gateway-sync in the middle of the pipe.

Sitting in the middle (tap stdout -> a pump thread -> target stdin) is what lets the runner
count the records read per stream, notice at once when the target has stopped reading, and
tell at the end which side failed. Everything else stays the Singer way: the target's stdout
carries its STATE lines, both sides log on stderr.

Children's stderr is shown in a compact form: warnings, errors and anything that is not a log
line (a traceback) are forwarded as ``<name> LEVEL: message``; INFO/DEBUG lines (singer-sdk's
metrics) only with ``verbose``. The target's ``progress {json}`` lines become one progress line
at most every ``progress_every`` seconds, and the target's closing summary is shown as it
is. The last lines of each side are kept to show a failure that logged nothing above INFO.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import threading
import time
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, TextIO

_LOG_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d[ T][\d:.,]+\s*\|\s*(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL)\s*\|"
    r"\s*(?P<logger>[^|]*?)\s*\|\s?(?P<message>.*)$")
_PROGRESS = re.compile(r"\bprogress (\{.*\})\s*$")
QUIET_LEVELS = {"DEBUG", "INFO"}
_SUMMARY = re.compile(r"^target-gateway: (ok|partial|failed) - \d+ records read")
_TRACEBACK = "Traceback (most recent call last):"
_CHAINED = {"The above exception was the direct cause of the following exception:",
            "During handling of the above exception, another exception occurred:"}
_TRACEBACK_HINT = " (gateway-sync -v shows the traceback)"
TAIL_LINES = 15
STOP_GRACE_SECONDS = 10.0


class Output:
    """Serialises lines written to stderr by several threads."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._lock = threading.Lock()

    def line(self, text: str) -> None:
        """Write one line."""
        with self._lock, contextlib.suppress(OSError, ValueError):
            self.stream.write(text + "\n")
            self.stream.flush()


@dataclass
class Side:
    """What is known about one child process."""

    name: str
    returncode: int | None = None
    forwarded: int = 0
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))


@dataclass
class Outcome:
    """How a pipeline run ended."""

    tap: Side
    target: Side
    records: Counter[str]
    progress: dict[str, Any]
    last_state: dict[str, Any] | None
    tap_stopped: bool  # True when the runner stopped the tap because the target had gone
    interrupted: int | None  # the signal that stopped the run, if any


def images_count(progress: Mapping[str, Any]) -> int:
    """The images figure of a progress line (a number, or counts per kind)."""
    images = progress.get("images", 0)
    if isinstance(images, Mapping):
        return sum(v for v in images.values() if isinstance(v, int))
    return images if isinstance(images, int) else 0


def progress_text(records: Mapping[str, int], progress: Mapping[str, Any]) -> str:
    """One compact progress line."""
    total = sum(records.values())
    per_stream = ", ".join(f"{name} {count}" for name, count in records.items())
    text = f"progress: read {total} records" + (f" ({per_stream})" if per_stream else "")
    if progress:
        counts = ", ".join(f"{progress.get(k, 0)} {k}"
                           for k in ("created", "updated", "unchanged", "skipped", "failed"))
        text += f"; products {counts}; images {images_count(progress)}"
    return text


class Pipeline:
    """Runs ``tap | target`` and watches both."""

    def __init__(self, tap_command: Sequence[str], target_command: Sequence[str], *,
                 tap_name: str, target_name: str, env: Mapping[str, str], output: Output,
                 verbose: bool = False, progress_every: float = 2.0,
                 hide_text: str = "") -> None:
        self.tap_command = list(tap_command)
        self.target_command = list(target_command)
        self.env = dict(env)
        self.out = output
        self.verbose = verbose
        self.progress_every = progress_every
        self.hide_text = hide_text  # summary lines containing it are not shown (temp paths)
        self.tap_side = Side(tap_name)
        self.target_side = Side(target_name)
        self.records: Counter[str] = Counter()
        self.progress: dict[str, Any] = {}
        self.last_state: dict[str, Any] | None = None
        self.tap_stopped = False
        self.interrupted: int | None = None
        self._procs: list[subprocess.Popen[bytes]] = []
        self._lock = threading.Lock()
        self._shown_progress = ""

    # -- signals ------------------------------------------------------------------------------
    def forward_signal(self, signum: int) -> None:
        """Pass SIGINT/SIGTERM on to the children; :meth:`run` then waits for them to stop."""
        self.interrupted = signum
        for proc in self._procs:
            if proc.poll() is None:
                with contextlib.suppress(OSError):
                    proc.send_signal(signum)

    # -- threads ------------------------------------------------------------------------------
    def _pump(self, tap: subprocess.Popen[bytes], target: subprocess.Popen[bytes]) -> None:
        """Copy the tap's messages to the target, counting records per stream."""
        assert tap.stdout is not None
        assert target.stdin is not None
        target_gone = False
        try:
            for line in tap.stdout:
                if b'"RECORD"' in line[:80]:
                    with contextlib.suppress(ValueError, AttributeError):
                        stream = json.loads(line).get("stream")
                        with self._lock:
                            self.records[str(stream)] += 1
                try:
                    target.stdin.write(line)
                    target.stdin.flush()
                except (BrokenPipeError, OSError):
                    target_gone = True
                    break
        finally:
            with contextlib.suppress(OSError):
                target.stdin.close()
        if target_gone:
            # The target stopped reading: the tap's work would be lost, so stop it now.
            if tap.poll() is None:
                self.tap_stopped = True
                with contextlib.suppress(OSError):
                    tap.terminate()
            for _ in tap.stdout:
                pass

    def _read_stderr(self, stream: IO[bytes], side: Side, *, progress: bool) -> None:
        """Forward a child's log in compact form; turn progress lines into state.

        Without ``verbose`` a Python traceback shrinks to its last line (the exception), and
        a chain of them to the last exception.
        """
        in_traceback = in_summary = False
        pending: str | None = None  # an exception line; dropped if a chained one follows
        for raw in stream:
            line = raw.decode("utf-8", errors="replace").rstrip()
            if not line:
                continue
            if progress:
                match = _PROGRESS.search(line)
                if match:
                    with contextlib.suppress(ValueError):
                        data = json.loads(match.group(1))
                        if isinstance(data, dict):
                            with self._lock:
                                self.progress = data
                            continue
            side.tail.append(line)
            if progress and _SUMMARY.match(line):
                in_summary = True
                self._show_progress()  # the last figures, then the summary
            elif in_summary and not line.startswith("  "):
                in_summary = False
            if in_summary:
                # The target's own summary: shown as it is, minus paths that are about to go.
                if not (self.hide_text and self.hide_text in line):
                    side.forwarded += 1
                    self.out.line(line)
                continue
            if not self.verbose:
                if line.startswith(_TRACEBACK):
                    in_traceback, pending = True, None
                    continue
                if line in _CHAINED:
                    pending = None
                    continue
                if in_traceback:
                    if not line[:1].isspace():
                        in_traceback, pending = False, line
                    continue
                if pending is not None:
                    self._forward(side, pending + _TRACEBACK_HINT)
                    pending = None
            log = _LOG_LINE.match(line)
            if log:
                if log.group("level") in QUIET_LEVELS and not self.verbose:
                    continue
                self._forward(side, log.group("message"), log.group("level"))
            else:
                self._forward(side, line)
        if pending is not None:
            self._forward(side, pending + _TRACEBACK_HINT)

    def _forward(self, side: Side, text: str, level: str = "") -> None:
        side.forwarded += 1
        self.out.line(f"{side.name} {level}: {text}" if level else f"{side.name}: {text}")

    def _read_states(self, stream: IO[bytes]) -> None:
        """Keep the last STATE the target printed (a bare state dict, or a STATE message)."""
        for raw in stream:
            with contextlib.suppress(ValueError):
                message = json.loads(raw)
                if isinstance(message, dict):
                    if message.get("type") == "STATE" and isinstance(message.get("value"), dict):
                        message = message["value"]
                    self.last_state = message

    # -- run ----------------------------------------------------------------------------------
    def _start(self, command: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        # A session of their own: a Ctrl-C on the terminal reaches only the runner, which
        # forwards it, so the children stop in order and nothing is left behind.
        proc = subprocess.Popen(command, env=self.env, stderr=subprocess.PIPE,
                                start_new_session=True, **kwargs)
        self._procs.append(proc)
        return proc

    def run(self) -> Outcome:
        """Start both sides, watch them until both have exited, and say how it went."""
        target = self._start(self.target_command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            tap = self._start(self.tap_command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
        except OSError:
            target.kill()
            target.wait()
            raise
        assert tap.stderr is not None
        assert target.stderr is not None
        assert target.stdout is not None
        threads = [
            threading.Thread(target=self._pump, args=(tap, target), daemon=True),
            threading.Thread(target=self._read_stderr, args=(tap.stderr, self.tap_side),
                             kwargs={"progress": False}, daemon=True),
            threading.Thread(target=self._read_stderr, args=(target.stderr, self.target_side),
                             kwargs={"progress": True}, daemon=True),
            threading.Thread(target=self._read_states, args=(target.stdout,), daemon=True),
        ]
        for thread in threads:
            thread.start()
        self._watch(tap, target)
        for thread in threads:
            thread.join(timeout=5)
        if self.interrupted is None:
            self._show_progress()
        self.tap_side.returncode = tap.returncode
        self.target_side.returncode = target.returncode
        return Outcome(self.tap_side, self.target_side, Counter(self.records),
                       dict(self.progress), self.last_state, self.tap_stopped, self.interrupted)

    def _show_progress(self) -> None:
        """Print the progress line if anything was read and it changed since last shown."""
        with self._lock:
            if not (self.records or self.progress):
                return
            text = progress_text(self.records, self.progress)
            if text == self._shown_progress:
                return
            self._shown_progress = text
        self.out.line(text)

    def _watch(self, tap: subprocess.Popen[bytes], target: subprocess.Popen[bytes]) -> None:
        """Wait for both children, printing progress; kill them if a stop takes too long."""
        last_print = time.monotonic()
        stop_deadline: float | None = None
        while tap.poll() is None or target.poll() is None:
            now = time.monotonic()
            if self.interrupted is not None and stop_deadline is None:
                stop_deadline = now + STOP_GRACE_SECONDS
            if stop_deadline is not None and now > stop_deadline:
                for proc in (tap, target):
                    if proc.poll() is None:
                        with contextlib.suppress(OSError):
                            os.killpg(proc.pid, signal.SIGKILL)
            if now - last_print >= self.progress_every and self.interrupted is None:
                self._show_progress()
                last_print = now
            time.sleep(0.1)
