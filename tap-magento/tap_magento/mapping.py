"""Pure functions from Magento's REST JSON to the contract's records (no HTTP, no SDK).

Magento keeps a sellable thing as a product entity: a ``simple`` product sold on its own is
one record with one variant (variant id = product id); a ``configurable`` parent is one
record whose variants are its ``simple`` children (variant id = the child's entity id), with
the configurable attributes' store labels as option names and the children's option labels
as values. Everything Magento leaves implicit is resolved here:

- Prices: each child has its own absolute ``price``; it is net unless the store enters
  prices including tax (``prices_include_tax``). The other side is computed at the product's
  VAT from the unrounded price, so a net of 16.252033 becomes 16.25 net / 19.99 gross.
- VAT: the product's ``tax_class_id`` through the tax rules of the retail customer class to
  the rate of the configured country (:class:`TaxTable`); class 0 / none is 0 %.
- Texts and labels come in the store view's language (the URL's store code); option labels
  from the attribute metadata of that view, never the admin labels.
- Images: ``{media base}catalog/product{file}``, ``image`` type first, then by position;
  disabled entries and videos left out.
- Times: Magento stores ``YYYY-MM-DD HH:MM:SS`` in UTC.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from commerce_schema.money import MoneyError, gross_from_net, net_from_gross, round_money
from commerce_schema.money import vat_rate as read_vat_rate
from tapkit.readers import local_to_utc, quantity, sort_position, text
from tapkit.streams import MappingError

PLATFORM = "magento"
SELLABLE_TYPES = frozenset({"simple", "configurable"})
KG_PER_LB = Decimal("0.45359237")
#: attributes that are the record's own fields, never copied into ``attributes``
OWN_ATTRIBUTES = frozenset({"description", "short_description", "url_key", "tax_class_id",
                            "category_ids", "name", "meta_title", "meta_keyword",
                            "meta_description", "image", "small_image", "thumbnail",
                            "swatch_image", "special_price", "special_from_date",
                            "special_to_date", "cost", "msrp"})

logger = logging.getLogger("tap-magento.mapping")
UTC = ZoneInfo("UTC")


# -- small readers ---------------------------------------------------------------------------
def custom_attributes(item: Mapping[str, Any]) -> dict[str, Any]:
    """``custom_attributes`` as ``{code: value}`` (Magento leaves out null values)."""
    found: dict[str, Any] = {}
    for entry in item.get("custom_attributes") or []:
        if isinstance(entry, dict) and entry.get("attribute_code"):
            found[str(entry["attribute_code"])] = entry.get("value")
    return found


def extension(item: Mapping[str, Any]) -> dict[str, Any]:
    """``extension_attributes`` (absent or ``[]`` -> ``{}``)."""
    value = item.get("extension_attributes")
    return value if isinstance(value, dict) else {}


def magento_utc(value: Any) -> str | None:
    """Magento's UTC ``YYYY-MM-DD HH:MM:SS`` as ISO 8601 with ``+00:00`` (the kit's reader
    with UTC as the "shop-local" zone)."""
    return local_to_utc(value, UTC)


def magento_time(moment: dt.datetime) -> str:
    """A datetime as Magento filters on it: naive UTC ``YYYY-MM-DD HH:MM:SS``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def entity_id(item: Mapping[str, Any]) -> int:
    """The entity id of a product row; a row without one is a broken answer."""
    try:
        return int(str(item["id"]))
    except (KeyError, TypeError, ValueError):
        raise MappingError(f"a product row has no valid id ({str(item)[:80]})") from None


# -- store dictionaries ------------------------------------------------------------------------
@dataclass
class Attribute:
    """One product attribute as the store view shows it."""

    attribute_id: str
    code: str
    label: str
    frontend_input: str
    exported: bool
    options: dict[str, str] = field(default_factory=dict)

    def value_text(self, value: Any) -> str | None:
        """A stored value as text: option ids become their labels (multiselect joined)."""
        if value is None:
            return None
        if self.frontend_input == "select" and self.options:
            return self.options.get(str(value)) or text(value)
        if self.frontend_input == "multiselect" and self.options:
            ids = value if isinstance(value, list) else str(value).split(",")
            labels = [self.options.get(str(i).strip()) or str(i).strip() for i in ids
                      if str(i).strip()]
            return ", ".join(labels) or None
        if isinstance(value, list):
            return ", ".join(str(v) for v in value) or None
        return text(value)


