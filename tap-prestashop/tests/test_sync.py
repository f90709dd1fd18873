"""Whole runs of the tap against the PrestaShop emulator: records, requests sent, paging, state,
auth fallback, sub-folder shops, languages, images through the webservice."""

from __future__ import annotations

import base64
import datetime as dt
import logging

import pytest
from sandbox.prestashop import PrestaShopEmulator
from sandbox.server import Switches
from singer_sdk.exceptions import ConfigurationError
from tap_prestashop.client import PrestaShopStream
from tap_prestashop.tap import TapPrestaShop
from tapkit.tap import ConfigProblemsError
from tapkit.testing import assert_conforms, assert_stock_matches, incremental_runs, run_tap


def test_a_full_run_emits_the_shop_exactly(shop, config, expected_products):
    run = run_tap(TapPrestaShop, config(shop))
    assert run.records["categories"] == shop.catalog.category_records()
    assert run.records["products"] == expected_products(shop)
    assert_conforms(run)
    assert_stock_matches(run, expected_products(shop))


def test_requests_grow_with_pages_not_with_products(config):
    """P products on pages of S: the products list, combinations, stock and feature values
    are each one request per page (plus the dictionaries); never one per product."""
    counts = {}
    for n_products in (20, 40):
        with PrestaShopEmulator(n_products=n_products, seed=42) as emulator:
            run_tap(TapPrestaShop, config(emulator, page_size=5))
            pages = emulator.requests_to("GET", r"/api/products$")
            assert len(pages) == n_products // 5 + 1  # the last, empty page ends the sweep
            assert all(p.arg("sort") == "[id_ASC]" and p.arg("limit") == "5" for p in pages)
            for resource in ("combinations", "product_feature_values"):
                calls = emulator.requests_to("GET", rf"/api/{resource}$")
                assert len(calls) <= n_products // 5
            stock_calls = emulator.requests_to("GET", r"/api/stock_availables$")
            assert len(stock_calls) <= n_products // 5 + 1  # per page, plus one sweep
            assert not emulator.requests_to("GET", r"/api/[a-z_]+/\d+$")
            counts[n_products] = len(emulator.requests_to("GET", r"/api/"))
    dictionaries = counts[20] - (counts[40] - counts[20])
    assert dictionaries <= 12
    assert counts[40] - counts[20] <= 4 * (20 // 5) + 1  # at most 4 requests per page


def test_paging_by_id_reads_every_product_once_including_the_last_page(config):
    with PrestaShopEmulator(n_products=23, seed=5) as emulator:
        run = run_tap(TapPrestaShop, config(emulator, page_size=7))
        assert [r["id"] for r in run.records["products"]] == [str(i) for i in range(1, 24)]
        pages = emulator.requests_to("GET", r"/api/products$")
        assert [p.arg("filter[id]") for p in pages] == [
            "[1,4294967295]", "[8,4294967295]", "[15,4294967295]", "[22,4294967295]"]


def test_a_product_deleted_mid_run_loses_no_other_product(config):
    """Paging by id, not by offset: a row deleted from a page already read does not shift
    the next row onto it (where ``limit=offset,count`` would skip it silently)."""
    with PrestaShopEmulator(n_products=12, seed=5) as emulator:
        original = emulator.api_list

        def deleting(request, base, resource):
            answer = original(request, base, resource)
            if resource == "products" and request.arg("filter[id]") == "[1,4294967295]":
                table = emulator.tables["products"]
                table.rows = [r for r in table.rows if r["id"] != 2]
            return answer

        emulator._routes = [(m, rx, deleting if h == original else h)
                            for m, rx, h in emulator._routes]
        run = run_tap(TapPrestaShop, config(emulator, page_size=4))
    assert [r["id"] for r in run.records["products"]] == [str(i) for i in range(1, 13)]


def test_state_second_run_emits_only_what_changed(shop, config):
    runs = incremental_runs(lambda state: run_tap(TapPrestaShop, config(shop), state=state),
                            shop)
    first, second, edited, bookmark, newest = (runs.first, runs.second, runs.edited,
                                               runs.bookmark, runs.newest)
    assert dt.datetime.fromisoformat(bookmark) == dt.datetime.fromisoformat(newest)
    ids = {r["id"] for r in second.records["products"]}
    newest_id = next(r["id"] for r in first.records["products"] if r["updated_at"] == newest)
    assert ids == {str(edited.id), newest_id}  # plus what the 1-hour lookback re-reads
    sent = shop.requests_to("GET", r"/api/products$")[0]
    assert sent.arg("date") == "1"
    assert sent.arg("filter[date_upd]").endswith(",9999-12-31 23:59:59]")
    assert second.state["bookmarks"]["products"]["replication_key_value"] > bookmark


def test_start_date_limits_the_first_run(shop, config, expected_products):
    run = run_tap(TapPrestaShop, config(shop, start_date="2024-09-01T00:00:00Z"))
    expected = [p for p in expected_products(shop) if p["updated_at"] >= "2024-09-01"]
    assert 0 < len(run.records["products"]) < 20
    assert run.records["products"] == expected


def test_only_stock_selected_reads_no_products(shop, config):
    tap = TapPrestaShop(config=config(shop))
    catalog = tap.catalog_dict
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if not meta["breadcrumb"]:
                meta["metadata"]["selected"] = entry["tap_stream_id"] == "stock"
    run = run_tap(TapPrestaShop, config(shop), catalog=catalog)
    assert set(run.records) == {"stock"}
    assert not shop.requests_to("GET", r"/api/products")
    assert not shop.requests_to("GET", r"/api/combinations")


def test_ws_key_fallback_when_the_host_drops_the_authorization_header(shop, config, caplog,
                                                                      expected_products):
    shop.drop_authorization = True
    with caplog.at_level(logging.WARNING):
        run = run_tap(TapPrestaShop, config(shop))
    assert run.records["products"] == expected_products(shop)
    sent = shop.requests_to("GET", r"/api/")
    assert sent[0].arg("ws_key") is None
    assert sent[1].arg("ws_key") is not None
    assert all(r.arg("ws_key") for r in sent[1:])
    assert caplog.text.count("sending it as the ws_key parameter") == 1
    assert shop.api_key not in caplog.text


def test_a_shop_in_a_sub_folder(config, expected_products):
    with PrestaShopEmulator(n_products=6, seed=3, base_path="/sklep") as emulator:
        run = run_tap(TapPrestaShop, config(emulator))
        assert run.records["products"] == expected_products(emulator)
        assert all(r.path.startswith("/sklep/api/") for r in emulator.requests_to())
        assert run.records["products"][0]["images"][0]["url"].startswith(
            f"{emulator.url}/sklep/img/p/")


def test_image_source_api_reads_the_bytes_with_the_key(config):
    with PrestaShopEmulator(n_products=4, seed=3) as emulator:
        run = run_tap(TapPrestaShop, config(emulator, image_source="api"))
        images = [i for p in run.records["products"] for i in p["images"]]
        assert images
        assert all(i["public"] is False for i in images)
        first = run.records["products"][0]
        pid = int(first["id"])
        product = next(p for p in emulator.catalog.products if p.id == pid)
        prefix, encoded = first["images"][0]["url"].split(",", 1)
        assert prefix == "data:image/png;base64"
        assert base64.b64decode(encoded) == product.images[0].content
        calls = emulator.requests_to("GET", r"/api/images/products/\d+/\d+$")
        assert len(calls) == len(emulator.images)  # one per image, each read once
        assert all(c.header("authorization") for c in calls)
    assert_conforms(run)


def test_the_configured_language_names_products_options_and_categories(shop, config):
    run = run_tap(TapPrestaShop, config(shop, language_id=2))
    products = {r["id"]: r for r in run.records["products"]}
    assert products["3"]["name"].endswith("(EN)")
    assert products["3"]["language"] == "en"
    assert products["3"]["url"].endswith("&id_lang=2")
    options = {o["name"] for p in products.values() for v in p["variants"] for o in v["options"]}
    assert options <= {"Size", "Colour"}
    assert options
    assert all(c["name"].endswith("(EN)") for c in run.records["categories"])
    assert shop.requests_to("GET", r"/api/products$")[0].arg("language") == "[2|1]"


def test_a_language_the_shop_does_not_have_stops_with_the_list(shop, config):
    with pytest.raises(ConfigurationError, match=r"language_id 7 .* 1 \(pl\), 2 \(en\)"):
        run_tap(TapPrestaShop, config(shop, language_id=7))


def test_every_config_problem_at_once(shop):
    with pytest.raises(ConfigProblemsError) as caught:
        TapPrestaShop(config={"shop_url": "sklep.example", "api_key": "short",
                              "page_size": 5000, "vat_country_iso": "Polska",
                              "image_source": "ftp"})
    problems = caught.value.errors
    assert "shop_url must start with https:// (got 'sklep.example')." in problems
    assert any("api_key must be the 32 letters" in p for p in problems)
    assert any("page_size 5000 is above PrestaShop's maximum of 1000" in p for p in problems)
    assert any("vat_country_iso must be a two-letter" in p for p in problems)
    assert any(p.startswith("image_source must be one of public, api") for p in problems)
    assert all("short" not in p for p in problems)  # the key is never echoed


def test_a_product_that_cannot_be_mapped_is_skipped_and_named(config, caplog):
    with PrestaShopEmulator(n_products=5, seed=42) as emulator:
        emulator.tables["products"].rows[1]["id_tax_rules_group"] = "77"  # a deleted group
        run = run_tap(TapPrestaShop, config(emulator))
    assert [r["id"] for r in run.records["products"]] == ["1", "3", "4", "5"]
    assert ("Skipped product 2: product 2: tax rules group 77 does not exist in the shop"
            in caplog.text)


def test_a_bad_day_of_5xx_and_dropped_connections_loses_nothing(config, expected_products,
                                                                 monkeypatch):
    """Seeded PHP 500 pages and dropped connections on the paged lists: each is retried,
    and the run still emits every product exactly once (waits between tries shortened)."""
    monkeypatch.setattr(PrestaShopStream, "max_backoff_seconds", 0.01)
    switches = Switches(error_rate=0.2, drop_rate=0.1, seed=3,
                        fault_paths=r"/api/(products|combinations|stock_availables)$")
    with PrestaShopEmulator(n_products=12, seed=42, switches=switches) as emulator:
        run = run_tap(TapPrestaShop, config(emulator, page_size=4))
        faulted = len(emulator.requests_to("GET", r"/api/products$")) - 4
        assert run.records["products"] == expected_products(emulator)
    assert faulted >= 1  # the faults really hit the product pages
    assert_conforms(run)
