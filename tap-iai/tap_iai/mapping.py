"""Pure functions from IdoSell items (either source) to the contract's records.

Rules (README has the full list):

- **Variants are sizes.** Every size of the product is one variant. Its id is the product id
  for a one-size product (the contract's rule for a simple product), else IdoSell's own
  "IAI code" ``{productId}-{sizeId}``. Its sku is the size's external code, else its
  producer code, else the IAI code; a code repeated by several sizes of one product is
  replaced by the IAI code (logged), so no two variants share a sku.
- **Versions.** With ``merge_versions``, the products of one version group become ONE
  record with the group's key (the parent product's id, the same whichever version is read
  first); every size of every version is a variant whose options name the size and the
  version's value (``Kolor: Szary``). The version axis is not repeated as an attribute; other
  parameters stay attributes. Without it, each version is its own record and its value is an
  attribute.
- **Prices** are gross (the price of record): the size's own price, else the product's; net
  comes from it with the contract's rule at the product's VAT; ``vat_free`` is 0%. The IOF
  feed also gives a net: one that disagrees with the gross by more than a grosz is logged for
  that size and the gross wins; the product is never dropped for it.
- **Stock** is summed over the chosen warehouses. ``-1`` (unlimited / not tracked) makes the
  variant's stock null, not a made-up number; a size marked unavailable, or with no rows in
  the chosen warehouses, is 0.
- **Texts** in the chosen language, else Polish, else any (one warning per product); long
  descriptions get relative ``src``/``href`` made absolute against the shop URL.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from commerce_schema.money import MoneyError, net_from_gross, parse_decimal, round_money, vat_rate
from tapkit.readers import quantity
from tapkit.streams import MappingError

from tap_iai.items import Item, LangTexts, Size

PLATFORM = "idosell"
ONE_SIZE = "uniw"
GROSZ = Decimal("0.01")
#: IdoSell's three-letter language ids as the contract's two-letter codes
LANGUAGES = {"pol": "pl", "eng": "en", "ger": "de", "deu": "de", "cze": "cs", "ces": "cs",
             "slo": "sk", "slk": "sk", "ukr": "uk", "fre": "fr", "fra": "fr", "ita": "it",
             "spa": "es", "lit": "lt", "lav": "lv", "est": "et", "hun": "hu", "rum": "ro",
             "ron": "ro", "dut": "nl", "nld": "nl", "rus": "ru"}
#: the size axis' option name per language
SIZE_OPTION = {"pol": "Rozmiar", "eng": "Size", "ger": "Größe", "deu": "Größe",
               "cze": "Velikost", "ces": "Velikost", "ukr": "Розмір"}
_RELATIVE = re.compile(r"""(\b(?:src|href)\s*=\s*["'])/(?!/)""", re.IGNORECASE)

logger = logging.getLogger("tap-iai.mapping")


@dataclass
class Context:
    """What mapping needs beyond the items: settings and the category index."""

    shop_url: str
    language: str = "pol"
    warehouses: frozenset[str] | None = None  # None: every warehouse
    merge_versions: bool = True
    categories: dict[str, dict[str, Any]] = field(default_factory=dict)
    _warned: set[str] = field(default_factory=set)

    def pick(self, texts: LangTexts, *, what: str) -> tuple[str, str] | None:
        """``(language, text)``: the chosen language, else Polish, else any (warned once)."""
        if self.language in texts:
            return self.language, texts[self.language]
        for lang in ("pol", *sorted(texts)):
            if lang in texts:
                if what not in self._warned:
                    self._warned.add(what)
                    logger.warning("%s has no %s text; using %s", what, self.language, lang)
                return lang, texts[lang]
        return None


def group_key(item: Item, merge_versions: bool) -> str:
    """The record id an item belongs to: its version group's key when merging, else its own."""
    return item.group if merge_versions and item.group else item.id


def absolute_links(html: str | None, shop_url: str) -> str | None:
    """``src="/data/include/cms/a.jpg"`` -> ``src="https://shop/data/include/cms/a.jpg"``."""
    if html is None:
        return None
    return _RELATIVE.sub(lambda m: m.group(1) + shop_url.rstrip("/") + "/", html)


def product_rate(item: Item) -> int:
    """VAT percent: 0 when ``vat_free``, else ``productVat`` / ``vat`` in whole percent."""
    if item.vat_free:
        return 0
    try:
        return vat_rate(item.vat, field=f"product {item.id} VAT")
    except MoneyError as exc:
        raise MappingError(str(exc)) from exc


def is_one_size(item: Item) -> bool:
    """True for a product sold in one size only (IdoSell's ``uniw``)."""
    return len(item.sizes) == 1 and item.sizes[0].id == ONE_SIZE


def variant_id(item: Item, size: Size) -> str:
    """The product id for a one-size product, else IdoSell's ``{productId}-{sizeId}``."""
    return item.id if is_one_size(item) else f"{item.id}-{size.id}"


def size_skus(item: Item) -> dict[str, str]:
    """size id -> sku: external code, else producer code, else the IAI code; a code used by
    several sizes of the product falls back to the IAI code for each of them (logged)."""
    chosen = {s.id: s.code_external or s.code_producer or f"{item.id}-{s.id}"
              for s in item.sizes}
    repeated = {sku for sku, n in Counter(chosen.values()).items() if n > 1}
    for size_id, sku in chosen.items():
        if sku in repeated:
            logger.warning("product %s: sku %r is used by several sizes; size %s gets its IAI "
                           "code %s-%s", item.id, sku, size_id, item.id, size_id)
            chosen[size_id] = f"{item.id}-{size_id}"
    return chosen


def ean(code: str | None) -> str | None:
    """A producer code that is a GTIN (8, 12, 13 or 14 digits); other codes (MPN...) are not
    EANs."""
    return code if code and code.isdigit() and len(code) in (8, 12, 13, 14) else None


def gross_price(item: Item, size: Size) -> Decimal:
    """The size's gross price, else the product's; refused by name when unreadable or < 0."""
    raw = size.gross if size.gross not in (None, "") else item.gross
    where = f"product {item.id} size {size.id} price"
    try:
        gross = round_money(raw, field=where)
    except MoneyError as exc:
        raise MappingError(str(exc)) from exc
    if gross < 0:
        raise MappingError(f"{where}: {raw!r} is negative")
    return gross


def check_net(item: Item, size: Size, gross: Decimal, rate: int) -> None:
    """Log a feed net that disagrees with the gross at the VAT rate by more than a grosz."""
    raw = size.net if size.net not in (None, "") else (
        item.net if size.gross in (None, "") else None)
    if raw in (None, ""):
        return
    expected = net_from_gross(gross, rate)
    try:
        given = parse_decimal(raw, field="net")
    except MoneyError:
        logger.warning("product %s size %s: the feed's net %r is not a number; the gross %s "
                       "is kept", item.id, size.id, raw, gross)
        return
    if abs(given - expected) > GROSZ:
        logger.warning("product %s size %s: the feed's net %s disagrees with the gross %s at "
                       "VAT %d%% (net %s); the gross is kept", item.id, size.id, given, gross,
                       rate, expected)


def stock_level(item: Item, size: Size, warehouses: frozenset[str] | None) -> Decimal | None:
    """Summed over the chosen warehouses; ``-1`` anywhere among them is null (unlimited)."""
    rows = {k: v for k, v in size.stocks.items() if warehouses is None or k in warehouses}
    if not rows:
        if size.unavailable is False and not size.stocks:
            return None  # in stock by the feed, no quantity given: unknown, not 0
        return Decimal(0)
    total = Decimal(0)
    for warehouse, raw in sorted(rows.items()):
        what = f"product {item.id} size {size.id} stock {warehouse}"
        try:
            if parse_decimal(raw, field=what) == -1:
                return None
        except MoneyError:
            pass
        amount = quantity(raw, what=what)
        if amount is None:
            return None
        total += amount
    return total


def weight_kg(raw: Any) -> Decimal | None:
    """IdoSell weighs in grams; 0 or nothing is "not set"."""
    try:
        grams = parse_decimal(raw, field="weight")
    except MoneyError:
        return None
    return grams / 1000 if grams > 0 else None


def size_option(ctx: Context) -> str:
    """The size axis' name in the chosen language."""
    return SIZE_OPTION.get(ctx.language, SIZE_OPTION["pol"])


def variant_records(item: Item, ctx: Context, rate: int, *, version_option: bool,
                    record_images: Sequence[str]) -> list[dict[str, Any]]:
    """Every size of one item as a contract variant."""
    skus = size_skus(item)
    options_tail = []
    if version_option:
        axis = ctx.pick(item.axis, what=f"product {item.id} version group name")
        value = ctx.pick(item.value, what=f"product {item.id} version name")
        if axis and value:
            options_tail = [{"name": axis[1], "value": value[1]}]
    own_images = [u for u in item.images if u not in record_images]
    variants = []
    for size in item.sizes:
        gross = gross_price(item, size)
        check_net(item, size, gross, rate)
        options = ([] if is_one_size(item)
                   else [{"name": size_option(ctx), "value": size.name or size.id}])
        variants.append({
            "id": variant_id(item, size),
            "sku": skus[size.id],
            "ean": ean(size.code_producer),
            "options": options + options_tail,
            "price_net": net_from_gross(gross, rate),
            "price_gross": gross,
            "stock": stock_level(item, size, ctx.warehouses),
            "active": item.visible,
            "images": [{"url": u, "position": n, "public": True}
                       for n, u in enumerate(own_images, start=1)],
            "weight_kg": weight_kg(size.weight_g),
        })
    return variants


def attributes(item: Item, ctx: Context, skip: Iterable[str] = ()) -> dict[str, str]:
    """Parameters as ``{name: "value, value"}`` in the chosen language, minus ``skip``."""
    skipped = set(skip)
    result: dict[str, str] = {}
    for parameter in item.parameters:
        name = ctx.pick(parameter.names, what=f"product {item.id} parameter")
        if name is None or name[1] in skipped:
            continue
        values = [v[1] for value in parameter.values
                  if (v := ctx.pick(value, what=f"product {item.id} parameter value"))]
        if values:
            result[name[1]] = ", ".join(values)
    return result


def categories_of(item: Item, ctx: Context) -> list[dict[str, Any]]:
    """The panel category with its path (from the category index, else the "A/B/C" name)."""
    if item.category_id is None:
        return []
    known = ctx.categories.get(item.category_id)
    if known is not None:
        return [{"id": item.category_id, "name": known["name"], "path": list(known["path"])}]
    path = [p.strip() for p in (item.category_name or "").split("/") if p.strip()]
    return [{"id": item.category_id, "name": path[-1] if path else None, "path": path}]


def product_record(items: Sequence[Item], ctx: Context) -> dict[str, Any]:
    """One contract record from one item, or from a version group (parent first)."""
    parent = items[0]
    merged = ctx.merge_versions and parent.group is not None
    rate = product_rate(parent)
    for other in items[1:]:
        if product_rate(other) != rate:
            raise MappingError(f"versions {parent.id} and {other.id} of one group have different"
                               " VAT rates; set merge_versions to false to sync them apart")
    name = ctx.pick(parent.names, what=f"product {parent.id}")
    if name is None:
        raise MappingError(f"product {parent.id} has no name in any language")
    lang = name[0]
    long = ctx.pick(parent.long, what=f"product {parent.id} description")
    short = ctx.pick(parent.short, what=f"product {parent.id} short description")
    url = ctx.pick(parent.urls, what=f"product {parent.id} URL")
    axis_names = {a for i in items for a in i.axis.values()} if merged else set()
    attrs = attributes(parent, ctx, skip=axis_names)
    if not merged and parent.group is not None:
        axis = ctx.pick(parent.axis, what=f"product {parent.id} version group name")
        value = ctx.pick(parent.value, what=f"product {parent.id} version name")
        if axis and value:
            attrs[axis[1]] = value[1]
    variants = [v for item in items for v in variant_records(
        item, ctx, rate, version_option=merged, record_images=parent.images)]
    visible = [i.visible for i in items if i.visible is not None]
    created = [i.created_at for i in items if i.created_at]
    updated = [i.updated_at for i in items if i.updated_at]
    return {
        "id": group_key(parent, ctx.merge_versions) if merged else parent.id,
        "platform": PLATFORM,
        "sku": parent.code,
        "name": name[1],
        "description_html": absolute_links(long[1] if long else None, ctx.shop_url),
        "short_description_html": short[1] if short else None,
        "language": LANGUAGES.get(lang, lang),
        "url": url[1] if url else None,
        "brand": parent.brand,
        "categories": categories_of(parent, ctx),
        "images": [{"url": u, "position": n, "public": True}
                   for n, u in enumerate(parent.images, start=1)],
        "vat_rate": rate,
        "currency": parent.currency,
        "active": any(visible) if visible else None,
        "attributes": attrs,
        "created_at": min(created) if created else None,
        "updated_at": max(updated) if updated else None,
        "variants": variants,
    }


def order_group(items: Iterable[Item]) -> list[Item]:
    """A version group's items with the parent (the group's key) first, then by id."""
    def key(item: Item) -> tuple[int, int]:
        try:
            number = int(item.id)
        except ValueError:
            number = 1 << 30
        return (0 if item.id == item.group else 1, number)
    return sorted(items, key=key)


def stock_records(item: Item, ctx: Context, observed_at: str | None) -> list[dict[str, Any]]:
    """One ``stock`` record per size; the same ids and skus as the products stream."""
    skus = size_skus(item)
    return [{"product_id": group_key(item, ctx.merge_versions),
             "variant_id": variant_id(item, size), "sku": skus[size.id],
             "ean": ean(size.code_producer),
             "quantity": stock_level(item, size, ctx.warehouses),
             "updated_at": item.updated_at or observed_at} for size in item.sizes]


def category_index(rows: Iterable[dict[str, Any]], language: str) -> dict[str, dict[str, Any]]:
    """Admin API panel categories (``id``, ``parent_id``, ``lang_data``) with full paths,
    parents before children; a parent the list lacks makes its child a root (logged)."""
    raw: dict[str, tuple[str | None, str]] = {}
    for row in rows:
        cid = str(row.get("id"))
        names = {str(d.get("lang_id")): d.get("singular_name") or d.get("plural_name")
                 for d in row.get("lang_data") or [] if isinstance(d, dict)}
        name = names.get(language) or names.get("pol") or next(
            (n for n in names.values() if n), None) or f"#{cid}"
        parent = row.get("parent_id")
        raw[cid] = (str(parent) if parent not in (None, "", 0, "0") else None, str(name))
    index: dict[str, dict[str, Any]] = {}

    def resolve(cid: str, seen: frozenset[str] = frozenset()) -> dict[str, Any]:
        if cid in index:
            return index[cid]
        parent, name = raw[cid]
        if parent is not None and (parent not in raw or parent in seen):
            logger.warning("category %s: parent %s is not in the category list; taken as a "
                           "root", cid, parent)
            parent = None
        path = [*resolve(parent, seen | {cid})["path"], name] if parent else [name]
        index[cid] = {"id": cid, "name": name, "parent_id": parent, "path": path}
        return index[cid]

    for cid in raw:
        resolve(cid)
    return index


def categories_from_items(items: Iterable[Item]) -> list[dict[str, Any]]:
    """Categories from the products' own ``id`` + "A/B/C" name (a bare IOF full file has no
    tree): each category seen, its parent the category whose path is one shorter (None when
    no product sits in it)."""
    paths: dict[str, list[str]] = {}
    for item in items:
        if item.category_id and item.category_id not in paths:
            paths[item.category_id] = [p.strip() for p in (item.category_name or "").split("/")
                                       if p.strip()] or [f"#{item.category_id}"]
    by_path = {tuple(path): cid for cid, path in paths.items()}
    return [{"id": cid, "name": path[-1], "parent_id": by_path.get(tuple(path[:-1])),
             "path": path} for cid, path in sorted(paths.items(), key=lambda p: len(p[1]))]
