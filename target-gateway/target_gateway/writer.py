"""The import engine: plan each record against what the shop already has, write only changes.

Why it is shaped like this:

- At start it reads the shop's Gateway state once (products through the paginated query,
  variant tags, the category tree), so a re-run can tell new from existing without asking
  per product. Products this target made carry ``data.source`` = {platform, product_id,
  variant_id, hash}; that is the matching key and the change detector.
- The hash is a sha256 over the canonical JSON of what would be sent for the variant, with
  source image references in place of Gateway image URLs and the variant group in place of
  the tag guid (both are derived from them) and without ``stock_level``, which is compared
  with the Gateway's own value instead: the light ``stock`` stream updates stock without
  knowing the rest of the product, and both paths then agree. Unchanged variants cost no
  request at all.
- Work is done a batch at a time (``batch_size`` records): plan sequentially, then image
  copies and variant tags in a bounded thread pool, then product creates (chunks of
  ``batch_size``) and updates in the same pool. The sink returns only when the batch is
  written, so the SDK's STATE (emitted after a drain) never runs ahead of the Gateway.
- Per-product failures are reported and the run goes on; the target then withholds every
  later STATE (:attr:`GatewayWriter.blocks_state`), so the next run re-reads them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import json
import logging
import re
import threading
import zlib
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from commerce_schema import jsonio
from commerce_schema.money import round_money, vat_rate
from commerce_schema.validation import ContractError

from target_gateway.gateway import (
    GatewayAuthError,
    GatewayClient,
    GatewayError,
    ProductDraft,
    SourceKey,
    item_from_product,
    product_item,
    source_key,
    source_of,
    tag_guids_of,
    with_stock_level,
)
from target_gateway.images import ImageError, ImageResolver, SafeDownloader, source_ref
from target_gateway.mapping import (
    CategoryMapping,
    GatewayCategories,
    MappingError,
    SourceCategory,
    check_mapping,
    load_mapping,
    normalize_path,
    write_template,
)
from target_gateway.report import RunReport, redact
from target_gateway.settings import Settings

Group = tuple[str, str]  # (platform, product_id): one variant group


class RunStoppedError(Exception):
    """The run cannot go on (mapping problems, authentication); nothing more is written."""


@dataclass
class Known:
    """A Gateway product this target made, as the start-up query or a write left it."""

    guid: str | None
    hash: str | None
    stock_level: int | None
    tag_guids: tuple[str, ...]
    item_z: bytes  # the product's update body, zlib-compressed JSON (memory stays small)

    def item(self) -> dict[str, Any]:
        """The product's current update body."""
        return jsonio.loads(zlib.decompress(self.item_z))

    @staticmethod
    def pack(item: dict[str, Any]) -> bytes:
        """Compress an update body."""
        return zlib.compress(jsonio.dumps(item).encode())


@dataclass
class VariantPlan:
    """What to do with one source variant (= one Gateway product)."""

    key: SourceKey
    rid: str
    action: str  # create | update
    draft: ProductDraft
    images: list[dict[str, Any]]
    hash: str
    existing: Known | None


@dataclass
class ProductPlan:
    """The writes one product record needs."""

    record_id: str
    group: Group
    name: str
    sku: str | None
    multi: bool
    variants: list[VariantPlan] = field(default_factory=list)
    tag_name: str | None = None  # a new variant tag to create under this name
    tag_guid: str | None = None  # the group's existing (or new) variant tag


