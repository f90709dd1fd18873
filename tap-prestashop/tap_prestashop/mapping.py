"""Pure functions from PrestaShop webservice JSON to the contract's records (no HTTP, no SDK).

PrestaShop stores prices net (6 decimals) per product, and per combination only a net price
*impact*; VAT comes from a tax rules group whose rules differ per country; multilingual fields
come as plain strings (with ``language=N``) or as ``[{"id": "1", "value": ...}]``; empty lists
as ``[]``; ids in associations as strings, ``"0"`` meaning none. The focused tests pin these
functions on realistic answers.

Rules (README has the full list):

- Variants = combinations. A product without combinations has one variant whose id is the
  product id. ``sku`` = the combination's reference, else the product's; ``ean`` likewise.
- Net = product price + the combination's impact (never the impact alone, never "impact or
  price"); gross = net at the VAT rate, Decimal, half up; both rounded to the grosz.
- VAT = the rate of the tax rules group's rules for the chosen country (country-wide rules
  only: no state, no zip-code range), combined as PrestaShop does (behavior 0: this tax only,
  1: summed, 2: one after another). Never the group's name, never its first rule.
- Stock from ``stock_availables`` by (product, combination), copied, never split or summed;
  the product-level row (combination 0) only for a product without combinations; no row
  means the quantity is unknown (null), never 0.
- Images: the product's, cover first then in position order; a combination's own images on
  its variant (a combination without its own shows the product's, which the target puts on
  every variant anyway). ``[{"id": "0"}]`` means none.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from commerce_schema.contract import SUPPORTED_VAT_RATES
from commerce_schema.money import TWO_PLACES, MoneyError, parse_decimal, round_money
from tapkit.readers import as_dict, flag, local_to_utc, sort_position, text
from tapkit.streams import MappingError

PLATFORM = "prestashop"
#: the technical root category every PrestaShop has (id_parent 0)
TECHNICAL_ROOT_PARENT = "0"

logger = logging.getLogger("tap-prestashop.mapping")


# -- small readers ---------------------------------------------------------------------------
def rows_of(body: Any, resource: str) -> list[dict[str, Any]]:
    """The rows of a list answer: ``{"products": [...]}``; PrestaShop answers an empty list
    as ``[]`` (not ``{"products": []}``); a single object (``{"product": {...}}``) is one row.
    Anything else is not a list answer of ``resource``."""
    if isinstance(body, list):
        if body:
            raise ValueError(f"a bare JSON list instead of {{{resource!r}: [...]}}")
        return []
    if isinstance(body, dict):
        value = body.get(resource)
        if isinstance(value, list):
            return [r for r in value if isinstance(r, dict)]
        if isinstance(value, dict):
            return [value]
        if not body:
            return []
    raise ValueError(f"no {resource!r} list in the answer")


def ident(value: Any) -> str | None:
    """An id as a string; ``0``, ``"0"``, ``""``, null and ``false`` mean none."""
    if value is None or value is False:
        return None
    result = str(value).strip()
    return None if result in ("", "0") else result


def assoc_ids(associations: Any, name: str) -> list[str]:
    """Ids listed in ``associations[name]`` (``[{"id": "3"}, ...]``), in order, without the
    ``{"id": "0"}`` some shops put there for "none"."""
    listed = as_dict(associations).get(name)
    if not isinstance(listed, list):
        return []
    found = [ident(i.get("id")) if isinstance(i, dict) else ident(i) for i in listed]
    return [i for i in dict.fromkeys(found) if i is not None]


def translated(value: Any, language: str, default_language: str) -> str | None:
    """A multilingual field in ``language``, else the default language, else any.

    PrestaShop sends a plain string when the shop has one language or ``language=N`` was
    asked, else ``[{"id": "1", "value": "..."}, ...]``; an empty text counts as missing.
    """
    if not isinstance(value, list):
        return text(value) if value is not False else None
    texts = {str(i.get("id")): text(i.get("value")) for i in value if isinstance(i, dict)}
    for candidate in (language, default_language, *texts):
        if texts.get(candidate):
            return texts[candidate]
    return None


def decimal(value: Any, what: str) -> Decimal:
    """A number PrestaShop sends as ``"%f"`` text; a mapping error naming ``what`` if not."""
    try:
        return parse_decimal(value, field=what)
    except MoneyError as exc:
        raise MappingError(str(exc)) from exc


def plain_number(value: Decimal) -> Decimal:
    """``1.500000`` -> ``1.5``, ``2.000000`` -> ``2`` (no exponent notation)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def image_url(shop_url: str, image_id: str) -> str:
    """The storefront file of an image, public on any shop: 936 -> ``/img/p/9/3/6/936.jpg``."""
    return f"{shop_url}/img/p/{'/'.join(image_id)}/{image_id}.jpg"


