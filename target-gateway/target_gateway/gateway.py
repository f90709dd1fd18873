"""THE Gateway client: auth, every route, every payload shape, retries. Nothing else builds URLs.

The Gateway's Swagger is unreachable from here; ``docs/gateway-api.md`` collects the
best evidence (the owners' notes and the client code their engineers ran in 2020). Whatever
that evidence only suggests is a named constant or a single function in this module, so
that aligning with the real API is a change to this one file:

- route spellings (``PRODUCTS_PREFIX``: the notes say ``webshop``, the code that ran said
  ``webshops``), the query route and its sort, where tag guids go (``TAG_GUIDS_FIELD``);
- the update of an existing product: nothing documents one, so :meth:`GatewayClient.
  update_product` uses ``POST /organizations/{org}/products/{guid}`` ("create at a chosen
  guid") as an upsert at the existing guid; if the real API differs, only that method changes;
- response shapes (a list or ``{"products"|"tags": [...]}``) are read leniently.

Errors are classified once: 429, 5xx and dropped connections are retriable; 401/403 are fatal
for the run (:class:`GatewayAuthError`); any other 4xx is a :class:`GatewayError` for that one
call. Retries go through ONE mechanism, the ``backoff`` package (what singer-sdk's own REST
streams use), in :meth:`GatewayClient._attempts`: ``Retry-After`` first (capped at
:data:`MAX_RETRY_WAIT`), else exponential backoff with jitter (capped at :data:`MAX_BACKOFF`),
at most ``max_retries`` retries and never past an overall deadline per call
(:data:`CALL_DEADLINE`, waits included). A batch create that failed in a way that may still
have succeeded on the server is reconciled (the shop is queried for the batch's source ids)
before the next attempt, so a retry never duplicates a product.

Every error message passes through the process-wide :data:`commerce_schema.redact.redact`
(the signing key and every bearer token minted here are registered with it), so an API that
echoes a credential back cannot put it into a log line or report.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
import warnings
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import backoff
import defusedxml.ElementTree as SafeXML
import jwt
import requests
from commerce_schema import jsonio
from commerce_schema.redact import redact
from commerce_schema.retry_after import retry_after_value
from defusedxml import DefusedXmlException
from jwt.warnings import InsecureKeyLengthWarning
from requests.adapters import HTTPAdapter

# Short shop keys are the shop's business; the target logs its own notice once instead.
warnings.filterwarnings("ignore", category=InsecureKeyLengthWarning)

#: Products of a shop. The owners' notes spell it ``/dashboard/webshop`` (singular); the
#: client code that ran against the development API used the plural.
PRODUCTS_PREFIX = "/dashboard/webshops"
QUERY_PATH = "/dashboard/webshop_products/_query"
#: The candidate update: "create new product" at a chosen guid, used as an upsert.
UPSERT_PATH = "/organizations/{shop}/products/{guid}"
DELETE_PATH = "/dashboard/webshops/{shop}/products/{guid}/"
SHOP_TAGS_PATH = "/webshops/{shop}/tags/"
TAG_PATH = "/webshops/{shop}/tags/{guid}/"
CATEGORY_TAGS_PATH = "/tags/?type=category"
BOOTSTRAP_PATH = "/bootstrap"
PRODUCT_TAGS_PATH = "/product_tags/{tag}"
DOWNLOADS_PATH = "/downloads/"
UPLOADS_PATH = "/uploads/"

#: Where a product's tag guids go (May 2020 client code); April 2020 notes said ``tags``.
TAG_GUIDS_FIELD = "tag_guids"
QUERY_SORT = [{"timestamps.created": "desc"}, {"guid": "asc"}]
QUERY_PAGE_SIZE = 100
#: the most pages one query reads when the Gateway gives no total (10 million products)
MAX_QUERY_PAGES = 100_000
CURRENCY = "zł"
USER_AGENT = "target-gateway/0.1"
MAX_RETRY_WAIT = 120.0
#: the largest answer read from the Gateway or its bucket; a query page of products is far
#: smaller, so anything bigger is a fault, never worth the memory
MAX_ANSWER_BYTES = 32 * 1024 * 1024
MAX_BACKOFF = 60.0
#: the most one call may take, retries and their waits included (each attempt is also bounded
#: by the request timeout); past it the last error is the call's answer
CALL_DEADLINE = 300.0
#: Failures after which a create may have happened anyway (no answer, or a proxy gave up
#: waiting): the batch is reconciled before a retry. 429/503 mean "not processed".
AMBIGUOUS_STATUSES = frozenset({None, 500, 502, 504})
_TAG_EXISTS = re.compile(r"\(([0-9a-fA-F-]{36})\)")

#: (platform, product_id, variant_id): how a Gateway product is matched to its source.
SourceKey = tuple[str, str, str]

logger = logging.getLogger("target-gateway.gateway")


class GatewayError(Exception):
    """A call that did not succeed; the message names the route and the API's answer."""

    def __init__(self, message: str, *, status: int | None = None, retriable: bool = False,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retriable = retriable
        self.retry_after = retry_after


class GatewayAuthError(GatewayError):
    """401/403: the shop guid or signing key is wrong; every further call would fail too."""


class ReconcileError(GatewayError):
    """A create may have landed and the shop could not be asked: never retried blind."""


class UnconfirmedError(GatewayError):
    """A create answered 2xx without the product, and a query does not find it either: the
    write is not confirmed (reported as failed; the next run finds it if it did land)."""


class QueryError(GatewayError):
    """The product query answered in a way that proves nothing about the end of the list
    (``size`` or ``search_after`` not honoured): what the shop has is unknown, so nothing may
    be created (it could duplicate products). Never retried."""


def mint_token(shop_guid: str, key: bytes, *, ttl: int = 0, now: float | None = None) -> str:
    """The HS256 JWT the docs describe, signed with the base64-decoded shop key.

    ``ttl`` > 0 adds ``iat``/``exp`` (not documented; off by default).
    """
    claims: dict[str, Any] = {"iss": f"shop:{shop_guid}", "organization_guid": shop_guid,
                              "groups": ["shopkeeper"]}
    if ttl > 0:
        issued = int(now if now is not None else time.time())
        claims.update(iat=issued, exp=issued + ttl)
    return jwt.encode(claims, key, algorithm="HS256")


# -- payload shapes --------------------------------------------------------------------------
@dataclass(frozen=True)
class ProductDraft:
    """One Gateway product (= one source variant) in neutral terms; see :func:`product_item`."""

    name: str
    desc: str
    brief: str
    sku: str | None
    vat_rate: int
    net_price: Decimal
    for_sale: bool
    stock_level: int | None
    images: tuple[str, ...]
    tag_guids: tuple[str, ...]
    options: dict[str, str] = field(default_factory=dict)
    source: dict[str, str] = field(default_factory=dict)
    image_sources: tuple[str, ...] = ()


#: characters no JSON body can carry as UTF-8 (lone surrogates) ...
_SURROGATES = re.compile("[\ud800-\udfff]")
#: ... and control characters a text column refuses (NUL) or a shop page cannot show
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def clean_text(text: str) -> str:
    """Text the Gateway can store: a lone surrogate becomes U+FFFD, control characters other
    than tab and line breaks are dropped. One product's broken text must not fail its batch
    (or, unencodable, crash the run) and then block every later run."""
    return _CONTROLS.sub("", _SURROGATES.sub("\ufffd", text))


def text_repaired(draft: ProductDraft) -> bool:
    """True when :func:`product_item` had to repair some of the draft's text."""
    texts = [draft.name, draft.desc, draft.brief, draft.sku or "",
             *draft.options, *draft.options.values()]
    return any(clean_text(text) != text for text in texts)


def product_item(draft: ProductDraft) -> dict[str, Any]:
    """The wire shape of one product: a batch-create element, also the update body.

    ``base_price.amount`` is the NET unit price with ``vat_percent`` 0 inside the price; the
    VAT class goes in ``vat`` as ``VAT<rate>``. The net is sent as the planner derived it from
    the gross (:func:`target_gateway.prices.net_for_gross`: 2 to 4 places), never re-rounded
    here: rounding it to 2 places is what made 158.00 zł show as 158.01. ``data.source``
    carries the source ids and content hash that make re-runs idempotent;
    ``data.image_sources`` remembers which source image each Gateway image came from, so a
    later run reuses it instead of copying again.
    """
    product: dict[str, Any] = {
        "name": clean_text(draft.name),
        "desc": clean_text(draft.desc),
        "brief": clean_text(draft.brief),
        "vat": f"VAT{draft.vat_rate}",
        "base_price_type": "retail",
        "base_price": {"currency": CURRENCY, "vat_percent": 0,
                       "amount": draft.net_price},
        "cost_price": {"currency": CURRENCY, "vat_percent": 0, "amount": Decimal("0.00")},
        "images": list(draft.images),
        TAG_GUIDS_FIELD: list(draft.tag_guids),
        "data": {"variants": {clean_text(k): clean_text(v) for k, v in draft.options.items()},
                 "source": dict(draft.source),
                 "image_sources": list(draft.image_sources)},
    }
    if draft.sku:
        product["sku"] = clean_text(draft.sku)
    item: dict[str, Any] = {"archived": False, "for_sale": draft.for_sale, "product": product}
    if draft.stock_level is not None:
        item["stock_level"] = draft.stock_level
    return item


def item_from_product(product: dict[str, Any]) -> dict[str, Any]:
    """The update body that recreates a product as the query returned it (for stock updates)."""
    base = product.get("base_price") or _price_unit(product.get("price"))
    cost = product.get("cost_price") or {"currency": CURRENCY, "vat_percent": 0, "amount": 0}
    body: dict[str, Any] = {
        key: product[key] for key in ("name", "desc", "brief", "sku", "vat", "base_price_type")
        if product.get(key) is not None}
    body.update(base_price=base, cost_price=cost, images=list(product.get("images") or []),
                data=dict(product.get("data") or {}))
    body[TAG_GUIDS_FIELD] = tag_guids_of(product)
    item: dict[str, Any] = {"archived": False, "for_sale": bool(product.get("for_sale", True)),
                            "product": body}
    if product.get("stock_level") is not None:
        item["stock_level"] = int(product["stock_level"])
    return item


def with_archived(item: dict[str, Any], archived: bool) -> dict[str, Any]:
    """A copy of a product item with the ``archived`` flag set (archive and restore go
    through the update route with the whole body, as for stock: no partial update is
    documented)."""
    return {**item, "archived": archived}


def with_stock_level(item: dict[str, Any], level: int | None) -> dict[str, Any]:
    """A copy of a product item with another ``stock_level`` (None leaves it out)."""
    changed = {**item}
    changed.pop("stock_level", None)
    if level is not None:
        changed["stock_level"] = level
    return changed


def _price_unit(price: Any) -> dict[str, Any]:
    unit = price.get("base") if isinstance(price, dict) else None
    if not isinstance(unit, dict):
        return {"currency": CURRENCY, "vat_percent": 0, "amount": 0}
    return {"currency": unit.get("currency") or CURRENCY, "vat_percent": 0,
            "amount": unit.get("vat0", unit.get("amount", 0))}


def tag_guids_of(product: dict[str, Any]) -> list[str]:
    """A product's tag guids, whether the API answers ``tag_guids`` or ``tags``."""
    tags = product.get(TAG_GUIDS_FIELD)
    if tags is None:
        tags = product.get("tags") or []
    return [t["guid"] if isinstance(t, dict) else str(t) for t in tags]


def source_of(product: dict[str, Any]) -> dict[str, Any] | None:
    """``data.source`` of a product this target made, else None."""
    data = product.get("data")
    source = data.get("source") if isinstance(data, dict) else None
    if isinstance(source, dict) and source.get("product_id") is not None \
            and source.get("variant_id") is not None:
        return source
    return None


def source_key(source: dict[str, Any]) -> SourceKey:
    """The matching key of a ``data.source`` object."""
    return (str(source.get("platform") or "unknown"), str(source["product_id"]),
            str(source["variant_id"]))


def percent_encode(url: str) -> str:
    """Percent-encode non-ASCII characters of a URL's path and query (the docs ask for it)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        host.encode("ascii")
    except UnicodeEncodeError:
        netloc = parts.netloc.replace(host, host.encode("idna").decode("ascii"))
    else:
        netloc = parts.netloc
    safe = "/%:@!$&'()*+,;=-._~"
    return urlunsplit((parts.scheme, netloc, quote(parts.path, safe=safe),
                       quote(parts.query, safe=safe + "?"), quote(parts.fragment, safe=safe)))


# -- the client ------------------------------------------------------------------------------
class GatewayClient:
    """One shop's view of the Gateway API over a pooled, thread-safe ``requests.Session``."""

    def __init__(self, api_url: str, shop_guid: str, key: bytes, *, timeout: float = 30,
                 max_retries: int = 5, backoff: float = 1.0, pool_size: int = 4,
                 token_ttl: int = 0, deadline: float = CALL_DEADLINE,
                 session: requests.Session | None = None) -> None:
        self.api_url = api_url.rstrip("/")
        self.shop_guid = shop_guid
        self._key = key
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.deadline = deadline
        self.token_ttl = token_ttl
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = threading.Lock()
        self.session = session or requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(pool_size, 1) + 2)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.session.headers["User-Agent"] = USER_AGENT

    # -- auth --------------------------------------------------------------------------------
    @property
    def token(self) -> str:
        """The current JWT, minted once (or re-minted before ``exp`` with a ttl)."""
        with self._token_lock:
            now = time.time()
            if self._token is None or (self.token_ttl and now > self._token_expires):
                self._token = mint_token(self.shop_guid, self._key, ttl=self.token_ttl, now=now)
                self._token_expires = now + self.token_ttl * 0.8
                redact.add(self._token)  # an API echoing it back must not leak it
            return self._token

    # -- transport ---------------------------------------------------------------------------
    def _url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.api_url + path

    def _once(self, method: str, path: str, *, body: Any = None, ok: Sequence[int],
              auth: bool, files: Any = None, data: Any = None) -> Any:
        """One attempt: the parsed answer, or a classified GatewayError."""
        headers = {"Accept": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token}"
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = jsonio.dumps(body).encode()
        label = f"{method} {urlsplit(self._url(path)).path}"
        try:
            answer = self.session.request(method, self._url(path), data=data, files=files,
                                          headers=headers, timeout=self.timeout,
                                          allow_redirects=False, stream=True)
            _read_capped(answer, label)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise GatewayError(f"{label}: {type(exc).__name__} (connection dropped or timed "
                               "out)", retriable=True) from None
        status = answer.status_code
        if status in ok:
            return _parse(answer)
        detail = redact(_detail(answer))[:300]  # before truncation, which would leave a part
        if status == 429 or status >= 500:
            raise GatewayError(f"{label} answered {status}: {detail}", status=status,
                               retriable=True, retry_after=retry_after_value(
                                   answer.headers.get("Retry-After"), cap=MAX_RETRY_WAIT))
        if status in (401, 403) and auth:
            raise GatewayAuthError(f"{label} answered {status}: {detail} (check shop_guid and "
                                   "signing_key)", status=status)
        raise GatewayError(f"{label} answered {status}: {detail}", status=status)

    def _attempts(self, retries: int | None = None) -> Iterator[backoff.Attempt]:
        """The one retry mechanism: attempts of a call, for ``with attempt:`` blocks.

        A retriable :class:`GatewayError` is retried after ``Retry-After`` (capped) or
        exponential backoff, at most ``retries`` (default ``max_retries``) times and within
        ``deadline`` seconds; anything else, or the last failure, propagates.
        """
        limit = self.max_retries if retries is None else retries
        return backoff.retry_context(
            GatewayError, self._waits, max_tries=limit + 1, max_time=self.deadline,
            jitter=None, giveup=lambda exc: not getattr(exc, "retriable", False),
            on_backoff=lambda details: logger.info(
                "retry %d/%d in %.2f s: %s", details["tries"], limit, details["wait"],
                details.get("exception")),
            logger=None)

    def _waits(self) -> Generator[float, GatewayError | None, None]:
        """backoff's wait generator: it is sent each failure and yields the wait before the
        next attempt (jitter is applied here, to the exponential waits only)."""
        error = yield 0.0  # priming: backoff sends None first and ignores this value
        attempt = 0
        while True:
            if error is not None and error.retry_after is not None:
                wait = min(error.retry_after, MAX_RETRY_WAIT)
            else:
                wait = min(self.backoff * 2 ** attempt, MAX_BACKOFF) * random.uniform(0.5, 1.0)
            attempt += 1
            error = yield wait

    def _call(self, method: str, path: str, body: Any = None, *, ok: Sequence[int] = (200, 201),
              auth: bool = True, retries: int | None = None, **kwargs: Any) -> Any:
        """A call with retries of retriable failures (see :meth:`_attempts`)."""
        for attempt in self._attempts(retries):
            with attempt:
                return self._once(method, path, body=body, ok=ok, auth=auth, **kwargs)
        raise AssertionError("unreachable: the attempts end in a return or the last error")

    # -- products ----------------------------------------------------------------------------
    def _query(self, extra: Iterable[dict[str, Any]] = (), page_size: int = QUERY_PAGE_SIZE
               ) -> Iterator[dict[str, Any]]:
        """Every product of the shop matching the clauses, page by page to the end.

        The end is believed only when the answers prove it, because a list read short makes
        every product past the cut look new, and the run would create them all again: the
        Gateway's ``total`` is reached exactly, or (without a total) a short page is followed
        by an empty one. A page longer than ``size``, a product answered twice (``search_after``
        ignored), a cursor that does not move, or a short page before the total raise
        :class:`QueryError` instead.
        """
        query = {"bool": {"must": [{"match": {"owner_guid": self.shop_guid}}, *extra],
                          "must_not": [{"exists": {"field": "archived"}}]}}
        seen: set[str] = set()
        search_after: list[Any] | None = None
        offset = 0
        total: int | None = None
        short = False  # the last page was short and no total says whether it was the end
        for number in range(1, MAX_QUERY_PAGES + 1):
            dsl: dict[str, Any] = {"size": page_size, "sort": QUERY_SORT, "query": query}
            if search_after is not None:
                dsl["search_after"] = search_after
            elif offset:
                dsl["from"] = offset
            answer = self._call("POST", QUERY_PATH, {"dsl": dsl}, ok=(200,))
            page = _listed(answer, "products")
            counted = _total(answer)
            total = counted if counted is not None else total
            where = f"page {number} of the product query"
            if short and page:
                raise QueryError(f"{where}: a short page was not the end ({len(page)} more "
                                 f"products followed it); the Gateway caps `size` below "
                                 f"{page_size}")
            if len(page) > page_size:
                raise QueryError(f"{where} holds {len(page)} products where {page_size} were "
                                 "asked for: the Gateway does not honour `size`")
            for product in page:
                guid = str(product.get("guid") or "")
                if not guid:
                    raise QueryError(f"{where} holds a product without a guid")
                if guid in seen:
                    raise QueryError(f"{where} repeats product {guid}: the Gateway does not "
                                     "honour `search_after` (or the list changed while it "
                                     "was read)")
                seen.add(guid)
            yield from page
            if total is not None:
                if len(seen) > total:
                    raise QueryError(f"{where}: {len(seen)} products read, more than the "
                                     f"{total} the Gateway counts")
                if len(seen) == total:
                    return
                if len(page) < page_size:
                    raise QueryError(
                        f"{where} holds {len(page)} products where {page_size} were asked "
                        f"for, after {len(seen)} of the {total} the Gateway counts: the "
                        "Gateway caps or ignores `size`")
            elif not page:
                return
            elif len(page) < page_size:
                short = True  # asked once more: only an empty page proves the end
            last = page[-1]
            created = (last.get("timestamps") or {}).get("created")
            if created is not None:
                cursor = [created, last["guid"]]
                if cursor == search_after:
                    raise QueryError(f"{where}: the cursor did not advance")
                search_after = cursor
            else:
                search_after, offset = None, offset + len(page)
        raise QueryError(f"the product query did not end after {MAX_QUERY_PAGES} pages")

    def iter_products(self) -> Iterator[dict[str, Any]]:
        """Every live (not archived) product the shop has."""
        return self._query()

    def find_products(self, variant_ids: Iterable[str]) -> list[dict[str, Any]]:
        """Live products whose ``data.source.variant_id`` is one of these."""
        ids = sorted({str(v) for v in variant_ids})
        return list(self._query([{"terms": {"data.source.variant_id": ids}}])) if ids else []

    def create_products(self, items: Sequence[tuple[SourceKey, dict[str, Any]]]
                        ) -> dict[SourceKey, dict[str, Any] | GatewayError]:
        """Batch create; per source key the created product or the error for that product.

        Retried through :meth:`_attempts` like every call, with one addition: after a failure
        that may have landed anyway (:data:`AMBIGUOUS_STATUSES`) the next attempt first asks
        the shop which of the batch's products exist (create-then-reconcile) and sends only
        the others, so a retry never duplicates a product. A 4xx for a batch is retried
        product by product, so that one bad product fails alone.
        """
        results: dict[SourceKey, dict[str, Any] | GatewayError] = {}
        pending = list(items)
        maybe_landed = False
        try:
            for attempt in self._attempts():
                with attempt:
                    if maybe_landed:
                        landed = self._reconcile(pending)
                        results.update(landed)
                        pending = [(k, i) for k, i in pending if k not in landed]
                        if not pending:
                            return results
                    try:
                        answer = self._once("POST", f"{PRODUCTS_PREFIX}/{self.shop_guid}/products",
                                            body={"products": [item for _, item in pending]},
                                            ok=(200, 201), auth=True)
                    except GatewayError as exc:
                        maybe_landed = exc.retriable and exc.status in AMBIGUOUS_STATUSES
                        raise
                    results.update(self._confirm(pending, answer))
                    return results
        except GatewayAuthError:
            raise
        except GatewayError as exc:
            if not exc.retriable and not isinstance(exc, ReconcileError) and len(pending) > 1:
                for one in pending:
                    results.update(self.create_products([one]))
                return results
            results.update((key, exc) for key, _ in pending)
        return results

    def _confirm(self, pending: Sequence[tuple[SourceKey, dict[str, Any]]], answer: Any
                 ) -> dict[SourceKey, dict[str, Any] | GatewayError]:
        """The created product per source key, from a 2xx answer; for products the answer
        does not hold (an HTML page, an empty list or body), the shop is asked (reconcile)
        and what it does not have either is an :class:`UnconfirmedError`."""
        matched = _match_created(pending, _listed(answer, "products"))
        results: dict[SourceKey, dict[str, Any] | GatewayError] = dict(matched)
        missing = [(key, item) for key, item in pending if not matched[key].get("guid")]
        if not missing:
            return results
        what = ("an empty body" if answer is None or answer == "" else
                "a body that is not JSON" if isinstance(answer, str) else
                f"an answer without {len(missing)} of the {len(pending)} products")
        logger.warning("the Gateway answered a create with %s; asking the shop whether the "
                       "products landed", what)
        try:
            landed = self._reconcile(missing)
            why = "the shop's products do not include it either"
        except ReconcileError as exc:
            landed, why = {}, str(exc)
        for key, _ in missing:
            results[key] = landed.get(key) or UnconfirmedError(
                f"the create was answered with {what} and is not confirmed ({why})")
        return results

    def _reconcile(self, pending: Sequence[tuple[SourceKey, dict[str, Any]]]
                   ) -> dict[SourceKey, dict[str, Any]]:
        """The batch's products that landed; ReconcileError (not retried) when the shop cannot
        be asked, since sending the batch again blind could duplicate them."""
        wanted = {key for key, _ in pending}
        landed = {}
        try:
            found = self.find_products(key[2] for key in wanted)
        except GatewayAuthError:
            raise
        except GatewayError as exc:
            raise ReconcileError(f"could not check whether a failed create landed: {exc}",
                                 status=exc.status) from None
        for product in found:
            source = source_of(product)
            if source is not None and source_key(source) in wanted:
                landed[source_key(source)] = product
        if landed:
            logger.info("%d products of a failed batch had landed; not sending them again",
                        len(landed))
        return landed

    def update_product(self, guid: str, item: dict[str, Any]) -> dict[str, Any]:
        """Replace an existing product's fields (THE update; see the module docstring)."""
        answer = self._call("POST", UPSERT_PATH.format(shop=self.shop_guid, guid=guid), item)
        return answer if isinstance(answer, dict) else {"guid": guid}

    def delete_product(self, guid: str) -> None:
        """Delete (archive) a product."""
        self._call("DELETE", DELETE_PATH.format(shop=self.shop_guid, guid=guid),
                   ok=(200, 202, 204))

    # -- archive and restore -----------------------------------------------------------------
    def find_archived(self, variant_ids: Iterable[str] | None = None, *,
                      size: int = QUERY_PAGE_SIZE) -> list[dict[str, Any]]:
        """ARCHIVED products this target made (``data.source`` set), one page of at most
        ``size``: those whose ``data.source.variant_id`` is one of ``variant_ids``, or any
        when None (a probe: does the shop have any to restore at all?).

        Archiving is the update route with ``archived: true`` (:func:`with_archived`), and
        the live query leaves archived products out, so a variant that comes back is found
        here and restored at its old guid instead of created twice.
        """
        clauses: list[dict[str, Any]] = [{"match": {"owner_guid": self.shop_guid}},
                                         {"exists": {"field": "archived"}},
                                         {"exists": {"field": "data.source.variant_id"}}]
        if variant_ids is not None:
            ids = sorted({str(v) for v in variant_ids})
            if not ids:
                return []
            clauses.append({"terms": {"data.source.variant_id": ids}})
        dsl = {"size": size, "sort": QUERY_SORT, "query": {"bool": {"must": clauses}}}
        return _listed(self._call("POST", QUERY_PATH, {"dsl": dsl}, ok=(200,)), "products")

    # -- read-only calls of the preflight (nothing is written) -------------------------------
    def bootstrap(self) -> Any:
        """The raw answer of ``GET /bootstrap`` (the category tree is in ``tag_hierarchy``)."""
        return self._call("GET", BOOTSTRAP_PATH, ok=(200,), retries=0)

    def shop_tags_answer(self) -> Any:
        """The raw answer of ``GET /webshops/{shop}/tags/``."""
        return self._call("GET", SHOP_TAGS_PATH.format(shop=self.shop_guid), ok=(200,),
                          retries=0)

    def query_page(self, size: int, search_after: list[Any] | None = None) -> Any:
        """The raw answer of ONE page of the live-products query the target pages through."""
        dsl: dict[str, Any] = {"size": size, "sort": QUERY_SORT, "query": {"bool": {
            "must": [{"match": {"owner_guid": self.shop_guid}}],
            "must_not": [{"exists": {"field": "archived"}}]}}}
        if search_after is not None:
            dsl["search_after"] = search_after
        return self._call("POST", QUERY_PATH, {"dsl": dsl}, ok=(200,), retries=0)

    def presign_upload(self, filename: str, content_type: str) -> Any:
        """The raw answer of ``POST /uploads/``: a presigned POST. Nothing is uploaded, so
        nothing is stored (the upload itself is a second call, never made here)."""
        return self._call("POST", UPLOADS_PATH,
                          {"filename": filename, "content_type": content_type}, retries=0)

    # -- tags --------------------------------------------------------------------------------
    def list_shop_tags(self) -> list[dict[str, Any]]:
        """Every tag the shop owns (variant groups among them)."""
        return _listed(self._call("GET", SHOP_TAGS_PATH.format(shop=self.shop_guid),
                                  ok=(200,)), "tags")

    def create_tag(self, name: str, kind: str = "variant") -> tuple[str, bool]:
        """(guid, created). A 409 "Tag (<guid>) already exists" gives (that guid, False)."""
        try:
            answer = self._call("POST", SHOP_TAGS_PATH.format(shop=self.shop_guid),
                                {"name": name, "type": kind})
        except GatewayError as exc:
            match = _TAG_EXISTS.search(str(exc)) if exc.status == 409 else None
            if match:
                return match.group(1).lower(), False
            raise
        return str(answer["guid"]), True

    def delete_tag(self, guid: str) -> None:
        """Delete a shop tag."""
        self._call("DELETE", TAG_PATH.format(shop=self.shop_guid, guid=guid), ok=(200, 204))

    def set_product_tags(self, tag_guid: str, add: Iterable[str] = (),
                         delete: Iterable[str] = ()) -> None:
        """Add or remove one tag on existing products."""
        self._call("PUT", PRODUCT_TAGS_PATH.format(tag=tag_guid),
                   {"add": list(add), "delete": list(delete)}, ok=(200, 204))

    def category_tree(self) -> list[dict[str, Any]]:
        """The Gateway's category hierarchy: ``[{name, guid, children}]``."""
        answer = self._call("GET", BOOTSTRAP_PATH, ok=(200,))
        tree = answer.get("tag_hierarchy") if isinstance(answer, dict) else None
        return tree if isinstance(tree, list) else []

    def category_tags(self) -> list[dict[str, Any]]:
        """The Gateway's category tags, flat (``parent_guid`` links them)."""
        return _listed(self._call("GET", CATEGORY_TAGS_PATH, ok=(200,)), "tags")

    # -- images ------------------------------------------------------------------------------
    def copy_image(self, url: str) -> str:
        """Let the Gateway copy a public image; its URL in the Gateway's bucket."""
        answer = self._call("POST", DOWNLOADS_PATH, {"url": percent_encode(url)})
        return str(answer["url"])

    def upload_image(self, filename: str, content_type: str, content: bytes) -> str:
        """Upload bytes through the presigned-POST flow; the image's final URL."""
        signed = self._call("POST", UPLOADS_PATH,
                            {"filename": filename, "content_type": content_type})
        url, fields = str(signed["url"]), dict(signed["fields"])
        self._call("POST", url, auth=False, ok=(200, 201, 204), data=fields,
                   files={"file": (filename, content, content_type)})
        key = str(fields["key"])
        return url + key if url.endswith("/") else f"{url}/{key}"


