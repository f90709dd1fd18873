"""A local stand-in for the Gateway marketplace API, built from ``docs/gateway-api.md``.

It implements every route on that page with in-memory state, so that target-gateway can be
tested end to end over real sockets without the (unreachable) development API:

- JWT auth verified independently of the client (hmac + hashlib, no PyJWT), so that a bug in
  how the target mints tokens cannot be hidden by the same bug here; 401 on a bad token, 403
  when the token's shop is not the shop in the path;
- products: batch create, the Elasticsearch-DSL query subset the client sends (owner match,
  archived filter, terms on ``data.source.*``, size/from and search_after paging), delete
  (soft: sets ``archived``), and ``POST /organizations/{org}/products/{guid}`` (create at a
  chosen guid, which target-gateway uses as its update);
- shop tags (``variant`` groups) with ``409 Tag (<guid>) already exists`` on a duplicate name,
  ``PUT /product_tags/{tag}``; the Gateway's own category tags (``GET /tags/?type=category``,
  ``GET /bootstrap``) from a seeded Polish category tree;
- images: ``/downloads/`` fetches the URL (size cap, timeout) into a fake bucket on the same
  server, ``/uploads/`` answers an S3-style presigned POST whose URL is that bucket, which
  accepts the multipart upload and serves objects back over GET.

Everything the shop ended up with is visible through :meth:`GatewayEmulator.state` (also at
``GET /_emulator/state``). The payload checks are deliberately strict (unknown tag guids,
VAT classes, non-net prices...) so that a client bug is answered 400 here, not discovered
on the real API.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import copy
import datetime as dt
import hashlib
import hmac
import html
import json
import random
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.cli import common_parser, run
from sandbox.server import Emulator, Request, Response, Switches, route

DEMO_SHOP_GUID = "5b0c7a52-3f3e-4a8e-9d0e-6f2a1c9e4b21"
#: base64 of a 32-byte emulator-only key; not a secret of any real shop.
DEMO_SIGNING_KEY = "c2FuZGJveC1nYXRld2F5LWRlbW8tc2lnbmluZy1rZXk="

#: uuid5 namespace of the emulator's name-based tag guids (the house style of the real API).
TAG_NAMESPACE = uuid.UUID("8f0e4a52-6d6b-4f4e-b8d2-2c1f7a0e9c11")
VAT_CLASSES = {"VAT23", "VAT8", "VAT5", "VAT0"}
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
DOWNLOAD_TIMEOUT = 10.0
MAX_PAGE_SIZE = 500
#: the finest net amount accepted (the Gateway's gross is net x (1 + VAT), half up to 0.01)
PRICE_QUANTUM = Decimal("0.0001")
#: the page size Elasticsearch answers when ``size`` is not honoured
ES_DEFAULT_SIZE = 10

#: The Gateway's category tree (a seeded stand-in). Names overlap the sandbox catalog's
#: categories plausibly but not one to one, as a real marketplace tree would.
CATEGORY_TREE: dict[str, dict[str, list[str]]] = {
    "Moda": {
        "Odzież damska": ["Sukienki", "Bluzki i koszule", "Spódnice"],
        "Odzież męska": ["Koszulki", "Kurtki i płaszcze", "Spodnie"],
        "Odzież dziecięca": ["Niemowlęta", "Piżamy"],
        "Obuwie": ["Obuwie damskie", "Obuwie męskie", "Obuwie sportowe"],
    },
    "Dom": {
        "Kuchnia": ["Kubki", "Garnki i patelnie", "Noże kuchenne"],
        "Dekoracje": ["Świece", "Poduszki"],
        "Ogród": ["Doniczki", "Narzędzia ogrodowe"],
    },
    "Zdrowie i uroda": {
        "Pielęgnacja": ["Kremy", "Mydła"],
        "Suplementy diety": ["Witaminy", "Zioła i herbaty"],
    },
    "Kultura i rozrywka": {
        "Książki": ["Literatura", "Poradniki"],
        "Gry": ["Gry planszowe", "Łamigłówki"],
    },
}


def category_guid(path: str) -> str:
    """Name-based guid of a Gateway category, e.g. ``category_guid("Dom>Kuchnia>Kubki")``."""
    return str(uuid.uuid5(TAG_NAMESPACE, f"category:{path}"))


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")


class _AuthError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class GatewayEmulator(Emulator):
    """The Gateway API on 127.0.0.1 with in-memory state (see the module docstring)."""

    name = "gateway"

    def __init__(self, shops: dict[str, str] | None = None, switches: Switches | None = None,
                 seed: int = 42, fetch_downloads: bool = True) -> None:
        super().__init__(switches=switches)
        self.shops: dict[str, bytes] = {}
        self.fetch_downloads = fetch_downloads
        self._rng = random.Random(f"gateway:{seed}")
        self._lock = threading.RLock()
        self._products: dict[str, dict[str, Any]] = {}
        self._tags: dict[str, dict[str, Any]] = {}
        self._bucket: dict[str, tuple[str, bytes]] = {}
        self._bucket_secret = hashlib.sha256(f"bucket:{seed}".encode()).digest()
        #: bumped after every write, so cached query results never outlive a change
        self._generation = 0
        self._query_cache: tuple[Any, list[dict[str, Any]]] = (None, [])
        self.downloads: list[str] = []
        # Answers that are not what a client may assume (for the target's guards):
        #: every query page holds ES_DEFAULT_SIZE products, whatever ``size`` asks for
        self.query_ignores_size = False
        #: query pages hold at most this many products (a silent cap below ``size``)
        self.query_size_cap: int | None = None
        #: ``search_after`` is ignored: every page starts from the first product again
        self.query_ignores_search_after = False
        #: a batch create answers 2xx with this instead of the created products:
        #: "html" (a 200 HTML page), "empty_list" (201 ``[]``) or "empty_body" (201, no body)
        self.create_answer: str | None = None
        #: with ``create_answer``: whether the products are stored all the same
        self.create_stores = True
        self._tree = self._seed_categories()
        self.register_shop(DEMO_SHOP_GUID, DEMO_SIGNING_KEY)
        for guid, key in (shops or {}).items():
            self.register_shop(guid, key)

    # -- set-up --------------------------------------------------------------------------
    def register_shop(self, guid: str, key_b64: str) -> None:
        """Let a shop sign requests with ``key_b64`` (base64 of the HMAC key bytes)."""
        guid = str(uuid.UUID(guid))
        self.shops[guid] = base64.b64decode(key_b64, validate=True)

    def _seed_categories(self) -> list[dict[str, Any]]:
        def node(name: str, path: str, parent: str | None, children: Iterable[Any]) -> dict:
            guid = category_guid(path)
            self._tags[guid] = {"guid": guid, "name": name, "type": "category", "owner": None,
                                "parent_guid": parent, "path": path, "subtags": [],
                                "active": True, "images": []}
            kids = [node(child, f"{path}>{child}", guid, grand)
                    for child, grand in children]
            self._tags[guid]["subtags"] = [k["guid"] for k in kids]
            return {"name": name, "guid": guid, "children": kids}

        return [node(root, root, None,
                     [(child, [(leaf, []) for leaf in leaves]) for child, leaves in mid.items()])
                for root, mid in CATEGORY_TREE.items()]

    def seed_tag(self, shop_guid: str, name: str, kind: str = "variant") -> str:
        """Create a shop tag directly (no HTTP); its guid. For benchmarks of big shops."""
        guid = str(uuid.uuid5(TAG_NAMESPACE, f"{shop_guid}:{kind}:{name}"))
        with self._lock:
            self._tags[guid] = {"guid": guid, "name": name, "type": kind, "owner": shop_guid,
                                "parent_guid": None, "subtags": [], "active": True,
                                "images": []}
            self._generation += 1
        return guid

    def seed_products(self, shop_guid: str, items: Iterable[dict[str, Any]]) -> int:
        """Store product items directly, as the batch create would (no HTTP, no payload
        checks): a shop of 100,000 products in seconds instead of 2,000 create calls."""
        with self._lock:
            count = 0
            for item in items:
                self._store(item, shop_guid, self._new_guid())
                count += 1
            self._generation += 1
        return count

    # -- inspection ----------------------------------------------------------------------
    def products(self, shop_guid: str, include_archived: bool = False) -> list[dict]:
        """The shop's products (copies), oldest first; archived ones only when asked."""
        with self._lock:
            return [copy.deepcopy(p) for p in self._products.values()
                    if p["owner_guid"] == shop_guid
                    and (include_archived or p.get("archived") is None)]

    def tags(self, shop_guid: str | None = None, type: str | None = None) -> list[dict]:
        """Tags (copies with ``product_guids``): a shop's own, or the Gateway's when None."""
        with self._lock:
            usage = self._tag_usage()
            return [self._tag_view(t, usage) for t in self._tags.values()
                    if (shop_guid is None or t["owner"] == shop_guid)
                    and (type is None or t["type"] == type)]

    def bucket_object(self, key: str) -> tuple[str, bytes] | None:
        """(content type, bytes) stored under ``key`` in the fake bucket."""
        with self._lock:
            return self._bucket.get(key)

    def state(self) -> dict[str, Any]:
        """Everything the emulated Gateway holds, JSON-able."""
        with self._lock:
            usage = self._tag_usage()
            return {
                "shops": sorted(self.shops),
                "products": [copy.deepcopy(p) for p in self._products.values()],
                "tags": [self._tag_view(t, usage) for t in self._tags.values()
                         if t["owner"] is not None],
                "category_tree": copy.deepcopy(self._tree),
                "bucket": [{"key": k, "content_type": ct, "size": len(data),
                            "sha1": hashlib.sha1(data).hexdigest()}  # noqa: S324
                           for k, (ct, data) in self._bucket.items()],
                "downloads": list(self.downloads),
            }

    def _tag_usage(self) -> dict[str, list[str]]:
        usage: dict[str, list[str]] = {}
        for product in self._products.values():
            if product.get("archived") is None:
                for guid in product.get("tag_guids", []):
                    usage.setdefault(guid, []).append(product["guid"])
        return usage

    @staticmethod
    def _tag_view(tag: dict[str, Any], usage: dict[str, list[str]]) -> dict[str, Any]:
        view = {k: v for k, v in tag.items() if k != "path"}
        view["product_guids"] = list(usage.get(tag["guid"], []))
        view["item_count"] = len(view["product_guids"])
        return copy.deepcopy(view)

    def dispatch(self, request: Request) -> Response | None:
        """Answer, then mark every write (anything but GET and the query) as a new state."""
        response = super().dispatch(request)
        if request.method != "GET" and not request.path.endswith("/_query"):
            with self._lock:
                self._generation += 1
        return response

    # -- auth ----------------------------------------------------------------------------
    def before_request(self, request: Request) -> Response | None:
        """Every route but the presigned bucket needs a valid shop JWT."""
        if request.path.startswith("/bucket/") or request.path == "/bucket":
            return None
        try:
            request.shop_guid = self._verify(request.header("authorization") or "")  # type: ignore[attr-defined]
        except _AuthError as exc:
            return Response.json({"message": str(exc)}, exc.status)
        return None

    def _verify(self, authorization: str) -> str:
        """The shop guid of a valid ``Bearer <JWT>``; raises _AuthError otherwise."""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or token.count(".") != 2:
            raise _AuthError(401, "Unauthorized: missing bearer token")
        head_b64, claims_b64, signature_b64 = token.split(".")
        try:
            header = json.loads(_b64url_decode(head_b64))
            claims = json.loads(_b64url_decode(claims_b64))
            signature = _b64url_decode(signature_b64)
        except (ValueError, binascii.Error) as exc:
            raise _AuthError(401, "Unauthorized: malformed token") from exc
        if not isinstance(header, dict) or header.get("alg") != "HS256":
            raise _AuthError(401, "Unauthorized: token must be HS256")
        if not isinstance(claims, dict):
            raise _AuthError(401, "Unauthorized: malformed claims")
        shop = claims.get("organization_guid")
        key = self.shops.get(shop) if isinstance(shop, str) else None
        if key is None:
            raise _AuthError(401, "Unauthorized: unknown organization_guid")
        expected = hmac.new(key, f"{head_b64}.{claims_b64}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(signature, expected):
            raise _AuthError(401, "Unauthorized: bad signature")
        if claims.get("iss") != f"shop:{shop}":
            raise _AuthError(401, "Unauthorized: iss must be shop:<organization_guid>")
        groups = claims.get("groups")
        if not isinstance(groups, list) or "shopkeeper" not in groups:
            raise _AuthError(401, "Unauthorized: groups must contain shopkeeper")
        if "exp" in claims and not (isinstance(claims["exp"], (int, float))
                                    and claims["exp"] > time.time()):
            raise _AuthError(401, "Unauthorized: token expired")
        return str(shop)

    @staticmethod
    def _own(request: Request, shop_guid: str) -> Response | None:
        if getattr(request, "shop_guid", None) != shop_guid:
            return Response.json({"message": "Forbidden: token is for another shop"}, 403)
        return None

    # -- products ------------------------------------------------------------------------
    @route("POST", r"/dashboard/webshops?/(?P<shop>[0-9a-f-]{36})/products")
    def create_products(self, request: Request, shop: str) -> Response:
        """Batch create; the whole batch is refused (400) when one item is malformed."""
        denied = self._own(request, shop)
        if denied:
            return denied
        body = _json(request)
        items = body.get("products") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items:
            return Response.json({"message": "body must be {\"products\": [...]}"}, 400)
        with self._lock:
            errors = [f"products[{i}]: {e}" for i, item in enumerate(items)
                      for e in self._check_item(item, shop)]
            if errors:
                return Response.json({"message": "invalid products", "errors": errors}, 400)
            created = ([self._store(item, shop, self._new_guid()) for item in items]
                       if self.create_stores or self.create_answer is None else [])
        if self.create_answer == "html":
            return Response(200, b"<html><body><h1>OK</h1></body></html>",
                            content_type="text/html; charset=utf-8")
        if self.create_answer == "empty_list":
            return Response.json([], 201)
        if self.create_answer == "empty_body":
            return Response(201, b"")
        return Response.json({"products": created}, 201)

    @route("POST", r"/organizations/(?P<shop>[0-9a-f-]{36})/products/(?P<guid>[0-9a-f-]{36})")
    def put_product(self, request: Request, shop: str, guid: str) -> Response:
        """Create at a chosen guid; on an existing guid of the same shop, replace its fields."""
        denied = self._own(request, shop)
        if denied:
            return denied
        item = _json(request)
        if not isinstance(item, dict):
            return Response.json({"message": "body must be a product item object"}, 400)
        with self._lock:
            errors = self._check_item(item, shop)
            if errors:
                return Response.json({"message": "invalid product", "errors": errors}, 400)
            existing = self._products.get(guid)
            if existing is not None and existing["owner_guid"] != shop:
                return Response.json({"message": "Forbidden: product of another shop"}, 403)
            stored = self._store(item, shop, guid, existing)
        return Response.json(stored, 200 if existing else 201)

    @route("DELETE", r"/dashboard/webshops/(?P<shop>[0-9a-f-]{36})/products/"
                     r"(?P<guid>[0-9a-f-]{36})/?")
    def delete_product(self, request: Request, shop: str, guid: str) -> Response:
        """Archive a product (the query's ``must_not exists archived`` hides it)."""
        return self._archive(request, shop, guid)

    @route("DELETE", r"/organizations/(?P<shop>[0-9a-f-]{36})/products/(?P<guid>[0-9a-f-]{36})/?")
    def delete_org_product(self, request: Request, shop: str, guid: str) -> Response:
        """The organisation-scoped delete route; same effect."""
        return self._archive(request, shop, guid)

    def _archive(self, request: Request, shop: str, guid: str) -> Response:
        denied = self._own(request, shop)
        if denied:
            return denied
        with self._lock:
            product = self._products.get(guid)
            if product is None or product["owner_guid"] != shop:
                return Response.json({"message": "product not found"}, 404)
            product["archived"] = _now()
        return Response.json({"guid": guid, "archived": product["archived"]})

    @route("POST", r"/dashboard/webshop_products/_query")
    def query_products(self, request: Request) -> Response:
        """The DSL subset the client sends; only the token's shop's products are visible."""
        body = _json(request)
        dsl = body.get("dsl") if isinstance(body, dict) else None
        if not isinstance(dsl, dict):
            return Response.json({"message": "body must be {\"dsl\": {...}}"}, 400)
        try:
            matcher = self._compile_query(dsl.get("query", {"match_all": {}}))
            sort = self._compile_sort(dsl.get("sort", []))
            size = int(dsl.get("size", 10))
            start = int(dsl.get("from", 0))
        except (ValueError, TypeError, KeyError) as exc:
            return Response.json({"message": f"unsupported query: {exc}"}, 400)
        size = max(0, min(size, MAX_PAGE_SIZE))
        if self.query_ignores_size:
            size = ES_DEFAULT_SIZE
        if self.query_size_cap is not None:
            size = min(size, self.query_size_cap)
        after = None if self.query_ignores_search_after else dsl.get("search_after")
        if after is not None and (not sort or len(after) != len(sort)):
            return Response.json({"message": "search_after needs one value per sort"}, 400)
        with self._lock:
            # a full read pages through the same sorted result: compute it once per state of
            # the products (10,000-product shops made a re-sort per page the bottleneck)
            key = (request.shop_guid, json.dumps(dsl.get("query"), sort_keys=True,  # type: ignore[attr-defined]
                                                 default=str), tuple(sort), self._generation)
            if self._query_cache[0] != key:
                hits = [p for p in self._products.values()
                        if p["owner_guid"] == request.shop_guid and matcher(p)]  # type: ignore[attr-defined]
                self._query_cache = (key, self._sorted(hits, sort))
            hits = self._query_cache[1]
            total = len(hits)  # of the whole query, as Elasticsearch counts (search_after aside)
            if after is not None:  # sorted, so "after the marker" is a suffix: bisect to it
                hits = hits[bisect.bisect_left(range(len(hits)), True,
                                               key=lambda i: self._after(hits[i], sort, after)):]
            page = [copy.deepcopy(p) for p in hits[start:start + size]]
        return Response.json({"products": page, "total": total})

    @route("PUT", r"/product_tags/(?P<tag>[0-9a-f-]{36})")
    def product_tags(self, request: Request, tag: str) -> Response:
        """Add or remove one tag on products of the token's shop."""
        body = _json(request)
        if not isinstance(body, dict):
            return Response.json({"message": "body must be {\"add\": [...], \"delete\": [...]}"},
                                 400)
        with self._lock:
            if tag not in self._tags:
                return Response.json({"message": "tag not found"}, 404)
            for key, adding in (("add", True), ("delete", False)):
                for guid in body.get(key, []):
                    product = self._products.get(guid)
                    if product is None or product["owner_guid"] != request.shop_guid:  # type: ignore[attr-defined]
                        return Response.json({"message": f"product {guid} not found"}, 404)
                    guids = product["tag_guids"]
                    if adding and tag not in guids:
                        guids.append(tag)
                    elif not adding and tag in guids:
                        guids.remove(tag)
                    product["tags"] = list(guids)
        return Response.json({"ok": True})

    def _new_guid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _check_item(self, item: Any, shop: str) -> list[str]:
        """Problems of one ``{archived, for_sale, stock_level, product}`` item."""
        if not isinstance(item, dict):
            return ["must be an object"]
        errors = []
        for flag in ("archived", "for_sale"):
            if not isinstance(item.get(flag), bool):
                errors.append(f"{flag} must be true or false")
        stock = item.get("stock_level")
        if stock is not None and (isinstance(stock, bool) or not isinstance(stock, int)
                                  or stock < 0):
            errors.append("stock_level must be a non-negative integer")
        product = item.get("product")
        if not isinstance(product, dict):
            return [*errors, "product must be an object"]
        if not isinstance(product.get("name"), str) or not product["name"].strip():
            errors.append("product.name is required")
        if product.get("vat") not in VAT_CLASSES:
            errors.append(f"product.vat must be one of {sorted(VAT_CLASSES)}")
        if product.get("base_price_type", "retail") != "retail":
            errors.append("product.base_price_type must be retail")
        for price in ("base_price", "cost_price"):
            errors += self._check_price(price, product.get(price))
        images = product.get("images", [])
        if not isinstance(images, list) or not all(isinstance(u, str) and
                                                   u.startswith(("http://", "https://"))
                                                   for u in images):
            errors.append("product.images must be a list of http(s) URLs")
        tag_guids = product.get("tag_guids", [])
        if not isinstance(tag_guids, list):
            errors.append("product.tag_guids must be a list")
        else:
            for guid in tag_guids:
                tag = self._tags.get(guid)
                if tag is None or tag["owner"] not in (None, shop):
                    errors.append(f"product.tag_guids: unknown tag {guid}")
        if not isinstance(product.get("data", {}), dict):
            errors.append("product.data must be an object")
        for text in ("desc", "brief", "sku"):
            if product.get(text) is not None and not isinstance(product[text], str):
                errors.append(f"product.{text} must be a string")
        for text in ("name", "desc", "brief", "sku"):  # a text column refuses NUL (Postgres)
            if isinstance(product.get(text), str) and _CONTROLS.search(product[text]):
                errors.append(f"product.{text} holds a NUL or control character")
        return errors

    @staticmethod
    def _check_price(name: str, price: Any) -> list[str]:
        if not isinstance(price, dict):
            return [f"product.{name} is required"]
        errors = []
        amount = price.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, (int, Decimal)) or amount < 0:
            errors.append(f"product.{name}.amount must be a non-negative number")
        elif isinstance(amount, Decimal) and amount != amount.quantize(PRICE_QUANTUM):
            # a net of 4 places is what gives every 2-place gross back (158.00 at 23%:
            # 128.455); the gross is computed from it in _store, rounded half up
            errors.append(f"product.{name}.amount has more than 4 decimal places")
        if price.get("currency") != "zł":
            errors.append(f"product.{name}.currency must be zł")
        if price.get("vat_percent") != 0:
            errors.append(f"product.{name}.vat_percent must be 0 (amounts are net)")
        return errors

    def _store(self, item: dict[str, Any], shop: str, guid: str,
               existing: dict[str, Any] | None = None) -> dict[str, Any]:
        product = item["product"]
        now = _now()
        base = product["base_price"]
        vat = int(product["vat"].removeprefix("VAT"))
        amount = Decimal(base["amount"])
        gross = (amount * (100 + vat) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        unit = {"amount": amount, "vat": gross - amount, "vat0": amount, "vat_percent": vat,
                "currency": base["currency"], "gross": gross}
        stored = {
            "guid": guid, "owner_guid": shop, "type": "default",
            "name": product["name"], "brief": product.get("brief"), "desc": product.get("desc"),
            "sku": product.get("sku"), "vat": product["vat"],
            "base_price_type": product.get("base_price_type", "retail"),
            "base_price": copy.deepcopy(base), "cost_price": copy.deepcopy(product["cost_price"]),
            "price": {"base": unit, "final": dict(unit), "original": dict(unit)},
            "images": list(product.get("images", [])),
            "tag_guids": list(product.get("tag_guids", [])),
            "tags": list(product.get("tag_guids", [])),
            "data": copy.deepcopy(product.get("data", {})),
            "for_sale": item["for_sale"], "stock_level": item.get("stock_level"),
            "timestamps": {"created": existing["timestamps"]["created"] if existing else now},
            "created": existing["created"] if existing else now,
            "updated": now,
            "activated": now if item["for_sale"] else None,
            "archived": now if item["archived"] else None,
        }
        self._products[guid] = stored
        return copy.deepcopy(stored)

    # -- the DSL subset ------------------------------------------------------------------
    @staticmethod
    def _field(product: dict[str, Any], path: str) -> Any:
        value: Any = product
        for part in path.split("."):
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        return value

    def _compile_query(self, query: dict[str, Any]) -> Any:
        if not isinstance(query, dict) or len(query) != 1:
            raise ValueError("a query clause must be an object with one key")
        (kind, spec), = query.items()
        if kind == "match_all":
            return lambda p: True
        if kind == "bool":
            must = [self._compile_query(q) for q in self._clauses(spec, "must")]
            must += [self._compile_query(q) for q in self._clauses(spec, "filter")]
            must_not = [self._compile_query(q) for q in self._clauses(spec, "must_not")]
            return lambda p: (all(m(p) for m in must) and not any(m(p) for m in must_not))
        if kind in ("match", "term"):
            (field, wanted), = spec.items()
            if isinstance(wanted, dict):
                wanted = wanted.get("query", wanted.get("value"))
            return lambda p: self._equals(self._field(p, field), wanted)
        if kind == "terms":
            (field, values), = spec.items()
            if not isinstance(values, list):
                raise ValueError("terms needs a list")
            return lambda p: any(self._equals(self._field(p, field), v) for v in values)
        if kind == "exists":
            field = spec["field"]
            return lambda p: self._field(p, field) is not None
        raise ValueError(f"clause {kind!r} is not supported by the emulator")

    @staticmethod
    def _clauses(spec: dict[str, Any], key: str) -> list[dict[str, Any]]:
        value = spec.get(key, [])
        return value if isinstance(value, list) else [value]

    @staticmethod
    def _equals(value: Any, wanted: Any) -> bool:
        if isinstance(value, list):
            return any(str(v) == str(wanted) for v in value)
        return value is not None and str(value) == str(wanted)

    @staticmethod
    def _compile_sort(sort: Any) -> list[tuple[str, bool]]:
        keys = []
        for item in sort if isinstance(sort, list) else [sort]:
            if isinstance(item, str):
                keys.append((item, False))
                continue
            (field, order), = item.items()
            if isinstance(order, dict):
                order = order.get("order", "asc")
            if order not in ("asc", "desc"):
                raise ValueError(f"sort order {order!r}")
            keys.append((field, order == "desc"))
        return keys

    def _sorted(self, hits: list[dict[str, Any]], sort: list[tuple[str, bool]]
                ) -> list[dict[str, Any]]:
        for field, descending in reversed(sort):
            def by_field(product: dict[str, Any], name: str = field) -> str:
                return str(self._field(product, name) or "")

            hits = sorted(hits, key=by_field, reverse=descending)
        return hits

    def _after(self, product: dict[str, Any], sort: list[tuple[str, bool]],
               after: list[Any]) -> bool:
        for (field, descending), marker in zip(sort, after, strict=True):
            value, marker = str(self._field(product, field) or ""), str(marker)
            if value != marker:
                return value < marker if descending else value > marker
        return False

    # -- tags ----------------------------------------------------------------------------
    @route("POST", r"/webshops/(?P<shop>[0-9a-f-]{36})/tags/?")
    def create_tag(self, request: Request, shop: str) -> Response:
        """A shop tag; a name the shop already uses answers 409 naming the existing guid."""
        denied = self._own(request, shop)
        if denied:
            return denied
        body = _json(request)
        name = body.get("name") if isinstance(body, dict) else None
        kind = body.get("type", "variant") if isinstance(body, dict) else None
        if not isinstance(name, str) or not name.strip() or kind not in ("variant", "shop"):
            return Response.json({"message": "name and type (variant) are required"}, 400)
        with self._lock:
            for tag in self._tags.values():
                if tag["owner"] == shop and tag["name"] == name:
                    return Response.json(
                        {"message": f"Tag ({tag['guid']}) already exists"}, 409)
            guid = str(uuid.uuid5(TAG_NAMESPACE, f"{shop}:{kind}:{name}"))
            self._tags[guid] = {"guid": guid, "name": name, "type": kind, "owner": shop,
                                "parent_guid": None, "subtags": [], "active": True,
                                "images": []}
            view = self._tag_view(self._tags[guid], {})
        return Response.json(view, 201)

    @route("GET", r"/webshops/(?P<shop>[0-9a-f-]{36})/tags/?")
    def list_shop_tags(self, request: Request, shop: str) -> Response:
        """Every tag the shop owns, with the products that carry it."""
        denied = self._own(request, shop)
        return denied or Response.json(self.tags(shop))

    @route("DELETE", r"/webshops/(?P<shop>[0-9a-f-]{36})/tags/(?P<guid>[0-9a-f-]{36})/?")
    def delete_tag(self, request: Request, shop: str, guid: str) -> Response:
        """Delete a shop tag and take it off the shop's products."""
        denied = self._own(request, shop)
        if denied:
            return denied
        with self._lock:
            tag = self._tags.get(guid)
            if tag is None or tag["owner"] != shop:
                return Response.json({"message": "tag not found"}, 404)
            del self._tags[guid]
            for product in self._products.values():
                if guid in product["tag_guids"]:
                    product["tag_guids"].remove(guid)
                    product["tags"] = list(product["tag_guids"])
        return Response.json({"guid": guid, "deleted": True})

    @route("GET", r"/tags/?")
    def list_tags(self, request: Request) -> Response:
        """The Gateway's category tags (``?type=category``), or those plus the shop's own."""
        kind = request.arg("type")
        with self._lock:
            usage = self._tag_usage()
            listed = [self._tag_view(t, usage) for t in self._tags.values()
                      if t["owner"] in (None, request.shop_guid)  # type: ignore[attr-defined]
                      and (kind is None or t["type"] == kind)]
        return Response.json(listed)

    @route("GET", r"/bootstrap/?")
    def bootstrap(self, request: Request) -> Response:
        """``tag_hierarchy``: the category tree as ``{name, guid, children}``."""
        return Response.json({"tag_hierarchy": copy.deepcopy(self._tree)})

    # -- images --------------------------------------------------------------------------
    @route("POST", r"/downloads/?")
    def download(self, request: Request) -> Response:
        """Copy a public image into the bucket (or only record the URL when not fetching)."""
        body = _json(request)
        url = body.get("url") if isinstance(body, dict) else None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            return Response.json({"message": "url must be an http(s) URL"}, 400)
        if any(ord(ch) > 127 or ch == " " for ch in url):
            return Response.json({"message": "url must be percent-encoded"}, 400)
        shop = request.shop_guid  # type: ignore[attr-defined]
        with self._lock:
            self.downloads.append(url)
        if not self.fetch_downloads:
            digest = hashlib.sha1(url.encode()).hexdigest()  # noqa: S324 - a name, not security
            key = f"{shop}/dl-{digest}.bin"
            return Response.json({"url": f"{self.url}/bucket/{key}"})
        try:
            content_type, data = self._fetch(url)
        except (OSError, ValueError) as exc:
            return Response.json({"message": f"could not download {url}: {exc}"}, 422)
        digest = hashlib.sha1(data).hexdigest()  # noqa: S324 - content name, not security
        key = f"{shop}/{digest}{_extension(content_type)}"
        with self._lock:
            self._bucket[key] = (content_type, data)
        return Response.json({"url": f"{self.url}/bucket/{key}"})

    @staticmethod
    def _fetch(url: str) -> tuple[str, bytes]:
        request = urllib.request.Request(url, headers={"User-Agent": "gateway-emulator"})  # noqa: S310
        with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT) as answer:  # noqa: S310
            content_type = answer.headers.get_content_type()
            if not content_type.startswith("image/"):
                raise ValueError(f"not an image ({content_type})")
            data = answer.read(MAX_DOWNLOAD_BYTES + 1)
        if len(data) > MAX_DOWNLOAD_BYTES:
            raise ValueError("image larger than the download cap")
        return content_type, data

    @route("POST", r"/uploads/?")
    def presign(self, request: Request) -> Response:
        """An S3-style presigned POST into the bucket for ``filename``."""
        body = _json(request)
        filename = body.get("filename") if isinstance(body, dict) else None
        content_type = body.get("content_type") if isinstance(body, dict) else None
        if (not isinstance(filename, str) or not re.fullmatch(r"[\w.-]{1,200}", filename)
                or not isinstance(content_type, str) or not content_type.startswith("image/")):
            return Response.json({"message": "filename and an image/* content_type are "
                                             "required"}, 400)
        key = f"{request.shop_guid}/{filename}"  # type: ignore[attr-defined]
        policy = base64.b64encode(json.dumps({
            "key": key, "content_type": content_type,
            "expires": int(time.time()) + 3600}).encode()).decode()
        signature = hmac.new(self._bucket_secret, policy.encode(), hashlib.sha256).hexdigest()
        return Response.json({"url": f"{self.url}/bucket/", "fields": {
            "key": key, "Content-Type": content_type, "policy": policy,
            "x-amz-algorithm": "AWS4-HMAC-SHA256", "x-amz-signature": signature}})

    @route("POST", r"/bucket/?")
    def bucket_upload(self, request: Request) -> Response:
        """The fake bucket's presigned multipart POST: checks the policy, stores the file.

        Failures answer as S3 does, in XML, so the target's XML error handling is exercised.
        """
        try:
            fields = parse_multipart(request.body, request.header("content-type") or "")
        except ValueError as exc:
            return _s3_error(400, "MalformedPOSTRequest", f"bad multipart body: {exc}")
        policy = fields.get("policy", (None, None, b""))[2].decode()
        signature = fields.get("x-amz-signature", (None, None, b""))[2].decode()
        expected = hmac.new(self._bucket_secret, policy.encode(), hashlib.sha256).hexdigest()
        if not policy or not hmac.compare_digest(signature, expected):
            return _s3_error(403, "AccessDenied", "Invalid according to Policy: bad signature")
        terms = json.loads(base64.b64decode(policy))
        key = fields.get("key", (None, None, b""))[2].decode()
        if key != terms["key"] or terms["expires"] < time.time():
            return _s3_error(403, "AccessDenied", "Invalid according to Policy: key or expiry")
        if "file" not in fields:
            return _s3_error(400, "InvalidArgument", "POST requires exactly one file upload")
        data = fields["file"][2]
        if len(data) > MAX_DOWNLOAD_BYTES:
            return _s3_error(400, "EntityTooLarge",
                             "Your proposed upload exceeds the maximum allowed size")
        with self._lock:
            self._bucket[key] = (terms["content_type"], data)
        return Response(204, b"")

    @route("GET", r"/bucket/(?P<key>.+)")
    def bucket_get(self, request: Request, key: str) -> Response:
        """Serve a stored object, as the bucket's public URL would."""
        stored = self.bucket_object(key)
        if stored is None:
            return Response.json({"message": "NoSuchKey"}, 404)
        return Response(200, stored[1], content_type=stored[0])


