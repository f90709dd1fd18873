"""Pure functions from Shoper's JSON to the contract's records (no HTTP, no SDK).

Shoper sends everything as strings, empty objects as ``[]``, texts keyed by locale, times as
naive shop-local strings, prices gross and VAT as a tax id. Everything here turns that into
the record contract of ``commerce_schema``; the focused tests pin these functions on
realistic responses.

Rules worth knowing (README has the full list):

- Sellable variants: a product whose ``options`` is empty sells exactly its default stock row
  (variant id = product id, as the contract says for a simple product); otherwise every
  ``extended=1`` row of ``product-stocks`` is one variant (variant id = its ``stock_id``), and
  the default row is not sold on its own. Stock is copied, never split or invented.
- Prices: ``comp_price`` (the computed final price, whatever ``price_type`` says) is gross;
  net comes from it at the product's VAT with ``net_from_gross``.
- VAT: ``taxes`` by name ("23%", "zw.", "np.", "0%"); the value only when the name is not a
  rate.
- Stock: a number (fractional kept as Decimal); null/"" means the shop reports no quantity
  (not tracked) and stays null; never 0 by default.
- Translations: the chosen language, else the shop's default language, else any language,
  with one warning per object; an object with no translation at all is skipped with a
  warning.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from commerce_schema.money import MoneyError, net_from_gross, round_money, vat_rate
from tapkit.readers import (
    Translator,
    as_dict,
    flag,
    local_to_utc,
    quantity,
    text,
    utc_to_local,
)
from tapkit.streams import MappingError

__all__ = ["MappingError", "ShopContext", "Translator", "as_dict", "category_records", "flag",
           "local_to_utc", "product_record", "quantity", "stock_record", "text",
           "utc_to_local", "variant_options"]

PLATFORM = "shoper"
IMAGE_PATH = "/userdata/public/gfx"

logger = logging.getLogger("tap-shoper.mapping")


# -- small readers (the generic ones are the kit's: tapkit.readers) -------------------------
def weight(value: Any) -> Decimal | None:
    """A weight in kg; Shoper writes "0" for "not set", which becomes None."""
    amount = quantity(value, what="weight")
    return amount if amount else None


def tax_rate(tax: Mapping[str, Any]) -> int:
    """VAT percent of a ``taxes`` row, by name first ("zw."/"np." are 0), then by value."""
    name, value = tax.get("name"), tax.get("value")
    try:
        return vat_rate(name, field="taxes.name")
    except MoneyError:
        pass
    try:
        return vat_rate(value, field="taxes.value")
    except MoneyError as exc:
        raise MappingError(f"tax {tax.get('tax_id')}: neither name {name!r} nor value "
                           f"{value!r} is a VAT rate") from exc


def image_url(shop_url: str, image: Mapping[str, Any]) -> str | None:
    """The public storefront URL of a gallery image: ``/userdata/public/gfx/{unic}.{ext}``."""
    unic, extension = text(image.get("unic_name")), text(image.get("extension"))
    if unic is None:
        return None
    return f"{shop_url}{IMAGE_PATH}/{unic}.{extension or 'jpg'}"


# -- the shop's dictionaries ---------------------------------------------------------------
@dataclass
class ShopContext:
    """Everything a product or category needs from the shop's dictionaries, resolved once."""

    shop_url: str
    translator: Translator
    timezone: ZoneInfo
    currency: str | None
    taxes: dict[str, int]
    producers: dict[str, str]
    options: dict[str, tuple[int, str]]  # option_id -> (sort order, name)
    option_values: dict[str, str]  # ovalue_id -> value
    attributes: dict[str, str]  # attribute_id -> name
    categories: dict[str, dict[str, Any]]  # category_id -> {id, name, parent_id, path}

    @classmethod
    def build(cls, *, shop_url: str, language: str, config: Mapping[str, Any],
              taxes: Iterable[Mapping[str, Any]], producers: Iterable[Mapping[str, Any]],
              options: Iterable[Mapping[str, Any]], option_values: Iterable[Mapping[str, Any]],
              attributes: Iterable[Mapping[str, Any]], categories: Iterable[Mapping[str, Any]],
              tree: Any) -> ShopContext:
        """Resolve the raw dictionaries (``application-config``, ``taxes``, ...)."""
        default = text(config.get("default_language_name")) or language
        translator = Translator(language, default)
        zone_name = text(config.get("locale_timezone")) or "Europe/Warsaw"
        option_rows = list(options)
        option_map = {
            str(o["option_id"]): (_int(o.get("order")),
                                  translator.text_of(o.get("translations"), "name",
                                                     kind="option", object_id=o["option_id"])
                                  or str(o["option_id"]))
            for o in option_rows
        }
        value_map = {}
        for v in option_values:
            value = translator.text_of(v.get("translations"), "value", kind="option value",
                                       object_id=v["ovalue_id"])
            value_map[str(v["ovalue_id"])] = value if value is not None else str(v["ovalue_id"])
        attribute_map = {}
        for a in attributes:
            name = (translator.text_of(a.get("translations"), "name", kind="attribute",
                                       object_id=a["attribute_id"]) or text(a.get("name")))
            if name:
                attribute_map[str(a["attribute_id"])] = name
        return cls(
            shop_url=shop_url.rstrip("/"), translator=translator, timezone=ZoneInfo(zone_name),
            currency=text(config.get("default_currency_name")),
            taxes={str(t["tax_id"]): tax_rate(t) for t in taxes},
            producers={str(p["producer_id"]): p["name"] for p in producers if text(p.get("name"))},
            options=option_map, option_values=value_map, attributes=attribute_map,
            categories=category_index(categories, tree, translator),
        )


