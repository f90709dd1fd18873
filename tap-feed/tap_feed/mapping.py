"""Pure functions from a feed's items to the contract's records (no HTTP, no XML, no SDK).

A feed item (Ceneo ``<o>``, Google ``<item>``/``<entry>``) arrives here as plain strings
(``parse.py`` reads the XML) and becomes one :class:`Offer`: one sellable variant with a
Decimal gross price. Offers are then grouped into products (``group_key``) and each group
becomes one product record. What a feed cannot say comes from settings, never from a guess:

- Prices are gross (Ceneo and Google Poland both carry the price with VAT). The VAT rate is
  ``default_vat_rate``, unless a ``vat_rules`` entry matches (first match wins, by category
  path prefix, brand or id pattern) or ``vat_field`` names a feed field that carries it; net
  comes from the gross with the contract's rule (``net_from_gross``, half up).
- Stock: a real quantity where the feed gives one (Ceneo ``stock``); otherwise null, and the
  availability code or value decides ``active`` (``availability_map``). Never a made-up
  number like 9999.
- Variants: Google's ``item_group_id``; Ceneo only on request (an id pattern or an
  attribute), never by name, since two products may share one.
- No per-item timestamps: ``created_at``/``updated_at`` are null and the target's content
  hash decides what changed.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urljoin, urlsplit

from commerce_schema.contract import SUPPORTED_VAT_RATES
from commerce_schema.money import MoneyError, net_from_gross, parse_decimal, round_money, vat_rate
from tapkit.readers import text

PLATFORM = "feed"
CATEGORY_ID_SEPARATOR = " > "

#: Ceneo ``avail`` codes (1/3/7/14: ships within that many days; 90 on request; 99 not
#: available; 110 presale) and Google ``availability`` values: True = for sale now
DEFAULT_AVAILABILITY: dict[str, bool] = {
    "1": True, "3": True, "7": True, "14": True, "90": False, "99": False, "110": False,
    "in_stock": True, "out_of_stock": False, "preorder": False, "backorder": False,
}
#: Google's variant-defining attributes and the option names they become
GOOGLE_OPTIONS: dict[str, str] = {"size": "Rozmiar", "color": "Kolor", "material": "Materiał",
                                  "pattern": "Wzór", "age_group": "Grupa wiekowa",
                                  "gender": "Płeć"}
#: Ceneo attributes read into fields rather than kept as product attributes
CENEO_BRAND = "Producent"
CENEO_EAN = ("EAN", "GTIN", "Kod_EAN")
DEFAULT_SKU_ATTRIBUTE = "Kod_producenta"
DEFAULT_OPTION_ATTRIBUTES = ("Rozmiar", "Kolor")
_WEIGHT_UNITS = {"kg": Decimal(1), "g": Decimal("0.001"), "lb": Decimal("0.45359237"),
                 "oz": Decimal("0.028349523125")}
_TAG = re.compile(r"<[a-zA-Z/!][^>]*>")
_SEPARATORS = " \t,;:/|-–—()[]"


class ItemError(ValueError):
    """A feed item that cannot become a variant; the message says which field and why."""


@dataclass(frozen=True)
class VatRule:
    """``{"rate": 8, "category": "Zdrowie i uroda > Suplementy"}`` (a prefix of the product's
    main category, i.e. the first one the feed gives), or ``brand``, or ``id`` (a regular
    expression the product id must match in full)."""

    rate: int
    category: tuple[str, ...] | None = None
    brand: str | None = None
    id_pattern: re.Pattern[str] | None = None

    def matches(self, product_id: str, brand: str | None,
                paths: Sequence[Sequence[str]]) -> bool:
        """True when this rule applies to the product."""
        if self.category is not None:
            wanted = [part.casefold() for part in self.category]
            main = paths[0] if paths else []  # the main category: the first one given
            return [p.casefold() for p in main[:len(wanted)]] == wanted
        if self.brand is not None:
            return brand is not None and brand.casefold() == self.brand.casefold()
        if self.id_pattern is not None:
            return bool(self.id_pattern.fullmatch(product_id))
        return False


@dataclass(frozen=True)
class Grouping:
    """How offers become products: ``none``, ``item_group_id`` (Google), ``id_prefix`` (a
    regex over the offer id: group ``product`` or 1 is the product id, optional group
    ``variant`` the variant id) or ``attribute`` (a Ceneo attribute's value)."""

    kind: str = "none"
    pattern: re.Pattern[str] | None = None
    attribute: str | None = None

    @classmethod
    def parse(cls, value: str | None, feed_format: str) -> Grouping:
        """From the ``variant_grouping`` setting; ``auto``/empty: Google by group, Ceneo not."""
        raw = (value or "auto").strip()
        if raw == "auto":
            return cls("item_group_id" if feed_format == "google" else "none")
        if raw in ("none", "item_group_id"):
            return cls(raw)
        kind, _, arg = raw.partition(":")
        if kind == "id_prefix" and arg:
            return cls(kind, pattern=re.compile(arg))
        if kind == "attribute" and arg:
            return cls(kind, attribute=arg)
        raise ValueError(f"variant_grouping {value!r} is not one of auto, none, item_group_id, "
                         "id_prefix:<regex>, attribute:<name>")


@dataclass
class Settings:
    """What the mapping needs from the tap's configuration (already checked)."""

    default_vat_rate: int = 23
    vat_rules: list[VatRule] = field(default_factory=list)
    vat_field: str | None = None
    currency: str | None = None
    availability: dict[str, bool] = field(default_factory=lambda: dict(DEFAULT_AVAILABILITY))
    grouping: Grouping = field(default_factory=Grouping)
    option_attributes: tuple[str, ...] = DEFAULT_OPTION_ATTRIBUTES
    sku_attribute: str = DEFAULT_SKU_ATTRIBUTE
    stock_is_flag: bool = False
    shop_url: str | None = None
    language: str = "pl"
    category_separator: str | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any], feed_format: str) -> Settings:
        """Read the tap's config (``config_problems`` has already vetted it)."""
        availability = dict(DEFAULT_AVAILABILITY)
        for key, value in (config.get("availability_map") or {}).items():
            availability[normal_availability(key)] = bool(value)
        return cls(
            default_vat_rate=vat_rate(config.get("default_vat_rate"), field="default_vat_rate"),
            vat_rules=[parse_vat_rule(rule) for rule in config.get("vat_rules") or []],
            vat_field=config.get("vat_field") or None,
            currency=(config.get("currency") or "").strip().upper() or None,
            availability=availability,
            grouping=Grouping.parse(config.get("variant_grouping"), feed_format),
            option_attributes=tuple(config.get("variant_option_attributes")
                                    or DEFAULT_OPTION_ATTRIBUTES),
            sku_attribute=config.get("sku_attribute") or DEFAULT_SKU_ATTRIBUTE,
            stock_is_flag=bool(config.get("stock_is_flag")),
            shop_url=(config.get("shop_url") or "").strip() or None,
            language=config.get("language") or "pl",
            category_separator=config.get("category_separator") or None,
        )


