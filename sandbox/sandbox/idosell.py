"""IdoSell (formerly IAI-Shop) emulator: the seeded catalog through the Admin API and IOF feeds.

What it reproduces (the IdoSell platform notes, sections 1-9):

- **Admin API** ``POST /api/admin/v{N}/products/products/search`` with the ``{"params": ...}``
  body: ``resultsPage`` from 0, ``resultsLimit`` 1-100 (more is a 422 fault), ``ordersBy``
  (no order asked: a fixed but scrambled one), ``productDate`` filters by *day* in shop-local
  time, ``productParams`` (ids); answers in the real envelope ``resultsNumberAll``,
  ``resultsNumberPage``, ``resultsPage``, ``resultsLimit``, ``results``. An empty search or a
  page past the last is **not** an empty list but the "no results" fault
  ``{"errors": {"faultCode": 2, ...}}`` (HTTP 404). ``X-API-KEY`` checked on every call (401 and
  a fault body otherwise); 429 with ``Retry-After`` when the rate-limit switch is on.
  ``GET /api/admin/v{N}/products/categories`` pages with snake_case ``results_page`` /
  ``results_limit`` and ``lang_data``.
- **The catalog in IdoSell's model**: sizes are the sellable unit (each with its own external
  code, producer code = EAN, gross price, weight, stock per warehouse); products with a colour
  are *versions*: one IdoSell product per colour, grouped by ``productVersion`` (parent = the
  catalog's product id, the other colours get ids after the last catalog product); a simple
  product has the one size ``uniw``. Untracked stock is ``-1``; some sizes' stock is split over
  warehouses 1 and 2; VAT 0 products are ``productVatFree: "y"`` on odd ids. Gross prices only.
- **IOF 3.0**: the same catalog as a ``full`` offer file (``<offer><products><product>...``,
  sizes with ``iaiext:code_external``, ``available="unavailable"`` sizes without ``<stock>``,
  ``quantity="-1"``, ``<group>`` for versions, parameters) and a ``categories`` file, both
  listed by a ``provider_description`` gateway file at ``/edi/export-offer.php?type=gateway``.
  Files are served as attachments; with ``once_per_generation`` a second download of the full
  file in one generation answers an HTML page (200), as IdoSell does, until
  :meth:`new_generation` (or ``POST /_emulator/generation``).
- **Marketplace API** ``GET /marketplace-api/?gate=Products/getProductsFeed/5/json`` with a JSON
  body ``{"authenticate": {"userLogin", "authenticateKey"}}`` where the key is
  ``sha1(YYYYMMDD + sha1(password))`` for today's date in Warsaw; answers the gateway URL, or
  ``faultCode 1`` "Logowanie nie powiodło się".
- Image files at ``/data/gfx/pictures/large/<file>`` (public, no key, not throttled).

Fields the platform cannot carry, so the tap cannot give them back: a variant's own ``active``
flag and image (IdoSell sizes have neither), a second category (the panel category is
single), the catalog's product URL form (IdoSell's is ``/product-pol-<id>-<slug>.html``), and
in IOF files the product times and visibility.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import math
import operator
import re
import secrets
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape, quoteattr
from zoneinfo import ZoneInfo

from commerce_schema.money import net_from_gross

from sandbox.catalog import COLOUR, SIZE, Catalog, Image, Product, Variant, generate_catalog
from sandbox.cli import common_parser, run
from sandbox.server import Emulator, Request, Response, Switches, route

API = r"/api/admin/v\d+(?:\.\d+)?"
GFX = "/data/gfx/pictures/large/"
FEED = "/edi/export-offer.php"
MARKETPLACE = "/marketplace-api/"
TIMEZONE = ZoneInfo("Europe/Warsaw")
MAX_LIMIT = 100
ONE_SIZE = "uniw"
IAIEXT = "http://www.iai-shop.com/developers/iof/extensions.phtml"

DEMO_API_KEY = "demo-idosell-api-key"
DEMO_MARKETPLACE_LOGIN = "demo-marketplace"
DEMO_MARKETPLACE_PASSWORD = "demo-marketplace-password"  # noqa: S105 - the demo shop's login

#: IdoSell's own size ids (strings, as on a live shop)
_SIZE_IDS = {"XS": "1", "S": "2", "M": "3", "L": "4", "XL": "5", "XXL": "6",
             **{k: f"k{k}" for k in ("56", "62", "68", "74", "80", "86", "92")},
             **{str(s): f"b{s}" for s in range(36, 47)}}
_COLOUR_EN = {"czarny": "black", "biały": "white", "czerwony": "red", "zielony": "green",
              "niebieski": "blue", "żółty": "yellow", "różowy": "pink", "beżowy": "beige",
              "granatowy": "navy", "szary": "grey", "brązowy": "brown",
              "pomarańczowy": "orange"}
_MATERIAL_PARAMETER = 238
_COLOUR_PARAMETER = 128

NO_RESULTS = {"faultCode": 2, "faultString": "Brak wyników spełniających kryteria wyszukiwania"}
_FEED_ALREADY_TAKEN = (
    "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>IdoSell</title></head><body>"
    "<h1>Plik został już pobrany</h1><p>Plik eksportu może zostać pobrany tylko raz. "
    "Kolejny będzie dostępny po następnym wygenerowaniu.</p></body></html>")
_HTML_404 = ("<!DOCTYPE html><html><head><title>404</title></head><body><h1>Nie znaleziono "
             "strony</h1></body></html>")


def local_time(moment: dt.datetime) -> str:
    """A UTC datetime as IdoSell writes it: naive ``YYYY-MM-DD HH:MM:SS`` in shop time."""
    return moment.astimezone(TIMEZONE).strftime("%Y-%m-%d %H:%M:%S")


def marketplace_key(password: str, today: dt.date) -> str:
    """The legacy gates' daily key: ``sha1(YYYYMMDD + sha1(password))``, lowercase hex."""
    inner = hashlib.sha1(password.encode()).hexdigest()  # noqa: S324 - IdoSell's formula
    return hashlib.sha1((today.strftime("%Y%m%d") + inner).encode()).hexdigest()  # noqa: S324


