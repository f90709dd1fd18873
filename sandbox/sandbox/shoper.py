"""Shoper (shoper.pl) emulator: the seeded catalog behind Shoper's REST API and its quirks.

What it reproduces (Shoper's REST API as documented by Shoper and observed on live shops):

- ``POST /webapi/rest/auth`` (HTTP Basic or form ``client_id``/``client_secret``) answering
  ``{"access_token", "expires_in", "token_type"}``; a static integration token; every other
  ``/webapi/rest`` call needs ``Authorization: Bearer``, else ``401 unauthorized_client``.
- The resources a catalog export needs: ``application-config``, ``languages``, ``products``,
  ``product-stocks``, ``product-images``, ``options``, ``option-values``, ``taxes``,
  ``categories``, ``categories-tree``, ``producers``, ``attributes``; lists in the real paging
  envelope ``{"count": "<string>", "pages": n, "page": n, "list": [...]}`` with the same
  numbers in ``X-Shop-Result-*`` headers; ``limit`` above 50 silently becomes 10.
- ``filters`` as JSON (``{"product_id": {"in": [...]}}``, ``{"edit_date": {">=": ...}}``,
  ``{"product_id": {">": 50}}``: ``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``in``, ``not in``,
  ``like``; numbers compare as numbers) or in bracket form (``filters[product_id]=93``,
  ``filters[stock_id][>]=50``) for the fields a tap uses; a filter on any
  other field is silently ignored (the whole table comes back), ``code``/``category_id`` on
  products are refused with 404 as on a live shop.
- ``order=<field> ASC|DESC``; a bare field sorts descending; without ``order`` rows come in a
  fixed but scrambled order.
- Shoper shapes: everything a string except ids inside arrays and ``pages``/``page``; ``[]``
  for empty objects; translations keyed by locale (``pl_PL`` default, ``en_GB`` on some
  products only); VAT by name (``zw.`` and ``0%`` both value 0); the default stock row
  embedded as ``product.stock``; ``product.options`` listing the variants' stock ids;
  ``comp_price`` gross; naive Europe/Warsaw ``edit_date``; variant images as hidden gallery
  rows.
- The leaky bucket: ``X-Shop-Api-Limit/-Bandwidth/-Calls`` on every API answer, 429 with
  ``Retry-After`` when the machinery's rate limit is on. Image files under
  ``/userdata/public/gfx/`` are plain storefront files: not throttled, no auth.
- Anything outside ``/webapi/rest`` and the image folder is a bare HTML 404, like a host that
  is not a Shoper shop.
- Text that UTF-8 cannot carry (a lone surrogate left by a broken import) is sent as JSON
  ``\\uXXXX`` escapes, as PHP's ``json_encode`` does by default.
- Bad days, switched on in :attr:`ShoperEmulator.faults` (:class:`ShoperFaults`): a 503
  with a ``Retry-After`` of hours, a page count that keeps growing, a page answered out of
  the requested order.

The same catalog seed gives the same shop every time (ids, tokens aside).
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import functools
import hashlib
import math
import re
import secrets
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, unquote
from zoneinfo import ZoneInfo

import simplejson
from commerce_schema import jsonio

from sandbox.catalog import COLOUR, SIZE, Catalog, Image, Product, generate_catalog
from sandbox.cli import common_parser, run
from sandbox.server import Emulator, Request, Response, Switches, route

API = "/webapi/rest"
GFX = "/userdata/public/gfx/"
TIMEZONE = "Europe/Warsaw"
DEFAULT_LIMIT = 10
MAX_LIMIT = 50
#: documented defaults of the leaky bucket, shown when the emulator's rate limit is off
DEFAULT_BUCKET = (10, 2)

LOCALES = ("pl_PL", "en_GB")
LANG_IDS = {"pl_PL": "1", "en_GB": "2"}

# tax_id, value, name, class: "zw." and "0%" are both value 0, told apart only by name
TAXES = [("1", "23", "23%", "23"), ("2", "8", "8%", "8"), ("3", "5", "5%", "5"),
         ("4", "0", "zw.", "zw."), ("5", "0", "0%", "0"), ("6", "0", "np.", "np.")]
_TAX_BY_RATE = {23: "1", 8: "2", 5: "3"}

_OPTION_IDS = {SIZE: 1, COLOUR: 2}
_OPTION_EN = {SIZE: "Size", COLOUR: "Colour"}
_COLOUR_EN = {"czarny": "black", "biały": "white", "czerwony": "red", "zielony": "green",
              "niebieski": "blue", "żółty": "yellow", "różowy": "pink", "beżowy": "beige",
              "granatowy": "navy", "szary": "grey", "brązowy": "brown",
              "pomarańczowy": "orange"}
_GROUPS = {(SIZE,): 1, (COLOUR,): 2, (SIZE, COLOUR): 3}

_UNAUTHORIZED = {"error": "unauthorized_client",
                 "error_description": "Provided access token is invalid"}
_NOT_FOUND = {"error": "invalid_request", "error_description": "Resource not found"}
_HTML_404 = ("<!DOCTYPE html><html><head><title>404 Not Found</title></head>"
             "<body><h1>Not Found</h1><p>The requested URL was not found on this server.</p>"
             "</body></html>")


def local_time(moment: dt.datetime) -> str:
    """A UTC datetime as Shoper writes it: naive ``YYYY-MM-DD HH:MM:SS`` in shop time."""
    return moment.astimezone(ZoneInfo(TIMEZONE)).strftime("%Y-%m-%d %H:%M:%S")


def _num(value: Decimal | None) -> str | None:
    """A Decimal as Shoper prints quantities: "40", "1.5"."""
    if value is None:
        return None
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _get(row: Any, dotted: str) -> Any:
    """``row["a"]["b"]`` for ``"a.b"``; None when any step is missing."""
    current = row
    for part in dotted.split("."):
        if not isinstance(current, dict) or part not in current:
            return None
        current = current[part]
    return current


def _comparable(value: Any) -> Any:
    """Numbers compare as numbers, everything else as text (Shoper sends both as strings)."""
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    text = "" if value is None else str(value)
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return Decimal(text)
    return text


@functools.lru_cache(maxsize=64)
def _comparable_set(values: tuple[Any, ...]) -> frozenset[Any]:
    """The comparable forms of an ``in`` list, built once per list, not once per row: a
    filtered call scans the whole table, and 10,000 products made that the bottleneck."""
    return frozenset(_comparable(v) for v in values)


def _wanted(expected: Any) -> frozenset[Any]:
    values = tuple(expected) if isinstance(expected, list) else (expected,)
    try:
        return _comparable_set(values)
    except TypeError:  # unhashable members: compare them the slow way
        return frozenset(_comparable(v) for v in values if v.__hash__ is not None)


def _matches(value: Any, condition: Any) -> bool:
    """One filter condition: a scalar (equality) or ``{"in"|"=="|"!="|">"|">="|"<"|"<="|
    "like": ...}``."""
    if not isinstance(condition, dict):
        condition = {"=": condition}
    for op, expected in condition.items():
        op = op.lower()
        left = _comparable(value)
        if op in ("in", "not in"):
            if (left in _wanted(expected)) != (op == "in"):
                return False
            continue
        if op == "like":
            pattern = "^" + ".*".join(map(re.escape, str(expected).split("%"))) + "$"
            if not re.match(pattern, str(value or ""), re.IGNORECASE | re.DOTALL):
                return False
            continue
        right = _comparable(expected)
        if type(left) is not type(right):
            left, right = str(left), str(right)
        checks = {"=": left == right, "==": left == right, "!=": left != right,
                  "<>": left != right, ">": left > right, ">=": left >= right,
                  "<": left < right, "<=": left <= right}
        if op not in checks or not checks[op]:
            return False
    return True


@dataclass
class ShoperFaults:
    """Answers a live shop gives on a bad day; resource names are matched as a regex."""

    #: answer the next ``retry_after_times`` list requests of ``retry_after_on`` with
    #: 503 and ``Retry-After: <retry_after>`` (seconds)
    retry_after: int | None = None
    retry_after_on: str = "products"
    retry_after_times: int = 1
    #: resources whose ``pages`` grows by one with every page answered
    growing_pages: str | None = None
    #: ``(resource, n)``: the n-th page answered of that resource comes with its rows in
    #: descending order (n counts answers, not ``page`` numbers, so that a tap paging by key,
    #: always on page 1, meets it too)
    reversed_page: tuple[str, int] | None = None
    #: what was served so far (``"retry_after"``: 503s sent; resource: pages answered)
    served: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer; text UTF-8 cannot carry (lone surrogates) as ``\\uXXXX`` escapes."""
    try:
        return Response.json(data, status, headers)
    except UnicodeEncodeError:
        body = simplejson.dumps(data, use_decimal=True, ensure_ascii=True,
                                separators=(",", ":"))
        return Response(status, body.encode("ascii"), dict(headers or {}))