def parse_vat_rule(rule: Mapping[str, Any]) -> VatRule:
    """One ``vat_rules`` entry; ValueError in plain words when it is not usable."""
    if not isinstance(rule, Mapping):
        raise ValueError(f"each vat_rules entry must be an object, got {rule!r}")
    matchers = [k for k in ("category", "brand", "id") if rule.get(k) not in (None, "")]
    if len(matchers) != 1:
        raise ValueError(f"vat_rules entry {dict(rule)!r} must have exactly one of category, "
                         "brand or id")
    try:
        rate = vat_rate(rule.get("rate"), field="rate")
    except MoneyError:
        raise ValueError(f"vat_rules entry {dict(rule)!r}: rate must be one of "
                         f"{_rates()}") from None
    if rate not in SUPPORTED_VAT_RATES:
        raise ValueError(f"vat_rules entry {dict(rule)!r}: rate must be one of {_rates()}")
    kind = matchers[0]
    value = str(rule[kind])
    if kind == "category":
        return VatRule(rate, category=tuple(split_path(value, None)))
    if kind == "brand":
        return VatRule(rate, brand=value.strip())
    try:
        return VatRule(rate, id_pattern=re.compile(value))
    except re.error as exc:
        raise ValueError(f"vat_rules entry id {value!r} is not a valid pattern: {exc}") from None


def _rates() -> str:
    return ", ".join(str(r) for r in sorted(SUPPORTED_VAT_RATES, reverse=True))


# -- small readers -----------------------------------------------------------------------------
def normal_availability(value: str) -> str:
    """``"in stock"``, ``"In_Stock"``, ``"https://schema.org/InStock"`` -> ``in_stock``."""
    raw = value.strip().lower().rsplit("/", 1)[-1]
    raw = {"instock": "in_stock", "outofstock": "out_of_stock"}.get(raw, raw)
    return re.sub(r"[\s-]+", "_", raw)


