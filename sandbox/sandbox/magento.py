"""Magento 2 / Adobe Commerce emulator: the seeded catalog behind Magento's REST API.

What it reproduces (the platform notes' facts, 2.3/2.4 behaviour):

- ``/rest/{store_code}/V1/...`` and ``/rest/V1/...`` (the default store view). Two store
  views: ``default`` (Polish, store id 1) and ``en`` (English, store id 2): product names,
  attribute labels and option labels differ per view; an unknown store code is refused.
- Auth on every API call, three ways: OAuth 1.0a integration keys (the HMAC-SHA256 or
  HMAC-SHA1 signature is recomputed with oauthlib over method, URL and every query and
  ``oauth_*`` parameter; a reused nonce is refused as Magento does); the integration access
  token as a bearer only when ``allow_bearer`` (off by default, as since 2.4.4); admin tokens
  from ``POST /rest/V1/integration/admin/token`` living ``admin_token_ttl`` seconds.
- ``searchCriteria`` in bracket form (``filter_groups``/``filterGroups``: groups AND, filters
  in a group OR; ``eq neq gt gteq lt lteq in nin like null notnull finset``), ``sortOrders``,
  ``pageSize``/``currentPage``, ``total_count`` and the echoed ``search_criteria``; a page past
  the end repeats the last page (2.3 and earlier: ``repeat_last_page``); without
  ``searchCriteria`` a list is a 400. ``fields=items[id,sku,...],total_count`` trims answers.
- The catalog as Magento holds it: a simple product per one-variant product (entity id =
  product id); a ``configurable`` parent per multi-variant product, with
  ``configurable_product_options`` (``color``/``size`` attribute ids) and
  ``configurable_product_links`` to its ``simple`` children (entity id = variant id,
  ``visibility`` 1, own absolute price, option ids in ``custom_attributes``); brand as the
  ``manufacturer`` select, EAN and material as text attributes; prices net (6 decimals) or
  gross by ``prices_include_tax``; tax classes, rates for PL, DE and US, and rules for the
  retail and a wholesale customer class; media gallery entries with dispersion paths, in a
  scrambled order, some disabled, some videos; ``updated_at`` in UTC.
- Categories as a tree under the store's root (2, "Default Category"), with another store's
  root (3) beside it; ``GET /V1/categories?rootCategoryId=&depth=``.
- Stock both ways: legacy ``/V1/stockItems/lowStock`` (paged, every item with ``qty`` at most
  the threshold; untracked items have ``manage_stock`` false) and MSI
  ``/V1/inventory/source-items`` (quantities split over two sources for some SKUs; untracked
  SKUs have no source item). Legacy quantities are the sum over the sources (the default
  source of a single-source shop).
- Public media files under ``/media/catalog/product/`` (no auth), 429 ``Too Many Requests``
  when the machinery's rate limit is on, Magento's HTML 503 maintenance page for injected
  faults, ``{"message", "parameters"}`` errors.

Test hooks: :meth:`share_child` (a child under a second parent), :meth:`revoke_admin_tokens`,
:meth:`reload` (after changing the catalog).
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import secrets
import threading
import time
from collections.abc import Iterable, Sequence
from decimal import Decimal
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

from oauthlib.oauth1.rfc5849 import signature as oauth_signature  # type: ignore[import-untyped]

from sandbox.catalog import COLOUR, SIZE, Catalog, Image, Product, Variant, generate_catalog
from sandbox.cli import common_parser, run
from sandbox.server import Emulator, Request, Response, Switches, route

REST = r"/rest/(?:(?P<store>[a-z][a-z0-9_]*)/)?V1"
MEDIA = "/media/catalog/product"
ROOT_CATEGORY_ID = 2
OTHER_ROOT_ID = 3
TIMEZONE = "Europe/Warsaw"

# store code -> (store id, locale, name)
STORES = {"default": (1, "pl_PL", "Polski"), "en": (2, "en_US", "English")}

# attribute code -> (attribute id, admin label, {store id: label}, input, user defined, visible)
ATTRIBUTES: dict[str, tuple[int, str, dict[int, str], str, bool, bool]] = {
    "color": (93, "Color", {1: "Kolor", 2: "Colour"}, "select", True, True),
    "size": (152, "Size", {1: "Rozmiar", 2: "Size"}, "select", True, True),
    "manufacturer": (83, "Manufacturer", {1: "Producent"}, "select", True, False),
    "ean": (200, "EAN", {}, "text", True, False),
    "material": (201, "Material", {1: "Materiał"}, "text", True, True),
    "description": (75, "Description", {}, "textarea", False, True),
    "short_description": (76, "Short Description", {}, "textarea", False, True),
    "url_key": (121, "URL Key", {}, "text", False, False),
    "tax_class_id": (132, "Tax Class", {}, "select", False, False),
    "category_ids": (133, "Categories", {}, "categories", False, False),
}
OPTION_ATTRIBUTE = {SIZE: "size", COLOUR: "color"}
COLOUR_EN = {"czarny": "black", "biały": "white", "czerwony": "red", "zielony": "green",
             "niebieski": "blue", "żółty": "yellow", "różowy": "pink", "beżowy": "beige",
             "granatowy": "navy", "szary": "grey", "brązowy": "brown", "pomarańczowy": "orange"}

# product tax class per catalog VAT rate
TAX_CLASS_BY_RATE = {23: 2, 8: 6, 5: 7, 0: 8}
TAX_CLASSES = [
    {"class_id": 2, "class_name": "Taxable Goods", "class_type": "PRODUCT"},
    {"class_id": 6, "class_name": "Stawka obniżona 8%", "class_type": "PRODUCT"},
    {"class_id": 7, "class_name": "Stawka obniżona 5%", "class_type": "PRODUCT"},
    {"class_id": 8, "class_name": "Stawka 0%", "class_type": "PRODUCT"},
    {"class_id": 3, "class_name": "Retail Customer", "class_type": "CUSTOMER"},
    {"class_id": 5, "class_name": "Wholesale", "class_type": "CUSTOMER"},
]
TAX_RATES = [
    (1, "PL", 0, "*", Decimal(23), "PL-23"), (2, "PL", 0, "*", Decimal(8), "PL-8"),
    (3, "PL", 0, "*", Decimal(5), "PL-5"), (4, "PL", 0, "*", Decimal(0), "PL-0"),
    (5, "DE", 0, "*", Decimal(19), "DE-19"), (6, "DE", 0, "*", Decimal(7), "DE-7"),
    (7, "US", 12, "*", Decimal("8.25"), "US-CA-*-Rate 1"), (8, "PL", 0, "*", Decimal(23),
                                                             "PL-23-hurt"),
]
TAX_RULES = [
    # id, code, customer classes, product classes, rates
    (1, "VAT 23%", [3], [2], [1, 5, 7]),
    (2, "VAT 8%", [3], [6], [2, 6]),
    (3, "VAT 5%", [3], [7], [3]),
    (4, "VAT 0%", [3], [8], [4]),
    (5, "Hurt", [5], [6, 7, 8], [8]),  # another customer class: must not count for retail
]

SOURCES = ("default", "krakow")

_NOT_AUTHORIZED = {"message": "The consumer isn't authorized to access %resources.",
                   "parameters": {"resources": "Magento_Catalog::products"}}
_NO_ROUTE = {"message": "Request does not match any route."}
_HTML_404 = ("<!doctype html><html><head><title>404 Not Found</title></head><body>"
             "<h1>Whoops, our bad...</h1></body></html>")
_MAINTENANCE = ("<!doctype html><html><head><title>Service Temporarily Unavailable</title>"
                "</head><body><h1>Service Temporarily Unavailable</h1><p>The server is "
                "temporarily unable to service your request due to maintenance downtime."
                "</p></body></html>")


def magento_time(moment: dt.datetime) -> str:
    """A datetime as Magento writes it: naive ``YYYY-MM-DD HH:MM:SS`` in UTC."""
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def media_file(image: Image) -> str:
    """Magento's dispersion path of an image: ``/p/1/p1-1.png``."""
    key = image.key.lower()
    return f"/{key[0]}/{key[1] if len(key) > 1 else '_'}/{image.filename}"


