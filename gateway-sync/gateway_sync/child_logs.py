"""How gateway-sync reads its children's stderr: singer-sdk structured log lines, as data.

gateway-sync knows its children only by their command line, their stdout (Singer STATE) and
their stderr. To read progress and outcomes without parsing human text, it asks both sides for
singer-sdk's structured logging: it writes :data:`LOG_CONFIG` (a ``logging.config.dictConfig``
whose formatter is ``singer_sdk.logging.StructuredFormatter``) into its private directory and
names it in ``SINGER_SDK_LOG_CONFIG``, which singer-sdk loads when its CLI starts. The tap gets
it only when its ``--about`` lists the ``structured-logging`` capability (an older or
non-singer-sdk tap could not load the formatter); target-gateway always.

The contract (target-gateway's ``report.py`` documents the same from the writer's side):

- every log record is one line holding one JSON object: ``level`` (``info``, ``warning``...),
  ``logger_name``, ``message``, ``extra`` (the record's extra fields), and ``exception``
  (type, message, traceback frames, cause/context) when one was logged, ``metric_info`` for
  singer-sdk's METRIC records;
- progress: an INFO record with ``extra.progress`` = ``{"records", "created", "updated",
  "unchanged", "skipped", "failed", "images"}`` (integers), at most every 2 seconds;
- outcome: one record at the end with ``extra.summary`` = ``{"status": "ok"|"partial"|
  "failed", "records", "counts", "images", "stock", "error", "report_file", "lines"}``;
  ``lines`` is the target's human summary, one string per line, shown to the operator as it
  is. Only records from the target are read this way; the tap's are logs.

A line that is not such an object (a child that crashed before its logging was set up, a
Python traceback printed by the interpreter, a tap without structured logging) is text and is
forwarded as text; :class:`TextLog` shrinks a traceback in it to its last exception.
Nothing here ever prints JSON: what the operator sees is built by :func:`entry_lines`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: the env var singer-sdk reads its logging configuration file from
LOG_CONFIG_ENV = "SINGER_SDK_LOG_CONFIG"
#: the capability a tap's --about lists when it supports structured logging
STRUCTURED_CAPABILITY = "structured-logging"
#: one JSON object per line on stderr; the root level is left alone so LOGLEVEL still works
LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"structured": {"()": "singer_sdk.logging.StructuredFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "structured",
                            "stream": "ext://sys.stderr"}},
    "root": {"handlers": ["stderr"]},
}
TRACEBACK_HINT = " (gateway-sync -v shows the traceback)"
_TRACEBACK = "Traceback (most recent call last):"
_CAUSE = "The above exception was the direct cause of the following exception:"
_CONTEXT = "During handling of the above exception, another exception occurred:"
_CHAINED = {_CAUSE, _CONTEXT}
_CHAIN_LIMIT = 20


def write_log_config(directory: Path) -> Path:
    """Write :data:`LOG_CONFIG` into ``directory`` (JSON, which singer-sdk's YAML loader
    reads too) and return its path."""
    path = directory / "logging.json"
    path.write_text(json.dumps(LOG_CONFIG, indent=1), encoding="utf-8")
    return path


def supports_structured_logging(about: Mapping[str, Any]) -> bool:
    """Whether a plugin's ``--about`` lists the ``structured-logging`` capability."""
    capabilities = about.get("capabilities")
    return isinstance(capabilities, list) and STRUCTURED_CAPABILITY in capabilities


@dataclass
class LogEntry:
    """One structured log record of a child."""

    level: str  # upper case, as people know them: INFO, WARNING, ERROR...
    message: str
    extra: dict[str, Any] = field(default_factory=dict)
    exception: dict[str, Any] | None = None
    metric: dict[str, Any] | None = None

    @property
    def progress(self) -> dict[str, int] | None:
        """The target's progress figures, if this is a progress record."""
        value = self.extra.get("progress")
        if not isinstance(value, dict):
            return None
        return {str(k): v for k, v in value.items() if isinstance(v, int)}

    @property
    def summary(self) -> dict[str, Any] | None:
        """The target's outcome, if this is its summary record."""
        value = self.extra.get("summary")
        if isinstance(value, dict) and isinstance(value.get("status"), str):
            return value
        return None


