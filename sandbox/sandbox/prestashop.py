"""PrestaShop (1.6 / 1.7 / 8.x) emulator: the seeded catalog behind PrestaShop's webservice.

What it reproduces (the PrestaShop platform notes; ``tap-prestashop/README.md`` lists what
the tap relies on):

- The webservice under ``{shop_root}/api/`` where the shop root may be a sub-folder
  (``base_path="/sklep"``); anything else is a bare HTML 404, like a host that is not the shop.
- Auth by the 32-character webservice key: HTTP Basic with the key as the user and an empty
  password, or the ``ws_key`` query parameter. ``drop_authorization=True`` plays a FastCGI
  host that never hands the ``Authorization`` header to PHP (only ``ws_key`` works then). No
  key at all: ``401`` with a plain-text ``401 Unauthorized`` and ``WWW-Authenticate``; a wrong
  key or a resource the key may not read: ``401`` with PrestaShop's error body (codes 18/20/26).
  ``webservice_enabled=False``: ``503`` code 22 (switched off in the back office).
- Lists with ``display`` (``full`` or ``[f1,f2]``; without it, ids only), ``filter[field]=``
  (``[a|b]``, ``[from,to]`` inclusive, ``>[x]``, ``<[x]``, ``[x]``), ``date=1`` required for
  filters and sorts on date fields, ``sort=[f_ASC,g_DESC]`` (without it a fixed but scrambled
  order), ``limit=count`` or ``limit=offset,count``, ``language=N`` (multilingual fields as
  plain strings; without it ``[{"id": "1", "value": ...}, ...]`` per language), ``id_shop``.
  The real error codes for a bad filter (32, 34), display (35), sort (37, 38), limit (39),
  language (81), resource (27), shop (131/132).
- Output: JSON with ``output_format=JSON`` / ``io_format=JSON`` or the ``Output-Format``/
  ``Io-Format`` header, XML otherwise; errors in the same format (``xml_errors=True`` answers
  them in XML always, as some hosts do). JSON quirks: an empty list is ``[]``, not
  ``{"products": []}``; ids are ints, everything else strings (``"1"`` booleans, ``"%f"``
  decimals), ``manufacturer_name: false``, ``id_default_combination: 0``, empty associations
  omitted; a single GET on 8.x drops every falsy field (``version="8.1.5"``, the default).
- Prices net (6 decimals) per product; combinations carry a net price *impact* (positive,
  zero or negative); VAT through tax rule groups whose rules cover several countries (other
  countries' rules come first, one Polish rule is limited to a zip-code range) and whose
  names say nothing about the rate.
- Stock in ``stock_availables`` by (product, combination), plus the product-level row holding
  the sum for products with combinations. PrestaShop cannot say "not tracked" per product: a
  variant the catalog does not track is a quantity of 0 that may be ordered anyway
  (``out_of_stock`` 1); ``stock_management=False`` switches stock off shop-wide.
- Images: ``/api/images/products/{id}`` (XML list), ``/api/images/products/{id}/{image_id}``
  (bytes, key required) and the storefront's public ``/img/p/1/2/3/123.jpg`` files.

The same catalog seed gives the same shop every time.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import functools
import hashlib
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from sandbox.catalog import COLOUR, SIZE, Catalog, Image, Product, generate_catalog
from sandbox.cli import common_parser, run
from sandbox.server import Emulator, Request, Response, Switches, route

#: the demo shop's webservice key (32 characters, as the back office generates them)
DEMO_API_KEY = "DEMO0PRESTASHOP0WEBSERVICE0KEY01"
TIMEZONE = "Europe/Warsaw"
SIX_PLACES = Decimal("0.000001")

LANGUAGES = {1: ("pl", "Polski (Polish)", "pl-PL"), 2: ("en", "English (English)", "en-US")}
DEFAULT_LANGUAGE = 1
HOME_CATEGORY = 2  # the shop's root category ("Home"); 1 is the technical "Root"
COUNTRIES = {1: ("DE", "Niemcy"), 14: ("PL", "Polska"), 16: ("CZ", "Czechy")}
PL_COUNTRY = 14
# id_tax -> (rate, name)
TAXES = {1: ("19.000", "USt. DE 19%"), 2: ("7.000", "USt. DE 7%"), 3: ("21.000", "DPH CZ 21%"),
         4: ("15.000", "DPH CZ 15%"), 12: ("23.000", "PTU PL 23%"), 13: ("8.000", "PTU PL 8%"),
         14: ("5.000", "PTU PL 5%"), 15: ("0.000", "PTU PL 0%")}
#: Polish VAT rate -> (tax rule group id, the group's name as a shop owner renamed it)
TAX_GROUPS = {23: (1, "Stawka podstawowa"), 8: (2, "Żywność i usługi"),
              5: (3, "Książki i prasa"), 0: (4, "Zwolnione")}
_PL_TAX = {23: 12, 8: 13, 5: 14, 0: 15}
_DE_TAX = {23: 1, 8: 2, 5: 2, 0: 2}
_CZ_TAX = {23: 3, 8: 4, 5: 4, 0: 4}
OPTION_GROUPS = {SIZE: (1, "Size", "select", 0), COLOUR: (2, "Colour", "color", 1)}
COLOUR_EN = {"czarny": "black", "biały": "white", "czerwony": "red", "zielony": "green",
             "niebieski": "blue", "żółty": "yellow", "różowy": "pink", "beżowy": "beige",
             "granatowy": "navy", "szary": "grey", "brązowy": "brown",
             "pomarańczowy": "orange"}
FEATURE_ID = 1  # "Materiał"

_HTML_404 = ("<!DOCTYPE html><html><head><title>404 Not Found</title></head>"
             "<body><h1>Not Found</h1><p>The requested URL was not found on this server.</p>"
             "</body></html>")
_REALM = ('Basic realm="Welcome to PrestaShop Webservice, please enter the authentication '
          'key as the login. No password required."')


def local_time(moment: dt.datetime) -> str:
    """A UTC datetime as PrestaShop stores it: naive ``YYYY-MM-DD HH:MM:SS`` in shop time."""
    return moment.astimezone(ZoneInfo(TIMEZONE)).strftime("%Y-%m-%d %H:%M:%S")


def net_price(gross: Decimal, rate: int) -> Decimal:
    """The net price PrestaShop stores for a gross one: 6 decimals, as the back office does."""
    return (gross * 100 / (100 + rate)).quantize(SIX_PLACES, rounding=ROUND_HALF_UP)


def image_path(image_id: int) -> str:
    """The storefront path of an image: 936 -> ``/img/p/9/3/6/936.jpg``."""
    return "/img/p/" + "/".join(str(image_id)) + f"/{image_id}.jpg"


def _f6(value: Decimal) -> str:
    return f"{value:.6f}"


def _flag(value: bool) -> str:
    return "1" if value else "0"


class WebserviceError(Exception):
    """An error PrestaShop answers with its ``errors`` body."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Table:
    """One webservice resource: rows keyed by ``id``, and what its fields are."""

    name: str
    singular: str
    fields: list[str]
    multilang: frozenset[str] = frozenset()
    dates: frozenset[str] = frozenset()
    #: fields filled by a getter: shown, but "dynamic" (code 34) when filtered on
    dynamic: frozenset[str] = frozenset()
    rows: list[dict[str, Any]] = field(default_factory=list)