class Resource:
    """One list resource: its rows, id field, which filters it honours and refuses."""

    def __init__(self, name: str, id_field: str | None, filterable: Iterable[str] = (),
                 refused: Iterable[str] = (), paged: bool = True) -> None:
        self.name = name
        self.id_field = id_field
        self.filterable = set(filterable)
        self.refused = set(refused)
        self.paged = paged
        self.rows: list[dict[str, Any]] = []


class ShoperEmulator(Emulator):
    """A Shoper shop on 127.0.0.1 rendering ``catalog`` (generated from ``seed`` if None).

    ``username``/``password`` are accepted at ``/webapi/rest/auth``; ``access_token`` is an
    extra static integration token. Tokens from ``/auth`` live ``token_ttl`` seconds.
    Test hooks: :meth:`drop_translation`, :meth:`expire_tokens`, :meth:`reload` (after
    changing the catalog).
    """

    name = "shoper"

    def __init__(self, catalog: Catalog | None = None, *, n_products: int = 60, seed: int = 42,
                 switches: Switches | None = None, username: str = "demo",
                 password: str = "demo-password",  # noqa: S107 - the demo shop's login
                 access_token: str | None = None,
                 token_ttl: int = 2592000) -> None:
        super().__init__(switches=switches)
        self.catalog = catalog if catalog is not None else generate_catalog(n_products, seed)
        self.username = username
        self.password = password
        self.static_token = access_token
        self.token_ttl = token_ttl
        self._tokens: dict[str, float] = {}
        self._tokens_lock = threading.Lock()
        self.tokens_issued = 0
        self._dropped: set[tuple[int, str]] = set()
        self.faults = ShoperFaults()
        self.images: dict[str, Image] = {}
        self.resources: dict[str, Resource] = {}
        self.reload()

    # -- test hooks -------------------------------------------------------------------------
    def drop_translation(self, product_id: int, locale: str = "pl_PL") -> None:
        """Make a product miss one locale (what a half-translated shop looks like)."""
        self._dropped.add((product_id, locale))
        self.reload()

    def expire_tokens(self) -> None:
        """Every token from ``/auth`` stops working now (a 30-day token ran out)."""
        with self._tokens_lock:
            self._tokens.clear()

    def reload(self) -> None:
        """Render the catalog into Shoper's tables again (after changing ``self.catalog``)."""
        self.resources = {r.name: r for r in self._render()}

    # -- rendering --------------------------------------------------------------------------
    def _render(self) -> list[Resource]:
        cat = self.catalog
        config = Resource("application-config", None, paged=False)
        config.rows = [{
            "shop_name": "Sklep demonstracyjny", "shop_email": "sklep@example.pl",
            "default_language_name": "pl_PL", "default_language_id": "1",
            "default_currency_name": "PLN", "default_currency_id": "1",
            "locale_timezone": TIMEZONE, "locale_default_weight": "kg",
            "shopping_update_stock_on_buy": "1", "shopping_allow_overselling": "0",
            "warehouses_enabled": "0", "shop_off": "0", "product_default_stock": "0",
        }]
        languages = Resource("languages", "lang_id")
        languages.rows = [{"lang_id": LANG_IDS[loc], "locale": loc, "active": "1",
                           "currency_id": "1", "order": str(i)}
                          for i, loc in enumerate(LOCALES, start=1)]
        taxes = Resource("taxes", "tax_id")
        taxes.rows = [{"tax_id": tid, "value": value, "name": name, "class": klass}
                      for tid, value, name, klass in TAXES]
        producers = Resource("producers", "producer_id", filterable={"producer_id", "name"})
        producer_ids = {name: str(i) for i, name in enumerate(cat.brands, start=1)}
        producers.rows = [{"producer_id": pid, "name": name, "web": "", "gfx": None}
                          for name, pid in producer_ids.items()]
        attributes = Resource("attributes", "attribute_id")
        attributes.rows = [{"attribute_id": "1", "attribute_group_id": "1", "type": "0",
                            "order": "1", "active": "1",
                            "translations": {"pl_PL": {"name": "Materiał", "description": ""},
                                             "en_GB": {"name": "Material",
                                                       "description": ""}}}]
        options, option_values, value_ids = self._render_options()
        categories, tree = self._render_categories()
        products = Resource("products", "product_id",
                            filterable={"product_id", "edit_date", "add_date", "stock.code",
                                        "producer_id", "translations.pl_PL.name",
                                        "translations.pl_PL.active"},
                            refused={"code", "category_id"})
        stocks = Resource("product-stocks", "stock_id",
                          filterable={"stock_id", "product_id", "extended", "code", "ean",
                                      "active"})
        images = Resource("product-images", "gfx_id", filterable={"gfx_id", "product_id"})
        self.images = {}
        first_id = 1_000_000  # the catalog's variant-id sequence; its gaps hold default rows
        gfx_id = 1
        for product in cat.products:
            default_id = first_id if product.is_simple else first_id + len(product.variants)
            first_id += len(product.variants) + 1
            gallery, gfx_id = self._render_images(product, gfx_id)
            images.rows.extend(gallery)
            default_row, variant_rows = self._render_stocks(product, default_id, value_ids,
                                                            gallery)
            stocks.rows.append(default_row)
            stocks.rows.extend(variant_rows)
            products.rows.append(self._render_product(product, default_row, variant_rows,
                                                      gallery, producer_ids))
        stocks.rows.sort(key=lambda r: int(r["stock_id"]))
        return [config, languages, taxes, producers, attributes, options, option_values,
                categories, tree, products, stocks, images]

    def _render_options(self) -> tuple[Resource, Resource, dict[tuple[str, str], str]]:
        options = Resource("options", "option_id", filterable={"option_id", "group_id"})
        values = Resource("option-values", "ovalue_id", filterable={"ovalue_id", "option_id"})
        value_ids: dict[tuple[str, str], str] = {}
        next_value = 1
        for name, option_id in _OPTION_IDS.items():
            options.rows.append({
                "option_id": str(option_id),
                "group_id": str(_GROUPS[(name,)]), "type": "select", "stock": "1",
                "required": "1", "order": str(option_id), "price_type": "0",
                "translations": {"pl_PL": {"name": name}, "en_GB": {"name": _OPTION_EN[name]}},
            })
            for order, value in enumerate(self.catalog.options.get(name, []), start=1):
                value_ids[(name, value)] = str(next_value)
                english = _COLOUR_EN.get(value, value)
                values.rows.append({
                    "ovalue_id": str(next_value), "option_id": str(option_id),
                    "order": str(order), "price": "0.00", "price_type": "0",
                    "color": None, "translations": {"pl_PL": {"value": value},
                                                    "en_GB": {"value": english}},
                })
                next_value += 1
        return options, values, value_ids

    def _render_categories(self) -> tuple[Resource, Resource]:
        categories = Resource("categories", "category_id",
                              filterable={"category_id", "root"})
        children: dict[int | None, list[int]] = {}
        for order, category in enumerate(self.catalog.categories, start=1):
            children.setdefault(category.parent_id, []).append(category.id)
            names = {loc: {"name": category.name, "description": "", "active": "1",
                           "isdefault": "0", "lang_id": LANG_IDS[loc], "seo_title": "",
                           "seo_description": "", "seo_keywords": "", "items": "0",
                           "permalink": f"/{loc[:2]}/c/{category.id}"}
                     for loc in LOCALES}
            categories.rows.append({
                "category_id": str(category.id),
                "root": "1" if category.parent_id is None else "0",
                "order": str(order), "in_loyalty": "0", "translations": names,
            })

        def node(category_id: int) -> dict[str, Any]:
            return {"id": category_id,
                    "children": [node(c) for c in children.get(category_id, [])]}

        tree = Resource("categories-tree", None, paged=False)
        tree.rows = [node(c) for c in children.get(None, [])]
        return categories, tree

    def _render_images(self, product: Product, gfx_id: int
                       ) -> tuple[list[dict[str, Any]], int]:
        """Gallery rows: product images, then variant images as hidden rows."""
        rows = []
        shown = [(img, False) for img in product.images]
        hidden = [(v.image, True) for v in product.variants if v.image is not None]
        for order, (img, is_hidden) in enumerate([*shown, *hidden], start=1):
            unic_name = img.key
            self.images[f"{unic_name}.png"] = img
            rows.append({
                "gfx_id": str(gfx_id), "product_id": str(product.id),
                "main": "1" if order == 1 else "0", "order": str(order),
                "hidden": "1" if is_hidden else "0", "unic_name": unic_name,
                "extension": "png", "name": img.filename,
                "translations": {"pl_PL": {"name": img.alt, "lang_id": "1"}},
            })
            gfx_id += 1
        return rows, gfx_id

    def _render_stocks(self, product: Product, default_id: int,
                       value_ids: dict[tuple[str, str], str], gallery: list[dict[str, Any]]
                       ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        gfx_by_key = {row["unic_name"]: row["gfx_id"] for row in gallery}
        base = product.price_gross

        def row(stock_id: int, *, extended: bool, code: str, ean: str | None,
                price: Decimal, stock: Decimal | None, active: bool,
                weight: Decimal | None, gfx: str | None, options: Any) -> dict[str, Any]:
            delta = price - base
            if not extended:
                price_type, own = "1", price
            elif delta == 0:
                price_type, own = "0", Decimal("0")
            else:  # 2: base + price, 3: base - price
                price_type, own = ("2", delta) if delta > 0 else ("3", -delta)
            return {
                "stock_id": str(stock_id), "product_id": str(product.id),
                "extended": "1" if extended else "0", "default": "0" if extended else "1",
                "active": "1" if active else "0", "price": _money(own),
                "price_type": price_type, "price_buying": None, "comp_price": _money(price),
                "comp_promo_price": _money(price), "stock": _num(stock), "warn_level": "1",
                "sold": "0", "code": code, "ean": ean or "",
                "weight": _num(weight) if not extended else "0",
                "weight_type": "1" if not extended else "0",
                "comp_weight": _num(weight) or "0", "availability_id": None,
                "delivery_id": "1", "gfx_id": gfx, "package": "0",
                "price_wholesale": "0.00", "price_special": "0.00",
                "calculation_unit_id": None, "calculation_unit_ratio": "0",
                "options": options,
            }

        if product.is_simple:
            v = product.variants[0]
            default = row(default_id, extended=False, code=v.sku, ean=v.ean,
                          price=v.price_gross, stock=v.stock, active=v.active,
                          weight=v.weight_kg, gfx=None, options=[])
            return default, []
        first = product.variants[0]
        default = row(default_id, extended=False, code=product.sku, ean=None, price=base,
                      stock=Decimal(0), active=True, weight=first.weight_kg, gfx=None,
                      options=[])
        variants = []
        for v in product.variants:
            options = {str(_OPTION_IDS[name]): value_ids[(name, value)]
                       for name, value in v.options}
            variants.append(row(v.id, extended=True, code=v.sku, ean=v.ean,
                                price=v.price_gross, stock=v.stock, active=v.active,
                                weight=v.weight_kg,
                                gfx=gfx_by_key.get(v.image.key) if v.image else None,
                                options=options))
        return default, variants

    def _render_product(self, product: Product, default_row: dict[str, Any],
                        variant_rows: list[dict[str, Any]], gallery: list[dict[str, Any]],
                        producer_ids: dict[str, str]) -> dict[str, Any]:
        translations: dict[str, Any] = {}
        locales = LOCALES if product.id % 3 == 0 else LOCALES[:1]
        for locale in locales:
            if (product.id, locale) in self._dropped:
                continue
            english = locale == "en_GB"
            translations[locale] = {
                "translation_id": str(product.id * 10 + int(LANG_IDS[locale])),
                "product_id": str(product.id),
                "name": f"{product.name} (EN)" if english else product.name,
                "short_description": product.short_description_html,
                "description": product.description_html,
                "active": "1" if product.active else "0", "lang_id": LANG_IDS[locale],
                "isdefault": "0",
                "permalink": f"{{shop}}/{locale[:2]}/p/{product.slug}",
                "seo_title": "", "seo_description": "", "seo_keywords": "",
                "seo_url": product.slug, "order": "0", "main_page": "0",
                "main_page_order": "0",
            }
        embedded = {k: v for k, v in default_row.items() if k != "options"}
        main = next((g for g in gallery if g["main"] == "1"), None)
        if product.vat_rate == 0:
            tax_id = "4" if product.id % 2 else "5"  # "zw." or "0%": both VAT 0
        else:
            tax_id = _TAX_BY_RATE[product.vat_rate]
        group = (_GROUPS[tuple(product.option_names)] if not product.is_simple else None)
        attributes: Any = ({"1": {"1": product.attributes["Materiał"]}}
                           if "Materiał" in product.attributes else [])
        return {
            "product_id": str(product.id), "type": "0",
            "producer_id": producer_ids.get(product.brand) if product.brand else None,
            "group_id": str(group) if group else None, "tax_id": tax_id,
            "category_id": str(product.category_ids[0]),
            "categories": list(product.category_ids), "unit_id": "1",
            "add_date": local_time(product.created_at),
            "edit_date": local_time(product.updated_at),
            "other_price": "0.00", "pkwiu": "", "code": product.sku,
            "ean": default_row["ean"] if product.is_simple else "",
            "dimension_w": "0.00", "dimension_h": "0.00", "dimension_l": "0.00",
            "vol_weight": "0.0000", "in_loyalty": "0", "loyalty_score": None,
            "loyalty_price": None, "bestseller": "0", "newproduct": "0",
            "stock": embedded, "translations": translations or [],
            "options": [int(r["stock_id"]) for r in variant_rows],
            "attributes": attributes,
            "main_image": ({k: main[k] for k in ("gfx_id", "unic_name", "extension", "name",
                                                 "order", "hidden")} if main else None),
            "related": [], "tags": [], "feeds_excludes": [], "is_product_of_day": False,
            "gauge_id": None, "currency_id": None, "special_offer": None,
        }

    # -- auth -------------------------------------------------------------------------------
    def _token_valid(self, token: str) -> bool:
        if self.static_token and secrets.compare_digest(token.encode(),
                                                        self.static_token.encode()):
            return True
        with self._tokens_lock:
            expires = self._tokens.get(token)
        return expires is not None and time.monotonic() < expires

    def before_request(self, request: Request) -> Response | None:
        """Storefront files need nothing; the API needs a bearer token (except ``/auth``)."""
        if request.path.startswith(GFX) and request.method in ("GET", "HEAD"):
            return self._image(request.path[len(GFX):])
        if not request.path.startswith(API + "/") or request.path == f"{API}/auth":
            return None
        header = request.header("authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not self._token_valid(token.strip()):
            return Response.json(_UNAUTHORIZED, 401)
        return None

    @route("POST", API + r"/auth")
    def auth(self, request: Request) -> Response:
        """Exchange an admin user's login for a token (Basic or form body)."""
        user = password = None
        header = request.header("authorization") or ""
        if header.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(header[6:].strip()).decode()
            except ValueError:
                decoded = ""
            user, _, password = decoded.partition(":")
        else:
            form = parse_qs(request.body.decode(errors="replace"))
            user = (form.get("client_id") or [""])[0]
            password = (form.get("client_secret") or [""])[0]
        if not (user and password is not None
                and secrets.compare_digest(user.encode(), self.username.encode())
                and secrets.compare_digest(password.encode(), self.password.encode())):
            return Response.json({"error": "unauthorized_client",
                                  "error_description": "Invalid user or password"}, 401)
        token = secrets.token_hex(20)
        with self._tokens_lock:
            self._tokens[token] = time.monotonic() + self.token_ttl
            self.tokens_issued += 1
        return Response.json({"access_token": token, "expires_in": self.token_ttl,
                              "token_type": "bearer"})

    # -- API --------------------------------------------------------------------------------
    @route("GET", API + r"/(?P<name>[a-z-]+)")
    def list_resource(self, request: Request, name: str) -> Response:
        """A list with paging, filters and order; single objects for unpaged resources."""
        resource = self.resources.get(name)
        if resource is None:
            return Response.json({"error": "invalid_request",
                                  "error_description": f"Unknown resource {name}"}, 400)
        if name == "application-config":
            return Response.json(resource.rows[0])
        if not resource.paged:
            return Response.json(resource.rows)
        faults = self.faults
        if (faults.retry_after is not None and re.fullmatch(faults.retry_after_on, name)
                and faults.served["retry_after"] < faults.retry_after_times):
            faults.served["retry_after"] += 1
            return Response.json({"error": "temporarily_unavailable",
                                  "error_description": "Service temporarily unavailable"},
                                 503, {"Retry-After": str(faults.retry_after)})
        filters = self._filters(request)
        refused = sorted(set(filters) & resource.refused)
        if refused:
            return Response.json({"error": "invalid_request",
                                  "error_description": f"Unknown filter {refused[0]}"}, 404)
        rows = [self._finish(resource, row) for row in resource.rows
                if all(_matches(_get(row, f), cond) for f, cond in filters.items()
                       if f in resource.filterable)]
        rows = self._order(request, resource, rows)
        limit = _int(request.arg("limit"), DEFAULT_LIMIT)
        if not 1 <= limit <= MAX_LIMIT:
            limit = DEFAULT_LIMIT  # a live shop silently pages by 10 instead
        page = max(1, _int(request.arg("page"), 1))
        pages = math.ceil(len(rows) / limit)
        chunk = rows[(page - 1) * limit: page * limit]
        faults.served[name] += 1
        if faults.growing_pages and re.fullmatch(faults.growing_pages, name):
            pages += faults.served[name]  # rows added faster than they are read
        if faults.reversed_page == (name, faults.served[name]):
            chunk = chunk[::-1]
        return _json(
            {"count": str(len(rows)), "pages": pages, "page": page, "list": chunk},
            headers={"X-Shop-Result-Count": str(len(rows)), "X-Shop-Result-Page": str(page),
                     "X-Shop-Result-Pages": str(pages)})

    @route("GET", API + r"/(?P<name>[a-z-]+)/(?P<object_id>\d+)")
    def get_object(self, request: Request, name: str, object_id: str) -> Response:
        """One object by id; a missing one is Shoper's JSON 404."""
        resource = self.resources.get(name)
        if resource is None or resource.id_field is None:
            return Response.json({"error": "invalid_request",
                                  "error_description": f"Unknown resource {name}"}, 400)
        for row in resource.rows:
            if row.get(resource.id_field) == object_id:
                return _json(self._finish(resource, row))
        return Response.json(_NOT_FOUND, 404)

    def _finish(self, resource: Resource, row: dict[str, Any]) -> dict[str, Any]:
        """Fill the shop's own URL into permalinks (known only once serving)."""
        if resource.name != "products" or not isinstance(row.get("translations"), dict):
            return row
        url = self.url
        translations = {loc: {**tr, "permalink": tr["permalink"].replace("{shop}", url)}
                        for loc, tr in row["translations"].items()}
        return {**row, "translations": translations}

    @staticmethod
    def _filters(request: Request) -> dict[str, Any]:
        """``filters`` as JSON, or bracket form ``filters[f]=v`` / ``filters[f][op]=v``."""
        filters: dict[str, Any] = {}
        raw = request.arg("filters")
        if raw:
            try:
                parsed = jsonio.loads(raw)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                filters.update(parsed)
        for key, values in request.query.items():
            match = re.fullmatch(r"filters\[([^\]]+)\](?:\[([^\]]+)\])?", unquote(key))
            if match and values:
                field, op = match.groups()
                filters[field] = {op: values[0]} if op else values[0]
        return filters

    def _order(self, request: Request, resource: Resource, rows: list[dict[str, Any]]
               ) -> list[dict[str, Any]]:
        specs = request.query.get("order", []) + request.query.get("order[]", [])
        if not specs:  # no order asked: a stable but scrambled one, as nothing is promised
            return sorted(rows, key=lambda r: hashlib.sha1(  # noqa: S324
                str(r.get(resource.id_field or "")).encode()).hexdigest())
        for spec in reversed(specs):
            field, _, direction = spec.strip().partition(" ")
            descending = direction.strip().upper() != "ASC"  # bare field: DESC on a live shop
            rows = sorted(rows, key=functools.partial(_field_sort_key, field), reverse=descending)
        return rows

    def _image(self, filename: str) -> Response:
        image = self.images.get(filename)
        if image is None:
            return Response(404, _HTML_404, content_type="text/html; charset=utf-8")
        return Response(200, image.content, {"Cache-Control": "public, max-age=86400"},
                        content_type=image.content_type)

    def decorate(self, request: Request, response: Response) -> None:
        """Leaky-bucket headers on every API answer."""
        if not request.path.startswith(API + "/"):
            return
        limit = self.switches.rate_limit
        if limit is None:
            capacity, leak, level = float(DEFAULT_BUCKET[0]), float(DEFAULT_BUCKET[1]), 0.0
        else:
            capacity, leak, level = limit.capacity, limit.leak_per_second, limit.level
        response.headers.update({"X-Shop-Api-Limit": _fmt(capacity),
                                 "X-Shop-Api-Bandwidth": _fmt(leak),
                                 "X-Shop-Api-Calls": str(math.ceil(level))})

    def rate_limited(self, request: Request, retry_after: float) -> Response:
        """Shoper's 429."""
        return Response.json({"error": "temporarily_unavailable",
                              "error_description": "Too many requests"}, 429,
                             {"Retry-After": str(max(1, math.ceil(retry_after)))})

    def server_error(self, request: Request) -> Response:
        """Shoper's 503."""
        return Response.json({"error": "temporarily_unavailable",
                              "error_description": "Service temporarily unavailable"}, 503)

    def not_found(self, request: Request) -> Response:
        """Inside the API: Shoper's JSON error; elsewhere: a plain web server's 404 page."""
        if request.path.startswith(API + "/"):
            return Response.json({"error": "invalid_request",
                                  "error_description": "Unknown resource"}, 400)
        return Response(404, _HTML_404, content_type="text/html; charset=utf-8")

    def state(self) -> dict[str, Any]:
        """What the shop holds and how it was used (never the tokens themselves)."""
        limit = self.switches.rate_limit
        return {
            "shop": "shoper",
            "products": len(self.resources["products"].rows),
            "variants": self.catalog.variant_count(),
            "product_stocks": len(self.resources["product-stocks"].rows),
            "images": len(self.resources["product-images"].rows),
            "categories": len(self.resources["categories"].rows),
            "tokens_issued": self.tokens_issued,
            "requests": len(self.requests_to()),
            "rate_limited": limit.refused if limit else 0,
        }


def _field_sort_key(field: str, row: Any) -> tuple[int, Any]:
    """The sort key of one row by a dotted field."""
    return _sort_key(_get(row, field))


def _sort_key(value: Any) -> tuple[int, Any]:
    comparable = _comparable(value)
    return (0, comparable) if isinstance(comparable, Decimal) else (1, comparable)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m sandbox.shoper``: serve the seeded shop until interrupted."""
    parser = common_parser("shoper")
    parser.add_argument("--username", default="demo", help="admin user accepted at /auth")
    parser.add_argument("--password", default="demo-password",
                        help="that user's password")
    parser.add_argument("--access-token", default=None,
                        help="also accept this static integration token")
    parser.add_argument("--token-ttl", type=int, default=2592000,
                        help="expires_in of tokens from /auth, seconds")

    def factory(args: argparse.Namespace, switches: Switches) -> ShoperEmulator:
        return ShoperEmulator(n_products=args.products, seed=args.seed, switches=switches,
                              username=args.username, password=args.password,
                              access_token=args.access_token, token_ttl=args.token_ttl)

    run("shoper", factory, argv, parser)


if __name__ == "__main__":
    main()
