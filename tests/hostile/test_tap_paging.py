"""A shop that pages badly, as a kit tap meets it (issue 11): a ``Retry-After`` of hours on a
503, a page count that keeps growing, a page answered out of the requested order.

Each case runs tap-shoper against the Shoper emulator switched to that answer
(``ShoperEmulator.faults``); the rules are the kit's, so every tap on it behaves the same.
"""

from __future__ import annotations

import datetime as dt

from commerce_schema import jsonio
from tap_shoper.tap import TapShoper
from tapkit.retry import MAX_WAIT_SECONDS
from tapkit.testing import run_tap


def tap_command(hostile, shop, name, *, state=None, **settings):
    """The real ``tap-shoper`` against ``shop`` (static token), its output recorded."""
    config = {"shop_url": shop.url, "access_token": hostile.SHOPER_TOKEN, **settings}
    run = run_tap([str(hostile.BIN / "tap-shoper")], config, state=state)
    hostile.seen(f"tap {name}", run.stderr, jsonio.dumps(run.messages))
    return run


def error_lines(stderr):
    return [line for line in stderr.splitlines() if "| ERROR" in line]


def bookmark(run):
    """The products bookmark of the run's last STATE, if any."""
    states = [m["value"] for m in run.messages if m["type"] == "STATE"]
    for state in reversed(states):
        value = state.get("bookmarks", {}).get("products", {}).get("replication_key_value")
        if value:
            return value
    return None


def test_a_retry_after_of_two_hours_waits_the_cap_then_the_run_goes_on(hostile, monkeypatch,
                                                                         caplog):
    waits: list[float] = []
    monkeypatch.setattr("backoff._sync.time.sleep", waits.append)  # never wait for real
    with hostile.HostileShoper(n_products=5) as shop:
        shop.faults.retry_after = 7200
        run = run_tap(TapShoper, {"shop_url": shop.url, "access_token": hostile.SHOPER_TOKEN})
        assert shop.faults.served["retry_after"] == 1  # the 503 was really answered
    hostile.seen("tap retry-after", caplog.text)
    assert waits == [MAX_WAIT_SECONDS]  # one wait, at the cap, not 7200 s
    assert sorted(r["id"] for r in run.records["products"]) == ["1", "2", "3", "4", "5"]
    assert "it asked to wait 7200 s; no wait is longer than 300 s" in caplog.text


def test_a_page_count_that_keeps_growing_stops_with_a_clear_error(hostile, tmp_path):
    with hostile.HostileShoper(n_products=3) as shop:
        shop.faults.growing_pages = "products"
        run = tap_command(hostile, shop, "growing-pages")
        pages = len(shop.requests_to("GET", r"/products$"))
    assert run.code == 1, run.stderr[-3000:]
    assert any("the page count of /products kept growing while it was read" in line
               for line in error_lines(run.stderr)), run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    assert pages == 12  # bounded: the first count and 10 growths are tolerated, then it stops
    assert bookmark(run) is None  # the failed stream moved no bookmark


def test_a_page_answered_out_of_order_loses_no_row_and_keeps_the_bookmark_honest(hostile):
    with hostile.HostileShoper(n_products=9) as shop:
        shop.faults.reversed_page = ("products", 2)
        run = tap_command(hostile, shop, "out-of-order", page_size=3)
        served = shop.faults.served["products"]
        newest = max(p.updated_at for p in shop.catalog.products)
    assert served == 3
    assert run.code == 0, run.stderr[-3000:]
    ids = [r["id"] for r in run.records["products"]]
    assert sorted(ids, key=int) == [str(i) for i in range(1, 10)]  # every row, once
    assert ids[3:6] == ["6", "5", "4"]  # as the shop sent them
    assert "came after" in run.stderr
    assert "emitted anyway" in run.stderr
    # the bookmark is the newest product of the shop, all of them emitted
    assert dt.datetime.fromisoformat(bookmark(run)) == newest.replace(microsecond=0)