def _ml(pl: str, en: str | None = None) -> dict[int, str]:
    """A multilingual value: Polish, and English (a copy of the Polish when not given, as
    PrestaShop fills every language when a product is created)."""
    return {1: pl, 2: pl if en is None else en}


class PrestaShopEmulator(Emulator):
    """A PrestaShop shop on 127.0.0.1 rendering ``catalog`` (generated from ``seed`` if None).

    ``api_key`` is the one webservice key; ``permissions`` the resources it may GET (None:
    all); ``base_path`` the shop's sub-folder (``""`` or e.g. ``"/sklep"``); ``version`` the
    ``PSWS-Version`` (8.x drops falsy fields on single GETs). ``drop_authorization``,
    ``webservice_enabled`` and ``xml_errors`` are switches tests may flip at any time; call
    :meth:`reload` after changing ``catalog``.
    """

    name = "prestashop"

    def __init__(self, catalog: Catalog | None = None, *, n_products: int = 60, seed: int = 42,
                 switches: Switches | None = None, api_key: str = DEMO_API_KEY,
                 base_path: str = "", version: str = "8.1.5",
                 permissions: Iterable[str] | None = None, drop_authorization: bool = False,
                 webservice_enabled: bool = True, xml_errors: bool = False,
                 stock_management: bool = True) -> None:
        super().__init__(switches=switches)
        self.catalog = catalog if catalog is not None else generate_catalog(n_products, seed)
        self.api_key = api_key
        self.base_path = "/" + base_path.strip("/") if base_path.strip("/") else ""
        self.version = version
        self.permissions = set(permissions) if permissions is not None else None
        self.drop_authorization = drop_authorization
        self.webservice_enabled = webservice_enabled
        self.xml_errors = xml_errors
        self.stock_management = stock_management
        self.tables: dict[str, Table] = {}
        self.images: dict[int, Image] = {}
        self.image_ids: dict[str, int] = {}  # catalog image key -> PrestaShop image id
        self.image_owner: dict[int, int] = {}  # image id -> product id
        self.reload()

    # -- rendering ---------------------------------------------------------------------------
    def reload(self) -> None:
        """Render the catalog into the webservice's tables (again, after changing it)."""
        tables = [self._configurations(), self._languages(), self._countries(),
                  self._currencies(), self._shops(), *self._taxes(), *self._options(),
                  *self._features(), self._categories(), *self._products(),
                  self._manufacturers()]
        self.tables = {t.name: t for t in tables}

    def _configurations(self) -> Table:
        values = [("PS_LANG_DEFAULT", str(DEFAULT_LANGUAGE)), ("PS_COUNTRY_DEFAULT",
                                                               str(PL_COUNTRY)),
                  ("PS_CURRENCY_DEFAULT", "1"), ("PS_TAX", "1"), ("PS_SHOP_DEFAULT", "1"),
                  ("PS_TIMEZONE", TIMEZONE), ("PS_WEBSERVICE", "1"),
                  ("PS_STOCK_MANAGEMENT", _flag(self.stock_management)),
                  ("PS_SHOP_NAME", "Sklep demonstracyjny")]
        table = Table("configurations", "configuration",
                      ["id", "value", "name", "id_shop_group", "id_shop", "date_add",
                       "date_upd"], dates=frozenset({"date_add", "date_upd"}))
        table.rows = [{"id": i, "value": value, "name": name, "id_shop_group": None,
                       "id_shop": None, "date_add": "2020-04-20 05:24:54",
                       "date_upd": "2020-04-20 05:24:54"}
                      for i, (name, value) in enumerate(values, start=40)]
        return table

    def _languages(self) -> Table:
        table = Table("languages", "language",
                      ["id", "name", "iso_code", "locale", "language_code", "active",
                       "is_rtl", "date_format_lite", "date_format_full"])
        table.rows = [{"id": i, "name": name, "iso_code": iso, "locale": locale,
                       "language_code": locale.lower(), "active": "1", "is_rtl": "0",
                       "date_format_lite": "d.m.Y", "date_format_full": "d.m.Y H:i:s"}
                      for i, (iso, name, locale) in LANGUAGES.items()]
        return table

    def _countries(self) -> Table:
        table = Table("countries", "country",
                      ["id", "id_zone", "id_currency", "iso_code", "active", "name"],
                      multilang=frozenset({"name"}))
        table.rows = [{"id": i, "id_zone": "1", "id_currency": "0", "iso_code": iso,
                       "active": "1", "name": _ml(name)} for i, (iso, name) in COUNTRIES.items()]
        return table

    def _currencies(self) -> Table:
        table = Table("currencies", "currency",
                      ["id", "iso_code", "conversion_rate", "deleted", "active", "name"])
        table.rows = [{"id": 1, "iso_code": "PLN", "conversion_rate": "1.000000",
                       "deleted": "0", "active": "1", "name": "złoty polski"}]
        return table

    def _shops(self) -> Table:
        table = Table("shops", "shop", ["id", "id_shop_group", "id_category", "active",
                                        "name"])
        table.rows = [{"id": 1, "id_shop_group": "1", "id_category": str(HOME_CATEGORY),
                       "active": "1", "name": "Sklep demonstracyjny"}]
        return table

    def _taxes(self) -> list[Table]:
        taxes = Table("taxes", "tax", ["id", "rate", "active", "deleted", "name"],
                      multilang=frozenset({"name"}))
        taxes.rows = [{"id": i, "rate": rate, "active": "1", "deleted": "0", "name": _ml(name)}
                      for i, (rate, name) in TAXES.items()]
        groups = Table("tax_rule_groups", "tax_rule_group",
                       ["id", "name", "active", "deleted", "date_add", "date_upd"],
                       dates=frozenset({"date_add", "date_upd"}))
        groups.rows = [{"id": gid, "name": name, "active": "1", "deleted": "0",
                        "date_add": "2020-04-02 13:05:56", "date_upd": "2020-04-02 13:05:56"}
                       for gid, name in TAX_GROUPS.values()]
        rules = Table("tax_rules", "tax_rule",
                      ["id", "id_tax_rules_group", "id_state", "id_country", "zipcode_from",
                       "zipcode_to", "id_tax", "behavior", "description"])
        next_id = 300
        # other countries first: a tap taking "the group's first rule" gets German VAT
        for rate, (gid, _name) in TAX_GROUPS.items():
            entries = [(1, "0", "0", _DE_TAX[rate]), (16, "0", "0", _CZ_TAX[rate])]
            if rate == 23:  # a zip-code-limited Polish rule before the country-wide one
                entries.append((PL_COUNTRY, "00-001", "00-999", _PL_TAX[0]))
            entries.append((PL_COUNTRY, "0", "0", _PL_TAX[rate]))
            for country, zip_from, zip_to, tax in entries:
                rules.rows.append({"id": next_id, "id_tax_rules_group": str(gid),
                                   "id_state": "0", "id_country": str(country),
                                   "zipcode_from": zip_from, "zipcode_to": zip_to,
                                   "id_tax": str(tax), "behavior": "0", "description": ""})
                next_id += 1
        return [taxes, groups, rules]

    def _options(self) -> list[Table]:
        groups = Table("product_options", "product_option",
                       ["id", "is_color_group", "group_type", "position", "name",
                        "public_name", "associations"],
                       multilang=frozenset({"name", "public_name"}))
        values = Table("product_option_values", "product_option_value",
                       ["id", "id_attribute_group", "color", "position", "name"],
                       multilang=frozenset({"name"}))
        self._value_ids: dict[tuple[str, str], int] = {}
        next_value = 1
        for name, (gid, english, kind, position) in OPTION_GROUPS.items():
            ids = []
            for order, value in enumerate(self.catalog.options.get(name, [])):
                self._value_ids[(name, value)] = next_value
                ids.append(next_value)
                values.rows.append({"id": next_value, "id_attribute_group": str(gid),
                                    "color": "#434A54" if kind == "color" else "",
                                    "position": str(order),
                                    "name": _ml(value, COLOUR_EN.get(value, value))})
                next_value += 1
            groups.rows.append({"id": gid, "is_color_group": _flag(kind == "color"),
                                "group_type": kind, "position": str(position),
                                "name": _ml(name, english), "public_name": _ml(name, english),
                                "associations": {"product_option_values": [
                                    {"id": str(i)} for i in ids]}})
        return [groups, values]

    def _features(self) -> list[Table]:
        features = Table("product_features", "product_feature", ["id", "position", "name"],
                         multilang=frozenset({"name"}))
        features.rows = [{"id": FEATURE_ID, "position": "0", "name": _ml("Materiał",
                                                                          "Material")}]
        values = Table("product_feature_values", "product_feature_value",
                       ["id", "id_feature", "custom", "value"], multilang=frozenset({"value"}))
        materials = sorted({p.attributes["Materiał"] for p in self.catalog.products
                            if "Materiał" in p.attributes})
        self._feature_values = {m: i for i, m in enumerate(materials, start=1)}
        values.rows = [{"id": i, "id_feature": str(FEATURE_ID), "custom": "0",
                        "value": _ml(m)} for m, i in self._feature_values.items()]
        return [features, values]

    def _categories(self) -> Table:
        table = Table("categories", "category",
                      ["id", "id_parent", "level_depth", "nb_products_recursive", "active",
                       "id_shop_default", "is_root_category", "position", "date_add",
                       "date_upd", "name", "link_rewrite", "description", "associations"],
                      multilang=frozenset({"name", "link_rewrite", "description"}),
                      dates=frozenset({"date_add", "date_upd"}),
                      dynamic=frozenset({"nb_products_recursive"}))
        stamp = "2020-04-20 05:24:54"
        children: dict[int, list[int]] = {}
        for category in self.catalog.categories:
            parent = category.parent_id if category.parent_id is not None else HOME_CATEGORY
            children.setdefault(parent, []).append(category.id)

        def row(cid: int, parent: int, depth: int, name: Any, *, root: bool = False,
                position: int = 0) -> dict[str, Any]:
            return {"id": cid, "id_parent": str(parent), "level_depth": str(depth),
                    "nb_products_recursive": "0", "active": "1", "id_shop_default": "1",
                    "is_root_category": _flag(root), "position": str(position),
                    "date_add": stamp, "date_upd": stamp, "name": name,
                    "link_rewrite": _ml(name[1].lower() if isinstance(name, dict) else name),
                    "description": _ml(""),
                    "associations": {"categories": [{"id": str(c)}
                                                    for c in children.get(cid, [])]}}

        table.rows = [row(1, 0, 0, _ml("Root")),
                      row(HOME_CATEGORY, 1, 1, _ml("Strona główna", "Home"), root=True)]
        for position, category in enumerate(self.catalog.categories):
            parent = category.parent_id if category.parent_id is not None else HOME_CATEGORY
            table.rows.append(row(category.id, parent, len(category.path) + 1,
                                  _ml(category.name, f"{category.name} (EN)"),
                                  position=position))
        return table

    def _manufacturers(self) -> Table:
        table = Table("manufacturers", "manufacturer", ["id", "active", "name"])
        table.rows = [{"id": i, "active": "1", "name": name}
                      for name, i in self._brand_ids.items()]
        return table

    def _products(self) -> list[Table]:
        products = Table(
            "products", "product",
            ["id", "id_manufacturer", "id_supplier", "id_category_default", "new",
             "cache_default_attribute", "id_default_image", "id_default_combination",
             "id_tax_rules_group", "position_in_category", "manufacturer_name", "quantity",
             "type", "id_shop_default", "reference", "supplier_reference", "location",
             "width", "height", "depth", "weight", "ean13", "isbn", "upc", "mpn", "state",
             "product_type", "on_sale", "online_only", "ecotax", "minimal_quantity",
             "low_stock_threshold", "price", "wholesale_price", "unity", "active",
             "available_for_order", "available_date", "condition", "show_price",
             "visibility", "date_add", "date_upd", "meta_title", "link_rewrite", "name",
             "description", "description_short", "available_now", "available_later",
             "associations"],
            multilang=frozenset({"meta_title", "link_rewrite", "name", "description",
                                 "description_short", "available_now", "available_later"}),
            dates=frozenset({"date_add", "date_upd"}),
            dynamic=frozenset({"position_in_category", "manufacturer_name", "quantity",
                               "type", "id_default_image", "id_default_combination"}))
        combinations = Table(
            "combinations", "combination",
            ["id", "id_product", "location", "ean13", "isbn", "upc", "mpn", "quantity",
             "reference", "supplier_reference", "wholesale_price", "price", "ecotax",
             "weight", "unit_price_impact", "minimal_quantity", "low_stock_threshold",
             "low_stock_alert", "default_on", "available_date", "associations"])
        stock = Table("stock_availables", "stock_available",
                      ["id", "id_product", "id_product_attribute", "id_shop", "id_shop_group",
                       "quantity", "depends_on_stock", "out_of_stock", "location"])
        self._brand_ids = {name: i for i, name in enumerate(self.catalog.brands, start=1)}
        self.images, self.image_ids, self.image_owner = {}, {}, {}
        next_image = 1
        next_stock = 1
        for product in self.catalog.products:
            own = list(product.images)
            variant_images = [v.image for v in product.variants if v.image is not None]
            ids = []
            for image in [*own, *variant_images]:
                self.images[next_image] = image
                self.image_ids[image.key] = next_image
                self.image_owner[next_image] = product.id
                ids.append(next_image)
                next_image += 1
            combos, stock_rows, next_stock = self._render_variants(product, next_stock)
            combinations.rows.extend(combos)
            stock.rows.extend(stock_rows)
            products.rows.append(self._render_product(product, ids, combos, stock_rows))
        return [products, combinations, stock]

    def _render_variants(self, product: Product, next_stock: int
                         ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
        rate = product.vat_rate
        combos: list[dict[str, Any]] = []
        stock_rows: list[dict[str, Any]] = []

        def stock_row(attribute: int, quantity: Decimal | None) -> dict[str, Any]:
            # PrestaShop has no "not tracked" per product: an untracked catalog variant is
            # a quantity of 0 that may be ordered anyway (out_of_stock 1)
            nonlocal next_stock
            next_stock += 1
            return {"id": next_stock - 1, "id_product": str(product.id),
                    "id_product_attribute": str(attribute), "id_shop": "1",
                    "id_shop_group": "0", "quantity": str(int(quantity or 0)),
                    "depends_on_stock": "0", "out_of_stock": "1" if quantity is None else "2",
                    "location": ""}

        if product.is_simple:
            stock_rows.append(stock_row(0, product.variants[0].stock))
            return combos, stock_rows, next_stock
        # the product's price is its dearest variant's: cheaper ones get negative impacts
        base = net_price(max(v.price_gross for v in product.variants), rate)
        tracked = [v.stock for v in product.variants if v.stock is not None]
        stock_rows.append(stock_row(0, sum(tracked, Decimal(0))))
        for index, variant in enumerate(product.variants):
            combos.append({
                "id": variant.id, "id_product": str(product.id), "location": "",
                "ean13": variant.ean or "", "isbn": "", "upc": "", "mpn": "",
                "quantity": "0", "reference": variant.sku, "supplier_reference": "",
                "wholesale_price": "0.000000",
                "price": _f6(net_price(variant.price_gross, rate) - base), "ecotax": "0.000000",
                "weight": "0.000000", "unit_price_impact": "0.000000", "minimal_quantity": "1",
                "low_stock_threshold": None, "low_stock_alert": "0",
                "default_on": "1" if index == 0 else None, "available_date": "0000-00-00",
                "associations": {k: v for k, v in {
                    "product_option_values": [
                        {"id": str(self._value_ids[(name, value)])}
                        for name, value in variant.options],
                    "images": ([{"id": str(self.image_ids[variant.image.key])}]
                               if variant.image else [])}.items() if v},
            })
            stock_rows.append(stock_row(variant.id, variant.stock))
        return combos, stock_rows, next_stock

    def _render_product(self, product: Product, image_ids: list[int],
                        combos: list[dict[str, Any]], stock_rows: list[dict[str, Any]]
                        ) -> dict[str, Any]:
        rate = product.vat_rate
        simple = product.is_simple
        first = product.variants[0]
        price = (net_price(first.price_gross, rate) if simple
                 else net_price(max(v.price_gross for v in product.variants), rate))
        brand_id = self._brand_ids.get(product.brand) if product.brand else None
        english = product.id % 3 == 0
        material = product.attributes.get("Materiał")
        associations = {
            "categories": [{"id": str(c)} for c in [HOME_CATEGORY, *product.category_ids]],
            "images": [{"id": str(i)} for i in image_ids],
            "combinations": [{"id": str(c["id"])} for c in combos],
            "product_option_values": [{"id": str(self._value_ids[o])} for o in dict.fromkeys(
                opt for v in product.variants for opt in v.options)],
            "product_features": ([{"id": str(FEATURE_ID),
                                   "id_feature_value": str(self._feature_values[material])}]
                                 if material else []),
            "stock_availables": [{"id": str(r["id"]),
                                  "id_product_attribute": r["id_product_attribute"]}
                                 for r in stock_rows],
        }
        return {
            "id": product.id, "id_manufacturer": str(brand_id or 0), "id_supplier": "0",
            "id_category_default": str(product.category_ids[0]), "new": None,
            "cache_default_attribute": str(combos[0]["id"]) if combos else "0",
            "id_default_image": str(image_ids[0]) if image_ids else "",
            "id_default_combination": combos[0]["id"] if combos else 0,
            "id_tax_rules_group": str(TAX_GROUPS[rate][0]), "position_in_category": "0",
            "manufacturer_name": product.brand if product.brand else False,
            "quantity": "0", "type": "simple", "id_shop_default": "1",
            "reference": product.sku, "supplier_reference": "", "location": "",
            "width": "0.000000", "height": "0.000000", "depth": "0.000000",
            "weight": _f6(first.weight_kg or Decimal(0)),
            "ean13": (first.ean or "") if simple else "", "isbn": "", "upc": "", "mpn": "",
            "state": "1", "product_type": "standard" if simple else "combinations",
            "on_sale": "0", "online_only": "0", "ecotax": "0.000000", "minimal_quantity": "1",
            "low_stock_threshold": None, "price": _f6(price), "wholesale_price": "0.000000",
            "unity": "", "active": _flag(product.active), "available_for_order": "1",
            "available_date": "0000-00-00", "condition": "new", "show_price": "1",
            "visibility": "both", "date_add": local_time(product.created_at),
            "date_upd": local_time(product.updated_at),
            "meta_title": _ml(""), "link_rewrite": _ml(product.slug),
            "name": _ml(product.name, f"{product.name} (EN)" if english else None),
            "description": _ml(product.description_html),
            "description_short": _ml(product.short_description_html),
            "available_now": _ml("Dostępny", "In stock"), "available_later": _ml(""),
            "associations": {k: v for k, v in associations.items() if v},
        }

    # -- request helpers ---------------------------------------------------------------------
    def _wants_json(self, request: Request) -> bool:
        for name in ("output_format", "io_format"):
            if (request.arg(name) or "").upper() == "JSON":
                return True
        return any((request.header(h) or "").upper() == "JSON"
                   for h in ("output-format", "io-format"))

    def error(self, request: Request, error: WebserviceError) -> Response:
        """PrestaShop's ``errors`` body, in JSON or XML as the request (or host) does."""
        if self._wants_json(request) and not self.xml_errors:
            return Response.json({"errors": [{"code": error.code, "message": error.message}]},
                                 error.status)
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                '<prestashop xmlns:xlink="http://www.w3.org/1999/xlink">\n<errors>\n<error>\n'
                f"<code><![CDATA[{error.code}]]></code>\n"
                f"<message><![CDATA[{error.message}]]></message>\n"
                "</error>\n</errors>\n</prestashop>\n")
        return Response(error.status, body.encode(), content_type="text/xml;charset=utf-8")

    def _key_of(self, request: Request) -> str | None:
        header = "" if self.drop_authorization else (request.header("authorization") or "")
        if header.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(header[6:].strip()).decode()
            except ValueError:
                decoded = ""
            user = decoded.partition(":")[0]
            if user:
                return user
        return request.arg("ws_key") or None

    def _api_path(self, request: Request) -> str | None:
        """The path below ``{base}/api`` ("" for the root listing), None outside the API."""
        prefix = self.base_path + "/api"
        if request.path == prefix or request.path.startswith(prefix + "/"):
            return request.path[len(prefix):].strip("/")
        return None

    def before_request(self, request: Request) -> Response | None:
        """Public image files need nothing; the webservice needs to be on and a valid key."""
        rest = self._api_path(request)
        if rest is None:
            return None
        if not self.webservice_enabled:
            return self.error(request, WebserviceError(
                503, 22, "The PrestaShop webservice is disabled. Please activate it in the "
                         "PrestaShop Back Office"))
        key = self._key_of(request)
        if not key:
            return Response(401, b"401 Unauthorized", {"WWW-Authenticate": _REALM},
                            content_type="text/html;charset=utf-8")
        if len(key) != 32:
            return self.error(request, WebserviceError(401, 18,
                                                       "Invalid authentication key format"))
        if not secrets.compare_digest(key.encode(), self.api_key.encode()):
            return self.error(request, WebserviceError(
                401, 20, "Authentication key does not exist"))
        resource = rest.split("/")[0]
        if resource and self.permissions is not None and resource not in self.permissions:
            return self.error(request, WebserviceError(
                401, 26, f'Resource of type "{resource}" is not allowed with this '
                         "authentication key"))
        shop = request.arg("id_shop")
        if shop is not None and shop not in {str(r["id"]) for r in self.tables["shops"].rows}:
            return self.error(request, WebserviceError(404, 131,
                                                       f"No shop found with id {shop}"))
        return None

    def decorate(self, request: Request, response: Response) -> None:
        """The webservice's own headers (the version only to an authenticated caller)."""
        if self._api_path(request) is None:
            return
        response.headers["X-Powered-By"] = "PrestaShop Webservice"
        response.headers["Execution-Time"] = "0.012"
        if response.status < 400 or response.status == 404:
            response.headers["PSWS-Version"] = self.version

    def server_error(self, request: Request) -> Response:
        """An injected fault: PHP's bare 500 page."""
        return Response(500, b"<html><body><h1>500 Internal Server Error</h1></body></html>",
                        content_type="text/html; charset=utf-8")

    def not_found(self, request: Request) -> Response:
        """Outside the webservice: the web server's HTML 404."""
        return Response(404, _HTML_404, content_type="text/html; charset=utf-8")

    # -- routes -----------------------------------------------------------------------------
    @route("GET", r"(?P<base>(?:/[^/]+)*?)/img/p/(?:\d/)+(?P<image_id>\d+)(?:-[a-z_]+)?\.jpg")
    def public_image(self, request: Request, base: str, image_id: str) -> Response:
        """A storefront image file: public, no key."""
        image = self.images.get(int(image_id)) if base == self.base_path else None
        folder = f"{self.base_path}/img/p/" + "/".join(image_id)
        if image is None or request.path.rsplit("/", 1)[0] != folder:
            return self.not_found(request)
        return Response(200, image.content, {"Cache-Control": "public, max-age=86400"},
                        content_type=image.content_type)

    @route("GET", r"(?P<base>(?:/[^/]+)*?)/api/?")
    def root_listing(self, request: Request, base: str) -> Response:
        """The resource listing: XML only (JSON fails on 8.x with a PHP error, as live)."""
        if base != self.base_path:
            return self.not_found(request)
        if self._wants_json(request):
            return Response(500, b"array_filter(): Argument #1 ($array) must be of type array",
                            content_type="text/html; charset=utf-8")
        names = sorted(n for n in [*self.tables, "images"]
                       if self.permissions is None or n in self.permissions)
        items = "".join(f'<{n} xlink:href="{self.url}{base}/api/{n}" get="true" put="false" '
                        f'post="false" patch="false" delete="false" head="true"/>\n'
                        for n in names)
        return _xml(f'<api shopName="Sklep demonstracyjny">\n{items}</api>')

    @route("GET", r"(?P<base>(?:/[^/]+)*?)/api/(?P<resource>[a-z_]+)/?")
    def api_list(self, request: Request, base: str, resource: str) -> Response:
        """A list resource with display, filter, sort, limit and language."""
        if base != self.base_path:
            return self.not_found(request)
        try:
            table = self._table(resource)
            language = self._language(request)
            rows = self._select(request, table)
            display = self._display(request, table)
        except WebserviceError as error:
            return self.error(request, error)
        rendered = [self._render(table, row, display, language) for row in rows]
        if not self._wants_json(request):
            inner = "".join(_xml_element(table.singular, r) for r in rendered)
            return _xml(f"<{table.name}>\n{inner}</{table.name}>")
        if not rendered:
            return Response.json([])  # PrestaShop's empty list: [] instead of {"products": []}
        return Response.json({table.name: rendered})

    @route("GET", r"(?P<base>(?:/[^/]+)*?)/api/(?P<resource>[a-z_]+)/(?P<object_id>\d+)")
    def api_single(self, request: Request, base: str, resource: str, object_id: str
                   ) -> Response:
        """One object: ``{"product": {...}}``; 8.x drops falsy fields; missing: empty 404."""
        if base != self.base_path:
            return self.not_found(request)
        try:
            table = self._table(resource)
            language = self._language(request)
        except WebserviceError as error:
            return self.error(request, error)
        row = next((r for r in table.rows if r["id"] == int(object_id)), None)
        if row is None:
            return Response(404, b"", content_type="application/json")
        rendered = self._render(table, row, None, language)
        if self.version.split(".")[0] not in ("1",):
            rendered = {k: v for k, v in rendered.items() if v not in ("", "0", 0, None, False)}
        if not self._wants_json(request):
            return _xml(_xml_element(table.singular, rendered))
        return Response.json({table.singular: rendered})

    @route("GET", r"(?P<base>(?:/[^/]+)*?)/api/images/products/(?P<pid>\d+)/?")
    def image_list(self, request: Request, base: str, pid: str) -> Response:
        """A product's image declinations: always XML."""
        if base != self.base_path:
            return self.not_found(request)
        ids = [i for i, owner in self.image_owner.items() if owner == int(pid)]
        if not ids:
            return Response(404, b"", content_type="text/xml")
        root = f"{self.url}{base}/api/images/products/{pid}"
        items = "".join(f'<declination id="{i}" xlink:href="{root}/{i}"/>\n' for i in ids)
        return _xml(f'<image id="{pid}">\n{items}</image>')

    @route("GET", r"(?P<base>(?:/[^/]+)*?)/api/images/products/(?P<pid>\d+)/(?P<iid>\d+)"
                  r"(?:/[a-z_]+)?")
    def image_bytes(self, request: Request, base: str, pid: str, iid: str) -> Response:
        """An image's bytes through the webservice (the key was checked before routing)."""
        image = self.images.get(int(iid))
        if base != self.base_path or image is None or self.image_owner.get(int(iid)) != int(pid):
            return self.error(request, WebserviceError(404, 66,
                                                       f"This image id does not exist ({iid})"))
        return Response(200, image.content, content_type=image.content_type)

    # -- list machinery ----------------------------------------------------------------------
    def _table(self, resource: str) -> Table:
        table = self.tables.get(resource)
        if table is None:
            raise WebserviceError(400, 27, f'Resource of type "{resource}" does not exists. '
                                           "Did you mean: \"products\"?")
        return table

    def _language(self, request: Request) -> int | list[int] | None:
        """``language=N`` (texts as plain strings) or ``language=[1|2]`` (those languages'
        entries only); None: every language."""
        raw = request.arg("language")
        if raw is None:
            return None
        wanted = raw[1:-1].split("|") if raw.startswith("[") and raw.endswith("]") else [raw]
        if not all(w.isdigit() and int(w) in LANGUAGES for w in wanted):
            raise WebserviceError(400, 81, f'Language "{raw}" is not available')
        return int(raw) if raw.isdigit() else [int(w) for w in wanted]

    def _display(self, request: Request, table: Table) -> list[str] | None:
        raw = request.arg("display")
        if raw is None:
            return ["id"]
        if raw == "full":
            return None
        names = [n.strip() for n in raw.strip("[]").split(",") if n.strip()]
        for name in names:
            if name not in table.fields:
                raise WebserviceError(400, 35, f'Unable to display this field "{name}". '
                                               f"However, these are available: "
                                               f"{', '.join(table.fields)}")
        return names

    def _select(self, request: Request, table: Table) -> list[dict[str, Any]]:
        dates_on = request.arg("date") == "1"
        rows = table.rows
        for key, values in request.query.items():
            match = re.fullmatch(r"filter\[([^\]]+)\]", key)
            if not match:
                continue
            name = match.group(1)
            if name not in table.fields or (name in table.dates and not dates_on):
                raise WebserviceError(400, 32, f'This filter does not exist. Did you mean: '
                                               f'"{_closest(name, table)}"? The full list is: '
                                               + ", ".join(f'"{f}"' for f in table.fields))
            if name in table.dynamic:
                raise WebserviceError(400, 34, f'The field "{name}" is dynamic. It is not '
                                               "possible to filter GET query with this field.")
            test = _filter(values[0])
            rows = [r for r in rows if test(_plain(r.get(name)))]
        rows = self._sort(request, table, rows, dates_on)
        return _limit(request.arg("limit"), rows)

    def _sort(self, request: Request, table: Table, rows: list[dict[str, Any]],
              dates_on: bool) -> list[dict[str, Any]]:
        raw = request.arg("sort")
        if raw is None:  # no ORDER BY: whatever order the database returns
            return sorted(rows, key=lambda r: hashlib.sha1(  # noqa: S324
                str(r["id"]).encode()).hexdigest())
        specs = [s.strip() for s in raw.strip("[]").split(",") if s.strip()]
        for spec in reversed(specs):
            name, _, direction = spec.rpartition("_")
            if direction not in ("ASC", "DESC"):
                raise WebserviceError(400, 37, f'The "sort" value has to be formed as this '
                                               f'example: "field_ASC" or \'[field_1_DESC,'
                                               f'field_2_ASC,field_3_ASC,...]\' ("{spec}")')
            if name not in table.fields or (name in table.dates and not dates_on):
                raise WebserviceError(400, 38, f'Unable to filter by this field "{name}". '
                                               "However, these are available: "
                                               + ", ".join(table.fields))
            rows = sorted(rows, key=functools.partial(_row_key, name),
                          reverse=direction == "DESC")
        return rows

    def _render(self, table: Table, row: dict[str, Any], display: list[str] | None,
                language: int | list[int] | None) -> dict[str, Any]:
        names = display if display is not None else table.fields
        out: dict[str, Any] = {}
        for name in names:
            if name not in row:
                continue
            value = row[name]
            if name == "associations":
                if value:
                    out[name] = value
                continue
            if name in table.multilang and isinstance(value, dict):
                if isinstance(language, int):
                    value = value.get(language, "")
                else:
                    value = [{"id": str(i), "value": v} for i, v in sorted(value.items())
                             if language is None or i in language]
            out[name] = value
        return out

    def state(self) -> dict[str, Any]:
        """What the shop holds and how it was used (never the key)."""
        return {"shop": "prestashop", "base_path": self.base_path, "version": self.version,
                "products": len(self.tables["products"].rows),
                "combinations": len(self.tables["combinations"].rows),
                "variants": self.catalog.variant_count(),
                "stock_availables": len(self.tables["stock_availables"].rows),
                "images": len(self.images), "categories": len(self.tables["categories"].rows),
                "requests": len(self.requests_to())}


