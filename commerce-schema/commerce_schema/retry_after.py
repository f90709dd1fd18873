"""The one reader of an HTTP ``Retry-After`` header, for the taps (through tapkit) and
target-gateway alike.

A server may answer ``Retry-After: 86400`` on a 503, or an HTTP date next week; honouring
that blindly hangs a scheduled run for a day. So every value is capped by the caller's
``cap``, never negative, and an unreadable header is None (the caller's own backoff then
applies). Dependency-free, like the rest of what every component shares here.
"""

from __future__ import annotations

import datetime as dt
from email.utils import parsedate_to_datetime


def retry_after_value(header: str | None, *, cap: float,
                      now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds (``"120"``) or an HTTP
    date (``"Wed, 21 Oct 2026 07:28:00 GMT"``), between 0 and ``cap``; None when absent or
    unreadable."""
    raw = str(header or "").strip()
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        try:
            moment = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.timezone.utc)
        seconds = (moment - (now or dt.datetime.now(dt.timezone.utc))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return min(max(0.0, seconds), cap)