_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _s3_error(status: int, code: str, message: str) -> Response:
    """An S3-style XML error answer."""
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>{html.escape(message)}</Message>"
            f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId></Error>")
    return Response(status, body.encode(), content_type="application/xml")


def _json(request: Request) -> Any:
    """The body as JSON, or None when it is not JSON (answered 400 by the callers)."""
    try:
        return request.json()
    except ValueError:
        return None


def _extension(content_type: str) -> str:
    return {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif",
            "image/webp": ".webp", "image/svg+xml": ".svg"}.get(content_type, ".img")


def parse_multipart(body: bytes, content_type: str) -> dict[str, tuple[str | None, str | None,
                                                                         bytes]]:
    """Parse multipart/form-data: field name -> (filename, content type, bytes).

    A small parser of our own: the stdlib ``cgi`` module is gone in Python 3.13 and the email
    parser mangles binary parts.
    """
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not content_type.startswith("multipart/form-data") or not match:
        raise ValueError("expected multipart/form-data with a boundary")
    delimiter = b"--" + match.group(1).encode()
    fields: dict[str, tuple[str | None, str | None, bytes]] = {}
    chunks = body.split(delimiter)
    if len(chunks) < 3:
        raise ValueError("no parts")
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk.removeprefix(b"\r\n").removesuffix(b"\r\n")
        head, sep, data = chunk.partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("a part without headers")
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        name_match = re.search(r'\bname="([^"]*)"', disposition)
        if not name_match:
            raise ValueError("a part without a name")
        file_match = re.search(r'\bfilename="([^"]*)"', disposition)
        fields[name_match.group(1)] = (file_match.group(1) if file_match else None,
                                       headers.get("content-type"), data)
    return fields


def main(argv: list[str] | None = None) -> None:
    """``python -m sandbox.gateway [--port P] [--shop GUID:KEYB64 ...]``."""
    parser = common_parser("gateway")
    parser.add_argument("--shop", action="append", default=[], metavar="GUID:KEYB64",
                        help="register a shop and its base64 signing key (repeatable); "
                             "the demo shop is always registered")
    parser.add_argument("--no-fetch-downloads", action="store_true",
                        help="/downloads/ only records URLs instead of fetching them")

    def factory(args: Any, switches: Switches) -> GatewayEmulator:
        shops = {}
        for spec in args.shop:
            guid, sep, key = spec.partition(":")
            if not sep:
                parser.error(f"--shop expects GUID:KEYB64, got {spec.split(':')[0]}...")
            shops[guid] = key
        return GatewayEmulator(shops, switches, seed=args.seed,
                               fetch_downloads=not args.no_fetch_downloads)

    run("gateway", factory, argv, parser)


if __name__ == "__main__":
    main()
