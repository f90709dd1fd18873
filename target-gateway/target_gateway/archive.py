"""What the shop no longer sells: archived at the end of a complete run, restored when back.

A variant deleted in the shop sends no record at all, so "no longer there" can only be known
from a COMPLETE list of the shop's live variants. The list used is the ``stock`` stream: in
every tap it is a full sweep of every sellable variant on every run (the record contract
says so, ``docs/record-contract.md``, "Deleted variants and the stock sweep"), unlike
``products``, which is incremental. Singer's ACTIVATE_VERSION was the other candidate and is
not used: singer-sdk taps emit it only for FULL_TABLE streams, only when
``emit_activate_version_messages`` is set, and at the START of the stream, so it cannot say
that a sweep reached its end; and ``stock`` is INCREMENTAL in the contract (``updated_at``).

The list is trusted only when all of this holds, else nothing is archived and the summary
says why (:meth:`Archiver.why_not`):

- the input reached its end (a broken line, a signal or a fatal error never gets here);
- a STATE message came after the last ``stock`` record: singer-sdk taps write one when a
  stream finishes, so a tap that died in the middle of its stock sweep leaves none;
- no write failed, no record broke the contract (a skipped stock row would look deleted);
- not a template-only run, and ``archive_missing`` is on.

Then every Gateway product this target made (the index: ``data.source``), of a platform
whose products came in this run (or the shop's only platform), whose source variant was in
neither a ``stock`` nor a ``products`` record of the run, is archived: the update route with
its whole body and ``archived: true``. More than ``archive_max_percent`` of the shop in one
run (default 20%) is refused, and the run ends partial, unless ``confirm_mass_archive`` is
set: a tap bug that returns an empty catalog must not empty a vendor's marketplace shop.

A disabled product or variant (``active: false``) is not archived: it is updated with
``for_sale: false`` by the planner, and switched back on the same way. A variant that comes
back after being archived is found among the archived products (:func:`restore_plans`) and
restored at its old guid, never created twice.

Memory: one set of (product id, variant id) pairs of the run (about 150 bytes a variant).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from decimal import Decimal
from typing import Any, Protocol

from target_gateway.gateway import (
    GatewayAuthError,
    GatewayClient,
    SourceKey,
    item_from_product,
    source_key,
    source_of,
    with_archived,
)
from target_gateway.index import Known
from target_gateway.planner import ProductPlan
from target_gateway.report import RunReport
from target_gateway.settings import Settings

#: variant ids per query when looking for archived products to restore
RESTORE_CHUNK = 50


class KnownProducts(Protocol):
    """What the archive reads of the index."""

    def items(self) -> Iterator[tuple[SourceKey, Known]]:
        """Every Gateway product this target made, by source key."""
        ...

    def put(self, key: SourceKey, known: Known) -> None:
        """Record what the Gateway now has for a source variant."""
        ...


class ArchiveStoppedError(Exception):
    """The Gateway refused the credentials while archiving; the run stops."""


class Archiver:
    """Collects the run's live variants; archives the missing ones at the end."""

    def __init__(self, settings: Settings, report: RunReport, logger: logging.Logger) -> None:
        self.settings = settings
        self.report = report
        self.logger = logger
        self.live: set[tuple[str, str]] = set()
        self.stock_records = 0

    def saw_variant(self, product_id: Any, variant_id: Any) -> None:
        """A variant still in the shop (from a ``stock`` or a ``products`` record)."""
        if product_id is not None and variant_id is not None:
            self.live.add((str(product_id), str(variant_id)))

    def why_not(self, *, stock_finished: bool) -> str | None:
        """Why the list of live variants cannot be trusted in this run; None when it can."""
        report, settings = self.report, self.settings
        if not settings.archive_missing or settings.template_only:
            return "archive_missing is false" if not settings.archive_missing else \
                "a template-only run"
        if report.fatal:
            return "the run stopped"
        if report.counts["failed"]:
            return "a write failed in this run"
        if report.invalid:
            return "a record broke the record contract in this run"
        if not stock_finished:
            return ("the stock stream did not come to its end in this run (it is the full "
                    "list of the shop's variants that tells what is gone)")
        return None

    def missing(self, index: KnownProducts, platforms: set[str]
                ) -> tuple[list[tuple[SourceKey, Known]], int, str | None]:
        """(products to archive, how many products are in scope, why none are: a platform
        that cannot be told)."""
        scope = set(platforms)
        gone: list[tuple[SourceKey, Known]] = []
        total = 0
        seen_platforms: set[str] = set()
        for key, known in index.items():
            seen_platforms.add(key[0])
            if scope and key[0] not in scope:
                continue
            total += 1
            if (key[1], key[2]) not in self.live and known.guid is not None:
                gone.append((key, known))
        if not scope and len(seen_platforms) > 1:
            return [], 0, ("no products record came in this run, and the shop's Gateway "
                           "products come from several platforms: the stock list cannot be "
                           "matched to one of them")
        return gone, total, None

    def run(self, client: GatewayClient, index: KnownProducts, platforms: set[str],
            pool: ThreadPoolExecutor, *, stock_finished: bool) -> None:
        """Archive what is gone, if the run may (see the module docstring)."""
        reason = self.why_not(stock_finished=stock_finished)
        if reason is not None:
            if self.settings.archive_missing and not self.settings.template_only:
                self.report.archive_skipped = reason
            return
        gone, total, problem = self.missing(index, platforms)
        if problem:
            self.report.archive_skipped = problem
            return
        if not gone:
            return
        share = Decimal(len(gone) * 100) / Decimal(total or 1)
        limit = self.settings.archive_max_percent
        if share > limit and not self.settings.confirm_mass_archive:
            message = (f"{len(gone)} of the shop's {total} Gateway products "
                       f"({share:.0f}%) are no longer in the shop's stock list; more than "
                       f"archive_max_percent ({limit}%) is never archived in one run. If the "
                       "shop really stopped selling them, run once with "
                       "confirm_mass_archive: true")
            self.report.archive_skipped = message
            self.report.hold_back(f"archiving: {message}")
            self.logger.warning("archive held back: %s", message)
            return
        if self.settings.dry_run:
            for key, _known in gone:
                self.logger.info("dry-run: would archive %s", _rid(key))
            self.report.count_archive("archived", len(gone))
            return
        jobs: list[tuple[SourceKey, Known, Future[Any]]] = []
        for key, known in gone:
            assert known.guid is not None
            jobs.append((key, known, pool.submit(client.update_product, known.guid,
                                                 with_archived(known.item(), True))))
        for key, known, job in jobs:
            try:
                job.result()
            except GatewayAuthError as exc:
                raise ArchiveStoppedError(f"the Gateway refused the shop's credentials: {exc}"
                                     ) from None
            except Exception as exc:  # this product stays for sale; reported, the run goes on
                self.report.fail(_rid(key), f"archive failed (no longer in the shop): {exc}")
                continue
            self.report.count_archive("archived")
            self.logger.info("archived %s (guid %s): no longer in the shop", _rid(key),
                             known.guid)
        self.report.progress(force=True)