def parse_line(line: str) -> LogEntry | None:
    """The structured record on ``line``, or None when the line is text."""
    if not line.startswith("{"):
        return None
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    level, message = data.get("level"), data.get("message")
    if not isinstance(level, str) or message is None:
        return None
    extra = data.get("extra")
    exception = data.get("exception")
    metric = data.get("metric_info")
    return LogEntry(level=level.upper(), message=str(message),
                    extra=extra if isinstance(extra, dict) else {},
                    exception=exception if isinstance(exception, dict) else None,
                    metric=metric if isinstance(metric, dict) else None)


def _exception_chain(exception: Mapping[str, Any]) -> list[tuple[Mapping[str, Any], str]]:
    """Innermost first, as Python prints them: (exception, the line printed before it)."""
    outer_first: list[Mapping[str, Any]] = []
    links: list[str] = []  # links[i]: how outer_first[i] came from outer_first[i + 1]
    current: Any = exception
    while isinstance(current, Mapping) and len(outer_first) < _CHAIN_LIMIT:
        outer_first.append(current)
        if isinstance(current.get("cause"), Mapping):
            current = current["cause"]
            links.append(_CAUSE)
        elif isinstance(current.get("context"), Mapping):
            current = current["context"]
            links.append(_CONTEXT)
        else:
            current = None
    links = links[:len(outer_first) - 1]
    inner_first = list(reversed(outer_first))
    befores = ["", *reversed(links)]
    return list(zip(inner_first, befores, strict=True))


def _exception_line(exception: Mapping[str, Any]) -> str:
    text = str(exception.get("message") or "")
    name = str(exception.get("type") or "Exception")
    return f"{name}: {text}" if text else name


def entry_lines(entry: LogEntry, *, verbose: bool) -> list[str]:
    """What the operator sees of a record: its message (a METRIC with its figures), and of
    an exception its last line, or with ``verbose`` the whole traceback."""
    message = entry.message
    if entry.metric is not None:
        message = f"{message}: {json.dumps(entry.metric, ensure_ascii=False)}"
    lines = message.split("\n")
    if entry.exception is None:
        return lines
    if not verbose:
        lines[-1] += f" ({_exception_line(entry.exception)}){TRACEBACK_HINT}"
        return lines
    for exception, before in _exception_chain(entry.exception):
        if before:
            lines += ["", before, ""]
        lines.append(_TRACEBACK)
        for frame in exception.get("traceback") or []:
            if isinstance(frame, Mapping):
                lines.append(f'  File "{frame.get("filename")}", line {frame.get("lineno")}, '
                             f'in {frame.get("function")}')
                if str(frame.get("line") or "").strip():
                    lines.append(f"    {str(frame['line']).strip()}")
        lines.append(_exception_line(exception))
    return lines


class TextLog:
    """Text lines of a child's stderr: forwarded as they are, except that without
    ``verbose`` a Python traceback shrinks to its last line (the exception), and a chain of
    them to the last exception."""

    def __init__(self, *, verbose: bool) -> None:
        self.verbose = verbose
        self._in_traceback = False
        self._pending: str | None = None  # an exception line; dropped if a chained one follows

    def feed(self, line: str) -> list[str]:
        """The lines to show for ``line`` (none while inside a traceback)."""
        if self.verbose:
            return [line]
        if line.startswith(_TRACEBACK):
            self._in_traceback, self._pending = True, None
            return []
        if line in _CHAINED:
            self._pending = None
            return []
        if self._in_traceback:
            if not line[:1].isspace():
                self._in_traceback, self._pending = False, line
            return []
        return [*self.flush(), line]

    def flush(self) -> list[str]:
        """The exception line still held back, if any (at the end of the stream)."""
        if self._pending is None:
            return []
        pending, self._pending = self._pending, None
        return [pending + TRACEBACK_HINT]