# -- searchCriteria ----------------------------------------------------------------------------
_ALIASES = {"filterGroups": "filter_groups", "sortOrders": "sort_orders",
            "pageSize": "page_size", "currentPage": "current_page",
            "conditionType": "condition_type"}


def parse_search_criteria(query: dict[str, list[str]]) -> dict[str, Any] | None:
    """``searchCriteria[...]`` query parameters as Magento's object; None when absent.

    ``searchCriteria=`` (empty) is an empty criteria, as Magento accepts it.
    """
    if not any(k == "searchCriteria" or k.startswith("searchCriteria[") for k in query):
        return None
    tree: dict[str, Any] = {}
    for key, values in query.items():
        if not key.startswith("searchCriteria["):
            continue
        parts = [_ALIASES.get(p, p) for p in re.findall(r"\[([^\]]*)\]", key)]
        node = tree
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = values[0] if values else ""
    groups = []
    for _g, group in sorted((tree.get("filter_groups") or {}).items(), key=_index):
        filters = []
        for _f, spec in sorted((group.get("filters") or {}).items(), key=_index):
            filters.append({"field": spec.get("field", ""), "value": spec.get("value", ""),
                            "condition_type": (spec.get("condition_type") or "eq").lower()})
        groups.append({"filters": filters})
    sorts = [{"field": spec.get("field", ""),
              "direction": (spec.get("direction") or "ASC").upper()}
             for _s, spec in sorted((tree.get("sort_orders") or {}).items(), key=_index)]
    criteria: dict[str, Any] = {"filter_groups": groups}
    if sorts:
        criteria["sort_orders"] = sorts
    for name in ("page_size", "current_page"):
        if tree.get(name) not in (None, ""):
            criteria[name] = int(tree[name])
    return criteria


def _index(item: tuple[str, Any]) -> int:
    try:
        return int(item[0])
    except ValueError:
        return 1 << 30


def _comparable(value: Any) -> Any:
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    text = "" if value is None else str(value)
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return Decimal(text)
    return text


def _compare(left: Any, right: Any) -> tuple[Any, Any]:
    a, b = _comparable(left), _comparable(right)
    if type(a) is not type(b):
        return str(left), str(right)
    return a, b


