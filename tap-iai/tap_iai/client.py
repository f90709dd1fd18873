"""The Admin API's stream base: ``X-API-KEY``, the ``{"params": ...}`` search body, paging from
0, the "no results" fault, and IdoSell's error body.

Every product list is ``POST {shop_url}/api/admin/{api_version}/products/products/search``:

- ``resultsPage`` runs from **0** while ``resultsPage + 1 < resultsNumberPage``;
  ``resultsLimit`` is ``page_size`` (1-100); ``ordersBy`` is always ``id`` ascending (the
  default order is not promised), so paging is stable and rows shifted by a deletion come
  twice and are dropped by the kit's order guard;
- an empty search, or a page past the last, is not an empty list but the fault
  ``{"errors": {"faultCode": 2}}`` (HTTP 404 or 200): it ends paging and never fails a run;
- every other fault is ``{"errors": {"faultCode": n, "faultString": "..."}}``; the
  ``x-error`` header (Polish, sometimes double-encoded UTF-8) is read when there is no body.
"""

from __future__ import annotations

from collections.abc import Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import requests
from tapkit.errors import ApiErrors, json_body
from tapkit.paging import PageCountPaginator
from tapkit.rest import ApiStream

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context
    from singer_sdk.pagination import BaseAPIPaginator

    from tap_iai.tap import TapIAI

MAX_PAGE_SIZE = 100
NO_RESULTS = 2
#: what a product search returns (``returnElements``): only what the mapping reads
RETURN_ELEMENTS = ["lang_data", "code", "producer_name", "category_id", "category_name",
                   "retail_price", "vat", "vat_free", "pictures", "sizes", "sizes_attributes",
                   "quantities", "version_data", "parameters", "modification_time",
                   "quantity_changed_time", "price_changed_time", "adding_time", "visibility",
                   "url", "currency"]
STOCK_ELEMENTS = ["code", "sizes", "sizes_attributes", "quantities", "version_data",
                  "modification_time", "quantity_changed_time", "price_changed_time"]


def fault(body: Any) -> tuple[int, str] | None:
    """``(faultCode, faultString)`` of an IdoSell error body; None when there is none."""
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, dict) or "faultCode" not in errors:
        return None
    try:
        code = int(errors["faultCode"])
    except (TypeError, ValueError):
        return None
    return code, str(errors.get("faultString") or "")


def is_no_results(response: requests.Response) -> bool:
    """The "no results" fault (an empty search or a page past the last)."""
    if response.status_code not in (HTTPStatus.OK, HTTPStatus.MULTI_STATUS,
                                    HTTPStatus.NOT_FOUND):
        return False
    found = fault(json_body(response))
    return found is not None and found[0] == NO_RESULTS


def fix_mojibake(value: str) -> str:
    """``Å\x82`` -> ``ł``: UTF-8 read as Latin-1 once too often (IdoSell's ``x-error``)."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


class IdoSellErrors(ApiErrors):
    """IdoSell's wording: the fault body, the panel places to fix things."""

    platform = "IdoSell"
    url_hint = " (the shop's address, e.g. https://client1234.idosell.com)"
    access_hint = ("Give the API key read access to products (panel: Administracja > API > "
                   "Klucze dostępowe do Admin API).")

    def platform_error(self, response: requests.Response) -> tuple[str, str | None] | None:
        """``faultCode n: faultString``; else the ``x-error`` header of a JSON answer."""
        found = fault(json_body(response))
        if found is not None:
            return f"faultCode {found[0]}", found[1]
        header = response.headers.get("x-error")
        if header and json_body(response) is not None:
            return "x-error", fix_mojibake(header)
        return None


def pages_left(response: requests.Response, key: str = "resultsNumberPage") -> int:
    """For the 0-based paginator: the last page's number (``resultsNumberPage - 1``)."""
    body = json_body(response)
    try:
        return int(str(body.get(key))) - 1 if isinstance(body, dict) else -1
    except (TypeError, ValueError):
        return -1