def category_index(rows: Iterable[Mapping[str, Any]], tree: Any, translator: Translator
                   ) -> dict[str, dict[str, Any]]:
    """Categories with parent and full path: names from ``categories``, structure from
    ``categories-tree`` (``categories`` has no parent id). Tree order first, then any
    category the tree does not show, as a root."""
    names: dict[str, str] = {}
    for row in rows:
        cid = str(row["category_id"])
        names[cid] = (translator.text_of(row.get("translations"), "name", kind="category",
                                         object_id=cid) or f"#{cid}")
    index: dict[str, dict[str, Any]] = {}

    def walk(nodes: Any, parent: str | None, path: list[str]) -> None:
        for node in nodes if isinstance(nodes, list) else []:
            if not isinstance(node, dict) or node.get("id") is None:
                continue
            cid = str(node["id"])
            name = names.get(cid, f"#{cid}")
            index[cid] = {"id": cid, "name": name, "parent_id": parent,
                          "path": [*path, name]}
            walk(node.get("children"), cid, [*path, name])

    walk(tree, None, [])
    for cid, name in names.items():
        if cid not in index:
            index[cid] = {"id": cid, "name": name, "parent_id": None, "path": [name]}
    return index


# -- records ----------------------------------------------------------------------------------
def sellable_rows(product: Mapping[str, Any], stocks: Iterable[Mapping[str, Any]]
                  ) -> list[tuple[str, dict[str, Any]]]:
    """``(variant_id, stock row)`` for every variant the shop sells, ordered by stock id.

    ``product.options`` empty: the default row only, with the product id as variant id.
    Otherwise the ``extended=1`` rows (each its own stock id); if none came back the default
    row stands in (logged), so a product is never dropped and stock never invented.
    """
    pid = str(product["product_id"])
    rows = [dict(r) for r in stocks if str(r.get("product_id")) == pid]
    default = next((r for r in rows if not flag(r.get("extended"))),
                   dict(as_dict(product.get("stock"))))
    listed = {str(s) for s in (product.get("options") or [])}
    if not listed:
        return [(pid, default)]
    variants = sorted((r for r in rows if flag(r.get("extended"))),
                      key=lambda r: _int(r.get("stock_id")))
    missing = listed - {str(r.get("stock_id")) for r in variants}
    if missing:
        logger.warning("product %s lists variant stock ids %s that product-stocks did not "
                       "return", pid, ", ".join(sorted(missing, key=_int)))
    if not variants:
        return [(pid, default)]
    return [(str(r["stock_id"]), r) for r in variants]


