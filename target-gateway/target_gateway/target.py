"""``target-gateway``: the singer-sdk Target that writes the standard records into the Gateway.

The class wires the pieces together and owns the run's outcome:

- settings (:mod:`target_gateway.settings`): the schema plus checks the schema cannot make,
  run before any request, every problem at once in plain words; a bad shop guid or key
  stops the target with a clear message that never contains the key;
- one sink per contract stream (:mod:`target_gateway.sinks`), an ignoring sink for others;
- STATE (:mod:`target_gateway.state`): printed once everything before it is written, and
  withheld for the rest of the run once any write has failed (and in dry runs and
  template-only runs, which write nothing), so that the next run starts from the last good
  state and retries; the unchanged variants it re-reads cost no request (content hash);
- the end: once every sink is drained, the archive of what the shop no longer sells
  (:mod:`target_gateway.archive`), then the summary on stderr, ``report_file``, and the exit
  code (0 ok, 3 partial, 1 failed);
- ``--preflight``: read-only checks against the configured Gateway instead of a run
  (:mod:`target_gateway.preflight`); nothing is read from stdin, nothing is written.

Only singer-sdk's public API is used; where it has no hook (config problems in plain words,
STATE gating, what a signal does), the place says so, and ``tests/test_sdk_contract.py``
pins the SDK behaviour relied on, so an SDK upgrade that changes it fails loudly.
"""

from __future__ import annotations

import copy
import json
import signal
import sys
import threading
import typing as t
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import click
from commerce_schema.redact import install_log_redaction, redact
from commerce_schema.settings import unknown_setting_problems
from singer_sdk import Target
from singer_sdk.exceptions import ConfigValidationError, RecordsWithoutSchemaException
from singer_sdk.helpers.capabilities import PluginCapabilities
from singer_sdk.io_base import SingerMessageType, SingerReader
from singer_sdk.singerlib.exceptions import InvalidInputLine
from singer_sdk.singerlib.json import deserialize_json

from target_gateway.preflight import preflight_main
from target_gateway.report import RunReport, write_report
from target_gateway.settings import CONFIG_SCHEMA, Settings, SettingsError, schema_problems
from target_gateway.sinks import CategoriesSink, IgnoredSink, ProductsSink, StockSink
from target_gateway.state import StateGate
from target_gateway.writer import GatewayWriter, RunStoppedError

if t.TYPE_CHECKING:
    from singer_sdk.sinks import Sink

SINKS: dict[str, type[Sink]] = {"categories": CategoriesSink, "products": ProductsSink,
                                "stock": StockSink}