class SearchStream(ApiStream[int]):
    """Base of the Admin API's product searches (``products``, ``stock``, version lookups)."""

    http_method = "POST"
    path = "/products/products/search"
    records_jsonpath = "$.results[*]"
    #: ``returnElements`` of the search
    elements: list[str] = RETURN_ELEMENTS

    @property
    def tap(self) -> TapIAI:
        """The tap (settings, errors, shared objects)."""
        return self.owning_tap

    @property
    def url_base(self) -> str:
        """``{shop_url}/api/admin/{api_version}``."""
        return f"{self.tap.shop_url}/api/admin/{self.tap.api_version}"

    @property
    def errors(self) -> IdoSellErrors:
        """The tap's classifier."""
        return self.tap.errors

    @property
    def http_headers(self) -> dict:
        """The key on every call; IdoSell answers JSON."""
        return {"X-API-KEY": str(self.config.get("api_key") or ""),
                "Accept": "application/json", "User-Agent": self.tap.user_agent}

    @property
    def timeout(self) -> int:
        """Seconds per request."""
        return 120

    @property
    def page_size(self) -> int:
        """``page_size``, 1 to 100."""
        return max(1, min(int(self.config.get("page_size") or MAX_PAGE_SIZE), MAX_PAGE_SIZE))

    def get_new_paginator(self) -> BaseAPIPaginator:
        """Pages 0..resultsNumberPage-1; the no-results fault has no count and ends it."""
        return PageCountPaginator(0, total_pages=pages_left, what=self.path)

    def search_params(self, context: Context | None) -> dict[str, Any]:
        """Filters of this search (``productDate``, ``productParams``...); none by default."""
        return {}

    def prepare_request_payload(self, context: Context | None, next_page_token: int | None
                                ) -> dict | None:
        """``{"params": {...}}`` with paging, order, elements and this search's filters."""
        params: dict[str, Any] = {
            "returnProducts": "active",
            "returnElements": list(self.elements),
            "ordersBy": [{"elementName": "id", "sortDirection": "ASC"}],
            "resultsPage": next_page_token or 0,
            "resultsLimit": self.page_size,
        }
        params.update(self.search_params(context))
        return {"params": params}

    def validate_response(self, response: requests.Response) -> None:
        """The no-results fault is an empty page; the rest as the kit classifies it."""
        if is_no_results(response):
            return
        super().validate_response(response)

    def unauthorized(self, response: requests.Response) -> Exception:
        """401: the key is wrong, expired or deleted."""
        return self.errors.credentials_refused(
            response, "api_key (panel: Administracja > API > Klucze dostępowe do Admin API)")

    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        """The page's products; nothing for the no-results fault."""
        if is_no_results(response):
            return
        yield from super().parse_response(response)


class ByIdSearch(SearchStream):
    """Products by id (``productParams``), for the versions of a group not on the page."""

    name = "_products_by_id"

    def __init__(self, tap: Any) -> None:
        super().__init__(tap, schema={"type": "object", "properties": {}})

    def search_params(self, context: Context | None) -> dict[str, Any]:
        """``productParams: [{"productId": ...}, ...]``."""
        return {"productParams": [{"productId": int(i) if str(i).isdigit() else i}
                                  for i in (context or {}).get("ids", [])]}

    def fetch(self, ids: list[str]) -> Iterable[dict[str, Any]]:
        """Every product of ``ids`` (in calls of at most 100 ids)."""
        for start in range(0, len(ids), MAX_PAGE_SIZE):
            yield from self.request_records({"ids": ids[start:start + MAX_PAGE_SIZE]})


class CategoryList(SearchStream):
    """``GET /products/categories``: the panel's categories, snake_case paging from 0."""

    name = "_categories"
    http_method = "GET"
    path = "/products/categories"
    records_jsonpath = "$.categories[*]"

    def __init__(self, tap: Any) -> None:
        super().__init__(tap, schema={"type": "object", "properties": {}})

    def get_new_paginator(self) -> BaseAPIPaginator:
        """Pages 0..results_number_page-1."""
        return PageCountPaginator(0, total_pages=lambda r: pages_left(r, "results_number_page"),
                                  what=self.path)

    def get_url_params(self, context: Context | None, next_page_token: int | None
                       ) -> dict[str, Any]:
        """``languages``, ``results_page``, ``results_limit``."""
        return {"languages": self.tap.language, "results_page": next_page_token or 0,
                "results_limit": MAX_PAGE_SIZE}

    def prepare_request_payload(self, context: Context | None, next_page_token: int | None
                                ) -> dict | None:
        """A GET: no body."""
        return None

    def fetch(self) -> Iterable[dict[str, Any]]:
        """Every category."""
        yield from self.request_records(None)