def product_record(product: Mapping[str, Any], stocks: Iterable[Mapping[str, Any]],
                   images: Iterable[Mapping[str, Any]], shop: ShopContext, *,
                   sellable: list[tuple[str, dict[str, Any]]] | None = None
                   ) -> dict[str, Any] | None:
    """One ``products`` record with all sellable variants; None if it has no text at all.

    ``sellable``: :func:`sellable_rows` of ``stocks`` when the caller already has it."""
    pid = str(product["product_id"])
    picked = shop.translator.pick(product.get("translations"), kind="product", object_id=pid)
    if picked is None or not text(picked[1].get("name")):
        logger.warning("product %s has no name in any language; skipped", pid)
        return None
    locale, texts = picked
    tax_id = str(product.get("tax_id"))
    if tax_id not in shop.taxes:
        raise MappingError(f"product {pid}: tax_id {tax_id} is not in the shop's taxes")
    rate = shop.taxes[tax_id]
    gallery = sorted((dict(i) for i in images if str(i.get("product_id")) == pid),
                     key=lambda i: (not flag(i.get("main")), _int(i.get("order")),
                                    _int(i.get("gfx_id"))))
    if not gallery and isinstance(product.get("main_image"), dict):
        gallery = [dict(product["main_image"], main="1")]
    by_gfx = {str(i.get("gfx_id")): i for i in gallery}
    shown = [url for i in gallery if not flag(i.get("hidden"))
             if (url := image_url(shop.shop_url, i))]
    default_row = dict(as_dict(product.get("stock")))
    variants = [variant_record(product, vid, row, default_row, rate, by_gfx, shop)
                for vid, row in (sellable if sellable is not None
                                 else sellable_rows(product, stocks))]
    return {
        "id": pid,
        "platform": PLATFORM,
        "sku": text(product.get("code")) or text(default_row.get("code")),
        "name": text(texts.get("name")),
        "description_html": text(texts.get("description")),
        "short_description_html": text(texts.get("short_description")),
        "language": locale.split("_")[0],
        "url": text(texts.get("permalink")),
        "brand": shop.producers.get(str(product.get("producer_id"))),
        "categories": product_categories(product, shop),
        "images": [{"url": url, "position": n, "public": True}
                   for n, url in enumerate(shown, start=1)],
        "vat_rate": rate,
        "currency": shop.currency,
        "active": flag(texts.get("active")),
        "attributes": product_attributes(product, shop),
        "created_at": local_to_utc(product.get("add_date"), shop.timezone),
        "updated_at": local_to_utc(product.get("edit_date"), shop.timezone),
        "variants": variants,
    }


