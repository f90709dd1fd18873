"""The one Retry-After reader: seconds or an HTTP date, never negative, never above the cap."""

import datetime as dt

from commerce_schema.retry_after import retry_after_value

NOW = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.timezone.utc)


def test_seconds_and_dates_are_read_and_capped():
    assert retry_after_value("30", cap=60, now=NOW) == 30
    assert retry_after_value("7200", cap=300, now=NOW) == 300  # hours asked: the cap
    assert retry_after_value("Thu, 01 Jan 2026 12:00:10 GMT", cap=60, now=NOW) == 10
    assert retry_after_value("Thu, 01 Jan 2026 11:00:00 GMT", cap=60, now=NOW) == 0


def test_unreadable_values_leave_the_callers_own_backoff():
    for value in (None, "", "soon", "nan", "Mon, 99 Foo 2026"):
        assert retry_after_value(value, cap=60, now=NOW) is None