class Interrupted(BaseException):
    """SIGINT/SIGTERM, raised in the main thread wherever it was (so every ``with lock:`` on
    the way out is released; the handler itself takes no lock). Not an Exception: no
    ``except Exception`` on the way may swallow it."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"interrupted by signal {signum}")
        self.signum = signum


class InputReader(SingerReader):
    """The SDK's reader, but a broken line is named by its number, without a traceback, and
    STATE messages go through the run's :class:`~target_gateway.state.StateGate`.

    The SDK logs the whole unparsable line with a traceback and then raises; a tap that died
    mid-line (or a hand-made file) deserves one clear sentence instead. Blank lines are
    skipped; a line that is JSON but not an object is refused like one that is not JSON.
    """

    line_number = 0
    gate: StateGate | None = None
    #: input line of the last ``stock`` RECORD and of the last STATE (the archive needs a
    #: STATE after the last stock record: the tap finished its stock sweep)
    last_stock_line = 0
    last_state_line = 0

    @property
    def stock_finished(self) -> bool:
        """A ``stock`` stream came, and a STATE followed its last record."""
        return 0 < self.last_stock_line < self.last_state_line

    def process_lines(self, file_input: t.IO[str] | None,
                      callbacks: dict[str, t.Callable[[dict], None]]) -> t.Counter[str]:
        """Count lines (for messages), skip blank ones, route STATE through the gate."""
        source = file_input or self.default_input

        def numbered() -> t.Iterator[str]:
            for number, line in enumerate(source, 1):
                self.line_number = number
                if line.strip():
                    yield line

        if self.gate is not None:
            callbacks = self.gate.wrap(callbacks)
        callbacks = self._track(callbacks)
        return super().process_lines(numbered(), callbacks)  # type: ignore[arg-type]

    def _track(self, callbacks: dict[str, t.Callable[[dict], None]]
               ) -> dict[str, t.Callable[[dict], None]]:
        """Note where the last stock RECORD and the last STATE were (see above)."""
        on_record = callbacks[SingerMessageType.RECORD]
        on_state = callbacks[SingerMessageType.STATE]

        def record(message: dict) -> None:
            if message.get("stream") == "stock":
                self.last_stock_line = self.line_number
            on_record(message)

        def state(message: dict) -> None:
            on_state(message)
            self.last_state_line = self.line_number

        return {**callbacks, SingerMessageType.RECORD: record, SingerMessageType.STATE: state}

    def deserialize_json(self, line: str) -> dict:
        """One message, or InvalidInputLine naming the line (and its start, clipped)."""
        try:
            message = deserialize_json(line)
        except ValueError as exc:
            raise InvalidInputLine(f"input line {self.line_number} is not valid JSON "
                                   f"({getattr(exc, 'msg', exc)}): {_clip(line)}") from None
        if not isinstance(message, dict):
            raise InvalidInputLine(f"input line {self.line_number} is not a Singer message "
                                   f"(a JSON object with a type): {_clip(line)}")
        return message


def _clip(line: str, limit: int = 120) -> str:
    line = line.strip()
    return line if len(line) <= limit else line[:limit] + f"... ({len(line)} characters)"


@dataclass
class ConfigFiles:
    """What ``--config`` named: the merged settings, ENV, and files that could not be read."""

    config: dict[str, t.Any] = field(default_factory=dict)
    parse_env: bool = False
    problems: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, paths: t.Iterable[str]) -> ConfigFiles:
        """Merge the JSON files in order (later ones win); ``ENV`` reads the environment.

        A missing or broken file is one plain sentence (no traceback); the content is never
        echoed, as it holds the signing key.
        """
        files = cls()
        for path in paths:
            if path == "ENV":
                files.parse_env = True
                continue
            try:
                document = json.loads(Path(path).read_text(encoding="utf-8"))
            except OSError as exc:
                files.problems.append(f"config file {path} cannot be read "
                                      f"({exc.strerror or type(exc).__name__})")
                continue
            except ValueError as exc:
                where = (f" (line {exc.lineno}, column {exc.colno})"
                         if isinstance(exc, json.JSONDecodeError) else "")
                files.problems.append(f"config file {path} is not valid JSON{where}")
                continue
            if not isinstance(document, dict):
                files.problems.append(f"config file {path} must hold a JSON object")
                continue
            files.config.update(document)
        return files


class TargetGateway(Target):
    """Writes ``categories``, ``products`` and ``stock`` records to one Gateway shop."""

    name = "target-gateway"
    config_jsonschema = CONFIG_SCHEMA
    # No VALIDATE_RECORDS: the record contract is always checked (see sinks.py).
    capabilities: t.ClassVar[list[t.Any]] = [
        PluginCapabilities.ABOUT,
        PluginCapabilities.STREAM_MAPS,
        PluginCapabilities.STRUCTURED_LOGGING,
    ]
    default_sink_class = ProductsSink
    message_reader_class = InputReader

    def __init__(self, *, config: dict | None = None, parse_env_config: bool = False,
                 validate_config: bool = True, setup_mapper: bool = True,
                 message_reader: t.Any = None) -> None:
        redact.add(str((config or {}).get("signing_key") or ""))
        # The SDK's own check only says "Config validation failed" and cannot be extended
        # without overriding a private method; it runs here in warn-only mode, and
        # check_config() below lists every problem in plain words instead.
        super().__init__(config=config, parse_env_config=parse_env_config,
                         validate_config=False, setup_mapper=setup_mapper,
                         message_reader=message_reader)
        redact.add(str(self.config.get("signing_key") or ""))  # from the environment
        if validate_config:
            problems = self.check_config()
            if problems:
                raise ConfigValidationError("Config validation failed", errors=problems,
                                            schema=self.config_jsonschema)
        install_log_redaction()
        self.max_parallelism = 1  # stock must follow products; the writer has its own pool
        self.settings = Settings.from_config(self.config)
        self.report = RunReport(self.logger, report_file=self.settings.report_file,
                                dry_run=self.settings.dry_run)
        self.unwritten = 0  # valid records read but not yet written (the sinks count)
        self._interrupted = False
        self.gate = StateGate(blocked=lambda: self.state_blocked,
                              settled=self._settled,
                              on_withheld=self._log_withheld)
        if isinstance(self.message_reader, InputReader):
            self.message_reader.gate = self.gate
        self._handle_signals()
        if len(self.settings.key_bytes) < 32:
            self.logger.warning("the signing key is %d bytes long; HS256 keys should have at "
                                "least 32", len(self.settings.key_bytes))
        self.writer: GatewayWriter | None
        try:
            self.writer = GatewayWriter(self.settings, self.report, self.logger)
        except RunStoppedError as exc:
            self.report.set_fatal(str(exc))
            self.writer = None

    # -- configuration -----------------------------------------------------------------------
    @classmethod
    def known_settings(cls) -> set[str]:
        """Every setting name the target accepts: its schema's and singer-sdk's built-in
        ones (``stream_maps``, ``batch_size_rows``, ``load_method``... as the SDK's public
        ``append_builtin_config`` adds them). A name starting with ``_`` (what Meltano and
        other tools add for themselves) is never checked."""
        schema = copy.deepcopy(cls.config_jsonschema)
        cls.append_builtin_config(schema)
        return set(schema.get("properties", {}))

    def check_config(self) -> list[str]:
        """Every configuration problem, in plain words, none containing the key: unknown
        names first (a ``dryrun`` typo once wrote for real: "dryrun: unknown setting; did
        you mean dry_run?"), the schema's, then the checks it cannot make (for settings the
        schema found no fault with)."""
        problems = unknown_setting_problems(list(self.config), self.known_settings())
        problems += schema_problems(self.config, self.config_jsonschema)
        try:
            Settings.from_config(self.config)
        except SettingsError as exc:
            named = {p.split(" ", 1)[0] for p in problems}
            problems += [p for p in exc.problems if p.split(" ", 1)[0] not in named]
        return [redact(p) for p in problems]

    # -- sinks and state ---------------------------------------------------------------------
    def get_sink_class(self, stream_name: str) -> type[Sink]:
        """The contract's sinks; any other stream is ignored with a warning."""
        return SINKS.get(stream_name, IgnoredSink)

    @property
    def state_blocked(self) -> bool:
        """True when STATE must not be printed (see the module docstring)."""
        return self._interrupted or self.writer is None or self.writer.blocks_state

    def _settled(self) -> bool:
        """Every record read so far is in the Gateway, and the Gateway has been reached."""
        return self.unwritten == 0 and self.writer is not None and self.writer.ready

    def _log_withheld(self) -> None:
        why = ("nothing is written in this mode" if self.settings.dry_run
               or self.settings.template_only else "a write failed")
        self.logger.warning("STATE withheld for the rest of the run: %s; the next run starts "
                            "from the previous state", why)

    def process_endofpipe(self) -> None:
        """Drain every sink (the SDK), archive what the shop no longer sells, then print
        the last STATE if it may be printed. Reached only when the input ended cleanly (a
        broken line or a signal raises before it), which the archive relies on."""
        super().process_endofpipe()
        if self.writer is not None and not self._interrupted:
            reader = self.message_reader
            finished = isinstance(reader, InputReader) and reader.stock_finished
            self.writer.archive_missing(stock_finished=finished)
        self.gate.flush()

    def _handle_signals(self) -> None:
        """SIGINT/SIGTERM stop at once: no further STATE, the summary, exit 128 + signal.

        The SDK's handler would drain every sink from inside the signal handler, i.e.
        possibly in the middle of a batch being written; records read but not yet written
        are simply left for the next run instead (it starts from the last STATE printed).
        The SDK has no public hook for what a signal does, so ours replaces the handlers it
        installed (main thread only, as signal handlers must be).
        """
        if threading.current_thread() is threading.main_thread():
            for number in (signal.SIGINT, signal.SIGTERM):
                signal.signal(number, self.terminate)

    def terminate(self, signum: int, frame: FrameType | None) -> None:
        """The signal handler (see :meth:`_handle_signals`): no STATE from now on, and
        :class:`Interrupted` unwinds the main thread to :meth:`run`, which reports."""
        self._interrupted = True
        raise Interrupted(signum)

    def _interrupted_exit(self, signum: int) -> int:
        if self.writer is not None:  # queued image copies and product calls are not started
            self.writer.pool.shutdown(wait=False, cancel_futures=True)
        self.report.set_fatal(f"interrupted by signal {signum}; the next run resumes from "
                              "the last STATE printed")
        self.report.finish()
        return 128 + signum

    # -- running -----------------------------------------------------------------------------
    def run(self, file_input: t.IO[str] | None = None) -> int:
        """Read the input, write, summarise; returns the exit code."""
        if self.writer is None:
            return self.report.finish()
        try:
            self.listen(file_input)
        except Interrupted as stop:
            return self._interrupted_exit(stop.signum)
        except RunStoppedError as exc:
            self.logger.error("stopped: %s", exc)
        except (InvalidInputLine, RecordsWithoutSchemaException) as exc:
            # the tap's output is broken: nothing after this line can be trusted, and no
            # STATE is printed; what a user needs is the line, not a traceback
            line = getattr(self.message_reader, "line_number", 0)
            message = str(exc) if str(exc).startswith("input line") else \
                f"input line {line}: {exc}"
            self.report.set_fatal(f"invalid Singer input: {message}")
            self.logger.error("stopped: invalid Singer input: %s", redact(message))
        except Exception as exc:
            self.report.set_fatal(f"{type(exc).__name__}: {exc}")
            self._finish()
            raise
        return self._finish()

    def _finish(self) -> int:
        if self.writer is not None:
            try:
                self.writer.finish()
            except (OSError, RunStoppedError) as exc:
                self.report.notes.append(f"could not finish: {exc}")
        return self.report.finish()

    # -- the command line --------------------------------------------------------------------
    @classmethod
    def get_singer_command(cls) -> click.Command:
        """The SDK's command, with ``--config`` read by :meth:`ConfigFiles.read` (a broken
        file is one plain sentence; the SDK's reader is private and raises a traceback)."""
        command = super().get_singer_command()
        for param in command.params:
            if param.name == "config":
                param.callback = lambda ctx, param, value: ConfigFiles.read(value)
        command.params.append(click.Option(
            ["--preflight"], is_flag=True, default=False,
            help="Read-only checks against the configured Gateway (token, shop, categories, "
                 "product query and paging, tag and upload routes) instead of a run; reads "
                 "no input, writes nothing; exit 0 when every check passes, else 1."))
        return command

    @classmethod
    def invoke(cls, *, about: bool = False, about_format: str | None = None,
               **kwargs: t.Any) -> None:
        """The CLI: like the SDK's, plus config problems in plain words, the summary,
        report_file and the exit code."""
        if about:
            cls.print_about(about_format)
            sys.exit(0)
        files = kwargs.get("config")
        if not isinstance(files, ConfigFiles):
            files = ConfigFiles()
        if kwargs.get("preflight"):
            if files.problems:
                sys.stderr.write("".join(f"{p}\n" for p in files.problems))
                sys.exit(1)
            sys.exit(preflight_main(files.config, cls.known_settings()))
        cls.print_version(print_fn=cls.logger.info)
        try:
            if files.problems:
                raise ConfigValidationError("Config validation failed", errors=files.problems)
            target = cls(config=files.config, validate_config=True,
                         parse_env_config=files.parse_env)
        except ConfigValidationError as exc:
            report_file = files.config.get("report_file")
            if report_file:
                failed = RunReport(cls.logger)
                failed.set_fatal("configuration: " + "; ".join(exc.errors or []))
                write_report(report_file, failed.to_json())
            raise
        try:
            code = target.run(kwargs.get("file_input"))
        except Interrupted as stop:  # a signal while finishing: the summary is being written
            code = 128 + stop.signum
        sys.exit(code)
