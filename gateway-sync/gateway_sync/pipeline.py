"""``tap | target`` as two child processes with gateway-sync in the middle of the pipe.

Sitting in the middle (tap stdout -> a pump thread -> target stdin) is what lets the runner
count the records read per stream, notice at once when the target has stopped reading, and
tell at the end which side failed. Everything else stays the Singer way: the target's stdout
carries its STATE lines, both sides log on stderr.

Children's stderr is read as structured log records (:mod:`gateway_sync.child_logs`) and shown
in a compact form: warnings and errors as ``<name> LEVEL: message``, INFO/DEBUG records
(singer-sdk's metrics among them) only with ``verbose``. The target's progress records become
one progress line at most every ``progress_every`` seconds. Its summary record is kept, not
shown: the runner shows its lines once it knows how the tap ended (a summary saying "ok"
about a run whose tap failed would be a lie). Text that is not a structured record is
forwarded as ``<name>: text``. Every line shown passes through the process-wide redactor.
The last lines of each side are kept to show a failure that logged nothing above INFO.

Each child runs in a process group of its own and dies with the runner, even when the runner
is SIGKILLed (:func:`gateway_sync.private_files.die_with_parent`); its config can arrive as
an inherited file descriptor (``pass_fds``), never as a file on disk.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, TextIO

from commerce_schema.redact import redact

from gateway_sync.child_logs import TextLog, entry_lines, parse_line
from gateway_sync.private_files import die_with_parent

QUIET_LEVELS = {"DEBUG", "INFO"}
TAIL_LINES = 15
STOP_GRACE_SECONDS = 10.0


class Output:
    """Serialises lines written to stderr by several threads."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._lock = threading.Lock()

    def line(self, text: str) -> None:
        """Write one line, every registered secret masked."""
        text = redact(text)
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
    summary: dict[str, Any] | None  # the target's summary record (status, counts...)
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
                 tap_env: Mapping[str, str] | None = None, verbose: bool = False,
                 progress_every: float = 2.0, hide_text: str = "",
                 tap_fds: Sequence[int] = (), target_fds: Sequence[int] = ()) -> None:
        self.tap_command = list(tap_command)
        self.target_command = list(target_command)
        self.env = dict(env)  # the target's; the tap's is ``tap_env`` when given
        self.tap_env = dict(env if tap_env is None else tap_env)
        self.out = output
        self.verbose = verbose
        self.progress_every = progress_every
        self.hide_text = hide_text  # summary lines containing it are not shown (temp paths)
        self.tap_fds = tuple(tap_fds)
        self.target_fds = tuple(target_fds)
        self.tap_side = Side(tap_name)
        self.target_side = Side(target_name)
        self.records: Counter[str] = Counter()
        self.progress: dict[str, Any] = {}
        self.summary: dict[str, Any] | None = None
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

    def _read_stderr(self, stream: IO[bytes], side: Side, *, target: bool) -> None:
        """Forward a child's log in compact form; the target's progress and summary records
        become the runner's progress line and the summary shown."""
        text_log = TextLog(verbose=self.verbose)
        for raw in stream:
            line = raw.decode("utf-8", errors="replace").rstrip()
            if not line:
                continue
            entry = parse_line(line)
            if entry is None:
                side.tail.append(line)
                for shown in text_log.feed(line):
                    self._forward(side, shown)
                continue
            for shown in text_log.flush():
                self._forward(side, shown)
            if target and entry.progress is not None:
                with self._lock:
                    self.progress = entry.progress
                continue
            summary = entry.summary if target else None
            if summary is not None:
                self._show_summary(side, summary)
                continue
            lines = entry_lines(entry, verbose=self.verbose)
            side.tail.append(f"{entry.level}: {lines[0]}")
            side.tail.extend(lines[1:])
            if entry.level in QUIET_LEVELS and not self.verbose:
                continue
            self._forward(side, lines[0], entry.level)
            for more in lines[1:]:
                self._forward(side, more)
        for shown in text_log.flush():
            self._forward(side, shown)

    def _show_summary(self, side: Side, summary: dict[str, Any]) -> None:
        """The last figures now; the summary lines are kept for :meth:`summary_lines`."""
        with self._lock:
            self.summary = summary
        self._show_progress()
        lines = summary.get("lines")
        for line in lines if isinstance(lines, list) else []:
            side.tail.append(str(line))
            side.forwarded += 1

    def summary_lines(self) -> list[str]:
        """The target's own summary lines, minus paths in the private directory (they are
        gone when the operator reads them)."""
        lines = (self.summary or {}).get("lines")
        return [str(line) for line in (lines if isinstance(lines, list) else [])
                if not (self.hide_text and self.hide_text in str(line))]

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
    def _start(self, command: list[str], env: Mapping[str, str], fds: Sequence[int],
               **kwargs: Any) -> subprocess.Popen[bytes]:
        # A session of their own: a Ctrl-C on the terminal reaches only the runner, which
        # forwards it, so the children stop in order and nothing is left behind. The
        # parent-death signal covers the one exit the runner cannot handle: SIGKILL.
        proc = subprocess.Popen(command, env=dict(env), stderr=subprocess.PIPE,
                                start_new_session=True, preexec_fn=die_with_parent(),
                                pass_fds=fds, **kwargs)
        self._procs.append(proc)
        return proc

    def kill_all(self) -> None:
        """SIGKILL every child still running, with its process group."""
        for proc in self._procs:
            if proc.poll() is None:
                with contextlib.suppress(OSError):
                    os.killpg(proc.pid, signal.SIGKILL)
                with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                    proc.wait(timeout=5)

    def run(self) -> Outcome:
        """Start both sides, watch them until both have exited, and say how it went; on any
        way out other than their ending, they are killed."""
        try:
            return self._run()
        finally:
            self.kill_all()

    def _run(self) -> Outcome:
        target = self._start(self.target_command, self.env, self.target_fds,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        tap = self._start(self.tap_command, self.tap_env, self.tap_fds,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
        assert tap.stderr is not None
        assert target.stderr is not None
        assert target.stdout is not None
        threads = [
            threading.Thread(target=self._pump, args=(tap, target), daemon=True),
            threading.Thread(target=self._read_stderr, args=(tap.stderr, self.tap_side),
                             kwargs={"target": False}, daemon=True),
            threading.Thread(target=self._read_stderr, args=(target.stderr, self.target_side),
                             kwargs={"target": True}, daemon=True),
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
                       dict(self.progress), self.summary, self.last_state, self.tap_stopped,
                       self.interrupted)

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
