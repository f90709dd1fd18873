"""The planner: one ``products`` record + what the shop already has -> the writes to make.

Pure: no request, no thread, no report. What it decides comes back as data
(:class:`RecordPlan`): the variants to create or update, how many are unchanged, what is
skipped or failed and why, which categories are not mapped. The executor carries the writes
out; the writer reports the rest. So the rules below are unit-tested without any server
(``tests/test_planner.py``).

- One Gateway product per source variant; a multi-variant product's variants are named
  "<name> - <option values>" and grouped by one variant tag (reused from earlier runs, else a
  free name is claimed in the :class:`~target_gateway.tags.VariantTags` registry).
- Change detection: :func:`content_hash` is a sha256 over the canonical JSON of what would be
  sent, with the source image references in place of Gateway image URLs and the variant
  group in place of the tag guid (both are derived from them) and without ``stock_level``,
  which is compared with the Gateway's own value instead: the light ``stock`` stream updates
  stock without knowing the rest of the product, and both paths then agree. A variant whose
  hash and stock level match the index costs no request at all.
- Category policy: products in ``skip_category_ids`` are skipped; with a mapping file and
  ``unmapped_categories`` = fail / skip_product a product in an unmapped category fails / is
  skipped; without a mapping file products land without category tags and the categories
  are listed as still to be mapped.
- Prices: the gross is the price of record; the net sent is derived from it
  (:func:`~target_gateway.prices.net_for_gross`) so that the Gateway shows the shop's gross
  to the grosz. A product in another currency than PLN is converted only at a rate the
  operator set (``currency_rates``), else it fails by name: storing euros as "zł" would
  sell it at a quarter of its price.
- A record whose bad variants the sink left out (see ``sinks.py``) carries its original
  variant count under :data:`VARIANT_COUNT_KEY`, so that its other variants keep their names
  and variant group instead of turning into a simple product.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from commerce_schema.money import vat_rate

from target_gateway.categories import SourceCategories, SourceCategory
from target_gateway.gateway import ProductDraft, SourceKey, product_item
from target_gateway.images import source_ref
from target_gateway.index import Known
from target_gateway.prices import HOME_CURRENCY, PriceError, net_for_gross, to_pln_gross
from target_gateway.settings import Settings
from target_gateway.tags import Group, VariantTags

#: set by the sink on a record whose contract-breaking variants it left out (see above)
VARIANT_COUNT_KEY = "_target_gateway_variant_count"


class Lookup(Protocol):
    """What the planner reads of the index (a dict-backed fake serves in tests)."""

    def get(self, key: SourceKey) -> Known | None:
        """The Gateway product of one source variant, if the shop has it."""
        ...

    def group_tag_guids(self, group: Group) -> Iterable[tuple[str, ...]]:
        """The tag guids of every known variant of one product."""
        ...


@dataclass
class VariantPlan:
    """What to do with one source variant (= one Gateway product)."""

    key: SourceKey
    rid: str
    action: str  # create | update | restore (an archived product of this variant, back)
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


@dataclass(frozen=True)
class Note:
    """A record id, why, and how many Gateway products (variants) it stands for."""

    rid: str
    reason: str
    n: int = 1


@dataclass
class RecordPlan:
    """Everything the planner decided about one record."""

    plan: ProductPlan | None = None  # None: nothing to write
    unchanged: int = 0
    skipped: list[Note] = field(default_factory=list)
    failed: list[Note] = field(default_factory=list)
    unmapped: list[SourceCategory] = field(default_factory=list)
    #: (currency, rate) when the record's prices were converted to PLN
    converted: tuple[str, Decimal] | None = None


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


def stock_level(value: Any, untracked: int | None) -> int | None:
    """A contract quantity as the Gateway's whole, non-negative ``stock_level``; ``None``
    (stock not tracked) becomes the ``untracked_stock_level`` setting."""
    if value is None:
        return untracked
    return max(0, int(Decimal(value)))


class Planner:
    """Plans records against the index (see the module docstring)."""

    def __init__(self, settings: Settings, index: Lookup, tags: VariantTags,
                 categories: SourceCategories) -> None:
        self.settings = settings
        self.index = index
        self.tags = tags
        self.categories = categories
        #: platforms whose products this run has seen (stock records prefer them)
        self.platforms_seen: set[str] = set()

    def plan(self, record: dict[str, Any]) -> RecordPlan:
        """The writes one valid ``products`` record needs."""
        settings = self.settings
        result = RecordPlan()
        platform = str(record.get("platform") or "unknown")
        pid = str(record["id"])
        self.platforms_seen.add(platform)
        variants = record["variants"]
        count = int(record.get(VARIANT_COUNT_KEY) or len(variants))
        currency = str(record.get("currency") or HOME_CURRENCY).strip().upper()
        rate = Decimal(1)
        if currency != HOME_CURRENCY:
            if currency not in settings.currency_rates:
                result.failed.append(Note(pid, f"its prices are in {currency}, not PLN: the "
                                               f"Gateway takes PLN; set currency_rates "
                                               f"(e.g. {{\"{currency}\": \"4.30\"}}) to "
                                               "convert at a fixed rate", len(variants)))
                return result
            rate = settings.currency_rates[currency]
            result.converted = (currency, rate)
        refs = record.get("categories") or []
        for ref in refs:
            if str(ref.get("id")) in settings.skip_category_ids:
                category = self.categories.remember(ref)
                label = category.path or category.name
                result.skipped.append(Note(pid, f"in category {category.id} ({label}), listed "
                                                "in skip_category_ids", count))
                return result
        category_guids, unmapped = self.categories.tag_guids(refs)
        result.unmapped = unmapped
        if unmapped and self.categories.mapping is not None \
                and settings.unmapped_categories != "ignore":
            names = ", ".join(f"{c.id} ({c.path or c.name})" for c in unmapped)
            if settings.unmapped_categories == "fail":
                result.failed.append(Note(pid, f"category {names} is not mapped", count))
            else:
                result.skipped.append(Note(pid, f"category {names} is not mapped "
                                                "(unmapped_categories=skip_product)", count))
            return result
        multi = count > 1
        group: Group = (platform, pid)
        plan = ProductPlan(pid, group, str(record["name"]), record.get("sku"), multi)
        product_images = _ordered(record.get("images"))
        seen: set[str] = set()
        for variant in variants:
            vid = str(variant["id"])
            rid = f"{pid}/{vid}" if multi or vid != pid else pid
            if vid in seen:
                result.skipped.append(Note(rid, "the record lists this variant id twice"))
                continue
            seen.add(vid)
            images = _dedupe([*product_images, *_ordered(variant.get("images"))])
            try:
                draft = self._draft(record, variant, platform, multi, category_guids, images,
                                    rate)
            except PriceError as exc:
                result.failed.append(Note(rid, str(exc)))
                continue
            digest = content_hash(draft, group if multi else None, settings.image_mode)
            draft = dataclasses.replace(draft, source={**draft.source, "hash": digest})
            key = (platform, pid, vid)
            existing = self.index.get(key)
            if (existing is not None and existing.hash == digest
                    and existing.stock_level == draft.stock_level):
                result.unchanged += 1
                continue
            plan.variants.append(VariantPlan(key, rid, "update" if existing else "create",
                                             draft, images, digest, existing))
        if plan.variants:
            if multi:
                plan.tag_guid = self.tags.existing(self.index.group_tag_guids(group))
                if plan.tag_guid is None:
                    plan.tag_name = self.tags.claim(group, plan.name, plan.sku)
            result.plan = plan
        return result

    def _draft(self, record: dict[str, Any], variant: dict[str, Any], platform: str,
               multi: bool, category_guids: list[str], images: list[dict[str, Any]],
               rate: Decimal = Decimal(1)) -> ProductDraft:
        options = {str(o["name"]): str(o["value"]) for o in variant.get("options") or []}
        name = str(record["name"])
        if multi:
            suffix = ", ".join(options.values()) or str(variant.get("sku") or variant["id"])
            name = f"{name} - {suffix}"
        active = record.get("active") is not False and variant.get("active") is not False
        rate_of_vat = vat_rate(record["vat_rate"])
        gross = Decimal(variant["price_gross"])
        if rate != 1:
            gross = to_pln_gross(gross, rate)
        return ProductDraft(
            name=name,
            desc=str(record.get("description_html") or record.get("short_description_html")
                     or ""),
            brief=plain_text(record.get("short_description_html")),
            sku=variant.get("sku") or record.get("sku"),
            vat_rate=rate_of_vat,
            net_price=net_for_gross(gross, rate_of_vat),
            for_sale=active,
            stock_level=stock_level(variant.get("stock"), self.settings.untracked_stock_level),
            images=(),
            tag_guids=tuple(category_guids),
            options=options,
            source={"platform": platform, "product_id": str(record["id"]),
                    "variant_id": str(variant["id"])},
            image_sources=tuple(source_ref(i) for i in images),
        )


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
