"""Reading a child's stderr: singer-sdk's own structured records become readable lines; anything
else stays text. Records are made by singer-sdk's real StructuredFormatter, not by hand."""

from __future__ import annotations

import logging
import sys

import pytest
from gateway_sync.child_logs import (
    TRACEBACK_HINT,
    TextLog,
    entry_lines,
    parse_line,
    supports_structured_logging,
)
from singer_sdk.logging import StructuredFormatter


def structured(message: str, *args: object, level: int = logging.INFO, exc: bool = False,
               **extra: object) -> str:
    """One line as singer-sdk writes it under SINGER_SDK_LOG_CONFIG."""
    record = logging.LogRecord("tap-x", level, __file__, 1, message, args,
                               sys.exc_info() if exc else None)
    record.__dict__.update(extra)
    return StructuredFormatter().format(record)


def test_a_record_is_read_as_data_with_its_level_and_extras():
    entry = parse_line(structured("progress %s", "{...}", progress={"records": 3, "x": "y"}))

    assert entry is not None
    assert entry.level == "INFO"
    assert entry.message == "progress {...}"
    assert entry.progress == {"records": 3}  # only the integer figures
    assert entry.summary is None


@pytest.mark.parametrize("line", [
    "2025-01-02 10:00:00,000 | INFO     | tap-x | hello",
    '{"not": "a log record"}',
    "{broken json",
    "[1, 2]",
])
def test_anything_else_is_text(line):
    assert parse_line(line) is None


def test_a_summary_needs_a_status():
    assert parse_line(structured("run summary:", summary={"lines": []})).summary is None
    entry = parse_line(structured("run summary:", summary={"status": "ok", "lines": ["a"]}))
    assert entry.summary == {"status": "ok", "lines": ["a"]}


def test_a_logged_exception_is_one_line_or_the_whole_chain():
    try:
        try:
            raise KeyError("inner")
        except KeyError as exc:
            raise RuntimeError("outer") from exc
    except RuntimeError:
        entry = parse_line(structured("stopped", level=logging.ERROR, exc=True))

    assert entry_lines(entry, verbose=False) == [
        f"stopped (RuntimeError: outer){TRACEBACK_HINT}"]
    verbose = entry_lines(entry, verbose=True)
    assert verbose[0] == "stopped"
    assert verbose.index("KeyError: 'inner'") \
        < verbose.index("The above exception was the direct cause of the following exception:") \
        < verbose.index("RuntimeError: outer")
    assert verbose.count("Traceback (most recent call last):") == 2


def test_a_traceback_in_text_shrinks_to_the_exception_unless_verbose():
    text = ["starting", "Traceback (most recent call last):", '  File "x.py", line 1, in <m>',
            "    boom()", "ValueError: boom", "after"]
    quiet, verbose = TextLog(verbose=False), TextLog(verbose=True)

    assert [out for line in text for out in quiet.feed(line)] + quiet.flush() == [
        "starting", f"ValueError: boom{TRACEBACK_HINT}", "after"]
    assert [out for line in text for out in verbose.feed(line)] + verbose.flush() == text


def test_only_taps_declaring_structured_logging_get_it():
    assert supports_structured_logging({"capabilities": ["about", "structured-logging"]})
    assert not supports_structured_logging({"capabilities": ["about"]})
    assert not supports_structured_logging({})
