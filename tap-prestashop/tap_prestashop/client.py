"""The one base stream for PrestaShop's webservice: JSON lists, paging by id, errors, retries.

Every list call is ``GET {shop_url}/api/<resource>?output_format=JSON&display=full&
sort=[id_ASC]&limit=<page_size>&filter[id]=[<next id>,<max>]&filter[...]&language=N``:

- ``output_format=JSON`` always (PrestaShop answers XML otherwise); ``display=full`` (without
  it a list holds ids only);
- ``sort=[id_ASC]`` always: PrestaShop has no default ORDER BY, so pages of an unsorted list
  may overlap or miss rows;
- paging by id ("keyset"): each page asks for ids from the last one seen + 1, ``limit`` rows.
  ``limit=offset,count`` would shift when a product is deleted mid-run and silently skip the
  row that moved onto the page already read; an id range cannot. The sweep ends at a page
  with fewer rows than asked (or PrestaShop's ``[]`` for an empty list);
- ``language=N`` turns multilingual fields into plain strings in the chosen language.

Errors are classified in :class:`~tap_prestashop.errors.PrestaShopErrors` and the kit's
``ApiStream``: 5xx and dropped connections are retried (6 tries, 1, 2, 4... s), 401 is the
key's (see :meth:`PrestaShopStream.unauthorized`), everything else stops the run with a clear
message naming the path.
"""

from __future__ import annotations

from collections.abc import Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, cast

import requests
from singer_sdk.exceptions import FatalAPIError
from singer_sdk.pagination import BaseAPIPaginator
from tapkit.errors import RetryNowError
from tapkit.paging import MAX_PAGES, KeysetPaginator
from tapkit.rest import ApiStream

from tap_prestashop.errors import KEY_MISSING, KEY_REFUSED, RESOURCE_FORBIDDEN, error_code
from tap_prestashop.mapping import rows_of

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context
    from singer_sdk.streams.rest import HTTPRequest, PageContext

    from tap_prestashop.auth import WebserviceKeyAuth
    from tap_prestashop.errors import PrestaShopErrors
    from tap_prestashop.tap import TapPrestaShop

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100
#: the top of an id range (ids are MySQL INT UNSIGNED)
MAX_ID = 4294967295
REQUEST_TIMEOUT = 120


class IdPaginator(KeysetPaginator):
    """The next page starts after the highest id of this one; a short page is the last (the
    kit's keyset paging, with PrestaShop's ids and ``filter[id]=[n,max]`` ranges)."""

    def __init__(self, stream: PrestaShopStream) -> None:
        super().__init__(keys=lambda response: [int(str(r.get("id") or 0))
                                                for r in stream.rows(response)],
                         page_size=stream.page_size, what=f"/api/{stream.resource}",
                         max_pages=MAX_PAGES)


