"""The REST stream base: classified errors, bounded retries, patient but bounded throttling.

Built on singer-sdk's own retry hooks (``request_decorator``, ``backoff_wait_generator``,
``backoff_max_tries``, ``backoff_jitter``, ``backoff_handler``, ``validate_response``,
``response_error_message``), all public and overridable in 0.54:

- 5xx and network errors: ``Retry-After`` when given (capped at ``max_wait_seconds``), else
  1, 2, 4 ... 60 s, no jitter, ``backoff_max_tries`` tries in all;
- 429: waits ``Retry-After`` (capped) *inside* those tries, so throttling does not use
  them up; refusals in a row end after ``throttle_patience_seconds``;
- every request, all its retries and waits included, ends by ``request_deadline_seconds``.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, TypeVar

import backoff
import requests
from singer_sdk import RESTStream
from singer_sdk.exceptions import RetriableAPIError

from tapkit.errors import ApiErrors, RetryNowError, ThrottledError
from tapkit.paging import OrderGuard
from tapkit.retry import (
    MAX_WAIT_SECONDS,
    THROTTLE_PATIENCE_SECONDS,
    Deadline,
    error_waits,
    retry_after,
    throttle_waits,
)

if TYPE_CHECKING:
    from singer_sdk.helpers.types import RequestFunc

_TToken = TypeVar("_TToken")


class ApiStream(RESTStream[_TToken]):
    """Base of a platform's REST streams; the platform supplies :attr:`errors`."""

    #: no wait is longer, whatever ``Retry-After`` says
    max_wait_seconds: float = MAX_WAIT_SECONDS
    #: the longest exponential wait between tries of a 5xx / network error
    max_backoff_seconds: float = 60.0
    #: a throttled call is given up only after the platform kept refusing it this long
    throttle_patience_seconds: float = THROTTLE_PATIENCE_SECONDS
    #: one request, with all its retries and waits, never takes longer than this
    request_deadline_seconds: float = 30 * 60
    #: True when rows come in replication-key order (an order guard may revoke it)
    sorted_by_replication_key: bool = False

    _tapkit_deadline: Deadline | None = None
    _tapkit_guards: list[OrderGuard] | None = None

    def __init__(self, tap: Any, *args: Any, **kwargs: Any) -> None:
        #: the tap this stream belongs to (singer-sdk keeps it only in the private ``_tap``)
        self.owning_tap: Any = tap
        super().__init__(tap, *args, **kwargs)

    @property
    def errors(self) -> ApiErrors:
        """The platform's classifier (override; usually the tap's)."""
        return ApiErrors(self.url_base)

    # -- answers -----------------------------------------------------------------------------
    def unauthorized(self, response: requests.Response) -> Exception:
        """The exception for a 401 (override for a token that can be renewed: return a
        :class:`~tapkit.errors.RetryNowError` after renewing)."""
        return self.errors.credentials_refused(response, "credentials")

    def validate_response(self, response: requests.Response) -> None:
        """ok, retry (429, 5xx, renewed token) or a clear fatal error."""
        if response.status_code == HTTPStatus.UNAUTHORIZED:
            raise self.unauthorized(response)
        problem = self.errors.classify(response)
        if problem is not None:
            raise problem

    def response_error_message(self, response: requests.Response) -> str:
        """Status and the platform's short error, never bodies or headers."""
        return self.errors.describe(response)

    # -- retries -----------------------------------------------------------------------------
    def request_decorator(self, func: RequestFunc) -> RequestFunc:
        """The SDK's retries, with 429s retried inside them, all under one deadline."""
        patient = backoff.on_exception(
            lambda: throttle_waits(self.max_wait_seconds, self._current_deadline, self.path
                                   or self.name),
            ThrottledError, max_time=self.throttle_patience_seconds, jitter=None,
            on_backoff=self.throttle_handler, logger=None)(func)
        retried: Callable[..., Any] = super().request_decorator(patient)

        def bounded(*args: Any, **kwargs: Any) -> Any:
            self._tapkit_deadline = Deadline(self.request_deadline_seconds)
            try:
                return retried(*args, **kwargs)
            finally:
                self._tapkit_deadline = None

        return bounded

    def _current_deadline(self) -> Deadline | None:
        return self._tapkit_deadline

    def throttle_handler(self, details: Any) -> None:
        """Log a throttled wait."""
        self.logger.info("%s's rate limit is full; waiting %.1f s (Retry-After) before calling "
                         "%s again", self.errors.platform, details.get("wait") or 0, self.path)

    def backoff_wait_generator(self) -> Generator[float, Any, None]:
        """``Retry-After`` (capped) when the answer has one; none after a renewed token;
        else 1, 2, 4 ... seconds up to ``max_backoff_seconds``; never past the deadline."""
        return error_waits(self.max_wait_seconds, self.max_backoff_seconds,
                           self._current_deadline, self.path or self.name)

    def backoff_jitter(self, value: float) -> float:
        """No jitter: one client per shop, and ``Retry-After`` means exactly that."""
        return value

    def backoff_max_tries(self) -> int:
        """Tries per call for 5xx / network errors (429 is handled separately)."""
        return 6

    def backoff_handler(self, details: Any) -> None:
        """Log retries without the request's arguments (they hold the prepared request)."""
        exception = details.get("exception")
        if isinstance(exception, RetryNowError):
            return
        reason = (str(exception) if isinstance(exception, RetriableAPIError)
                  else type(exception).__name__)
        asked = retry_after(getattr(exception, "response", None), cap=float("inf"))
        if asked is not None and asked > self.max_wait_seconds:
            reason += (f" (it asked to wait {asked:.0f} s; no wait is longer than "
                       f"{self.max_wait_seconds:.0f} s)")
        self.logger.warning("Retrying %s in %.1f s (try %s): %s", self.path,
                            details.get("wait") or 0, details.get("tries"), reason)

    # -- order -------------------------------------------------------------------------------
    def order_guard(self, key: str, what: str | None = None) -> OrderGuard:
        """A new :class:`OrderGuard` for rows requested in ascending ``key``; if it ever
        sees a row out of order, :attr:`is_sorted` turns False."""
        guard = OrderGuard(what or self.path or self.name, key, self.logger)
        if self._tapkit_guards is None:
            self._tapkit_guards = []
        self._tapkit_guards.append(guard)
        return guard

    @property
    def is_sorted(self) -> bool:
        """``sorted_by_replication_key``, unless an order guard saw a row out of order."""
        return self.sorted_by_replication_key and not any(
            g.unsorted for g in self._tapkit_guards or [])