def _num(value: Decimal) -> Decimal | int:
    """Prices and quantities as JSON numbers (IdoSell answers numbers, not strings)."""
    return int(value) if value == value.to_integral_value() else value


def _xml_num(value: Decimal) -> str:
    """A number as IOF prints it: ``115``, ``93.5``."""
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


@dataclass
class Version:
    """One IdoSell product rendered from (part of) a catalog product."""

    product_id: int
    product: Product
    variants: list[Variant]
    colour: str | None
    group_ids: list[int] = field(default_factory=list)


class IdoSellEmulator(Emulator):
    """An IdoSell shop on 127.0.0.1 rendering ``catalog`` (generated from ``seed`` if None).

    Test hooks: :meth:`reload` (after changing the catalog), :meth:`new_generation`,
    ``once_per_generation``, ``feed_downloads``, ``rows`` (the rendered search rows, editable).
    """

    name = "idosell"

    def __init__(self, catalog: Catalog | None = None, *, n_products: int = 60, seed: int = 42,
                 switches: Switches | None = None, api_key: str = DEMO_API_KEY,
                 marketplace_login: str = DEMO_MARKETPLACE_LOGIN,
                 marketplace_password: str = DEMO_MARKETPLACE_PASSWORD,
                 once_per_generation: bool = False) -> None:
        super().__init__(switches=switches)
        self.catalog = catalog if catalog is not None else generate_catalog(n_products, seed)
        self.api_key = api_key
        self.marketplace_login = marketplace_login
        self.marketplace_password = marketplace_password
        self.once_per_generation = once_per_generation
        self.feed_token = hashlib.sha1(  # noqa: S324 - a stable demo token, not a secret
            f"feed:{self.catalog.seed}".encode()).hexdigest()[:23]
        self._lock = threading.Lock()
        self.generation = 0
        self.generated = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        self.feed_downloads = 0
        self._taken_in_generation = False
        self.images: dict[str, Image] = {}
        self.versions: list[Version] = []
        self.rows: list[dict[str, Any]] = []
        self.category_rows: list[dict[str, Any]] = []
        self.reload()

    # -- test hooks -------------------------------------------------------------------------
    def reload(self) -> None:
        """Render the catalog into IdoSell's products again (after changing ``catalog``)."""
        self.versions = list(self._versions())
        self.images = {img.filename: img for img in self.catalog.images()}
        self.rows = [self._search_row(v) for v in self.versions]
        self.category_rows = [self._category_row(c) for c in self.catalog.categories]
        self.new_generation()

    def new_generation(self) -> None:
        """The panel exported the feeds again: a new ``generated`` time, downloadable once."""
        with self._lock:
            self.generation += 1
            self.generated = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
            self._taken_in_generation = False

    def version_group(self, catalog_product_id: int) -> list[int]:
        """The IdoSell product ids rendered from one catalog product (its versions)."""
        return [v.product_id for v in self.versions if v.product.id == catalog_product_id]

    # -- rendering --------------------------------------------------------------------------
    def _versions(self) -> Iterator[Version]:
        """One IdoSell product per colour of a coloured catalog product, else one product."""
        next_id = len(self.catalog.products) + 1
        extra: list[Version] = []
        for product in self.catalog.products:
            if COLOUR not in product.option_names:
                yield Version(product.id, product, list(product.variants), None)
                continue
            by_colour: dict[str, list[Variant]] = {}
            for variant in product.variants:
                by_colour.setdefault(dict(variant.options)[COLOUR], []).append(variant)
            group: list[Version] = []
            for index, (colour, variants) in enumerate(by_colour.items()):
                pid = product.id if index == 0 else next_id + len(extra)
                version = Version(pid, product, variants, colour)
                group.append(version)
                if index:
                    extra.append(version)
            ids = [v.product_id for v in group]
            for version in group:
                version.group_ids = ids
            yield group[0]
        yield from extra

    def _category_row(self, category: Any) -> dict[str, Any]:
        return {"id": category.id, "parent_id": category.parent_id or 0,
                "priority": category.id, "operation": "",
                "lang_data": [{"lang_id": "pol", "singular_name": category.name,
                               "plural_name": category.name, "description": ""}]}

    def _vat(self, product: Product) -> tuple[Decimal, str]:
        if product.vat_rate == 0:
            return Decimal("0.0"), ("y" if product.id % 2 else "n")
        return Decimal(product.vat_rate).quantize(Decimal("0.0")), "n"

    @staticmethod
    def _size(variant: Variant) -> tuple[str, str]:
        size = dict(variant.options).get(SIZE)
        if size is None:
            return ONE_SIZE, ONE_SIZE
        return _SIZE_IDS.get(size, size), size

    @staticmethod
    def _stocks(version: Version, variant: Variant) -> list[tuple[int, Decimal]]:
        """(warehouse, quantity) rows of one size: -1 when untracked, split over two
        warehouses on every third product."""
        if variant.stock is None:
            return [(1, Decimal(-1))]
        if version.product.id % 3 == 0 and variant.stock > 1:
            half = Decimal(int(variant.stock) // 2)
            return [(1, variant.stock - half), (2, half)]
        return [(1, variant.stock)]

    def _texts(self, product: Product, colour: str | None) -> list[dict[str, Any]]:
        texts = [{"langId": "pol", "productName": product.name,
                  "productDescription": product.short_description_html,
                  "productLongDescription": product.description_html}]
        if product.id % 3 == 0:
            texts.append({"langId": "eng", "productName": f"{product.name} (EN)",
                          "productDescription": product.short_description_html,
                          "productLongDescription": product.description_html})
        return texts

    def _search_row(self, version: Version) -> dict[str, Any]:
        p = version.product
        category = self.catalog.category(p.category_ids[0])
        vat, vat_free = self._vat(p)
        base = version.variants[0].price_gross if version.colour else p.price_gross
        sizes: list[dict[str, Any]] = []
        attributes: list[dict[str, Any]] = []
        stock_rows: dict[int, list[dict[str, Any]]] = {}
        for variant in version.variants:
            size_id, size_name = self._size(variant)
            sizes.append({"sizeId": size_id, "sizePanelName": size_name})
            attributes.append({
                "sizeId": size_id, "sizePanelName": size_name,
                "productSizeCodeExternal": variant.sku,
                "productSizeCodeProducer": variant.ean or "",
                "productInPersistent": "n",
                "productRetailPrice": _num(variant.price_gross),
                "productSizeWeight": int((variant.weight_kg or 0) * 1000),
                "productSizeWeightWithoutPackaging": int((variant.weight_kg or 0) * 900)})
            for stock_id, quantity in self._stocks(version, variant):
                stock_rows.setdefault(stock_id, []).append({
                    "sizeId": size_id, "sizePanelName": size_name,
                    "productSizeCodeExternal": variant.sku,
                    "productSizeQuantity": _num(quantity)})
        changed = local_time(p.updated_at)
        code = p.sku if version.product_id == p.id else f"{p.sku}-{version.colour}"
        parameters = [{"parameterId": _MATERIAL_PARAMETER, "parameterType": "parameter",
                       "parameterDescriptionsLangData": [{"langId": "pol",
                                                          "parameterName": "Materiał"}],
                       "parameterValues": [{"parameterValueId": 239, "parameterValueDescriptionsLangData": [  # noqa: E501
                           {"langId": "pol", "parameterValueName": p.attributes["Materiał"]}]}]}
                      ] if "Materiał" in p.attributes else []
        row: dict[str, Any] = {
            "productId": version.product_id, "productDisplayedCode": code,
            "productType": "product_item", "productIsVisible": "y" if p.active else "n",
            "producerId": (1_500_000_000 + self.catalog.brands.index(p.brand)
                           if p.brand else None),
            "producerName": p.brand,
            "categoryId": category.id, "categoryName": "/".join(category.path),
            "currencyId": "PLN", "productRetailPrice": _num(base),
            "productVat": vat, "productVatFree": vat_free,
            "sizesGroupId": 1 if SIZE in p.option_names else 0,
            "producerCodesStandard": "GTIN13",
            "productAddingTime": local_time(p.created_at),
            "productModificationTime": changed,
            "productQuantityChangedTime": changed,
            "productPriceChangedTime": changed,
            "productDescriptionsLangData": self._texts(p, version.colour),
            "productUrl": {"productUrlsLangData": [
                {"shopId": 1, "langId": "pol",
                 "url": f"{{shop}}/product-pol-{version.product_id}-{p.slug}.html"}]},
            "productImages": [
                {"productImageId": str(n), "productImagePriority": n,
                 "productImageLargeUrl": f"{{shop}}{GFX}{img.filename}",
                 "productImageMediumUrl": f"{{shop}}/data/gfx/pictures/medium/{img.filename}",
                 "productImageSmallUrl": f"{{shop}}/data/gfx/pictures/small/{img.filename}",
                 "productImageHash": hashlib.md5(img.content).hexdigest(),  # noqa: S324
                 "productImageWidth": 8, "productImageHeight": 8}
                for n, img in enumerate(p.images, start=1)],
            "productSizes": sizes,
            "productSizesAttributes": attributes,
            "productStocksData": {"productStocksQuantities": [
                {"stockId": stock_id, "productSizesData": rows}
                for stock_id, rows in sorted(stock_rows.items())]},
            "productParameters": parameters,
        }
        if version.colour is not None:
            row["productParameters"] = [*parameters, {
                "parameterId": _COLOUR_PARAMETER, "parameterType": "parameter",
                "parameterDescriptionsLangData": [{"langId": "pol", "parameterName": COLOUR}],
                "parameterValues": [{"parameterValueId": 300 + len(version.colour),
                                     "parameterValueDescriptionsLangData": [
                                         {"langId": "pol",
                                          "parameterValueName": version.colour}]}]}]
            row["productVersion"] = {
                "versionParentId": p.id,
                "versionProductsIds": [str(i) for i in version.group_ids],
                "versionGroupNames": {"versionGroupNamesLangData": [
                    {"langId": "pol", "versionGroupName": COLOUR}]},
                "versionNames": {"versionNamesLangData": [
                    {"langId": "pol", "versionName": version.colour},
                    {"langId": "eng", "versionName": _COLOUR_EN.get(version.colour,
                                                                    version.colour)}]}}
        return row

    # -- auth, throttling, errors -----------------------------------------------------------
    def before_request(self, request: Request) -> Response | None:
        """Image files and feed files need no key; the Admin API needs ``X-API-KEY``."""
        if request.path.startswith(GFX) and request.method in ("GET", "HEAD"):
            image = self.images.get(request.path[len(GFX):])
            if image is None:
                return Response(404, _HTML_404, content_type="text/html; charset=utf-8")
            return Response(200, image.content, {"Cache-Control": "public, max-age=86400"},
                            content_type=image.content_type)
        if not re.match(API + "/", request.path):
            return None
        key = request.header("x-api-key") or ""
        if not secrets.compare_digest(key.encode(), self.api_key.encode()):
            return Response.json({"errors": {"faultCode": 1, "faultString":
                                             "Nieprawidłowy klucz API (X-API-KEY)"}}, 401)
        return None

    def rate_limited(self, request: Request, retry_after: float) -> Response:
        """IdoSell's 429."""
        return Response.json({"errors": {"faultCode": 429, "faultString": "Too many requests"}},
                             429, {"Retry-After": str(max(1, math.ceil(retry_after)))})

    def server_error(self, request: Request) -> Response:
        """A 500 as the API answers it."""
        return Response.json({"errors": {"faultCode": 500,
                                         "faultString": "Internal server error"}}, 500)

    def not_found(self, request: Request) -> Response:
        """Inside the Admin API a fault; elsewhere the storefront's HTML 404."""
        if re.match(API + "/", request.path):
            return Response.json({"errors": {"faultCode": 404,
                                             "faultString": "Nieznana metoda API"}}, 404)
        return Response(404, _HTML_404, content_type="text/html; charset=utf-8")

    def control(self, request: Request, action: str) -> Response:
        """Also ``POST /_emulator/generation``: the panel exported the feeds again."""
        if action == "generation" and request.method == "POST":
            self.new_generation()
            return Response.json({"ok": True, "generation": self.generation})
        return super().control(request, action)

    # -- Admin API --------------------------------------------------------------------------
    @route("POST", API + r"/products/products/search")
    def search(self, request: Request) -> Response:
        """The search, paged from 0; an empty answer is the "no results" fault."""
        try:
            body = request.json()
        except ValueError:
            body = None
        params = body.get("params") if isinstance(body, dict) else None
        if not isinstance(params, dict):
            return Response.json({"errors": {"faultCode": 422, "faultString":
                                             "Nieprawidłowy format danych: brak params"}}, 422)
        try:
            page = int(params.get("resultsPage", 0))
            limit = int(params.get("resultsLimit", MAX_LIMIT))
        except (TypeError, ValueError):
            page, limit = -1, 0
        if page < 0 or not 1 <= limit <= MAX_LIMIT:
            return Response.json({"errors": {"faultCode": 422, "faultString":
                                             "resultsLimit: 1-100, resultsPage: od 0"}}, 422)
        rows = [r for r in self.rows if self._matches(r, params)]
        rows = self._order(rows, params.get("ordersBy"))
        total = len(rows)
        chunk = rows[page * limit:(page + 1) * limit]
        if not chunk:
            return Response.json({"errors": NO_RESULTS}, 404)
        return Response.json({
            "resultsNumberAll": total, "resultsNumberPage": math.ceil(total / limit),
            "resultsPage": page, "resultsLimit": limit,
            "results": [self._finish(r) for r in chunk]})

    def _finish(self, row: dict[str, Any]) -> dict[str, Any]:
        """Fill the shop's own URL into image and product URLs (known once serving)."""
        url = self.url
        images = [{k: (v.replace("{shop}", url) if isinstance(v, str) else v)
                   for k, v in img.items()} for img in row["productImages"]]
        urls = {"productUrlsLangData": [dict(u, url=u["url"].replace("{shop}", url))
                                        for u in row["productUrl"]["productUrlsLangData"]]}
        return {**row, "productImages": images, "productUrl": urls}

    @staticmethod
    def _matches(row: dict[str, Any], params: dict[str, Any]) -> bool:
        wanted = params.get("productParams")
        if isinstance(wanted, list) and wanted:
            ids = {str(w.get("productId")) for w in wanted if isinstance(w, dict)}
            if str(row["productId"]) not in ids:
                return False
        dates = params.get("productDate")
        if isinstance(dates, dict):
            mode = dates.get("productDateMode", "modified")
            fields = {"added": ["productAddingTime"], "modified": ["productModificationTime"],
                      "quantity_changed": ["productQuantityChangedTime"],
                      "price_changed": ["productPriceChangedTime"],
                      "modified_and_quantity_changed": ["productModificationTime",
                                                        "productQuantityChangedTime"]
                      }.get(mode, ["productModificationTime"])
            begin = str(dates.get("productDateBegin") or "0000-00-00")[:10]
            end = str(dates.get("productDateEnd") or "9999-12-31")[:10]
            if not any(begin <= str(row[f])[:10] <= end for f in fields):
                return False
        return True

    @staticmethod
    def _order(rows: list[dict[str, Any]], orders: Any) -> list[dict[str, Any]]:
        if not isinstance(orders, list) or not orders:  # nothing promised: scrambled
            return sorted(rows, key=lambda r: hashlib.sha1(  # noqa: S324
                str(r["productId"]).encode()).hexdigest())
        keys = {"id": "productId", "code": "productDisplayedCode",
                "modification_time": "productModificationTime",
                "adding_time": "productAddingTime"}
        for order in reversed(orders):
            if not isinstance(order, dict):
                continue
            key = keys.get(str(order.get("elementName")), "productId")
            rows = sorted(rows, key=operator.itemgetter(key),
                          reverse=str(order.get("sortDirection")).upper() == "DESC")
        return rows

    @route("GET", API + r"/products/categories")
    def categories(self, request: Request) -> Response:
        """Panel categories, snake_case paging from 0."""
        try:
            page = int(request.arg("results_page", "0") or 0)
            limit = int(request.arg("results_limit", "100") or 100)
        except ValueError:
            page, limit = -1, 0
        if page < 0 or not 1 <= limit <= MAX_LIMIT:
            return Response.json({"errors": {"faultCode": 422, "faultString":
                                             "results_limit: 1-100"}}, 422)
        rows = self.category_rows
        chunk = rows[page * limit:(page + 1) * limit]
        if not chunk:
            return Response.json({"errors": NO_RESULTS}, 404)
        return Response.json({"results_number_all": len(rows),
                              "results_number_page": math.ceil(len(rows) / limit),
                              "results_page": page, "results_limit": limit,
                              "categories": chunk})

    # -- Marketplace API and the IOF files --------------------------------------------------
    @route("GET", MARKETPLACE)
    def marketplace(self, request: Request) -> Response:
        """``?gate=Products/getProductsFeed/5/json``: the gateway file's URL for a valid key."""
        if request.arg("gate") != "Products/getProductsFeed/5/json":
            return Response.json({"errors": {"faultCode": 404,
                                             "faultString": "Nieznana bramka"}})
        try:
            body = request.json()
        except ValueError:
            body = None
        auth = body.get("authenticate") if isinstance(body, dict) else None
        auth = auth if isinstance(auth, dict) else {}
        login, key = str(auth.get("userLogin") or ""), str(auth.get("authenticateKey") or "")
        expected = marketplace_key(self.marketplace_password, dt.datetime.now(TIMEZONE).date())
        if not (secrets.compare_digest(login.encode(), self.marketplace_login.encode())
                and secrets.compare_digest(key.encode(), expected.encode())):
            return Response.json({"errors": {"faultCode": 1,
                                             "faultString": "Logowanie nie powiodło się"}})
        return Response.json({"results": {"url": self.feed_url("gateway")},
                              "errors": {"faultCode": 0, "faultString": ""}})

    def feed_url(self, kind: str) -> str:
        """The URL of one IOF file (``gateway``, ``full``, ``categories``)."""
        return (f"{self.url}{FEED}?client=iof&language=pol&token={self.feed_token}&shop=1"
                f"&type={kind}&format=xml&iof_3_0")

    @route("GET", FEED)
    def feed(self, request: Request) -> Response:
        """One IOF file; the full offer only once per generation when that switch is on."""
        if request.arg("token") != self.feed_token:
            return Response(403, "<html><body><h1>Brak dostępu</h1></body></html>",
                            content_type="text/html; charset=utf-8")
        kind = request.arg("type")
        generated = local_time(self.generated)
        if kind == "gateway":
            return Response(200, self.gateway_xml(), content_type="text/xml; charset=utf-8")
        if kind == "categories":
            return self._attachment(self.categories_xml(), "categories.xml")
        if kind != "full":
            return Response(404, _HTML_404, content_type="text/html; charset=utf-8")
        with self._lock:
            if self.once_per_generation and self._taken_in_generation:
                return Response(200, _FEED_ALREADY_TAKEN, content_type="text/html; charset=utf-8")
            self._taken_in_generation = True
            self.feed_downloads += 1
        return self._attachment(self.full_xml(), f"full-{generated[:10]}.xml")

    @staticmethod
    def _attachment(text: str, filename: str) -> Response:
        return Response(200, text.encode(), {"Content-Disposition":
                                             f'attachment; filename="{filename}"'},
                        content_type="application/xml; charset=utf-8")

    def gateway_xml(self) -> str:
        """The ``provider_description`` file that lists the other files."""
        generated = local_time(self.generated)
        expires = local_time(self.generated + dt.timedelta(days=1))
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<provider_description file_format="IOF" version="3.0" generated_by="IdoSell" '
            f'generated="{generated}">\n<meta><long_name>{_cdata("Sklep demonstracyjny")}'
            f'</long_name><time><offer created="{generated}"/><offer expires="{expires}"/>'
            f'</time></meta>\n'
            f'<full url={quoteattr(self.feed_url("full"))} changed="{generated}"/>\n'
            f'<light url={quoteattr(self.feed_url("light"))}/>\n'
            f'<categories url={quoteattr(self.feed_url("categories"))} changed="{generated}"/>'
            '\n</provider_description>\n')

    def categories_xml(self) -> str:
        """The ``categories`` file: the tree as nested elements."""
        children: dict[int | None, list[Any]] = {}
        for category in self.catalog.categories:
            children.setdefault(category.parent_id, []).append(category)

        def render(parent: int | None, depth: int) -> str:
            out = []
            for c in children.get(parent, []):
                out.append(f'{"  " * depth}<category id="{c.id}" name={quoteattr(c.name)}>'
                           f'<name xml:lang="pol">{escape(c.name)}</name>\n'
                           f'{render(c.id, depth + 1)}{"  " * depth}</category>\n')
            return "".join(out)

        return ('<?xml version="1.0" encoding="UTF-8"?>\n<categories file_format="IOF" '
                f'version="3.0" language="pol" generated="{local_time(self.generated)}">\n'
                f'{render(None, 1)}</categories>\n')

    def full_xml(self) -> str:
        """The ``full`` offer: every product (each version its own ``<product>``)."""
        generated = local_time(self.generated)
        expires = local_time(self.generated + dt.timedelta(days=1))
        head = ('<?xml version="1.0" encoding="utf-8"?>\n'
                f'<offer xmlns:iaiext="{IAIEXT}" file_format="IOF" version="3.0" '
                f'generated="{generated}" expires="{expires}" extensions="yes">\n'
                f'<products xmlns:iaiext="{IAIEXT}" currency="PLN" language="pol">\n')
        body = "".join(self._iof_product(row) for row in sorted(self.rows,
                                                                key=lambda r: r["productId"]))
        return head + body + "</products>\n</offer>\n"

    def _iof_product(self, row: dict[str, Any]) -> str:
        row = self._finish(row)
        vat = Decimal(str(row["productVat"]))
        rate = 0 if row["productVatFree"] == "y" else int(vat)

        def price(gross: Any) -> str:
            amount = Decimal(str(gross))
            return (f'<price gross="{_xml_num(amount)}" '
                    f'net="{_xml_num(net_from_gross(amount, rate))}"/>')

        out = [f'<product id="{row["productId"]}" type="regular" vat="{vat}" site="1" '
               f'currency="PLN" code_on_card={quoteattr(row["productDisplayedCode"])} '
               'producer_code_standard="GTIN13">']
        if row["producerName"]:
            out.append(f'<producer id="{row["producerId"]}" '
                       f'name={quoteattr(row["producerName"])}/>')
        out.append(f'<category id="{row["categoryId"]}" name={quoteattr(row["categoryName"])}/>')
        url = row["productUrl"]["productUrlsLangData"][0]["url"]
        out.append(f"<card url={quoteattr(url)}/>")
        out.append("<description>")
        for texts in row["productDescriptionsLangData"]:
            out.append(f'<name xml:lang="{texts["langId"]}">{_cdata(texts["productName"])}'
                       "</name>")
        for texts in row["productDescriptionsLangData"]:
            out.append(f'<long_desc xml:lang="{texts["langId"]}">'
                       f'{_cdata(texts["productLongDescription"])}</long_desc>')
            out.append(f'<short_desc xml:lang="{texts["langId"]}">'
                       f'{_cdata(texts["productDescription"])}</short_desc>')
        out.append("</description>")
        out.append(price(row["productRetailPrice"]))
        out.append('<sizes iaiext:group_name="Rozmiary" '
                   f'iaiext:group_id="{row["sizesGroupId"]}">')
        stocks: dict[str, list[tuple[int, Any]]] = {}
        for warehouse in row["productStocksData"]["productStocksQuantities"]:
            for size in warehouse["productSizesData"]:
                stocks.setdefault(size["sizeId"], []).append(
                    (warehouse["stockId"], size["productSizeQuantity"]))
        for size in row["productSizesAttributes"]:
            rows = stocks.get(size["sizeId"], [])
            quantities = [Decimal(str(q)) for _, q in rows]
            available = ("unavailable" if quantities and all(q == 0 for q in quantities)
                         else "in_stock")
            producer = (f' code_producer={quoteattr(size["productSizeCodeProducer"])}'
                        if size["productSizeCodeProducer"] else "")
            out.append(
                f'<size available="{available}" id={quoteattr(size["sizeId"])} '
                f'name={quoteattr(size["sizePanelName"])} '
                f'panel_name={quoteattr(size["sizePanelName"])} '
                f'code="{row["productId"]}-{size["sizeId"]}"{producer} '
                f'iaiext:code_external={quoteattr(size["productSizeCodeExternal"])} '
                f'weight="{size["productSizeWeight"]}">')
            out.append(price(size["productRetailPrice"]))
            if available != "unavailable":
                for stock_id, quantity in rows:
                    out.append(f'<stock id="{stock_id}" quantity="{quantity}" '
                               f'available_stock_quantity="{quantity}"/>')
            out.append("</size>")
        out.append("</sizes>")
        out.append("<images><large>")
        for image in row["productImages"]:
            out.append(f'<image iaiext:priority="{image["productImagePriority"]}" '
                       f'url={quoteattr(image["productImageLargeUrl"])} '
                       f'hash="{image["productImageHash"]}" changed="2024-01-02 09:00:00"/>')
        out.append("</large></images>")
        version = row.get("productVersion")
        if version:
            names = version["versionNames"]["versionNamesLangData"]
            value = next(n["versionName"] for n in names if n["langId"] == "pol")
            out.append(f'<group id="{version["versionParentId"]}" '
                       f'first_product_id="{version["versionParentId"]}">'
                       '<group_by_parameter id="050e7a"><name xml:lang="pol">'
                       f'{_cdata(COLOUR)}</name><product_value id="dbe8{len(value)}">'
                       f'<name xml:lang="pol">{_cdata(value)}</name></product_value>'
                       "</group_by_parameter></group>")
        if row["productParameters"]:
            out.append("<parameters>")
            for parameter in row["productParameters"]:
                name = parameter["parameterDescriptionsLangData"][0]["parameterName"]
                axis = "y" if parameter["parameterId"] == _COLOUR_PARAMETER else "n"
                out.append(f'<parameter type="parameter" id="{parameter["parameterId"]}" '
                           f'distinction="n" group_distinction="{axis}" hide="n" '
                           f"name={quoteattr(name)}>")
                for value in parameter["parameterValues"]:
                    text = value["parameterValueDescriptionsLangData"][0]["parameterValueName"]
                    out.append(f'<value id="{value["parameterValueId"]}" '
                               f"name={quoteattr(text)}/>")
                out.append("</parameter>")
            out.append("</parameters>")
        out.append("</product>\n")
        return "".join(out)

    def state(self) -> dict[str, Any]:
        """What the shop holds and how it was used (never the key)."""
        limit = self.switches.rate_limit
        return {"shop": "idosell", "catalog_products": len(self.catalog.products),
                "idosell_products": len(self.rows),
                "variants": self.catalog.variant_count(),
                "categories": len(self.category_rows), "generation": self.generation,
                "feed_downloads": self.feed_downloads, "requests": len(self.requests_to()),
                "rate_limited": limit.refused if limit else 0}


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m sandbox.idosell``: serve the seeded shop until interrupted."""
    parser = common_parser("idosell")
    parser.add_argument("--api-key", default=DEMO_API_KEY, help="accepted X-API-KEY")
    parser.add_argument("--marketplace-login", default=DEMO_MARKETPLACE_LOGIN,
                        help="Marketplace-API service account login")
    parser.add_argument("--marketplace-password", default=DEMO_MARKETPLACE_PASSWORD,
                        help="that account's password (the daily key derives from it)")
    parser.add_argument("--once-per-generation", action="store_true",
                        help="the full IOF file downloads once per generation, then HTML")

    def factory(args: argparse.Namespace, switches: Switches) -> IdoSellEmulator:
        return IdoSellEmulator(n_products=args.products, seed=args.seed, switches=switches,
                               api_key=args.api_key, marketplace_login=args.marketplace_login,
                               marketplace_password=args.marketplace_password,
                               once_per_generation=args.once_per_generation)

    run("idosell", factory, argv, parser)


if __name__ == "__main__":
    main()