# -- VAT -------------------------------------------------------------------------------------
def _country_wide(rule: Mapping[str, Any]) -> bool:
    return ident(rule.get("id_state")) is None and ident(rule.get("zipcode_from")) is None


def tax_rates(rules: Iterable[Mapping[str, Any]], taxes: Iterable[Mapping[str, Any]],
              country_id: str, country_iso: str, *, taxes_enabled: bool = True
              ) -> tuple[dict[str, int], dict[str, str]]:
    """VAT percent per tax rules group for one country, and why a group has none.

    Only the country's country-wide rules count. As PrestaShop's tax manager does, rules are
    taken in order until one with behavior 0 ("this tax only"); behavior 1 sums the rates,
    2 applies them one after another. A rate must be one the Gateway has (23/8/5/0). Group 0
    is "no tax". With taxes switched off shop-wide (``PS_TAX=0``) every rate is 0.
    """
    rate_of: dict[str, tuple[Decimal, bool]] = {}
    for tax in taxes:
        tid = ident(tax.get("id"))
        if tid is not None:
            try:
                rate = parse_decimal(tax.get("rate"), field=f"tax {tid} rate")
            except MoneyError:
                continue
            usable = flag(tax.get("active", "1")) and not flag(tax.get("deleted"))
            rate_of[tid] = (rate, usable)
    by_group: dict[str, list[Mapping[str, Any]]] = {}
    for rule in rules:
        group = ident(rule.get("id_tax_rules_group"))
        if group is not None:
            by_group.setdefault(group, [])
            if str(rule.get("id_country")) == str(country_id) and _country_wide(rule):
                by_group[group].append(rule)
    rates: dict[str, int] = {"0": 0}
    problems: dict[str, str] = {}
    for group, chosen in by_group.items():
        if not taxes_enabled:
            rates[group] = 0
            continue
        if not chosen:
            problems[group] = (f"tax rules group {group} has no rule for {country_iso}; add "
                               f"one in the back office (International > Taxes > Tax Rules) "
                               "or set vat_country_iso")
            continue
        combined, parts = _combine(sorted(chosen, key=lambda r: int(str(r.get("id") or 0))),
                                   rate_of)
        if combined is None:
            problems[group] = (f"tax rules group {group}: the {country_iso} rule names a tax "
                               f"that is missing, inactive or deleted ({parts})")
            continue
        if combined != combined.to_integral_value() or int(combined) not in SUPPORTED_VAT_RATES:
            problems[group] = (f"tax rules group {group} gives {combined.normalize()}% VAT in "
                               f"{country_iso} ({parts}); the Gateway takes 23, 8, 5 or 0")
            continue
        rates[group] = int(combined)
    return rates, problems


def _combine(rules: list[Mapping[str, Any]], rate_of: Mapping[str, tuple[Decimal, bool]]
             ) -> tuple[Decimal | None, str]:
    picked: list[Decimal] = []
    behavior = "0"
    names = []
    for rule in rules:
        tid = str(rule.get("id_tax"))
        names.append(f"tax {tid}")
        rate, usable = rate_of.get(tid, (Decimal(0), False))
        if not usable:
            return None, ", ".join(names)
        picked.append(rate)
        behavior = str(rule.get("behavior") or "0")
        if behavior == "0":
            break
    if behavior == "2":  # one after another
        factor = Decimal(1)
        for rate in picked:
            factor *= 1 + rate / 100
        return (factor - 1) * 100, ", ".join(names)
    return sum(picked, Decimal(0)), ", ".join(names)


# -- the shop's dictionaries ----------------------------------------------------------------
@dataclass(frozen=True)
class OptionValue:
    """One attribute value with its group, in the chosen language."""

    group_name: str
    group_position: int
    group_id: int
    value: str


