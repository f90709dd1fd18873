"""The one base stream for Shoper's REST API: paging, filters, order; errors, retries and
pacing come from the kit (``tapkit.rest.ApiStream``) with Shoper's wording.

Every list call is ``GET {shop_url}/webapi/rest/<resource>?limit=&page=&order=&filters=``:

- ``limit`` is ``page_size`` (never above 50: a live shop silently pages by 10 instead);
- ``page`` runs from 1 to the envelope's ``pages`` *inclusive* (an earlier integration
  skipped the last page); an empty page in the middle does not stop the sweep;
- except for the streams that set ``keyset`` (``products``, the ``stock`` sweeps): they always
  ask for page 1 of ``filters={<key>: {">": <highest key seen>}}`` instead, until a page comes
  back short (or ``pages`` is 1). Page numbers lose a row when a product is deleted during
  the sweep (every later row moves back one place, the first row of the next page lands on
  the page already read); a key filter cannot (``tapkit.paging.KeysetPaginator``);
- ``order`` is always explicit ``<key> ASC`` (a bare field sorts descending, and no order
  promises nothing), so paging is stable and duplicates from shifting pages can be dropped;
- ``filters`` is one JSON query parameter.

Errors are classified by :class:`~tap_shoper.errors.ShoperErrors`; 429 waits ``Retry-After``
(capped) for as long as the shop keeps asking within the kit's patience, 5xx and network
errors back off exponentially. Calls are paced by the tap's shared paced session.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

import requests
from singer_sdk.exceptions import FatalAPIError
from singer_sdk.pagination import BaseAPIPaginator
from tapkit.paging import KeysetPaginator, PageCountPaginator
from tapkit.rest import ApiStream

from tap_shoper.errors import ShoperErrors, TokenRejectedError

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context
    from singer_sdk.streams.rest import HTTPRequest, PageContext

    from tap_shoper.auth import ShoperAuthenticator
    from tap_shoper.tap import TapShoper

MAX_PAGE_SIZE = 50


def page_count(response: requests.Response) -> int:
    """``pages`` from the envelope (or ``X-Shop-Result-Pages``); 0 when absent."""
    try:
        body = response.json()
    except ValueError:
        body = None
    raw = body.get("pages") if isinstance(body, dict) else None
    for value in (raw, response.headers.get("X-Shop-Result-Pages")):
        try:
            return int(str(value))
        except (TypeError, ValueError):
            continue
    return 0


def row_keys(response: requests.Response, key: str) -> list[int]:
    """The whole-number ``key`` of every row of a list answer, for keyset paging. A row
    without one is a broken answer: leaving it out could make a full page look short and
    end the sweep early, so it stops the run before the bookmark moves."""
    try:
        body = response.json()
    except ValueError:
        body = None
    rows = body.get("list") if isinstance(body, dict) else None
    keys = []
    for row in rows if isinstance(rows, list) else []:
        try:
            keys.append(int(str(row.get(key))))
        except (AttributeError, TypeError, ValueError):
            raise FatalAPIError(
                f"Shoper answered {urlsplit(response.url).path} with a row that has no valid "
                f"{key} ({str(row)[:80]}); the answer is broken, try again later") from None
    return keys


class ShoperStream(ApiStream[int]):
    """Base of every Shoper stream; subclasses set ``name``, ``path``, ``order_by``."""

    records_jsonpath = "$.list[*]"
    #: the field the API sorts by (ascending), normally the resource's primary key
    order_by: str | None = None
    #: False for resources answered in one piece (``application-config``, the tree)
    paged: bool = True
    #: page by ``order_by`` > the highest key seen instead of by page number (the key must be
    #: a whole number the shop can filter on, and not in the stream's own filters)
    keyset: bool = False

    # -- wiring shared through the tap -------------------------------------------------------
    @property
    def shoper(self) -> TapShoper:
        """The tap, typed (see ``owning_tap``)."""
        return cast("TapShoper", self.owning_tap)

    @property
    def url_base(self) -> str:
        """``{shop_url}/webapi/rest``."""
        return f"{self.shoper.shop_url}/webapi/rest"

    @property
    def errors(self) -> ShoperErrors:
        """The tap's Shoper wording."""
        return self.shoper.errors

    @property
    def authenticator(self) -> ShoperAuthenticator:
        """The tap's one authenticator (one token for all streams)."""
        return self.shoper.authenticator

    @property
    def requests_session(self) -> requests.Session:
        """The tap's one paced session (one leaky bucket per shop)."""
        return self.shoper.session

    @property
    def http_headers(self) -> dict:
        """Shoper answers JSON."""
        return {"Accept": "application/json"}

    @property
    def user_agent(self) -> str:
        """``user_agent`` setting, else ``tap-shoper/<version>``."""
        return self.shoper.user_agent

    @property
    def timeout(self) -> int:
        """Seconds per request."""
        return 120

    @property
    def page_size(self) -> int:
        """``page_size`` setting, capped at Shoper's maximum of 50."""
        return max(1, min(int(self.config.get("page_size") or MAX_PAGE_SIZE), MAX_PAGE_SIZE))

    # -- requests ---------------------------------------------------------------------------
    def get_new_paginator(self) -> BaseAPIPaginator | None:
        """Page numbers 1..pages for lists, keys for ``keyset`` streams; a single request for
        one-piece resources."""
        if not self.paged:
            return None
        if self.keyset and self.order_by:
            key = self.order_by
            return KeysetPaginator(keys=lambda response: row_keys(response, key),
                                   page_size=self.page_size, what=self.path,
                                   is_last=lambda response: page_count(response) == 1)
        return PageCountPaginator(1, total_pages=page_count, what=self.path)

    def get_filters(self, context: Context | None) -> dict[str, Any] | None:
        """The ``filters`` object for this request (``context["filters"]`` by default)."""
        return (context or {}).get("filters")

    def get_http_request(self, *, page: PageContext) -> HTTPRequest:
        """Add ``limit``/``page``/``order``/``filters`` as Shoper expects them."""
        request = super().get_http_request(page=page)
        filters = self.get_filters(page.stream_context)
        if self.paged:
            key = self.order_by if self.keyset else None
            request.params["limit"] = self.page_size
            request.params["page"] = 1 if key else page.next_page_token or 1
            if self.order_by:
                request.params["order"] = f"{self.order_by} ASC"
            if key and page.next_page_token is not None:
                filters = {**(filters or {}), key: {">": page.next_page_token}}
        if filters:
            request.params["filters"] = json.dumps(filters, separators=(",", ":"),
                                                   ensure_ascii=False, default=str)
        return request

    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        """Rows of the page; one-piece resources answer an object or a list."""
        if self.paged:
            yield from super().parse_response(response)
            return
        body = response.json()
        yield from (body if isinstance(body, list) else [body])

    def unauthorized(self, response: requests.Response) -> Exception:
        """A refused token is exchanged again once (login configured); else a clear stop."""
        if self.authenticator.handle_unauthorized(response):
            return TokenRejectedError(f"token refused ({self.errors.describe(response)})",
                                      response)
        mode = ("access_token" if not self.authenticator.can_exchange
                else "username and password")
        return self.errors.credentials_refused(response, mode)


class ShoperResource(ShoperStream):
    """A resource read for the tap's own use (dictionaries, variants, images), not emitted.

    It shares paging, pacing, auth and retries with the emitted streams; filters come in
    the context.
    """

    def __init__(self, tap: Any, path: str, *, order_by: str | None, paged: bool = True
                 ) -> None:
        self.order_by = order_by
        self.paged = paged
        super().__init__(tap, name=f"_{path.strip('/').replace('-', '_')}",
                         schema={"type": "object", "properties": {}}, path=path)

    def fetch(self, filters: dict[str, Any] | None = None) -> Iterable[dict[str, Any]]:
        """Every row (all pages) matching ``filters``."""
        yield from self.request_records({"filters": filters} if filters else None)