def attribute_from(row: Mapping[str, Any], store_id: int) -> Attribute:
    """Attribute metadata (``/V1/products/attributes``) in the store view's labels."""
    label = next((text(entry.get("label")) for entry in row.get("frontend_labels") or []
                  if isinstance(entry, dict) and str(entry.get("store_id")) == str(store_id)
                  and text(entry.get("label"))), None)
    options = {str(o.get("value")): str(o.get("label")).strip()
               for o in row.get("options") or []
               if isinstance(o, dict) and text(o.get("value")) and text(o.get("label"))}
    return Attribute(
        attribute_id=str(row.get("attribute_id")), code=str(row.get("attribute_code")),
        label=label or text(row.get("default_frontend_label")) or str(row.get("attribute_code")),
        frontend_input=str(row.get("frontend_input") or "text"),
        exported=bool(row.get("is_user_defined")) and bool(row.get("is_visible_on_front")),
        options=options)


@dataclass
class TaxTable:
    """VAT percent per product tax class, for one country and one customer class."""

    country: str
    customer_class: str
    rates: dict[str, int]
    problems: dict[str, str]
    class_names: dict[str, str]

    def rate_for(self, tax_class: Any) -> int:
        """VAT of a product tax class; class 0 or none is 0 % (Magento charges no tax)."""
        key = text(tax_class)
        if key in (None, "0"):
            return 0
        assert key is not None
        if key in self.rates:
            return self.rates[key]
        name = self.class_names.get(key, "unknown")
        reason = self.problems.get(key) or (
            f"has no tax rate for {self.country} and customer tax class "
            f"{self.customer_class} in the store's tax rules")
        raise MappingError(f"tax class {key} ({name}) {reason}")


def tax_table(rules: Iterable[Mapping[str, Any]], rates: Iterable[Mapping[str, Any]],
              classes: Iterable[Mapping[str, Any]], *, country: str,
              customer_class: str) -> TaxTable:
    """Resolve the store's tax rules to one VAT % per product class.

    Only rules for ``customer_class`` count, and only their rates for ``country`` that cover
    the whole country (no region, postcode ``*``). Several rules at the same priority add up
    in Magento, rules at different priorities compound: a VAT shop has one rate per class,
    so more than one distinct rate for a class is reported, never guessed.
    """
    by_id = {str(r.get("id")): r for r in rates}
    names = {str(c.get("class_id")): str(c.get("class_name")) for c in classes}
    found: dict[str, set[Decimal]] = {}
    for rule in rules:
        if customer_class not in {str(c) for c in rule.get("customer_tax_class_ids") or []}:
            continue
        chosen = []
        for rate_id in rule.get("tax_rate_ids") or []:
            rate = by_id.get(str(rate_id))
            if (rate is None or str(rate.get("tax_country_id") or "").upper() != country
                    or str(rate.get("tax_region_id") or "0") not in ("0", "")
                    or str(rate.get("tax_postcode") or "*") not in ("*", "")):
                continue
            chosen.append(Decimal(str(rate.get("rate"))))
        for product_class in rule.get("product_tax_class_ids") or []:
            found.setdefault(str(product_class), set()).update(chosen)
    table: dict[str, int] = {}
    problems: dict[str, str] = {}
    for product_class, values in found.items():
        if not values:
            continue
        if len(values) > 1:
            listed = ", ".join(f"{v.normalize():f}%" for v in sorted(values))
            problems[product_class] = (f"has several tax rates for {country} ({listed}); "
                                       "one rate per class is needed")
            continue
        try:
            table[product_class] = read_vat_rate(next(iter(values)), field="tax rate")
        except MoneyError as exc:
            problems[product_class] = f"has a rate that is not whole percent ({exc})"
    return TaxTable(country, customer_class, table, problems, names)