def variant_record(product: Mapping[str, Any], variant_id: str, row: Mapping[str, Any],
                   default_row: Mapping[str, Any], rate: int, gallery: Mapping[str, Any],
                   shop: ShopContext) -> dict[str, Any]:
    """One variant: its own code, EAN, absolute gross price (``comp_price``), stock, image."""
    pid = str(product["product_id"])
    simple = variant_id == pid
    gross_raw = row.get("comp_price")
    if text(gross_raw) is None:
        gross_raw = default_row.get("comp_price")
    try:
        gross = round_money(gross_raw, field=f"product {pid} variant {variant_id} comp_price")
        net = net_from_gross(gross, rate)
    except MoneyError as exc:
        raise MappingError(str(exc)) from exc
    if gross < 0:  # a broken price rule; the contract (and the Gateway) refuse it anyway
        raise MappingError(f"product {pid} variant {variant_id} comp_price: {gross_raw!r} is "
                           "negative")
    ean = text(row.get("ean")) or (text(product.get("ean")) if simple else None)
    image = gallery.get(str(row.get("gfx_id"))) if text(row.get("gfx_id")) else None
    url = image_url(shop.shop_url, image) if image else None
    return {
        "id": variant_id,
        "sku": text(row.get("code")) or (text(product.get("code")) if simple else None),
        "ean": ean,
        "options": variant_options(row, shop),
        "price_net": net,
        "price_gross": gross,
        "stock": quantity(row.get("stock"), what=f"product {pid} variant {variant_id} stock"),
        "active": flag(row.get("active", "1")),
        "images": [{"url": url, "position": 1, "public": True}] if url else [],
        "weight_kg": (weight(row.get("comp_weight")) or
                      (weight(row.get("weight")) if not flag(row.get("extended")) else None)
                      or weight(default_row.get("weight"))),
    }


def variant_options(row: Mapping[str, Any], shop: ShopContext) -> list[dict[str, str]]:
    """``{option_id: ovalue_id}`` (or the SDK's list of ``{option_id, value_id}``, or ``[]``)
    as ``[{name, value}]`` in the shop's option order."""
    raw = row.get("options")
    pairs: list[tuple[str, str]] = []
    if isinstance(raw, dict):
        pairs = [(str(k), str(v)) for k, v in raw.items()]
    elif isinstance(raw, list):
        pairs = [(str(i.get("option_id")), str(i.get("value_id", i.get("ovalue_id"))))
                 for i in raw if isinstance(i, dict)]
    pairs.sort(key=lambda p: (shop.options.get(p[0], (1 << 30, ""))[0], _int(p[0])))
    return [{"name": shop.options.get(oid, (0, f"option {oid}"))[1],
             "value": shop.option_values.get(vid, vid)} for oid, vid in pairs]


def product_categories(product: Mapping[str, Any], shop: ShopContext) -> list[dict[str, Any]]:
    """The product's categories (main one first) with names and paths from the tree."""
    ids = [str(c) for c in (product.get("categories") or [])]
    main = text(product.get("category_id"))
    if main and main not in ids:
        ids.insert(0, main)
    result = []
    for cid in dict.fromkeys(ids):
        category = shop.categories.get(cid)
        if category is None:
            logger.warning("product %s: category %s is not in the category tree",
                           product.get("product_id"), cid)
            continue
        result.append({"id": cid, "name": category["name"], "path": list(category["path"])})
    return result


def product_attributes(product: Mapping[str, Any], shop: ShopContext) -> dict[str, str]:
    """``{group_id: {attribute_id: value}}`` (or ``[]``) as ``{name: value}``."""
    result: dict[str, str] = {}
    for group in as_dict(product.get("attributes")).values():
        for attribute_id, value in as_dict(group).items():
            name = shop.attributes.get(str(attribute_id))
            if name and text(value) is not None:
                result[name] = str(value)
    return result


def category_records(shop: ShopContext) -> list[dict[str, Any]]:
    """The ``categories`` stream."""
    return [dict(c, path=list(c["path"])) for c in shop.categories.values()]


def stock_record(row: Mapping[str, Any], variant_id: str, observed_at: str) -> dict[str, Any]:
    """One ``stock`` record; ``updated_at`` is when the quantity was read (Shoper keeps no
    change time for stock rows)."""
    pid = str(row["product_id"])
    return {
        "product_id": pid,
        "variant_id": variant_id,
        "sku": text(row.get("code")),
        "ean": text(row.get("ean")),
        "quantity": quantity(row.get("stock"), what=f"product {pid} stock {row.get('stock_id')}"),
        "updated_at": observed_at,
    }


def _int(value: Any) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return 1 << 30
