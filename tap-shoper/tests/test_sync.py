"""Whole runs of the tap against the Shoper emulator: records, requests sent, paging, state."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sandbox.shoper import ShoperEmulator
from singer_sdk.exceptions import ConfigurationError
from tap_shoper.client import ShoperResource
from tap_shoper.tap import TapShoper
from tapkit.testing import assert_conforms, assert_stock_matches, incremental_runs


def expected_products(emulator, language="pl"):
    return list(emulator.catalog.product_records(
        image_url=f"{emulator.url}/userdata/public/gfx", platform="shoper",
        platform_language=language, product_url=f"{emulator.url}/pl/p"))


def test_a_full_run_emits_the_shop_exactly(shop, run_tap, login_config):
    run = run_tap(login_config(shop))
    assert run.records["categories"] == shop.catalog.category_records()
    assert run.records["products"] == expected_products(shop)
    assert_conforms(run)  # the kit's one conformance check: contract, unique ids, order
    assert_stock_matches(run, expected_products(shop), fields=("quantity", "sku"))


def test_variants_and_images_come_per_page_not_per_product(shop, run_tap, login_config):
    run_tap(login_config(shop, page_size=10))
    products_pages = shop.requests_to("GET", r"/products$")
    stock_calls = shop.requests_to("GET", r"/product-stocks$")
    image_calls = shop.requests_to("GET", r"/product-images$")
    assert len(products_pages) == 2  # 20 products, 10 per page
    assert len(image_calls) <= 2 * 4  # a few pages per products page, never one per product
    for call in image_calls:
        ids = json.loads(call.arg("filters"))["product_id"]["in"]
        assert len(ids) == 10
    assert not shop.requests_to("GET", r"/products/\d+")
    assert not shop.requests_to("GET", r"/product-stocks/\d+")
    assert all(call.arg("order") == "stock_id ASC" for call in stock_calls)


def test_paging_fetches_every_product_once_including_the_last_page(run_tap, login_config):
    with ShoperEmulator(n_products=23, seed=5) as emulator:
        run = run_tap(login_config(emulator, page_size=7))
        ids = [r["id"] for r in run.records["products"]]
        assert ids == [str(i) for i in range(1, 24)]  # 4 pages: 7+7+7+2, each id once
        pages = emulator.requests_to("GET", r"/products$")
        # by key, not page number: page 1 of the ids above the highest id read so far
        assert [p.arg("page") for p in pages] == ["1"] * 4
        assert [json.loads(p.arg("filters") or "{}") for p in pages] == [
            {}, {"product_id": {">": 7}}, {"product_id": {">": 14}}, {"product_id": {">": 21}}]
        assert all(p.arg("order") == "product_id ASC" for p in pages)
        limits = {int(r.arg("limit")) for r in emulator.requests_to("GET")
                  if r.arg("limit") is not None}
        assert limits == {7}


def test_page_size_above_50_is_refused(shop, login_config):
    with pytest.raises(ConfigurationError):
        TapShoper(config=login_config(shop, page_size=100))


def test_state_second_run_emits_only_what_changed(shop, run_tap, login_config):
    runs = incremental_runs(lambda state: run_tap(login_config(shop), state=state), shop)
    first, second, edited, bookmark, newest = (runs.first, runs.second, runs.edited,
                                               runs.bookmark, runs.newest)
    assert dt.datetime.fromisoformat(bookmark) == dt.datetime.fromisoformat(newest)
    ids = {r["id"] for r in second.records["products"]}
    newest_id = next(r["id"] for r in first.records["products"] if r["updated_at"] == newest)
    # the edited product, plus what the 1-hour lookback re-reads (the previous newest)
    assert ids == {str(edited.id), newest_id}
    sent = json.loads(shop.requests_to("GET", r"/products$")[0].arg("filters"))
    assert set(sent) == {"edit_date"}  # the bookmark is also applied server-side
    assert second.state["bookmarks"]["products"]["replication_key_value"] > bookmark


def test_start_date_limits_the_first_run(shop, run_tap, login_config):
    run = run_tap(login_config(shop, start_date="2024-09-01T00:00:00Z"))
    expected = [p for p in expected_products(shop) if p["updated_at"] >= "2024-09-01"]
    assert 0 < len(run.records["products"]) < 20
    assert run.records["products"] == expected


def test_catalog_selection_only_stock_reads_no_products(shop, run_tap, login_config):
    tap = TapShoper(config=login_config(shop))
    catalog = tap.catalog_dict
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if not meta["breadcrumb"]:
                meta["metadata"]["selected"] = entry["tap_stream_id"] == "stock"
    run = run_tap(login_config(shop), catalog=catalog)
    assert set(run.records) == {"stock"}
    assert not shop.requests_to("GET", r"/products$")
    assert not shop.requests_to("GET", r"/categories")


def test_english_with_fallback_to_polish(shop, caplog, run_tap, login_config):
    run = run_tap(login_config(shop, language="en_GB"))
    products = {r["id"]: r for r in run.records["products"]}
    assert products["3"]["name"].endswith("(EN)")
    assert products["3"]["language"] == "en"
    assert products["3"]["url"].endswith("/en/p/" + shop.catalog.products[2].slug)
    assert products["1"]["language"] == "pl"  # no en_GB text: the shop's default language
    assert "product 1 has no en_GB translation; using pl_PL" in caplog.text
    sizes = [o for v in products["3"]["variants"] for o in v["options"]]
    assert all(o["name"] in {"Size", "Colour"} for o in sizes)


def test_a_missing_default_translation_falls_back_to_another_language(run_tap, login_config):
    with ShoperEmulator(n_products=6, seed=42) as emulator:
        emulator.drop_translation(3, "pl_PL")
        run = run_tap(login_config(emulator))
        product = next(r for r in run.records["products"] if r["id"] == "3")
        assert product["language"] == "en"
        assert product["name"].endswith("(EN)")
        assert len(run.records["products"]) == 6


def test_a_language_the_shop_does_not_have_stops_with_the_list(shop, run_tap, login_config):
    with pytest.raises(ConfigurationError, match=r"de_DE.*pl_PL, en_GB"):
        run_tap(login_config(shop, language="de_DE"))


def test_an_empty_page_in_the_middle_does_not_end_the_sweep(requests_mock):
    url = "https://sklep.example/webapi/rest/taxes"
    pages = {1: [{"tax_id": "1"}, {"tax_id": "2"}], 2: [], 3: [{"tax_id": "5"}]}
    for number, rows in pages.items():
        requests_mock.get(f"{url}?limit=2&page={number}", headers={
            "Content-Type": "application/json"},
            json={"count": "5", "pages": 3, "page": 1, "list": rows})  # echoes page 1 always
    tap = TapShoper(config={"shop_url": "https://sklep.example", "access_token": "t",
                            "page_size": 2})
    rows = list(ShoperResource(tap, "/taxes", order_by="tax_id").fetch())
    assert [r["tax_id"] for r in rows] == ["1", "2", "5"]
    assert [int(r.qs["page"][0]) for r in requests_mock.request_history] == [1, 2, 3]
    assert all(r.qs["order"] == ["tax_id asc"] for r in requests_mock.request_history)


def test_a_product_that_cannot_be_mapped_is_skipped_and_named(run_tap, login_config, caplog):
    with ShoperEmulator(n_products=5, seed=42) as emulator:
        emulator.resources["products"].rows[1]["tax_id"] = "99"  # a deleted tax rate
        run = run_tap(login_config(emulator))
    assert [r["id"] for r in run.records["products"]] == ["1", "3", "4", "5"]
    assert "Skipped product 2: product 2: tax_id 99 is not in the shop's taxes" in caplog.text


def select(tap, *names):
    """The tap's catalog with only ``names`` selected."""
    catalog = tap.catalog_dict
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if not meta["breadcrumb"]:
                meta["metadata"]["selected"] = entry["tap_stream_id"] in names
    return catalog