def category_index(tree: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every category under the store's root (the root itself left out: its children are the
    top level), with parent and path from the root down, in tree order."""
    index: dict[str, dict[str, Any]] = {}

    def walk(nodes: Any, parent: str | None, path: list[str]) -> None:
        ordered = sorted((n for n in nodes or [] if isinstance(n, dict) and n.get("id")),
                         key=lambda n: (sort_position(n.get("position")),
                                        sort_position(n.get("id"))))
        for node in ordered:
            cid = str(node["id"])
            name = text(node.get("name")) or f"#{cid}"
            index[cid] = {"id": cid, "name": name, "parent_id": parent, "path": [*path, name]}
            walk(node.get("children_data"), cid, [*path, name])

    walk(tree.get("children_data"), None, [])
    return index


@dataclass
class StoreContext:
    """What a record needs from the store, resolved once per run."""

    store_id: int
    language: str | None
    currency: str | None
    media_base: str
    link_base: str
    url_suffix: str
    weight_factor: Decimal
    prices_include_tax: bool
    taxes: TaxTable
    categories: dict[str, dict[str, Any]]
    attributes: dict[str, Attribute]  # by code
    ean_attribute: str = "ean"
    brand_attribute: str = "manufacturer"
    root_category_id: str = "2"

    def attribute_by_id(self, attribute_id: Any) -> Attribute | None:
        """An attribute by its numeric id (configurable options name ids only)."""
        wanted = str(attribute_id)
        return next((a for a in self.attributes.values() if a.attribute_id == wanted), None)


def store_context_from(config_row: Mapping[str, Any], **values: Any) -> StoreContext:
    """Build the context from a ``storeConfigs`` row plus the resolved dictionaries."""
    locale = text(config_row.get("locale"))
    unit = (text(config_row.get("weight_unit")) or "kgs").lower()
    media = text(config_row.get("secure_base_media_url")) or text(
        config_row.get("base_media_url")) or ""
    link = text(config_row.get("secure_base_link_url")) or text(
        config_row.get("base_link_url")) or ""
    return StoreContext(
        store_id=int(config_row.get("id") or 0),
        language=locale.split("_")[0].lower() if locale else None,
        currency=text(config_row.get("base_currency_code")),
        media_base=media if media.endswith("/") else media + "/",
        link_base=link if link.endswith("/") else link + "/",
        weight_factor=KG_PER_LB if unit.startswith("lb") else Decimal(1),
        **values)


# -- records -----------------------------------------------------------------------------------
def category_records(store: StoreContext) -> list[dict[str, Any]]:
    """The ``categories`` stream."""
    return [dict(c, path=list(c["path"])) for c in store.categories.values()]


def image_list(entries: Any, store: StoreContext) -> list[dict[str, Any]]:
    """Public image URLs: enabled ``image`` entries, the main (``image`` type) one first, then
    by position."""
    usable = [e for e in entries or [] if isinstance(e, dict)
              and (e.get("media_type") or "image") == "image" and not e.get("disabled")
              and text(e.get("file"))]
    usable.sort(key=lambda e: ("image" not in (e.get("types") or []),
                               sort_position(e.get("position")), sort_position(e.get("id"))))
    urls = []
    for entry in usable:
        path = str(entry["file"])
        url = f"{store.media_base}catalog/product{path if path.startswith('/') else '/' + path}"
        if url not in urls:
            urls.append(url)
    return [{"url": url, "position": n, "public": True} for n, url in enumerate(urls, start=1)]


def prices(raw: Any, rate: int, store: StoreContext, what: str) -> tuple[Decimal, Decimal]:
    """``(net, gross)`` from Magento's ``price``, net or gross by the store's setting."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise MappingError(f"{what}: no price")
    try:
        if store.prices_include_tax:
            gross = round_money(raw, field=f"{what} price")
            net = net_from_gross(gross, rate)
        else:
            net = round_money(raw, field=f"{what} price")
            gross = gross_from_net(raw, rate)
    except MoneyError as exc:
        raise MappingError(str(exc)) from exc
    if net < 0 or gross < 0:
        raise MappingError(f"{what} price: {raw!r} is negative")
    return net, gross


def weight_kg(value: Any, store: StoreContext) -> Decimal | None:
    """A product weight in kg (converted from lbs when the store weighs in pounds)."""
    amount = quantity(value, what="weight")
    if not amount:
        return None
    return (amount * store.weight_factor).quantize(Decimal("0.001")).normalize() \
        if store.weight_factor != 1 else amount


