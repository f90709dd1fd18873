"""The import engine's coordinator: builds the parts of one run and hands records between them.

Where things are (each part is a module of its own, named after what it holds):

- :mod:`~target_gateway.index`: what the shop already has in the Gateway (on disk), read
  once at the start, in the background from the first record (:meth:`GatewayWriter.prefetch`:
  on a big shop that read is hundreds of query pages, and done at the first batch it kept
  the target from reading its input, so the pipe filled and the tap stood idle);
- :mod:`~target_gateway.tags`: the variant-tag registry;
- :mod:`~target_gateway.planner`: record + index -> the writes to make (pure);
- :mod:`~target_gateway.executor`: the writes, in a bounded pool;
- :mod:`~target_gateway.categories`: the category mapping and the shop's categories;
- stock records are planned by the stock sink (:mod:`~target_gateway.sinks`) and written by
  the executor;
- every Gateway route and payload shape: :mod:`~target_gateway.gateway`;
- what the shop no longer sells (archive at the end of a complete run, restore when a
  variant comes back): :mod:`~target_gateway.archive`.

The mapping template is written only when categories came through in the run, and never
over a file a person has edited: next to it, ``.<name>.target-gateway`` keeps the sha256 of
what the target last wrote, and a file whose content differs (or that has no such stamp) is
left alone with a note (a failed tap once replaced a filled 44-row template with a header).

Work is done a batch at a time (``batch_size`` records): plan sequentially, then execute.
Per-product failures are reported and the run goes on; the target then withholds every later
STATE (:attr:`GatewayWriter.blocks_state`), so the next run re-reads them.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from commerce_schema.redact import redact
from commerce_schema.validation import ContractError

from target_gateway.archive import Archiver, ArchiveStoppedError, restore_plans
from target_gateway.categories import (
    CategoryMapping,
    GatewayCategories,
    MappingError,
    SourceCategories,
    check_mapping,
    load_mapping,
    write_template,
)
from target_gateway.executor import Executor, RunStoppedError, stop
from target_gateway.gateway import GatewayAuthError, GatewayClient, GatewayError
from target_gateway.images import ImageResolver, SafeDownloader
from target_gateway.index import GatewayIndex, read_shop
from target_gateway.planner import Planner, ProductPlan, RecordPlan, VariantPlan
from target_gateway.report import RunReport
from target_gateway.settings import Settings
from target_gateway.tags import Group, VariantTags

__all__ = ["GatewayWriter", "RunStoppedError"]


class GatewayWriter:
    """Owns the run's client, index, registry, planner, executor and pool."""

    def __init__(self, settings: Settings, report: RunReport, logger: logging.Logger, *,
                 client: GatewayClient | None = None,
                 downloader: SafeDownloader | None = None) -> None:
        self.settings = settings
        self.report = report
        self.logger = logger
        mapping: CategoryMapping | None = None
        if settings.category_mapping_file:
            try:
                mapping = load_mapping(settings.category_mapping_file)
            except MappingError as exc:
                raise RunStoppedError(str(exc)) from exc
        redact.add(settings.signing_key)
        self.client = client or GatewayClient(
            settings.api_url, settings.shop_guid, settings.key_bytes,
            timeout=settings.request_timeout, max_retries=settings.max_retries,
            backoff=settings.retry_backoff_ms / 1000, pool_size=settings.max_workers,
            token_ttl=settings.token_ttl_seconds)
        self.downloader = downloader or SafeDownloader(
            timeout=settings.request_timeout,
            allow_private=settings.allow_private_image_hosts)
        self.index = GatewayIndex(settings.index_dir)
        self.tags = VariantTags()
        self.categories = SourceCategories(mapping)
        self.images = ImageResolver(self.client, self.downloader, settings.image_mode,
                                    on_image=report.image, known=self.index)
        self.pool = ThreadPoolExecutor(max_workers=settings.max_workers,
                                       thread_name_prefix="gateway-write")
        self.planner = Planner(settings, self.index, self.tags, self.categories)
        self.executor = Executor(self.client, self.images, self.index, self.tags, report,
                                 settings, logger, self.pool)
        self.archiver = Archiver(settings, report, logger)
        #: None: not asked yet; False: the shop has no archived product of this target
        self._archived_exist: bool | None = None
        self._started = False
        self._prefetch: Future[None] | None = None
        self._categories_checked = False

    # -- state of the run --------------------------------------------------------------------
    @property
    def blocks_state(self) -> bool:
        """True when STATE must be withheld: a write failed, or nothing is really written."""
        return (self.report.counts["failed"] > 0 or self.report.fatal is not None
                or self.settings.dry_run or self.settings.template_only)

    @property
    def ready(self) -> bool:
        """The shop's Gateway state has been read (so writes can be confirmed at all)."""
        return self._started and self.report.fatal is None

    # -- start-up ----------------------------------------------------------------------------
    def prefetch(self) -> None:
        """Begin reading what the shop already has, in the background (see the docstring)."""
        if self._prefetch is None and not self._started:
            self._prefetch = self.pool.submit(self._read_state)

    def start(self) -> None:
        """Read what the shop already has (once, before the first write)."""
        if self._started:
            return
        self._started = True
        try:
            if self._prefetch is not None:
                self._prefetch.result()
            else:
                self._read_state()
        except GatewayAuthError as exc:
            raise stop(self.report,
                       f"the Gateway refused the shop's credentials: {exc}") from None
        except GatewayError as exc:
            raise stop(self.report,
                       f"could not read the shop's current Gateway state: {exc}") from None

    def _read_state(self) -> None:
        if self.settings.use_mapping or self.settings.category_mapping_template:
            self._load_gateway_categories()
        if self.settings.template_only:
            return
        read_shop(self.client, self.index, self.tags, self.logger)

    def _load_gateway_categories(self) -> GatewayCategories:
        if self.categories.gateway is None:
            tree = self.client.category_tree()
            self.categories.gateway = (GatewayCategories(tree) if tree else
                                       GatewayCategories.from_flat(self.client.category_tags()))
        return self.categories.gateway

    # -- categories --------------------------------------------------------------------------
    def add_category(self, record: dict[str, Any]) -> None:
        """A ``categories`` record: remembered for the mapping check and the template."""
        self.categories.stream_seen = True
        self.categories.remember(record)

    def _check_categories(self) -> None:
        """Before the first product write: the whole mapping against the Gateway and the
        categories stream; with unmapped_categories=fail every problem stops the run."""
        if self._categories_checked:
            return
        self._categories_checked = True
        mapping = self.categories.mapping
        if mapping is None or self.settings.template_only:
            return
        assert self.categories.gateway is not None
        sources = list(self.categories.seen.values()) if self.categories.stream_seen else []
        problems, unmapped = check_mapping(mapping, self.categories.gateway, sources,
                                           self.settings.skip_category_ids)
        self.report.add_unmapped(unmapped)
        if problems and self.settings.unmapped_categories == "fail":
            raise stop(self.report, "the category mapping is incomplete; nothing was "
                                    "written:\n  " + "\n  ".join(problems))
        for problem in problems:
            self.logger.warning("category mapping: %s", problem)

    # -- products ----------------------------------------------------------------------------
    def reject(self, stream: str, record: Any, errors: Sequence[ContractError]) -> None:
        """A record that breaks the contract: reported with its id and fields, skipped."""
        first = errors[0]
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        rid = first.record_id or "<no id>"
        self.report.skip(f"{stream}:{rid}", f"breaks the record contract: {first.field}: "
                                            f"{first.message}{more}", invalid=True)
        for error in errors:
            self.logger.warning("skipped invalid record: %s", error)

    def write_products(self, records: Sequence[dict[str, Any]]) -> None:
        """Plan and write one batch of valid ``products`` records."""
        if self.settings.template_only:
            for record in records:
                for ref in record.get("categories") or []:
                    self.categories.remember(ref)
            return
        self.start()
        self._check_categories()
        plans: list[ProductPlan] = []
        groups: set[Group] = set()
        for record in records:
            group = (str(record.get("platform") or "unknown"), str(record["id"]))
            if group in groups:  # the same product twice in a batch: write the first first
                self._execute(plans)
                plans, groups = [], set()
            plan = self._report(self.planner.plan(record))
            if plan is not None:
                plans.append(plan)
                groups.add(group)
        self._execute(plans)
        self.report.progress(force=True)

    def _execute(self, plans: list[ProductPlan]) -> None:
        """Execute plans, creates of archived variants turned into restores first."""
        restoring = self._restores(plans)
        self.executor.execute(plans)
        for variant in restoring:
            if self.index.get(variant.key) is not None:
                self.report.count_archive("restored")

    def _restores(self, plans: list[ProductPlan]) -> list[VariantPlan]:
        """The planned creates of variants whose product the Gateway holds ARCHIVED become
        restores. The shop is asked once per run whether it has any archived product of
        this target at all (one query of size 1), and per batch only if it has."""
        if not any(v.action == "create" for p in plans for v in p.variants):
            return []
        try:
            if self._archived_exist is None:
                self._archived_exist = bool([p for p in self.client.find_archived(size=1)
                                             if p.get("archived")])
            if not self._archived_exist:
                return []
            restore_plans(self.client, plans)
        except GatewayAuthError as exc:
            raise stop(self.report,
                       f"the Gateway refused the shop's credentials: {exc}") from None
        except GatewayError as exc:
            # creating instead could duplicate a product the shop has archived: fail them
            for plan in plans:
                for variant in plan.variants:
                    if variant.action == "create":
                        self.report.fail(variant.rid, "could not check whether the Gateway "
                                                      f"holds it archived: {exc}")
                plan.variants = [v for v in plan.variants if v.action != "create"]
            return []
        return [v for p in plans for v in p.variants if v.action == "restore"]

    def _report(self, planned: RecordPlan) -> ProductPlan | None:
        """Count and list what the planner decided; the plan to execute, if any."""
        if planned.converted is not None:
            self.report.used_rate(*planned.converted)
        if planned.unmapped:
            self.report.add_unmapped(planned.unmapped)
        for note in planned.skipped:
            self.report.skip(note.rid, note.reason, n=note.n)
        for note in planned.failed:
            self.report.fail(note.rid, note.reason, n=note.n)
        if planned.unchanged:
            self.report.count("unchanged", planned.unchanged)
        return planned.plan

    # -- the end -----------------------------------------------------------------------------
    def archive_missing(self, *, stock_finished: bool) -> None:
        """After every record is written: archive what the shop no longer has (see
        :mod:`~target_gateway.archive` for when the run may)."""
        if not self.ready:
            if self.archiver.why_not(stock_finished=stock_finished) is None:
                self.report.archive_skipped = "the Gateway was not reached in this run"
            return
        try:
            self.archiver.run(self.client, self.index, set(self.planner.platforms_seen),
                              self.pool, stock_finished=stock_finished)
        except ArchiveStoppedError as exc:
            raise stop(self.report, str(exc)) from None

    def finish(self) -> None:
        """Write the mapping template (if asked), list what is left to map, clean up."""
        if self._prefetch is not None and not self._started:
            wait([self._prefetch])  # a read nothing needed: its outcome does not matter
        try:
            if self.settings.category_mapping_template and self.report.fatal is None:
                self._write_template()
            mapping = self.categories.mapping
            if mapping is None:
                self.report.add_unmapped(self.categories.seen.values())
            elif self.settings.template_only:
                self.report.add_unmapped(c for c in self.categories.seen.values()
                                         if not mapping.paths_for(c.id))
        finally:
            self.close()

    def close(self) -> None:
        """Stop the pool (queued work is dropped) and remove the index."""
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.index.close()

    def _write_template(self) -> None:
        path = self.settings.category_mapping_template
        assert path is not None
        if not self.categories.seen:
            self.report.notes.append(f"no categories came through in this run; the mapping "
                                     f"template {path} was not written")
            return
        if not template_writable(Path(path)):
            self.report.notes.append(
                f"{path} was edited since target-gateway wrote it (or was not written by "
                "it), so it was left as it is; delete it, or name another "
                "category_mapping_template, for a fresh template")
            return
        gateway: GatewayCategories | None = None
        try:
            gateway = self._load_gateway_categories()
        except GatewayError as exc:
            self.report.notes.append(f"the Gateway's category list could not be read ({exc}); "
                                     "the template lists no Gateway paths")
        listing = write_template(path, self.categories.seen.values(), gateway,
                                 self.categories.mapping)
        stamp_template(Path(path))
        self.report.mapping_template = str(path)
        self.report.notes.append(f"Gateway category paths listed in {listing}")


def _stamp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.target-gateway")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def template_writable(path: Path) -> bool:
    """True when the template may be (re)written: it does not exist, or its content is
    exactly what the target last wrote there (see the module docstring)."""
    if not path.exists():
        return True
    stamp = _stamp_path(path)
    try:
        return stamp.read_text(encoding="ascii").strip() == _digest(path)
    except OSError:
        return False


def stamp_template(path: Path) -> None:
    """Remember what the target wrote (the sha256 of the file, next to it)."""
    _stamp_path(path).write_text(_digest(path) + "\n", encoding="ascii")