def stock_by_variant(run):
    return {r["variant_id"]: (r["product_id"], r["sku"], r["quantity"])
            for r in run.records["stock"]}


def test_products_and_stock_together_read_product_stocks_once(shop, run_tap, login_config):
    config = login_config(shop, page_size=10)
    catalog = select(TapShoper(config=config), "products")
    run_tap(config, catalog=catalog)
    products_only = len(shop.requests_to("GET", r"/product-stocks$"))
    shop.clear_requests()
    both = run_tap(config)
    calls = shop.requests_to("GET", r"/product-stocks$")
    # the stock records come from the rows the products pages already read: no sweep
    assert len(calls) == products_only
    assert all("product_id" in json.loads(c.arg("filters")) for c in calls)
    shop.clear_requests()
    stock_only = run_tap(config, catalog=select(TapShoper(config=config), "stock"))
    assert shop.requests_to("GET", r"/product-stocks$")  # stock alone still sweeps
    assert stock_by_variant(both) == stock_by_variant(stock_only)
    variants = {v["id"] for p in both.records["products"] for v in p["variants"]}
    assert set(stock_by_variant(both)) == variants


def test_after_an_incremental_products_run_stock_is_swept_in_full(shop, run_tap, login_config):
    first = run_tap(login_config(shop))
    shop.clear_requests()
    second = run_tap(login_config(shop), state=first.state)
    assert len(second.records["products"]) < 20  # only what changed...
    sweeps = [c for c in shop.requests_to("GET", r"/product-stocks$")
              if "product_id" not in json.loads(c.arg("filters") or "{}")]
    assert sweeps  # ...so the stock of every variant is read by the stock stream itself
    assert stock_by_variant(second) == stock_by_variant(first)
    assert len(second.records["stock"]) == shop.catalog.variant_count()
