"""The run report: progress lines, summary, report JSON, exit codes, redaction."""

from __future__ import annotations

import io
import json
import logging

from target_gateway.categories import SourceCategory
from target_gateway.report import RunReport, install_log_redaction, redact


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_progress_lines_are_throttled_to_one_per_two_seconds(caplog):
    caplog.set_level(logging.INFO)
    clock = Clock()
    report = RunReport(logging.getLogger("t"), clock=clock)
    for _ in range(5):
        report.record_read()
    clock.now = 2.5
    report.record_read()
    report.count("created", 3)
    report.progress(force=True)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("progress ")]
    assert len(lines) == 2
    assert json.loads(lines[-1].removeprefix("progress ")) == {
        "records": 6, "created": 3, "updated": 0, "unchanged": 0, "skipped": 0, "failed": 0,
        "images": 0}


def test_report_json_summary_and_exit_codes(tmp_path):
    path = tmp_path / "r" / "report.json"
    report = RunReport(logging.getLogger("t"), report_file=str(path))
    assert (report.status, report.exit_code) == ("ok", 0)
    report.count("created", 4)
    report.image("copied")
    for i in range(5):
        report.skip(f"p{i}", "in a skipped category")
    assert report.status == "ok"  # skipping on purpose is not a problem
    report.skip("products:9", "breaks the record contract: name: required", invalid=True)
    assert (report.status, report.exit_code) == ("partial", 3)
    report.fail("7/70", "create failed: 400")
    report.add_unmapped([SourceCategory("12", "Sukienki", "Odzież>Sukienki")])
    report.mapping_template = "/tmp/map.csv"
    out = io.StringIO()
    assert report.finish(out) == 3
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document == {
        "status": "partial", "dry_run": False,
        "counts": {"created": 4, "updated": 0, "unchanged": 0, "skipped": 6, "failed": 1},
        "images": {"copied": 1, "uploaded": 0, "reused": 0, "hotlinked": 0},
        "stock": {"updated": 0, "unchanged": 0, "skipped": 0},
        "archive": {"archived": 0, "restored": 0, "not_done": None},
        "currency_rates": {},
        "skipped": [{"id": f"p{i}", "reason": "in a skipped category"} for i in range(5)]
        + [{"id": "products:9", "reason": "breaks the record contract: name: required"}],
        "failed": [{"id": "7/70", "reason": "create failed: 400"}],
        "unmapped_categories": [{"id": "12", "name": "Sukienki", "path": "Odzież>Sukienki"}],
        "mapping_template": "/tmp/map.csv"}
    summary = out.getvalue()
    assert "created 4, updated 0, unchanged 0, skipped 6, failed 1" in summary
    assert "p3: in a skipped category" in summary  # the last three skipped...
    assert "p2: in a skipped category" not in summary  # ...only
    assert "7/70: create failed: 400" in summary
    report.set_fatal("stopped")
    assert (report.status, report.exit_code) == ("failed", 1)


def test_secrets_are_redacted_from_reports_and_log_lines(tmp_path, caplog):
    redact.add("c2VjcmV0LWtleS1mb3ItcmVkYWN0aW9u")
    report = RunReport(logging.getLogger("t"), report_file=str(tmp_path / "r.json"))
    report.fail("1", "the API echoed c2VjcmV0LWtleS1mb3ItcmVkYWN0aW9u back")
    report.finish(io.StringIO())
    assert "c2VjcmV0LWtleS1mb3ItcmVkYWN0aW9u" not in (tmp_path / "r.json").read_text()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logging.getLogger().addHandler(handler)
    try:
        install_log_redaction()
        logging.getLogger("t").error("oops %s", "c2VjcmV0LWtleS1mb3ItcmVkYWN0aW9u")
    finally:
        logging.getLogger().removeHandler(handler)
    assert stream.getvalue() == "oops ***\n"