def split_path(value: str, separator: str | None) -> list[str]:
    """A category text as a list of names: ``"A/B/C"``, ``"A > B > C"``."""
    if separator:
        parts = value.split(separator)
    elif ">" in value:
        parts = value.split(">")
    else:
        parts = value.split("/")
    return [part.strip() for part in parts if part.strip()]


def valid_gtin(code: str) -> bool:
    """GTIN-8/12/13/14 with a correct check digit."""
    if not code.isdigit() or len(code) not in (8, 12, 13, 14):
        return False
    digits = [int(d) for d in code]
    body, check = digits[:-1], digits[-1]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def absolute_url(value: str | None, shop_url: str | None, *, what: str) -> str | None:
    """An http(s) URL; a relative one made absolute with ``shop_url``; ItemError otherwise."""
    raw = text(value)
    if raw is None:
        return None
    raw = raw.replace(" ", "%20")
    parts = urlsplit(raw)
    if not parts.scheme and shop_url:
        raw = urljoin(shop_url.rstrip("/") + "/", raw)
        parts = urlsplit(raw)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        hint = "" if parts.scheme or shop_url else " (set shop_url to resolve relative links)"
        raise ItemError(f"{what} {value!r} is not an http(s) URL{hint}")
    return raw


def description(value: str | None) -> str | None:
    """HTML kept as the shop wrote it; plain text becomes ``<p>`` with line breaks."""
    raw = text(value)
    if raw is None or _TAG.search(raw):
        return raw
    lines = [html.escape(line.strip(), quote=False) for line in raw.splitlines()]
    return "<p>" + "<br>".join(line for line in lines if line) + "</p>"


def weight_kg(value: str | None) -> Decimal | None:
    """``"0.5"`` (kg), ``"900 g"``, ``"0.9000 kg"``, ``"2 lb"``; unreadable or 0: None."""
    raw = text(value)
    if raw is None:
        return None
    match = re.fullmatch(r"([\d.,]+)\s*([a-zA-Z]*)", raw)
    if not match:
        return None
    unit = _WEIGHT_UNITS.get(match.group(2).lower() or "kg")
    try:
        amount = parse_decimal(match.group(1), field="weight")
    except MoneyError:
        return None
    if unit is None or amount <= 0:
        return None
    result = amount * unit
    return result.normalize() if unit != 1 else amount


def quantity(value: str | None) -> Decimal | None:
    """A stock quantity; absent or unreadable is None (not tracked), negative is 0."""
    raw = text(value)
    if raw is None:
        return None
    try:
        amount = parse_decimal(raw, field="stock")
    except MoneyError:
        return None
    return max(amount, Decimal(0))


def price(value: str | None, *, what: str = "price") -> tuple[Decimal, str | None]:
    """``"259.00"``, ``"259,00 zł"``, ``"259.00 PLN"`` -> (259.00, currency or None); the
    price must be above zero."""
    raw = text(value)
    if raw is None:
        raise ItemError(f"{what} is missing")
    match = re.fullmatch(r"([^A-Za-złŁ]*?)\s*([A-Za-złŁ]{1,3})?\.?", raw)
    if not match:
        raise ItemError(f"{what} {raw!r} is not a price")
    number, unit = match.group(1), match.group(2)
    try:
        amount = round_money(number, field=what)
    except MoneyError:
        raise ItemError(f"{what} {raw!r} is not a price") from None
    if amount <= 0:
        raise ItemError(f"{what} {raw!r} is not above zero")
    currency = None
    if unit:
        currency = "PLN" if unit.lower() == "zł" else unit.upper()
        if len(currency) != 3:
            raise ItemError(f"{what} {raw!r} has no ISO currency code")
    return amount, currency


# -- one item -> one offer ---------------------------------------------------------------------
@dataclass
class Offer:
    """One sellable variant as the feed describes it."""

    id: str
    group: str | None
    variant_id: str
    name: str
    price_gross: Decimal
    currency: str
    url: str | None = None
    brand: str | None = None
    sku: str | None = None
    ean: str | None = None
    description_html: str | None = None
    categories: list[list[str]] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    options: list[tuple[str, str]] = field(default_factory=list)
    attributes: dict[str, str] = field(default_factory=dict)
    stock: Decimal | None = None
    active: bool = True
    weight_kg: Decimal | None = None
    vat_rate: int | None = None

    @property
    def product_id(self) -> str:
        """The product this variant belongs to (its own id when not grouped)."""
        return self.group or self.id

    def to_row(self) -> dict[str, Any]:
        """A JSON-able dict (Decimals as strings) for the run's scratch database."""
        row = dict(self.__dict__)
        for key in ("price_gross", "stock", "weight_kg"):
            if row[key] is not None:
                row[key] = str(row[key])
        return row

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Offer:
        """Back from :meth:`to_row`."""
        values = dict(row)
        for key in ("price_gross", "stock", "weight_kg"):
            if values[key] is not None:
                values[key] = Decimal(values[key])
        values["options"] = [tuple(o) for o in values["options"]]
        return cls(**values)


