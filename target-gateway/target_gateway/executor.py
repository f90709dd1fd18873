"""The executor: carries out planned writes in a bounded pool of workers.

Per batch of plans: image copies (or uploads) and new variant tags first, all in the pool;
then each variant whose images and tag are in is written: creates in chunks of
``batch_size`` per call, updates one call each, in the same pool. It returns only when every
write of the batch has finished, so the STATE that follows never runs ahead of the Gateway.

Retries are not here: every call retries inside :class:`~target_gateway.gateway.GatewayClient`
(one mechanism, with create-then-reconcile for creates that may have landed). What reaches
the executor is final: that variant fails, is reported with the reason, and the run goes on
(the target then withholds STATE). A refused credential stops the run
(:class:`RunStoppedError`), since every further call would be refused too.

What was written is recorded in the index at once, so a product later in the same run (or
its stock) sees it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from target_gateway.gateway import (
    GatewayAuthError,
    GatewayClient,
    GatewayError,
    SourceKey,
    product_item,
    text_repaired,
)
from target_gateway.images import ImageError, ImageResolver, source_ref
from target_gateway.index import GatewayIndex, Known
from target_gateway.planner import ProductPlan, VariantPlan
from target_gateway.report import RunReport
from target_gateway.settings import Settings
from target_gateway.tags import VariantTags

Item = dict[str, Any]


class RunStoppedError(Exception):
    """The run cannot go on (mapping problems, authentication); nothing more is written."""


def stop(report: RunReport, message: str) -> RunStoppedError:
    """Record why the run stops; the error to raise."""
    report.set_fatal(message)
    return RunStoppedError(message)


@dataclass(frozen=True)
class StockUpdate:
    """A new stock level for a variant the Gateway has: the whole update body is sent."""

    key: SourceKey
    rid: str
    guid: str
    item: Item
    level: int | None


class Executor:
    """Writes plans (see the module docstring); shares the run's pool and index."""

    def __init__(self, client: GatewayClient, images: ImageResolver, index: GatewayIndex,
                 tags: VariantTags, report: RunReport, settings: Settings,
                 logger: logging.Logger, pool: ThreadPoolExecutor) -> None:
        self.client = client
        self.images = images
        self.index = index
        self.tags = tags
        self.report = report
        self.settings = settings
        self.logger = logger
        self.pool = pool

    # -- products ----------------------------------------------------------------------------
    def execute(self, plans: list[ProductPlan]) -> None:
        """Write one batch of plans; returns when every write has finished."""
        if not plans:
            return
        if self.settings.dry_run:
            self._dry_run(plans)
            return
        tag_jobs = {id(p): self.pool.submit(self._create_variant_tag, p)
                    for p in plans if p.tag_name and not p.tag_guid}
        image_jobs: dict[str, Future[str]] = {}
        for plan in plans:
            for variant in plan.variants:
                for image in variant.images:
                    ref = source_ref(image)
                    if ref not in image_jobs:
                        image_jobs[ref] = self.pool.submit(self.images.resolve, image)
        creates: list[tuple[VariantPlan, Item]] = []
        updates: list[tuple[VariantPlan, Item]] = []
        for plan in plans:
            tag_error = None
            if id(plan) in tag_jobs:
                try:
                    plan.tag_guid = tag_jobs[id(plan)].result()
                except Exception as exc:  # any failure fails this product's variants only
                    tag_error = exc
            for variant in plan.variants:
                problem = tag_error or _first_error(
                    image_jobs[source_ref(i)] for i in variant.images)
                if problem is not None:
                    self._fail(variant, problem, "variant tag" if tag_error else "image")
                    continue
                urls = tuple(image_jobs[source_ref(i)].result() for i in variant.images)
                tags = ((plan.tag_guid,) if plan.multi and plan.tag_guid else ()) \
                    + variant.draft.tag_guids
                draft = dataclasses.replace(variant.draft, images=urls, tag_guids=tags)
                if text_repaired(draft):
                    self.logger.warning(
                        "products record %s: text the Gateway cannot store (a lone surrogate, "
                        "NUL or other control characters) was repaired", variant.rid)
                (creates if variant.action == "create" else updates).append(
                    (variant, product_item(draft)))
        self._write(creates, updates)

    def _create_variant_tag(self, plan: ProductPlan) -> str:
        """Create the claimed tag; one the Gateway already has (409) is used only when no
        other group uses it, else the next free name is tried (bounded by the registry)."""
        name = plan.tag_name
        assert name is not None
        while True:
            guid, created = self.client.create_tag(name, "variant")
            if self.tags.settle(name, plan.group, guid, created):
                return guid
            self.logger.info("variant tag %r belongs to another product; trying another name",
                             name)
            name = plan.tag_name = self.tags.claim(plan.group, plan.name, plan.sku)

    def _write(self, creates: list[tuple[VariantPlan, Item]],
               updates: list[tuple[VariantPlan, Item]]) -> None:
        size = self.settings.batch_size
        create_jobs = [(chunk, self.pool.submit(self.client.create_products,
                                                [(v.key, item) for v, item in chunk]))
                       for chunk in (creates[i:i + size] for i in range(0, len(creates), size))]
        update_jobs: list[tuple[VariantPlan, Item, Future[Item]]] = []
        for variant, item in updates:
            guid = variant.existing.guid if variant.existing else None
            if guid is None:
                self._fail(variant, GatewayError("the Gateway gave no guid for it"), "update")
                continue
            update_jobs.append((variant, item, self.pool.submit(self.client.update_product,
                                                                guid, item)))
        for chunk, job in create_jobs:
            try:
                results: dict[SourceKey, Any] = dict(job.result())
            except Exception as exc:  # the chunk's products fail, the run goes on
                results = dict.fromkeys((v.key for v, _ in chunk), exc)
            for variant, item in chunk:
                outcome = results.get(variant.key)
                if isinstance(outcome, BaseException) or outcome is None:
                    self._fail(variant, outcome or GatewayError("no answer for this product"),
                               "create")
                    continue
                self.index.put(variant.key, Known.of_item(outcome.get("guid"), variant.hash,
                                                          item))
                self.report.count("created")
        for variant, item, update in update_jobs:
            try:
                answer = update.result()
            except Exception as exc:  # this product fails, the run goes on
                self._fail(variant, exc, "update")
                continue
            guid = answer.get("guid") or (variant.existing.guid if variant.existing else None)
            self.index.put(variant.key, Known.of_item(guid, variant.hash, item))
            self.report.count("updated")

    def _fail(self, variant: VariantPlan, error: BaseException, what: str) -> None:
        if isinstance(error, GatewayAuthError):
            raise stop(self.report, f"the Gateway refused the shop's credentials: {error}")
        if not isinstance(error, (GatewayError, ImageError)):
            self.logger.error("unexpected error writing %s", variant.rid, exc_info=error)
        self.report.fail(variant.rid, f"{variant.action} failed ({what}): {error}")

    def _dry_run(self, plans: list[ProductPlan]) -> None:
        for plan in plans:
            if plan.tag_name and not plan.tag_guid:
                self.logger.info("dry-run: would create variant tag %r", plan.tag_name)
            for variant in plan.variants:
                self.logger.info("dry-run: would %s %s %r (%d images)", variant.action,
                                 variant.rid, variant.draft.name, len(variant.images))
                self.index.put(variant.key, Known.of_item(None, variant.hash,
                                                          product_item(variant.draft)))
                self.report.count("created" if variant.action == "create" else "updated")

    # -- stock -------------------------------------------------------------------------------
    def update_stock(self, updates: Sequence[StockUpdate]) -> None:
        """Send new stock levels (whole update bodies), in the pool; record what landed."""
        jobs = [(update, self.pool.submit(self.client.update_product, update.guid, update.item))
                for update in updates]
        for update, job in jobs:
            try:
                job.result()
            except GatewayAuthError as exc:
                raise stop(self.report,
                           f"the Gateway refused the shop's credentials: {exc}") from None
            except Exception as exc:  # this variant fails, the run goes on
                self.report.fail(update.rid, f"stock update failed: {exc}")
                continue
            known = self.index.get(update.key)
            if known is not None:
                known.stock_level = update.level
                known.item_z = Known.pack(update.item)
                self.index.put(update.key, known)
            self.report.count_stock("updated")


def _first_error(jobs: Iterable[Future[str]]) -> BaseException | None:
    for job in jobs:
        error = job.exception()
        if error is not None:
            return error
    return None
