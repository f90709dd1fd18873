"""Waits that end: the one ``Retry-After`` reader, capped waits, a deadline per request.

A platform may answer ``Retry-After: 86400`` on a 503, or an HTTP date next week; honouring
that blindly hangs a scheduled run for a day. Every wait here is capped at
:data:`MAX_WAIT_SECONDS`, and a :class:`Deadline` bounds one request with all its retries.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Generator
from typing import Any

import backoff
import requests
from commerce_schema.retry_after import retry_after_value

from tapkit.errors import DeadlineExceededError, RetryNowError

#: no single wait is longer than this, whatever the platform asks
MAX_WAIT_SECONDS = 300.0
#: a throttled call is given up only after the platform kept refusing it this long
THROTTLE_PATIENCE_SECONDS = 15 * 60.0
#: the wait when a throttled answer gives no usable ``Retry-After``
DEFAULT_THROTTLE_WAIT = 1.0


def retry_after(response: requests.Response | None, *, cap: float = MAX_WAIT_SECONDS,
                now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds (``"120"``) or an HTTP
    date (``"Wed, 21 Oct 2026 07:28:00 GMT"``), never negative, never above ``cap``; None
    when the header is absent or unreadable."""
    if response is None:
        return None
    return retry_after_value(response.headers.get("Retry-After"), cap=cap, now=now)


__all__ = ["retry_after", "retry_after_value"]  # the header reader lives in commerce-schema


class Deadline:
    """The end of one request's time, retries included."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._ends = clock() + seconds

    def remaining(self) -> float:
        """Seconds left (0 when passed)."""
        return max(0.0, self._ends - self._clock())

    def check(self, wait: float, what: str) -> float:
        """``wait`` if it ends before the deadline; else :class:`DeadlineExceededError`."""
        if wait > self.remaining():
            raise DeadlineExceededError(
                f"gave up on {what}: it kept failing for {self.seconds - self.remaining():.0f} s "
                f"and the next try would pass its deadline of {self.seconds:.0f} s. Try again "
                "later; if it persists, the shop's API is down.")
        return wait


def throttle_waits(cap: float = MAX_WAIT_SECONDS, deadline: Callable[[], Deadline | None]
                   = lambda: None, what: str = "the request") -> Generator[float, Any, None]:
    """A ``backoff`` wait generator for 429: each wait is the refused answer's
    ``Retry-After`` (capped), 1 s when it has none."""
    exception = yield  # type: ignore[misc]
    while True:
        wait = retry_after(getattr(exception, "response", None), cap=cap)
        wait = DEFAULT_THROTTLE_WAIT if wait is None else wait
        limit = deadline()
        exception = yield (limit.check(wait, what) if limit else wait)


def error_waits(cap: float = MAX_WAIT_SECONDS, max_value: float = 60.0,
                deadline: Callable[[], Deadline | None] = lambda: None,
                what: str = "the request") -> Generator[float, Any, None]:
    """A ``backoff`` wait generator for 5xx and network errors: ``Retry-After`` when the
    answer has one (capped), none after :class:`RetryNowError`, else 1, 2, 4 ... up to
    ``max_value`` seconds."""
    expo = backoff.expo(base=2, factor=1, max_value=max_value)
    next(expo)
    exception = yield  # type: ignore[misc]
    while True:
        if isinstance(exception, RetryNowError):
            wait: float = 0.0
        else:
            header = retry_after(getattr(exception, "response", None), cap=cap)
            wait = header if header is not None else next(expo)
        limit = deadline()
        exception = yield (limit.check(wait, what) if limit else wait)