@dataclass
class AvailabilityNotes:
    """Availability values the map does not know (warned about once each)."""

    unknown: Counter[str] = field(default_factory=Counter)


def _active(value: str | None, settings: Settings, notes: AvailabilityNotes | None,
            stock: Decimal | None) -> bool:
    if value is None:
        return stock is None or stock > 0
    key = normal_availability(value)
    if key in settings.availability:
        return settings.availability[key]
    if notes is not None:
        notes.unknown[key] += 1
    return False


def _feed_vat(value: str | None, what: str) -> int | None:
    raw = text(value)
    if raw is None:
        return None
    try:
        rate = vat_rate(raw, field=what)
    except MoneyError:
        raise ItemError(f"{what} {raw!r} is not a VAT rate") from None
    if rate not in SUPPORTED_VAT_RATES:
        raise ItemError(f"{what} {raw!r} is not a VAT rate the Gateway knows ({_rates()})")
    return rate


def _ean(value: str | None) -> str | None:
    raw = text(value)
    if raw is None:
        return None
    code = raw.replace(" ", "")
    if not valid_gtin(code):
        raise ItemError(f"EAN {raw!r} has a wrong check digit or length")
    return code


def _require_id_and_name(item_id: str | None, name: str | None) -> tuple[str, str]:
    if item_id is None:
        raise ItemError("item has no id")
    if name is None:
        raise ItemError("item has no name")
    return item_id, name


def ceneo_offer(raw: Mapping[str, Any], settings: Settings,
                notes: AvailabilityNotes | None = None) -> Offer:
    """A Ceneo ``<o>`` read by ``parse.py``: ``{"attrs": {...<o> attributes}, "cat", "name",
    "desc", "images": [...], "features": [(name, value), ...]}``."""
    attrs: Mapping[str, str] = raw.get("attrs") or {}
    item_id, name = _require_id_and_name(text(attrs.get("id")), text(raw.get("name")))
    features = [(n, v) for n, v in raw.get("features") or [] if text(n) and text(v)]
    by_name = {n.strip(): v.strip() for n, v in features}
    gross, currency = price(attrs.get("price"))
    stock = quantity(attrs.get("stock"))
    if settings.stock_is_flag:
        stock = None if stock is None or stock > 0 else stock
    grouping = settings.grouping
    group, variant_id = None, item_id
    if grouping.kind == "id_prefix" and grouping.pattern is not None:
        match = grouping.pattern.search(item_id)
        if match:
            named = match.groupdict()
            group = named.get("product") or (match.group(1) if match.re.groups else None)
            variant_id = named.get("variant") or item_id
    elif grouping.kind == "attribute" and grouping.attribute:
        group = text(by_name.get(grouping.attribute))
    consumed = {CENEO_BRAND, settings.sku_attribute, *CENEO_EAN}
    options: list[tuple[str, str]] = []
    if group is not None:
        options = [(n, by_name[n]) for n in settings.option_attributes if by_name.get(n)]
        consumed |= {n for n, _ in options}
        consumed.add(grouping.attribute or "ProductSetId")  # a grouping key, not a feature
    vat = None
    if settings.vat_field:
        vat = _feed_vat(attrs.get(settings.vat_field) or by_name.get(settings.vat_field),
                        settings.vat_field)
    ean = next((by_name[k] for k in CENEO_EAN if by_name.get(k)), None)
    category = text(raw.get("cat"))
    return Offer(
        id=item_id, group=group, variant_id=variant_id, name=name, price_gross=gross,
        currency=currency or settings.currency or "PLN",
        url=absolute_url(attrs.get("url"), settings.shop_url, what="url"),
        brand=text(by_name.get(CENEO_BRAND)), sku=text(by_name.get(settings.sku_attribute)),
        ean=_ean(ean), description_html=description(raw.get("desc")),
        categories=[split_path(category, settings.category_separator or "/")]
        if category else [],
        images=_images(raw.get("images") or [], settings),
        options=options,
        attributes={n: v for n, v in by_name.items() if n not in consumed},
        stock=stock, active=_active(text(attrs.get("avail")), settings, notes, stock),
        weight_kg=weight_kg(attrs.get("weight")), vat_rate=vat)


