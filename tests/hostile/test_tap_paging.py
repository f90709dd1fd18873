"""A shop that pages badly, as a kit tap meets it (issue 11): a ``Retry-After`` of hours on a
503, a page count that keeps growing, a page answered out of the requested order, rows
deleted while the tap pages, a key filter the shop ignores.

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
    # products page by key (the page count is not what ends them); the dictionaries still
    # page by number, so a count that keeps growing is met there
    with hostile.HostileShoper(n_products=3) as shop:
        shop.faults.growing_pages = "categories"
        run = tap_command(hostile, shop, "growing-pages")
        pages = len(shop.requests_to("GET", r"/categories$"))
    assert run.code == 1, run.stderr[-3000:]
    assert any("the page count of /categories kept growing while it was read" in line
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


def delete_product(shop, product_id: int) -> None:
    """Delete a product as the shop's admin would: its row, stock rows and images go."""
    for name, key in (("products", "product_id"), ("product-stocks", "product_id"),
                      ("product-images", "product_id")):
        rows = shop.resources[name].rows
        rows[:] = [r for r in rows if str(r.get(key)) != str(product_id)]


def select(tap_config, *streams):
    """The tap's catalog with only ``streams`` selected."""
    catalog = TapShoper(config=tap_config).catalog_dict
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if not meta["breadcrumb"]:
                meta["metadata"]["selected"] = entry["tap_stream_id"] in streams
    return catalog


def test_a_product_deleted_while_the_tap_pages_loses_no_other_product(hostile):
    # page 1 is products 1-5; product 2 is deleted right after it was served. Paged by
    # number, every later product moved back one place and product 6 (the first of page 2)
    # landed on page 1, already read: never emitted, and the bookmark went past it.
    def delete_after_page_one(request, response, n):
        if n == 1:
            delete_product(shop, 2)
        return response

    with hostile.HostileShoper(n_products=12, seed=3) as shop:
        shop.tamper[r"/webapi/rest/products$"] = delete_after_page_one
        config = {"shop_url": shop.url, "access_token": hostile.SHOPER_TOKEN, "page_size": 5}
        run = run_tap(TapShoper, config)
        remaining = {p["product_id"] for p in shop.resources["products"].rows}
        newest = max(p.updated_at for p in shop.catalog.products if p.id != 2)
        calls = len(shop.requests_to("GET", r"/products$"))
    assert shop.tampered[r"/webapi/rest/products$"] == calls  # the deletion really happened
    assert "2" not in remaining
    ids = [r["id"] for r in run.records["products"]]
    assert len(ids) == len(set(ids))  # nothing twice
    assert remaining <= set(ids)  # every product that still exists, 6 included
    assert calls == 3  # 12 products by 5: still one request per page (5 + 5 + 1 after the deletion)
    state = run.state["bookmarks"]["products"]["replication_key_value"]
    assert dt.datetime.fromisoformat(state) >= newest.replace(microsecond=0)


def test_a_variant_deleted_while_stock_is_swept_loses_no_other_stock_row(hostile):
    # the stock stream alone sweeps product-stocks (variant rows, then default rows); a
    # variant row of the first page deleted right after that page was served
    deleted: list[str] = []

    def delete_after_page_one(request, response, n):
        if n == 1:
            rows = shop.resources["product-stocks"].rows
            victim = next(r for r in rows if str(r.get("extended")) == "1")
            deleted.append(victim["stock_id"])
            rows.remove(victim)
        return response

    with hostile.HostileShoper(n_products=12, seed=3) as shop:
        shop.tamper[r"/webapi/rest/product-stocks$"] = delete_after_page_one
        config = {"shop_url": shop.url, "access_token": hostile.SHOPER_TOKEN, "page_size": 5}
        expected = {r["stock_id"] for r in shop.resources["product-stocks"].rows
                    if str(r.get("extended")) == "1"}
        run = run_tap(TapShoper, config, catalog=select(config, "stock"))
        sweep = [r for r in shop.requests_to("GET", r"/product-stocks$")
                 if '"extended":1' in (r.arg("filters") or "")]
    assert deleted
    emitted = [r["variant_id"] for r in run.records["stock"]]
    assert len(emitted) == len(set(emitted))  # nothing twice
    assert expected - set(deleted) <= set(emitted)  # every variant row that still exists
    assert len(sweep) == -(-len(expected - set(deleted)) // 5)  # one request per page


def test_a_shop_that_ignores_the_product_id_filter_stops_clearly(hostile):
    # keyset paging needs product_id > n honoured; a shop answering page 1 again instead
    # would otherwise be read forever, or (by dropping the repeats) end early and lose rows
    first: list = []

    def ignore_the_filter(request, response, n):
        if n == 1:
            first.append(response)
        return first[0]

    with hostile.HostileShoper(n_products=12, seed=3) as shop:
        shop.tamper[r"/webapi/rest/products$"] = ignore_the_filter
        run = tap_command(hostile, shop, "ignored-key-filter", page_size=5)
        calls = len(shop.requests_to("GET", r"/products$"))
    assert run.code == 1, run.stderr[-3000:]
    assert any("/products" in line and "ignored the filter" in line
               for line in error_lines(run.stderr)), run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    assert calls == 2  # stopped at the first repeat, not after reading it forever
    assert bookmark(run) is None