def condition_holds(value: Any, condition: str, expected: str) -> bool:
    """One Magento filter condition on one value (a list value matches if any member does)."""
    if isinstance(value, list) and condition not in ("null", "notnull"):
        if condition in ("nin", "neq", "nfinset"):
            return all(condition_holds(v, condition, expected) for v in value)
        return any(condition_holds(v, condition, expected) for v in value)
    if condition == "null":
        return value is None
    if condition == "notnull":
        return value is not None
    if condition in ("in", "nin"):
        members = {_comparable(v.strip()) for v in str(expected).split(",")}
        return (_comparable(value) in members) == (condition == "in")
    if condition in ("finset", "nfinset"):
        found = str(expected) in str(value or "").split(",")
        return found == (condition == "finset")
    if condition in ("like", "nlike"):
        pattern = "^" + ".*".join(map(re.escape, str(expected).split("%"))) + "$"
        found = bool(re.match(pattern, str(value or ""), re.IGNORECASE | re.DOTALL))
        return found == (condition == "like")
    if value is None:
        return False
    left, right = _compare(value, expected)
    checks = {"eq": left == right, "neq": left != right, "gt": left > right,
              "gteq": left >= right, "moreq": left >= right, "from": left >= right,
              "lt": left < right, "lteq": left <= right, "to": left <= right}
    if condition not in checks:
        raise ValueError(f'Invalid condition type "{condition}"')
    return checks[condition]


def field_value(item: dict[str, Any], name: str) -> Any:
    """A field of a list item as ``searchCriteria`` sees it: top level, ``entity_id``, a
    website id, or a custom attribute."""
    if name == "entity_id":
        name = "id"
    if name in item:
        return item[name]
    if name == "website_id":
        return (item.get("extension_attributes") or {}).get("website_ids")
    for attribute in item.get("custom_attributes") or []:
        if attribute.get("attribute_code") == name:
            return attribute.get("value")
    return None