def _read_capped(answer: requests.Response, label: str) -> None:
    """Read the body, at most :data:`MAX_ANSWER_BYTES` (then the answer is a retriable fault).

    ``stream=True`` plus this keeps a broken or hostile endpoint from making the target hold
    an unbounded body in memory; the body is then cached on the response as usual.
    """
    try:
        body = answer.raw.read(MAX_ANSWER_BYTES + 1, decode_content=True)
    finally:
        answer.close()
    if len(body) > MAX_ANSWER_BYTES:
        raise GatewayError(f"{label}: the answer is larger than {MAX_ANSWER_BYTES} bytes",
                           retriable=True)
    answer._content = body  # what requests itself does when it reads a body


def _xml_error(text: str) -> str | None:
    """``Code: Message`` of an S3-style XML error (what a bucket answers a failed upload).

    Parsed with defusedxml and no DTD allowed: an error body that declares entities (an
    external-entity or entity-expansion attack) is refused unread, never expanded.
    """
    head = text.lstrip()[:64]
    if not head.startswith("<"):
        return None
    try:
        root = SafeXML.fromstring(text.encode(), forbid_dtd=True)
    except DefusedXmlException:
        return "an XML error body declaring a DTD or entities (refused unread)"
    except SafeXML.ParseError:
        return "a malformed XML error body"
    code = (root.findtext("Code") or "").strip()
    message = (root.findtext("Message") or "").strip()
    return ": ".join(part for part in (code, message) if part) or f"<{root.tag}> error"


