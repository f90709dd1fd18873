"""Magento's REST API as the tap reads it: ``searchCriteria``, paging that stops, errors.

Every list call is ``GET {store_url}/rest/{store_code}/V1/<path>?searchCriteria[...]``:

- filters in bracket form (groups AND, filters inside a group OR), always an explicit sort;
- ``fields=items[...],total_count`` trims the answer to what the mapping reads;
- paging stops on ``total_count``, never on an empty page: Magento 2.3 and earlier answer a
  page past the end with the last page again. Product sweeps use a key cursor instead of
  page numbers (:func:`keyset_pages`), so a product edited while the run reads does not
  shift another one off a page unseen.

Errors are Magento's ``{"message": "...%1...", "parameters": ...}``: the message is shown with
its parameters filled in (masked, cut short); HTML (a WAF, maintenance mode) is never taken
for data. A 401 renews an admin token once, else it names the settings to check.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import requests
from commerce_schema.redact import redact
from singer_sdk.exceptions import FatalAPIError
from singer_sdk.pagination import BaseAPIPaginator, SinglePagePaginator
from tapkit.errors import ApiErrors, PagingError, RetryNowError
from tapkit.paging import PageCountPaginator
from tapkit.rest import ApiStream

if TYPE_CHECKING:
    from singer_sdk.streams.rest import HTTPRequest, PageContext

    from tap_magento.auth import MagentoAuth

#: Magento's largest page when "Web API input limits" are on; also the tap's maximum
MAX_PAGE_SIZE = 300
DEFAULT_PAGE_SIZE = 100
#: no sweep issues more requests than this (a million rows at the smallest page)
MAX_REQUESTS_PER_SWEEP = 1_000_000


class MagentoErrors(ApiErrors):
    """Magento's error body and wording."""

    platform = "Magento"
    url_setting = "store_url"
    url_hint = " (the store's base address, e.g. https://shop.example.com)"
    access_hint = ("Allow the integration (or the admin user's role) the Catalog, Stores and "
                   "Inventory resources in Magento's admin.")

    def platform_error(self, response: requests.Response) -> tuple[str, str | None] | None:
        """``("", message with its %parameters filled in)`` from Magento's JSON (Magento's
        errors have no code: the kit's ``describe`` then reads ``401 Unauthorized: ...``)."""
        body = self.json_body(response)
        if not isinstance(body, dict) or not isinstance(body.get("message"), str):
            return None
        return "", fill_parameters(body["message"], body.get("parameters"))


def fill_parameters(message: str, parameters: Any) -> str:
    """Magento's ``%1`` / ``%name`` placeholders filled from ``parameters``."""
    if isinstance(parameters, list):
        for number, value in reversed(list(enumerate(parameters, start=1))):
            message = message.replace(f"%{number}", str(value))
    elif isinstance(parameters, dict):
        for name in sorted(parameters, key=len, reverse=True):
            message = message.replace(f"%{name}", str(parameters[name]))
    return message


# -- searchCriteria ----------------------------------------------------------------------------
Filter = tuple[str, str, Any]  # (field, condition, value)



def search_params(groups: Iterable[Iterable[Filter]] = (), *,
                  sort: Iterable[tuple[str, str]] = (), page_size: int | None = None,
                  page: int | None = None, fields: str | None = None) -> dict[str, Any]:
    """Query parameters of a search: ``groups`` are ANDed, the filters inside one ORed."""
    params: dict[str, Any] = {}
    for g, group in enumerate(groups):
        for f, (field, condition, value) in enumerate(group):
            if isinstance(value, (list, tuple, set)):
                value = ",".join(str(v) for v in value)
            prefix = f"searchCriteria[filter_groups][{g}][filters][{f}]"
            params[f"{prefix}[field]"] = field
            params[f"{prefix}[value]"] = str(value)
            params[f"{prefix}[condition_type]"] = condition
    for s, (field, direction) in enumerate(sort):
        params[f"searchCriteria[sortOrders][{s}][field]"] = field
        params[f"searchCriteria[sortOrders][{s}][direction]"] = direction
    if page_size:
        params["searchCriteria[pageSize]"] = page_size
        params["searchCriteria[currentPage]"] = page or 1
    if not params:
        params["searchCriteria"] = ""  # required, and empty means "everything"
    if fields:
        params["fields"] = fields
    return params


