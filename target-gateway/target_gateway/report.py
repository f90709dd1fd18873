"""What a run did, told three ways: progress log records, a summary log record, the report JSON.

The gateway-sync runner reads the first two from the target's stderr, so their shapes are an
interface. The contract (gateway-sync's ``gateway_sync.child_logs`` documents the same from
the reader's side):

- Under singer-sdk's structured logging (``SINGER_SDK_LOG_CONFIG`` naming a dictConfig whose
  formatter is ``singer_sdk.logging.StructuredFormatter``; gateway-sync sets it), every log
  record is one JSON object per stderr line with ``level``, ``logger_name``, ``message`` and
  the record's ``extra`` fields. Without it the same records are ordinary console lines.
- Progress: at most every 2 seconds and after each batch, an INFO record whose message is
  ``progress {json}`` (for people reading the console) and whose ``extra`` holds
  ``{"progress": {"records", "created", "updated", "unchanged", "skipped", "failed",
  "images"}}`` (integers; images = copied + uploaded + reused + hotlinked).
- Outcome: exactly one record at the end (INFO when ok, WARNING when partial, ERROR when
  failed) whose message is ``run summary:`` followed by the human summary, and whose
  ``extra`` holds ``{"summary": {"status": "ok"|"partial"|"failed", "records", "counts",
  "images", "stock", "archive", "dry_run", "error" (null unless the run stopped),
  "report_file", "lines"}}``;
  ``lines`` is the human summary, one string per line, first
  ``target-gateway: <status> - <n> records read``.
- With ``report_file`` the same as JSON: ``{"status", "dry_run", "counts", "images",
  "stock", "archive", "currency_rates", "skipped", "failed", "unmapped_categories",
  "mapping_template"}``.

Counts are Gateway products (one per source variant); a record rejected by the contract
counts once. ``stock`` records are counted apart (updated / unchanged / skipped), never as
skipped products. In a dry run the counts are what WOULD be written: ``"dry_run": true`` in
both documents, and the summary says "would create". ``archive`` holds what the end-of-run
archive did (archived, restored) and, when it did not run, why. The skipped/failed lists
keep the first 1000 entries so memory stays flat; the summary shows the last three.
Everything written here passes through :data:`commerce_schema.redact.redact`, so a secret
that slipped into an error message still never reaches a log, file or report.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

from commerce_schema.redact import install_log_redaction as install_log_redaction
from commerce_schema.redact import redact

COUNT_KEYS = ("created", "updated", "unchanged", "skipped", "failed")
#: outcomes of ``stock`` records, kept apart so that product counts stay one per variant
STOCK_KEYS = ("updated", "unchanged", "skipped")
ARCHIVE_KEYS = ("archived", "restored")
IMAGE_KEYS = ("copied", "uploaded", "reused", "hotlinked")
LIST_LIMIT = 1000
PROGRESS_INTERVAL = 2.0
EXIT_OK, EXIT_FAILED, EXIT_PARTIAL = 0, 1, 3


class RunReport:
    """Thread-safe counters of one run, progress lines, summary and report JSON."""

    def __init__(self, logger: logging.Logger, *, report_file: str | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 interval: float = PROGRESS_INTERVAL, dry_run: bool = False) -> None:
        self.logger = logger
        self.report_file = report_file
        self.dry_run = dry_run
        self._clock = clock
        self._interval = interval
        self._lock = threading.Lock()
        self.records = 0
        self.counts = dict.fromkeys(COUNT_KEYS, 0)
        self.images = dict.fromkeys(IMAGE_KEYS, 0)
        self.stock = dict.fromkeys(STOCK_KEYS, 0)
        self.archive = dict.fromkeys(ARCHIVE_KEYS, 0)
        #: why the end-of-run archive did not run (None: it ran, or was not due)
        self.archive_skipped: str | None = None
        #: currency -> {"rate", "products"}: the fixed rates used to convert to PLN
        self.currency_rates: dict[str, dict[str, Any]] = {}
        #: reasons a run is partial although no write failed (e.g. an archive held back)
        self.incomplete: list[str] = []
        self.skipped: deque[dict[str, str]] = deque(maxlen=LIST_LIMIT)
        self.failed: deque[dict[str, str]] = deque(maxlen=LIST_LIMIT)
        self._last_skipped: deque[dict[str, str]] = deque(maxlen=3)
        self._last_failed: deque[dict[str, str]] = deque(maxlen=3)
        self.invalid = 0
        self.unmapped: dict[str, dict[str, str]] = {}
        self.mapping_template: str | None = None
        self.fatal: str | None = None
        self.notes: list[str] = []
        self._last_progress = clock()
        self._last_snapshot: dict[str, int] = {}

    # -- counting ----------------------------------------------------------------------------
    def record_read(self) -> None:
        """One more record read from the input."""
        with self._lock:
            self.records += 1
        self.progress()

    def count(self, kind: str, n: int = 1) -> None:
        """``n`` Gateway products created / updated / unchanged."""
        with self._lock:
            self.counts[kind] += n

    def count_stock(self, kind: str) -> None:
        """One ``stock`` record whose level was updated / already right in the Gateway."""
        with self._lock:
            self.stock[kind] += 1

    def skip_stock(self, record_id: str, reason: str) -> None:
        """A ``stock`` record not applied: listed with the skipped (as ``stock:<id>``) but
        counted under ``stock``, since it is not a product."""
        entry = {"id": f"stock:{record_id}", "reason": redact(reason)}
        with self._lock:
            self.stock["skipped"] += 1
            self.skipped.append(entry)
            self._last_skipped.append(entry)

    def count_archive(self, kind: str, n: int = 1) -> None:
        """Gateway products archived (no longer in the shop) / restored (back again)."""
        with self._lock:
            self.archive[kind] += n

    def used_rate(self, currency: str, rate: Any) -> None:
        """One product converted to PLN at a fixed ``currency_rates`` rate."""
        with self._lock:
            used = self.currency_rates.setdefault(currency, {"rate": str(rate),
                                                             "products": 0})
            used["products"] += 1

    def hold_back(self, reason: str) -> None:
        """Something the run was due to do and did not (the run ends partial, not ok)."""
        with self._lock:
            self.incomplete.append(redact(reason))

    def skip(self, record_id: str, reason: str, *, n: int = 1, invalid: bool = False) -> None:
        """Not imported on purpose (settings), or rejected by the contract (``invalid``)."""
        entry = {"id": str(record_id), "reason": redact(reason)}
        with self._lock:
            self.counts["skipped"] += n
            self.invalid += 1 if invalid else 0
            self.skipped.append(entry)
            self._last_skipped.append(entry)

    def fail(self, record_id: str, reason: str, *, n: int = 1) -> None:
        """A write the Gateway did not accept, or that could not be attempted."""
        entry = {"id": str(record_id), "reason": redact(reason)}
        with self._lock:
            self.counts["failed"] += n
            self.failed.append(entry)
            self._last_failed.append(entry)
        self.logger.warning("failed %s: %s", entry["id"], entry["reason"])

    def image(self, kind: str) -> None:
        """One distinct image copied / uploaded / reused / hotlinked."""
        with self._lock:
            self.images[kind] += 1

    def add_unmapped(self, categories: Iterable[Any]) -> None:
        """Source categories still to be mapped (objects with id, name, path)."""
        with self._lock:
            for c in categories:
                self.unmapped.setdefault(c.id, {"id": c.id, "name": c.name, "path": c.path})

    def set_fatal(self, message: str) -> None:
        """The run stopped early (configuration, mapping, authentication...)."""
        self.fatal = redact(message)

    # -- outcome -----------------------------------------------------------------------------
    @property
    def status(self) -> str:
        """failed (the run stopped), partial (some records failed or broke the contract), ok."""
        if self.fatal:
            return "failed"
        if self.counts["failed"] or self.invalid or self.incomplete:
            return "partial"
        return "ok"

    @property
    def exit_code(self) -> int:
        """0 ok, 1 failed, 3 partial."""
        return {"ok": EXIT_OK, "failed": EXIT_FAILED, "partial": EXIT_PARTIAL}[self.status]

    def progress(self, *, force: bool = False) -> None:
        """Log ``progress {json}`` if forced or 2 seconds have passed since the last one
        (never the same figures twice in a row)."""
        now = self._clock()
        with self._lock:
            if not force and now - self._last_progress < self._interval:
                return
            snapshot = {"records": self.records, **self.counts,
                        "images": sum(self.images.values())}
            if snapshot == self._last_snapshot:
                return
            self._last_progress, self._last_snapshot = now, snapshot
        self.logger.info("progress %s", json.dumps(snapshot, sort_keys=False),
                         extra={"progress": snapshot})

    def to_json(self) -> dict[str, Any]:
        """The report_file document."""
        with self._lock:
            return {
                "status": self.status,
                "dry_run": self.dry_run,
                "counts": dict(self.counts),
                "images": dict(self.images),
                "stock": dict(self.stock),
                "archive": self._archive_json(),
                "currency_rates": {k: dict(v) for k, v in self.currency_rates.items()},
                "skipped": list(self.skipped),
                "failed": list(self.failed),
                "unmapped_categories": sorted(self.unmapped.values(),
                                              key=lambda c: (c["path"], c["id"])),
                "mapping_template": self.mapping_template,
                **({"error": self.fatal} if self.fatal else {}),
            }

    def _archive_json(self) -> dict[str, Any]:
        return {**self.archive, "not_done": self.archive_skipped}

    @property
    def wrote_nothing(self) -> bool:
        """True when not one write reached the Gateway (or none would, in a dry run)."""
        return not (self.counts["created"] or self.counts["updated"] or self.stock["updated"]
                    or any(self.archive.values()))

    def summary_text(self) -> str:
        """The human summary printed at the end (a dry run's counts say "would")."""
        c, i, s, a = self.counts, self.images, self.stock, self.archive
        dry = self.dry_run
        head = f"target-gateway: {self.status} - {self.records} records read"
        lines = [head + (" (dry run: nothing was written)" if dry else ""),
                 (f"  Gateway products: would create {c['created']}, would update "
                  f"{c['updated']}," if dry else
                  f"  Gateway products: created {c['created']}, updated {c['updated']},")
                 + f" unchanged {c['unchanged']}, skipped {c['skipped']}, failed {c['failed']}",
                 f"  images: copied {i['copied']}, uploaded {i['uploaded']}, reused "
                 f"{i['reused']}, hotlinked {i['hotlinked']}"]
        if any(s.values()):
            lines.append((f"  stock levels: would update {s['updated']}," if dry else
                          f"  stock levels: updated {s['updated']},")
                         + f" unchanged {s['unchanged']}, skipped {s['skipped']}")
        if any(a.values()):
            lines.append(f"  no longer in the shop: would archive {a['archived']}; back in the "
                         f"shop: would restore {a['restored']}" if dry else
                         f"  no longer in the shop: archived {a['archived']}; back in the "
                         f"shop: restored {a['restored']}")
        if self.archive_skipped:
            lines.append(f"  archive not done: {self.archive_skipped}")
        for currency, used in sorted(self.currency_rates.items()):
            lines.append(f"  currency: {used['products']} products in {currency} converted "
                         f"to PLN at {used['rate']} (currency_rates)")
        if not dry and not self.fatal and self.wrote_nothing:
            lines.append("  nothing was written to the Gateway")
        lines += [f"  not done: {reason}" for reason in self.incomplete]
        if self.fatal:
            lines.append(f"  stopped: {self.fatal}")
        for title, entries in (("skipped", self._last_skipped), ("failed", self._last_failed)):
            if entries:
                lines.append(f"  last {title}:")
                lines += [f"    {e['id']}: {e['reason']}" for e in entries]
        if self.unmapped:
            lines.append(f"  source categories still to be mapped: {len(self.unmapped)}")
            listed = sorted(self.unmapped.values(), key=lambda u: (u["path"], u["id"]))
            lines += [f"    {u['id']}: {u['path'] or u['name']}" for u in listed[:20]]
            if len(self.unmapped) > 20:
                lines.append(f"    ... and {len(self.unmapped) - 20} more (see report_file)")
        lines += [f"  note: {n}" for n in self.notes]
        if self.mapping_template:
            lines.append(f"  mapping template written to {self.mapping_template}")
        if self.report_file:
            lines.append(f"  report: {self.report_file}")
        return redact("\n".join(lines))

    def finish(self, stream: IO[str] | None = None) -> int:
        """Log the summary (or write it to ``stream``), write report_file, return the exit code.

        The summary is one log record (see the module docstring) so that a runner reading
        structured logs gets the outcome as data, not as text to parse.
        """
        self.progress(force=True)
        text = self.summary_text()
        if stream is not None:
            stream.write(text + "\n")
            stream.flush()
        else:
            status = self.status
            with self._lock:
                summary = {"status": status, "records": self.records, "dry_run": self.dry_run,
                           "counts": dict(self.counts), "images": dict(self.images),
                           "stock": dict(self.stock), "archive": self._archive_json(),
                           "error": self.fatal,
                           "report_file": self.report_file, "lines": text.split("\n")}
            level = {"ok": logging.INFO, "partial": logging.WARNING}.get(status, logging.ERROR)
            self.logger.log(level, "run summary:\n%s", text, extra={"summary": summary})
        if self.report_file:
            write_report(self.report_file, self.to_json())
        return self.exit_code


def write_report(path: str, document: dict[str, Any]) -> None:
    """Write a report JSON (redacted, UTF-8, Polish text kept)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(redact(json.dumps(document, ensure_ascii=False, indent=2)) + "\n",
                      encoding="utf-8")