def google_offer(raw: Mapping[str, Any], settings: Settings,
                 notes: AvailabilityNotes | None = None) -> Offer:
    """A Google ``<item>``/``<entry>`` read by ``parse.py``: ``{local name: [values]}`` with
    the ``g:`` value first, ``"details"``: ``[(name, value), ...]`` from ``product_detail``."""

    def first(name: str) -> str | None:
        return next((text(v) for v in raw.get(name) or [] if text(v)), None)

    def every(name: str) -> list[str]:
        return [t for t in (text(v) for v in raw.get(name) or []) if t]

    item_id, name = _require_id_and_name(first("id"), first("title"))
    gross, currency = price(first("price"))
    sale = first("sale_price")
    if sale and _sale_applies(first("sale_price_effective_date")):
        gross, sale_currency = price(sale, what="sale_price")
        currency = sale_currency or currency
    group = None
    if settings.grouping.kind == "item_group_id":
        group = first("item_group_id")
    elif settings.grouping.kind == "id_prefix" and settings.grouping.pattern is not None:
        match = settings.grouping.pattern.search(item_id)
        group = (match.groupdict().get("product") or match.group(1)) if match else None
    options = ([(label, value) for key, label in GOOGLE_OPTIONS.items()
                if (value := first(key))] if group else [])
    images = [u for u in (first("image_link"), *every("additional_image_link")) if u]
    separator = settings.category_separator or ">"
    vat = _feed_vat(first(settings.vat_field), settings.vat_field) if settings.vat_field \
        else None
    if currency and settings.currency and currency != settings.currency:
        raise ItemError(f"price is in {currency}, not in the configured currency "
                        f"{settings.currency}")
    return Offer(
        id=item_id, group=group, variant_id=item_id, name=name, price_gross=gross,
        currency=currency or settings.currency or "PLN",
        url=absolute_url(first("link"), settings.shop_url, what="link"),
        brand=first("brand"), sku=first("mpn"), ean=_ean(first("gtin")),
        description_html=description(first("description") or first("summary")),
        categories=[p for p in (split_path(t, separator) for t in every("product_type")) if p],
        images=_images(images, settings), options=options,
        attributes={n.strip(): v.strip() for n, v in raw.get("details") or []
                    if text(n) and text(v)},
        stock=None, active=_active(first("availability"), settings, notes, None),
        weight_kg=weight_kg(first("shipping_weight")), vat_rate=vat)


def _sale_applies(period: str | None) -> bool:
    """A sale without dates applies; with ``start/end`` dates, only within them."""
    if not period or "/" not in period:
        return True
    start, _, end = period.partition("/")
    now = dt.datetime.now(dt.timezone.utc)
    try:
        begins = dt.datetime.fromisoformat(start.strip().replace("Z", "+00:00"))
        ends = dt.datetime.fromisoformat(end.strip().replace("Z", "+00:00"))
    except ValueError:
        return True
    if begins.tzinfo is None:
        begins = begins.replace(tzinfo=dt.timezone.utc)
    if ends.tzinfo is None:
        ends = ends.replace(tzinfo=dt.timezone.utc)
    return begins <= now <= ends


def _images(urls: Iterable[str], settings: Settings) -> list[str]:
    """Absolute http(s) image URLs in order, duplicates dropped; a bad one is left out."""
    result: list[str] = []
    for url in urls:
        try:
            absolute = absolute_url(url, settings.shop_url, what="image")
        except ItemError:
            continue
        if absolute and absolute not in result:
            result.append(absolute)
    return result


# -- offers -> product ---------------------------------------------------------------------------
@dataclass
class VatChoice:
    """The rate a product got and where it came from (``default``, ``rule``, ``feed``)."""

    rate: int
    source: str