class PrestaShopStream(ApiStream[int]):
    """Base of every PrestaShop stream; subclasses set ``name`` and ``resource``."""

    #: the webservice resource, e.g. ``products`` (the JSON list is under this key)
    resource: str = ""
    #: ``display`` parameter: ``full`` or ``[id,name]``
    display: str = "full"
    #: page by id (lists); False for a request answered in one piece (ids given)
    paged: bool = True

    @property
    def tap(self) -> TapPrestaShop:
        """The tap, typed (see ``owning_tap``)."""
        return cast("TapPrestaShop", self.owning_tap)

    @property
    def url_base(self) -> str:
        """``{shop_url}/api``."""
        return f"{self.tap.shop_url}/api"

    @property
    def path(self) -> str:  # type: ignore[override]
        """``/<resource>``."""
        return f"/{self.resource}"

    @property
    def errors(self) -> PrestaShopErrors:
        """The tap's classifier."""
        return self.tap.errors

    @property
    def authenticator(self) -> WebserviceKeyAuth:
        """The tap's one key (one header-or-ws_key decision per run)."""
        return self.tap.authenticator

    @property
    def requests_session(self) -> requests.Session:
        """One session (connections reused) for every stream of the run."""
        return self.tap.session

    @property
    def http_headers(self) -> dict:
        """JSON is asked by parameter; the header says it too (some proxies key on it)."""
        return {"Accept": "application/json", "Output-Format": "JSON"}

    @property
    def user_agent(self) -> str:
        """``tap-prestashop/<version>``."""
        return self.tap.user_agent

    @property
    def timeout(self) -> int:
        """Seconds per request."""
        return REQUEST_TIMEOUT

    @property
    def page_size(self) -> int:
        """``page_size`` setting."""
        return int(self.config.get("page_size") or DEFAULT_PAGE_SIZE)

    # -- requests ----------------------------------------------------------------------------
    def get_new_paginator(self) -> BaseAPIPaginator | None:
        """Pages by id for lists."""
        return IdPaginator(self) if self.paged else None

    def filters(self, context: Context | None) -> dict[str, str]:
        """``{field: value}`` sent as ``filter[field]=value`` (``context["filters"]``)."""
        return dict((context or {}).get("filters") or {})

    def get_http_request(self, *, page: PageContext) -> HTTPRequest:
        """The webservice's list parameters."""
        request = super().get_http_request(page=page)
        params: dict[str, Any] = {"output_format": "JSON", "display": self.display}
        params.update({f"filter[{k}]": v for k, v in self.filters(page.stream_context).items()})
        if self.paged:
            params["sort"] = "[id_ASC]"
            params["limit"] = str(self.page_size)
            params["filter[id]"] = f"[{(page.next_page_token or 0) + 1},{MAX_ID}]"
        params.update(self.tap.common_params)
        if any(k == "filter[date_upd]" or k == "filter[date_add]" for k in params):
            params["date"] = "1"
        request.params = params
        return request

    def rows(self, response: requests.Response) -> list[dict[str, Any]]:
        """The rows of a list answer (cached per answer: the paginator reads them too)."""
        cached = getattr(response, "_prestashop_rows", None)
        if cached is None:
            try:
                cached = rows_of(response.json(), self.resource)
            except ValueError as exc:
                raise FatalAPIError(
                    f"PrestaShop answered /api/{self.resource} with something that is not its "
                    f"list ({exc}); the answer is broken, try again later.") from None
            response._prestashop_rows = cached  # type: ignore[attr-defined]
        return cached

    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        """The rows, each checked for an id (a row without one is a broken answer)."""
        for row in self.rows(response):
            if str(row.get("id") or "").strip() in ("", "0"):
                raise FatalAPIError(
                    f"PrestaShop answered /api/{self.resource} with a row that has no id "
                    f"({str(row)[:80]}); the answer is broken, try again later.")
            yield row

    # -- the key ------------------------------------------------------------------------------
    def unauthorized(self, response: requests.Response) -> Exception:
        """No key arrived: try ``ws_key`` once; a refused key or resource: say which."""
        code = error_code(response)
        if code == "xml":  # a body with a DTD or entities: refused unread, never retried
            return self.errors.classify(response) or self.errors.key_refused(response)
        if code == RESOURCE_FORBIDDEN:
            return self.errors.resource_forbidden(response)
        if code in KEY_REFUSED:
            return self.errors.key_refused(response)
        if code is None or code in KEY_MISSING:
            if self.authenticator.fall_back_to_query():
                return RetryNowError("no key received; retrying with ws_key", response)
            return self.errors.no_key_received(response)
        return self.errors.key_refused(response)

    def validate_response(self, response: requests.Response) -> None:
        """The kit's checks; a 404 with an empty body is an unknown id (fatal, named)."""
        if response.status_code == HTTPStatus.NOT_FOUND and not response.content:
            raise FatalAPIError(f"PrestaShop answered {response.request.path_url.split('?')[0]} "
                                "with 404 and no body: an id that does not exist.")
        super().validate_response(response)


class Lookup(PrestaShopStream):
    """A resource read for the tap's own use (dictionaries, combinations, stock), not emitted.

    It shares paging, auth, retries and the session with the emitted streams.
    """

    def __init__(self, tap: Any, resource: str, *, display: str = "full", paged: bool = True
                 ) -> None:
        self.resource = resource
        self.display = display
        self.paged = paged
        super().__init__(tap, name=f"_{resource}", schema={"type": "object", "properties": {}})

    @property
    def page_size(self) -> int:
        """Dictionaries and a page's combinations or stock rows are light: 1000 a request."""
        return MAX_PAGE_SIZE

    def fetch(self, filters: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Every row (all pages) matching ``filters``."""
        return list(self.request_records({"filters": filters} if filters else None))