def _rid(key: SourceKey) -> str:
    return key[1] if key[1] == key[2] else f"{key[1]}/{key[2]}"


def restore_plans(client: GatewayClient, plans: Iterable[ProductPlan]) -> int:
    """Turn the planned creates of variants the Gateway has ARCHIVED into restores (an
    update of the archived product with ``archived: false`` at its guid); how many."""
    creates = {v.key: v for plan in plans for v in plan.variants if v.action == "create"}
    if not creates:
        return 0
    ids = sorted({key[2] for key in creates})
    found: dict[SourceKey, dict[str, Any]] = {}
    for start in range(0, len(ids), RESTORE_CHUNK):
        for product in client.find_archived(ids[start:start + RESTORE_CHUNK],
                                            size=RESTORE_CHUNK * 2):
            source = source_of(product)
            if source is None or not product.get("archived") or not product.get("guid"):
                continue  # only a product the Gateway itself says is archived
            found.setdefault(source_key(source), product)
    for key, product in found.items():
        variant = creates.get(key)
        if variant is None:
            continue
        item = item_from_product(product)
        level = product.get("stock_level")
        variant.action = "restore"
        variant.existing = Known(str(product["guid"]), None,
                                 None if level is None else int(level),
                                 tuple(item["product"].get("tag_guids") or ()),
                                 Known.pack(item))
    return sum(1 for key in found if key in creates)