# -- small helpers ------------------------------------------------------------------------------
def _plain(value: Any) -> str:
    if isinstance(value, dict):  # multilingual: filters match the default language
        value = value.get(DEFAULT_LANGUAGE, "")
    if value is None or value is False:
        return ""
    return str(value)


def _number(text: str) -> Decimal | None:
    return Decimal(text) if re.fullmatch(r"-?\d+(\.\d+)?", text) else None


def _compare(left: str, right: str) -> int:
    a, b = _number(left), _number(right)
    if a is not None and b is not None:
        return (a > b) - (a < b)
    return (left > right) - (left < right)


def _filter(raw: str) -> Callable[[str], bool]:
    """PrestaShop's filter grammar: ``[a|b]``, ``[from,to]``, ``>[x]``, ``<[x]``, ``[x]``,
    ``%[x]%`` and a bare value."""
    text = raw.strip()
    if text.startswith((">[", "<[")) and text.endswith("]"):
        bound, sign = text[2:-1], 1 if text[0] == ">" else -1
        return lambda v: _compare(v, bound) == sign
    if text.startswith("%[") and text.endswith("]%"):
        needle = text[2:-2].lower()
        return lambda v: needle in v.lower()
    if text.startswith("[") and text.endswith("]"):
        inner = text[1:-1]
        if "," in inner and "|" not in inner:
            low, high = inner.split(",", 1)
            return lambda v: _compare(v, low) >= 0 and _compare(v, high) <= 0
        wanted = inner.split("|")
        return lambda v: any(_compare(v, w) == 0 for w in wanted)
    return lambda v: _compare(v, text) == 0