def total_count(response: requests.Response) -> int:
    """``total_count`` of a list answer (0 when absent)."""
    try:
        body = response.json()
    except ValueError:
        return 0
    try:
        return int(body.get("total_count") or 0) if isinstance(body, dict) else 0
    except (TypeError, ValueError):
        return 0


# -- streams -------------------------------------------------------------------------------
class MagentoStream(ApiStream[Any]):
    """Base of every Magento call: URL, session, auth, errors, timeouts."""

    @property
    def magento(self) -> Any:
        """The tap (a ``TapMagento``; typed loosely to avoid an import cycle)."""
        return self.owning_tap

    @property
    def url_base(self) -> str:
        """``{store_url}/rest/{store_code}/V1``."""
        return f"{self.magento.store_url}/rest/{self.magento.store_code}/V1"

    @property
    def errors(self) -> ApiErrors:
        """The tap's classifier."""
        return self.magento.errors

    @property
    def authenticator(self) -> MagentoAuth:
        """The tap's one set of credentials (applied anew on every try)."""
        return self.magento.auth

    @property
    def requests_session(self) -> requests.Session:
        """One session (connection pool) for the whole run."""
        return self.magento.session

    @property
    def http_headers(self) -> dict:
        """Magento answers JSON when asked to."""
        return {"Accept": "application/json"}

    @property
    def timeout(self) -> int:
        """Seconds per request."""
        return 120

    @property
    def page_size(self) -> int:
        """``page_size`` within 1..300."""
        return max(1, min(int(self.config.get("page_size") or DEFAULT_PAGE_SIZE),
                          MAX_PAGE_SIZE))

    def unauthorized(self, response: requests.Response) -> Exception:
        """401: renew an admin token once; else say which settings were refused."""
        auth = self.authenticator
        if auth.renew(response):
            return RetryNowError(f"admin token renewed ({self.errors.describe(response)})",
                                 response)
        refused = self.errors.credentials_refused(response, auth.settings)
        return type(refused)(f"{refused}".rstrip(".") + f"{auth.hint}.")


class MagentoResource(MagentoStream):
    """A Magento resource the tap reads for its own use (not emitted): the whole JSON answer
    of each page is one "record"."""

    records_jsonpath = "$"

    def __init__(self, tap: Any, path: str) -> None:
        name = "_" + path.strip("/").replace("/", "_").replace("-", "_")
        super().__init__(tap, name=name, schema={"type": "object", "properties": {}},
                         path=path)

    def get_new_paginator(self) -> BaseAPIPaginator | None:
        """Set per call by :meth:`pages` (page numbers) or :meth:`get` (one request)."""
        return self._paginator_factory() if self._paginator_factory else SinglePagePaginator()

    _paginator_factory: Callable[[], BaseAPIPaginator] | None = None

    def get_http_request(self, *, page: PageContext) -> HTTPRequest:
        """The context's parameters; the page number in Magento's place when paging."""
        request = super().get_http_request(page=page)
        params = dict((page.stream_context or {}).get("params") or {})
        if self._paginator_factory is not None and "searchCriteria[pageSize]" in params:
            params["searchCriteria[currentPage]"] = page.next_page_token or 1
        request.params.update(params)
        return request

    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        """The whole answer (an object, a list or a bare value)."""
        yield response.json()

    def get(self, params: dict[str, Any] | None = None) -> Any:
        """One request: its JSON answer."""
        self._paginator_factory = None
        answers = list(self.request_records({"params": params or {}}))
        return answers[0] if answers else None

    def pages(self, params: dict[str, Any], page_size: int) -> Iterator[dict[str, Any]]:
        """Every page of a page-numbered list, up to ``total_count`` (never past it)."""
        self._paginator_factory = lambda: PageCountPaginator(
            1, total_pages=lambda r: math.ceil(total_count(r) / page_size),
            what=f"{self.path}")
        try:
            for body in self.request_records({"params": params}):
                if isinstance(body, dict):
                    yield body
        finally:
            self._paginator_factory = None

    def items(self, params: dict[str, Any], page_size: int) -> Iterator[dict[str, Any]]:
        """Every item of every page (list answers' ``items``)."""
        for body in self.pages(params, page_size):
            yield from (i for i in body.get("items") or [] if isinstance(i, dict))