def content_hash(draft: ProductDraft, group: Group | None, image_mode: str) -> str:
    """sha256 of what would be sent, minus what is derived (image URLs, tag guid) or volatile."""
    planned = dataclasses.replace(draft, images=draft.image_sources, stock_level=None,
                                  source={k: v for k, v in draft.source.items() if k != "hash"})
    document = {"item": product_item(planned), "group": list(group) if group else None,
                "image_mode": image_mode}
    canonical = json.dumps(document, sort_keys=True, ensure_ascii=False, default=str,
                           separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def plain_text(fragment: str | None) -> str:
    """HTML to one line of text (the ``brief``)."""
    text = re.sub(r"<[^>]*>", " ", fragment or "")
    return " ".join(html.unescape(text).split())


class GatewayWriter:
    """Owns the client, the shop's known state, the pool; the sinks hand it records."""

    def __init__(self, settings: Settings, report: RunReport, logger: logging.Logger, *,
                 client: GatewayClient | None = None,
                 downloader: SafeDownloader | None = None) -> None:
        self.settings = settings
        self.report = report
        self.logger = logger
        self.client = client or GatewayClient(
            settings.api_url, settings.shop_guid, settings.key_bytes,
            timeout=settings.request_timeout, max_retries=settings.max_retries,
            backoff=settings.retry_backoff_ms / 1000, pool_size=settings.max_workers,
            token_ttl=settings.token_ttl_seconds, on_token=redact.add, scrub=redact)
        self.downloader = downloader or SafeDownloader(
            timeout=settings.request_timeout,
            allow_private=settings.allow_private_image_hosts)
        self.images = ImageResolver(self.client, self.downloader, settings.image_mode,
                                    on_image=report.image)
        self.pool = ThreadPoolExecutor(max_workers=settings.max_workers,
                                       thread_name_prefix="gateway-write")
        self.mapping: CategoryMapping | None = None
        if settings.category_mapping_file:
            try:
                self.mapping = load_mapping(settings.category_mapping_file)
            except MappingError as exc:
                raise RunStoppedError(str(exc)) from exc
        self.gateway_categories: GatewayCategories | None = None
        self.sources: dict[str, SourceCategory] = {}
        self.category_stream_seen = False
        self.known: dict[SourceKey, Known] = {}
        self.by_variant: dict[tuple[str, str], list[SourceKey]] = {}
        self.by_group: dict[Group, list[SourceKey]] = {}
        self.platforms_seen: set[str] = set()
        self._tags_lock = threading.Lock()
        self.variant_tags: set[str] = set()
        self.tag_by_name: dict[str, str] = {}
        self.tag_owners: dict[str, set[Group]] = {}
        self.claimed: dict[str, Group] = {}
        self._started = False
        self._prefetch: Future[None] | None = None
        self._categories_checked = False

    # -- state of the run --------------------------------------------------------------------
    @property
    def blocks_state(self) -> bool:
        """True when STATE must be withheld: a write failed, or nothing is really written."""
        return (self.report.counts["failed"] > 0 or self.report.fatal is not None
                or self.settings.dry_run or self.settings.template_only)

    def _stop(self, message: str) -> RunStoppedError:
        self.report.set_fatal(message)
        return RunStoppedError(message)

    # -- start-up ----------------------------------------------------------------------------
    def prefetch(self) -> None:
        """Begin reading what the shop already has, in the background.

        Called at the first valid record: on a big shop that read is hundreds of query pages,
        and done at the first batch it kept the target from reading its input, so the pipe
        filled and the tap stood idle under its rate limit. :meth:`start` waits for it.
        """
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
            raise self._stop(f"the Gateway refused the shop's credentials: {exc}") from None
        except GatewayError as exc:
            raise self._stop(f"could not read the shop's current Gateway state: {exc}") from None

    def _read_state(self) -> None:
        if self.settings.use_mapping or self.settings.category_mapping_template:
            self._load_gateway_categories()
        if self.settings.template_only:
            return
        self._read_tags()
        self._read_products()

    def _load_gateway_categories(self) -> None:
        if self.gateway_categories is None:
            tree = self.client.category_tree()
            self.gateway_categories = (GatewayCategories(tree) if tree else
                                       GatewayCategories.from_flat(self.client.category_tags()))

    def _read_tags(self) -> None:
        for tag in self.client.list_shop_tags():
            guid, name = str(tag.get("guid")), str(tag.get("name"))
            self.tag_by_name.setdefault(name, guid)
            if tag.get("type") == "variant":
                self.variant_tags.add(guid)

    def _read_products(self) -> None:
        total = duplicates = 0
        for product in self.client.iter_products():
            total += 1
            source = source_of(product)
            tags = tuple(tag_guids_of(product))
            owner: Group = (source_key(source)[:2] if source is not None  # type: ignore[assignment]
                            else ("", str(product.get("guid"))))
            for guid in tags:
                if guid in self.variant_tags:
                    self.tag_owners.setdefault(guid, set()).add(owner)
            if source is None:
                continue
            key = source_key(source)
            if key in self.known:
                duplicates += 1
                continue
            item = item_from_product(product)
            level = product.get("stock_level")
            self.known[key] = Known(str(product.get("guid")), source.get("hash"),
                                    None if level is None else int(level), tags, Known.pack(item))
            self._index(key)
            images = [str(u) for u in product.get("images") or []]
            refs = (product.get("data") or {}).get("image_sources") or []
            for ref, url in zip(refs, images, strict=False):
                self.images.remember(str(ref), url)
            self.images.remember_names(images)
        self.logger.info("the shop has %d Gateway products (%d made by this target), %d variant "
                         "tags", total, len(self.known), len(self.variant_tags))
        if duplicates:
            self.logger.warning("%d Gateway products repeat the source ids of another; the "
                                "first of each is kept up to date", duplicates)

    # -- categories --------------------------------------------------------------------------
    def add_category(self, record: dict[str, Any]) -> None:
        """A ``categories`` record: remembered for the mapping check and the template."""
        self.category_stream_seen = True
        self._remember_category(record)

    def _remember_category(self, ref: dict[str, Any]) -> SourceCategory:
        cid = str(ref.get("id"))
        known = self.sources.get(cid)
        if known is not None and (known.path or not ref.get("path")):
            return known
        path = normalize_path(ref.get("path") or [])
        category = SourceCategory(cid, str(ref.get("name") or path.rsplit(">", 1)[-1]), path)
        self.sources[cid] = category
        return category

    def _check_categories(self) -> None:
        """Before the first product write: the whole mapping against the Gateway and the
        categories stream; with unmapped_categories=fail every problem stops the run."""
        if self._categories_checked:
            return
        self._categories_checked = True
        if self.mapping is None or self.settings.template_only:
            return
        assert self.gateway_categories is not None
        sources = list(self.sources.values()) if self.category_stream_seen else []
        problems, unmapped = check_mapping(self.mapping, self.gateway_categories, sources,
                                           self.settings.skip_category_ids)
        self.report.add_unmapped(unmapped)
        if problems and self.settings.unmapped_categories == "fail":
            raise self._stop("the category mapping is incomplete; nothing was written:\n  "
                             + "\n  ".join(problems))
        for problem in problems:
            self.logger.warning("category mapping: %s", problem)

    def _category_tags(self, refs: Sequence[dict[str, Any]]
                       ) -> tuple[list[str], list[SourceCategory]]:
        guids: list[str] = []
        unmapped: list[SourceCategory] = []
        for ref in refs:
            category = self._remember_category(ref)
            if self.mapping is None or self.gateway_categories is None:
                unmapped.append(category)
                continue
            paths = self.mapping.paths_for(category.id)
            resolved = [self.gateway_categories.resolve(p) for p in paths]
            if not paths or None in resolved:
                unmapped.append(category)
            guids += [g for g in resolved if g and g not in guids]
        return guids, unmapped

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
                    self._remember_category(ref)
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
            plan = self._plan(record)
            if plan is not None:
                plans.append(plan)
                groups.add(group)
        self._execute(plans)
        self.report.progress(force=True)

    def _stock_level(self, value: Any) -> int | None:
        if value is None:
            return self.settings.untracked_stock_level
        return max(0, int(Decimal(value)))

    def _plan(self, record: dict[str, Any]) -> ProductPlan | None:
        platform = str(record.get("platform") or "unknown")
        pid = str(record["id"])
        self.platforms_seen.add(platform)
        variants = record["variants"]
        count = len(variants)
        refs = record.get("categories") or []
        for ref in refs:
            if str(ref.get("id")) in self.settings.skip_category_ids:
                category = self._remember_category(ref)
                label = category.path or category.name
                self.report.skip(pid, f"in category {category.id} ({label}), listed in "
                                      "skip_category_ids", n=count)
                return None
        category_guids, unmapped = self._category_tags(refs)
        if unmapped:
            self.report.add_unmapped(unmapped)
            if self.mapping is not None and self.settings.unmapped_categories != "ignore":
                names = ", ".join(f"{c.id} ({c.path or c.name})" for c in unmapped)
                if self.settings.unmapped_categories == "fail":
                    self.report.fail(pid, f"category {names} is not mapped", n=count)
                else:
                    self.report.skip(pid, f"category {names} is not mapped "
                                          "(unmapped_categories=skip_product)", n=count)
                return None
        multi = count > 1
        group: Group = (platform, pid)
        plan = ProductPlan(pid, group, str(record["name"]), record.get("sku"), multi)
        product_images = _ordered(record.get("images"))
        seen: set[str] = set()
        for variant in variants:
            vid = str(variant["id"])
            rid = f"{pid}/{vid}" if multi or vid != pid else pid
            if vid in seen:
                self.report.skip(rid, "the record lists this variant id twice")
                continue
            seen.add(vid)
            images = _dedupe([*product_images, *_ordered(variant.get("images"))])
            draft = self._draft(record, variant, platform, multi, category_guids, images)
            digest = content_hash(draft, group if multi else None, self.settings.image_mode)
            draft = dataclasses.replace(draft, source={**draft.source, "hash": digest})
            key = (platform, pid, vid)
            existing = self.known.get(key)
            if (existing is not None and existing.hash == digest
                    and existing.stock_level == draft.stock_level):
                self.report.count("unchanged")
                continue
            plan.variants.append(VariantPlan(key, rid, "update" if existing else "create",
                                             draft, images, digest, existing))
        if not plan.variants:
            return None
        if multi:
            self._choose_variant_tag(plan)
        return plan

    def _draft(self, record: dict[str, Any], variant: dict[str, Any], platform: str,
               multi: bool, category_guids: list[str], images: list[dict[str, Any]]
               ) -> ProductDraft:
        options = {str(o["name"]): str(o["value"]) for o in variant.get("options") or []}
        name = str(record["name"])
        if multi:
            suffix = ", ".join(options.values()) or str(variant.get("sku") or variant["id"])
            name = f"{name} - {suffix}"
        active = record.get("active") is not False and variant.get("active") is not False
        return ProductDraft(
            name=name,
            desc=str(record.get("description_html") or record.get("short_description_html")
                     or ""),
            brief=plain_text(record.get("short_description_html")),
            sku=variant.get("sku") or record.get("sku"),
            vat_rate=vat_rate(record["vat_rate"]),
            net_price=round_money(variant["price_net"]),
            for_sale=active,
            stock_level=self._stock_level(variant.get("stock")),
            images=(),
            tag_guids=tuple(category_guids),
            options=options,
            source={"platform": platform, "product_id": str(record["id"]),
                    "variant_id": str(variant["id"])},
            image_sources=tuple(source_ref(i) for i in images),
        )

    # -- variant tags ------------------------------------------------------------------------
    def _choose_variant_tag(self, plan: ProductPlan) -> None:
        """Reuse the group's tag from earlier runs, else claim a name no other group uses."""
        for known in self._siblings(plan.group):
            for guid in known.tag_guids:
                if guid in self.variant_tags:
                    plan.tag_guid = guid
                    return
        with self._tags_lock:
            plan.tag_name = self._claim_name(plan)

    def _siblings(self, group: Group) -> list[Known]:
        return [self.known[key] for key in self.by_group.get(group, [])]

    def _claim_name(self, plan: ProductPlan) -> str:
        """The first candidate name free for this group (call under ``_tags_lock``)."""
        base, pid = plan.name, plan.group[1]
        candidates = [base]
        if plan.sku:
            candidates.append(f"{base} ({plan.sku})")
        candidates.append(f"{base} ({pid})")
        candidates += [f"{base} ({pid}-{n})" for n in range(2, 100)]
        for name in candidates:
            owner = self.claimed.get(name)
            guid = self.tag_by_name.get(name)
            others = (self.tag_owners.get(guid, set()) - {plan.group}) if guid else set()
            if (owner is None or owner == plan.group) and not others:
                self.claimed[name] = plan.group
                return name
        raise GatewayError(f"no free variant tag name for product {pid}")

    def _create_variant_tag(self, plan: ProductPlan) -> str:
        """Create the claimed tag; a 409 is reused only when no other group uses that tag."""
        name = plan.tag_name
        assert name is not None
        while True:
            guid, created = self.client.create_tag(name, "variant")
            with self._tags_lock:
                others = self.tag_owners.get(guid, set()) - {plan.group}
                self.tag_by_name[name] = guid
                if created or not others:
                    self.tag_owners.setdefault(guid, set()).add(plan.group)
                    self.variant_tags.add(guid)
                    return guid
                self.logger.info("variant tag %r belongs to another product; trying another "
                                 "name", name)
                name = plan.tag_name = self._claim_name(plan)

    # -- execution ---------------------------------------------------------------------------
    def _execute(self, plans: list[ProductPlan]) -> None:
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
        creates: list[tuple[VariantPlan, dict[str, Any]]] = []
        updates: list[tuple[VariantPlan, dict[str, Any]]] = []
        for plan in plans:
            tag_error = None
            if id(plan) in tag_jobs:
                try:
                    plan.tag_guid = tag_jobs[id(plan)].result()
                except Exception as exc:  # any failure fails this product's variants only
                    tag_error = exc
            for variant in plan.variants:
                problem = tag_error or self._first_error(
                    image_jobs[source_ref(i)] for i in variant.images)
                if problem is not None:
                    self._fail(variant, problem, "variant tag" if tag_error else "image")
                    continue
                urls = tuple(image_jobs[source_ref(i)].result() for i in variant.images)
                tags = ((plan.tag_guid,) if plan.multi and plan.tag_guid else ()) \
                    + variant.draft.tag_guids
                draft = dataclasses.replace(variant.draft, images=urls, tag_guids=tags)
                (creates if variant.action == "create" else updates).append(
                    (variant, product_item(draft)))
        self._write(creates, updates)

    @staticmethod
    def _first_error(jobs: Iterable[Future[str]]) -> BaseException | None:
        for job in jobs:
            error = job.exception()
            if error is not None:
                return error
        return None

    def _write(self, creates: list[tuple[VariantPlan, dict[str, Any]]],
               updates: list[tuple[VariantPlan, dict[str, Any]]]) -> None:
        size = self.settings.batch_size
        create_jobs = [(chunk, self.pool.submit(self.client.create_products,
                                                [(v.key, item) for v, item in chunk]))
                       for chunk in (creates[i:i + size] for i in range(0, len(creates), size))]
        update_jobs = []
        for variant, item in updates:
            guid = variant.existing.guid if variant.existing else None
            if guid is None:
                self._fail(variant, GatewayError("the Gateway gave no guid for it"), "update")
                continue
            update_jobs.append((variant, item, self.pool.submit(self.client.update_product,
                                                                guid, item)))
        for chunk, job in create_jobs:
            try:
                results = job.result()
            except Exception as exc:  # the chunk's products fail, the run goes on
                results = dict.fromkeys((v.key for v, _ in chunk), exc)
            for variant, item in chunk:
                outcome = results.get(variant.key)
                if isinstance(outcome, BaseException) or outcome is None:
                    self._fail(variant, outcome or GatewayError("no answer for this product"),
                               "create")
                    continue
                self._remember(variant, item, outcome.get("guid"))
                self.report.count("created")
        for variant, item, job in update_jobs:
            try:
                answer = job.result()
            except Exception as exc:  # this product fails, the run goes on
                self._fail(variant, exc, "update")
                continue
            guid = answer.get("guid") or (variant.existing.guid if variant.existing else None)
            self._remember(variant, item, guid)
            self.report.count("updated")

    def _remember(self, variant: VariantPlan, item: dict[str, Any], guid: str | None) -> None:
        product = item["product"]
        self.known[variant.key] = Known(
            None if guid is None else str(guid), variant.hash, item.get("stock_level"),
            tuple(product.get("tag_guids") or ()), Known.pack(item))
        self._index(variant.key)

    def _index(self, key: SourceKey) -> None:
        for index, by in ((self.by_variant, key[1:]), (self.by_group, key[:2])):
            keys = index.setdefault(by, [])  # type: ignore[attr-defined]
            if key not in keys:
                keys.append(key)

    def _fail(self, variant: VariantPlan, error: BaseException, what: str) -> None:
        if isinstance(error, GatewayAuthError):
            raise self._stop(f"the Gateway refused the shop's credentials: {error}")
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
                self._remember(variant, product_item(variant.draft), None)
                self.report.count("created" if variant.action == "create" else "updated")

    # -- stock -------------------------------------------------------------------------------
    def write_stock(self, records: Sequence[dict[str, Any]]) -> None:
        """Apply ``stock`` records to variants the Gateway already has."""
        if self.settings.template_only:
            return
        self.start()
        latest: dict[tuple[str, str], dict[str, Any]] = {}
        for record in records:
            latest[(str(record["product_id"]), str(record["variant_id"]))] = record
        jobs = []
        for (pid, vid), record in latest.items():
            rid = pid if pid == vid else f"{pid}/{vid}"
            keys = self.by_variant.get((pid, vid), [])
            if len(keys) > 1:
                keys = [k for k in keys if k[0] in self.platforms_seen] or keys
            if len(keys) != 1:
                self.report.skip(rid, "stock for a variant the Gateway does not have (import "
                                      "its product first)" if not keys else
                                 "stock for a variant that several platforms share")
                continue
            known = self.known[keys[0]]
            level = self._stock_level(record.get("quantity"))
            if level == known.stock_level:
                self.report.count_stock("unchanged")
                continue
            item = with_stock_level(known.item(), level)
            if self.settings.dry_run:
                self.logger.info("dry-run: would set stock of %s to %s", rid, level)
                self.report.count_stock("updated")
                continue
            if known.guid is None:
                self.report.fail(rid, "stock update failed: the Gateway gave no guid for it")
                continue
            jobs.append((keys[0], rid, item, level,
                         self.pool.submit(self.client.update_product, known.guid, item)))
        for key, rid, item, level, job in jobs:
            try:
                job.result()
            except GatewayAuthError as exc:
                raise self._stop(f"the Gateway refused the shop's credentials: {exc}") from None
            except Exception as exc:  # this variant fails, the run goes on
                self.report.fail(rid, f"stock update failed: {exc}")
                continue
            known = self.known[key]
            known.stock_level = level
            known.item_z = Known.pack(item)
            self.report.count_stock("updated")
        self.report.progress(force=True)

    # -- the end -----------------------------------------------------------------------------
    def finish(self) -> None:
        """Write the mapping template (if asked) and list what is left to map."""
        if self._prefetch is not None and not self._started:
            wait([self._prefetch])  # a read nothing needed: its outcome does not matter
        try:
            if self.settings.category_mapping_template and self.report.fatal is None:
                self._write_template()
            if self.mapping is None:
                self.report.add_unmapped(self.sources.values())
            elif self.settings.template_only:
                self.report.add_unmapped(c for c in self.sources.values()
                                         if not self.mapping.paths_for(c.id))
        finally:
            self.pool.shutdown(wait=True)

    def _write_template(self) -> None:
        path = self.settings.category_mapping_template
        assert path is not None
        try:
            self._load_gateway_categories()
        except GatewayError as exc:
            self.report.notes.append(f"the Gateway's category list could not be read ({exc}); "
                                     "the template lists no Gateway paths")
        listing = write_template(path, self.sources.values(), self.gateway_categories,
                                 self.mapping)
        self.report.mapping_template = str(path)
        self.report.notes.append(f"Gateway category paths listed in {listing}")


def _ordered(images: Any) -> list[dict[str, Any]]:
    """Images in display order (``position``; unpositioned last, stable)."""
    listed = [i for i in images or [] if isinstance(i, dict) and i.get("url")]
    return sorted(listed, key=lambda i: (i.get("position") is None, i.get("position") or 0))


def _dedupe(images: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[str] = set()
    unique = []
    for image in images:
        ref = source_ref(image)
        if ref not in seen:
            seen.add(ref)
            unique.append(image)
    return unique