def _parse(answer: requests.Response) -> Any:
    if not answer.content:
        return None
    try:
        return jsonio.loads(answer.content)
    except ValueError:
        return answer.text


def _detail(answer: requests.Response) -> str:
    try:
        body = answer.json()
    except ValueError:
        text = answer.text or ""
        return (_xml_error(text) or text or answer.reason or "").strip()[:2000]
    if isinstance(body, dict):
        parts = [str(body.get(k)) for k in ("message", "error", "error_description")
                 if body.get(k)]
        if isinstance(body.get("errors"), list):
            parts.append("; ".join(map(str, body["errors"][:10])))
        return (" ".join(parts) or str(body))[:2000]
    return str(body)[:2000]


def _listed(answer: Any, key: str) -> list[dict[str, Any]]:
    """A list answer, or the list under ``key`` of an object answer."""
    if isinstance(answer, list):
        return answer
    if isinstance(answer, dict) and isinstance(answer.get(key), list):
        return answer[key]
    return []


def _total(answer: Any) -> int | None:
    """The query's count of matching products: ``total`` as a number or Elasticsearch's
    ``{"value": n, "relation": "eq"}`` (a lower bound, ``gte``, is no count)."""
    total = answer.get("total") if isinstance(answer, dict) else None
    if isinstance(total, dict):
        total = total.get("value") if total.get("relation", "eq") == "eq" else None
    return total if isinstance(total, int) and not isinstance(total, bool) else None


def _match_created(pending: Sequence[tuple[SourceKey, dict[str, Any]]],
                   created: list[dict[str, Any]]) -> dict[SourceKey, dict[str, Any]]:
    """Created products per source key: by their ``data.source``, else by position."""
    by_key: dict[SourceKey, dict[str, Any]] = {}
    for product in created:
        source = source_of(product)
        if source is not None:
            by_key[source_key(source)] = product
    results: dict[SourceKey, dict[str, Any]] = {}
    for position, (key, _item) in enumerate(pending):
        found = by_key.get(key)
        if found is None:
            found = created[position] if position < len(created) else {}
        results[key] = found
    return results