def row_id(row: dict[str, Any]) -> int:
    """A product row's entity id; a row without one means the answer is broken (fatal, so
    the bookmark does not move past rows that were never read)."""
    try:
        return int(str(row["id"]))
    except (KeyError, TypeError, ValueError):
        raise FatalAPIError(
            "Magento answered /V1/products with a row that has no valid id "
            f"({redact(str(row))[:80]}); the answer is broken, try again later") from None


def keyset_pages(fetch: Callable[[list[list[Filter]], int], dict[str, Any]],
                 filters: list[list[Filter]], *, page_size: int,
                 since: str | None = None, by_updated_at: bool = True,
                 ) -> Iterator[list[dict[str, Any]]]:
    """Product rows page by page, each exactly once, ordered by (``updated_at``,) entity id.

    ``fetch(filters, page)`` answers one search sorted that way. Instead of page numbers over
    one fixed query (a row edited meanwhile moves to the end and shifts a neighbour off its
    page unseen), every query starts at the last row read: ``updated_at >= T`` (or
    ``entity_id > L``), and rows already read at exactly ``T`` are dropped. Only when a whole
    page shares one ``updated_at`` does the page number advance within that query. A query is
    done when its ``total_count`` is covered, never on an empty page (Magento 2.3 repeats the
    last page past the end).
    """
    cursor_time, cursor_id = since, 0
    seen_at_cursor: set[int] = set()
    page = 1
    for _ in range(MAX_REQUESTS_PER_SWEEP):
        extra: list[list[Filter]]
        if by_updated_at:
            extra = [[("updated_at", "gteq", cursor_time)]] if cursor_time else []
        else:
            extra = [[("entity_id", "gt", cursor_id)]] if cursor_id else []
        body = fetch([*filters, *extra], page)
        rows = [r for r in body.get("items") or [] if isinstance(r, dict)]
        total = int(body.get("total_count") or 0)
        fresh = []
        for row in rows:
            rid = row_id(row)
            if by_updated_at:
                stamp = str(row.get("updated_at") or "")
                if cursor_time and stamp < cursor_time:
                    continue  # the filter was ignored: never go back
                if stamp == cursor_time and rid in seen_at_cursor:
                    continue
            elif rid <= cursor_id:
                continue
            fresh.append(row)
        if fresh:
            yield fresh
        if not rows or (page - 1) * page_size + len(rows) >= total:
            return
        last = rows[-1]
        if by_updated_at:
            stamp = str(last.get("updated_at") or "")
            same = {row_id(r) for r in rows
                    if str(r.get("updated_at") or "") == stamp}
            if cursor_time and stamp < cursor_time:
                raise PagingError("Magento answered the product list out of order (updated_at "
                                  f"{stamp} after {cursor_time}); stopped instead of losing "
                                  "rows")
            if stamp != cursor_time:
                cursor_time, seen_at_cursor, page = stamp, same, 1
            else:
                seen_at_cursor |= same
                page += 1
        else:
            newest = row_id(last)
            if newest <= cursor_id:
                raise PagingError("Magento answered the product list out of order (entity "
                                  f"ids not ascending after {cursor_id}); stopped instead of "
                                  "losing rows")
            cursor_id = newest
    raise PagingError("a product sweep did not end after "
                      f"{MAX_REQUESTS_PER_SWEEP} requests")