@dataclass
class ShopContext:
    """Everything a product or category needs from the shop's dictionaries, resolved once."""

    shop_url: str
    language_id: str
    default_language_id: str
    language_iso: str
    timezone: ZoneInfo
    currency: str | None
    vat: dict[str, int]
    vat_problems: dict[str, str]
    option_values: dict[str, OptionValue]
    features: dict[str, str]
    categories: dict[str, dict[str, Any]]
    #: stock quantities are not tracked at all (``PS_STOCK_MANAGEMENT=0``)
    stock_untracked: bool = False
    #: ids of the technical root and the shop's root ("Home") categories: never emitted
    hidden_categories: set[str] = field(default_factory=set)

    def text(self, value: Any) -> str | None:
        """A multilingual field in the chosen language (falling back as documented)."""
        return translated(value, self.language_id, self.default_language_id)


def option_index(groups: Iterable[Mapping[str, Any]], values: Iterable[Mapping[str, Any]],
                 language: str, default_language: str) -> dict[str, OptionValue]:
    """``product_option_values`` by id, each with its group's public name and position."""
    by_group: dict[str, tuple[str, int, int]] = {}
    for group in groups:
        gid = ident(group.get("id"))
        if gid is None:
            continue
        name = (translated(group.get("public_name"), language, default_language)
                or translated(group.get("name"), language, default_language) or f"#{gid}")
        by_group[gid] = (name, sort_position(group.get("position")), int(gid))
    index = {}
    for value in values:
        vid = ident(value.get("id"))
        gid = ident(value.get("id_attribute_group"))
        if vid is None or gid is None:
            continue
        name, position, number = by_group.get(gid, (f"#{gid}", 1 << 30, sort_position(gid)))
        index[vid] = OptionValue(name, position, number,
                                 translated(value.get("name"), language, default_language)
                                 or f"#{vid}")
    return index


def category_index(rows: Iterable[Mapping[str, Any]], language: str, default_language: str
                   ) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """Categories with parent and full path, and the ids never emitted.

    The technical root (``id_parent`` 0, "Root") and shop roots (``is_root_category``,
    "Home") are not real categories: they are left out, and their children are the top
    level. Paths are names from that level down, walked along ``id_parent``.
    """
    listed = [dict(r) for r in rows if ident(r.get("id")) is not None]
    hidden = {str(r["id"]) for r in listed
              if str(r.get("id_parent", "")).strip() in ("", TECHNICAL_ROOT_PARENT)
              or flag(r.get("is_root_category"))}
    by_id = {str(r["id"]): r for r in listed}
    index: dict[str, dict[str, Any]] = {}
    for row in sorted(listed, key=lambda r: int(str(r["id"]))):
        cid = str(row["id"])
        if cid in hidden:
            continue
        path: list[str] = []
        current: str | None = cid
        seen: set[str] = set()
        while current is not None and current not in hidden and current not in seen:
            seen.add(current)
            node = by_id.get(current)
            if node is None:
                break
            path.insert(0, translated(node.get("name"), language, default_language)
                        or f"#{current}")
            current = ident(node.get("id_parent"))
        parent = ident(row.get("id_parent"))
        index[cid] = {"id": cid, "name": path[-1],
                      "parent_id": None if parent is None or parent in hidden else parent,
                      "path": path}
    return index, hidden


def category_records(shop: ShopContext) -> list[dict[str, Any]]:
    """The ``categories`` stream."""
    return [dict(c, path=list(c["path"])) for c in shop.categories.values()]