def _limit(raw: str | None, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if raw is None:
        return rows
    parts = raw.split(",")
    if len(parts) > 2 or not all(p.strip().isdigit() for p in parts):
        raise WebserviceError(400, 39, f'The "limit" value has to be formed as this example: '
                                       f'"5,25" or "10" ("{raw}")')
    offset, count = (0, int(parts[0])) if len(parts) == 1 else (int(parts[0]), int(parts[1]))
    return rows[offset:offset + count]


def _row_key(name: str, row: dict[str, Any]) -> tuple[int, Any]:
    return _sort_key(row.get(name))


def _sort_key(value: Any) -> tuple[int, Any]:
    text = _plain(value)
    number = _number(text)
    return (0, number) if number is not None else (1, text)


def _closest(name: str, table: Table) -> str:
    return min(table.fields, key=lambda f: (len(set(f) ^ set(name)), f))


def _xml(inner: str) -> Response:
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<prestashop xmlns:xlink="http://www.w3.org/1999/xlink">\n{inner}\n</prestashop>\n')
    return Response(200, body.encode(), content_type="text/xml;charset=utf-8")


def _xml_element(tag: str, value: Any) -> str:
    """A rendered row as PrestaShop's XML (enough for a human or an XML client to read)."""
    if isinstance(value, dict):
        return f"<{tag}>" + "".join(_xml_element(k, v) for k, v in value.items()) + f"</{tag}>\n"
    if isinstance(value, list):
        inner = "".join(_xml_element("language", {"id": i["id"], "value": i["value"]})
                        if isinstance(i, dict) and "value" in i else _xml_element(tag[:-1], i)
                        for i in value)
        return f"<{tag}>{inner}</{tag}>\n"
    text = "" if value is None or value is False else str(value)
    return f"<{tag}><![CDATA[{escape(text)}]]></{tag}>"


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m sandbox.prestashop``: serve the seeded shop until interrupted."""
    parser = common_parser("prestashop")
    parser.add_argument("--api-key", default=DEMO_API_KEY, help="the webservice key (32 chars)")
    parser.add_argument("--base-path", default="", help="the shop's sub-folder, e.g. /sklep")
    parser.add_argument("--version", default="8.1.5", help="PrestaShop version to play")
    parser.add_argument("--drop-authorization", action="store_true",
                        help="play a FastCGI host: ignore the Authorization header")

    def factory(args: argparse.Namespace, switches: Switches) -> PrestaShopEmulator:
        return PrestaShopEmulator(n_products=args.products, seed=args.seed, switches=switches,
                                  api_key=args.api_key, base_path=args.base_path,
                                  version=args.version,
                                  drop_authorization=args.drop_authorization)

    run("prestashop", factory, argv, parser)


if __name__ == "__main__":
    main()