def variant_options(parent: Mapping[str, Any], child: Mapping[str, Any],
                    store: StoreContext) -> list[dict[str, str]]:
    """The child's value of each configurable attribute, by the options' position, as
    ``[{name, value}]`` in the store view's labels."""
    values = custom_attributes(child)
    options = sorted((o for o in extension(parent).get("configurable_product_options") or []
                      if isinstance(o, dict)),
                     key=lambda o: (sort_position(o.get("position")), sort_position(o.get("id"))))
    result = []
    for option in options:
        attribute = store.attribute_by_id(option.get("attribute_id"))
        if attribute is None:
            raise MappingError(f"configurable attribute {option.get('attribute_id')} is not "
                               "in the store's attributes")
        raw = values.get(attribute.code)
        if text(raw) is None:
            raise MappingError(f"child {child.get('sku') or child.get('id')} has no "
                               f"{attribute.code} value")
        value = attribute.value_text(raw)
        result.append({"name": attribute.label or text(option.get("label")) or attribute.code,
                       "value": value or str(raw)})
    return result


def product_categories(item: Mapping[str, Any], store: StoreContext) -> list[dict[str, Any]]:
    """The product's categories under the store's root, in the order the product lists them;
    the root itself and other stores' categories are left out."""
    links = sorted((link for link in extension(item).get("category_links") or []
                    if isinstance(link, dict)),
                   key=lambda link: sort_position(link.get("position")))
    ids = [str(link.get("category_id")) for link in links]
    if not ids:
        raw = custom_attributes(item).get("category_ids") or []
        ids = [str(c) for c in (raw if isinstance(raw, list) else str(raw).split(","))]
    result = []
    for cid in dict.fromkeys(ids):
        category = store.categories.get(cid)
        if category is not None:
            result.append({"id": cid, "name": category["name"], "path": list(category["path"])})
    return result


def product_attributes(item: Mapping[str, Any], store: StoreContext,
                       skip: Iterable[str] = ()) -> dict[str, str]:
    """User-defined attributes shown on the storefront, as ``{store label: value text}``."""
    left_out = {*OWN_ATTRIBUTES, store.ean_attribute, store.brand_attribute, *skip}
    result: dict[str, str] = {}
    for code, raw in custom_attributes(item).items():
        attribute = store.attributes.get(code)
        if code in left_out or attribute is None or not attribute.exported:
            continue
        value = attribute.value_text(raw)
        if value is not None:
            result[attribute.label] = value
    return result


def brand(item: Mapping[str, Any], store: StoreContext) -> str | None:
    """The brand attribute's label (a select) or text."""
    raw = custom_attributes(item).get(store.brand_attribute)
    attribute = store.attributes.get(store.brand_attribute)
    if attribute is None:
        return text(raw)
    return attribute.value_text(raw)


def product_url(item: Mapping[str, Any], store: StoreContext) -> str | None:
    """The storefront page: link base + ``url_key`` + suffix (None when not visible alone)."""
    key = text(custom_attributes(item).get("url_key"))
    if key is None or str(item.get("visibility")) == "1":
        return None
    return f"{store.link_base}{key}{store.url_suffix}"


def variant_record(product: Mapping[str, Any], item: Mapping[str, Any], rate: int,
                   stock: Mapping[str, Decimal | None], store: StoreContext,
                   options: list[dict[str, str]]) -> dict[str, Any]:
    """One variant from a simple product entity (the product itself or a child)."""
    vid = str(item.get("id"))
    net, gross = prices(item.get("price"), rate, store,
                        f"product {product.get('id')} variant {vid}")
    return {
        "id": vid,
        "sku": text(item.get("sku")),
        "ean": text(custom_attributes(item).get(store.ean_attribute)),
        "options": options,
        "price_net": net,
        "price_gross": gross,
        "stock": stock.get(vid),
        "active": str(item.get("status")) == "1",
        "images": (image_list(item.get("media_gallery_entries"), store)
                   if item is not product else []),
        "weight_kg": weight_kg(item.get("weight"), store),
    }