# -- products ----------------------------------------------------------------------------------
def product_record(product: Mapping[str, Any], combinations: Iterable[Mapping[str, Any]],
                   stock: Mapping[tuple[str, str], Any], features: Mapping[str, Any],
                   shop: ShopContext, image: Callable[[str, str], dict[str, Any] | None]
                   | None = None) -> dict[str, Any]:
    """One ``products`` record with every combination as a variant.

    ``combinations`` may hold other products' rows (they are ignored); ``stock`` maps
    (product id, combination id or "0") to the ``quantity`` field; ``features`` maps a feature
    value id to its multilingual ``value``; ``image(product_id, image_id)`` gives an image
    entry (default: the public storefront URL).
    """
    pid = ident(product.get("id"))
    if pid is None:
        raise MappingError(f"a product row without an id ({str(dict(product))[:80]})")
    name = shop.text(product.get("name"))
    if name is None:
        raise MappingError(f"product {pid} has no name in any language")
    group = ident(product.get("id_tax_rules_group")) or "0"
    if group not in shop.vat:
        raise MappingError(f"product {pid}: " + shop.vat_problems.get(
            group, f"tax rules group {group} does not exist in the shop"))
    rate = shop.vat[group]
    base = decimal(product.get("price"), f"product {pid} price")
    active = flag(product.get("active"))
    fetch = image or (lambda _pid, iid: {"url": image_url(shop.shop_url, iid), "public": True})
    known: dict[str, dict[str, Any] | None] = {}

    def images_of(product_id: str, image_id: str) -> dict[str, Any] | None:
        # a combination's image is one of the product's: read (or download) it once
        if image_id not in known:
            known[image_id] = fetch(product_id, image_id)
        return known[image_id]

    gallery = _gallery(product)
    combos = sorted((c for c in combinations if str(c.get("id_product")) == pid
                     and ident(c.get("id")) is not None), key=lambda c: int(str(c["id"])))
    listed = assoc_ids(product.get("associations"), "combinations")
    missing = set(listed) - {str(c["id"]) for c in combos}
    if missing:
        raise MappingError(f"product {pid}: combinations {', '.join(sorted(missing, key=int))} "
                           "were listed but not returned by /api/combinations")
    if combos:
        variants = [_variant(product, pid, c, base, rate, stock, active, gallery, shop,
                             images_of) for c in combos]
    else:
        variants = [_variant(product, pid, None, base, rate, stock, active, gallery, shop,
                             images_of)]
    return {
        "id": pid,
        "platform": PLATFORM,
        "sku": text(product.get("reference")),
        "name": name,
        "description_html": shop.text(product.get("description")),
        "short_description_html": shop.text(product.get("description_short")),
        "language": shop.language_iso,
        "url": product_url(shop, pid),
        "brand": text(product.get("manufacturer_name")) if product.get("manufacturer_name")
        else None,
        "categories": product_categories(product, shop),
        "images": _positioned(images_of(pid, iid) for iid in gallery),
        "vat_rate": rate,
        "currency": shop.currency,
        "active": active,
        "attributes": product_attributes(product, features, shop),
        "created_at": local_to_utc(product.get("date_add"), shop.timezone),
        "updated_at": local_to_utc(product.get("date_upd"), shop.timezone),
        "variants": variants,
    }


def _gallery(product: Mapping[str, Any]) -> list[str]:
    """Image ids: the cover (``id_default_image``) first, then the others by position."""
    ids = assoc_ids(product.get("associations"), "images")
    cover = ident(product.get("id_default_image"))
    if cover in ids:
        ids.remove(cover)
        ids.insert(0, cover)
    return ids


def _variant(product: Mapping[str, Any], pid: str, combo: Mapping[str, Any] | None,
             base: Decimal, rate: int, stock: Mapping[tuple[str, str], Any], active: bool,
             gallery: list[str], shop: ShopContext,
             images_of: Callable[[str, str], dict[str, Any] | None]) -> dict[str, Any]:
    cid = str(combo["id"]) if combo is not None else None
    where = f"product {pid}" + (f" combination {cid}" if cid else "")
    impact = decimal(combo.get("price") or "0", f"{where} price impact") if combo else Decimal(0)
    net_exact = base + impact
    if net_exact < 0:
        raise MappingError(f"{where}: net price {net_exact} is negative (product price {base} "
                           f"{'+' if impact >= 0 else '-'} impact {abs(impact)})")
    try:
        net = round_money(net_exact, field=f"{where} price")
    except MoneyError as exc:
        raise MappingError(str(exc)) from exc
    gross = (net_exact * (100 + rate) / 100).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)
    weight = decimal(product.get("weight") or "0", f"product {pid} weight")
    if combo is not None:
        weight += decimal(combo.get("weight") or "0", f"{where} weight")
    own_images = (assoc_ids(combo.get("associations"), "images") if combo is not None else [])
    own_images = [i for i in gallery if i in own_images] + [i for i in own_images
                                                             if i not in gallery]
    quantity = None if shop.stock_untracked else stock.get((pid, cid or "0"))
    return {
        "id": cid or pid,
        "sku": (text(combo.get("reference")) if combo else None) or text(product.get("reference")),
        "ean": (text(combo.get("ean13")) if combo else None) or text(product.get("ean13")),
        "options": variant_options(combo, shop) if combo is not None else [],
        "price_net": net,
        "price_gross": gross,
        "stock": _quantity(quantity, where),
        "active": active and flag(combo.get("active", "1")) if combo is not None else active,
        "images": _positioned(images_of(pid, iid) for iid in own_images),
        "weight_kg": plain_number(weight) if weight > 0 else None,
    }


