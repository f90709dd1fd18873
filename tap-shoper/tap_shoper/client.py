"""The one base stream for Shoper's REST API: paging, filters, order, errors, retries, pacing.

Every list call is ``GET {shop_url}/webapi/rest/<resource>?limit=&page=&order=&filters=``:

- ``limit`` is ``page_size`` (never above 50: a live shop silently pages by 10 instead);
- ``page`` runs from 1 to the envelope's ``pages`` *inclusive* (an earlier integration
  skipped the last page); an empty page in the middle does not stop the sweep;
- ``order`` is always explicit ``<key> ASC`` (a bare field sorts descending, and no order
  promises nothing), so paging is stable and duplicates from shifting pages can be dropped;
- ``filters`` is one JSON query parameter.

Errors are classified in :meth:`ShoperStream.validate_response` (see ``errors.py``); 429
waits exactly ``Retry-After`` for as long as the shop keeps asking (throttling never fails a
run), 5xx and network errors back off exponentially. Calls are paced by the tap's shared
:class:`~tap_shoper.ratelimit.PacedSession`.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import backoff
import requests
from singer_sdk import RESTStream
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.pagination import BaseAPIPaginator, PageNumberPaginator

from tap_shoper.errors import (
    CredentialsRefusedError,
    ThrottledError,
    TokenRejectedError,
    classify,
    describe,
)
from tap_shoper.ratelimit import THROTTLE_PATIENCE_SECONDS, retry_after, throttle_waits

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context, RequestFunc
    from singer_sdk.streams.rest import HTTPRequest, PageContext

    from tap_shoper.auth import ShoperAuthenticator

MAX_PAGE_SIZE = 50
MAX_BACKOFF_SECONDS = 60


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


class ShoperPaginator(PageNumberPaginator):
    """Page numbers 1..pages, from the envelope's page count (never an empty-page guess)."""

    def has_more(self, response: requests.Response) -> bool:
        """More pages while the page just requested is below ``pages`` (the requested number,
        not the echoed one, so that a shop echoing a wrong ``page`` cannot loop forever)."""
        return self.current_value < page_count(response)

    def continue_if_empty(self, response: requests.Response) -> bool:
        """A page emptied by rows deleted meanwhile is not the end if more pages follow."""
        return self.has_more(response)


class ShoperStream(RESTStream[int]):
    """Base of every Shoper stream; subclasses set ``name``, ``path``, ``order_by``."""

    records_jsonpath = "$.list[*]"
    #: the field the API sorts by (ascending), normally the resource's primary key
    order_by: str | None = None
    #: False for resources answered in one piece (``application-config``, the tree)
    paged: bool = True

    # -- wiring shared through the tap -------------------------------------------------------
    @property
    def url_base(self) -> str:
        """``{shop_url}/webapi/rest``."""
        return f"{self._tap.shop_url}/webapi/rest"

    @property
    def authenticator(self) -> ShoperAuthenticator:
        """The tap's one authenticator (one token for all streams)."""
        return self._tap.authenticator

    @property
    def requests_session(self) -> requests.Session:
        """The tap's one paced session (one leaky bucket per shop)."""
        return self._tap.session

    @property
    def http_headers(self) -> dict:
        """Shoper answers JSON."""
        return {"Accept": "application/json"}

    @property
    def user_agent(self) -> str:
        """``user_agent`` setting, else ``tap-shoper/<version>``."""
        return self._tap.user_agent

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
        """Page numbers for lists; a single request for one-piece resources."""
        return ShoperPaginator(start_value=1) if self.paged else None

    def get_filters(self, context: Context | None) -> dict[str, Any] | None:
        """The ``filters`` object for this request (``context["filters"]`` by default)."""
        return (context or {}).get("filters")

    def get_http_request(self, *, page: PageContext) -> HTTPRequest:
        """Add ``limit``/``page``/``order``/``filters`` as Shoper expects them."""
        request = super().get_http_request(page=page)
        if self.paged:
            request.params["limit"] = self.page_size
            request.params["page"] = page.next_page_token or 1
            if self.order_by:
                request.params["order"] = f"{self.order_by} ASC"
        filters = self.get_filters(page.stream_context)
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

    # -- errors, retries --------------------------------------------------------------------
    def validate_response(self, response: requests.Response) -> None:
        """Classify the answer: ok, retry (429, 5xx, refreshed token) or a clear fatal error."""
        if response.status_code == HTTPStatus.UNAUTHORIZED:
            if self.authenticator.handle_unauthorized(response):
                raise TokenRejectedError(f"token refused ({describe(response)})", response)
            mode = ("access_token" if not self.authenticator.can_exchange
                    else "username and password")
            raise CredentialsRefusedError(
                f"Shoper refused the credentials ({describe(response)}): check the {mode} "
                f"configured for {self._tap.shop_url}.")
        problem = classify(response, self._tap.shop_url)
        if problem is not None:
            raise problem

    def response_error_message(self, response: requests.Response) -> str:
        """Status and Shoper's error, never bodies or headers (they may echo secrets)."""
        return describe(response)

    def request_decorator(self, func: RequestFunc) -> RequestFunc:
        """SDK retries, with 429s retried inside them for as long as the shop asks.

        Throttling is not a failure: a 429 waits ``Retry-After`` and does not count against
        ``backoff_max_tries`` (only ``THROTTLE_PATIENCE_SECONDS`` of refusals in a row do).
        """
        patient = backoff.on_exception(
            throttle_waits, ThrottledError, max_time=THROTTLE_PATIENCE_SECONDS,
            jitter=None, on_backoff=self._log_throttle, logger=None)(func)
        return super().request_decorator(patient)

    def _log_throttle(self, details: dict) -> None:
        self.logger.info("Shoper's rate limit is full; waiting %.1f s (Retry-After) before "
                         "calling %s again", details.get("wait") or 0, self.path)

    def backoff_wait_generator(self) -> Generator[float, Any, None]:
        """``Retry-After`` when the answer has one; none after a token refresh; else 1, 2, 4...
        seconds up to a minute."""
        expo = backoff.expo(base=2, factor=1, max_value=MAX_BACKOFF_SECONDS)
        next(expo)
        exception = yield  # type: ignore[misc]
        while True:
            if isinstance(exception, TokenRejectedError):
                wait: float = 0.0
            else:
                header = retry_after(getattr(exception, "response", None))
                wait = header if header is not None else next(expo)
            exception = yield wait

    def backoff_jitter(self, value: float) -> float:
        """No jitter: one client per shop, and ``Retry-After`` means exactly that."""
        return value

    def backoff_max_tries(self) -> int:
        """Tries per call for 5xx / network errors (429 is handled separately)."""
        return 6

    def backoff_handler(self, details: dict) -> None:
        """Log retries without the request's arguments (they hold the prepared request)."""
        exception = details.get("exception")
        if isinstance(exception, TokenRejectedError):
            return
        reason = (str(exception) if isinstance(exception, RetriableAPIError)
                  else type(exception).__name__)
        self.logger.warning("Retrying %s in %.1f s (try %s): %s", self.path,
                            details.get("wait") or 0, details.get("tries"), reason)


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