def product_record(item: Mapping[str, Any], children: Sequence[Mapping[str, Any]],
                   stock: Mapping[str, Decimal | None], store: StoreContext
                   ) -> dict[str, Any]:
    """One ``products`` record: a standalone simple product, or a configurable parent with
    its children (those the store returned; ``children`` is ignored for a simple one)."""
    pid = str(entity_id(item))
    kind = str(item.get("type_id"))
    if kind not in SELLABLE_TYPES:
        raise MappingError(f"type {kind} is not exported")
    name = text(item.get("name"))
    if name is None:
        raise MappingError(f"product {pid} has no name")
    attributes = custom_attributes(item)
    rate = store.taxes.rate_for(attributes.get("tax_class_id"))
    updated = [item.get("updated_at")]
    if kind == "simple":
        variants = [variant_record(item, item, rate, stock, store, [])]
        skip: list[str] = []
    else:
        wanted = [str(c) for c in extension(item).get("configurable_product_links") or []]
        by_id = {str(c.get("id")): c for c in children}
        missing = [c for c in wanted if c not in by_id]
        if missing:
            logger.warning("product %s: children %s were not returned by the store; exported "
                           "without them", pid, ", ".join(missing))
        present = sorted((by_id[c] for c in dict.fromkeys(wanted) if c in by_id),
                         key=lambda c: sort_position(c.get("id")))
        if not present:
            raise MappingError(f"configurable product {pid} has no children to sell")
        variants = [variant_record(item, child, rate, stock, store,
                                   variant_options(item, child, store)) for child in present]
        updated += [c.get("updated_at") for c in present]
        skip = [a.code for o in extension(item).get("configurable_product_options") or []
                if (a := store.attribute_by_id(o.get("attribute_id"))) is not None]
    newest = max((t for t in (magento_utc(u) for u in updated) if t), default=None)
    return {
        "id": pid,
        "platform": PLATFORM,
        "sku": text(item.get("sku")),
        "name": name,
        "description_html": text(attributes.get("description")),
        "short_description_html": text(attributes.get("short_description")),
        "language": store.language,
        "url": product_url(item, store),
        "brand": brand(item, store),
        "categories": product_categories(item, store),
        "images": image_list(item.get("media_gallery_entries"), store),
        "vat_rate": rate,
        "currency": store.currency,
        "active": str(item.get("status")) == "1",
        "attributes": product_attributes(item, store, skip),
        "created_at": magento_utc(item.get("created_at")),
        "updated_at": newest,
        "variants": variants,
    }


# -- stock -------------------------------------------------------------------------------------
def legacy_quantity(stock_item: Mapping[str, Any]) -> Decimal | None:
    """A legacy stock item's quantity: None when stock is not managed, 0 when out of stock."""
    if stock_item.get("manage_stock") is False or str(stock_item.get("manage_stock")) == "0":
        return None
    if stock_item.get("is_in_stock") in (False, 0, "0"):
        return Decimal(0)
    return quantity(stock_item.get("qty"), what=f"stock item {stock_item.get('product_id')}")


def msi_quantities(source_items: Iterable[Mapping[str, Any]],
                   sources: Sequence[str] | None) -> dict[str, Decimal]:
    """Quantity per SKU summed over the chosen sources (all when None); a source item that
    is "out of stock" (status 0) counts 0. A SKU without source items is not in the result
    (not tracked)."""
    totals: dict[str, Decimal] = {}
    for row in source_items:
        sku = text(row.get("sku"))
        if sku is None or (sources and str(row.get("source_code")) not in sources):
            continue
        amount = quantity(row.get("quantity"), what=f"source item {sku}") or Decimal(0)
        if str(row.get("status")) != "1":
            amount = Decimal(0)
        totals[sku] = totals.get(sku, Decimal(0)) + amount
    return totals


def stock_record(product_id: str, item: Mapping[str, Any], quantity_value: Decimal | None,
                 observed_at: str, store: StoreContext) -> dict[str, Any]:
    """One ``stock`` record; ``updated_at`` is when it was read (Magento keeps no change
    time for stock)."""
    return {
        "product_id": product_id,
        "variant_id": str(item.get("id")),
        "sku": text(item.get("sku")),
        "ean": text(custom_attributes(item).get(store.ean_attribute)),
        "quantity": quantity_value,
        "updated_at": observed_at,
    }