def _positioned(entries: Iterable[dict[str, Any] | None]) -> list[dict[str, Any]]:
    """Image entries numbered from 1 in order, the missing (unreadable) ones left out."""
    found = [entry for entry in entries if entry is not None]
    return [dict(entry, position=n) for n, entry in enumerate(found, start=1)]


def _quantity(value: Any, where: str) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        amount = parse_decimal(value, field=f"{where} stock")
    except MoneyError:
        logger.warning("%s: stock %r is not a quantity; emitted as null", where, value)
        return None
    if amount < 0:  # oversold: nobody can buy minus two mugs
        return Decimal(0)
    return plain_number(amount)


def variant_options(combo: Mapping[str, Any], shop: ShopContext) -> list[dict[str, str]]:
    """The combination's attribute values as ``[{name, value}]``, in the groups' order."""
    values = []
    for vid in assoc_ids(combo.get("associations"), "product_option_values"):
        option = shop.option_values.get(vid)
        if option is None:
            raise MappingError(f"product {combo.get('id_product')} combination "
                               f"{combo.get('id')}: attribute value {vid} is not in "
                               "/api/product_option_values")
        values.append(option)
    values.sort(key=lambda o: (o.group_position, o.group_id))
    return [{"name": o.group_name, "value": o.value} for o in values]


def product_url(shop: ShopContext, pid: str) -> str:
    """The product page: ``index.php?controller=product&id_product=N`` works with and without
    friendly URLs (the shop redirects it to the canonical address)."""
    url = f"{shop.shop_url}/index.php?controller=product&id_product={pid}"
    if shop.language_id != shop.default_language_id:
        url += f"&id_lang={shop.language_id}"
    return url


def product_categories(product: Mapping[str, Any], shop: ShopContext) -> list[dict[str, Any]]:
    """The default category first, then the others; never Root or Home."""
    ids = assoc_ids(product.get("associations"), "categories")
    default = ident(product.get("id_category_default"))
    if default is not None:
        ids = [default, *[i for i in ids if i != default]]
    result = []
    for cid in ids:
        if cid in shop.hidden_categories:
            continue
        category = shop.categories.get(cid)
        if category is None:
            logger.warning("product %s: category %s is not in /api/categories",
                           product.get("id"), cid)
            continue
        result.append({"id": cid, "name": category["name"], "path": list(category["path"])})
    return result


def product_attributes(product: Mapping[str, Any], features: Mapping[str, Any],
                       shop: ShopContext) -> dict[str, str]:
    """Product features as ``{feature name: value}`` (several values joined by ", ")."""
    result: dict[str, list[str]] = {}
    listed = as_dict(product.get("associations")).get("product_features")
    for entry in listed if isinstance(listed, list) else []:
        if not isinstance(entry, dict):
            continue
        name = shop.features.get(str(entry.get("id")))
        value = shop.text(features.get(str(entry.get("id_feature_value"))))
        if name and value:
            result.setdefault(name, []).append(value)
    return {name: ", ".join(values) for name, values in result.items()}


# -- stock -------------------------------------------------------------------------------------
def stock_records(rows: list[Mapping[str, Any]], observed_at: str, *, untracked: bool = False
                  ) -> list[dict[str, Any]]:
    """The ``stock`` records of ONE product's ``stock_available`` rows.

    A product with combinations sells its combinations (the combination-0 row is their sum,
    recomputed by PrestaShop, and is not a variant); a product without sells the combination-0
    row, under the product id. ``updated_at`` is when the quantity was read: stock rows keep
    no change time.
    """
    combos = [r for r in rows if ident(r.get("id_product_attribute")) is not None]
    chosen = combos or [r for r in rows if ident(r.get("id_product_attribute")) is None][:1]
    records = []
    for row in chosen:
        pid = str(row.get("id_product"))
        cid = ident(row.get("id_product_attribute"))
        records.append({
            "product_id": pid,
            "variant_id": cid or pid,
            "sku": None,
            "ean": None,
            "quantity": None if untracked else _quantity(
                row.get("quantity"), f"product {pid}" + (f" combination {cid}" if cid else "")),
            "updated_at": observed_at,
        })
    return records

