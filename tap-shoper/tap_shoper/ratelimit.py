"""Pacing under Shoper's leaky bucket, from the ``X-Shop-Api-*`` headers of every answer.

Shoper pours one unit into a bucket of ``X-Shop-Api-Limit`` units per call and drains
``X-Shop-Api-Bandwidth`` units per second; ``X-Shop-Api-Calls`` is the fill after this call.
A call that would overflow gets 429. Rather than learn that from 429s, the pacer estimates
the fill now (last fill minus what leaked since that answer arrived) and sleeps just long
enough that the next call leaves ``reserve`` units free. Sustained throughput therefore sits
at the bandwidth ceiling without touching it. The estimate errs high (leaking is counted from
when the answer *arrived*, not from when Shoper counted the call), so it never sends early.

One pacer per shop, shared by every stream through the kit's ``tapkit.session.PacedSession``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import requests

logger = logging.getLogger("tap-shoper.ratelimit")


def _number(headers: Any, name: str) -> float | None:
    try:
        value = float(headers.get(name))
    except (TypeError, ValueError):
        return None
    return value if value >= 0 else None


class LeakyBucketPacer:
    """Tracks the shop's bucket from response headers and waits before it would overflow."""

    def __init__(self, reserve: float = 1.0, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.reserve = reserve
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        self.limit: float | None = None
        self.bandwidth: float | None = None
        self._calls = 0.0
        self._seen_at = 0.0
        self.waited = 0.0
        self.waits = 0

    def observe(self, response: requests.Response) -> None:
        """Remember the bucket as this answer describes it (any status, 429 included)."""
        limit = _number(response.headers, "X-Shop-Api-Limit")
        bandwidth = _number(response.headers, "X-Shop-Api-Bandwidth")
        calls = _number(response.headers, "X-Shop-Api-Calls")
        if not limit or not bandwidth or calls is None:
            return
        with self._lock:
            self.limit, self.bandwidth = limit, bandwidth
            self._calls, self._seen_at = calls, self._clock()

    def delay(self) -> float:
        """Seconds to wait so that the next call leaves ``reserve`` units free."""
        with self._lock:
            if self.limit is None or self.bandwidth is None:
                return 0.0
            level = max(0.0, self._calls - (self._clock() - self._seen_at) * self.bandwidth)
            ceiling = max(1.0, self.limit - self.reserve)
            excess = level + 1 - ceiling
            return excess / self.bandwidth if excess > 0 else 0.0

    def wait(self) -> None:
        """Sleep the :meth:`delay`, if any."""
        seconds = self.delay()
        if seconds > 0:
            self.waits += 1
            self.waited += seconds
            logger.debug("pacing: %.2f s before the next call to stay under the bucket",
                         seconds)
            self._sleep(seconds)
