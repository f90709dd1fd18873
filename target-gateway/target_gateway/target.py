"""``target-gateway``: the singer-sdk Target that writes the standard records into the Gateway.

The class wires the pieces together and owns the run's outcome:

- settings (:mod:`target_gateway.settings`): the schema plus checks the schema cannot make,
  run before any request; a bad shop guid or key stops the target with a clear message
  that never contains the key;
- one sink per contract stream (:mod:`target_gateway.sinks`), an ignoring sink for others;
- STATE: the SDK emits the tap's latest state after each full drain. It is withheld for the
  rest of the run once any write has failed (and in dry runs and template-only runs, which
  write nothing), so that the next run starts from the last good state and retries; the
  unchanged variants it re-reads cost no request (content hash);
- the end: the summary on stderr, ``report_file``, and the exit code (0 ok, 3 partial, 1
  failed).
"""

from __future__ import annotations

import sys
import typing as t
from types import FrameType

from singer_sdk import Target
from singer_sdk.exceptions import ConfigValidationError, RecordsWithoutSchemaException
from singer_sdk.helpers.capabilities import PluginCapabilities
from singer_sdk.io_base import SingerReader
from singer_sdk.plugin_base import _ConfigInput
from singer_sdk.singerlib.exceptions import InvalidInputLine
from singer_sdk.singerlib.json import deserialize_json

from target_gateway.report import RunReport, install_log_redaction, redact, write_report
from target_gateway.settings import CONFIG_SCHEMA, Settings, SettingsError
from target_gateway.sinks import CategoriesSink, IgnoredSink, ProductsSink, StockSink
from target_gateway.writer import GatewayWriter, RunStoppedError

if t.TYPE_CHECKING:
    from singer_sdk.sinks import Sink

SINKS: dict[str, type[Sink]] = {"categories": CategoriesSink, "products": ProductsSink,
                                "stock": StockSink}


class InputReader(SingerReader):
    """The SDK's reader, but a broken line is named by its number, without a traceback.

    The SDK logs the whole unparsable line with a traceback and then raises; a tap that died
    mid-line (or a hand-made file) deserves one clear sentence instead. Blank lines are
    skipped; a line that is JSON but not an object is refused like one that is not JSON.
    """

    line_number = 0

    def process_lines(self, file_input: t.IO[str] | None,
                      callbacks: dict[str, t.Callable[[dict], None]]) -> t.Counter[str]:
        """Count lines (for messages) and skip blank ones."""
        source = file_input or self.default_input

        def numbered() -> t.Iterator[str]:
            for number, line in enumerate(source, 1):
                self.line_number = number
                if line.strip():
                    yield line

        return super().process_lines(numbered(), callbacks)  # type: ignore[arg-type]

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
        super().__init__(config=config, parse_env_config=parse_env_config,
                         validate_config=validate_config, setup_mapper=setup_mapper,
                         message_reader=message_reader)
        self.max_parallelism = 1  # stock must follow products; the writer has its own pool
        self.settings = Settings.from_config(self.config)
        redact.add(self.settings.signing_key)
        install_log_redaction()
        self.report = RunReport(self.logger, report_file=self.settings.report_file)
        self._state_withheld = False
        self._interrupted = False
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
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """The schema, then the checks it cannot make; no message contains the key."""
        redact.add(str(self._config.get("signing_key") or ""))
        errors = super()._validate_config(raise_errors=False)
        if not errors:
            try:
                Settings.from_config(self._config)
            except SettingsError as exc:
                errors = str(exc).split("; ")
        errors = [redact(e) for e in errors]
        if errors and raise_errors:
            schema = self.config_jsonschema
            raise ConfigValidationError("Config validation failed", errors=errors, schema=schema)
        return errors

    # -- sinks and state ---------------------------------------------------------------------
    def get_sink_class(self, stream_name: str) -> type[Sink]:
        """The contract's sinks; any other stream is ignored with a warning."""
        return SINKS.get(stream_name, IgnoredSink)

    @property
    def state_blocked(self) -> bool:
        """True when STATE must not be emitted (see the module docstring)."""
        return self._interrupted or self.writer is None or self.writer.blocks_state

    def _write_state_message(self, state: dict) -> None:
        if self.state_blocked:
            if not self._state_withheld:
                self._state_withheld = True
                why = ("nothing is written in this mode" if self.settings.dry_run
                       or self.settings.template_only else "a write failed")
                self.logger.warning("STATE withheld for the rest of the run: %s; the next run "
                                    "starts from the previous state", why)
            return
        super()._write_state_message(state)

    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        """SIGINT/SIGTERM: stop at once, no further STATE, summary, exit 128 + signal.

        The SDK would drain every sink from inside the signal handler, i.e. possibly in the
        middle of a batch being written; records read but not yet written are simply left
        for the next run instead (it starts from the last STATE printed).
        """
        self._interrupted = True
        if self.writer is not None:  # queued image copies and product calls are not started
            self.writer.pool.shutdown(wait=False, cancel_futures=True)
        self.report.set_fatal(f"interrupted by signal {signum}; the next run resumes from "
                              "the last STATE printed")
        self.report.finish()
        sys.exit(128 + signum)

    # -- running -----------------------------------------------------------------------------
    def run(self, file_input: t.IO[str] | None = None) -> int:
        """Read the input, write, summarise; returns the exit code."""
        if self.writer is None:
            return self.report.finish()
        try:
            self.listen(file_input)
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

    @classmethod
    def invoke(cls, *, about: bool = False, about_format: str | None = None,
               config: _ConfigInput | None = None, file_input: t.IO[str] | None = None
               ) -> None:
        """The CLI: like the SDK's, plus the summary, report_file and exit code."""
        if about:
            cls.print_about(about_format)
            sys.exit(0)
        cls.print_version(print_fn=cls.logger.info)
        config = config or _ConfigInput()
        try:
            target = cls(config=config.config, validate_config=True,
                         parse_env_config=config.parse_env)
        except ConfigValidationError as exc:
            report_file = config.config.get("report_file")
            if report_file:
                failed = RunReport(cls.logger)
                failed.set_fatal("configuration: " + "; ".join(exc.errors or []))
                write_report(report_file, failed.to_json())
            raise
        sys.exit(target.run(file_input))