def search(items: Sequence[dict[str, Any]], criteria: dict[str, Any], *,
           repeat_last_page: bool) -> tuple[list[dict[str, Any]], int]:
    """Filter, sort and page ``items`` by Magento's rules: ``(page, total_count)``."""
    selected = [item for item in items
                if all(any(condition_holds(field_value(item, f["field"]), f["condition_type"],
                                           f["value"])
                           for f in group["filters"]) or not group["filters"]
                       for group in criteria["filter_groups"])]
    for order in reversed(criteria.get("sort_orders") or []):
        name = str(order["field"])

        def key(item: dict[str, Any], name: str = name) -> tuple[int, Any]:
            return _sort_key(field_value(item, name))

        selected.sort(key=key, reverse=order["direction"] == "DESC")
    total = len(selected)
    size = criteria.get("page_size")
    if not size:
        return selected, total
    page = max(1, criteria.get("current_page") or 1)
    last = max(1, -(-total // size))
    if page > last and repeat_last_page:
        page = last  # Magento 2.3 and earlier: past the end is the last page again
    return selected[(page - 1) * size: page * size], total


def _sort_key(value: Any) -> tuple[int, Any]:
    comparable = _comparable(value)
    return (0, comparable) if isinstance(comparable, Decimal) else (1, comparable)


# -- fields= ------------------------------------------------------------------------------------
def parse_fields(text: str) -> dict[str, Any]:
    """``items[id,extension_attributes[website_ids]],total_count`` as a nested dict."""
    spec: dict[str, Any] = {}
    stack = [spec]
    name = ""
    for char in text:
        if char == "[":
            child: dict[str, Any] = {}
            stack[-1][name.strip()] = child
            stack.append(child)
            name = ""
        elif char in ",]":
            if name.strip():
                stack[-1][name.strip()] = True
            name = ""
            if char == "]" and len(stack) > 1:
                stack.pop()
        else:
            name += char
    if name.strip():
        stack[-1][name.strip()] = True
    return spec


def apply_fields(data: Any, spec: dict[str, Any] | bool) -> Any:
    """Keep only the fields ``spec`` names (lists trimmed member by member)."""
    if spec is True:
        return data
    if isinstance(data, list):
        return [apply_fields(item, spec) for item in data]
    if not isinstance(data, dict):
        return data
    assert isinstance(spec, dict)
    return {key: apply_fields(data[key], sub) for key, sub in spec.items() if key in data}


# -- the emulator ---------------------------------------------------------------------------
class MagentoEmulator(Emulator):
    """A Magento 2 store on 127.0.0.1 rendering ``catalog`` (generated from ``seed`` if None).

    Credentials: the four OAuth 1.0a integration values, the admin user's login; the
    integration access token also works as a bearer when ``allow_bearer`` is on.
    """

    name = "magento"

    def __init__(self, catalog: Catalog | None = None, *, n_products: int = 60, seed: int = 42,
                 switches: Switches | None = None,
                 consumer_key: str = "demo-consumer-key",
                 consumer_secret: str = "demo-consumer-secret",  # noqa: S107 - demo store
                 access_token: str = "demo-access-token",  # noqa: S107
                 access_token_secret: str = "demo-access-token-secret",  # noqa: S107
                 admin_username: str = "admin",
                 admin_password: str = "demo-password",  # noqa: S107
                 allow_bearer: bool = False, admin_token_ttl: float = 4 * 3600,
                 prices_include_tax: bool = False, repeat_last_page: bool = True) -> None:
        super().__init__(switches=switches)
        self.catalog = catalog if catalog is not None else generate_catalog(n_products, seed)
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.access_token = access_token
        self.access_token_secret = access_token_secret
        self.admin_username = admin_username
        self.admin_password = admin_password
        self.allow_bearer = allow_bearer
        self.admin_token_ttl = admin_token_ttl
        self.prices_include_tax = prices_include_tax
        self.repeat_last_page = repeat_last_page
        self._admin_tokens: dict[str, float] = {}
        self._nonces: set[tuple[str, str, str]] = set()
        self._lock = threading.Lock()
        self.admin_tokens_issued = 0
        self.oauth_refused = 0
        self._extra_links: dict[int, list[int]] = {}
        self.products: dict[str, list[dict[str, Any]]] = {}
        self.stock_items: list[dict[str, Any]] = []
        self.source_items: list[dict[str, Any]] = []
        self.media: dict[str, Image] = {}
        self.option_ids: dict[tuple[str, str], int] = {}
        self.reload()

    # -- test hooks -------------------------------------------------------------------------
    def share_child(self, child_id: int, parent_id: int) -> None:
        """Link an existing child product under another configurable parent too."""
        self._extra_links.setdefault(parent_id, []).append(child_id)
        self.reload()

    def revoke_admin_tokens(self) -> None:
        """Every admin token stops working now (4 hours ran out, or the admin logged out)."""
        with self._lock:
            self._admin_tokens.clear()

    @property
    def issued_admin_tokens(self) -> list[str]:
        """Admin tokens handed out (tests register them as secrets)."""
        with self._lock:
            return list(self._admin_tokens)

    def reload(self) -> None:
        """Render the catalog into Magento's entities again (after changing ``catalog``)."""
        self.option_ids = {}
        next_option = 5400
        for name in (SIZE, COLOUR):
            for value in self.catalog.options.get(name, []):
                self.option_ids[(OPTION_ATTRIBUTE[name], value)] = next_option
                next_option += 1
        for brand in self.catalog.brands:
            self.option_ids[("manufacturer", brand)] = next_option
            next_option += 1
        self.media = {}
        self.products = {code: [] for code in STORES}
        self.stock_items, self.source_items = [], []
        for product in self.catalog.products:
            self._render_product(product)
        if self._extra_links:
            for items in self.products.values():
                for item in items:
                    extra = self._extra_links.get(item["id"])
                    if extra and item["type_id"] == "configurable":
                        links = item["extension_attributes"]["configurable_product_links"]
                        links.extend(c for c in extra if c not in links)
        for items in self.products.values():
            items.sort(key=lambda i: i["id"])

    # -- rendering --------------------------------------------------------------------------
    def _price(self, gross: Decimal, rate: int) -> Decimal:
        if self.prices_include_tax:
            return gross
        return (gross * 100 / (100 + rate)).quantize(Decimal("0.000001"))

    def _gallery(self, images: Iterable[Image], pid: int, *, extras: bool
                 ) -> list[dict[str, Any]]:
        entries = []
        for position, image in enumerate(images, start=1):
            path = media_file(image)
            self.media[path] = image
            entries.append({"id": pid * 10 + position, "media_type": "image",
                            "label": image.alt, "position": position, "disabled": False,
                            "types": ["image", "small_image", "thumbnail"] if position == 1
                            else [], "file": path})
        if extras and pid % 5 == 0:  # hidden on the product page: never exported
            entries.append({"id": pid * 10 + 8, "media_type": "image", "label": "ukryte",
                            "position": 0, "disabled": True, "types": [],
                            "file": f"/h/i/hidden-p{pid}.png"})
        if extras and pid % 7 == 0:  # a video's thumbnail: not a product image
            entries.append({"id": pid * 10 + 9, "media_type": "external-video",
                            "label": "film", "position": len(entries) + 1, "disabled": False,
                            "types": [], "file": f"/v/i/video-p{pid}.png"})
        return list(reversed(entries))  # Magento promises no order: position decides

    def _render_product(self, p: Product) -> None:
        tax_class = TAX_CLASS_BY_RATE[p.vat_rate]
        if p.vat_rate == 0 and p.id % 2:
            tax_class = 0  # "None": no tax at all
        links = [{"position": i, "category_id": str(c)} for i, c in enumerate(p.category_ids)]
        common: list[dict[str, Any]] = [
            {"attribute_code": "tax_class_id", "value": str(tax_class)},
            {"attribute_code": "category_ids", "value": [str(c) for c in p.category_ids]},
        ]
        parent_attributes: list[dict[str, Any]] = [
            {"attribute_code": "description", "value": p.description_html},
            {"attribute_code": "short_description", "value": p.short_description_html},
            {"attribute_code": "url_key", "value": p.slug},
            *common,
        ]
        if p.brand:
            parent_attributes.append({"attribute_code": "manufacturer",
                                      "value": str(self.option_ids[("manufacturer", p.brand)])})
        if "Materiał" in p.attributes:
            parent_attributes.append({"attribute_code": "material",
                                      "value": p.attributes["Materiał"]})
        created, updated = magento_time(p.created_at), magento_time(p.updated_at)
        gallery = self._gallery(p.images, p.id, extras=True)
        if p.is_simple:
            v = p.variants[0]
            attributes = list(parent_attributes)
            if v.ean:
                attributes.append({"attribute_code": "ean", "value": v.ean})
            base = {"id": p.id, "sku": p.sku, "attribute_set_id": 4,
                    "price": self._price(v.price_gross, p.vat_rate),
                    "status": 1 if p.active else 2, "visibility": 4, "type_id": "simple",
                    "created_at": created, "updated_at": updated, "weight": v.weight_kg,
                    "extension_attributes": {"website_ids": [1], "category_links": links},
                    "product_links": [], "options": [], "tier_prices": [],
                    "media_gallery_entries": gallery}
            self._add(base, p.name, attributes)
            self._stock(v)
            return
        option_codes = [OPTION_ATTRIBUTE[name] for name in p.option_names]
        parent = {
            "id": p.id, "sku": p.sku, "attribute_set_id": 9, "price": 0,
            "status": 1 if p.active else 2, "visibility": 4, "type_id": "configurable",
            "created_at": created, "updated_at": updated,
            "extension_attributes": {
                "website_ids": [1], "category_links": links,
                "configurable_product_options": [
                    {"id": p.id * 10 + i, "attribute_id": str(ATTRIBUTES[code][0]),
                     "label": ATTRIBUTES[code][1], "position": i,
                     "values": [{"value_index": self.option_ids[(code, value)]}
                                for value in dict.fromkeys(
                                    dict(v.options)[name] for v in p.variants)],
                     "product_id": p.id}
                    for i, (name, code) in enumerate(zip(p.option_names, option_codes,
                                                             strict=True))],
                "configurable_product_links": [v.id for v in p.variants]},
            "product_links": [], "options": [], "tier_prices": [],
            "media_gallery_entries": gallery}
        self._add(parent, p.name, parent_attributes)
        for v in p.variants:
            self._render_child(p, v, tax_class, created, updated, common)
        self.stock_items.append({"item_id": p.id, "product_id": p.id, "stock_id": 1,
                                 "qty": 0, "is_in_stock": True, "manage_stock": True})

    def _render_child(self, p: Product, v: Variant, tax_class: int, created: str,
                      updated: str, common: list[dict[str, Any]]) -> None:
        attributes = [{"attribute_code": OPTION_ATTRIBUTE[name],
                       "value": str(self.option_ids[(OPTION_ATTRIBUTE[name], value)])}
                      for name, value in v.options]
        attributes += [{"attribute_code": "url_key", "value": v.sku.lower()}, *common]
        if v.ean:
            attributes.append({"attribute_code": "ean", "value": v.ean})
        child = {"id": v.id, "sku": v.sku, "attribute_set_id": 9,
                 "price": self._price(v.price_gross, p.vat_rate),
                 "status": 1 if v.active else 2, "visibility": 1, "type_id": "simple",
                 "created_at": created, "updated_at": updated, "weight": v.weight_kg,
                 "extension_attributes": {"website_ids": [1]},
                 "product_links": [], "options": [], "tier_prices": [],
                 "media_gallery_entries": self._gallery([v.image] if v.image else [], v.id,
                                                        extras=False)}
        suffix = "-".join(value for _, value in v.options)
        self._add(child, f"{p.name}-{suffix}", attributes)
        self._stock(v)

    def _add(self, base: dict[str, Any], name: str, attributes: list[dict[str, Any]]) -> None:
        for code, (_store_id, locale, _label) in STORES.items():
            english = locale.startswith("en")
            self.products[code].append({**base, "name": f"{name} (EN)" if english else name,
                                        "custom_attributes": attributes})

    def _stock(self, v: Variant) -> None:
        tracked = v.stock is not None
        qty = v.stock if v.stock is not None else Decimal(0)
        self.stock_items.append({"item_id": v.id, "product_id": v.id, "stock_id": 1,
                                 "qty": qty, "is_in_stock": not tracked or qty > 0,
                                 "is_qty_decimal": qty != qty.to_integral_value(),
                                 "manage_stock": tracked, "use_config_manage_stock": tracked,
                                 "low_stock_date": None})
        if not tracked:
            return
        split = qty // 3 if v.id % 4 == 0 else Decimal(0)
        for source, amount in (("default", qty - split), ("krakow", split)):
            if source == "default" or amount:
                self.source_items.append({"sku": v.sku, "source_code": source,
                                          "quantity": amount, "status": 1 if amount > 0 else 0})

    # -- auth -------------------------------------------------------------------------------
    def before_request(self, request: Request) -> Response | None:
        """Media files are public; the API needs one of the three credentials."""
        if request.path.startswith(MEDIA + "/") and request.method in ("GET", "HEAD"):
            return self._media(request.path[len(MEDIA):])
        if not request.path.startswith("/rest/"):
            return None
        if re.fullmatch(r"/rest/(?:[a-z0-9_]+/)?V1/integration/admin/token", request.path):
            return None
        header = request.header("authorization") or ""
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() == "oauth":
            return self._check_oauth(request, header)
        if scheme.lower() == "bearer":
            token = credentials.strip()
            with self._lock:
                expires = self._admin_tokens.get(token)
            if expires is not None and time.monotonic() < expires:
                return None
            if self.allow_bearer and secrets.compare_digest(token.encode(),
                                                            self.access_token.encode()):
                return None
        return Response.json(_NOT_AUTHORIZED, 401)

    def _check_oauth(self, request: Request, header: str) -> Response | None:
        """Recompute the OAuth 1.0a signature with oauthlib and compare."""
        try:
            params = oauth_signature.collect_parameters(
                uri_query=urlencode([(k, v) for k, vs in request.query.items() for v in vs]),
                headers={"Authorization": header}, exclude_oauth_signature=False)
        except ValueError:
            return self._oauth_refused("The signature is invalid. Verify and try again.")
        oauth = dict(p for p in params if p[0].startswith("oauth_"))
        method = oauth.get("oauth_signature_method", "")
        if (oauth.get("oauth_consumer_key") != self.consumer_key
                or oauth.get("oauth_token") != self.access_token):
            return self._oauth_refused("The consumer isn't authorized to access %resources.")
        if method not in ("HMAC-SHA256", "HMAC-SHA1"):
            return self._oauth_refused(f'Signature method "{method}" is not supported')
        host = request.header("host") or f"127.0.0.1:{self.port}"
        uri = oauth_signature.base_string_uri(f"http://{host}{request.path}")
        normalized = oauth_signature.normalize_parameters(
            [p for p in params if p[0] != "oauth_signature"])
        base = oauth_signature.signature_base_string(request.method, uri, normalized)
        sign = (oauth_signature.sign_hmac_sha256_with_client if method == "HMAC-SHA256"
                else oauth_signature.sign_hmac_sha1_with_client)
        keys = SimpleNamespace(client_secret=self.consumer_secret,
                               resource_owner_secret=self.access_token_secret)
        expected = sign(base, keys)
        if not secrets.compare_digest(expected.encode(),
                                      oauth.get("oauth_signature", "").encode()):
            return self._oauth_refused("The signature is invalid. Verify and try again.")
        nonce = (self.consumer_key, oauth.get("oauth_nonce", ""),
                 oauth.get("oauth_timestamp", ""))
        with self._lock:
            if nonce in self._nonces:
                self.oauth_refused += 1
                return Response.json(
                    {"message": "The nonce is already being used by the consumer with ID "
                                "%1.", "parameters": ["1"]}, 401)
            self._nonces.add(nonce)
        return None

    def _oauth_refused(self, message: str) -> Response:
        with self._lock:
            self.oauth_refused += 1
        body: dict[str, Any] = {"message": message}
        if "%resources" in message:
            body["parameters"] = {"resources": "Magento_Catalog::products"}
        return Response.json(body, 401)

    @route("POST", REST + r"/integration/admin/token")
    def admin_token(self, request: Request, store: str | None) -> Response:
        """An admin user's login for a 4-hour token, answered as a JSON string."""
        try:
            body = request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return Response.json({"message": '"username" is required. Enter and try again.'},
                                 400)
        user, password = str(body.get("username") or ""), str(body.get("password") or "")
        if not (secrets.compare_digest(user.encode(), self.admin_username.encode())
                and secrets.compare_digest(password.encode(), self.admin_password.encode())):
            return Response.json({"message": "The account sign-in was incorrect or your "
                                             "account is disabled temporarily. Please wait "
                                             "and try again later."}, 401)
        token = secrets.token_hex(16)
        with self._lock:
            self._admin_tokens[token] = time.monotonic() + self.admin_token_ttl
            self.admin_tokens_issued += 1
        return Response.json(token)

    # -- API --------------------------------------------------------------------------------
    def _store(self, store: str | None) -> str | None:
        code = store or "default"
        if code == "all":
            return "default"
        return code if code in STORES else None

    def _list(self, request: Request, items: Sequence[dict[str, Any]]) -> Response:
        criteria = parse_search_criteria(request.query)
        if criteria is None:
            return Response.json({"message": '"%fieldName" is required. Enter and try again.',
                                  "parameters": {"fieldName": "searchCriteria"}}, 400)
        try:
            page, total = search(items, criteria, repeat_last_page=self.repeat_last_page)
        except ValueError as exc:
            return Response.json({"message": str(exc)}, 400)
        body = {"items": page, "search_criteria": criteria, "total_count": total}
        return self._answer(request, body)

    def _answer(self, request: Request, body: Any) -> Response:
        fields = request.arg("fields")
        if fields:
            body = apply_fields(body, parse_fields(fields))
        return Response.json(body)

    def _unknown_store(self) -> Response:
        return Response.json({"message": "The store that was requested wasn't found. Verify "
                                         "the store and try again."}, 400)

    @route("GET", REST + r"/products")
    def list_products(self, request: Request, store: str | None) -> Response:
        """``GET /V1/products?searchCriteria...``"""
        code = self._store(store)
        if code is None:
            return self._unknown_store()
        return self._list(request, self.products[code])

    @route("GET", REST + r"/products/attributes")
    def list_attributes(self, request: Request, store: str | None) -> Response:
        """Attribute metadata with store labels and options (filterable by id or code)."""
        code = self._store(store)
        if code is None:
            return self._unknown_store()
        return self._list(request, [self._attribute(c, code) for c in ATTRIBUTES])

    @route("GET", REST + r"/products/attributes/(?P<attribute>[a-z_0-9]+)/options")
    def attribute_options(self, request: Request, store: str | None, attribute: str
                          ) -> Response:
        """One attribute's options in the store's labels."""
        code = self._store(store)
        if code is None:
            return self._unknown_store()
        if attribute not in ATTRIBUTES:
            return Response.json({"message": 'The attribute with a "%1" attributeCode '
                                             "doesn't exist. Verify the attribute and try "
                                             "again.", "parameters": [attribute]}, 404)
        return self._answer(request, self._attribute(attribute, code)["options"])

    def _attribute(self, attribute: str, store: str) -> dict[str, Any]:
        attribute_id, admin, labels, kind, user_defined, visible = ATTRIBUTES[attribute]
        store_id = STORES[store][0]
        options: list[dict[str, Any]] = []
        if kind == "select":
            options = [{"label": " ", "value": ""}]
            for (code, value), option_id in self.option_ids.items():
                if code == attribute:
                    label = COLOUR_EN.get(value, value) if store_id == 2 else value
                    options.append({"label": label, "value": str(option_id)})
        return {"attribute_id": attribute_id, "attribute_code": attribute,
                "frontend_input": kind, "scope": "global", "is_user_defined": user_defined,
                "is_visible_on_front": visible, "default_frontend_label": admin,
                "frontend_labels": [{"store_id": sid, "label": label}
                                    for sid, label in labels.items()],
                "options": options}

    @route("GET", REST + r"/store/storeConfigs")
    def store_configs(self, request: Request, store: str | None) -> Response:
        """Per store view: locale, currency, time zone, weight unit, base and media URLs."""
        base = self.url + "/"
        return self._answer(request, [
            {"id": sid, "code": code, "website_id": 1, "locale": locale,
             "base_currency_code": "PLN", "default_display_currency_code": "PLN",
             "timezone": TIMEZONE, "weight_unit": "kgs",
             "base_url": base + ("" if code == "default" else f"{code}/"),
             "base_link_url": base + ("" if code == "default" else f"{code}/"),
             "base_static_url": base + "static/version1700000000/",
             "base_media_url": base + "media/",
             "secure_base_url": base + ("" if code == "default" else f"{code}/"),
             "secure_base_link_url": base + ("" if code == "default" else f"{code}/"),
             "secure_base_static_url": base + "static/version1700000000/",
             "secure_base_media_url": base + "media/"}
            for code, (sid, locale, _name) in STORES.items()])

    @route("GET", REST + r"/store/storeViews")
    def store_views(self, request: Request, store: str | None) -> Response:
        """The admin store and both views."""
        return self._answer(request, [
            {"id": 0, "code": "admin", "name": "Admin", "website_id": 0, "store_group_id": 0,
             "is_active": 1},
            *({"id": sid, "code": code, "name": name, "website_id": 1, "store_group_id": 1,
               "is_active": 1} for code, (sid, _locale, name) in STORES.items())])

    @route("GET", REST + r"/store/storeGroups")
    def store_groups(self, request: Request, store: str | None) -> Response:
        """One store (group) whose root category is 2, and the admin group."""
        return self._answer(request, [
            {"id": 0, "website_id": 0, "root_category_id": 0, "default_store_id": 0,
             "name": "Default", "code": "default"},
            {"id": 1, "website_id": 1, "root_category_id": ROOT_CATEGORY_ID,
             "default_store_id": 1, "name": "Main Website Store",
             "code": "main_website_store"}])

    @route("GET", REST + r"/categories")
    def category_tree(self, request: Request, store: str | None) -> Response:
        """The tree under ``rootCategoryId`` (default: the store's root), ``depth`` levels."""
        root_id = int(request.arg("rootCategoryId") or ROOT_CATEGORY_ID)
        depth = request.arg("depth")
        limit = int(depth) if depth and depth.isdigit() else 1 << 30
        nodes = self._category_nodes()
        if root_id not in nodes:
            return Response.json({"message": 'No such entity with %fieldName = %fieldValue',
                                  "parameters": {"fieldName": "id",
                                                 "fieldValue": root_id}}, 404)

        def render(cid: int, level_left: int) -> dict[str, Any]:
            node = dict(nodes[cid])
            kids = node.pop("kids")
            node["children_data"] = ([render(k, level_left - 1) for k in kids]
                                     if level_left > 0 else [])
            return node

        return self._answer(request, render(root_id, limit))

    def _category_nodes(self) -> dict[int, dict[str, Any]]:
        counts: dict[int, int] = {}
        for p in self.catalog.products:
            for cid in p.category_ids:
                counts[cid] = counts.get(cid, 0) + 1
        nodes: dict[int, dict[str, Any]] = {
            1: {"id": 1, "parent_id": 0, "name": "Root Catalog", "is_active": True,
                "position": 0, "level": 0, "product_count": 0, "kids": [2, 3]},
            2: {"id": 2, "parent_id": 1, "name": "Default Category", "is_active": True,
                "position": 1, "level": 1, "product_count": len(self.catalog.products),
                "kids": []},
            3: {"id": 3, "parent_id": 1, "name": "Inny sklep", "is_active": True,
                "position": 2, "level": 1, "product_count": 0, "kids": [9]},
            9: {"id": 9, "parent_id": 3, "name": "Outlet innego sklepu", "is_active": True,
                "position": 1, "level": 2, "product_count": 0, "kids": []},
        }
        for position, c in enumerate(self.catalog.categories, start=1):
            parent = c.parent_id if c.parent_id is not None else ROOT_CATEGORY_ID
            nodes[c.id] = {"id": c.id, "parent_id": parent, "name": c.name,
                           "is_active": True, "position": position, "level": len(c.path) + 1,
                           "product_count": counts.get(c.id, 0), "kids": []}
            nodes[parent]["kids"].append(c.id)
        return nodes

    @route("GET", REST + r"/taxClasses/search")
    def tax_classes(self, request: Request, store: str | None) -> Response:
        """Product and customer tax classes."""
        return self._list(request, TAX_CLASSES)

    @route("GET", REST + r"/taxRates/search")
    def tax_rates(self, request: Request, store: str | None) -> Response:
        """Rates for PL, DE and a US region."""
        return self._list(request, [
            {"id": rid, "tax_country_id": country, "tax_region_id": region,
             "region_name": "CA" if region else "", "tax_postcode": postcode, "rate": rate,
             "code": code, "titles": []}
            for rid, country, region, postcode, rate, code in TAX_RATES])

    @route("GET", REST + r"/taxRules/search")
    def tax_rules(self, request: Request, store: str | None) -> Response:
        """Rules tying product and customer classes to rates."""
        return self._list(request, [
            {"id": rid, "code": code, "priority": 0, "position": 0,
             "customer_tax_class_ids": customers, "product_tax_class_ids": products,
             "tax_rate_ids": rates, "calculate_subtotal": False}
            for rid, code, customers, products, rates in TAX_RULES])

    @route("GET", REST + r"/stockItems/lowStock")
    def low_stock(self, request: Request, store: str | None) -> Response:
        """Legacy stock items with ``qty <= qty`` (the bulk read), paged like lists."""
        try:
            threshold = Decimal(request.arg("qty") or "0")
            size = int(request.arg("pageSize") or 0)
            page = int(request.arg("currentPage") or 1)
        except ArithmeticError:
            return Response.json({"message": "Invalid qty"}, 400)
        except ValueError:
            return Response.json({"message": "Invalid page"}, 400)
        rows = [i for i in self.stock_items if Decimal(i["qty"]) <= threshold]
        criteria: dict[str, Any] = {"filter_groups": [], "page_size": size or None,
                                    "current_page": page}
        chunk, total = search(rows, criteria, repeat_last_page=self.repeat_last_page)
        return self._answer(request, {"items": chunk, "search_criteria": criteria,
                                      "total_count": total})

    @route("GET", REST + r"/inventory/source-items")
    def source_items_list(self, request: Request, store: str | None) -> Response:
        """MSI quantities per SKU and source."""
        return self._list(request, self.source_items)

    @route("GET", REST + r"/inventory/sources")
    def sources(self, request: Request, store: str | None) -> Response:
        """The two sources."""
        return self._list(request, [
            {"source_code": "default", "name": "Default Source", "enabled": True},
            {"source_code": "krakow", "name": "Magazyn Kraków", "enabled": True}])

    def _media(self, path: str) -> Response:
        image = self.media.get(path)
        if image is None:
            return Response(404, _HTML_404, content_type="text/html; charset=utf-8")
        return Response(200, image.content, {"Cache-Control": "public, max-age=31536000"},
                        content_type=image.content_type)

    # -- errors -----------------------------------------------------------------------------
    def rate_limited(self, request: Request, retry_after: float) -> Response:
        """Magento's (2.4.7) 429."""
        return Response.json({"message": "Too Many Requests", "trace": None}, 429,
                             {"Retry-After": str(max(1, int(retry_after + 0.999)))})

    def server_error(self, request: Request) -> Response:
        """Maintenance mode: Magento's HTML 503 page."""
        return Response(503, _MAINTENANCE, {"Retry-After": "1"},
                        content_type="text/html; charset=utf-8")

    def not_found(self, request: Request) -> Response:
        """Inside ``/rest``: Magento's JSON; elsewhere the storefront's HTML 404."""
        if request.path.startswith("/rest/"):
            return Response.json(_NO_ROUTE, 404)
        return Response(404, _HTML_404, content_type="text/html; charset=utf-8")

    def state(self) -> dict[str, Any]:
        """What the store holds and how it was used (never a credential)."""
        items = self.products["default"]
        kinds: dict[str, int] = {}
        for item in items:
            kinds[item["type_id"]] = kinds.get(item["type_id"], 0) + 1
        limit = self.switches.rate_limit
        return {"shop": "magento", "products": len(self.catalog.products),
                "variants": self.catalog.variant_count(), "entities": kinds,
                "stock_items": len(self.stock_items), "source_items": len(self.source_items),
                "admin_tokens_issued": self.admin_tokens_issued,
                "oauth_refused": self.oauth_refused, "requests": len(self.requests_to()),
                "rate_limited": limit.refused if limit else 0}


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m sandbox.magento``: serve the seeded store until interrupted."""
    parser = common_parser("magento")
    parser.add_argument("--consumer-key", default="demo-consumer-key")
    parser.add_argument("--consumer-secret", default="demo-consumer-secret")
    parser.add_argument("--access-token", default="demo-access-token")
    parser.add_argument("--access-token-secret", default="demo-access-token-secret")
    parser.add_argument("--admin-username", default="admin")
    parser.add_argument("--admin-password", default="demo-password")
    parser.add_argument("--allow-bearer", action="store_true",
                        help="accept the integration access token as a bearer (2.4.3 and "
                             "earlier, or the 2.4.4+ setting switched on)")
    parser.add_argument("--prices-include-tax", action="store_true",
                        help="catalog prices are entered gross")
    parser.add_argument("--no-repeat-last-page", action="store_true",
                        help="a page past the end is empty (2.4) instead of the last again")

    def factory(args: argparse.Namespace, switches: Switches) -> MagentoEmulator:
        return MagentoEmulator(
            n_products=args.products, seed=args.seed, switches=switches,
            consumer_key=args.consumer_key, consumer_secret=args.consumer_secret,
            access_token=args.access_token, access_token_secret=args.access_token_secret,
            admin_username=args.admin_username, admin_password=args.admin_password,
            allow_bearer=args.allow_bearer, prices_include_tax=args.prices_include_tax,
            repeat_last_page=not args.no_repeat_last_page)

    run("magento", factory, argv, parser)


if __name__ == "__main__":
    main()