def choose_vat(product_id: str, offers: Sequence[Offer], settings: Settings) -> VatChoice:
    """The feed's own field first, then the first matching rule, then the default."""
    from_feed = {o.vat_rate for o in offers if o.vat_rate is not None}
    if len(from_feed) > 1:
        raise ItemError(f"its variants carry different VAT rates {sorted(from_feed)}")
    if from_feed:
        return VatChoice(from_feed.pop(), "feed")
    brand = next((o.brand for o in offers if o.brand), None)
    paths = [path for o in offers for path in o.categories]
    for rule in settings.vat_rules:
        if rule.matches(product_id, brand, paths):
            return VatChoice(rule.rate, "rule")
    return VatChoice(settings.default_vat_rate, "default")


def product_name(offers: Sequence[Offer]) -> str:
    """The product's name: variant titles with their option values stripped from the end
    (``"Koszulka (M, czarny)"``, ``"Koszulka M czarny"``), the most common result."""
    if len(offers) == 1 and not offers[0].options:
        return offers[0].name
    names = Counter(_strip_options(o.name, [v for _, v in o.options]) for o in offers)
    return names.most_common(1)[0][0]


def _strip_options(title: str, values: Sequence[str]) -> str:
    stripped = title.rstrip(_SEPARATORS)
    changed = True
    while changed and values:
        changed = False
        for value in sorted(values, key=len, reverse=True):
            if value and stripped.casefold().endswith(value.casefold()) \
                    and len(stripped) > len(value):
                stripped = stripped[: -len(value)].rstrip(_SEPARATORS)
                changed = True
    return stripped or title


def category_ref(path: Sequence[str]) -> dict[str, Any]:
    """A product's category reference: the id is the path itself (feeds carry no ids)."""
    return {"id": CATEGORY_ID_SEPARATOR.join(path), "name": path[-1], "path": list(path)}


def category_records(path: Sequence[str]) -> list[dict[str, Any]]:
    """The ``categories`` records of one path: every level, root first."""
    return [{"id": CATEGORY_ID_SEPARATOR.join(path[:depth]), "name": path[depth - 1],
             "parent_id": CATEGORY_ID_SEPARATOR.join(path[:depth - 1]) or None,
             "path": list(path[:depth])} for depth in range(1, len(path) + 1)]


def _image_list(urls: Sequence[str]) -> list[dict[str, Any]]:
    return [{"url": url, "position": i, "public": True} for i, url in enumerate(urls, start=1)]


def product_record(offers: Sequence[Offer], settings: Settings, vat: VatChoice
                   ) -> dict[str, Any]:
    """One contract product from its offers (one offer: a simple product)."""
    if not offers:
        raise ItemError("no variants")
    first = offers[0]
    currencies = {o.currency for o in offers}
    if len(currencies) > 1:
        raise ItemError(f"its variants are priced in different currencies {sorted(currencies)}")
    common = [u for u in first.images if all(u in o.images for o in offers[1:])]
    paths: list[list[str]] = []
    for offer in offers:
        for path in offer.categories:
            if path not in paths:
                paths.append(path)
    grouped = len(offers) > 1 or bool(first.group)
    variants = [{
        "id": o.variant_id, "sku": o.sku, "ean": o.ean,
        "options": [{"name": n, "value": v} for n, v in o.options] if grouped else [],
        "price_net": net_from_gross(o.price_gross, vat.rate), "price_gross": o.price_gross,
        "stock": o.stock, "active": o.active,
        "images": _image_list([u for u in o.images if u not in common]),
        "weight_kg": o.weight_kg,
    } for o in offers]
    return {
        "id": first.product_id, "platform": PLATFORM,
        "sku": first.sku if not grouped else None,
        "name": product_name(offers), "description_html": first.description_html,
        "short_description_html": None, "language": settings.language, "url": first.url,
        "brand": next((o.brand for o in offers if o.brand), None),
        "categories": [category_ref(p) for p in paths], "images": _image_list(common),
        "vat_rate": vat.rate, "currency": first.currency,
        "active": any(o.active for o in offers), "attributes": dict(first.attributes),
        "created_at": None, "updated_at": None, "variants": variants,
    }


def stock_record(offer: Offer, observed_at: str) -> dict[str, Any]:
    """The light ``stock`` record of one variant (null quantity: the feed has none)."""
    return {"product_id": offer.product_id, "variant_id": offer.variant_id, "sku": offer.sku,
            "ean": offer.ean, "quantity": offer.stock, "updated_at": observed_at}


def disagreements(offers: Sequence[Offer]) -> list[str]:
    """What the variants of one group disagree on (brand, category): worth a warning."""
    found = []
    if len({o.brand for o in offers}) > 1:
        found.append("brand")
    if len({tuple(map(tuple, o.categories)) for o in offers}) > 1:
        found.append("category")
    return found
