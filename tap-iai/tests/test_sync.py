"""Whole syncs against the IdoSell emulator: the catalog comes out as generated, both sources
agree, requests grow with pages not products, and the feed's traps are explained."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from sandbox.catalog import SIZE, generate_catalog
from sandbox.idosell import _SIZE_IDS, GFX, IdoSellEmulator
from sandbox.server import Request, Response
from tap_iai.feed import FeedAlreadyTakenError
from tap_iai.tap import TapIAI
from tapkit.errors import CredentialsRefusedError
from tapkit.testing import assert_conforms, run_tap

#: what the feed cannot say (no product times, no visibility)
FEED_BLIND = ("active", "created_at", "updated_at")


def expected_products(shop: IdoSellEmulator) -> dict[str, dict[str, Any]]:
    """The catalog's own records, with what IdoSell cannot carry replaced by what it shows:
    its variant ids (product id or ``{productId}-{sizeId}``), its image and page URLs, the
    main category only, no per-variant images, variants active as their version."""
    by_variant = {}
    for version in shop.versions:
        for variant in version.variants:
            size = dict(variant.options).get(SIZE)
            by_variant[variant.id] = (str(version.product_id) if size is None
                                      else f"{version.product_id}-{_SIZE_IDS[size]}")
    records = {}
    catalog = {p.id: p for p in shop.catalog.products}
    for record in shop.catalog.product_records(image_url=shop.url + GFX.rstrip("/"),
                                               platform="idosell"):
        product = catalog[int(record["id"])]
        record["url"] = f"{shop.url}/product-pol-{product.id}-{product.slug}.html"
        record["categories"] = record["categories"][:1]
        for variant, source in zip(record["variants"], product.variants, strict=False):
            variant["id"] = by_variant[source.id]
            variant["images"] = []
            variant["active"] = product.active
        records[record["id"]] = record
    return records


def test_the_admin_api_gives_the_catalog_as_generated(shop, admin_config):
    run = run_tap(TapIAI, admin_config(shop))
    assert_conforms(run)
    got = {r["id"]: r for r in run.records["products"]}
    assert got == expected_products(shop)
    assert run.records["categories"] == shop.catalog.category_records()
    twelve = got["12"]
    assert len(twelve["variants"]) == 12  # 3 colours (3 IdoSell products) x 4 sizes
    assert twelve["attributes"] == {"Materiał": shop.catalog.products[11].attributes["Materiał"]}


def test_stock_rows_match_the_products_variants(shop, admin_config):
    run = run_tap(TapIAI, admin_config(shop))
    variants = {(p["id"], v["id"]): v for p in run.records["products"] for v in p["variants"]}
    stock = {(s["product_id"], s["variant_id"]): s for s in run.records["stock"]}
    assert set(stock) == set(variants)
    assert all(stock[k]["quantity"] == v["stock"] and stock[k]["sku"] == v["sku"]
               for k, v in variants.items())
    assert any(v["stock"] is None for v in variants.values())  # -1: unlimited


@pytest.mark.parametrize("how", ["marketplace", "gateway_url", "full_url"])
def test_the_iof_feed_gives_the_same_records(shop, admin_config, marketplace_config, how):
    admin = run_tap(TapIAI, admin_config(shop))
    if how == "marketplace":
        config = marketplace_config(shop)
    else:
        config = {"shop_url": shop.url, "source": "iof", "allow_loopback_feed": True,
                  "iof_url": shop.feed_url("gateway" if how == "gateway_url" else "full")}
    feed = run_tap(TapIAI, config)
    assert_conforms(feed)
    blind = {r["id"]: {k: v for k, v in r.items() if k not in FEED_BLIND}
             for r in feed.records["products"]}
    for record in blind.values():
        for variant in record["variants"]:
            variant.pop("active")
    expected = {r["id"]: {k: v for k, v in r.items() if k not in FEED_BLIND}
                for r in admin.records["products"]}
    for record in expected.values():
        for variant in record["variants"]:
            variant.pop("active")
    assert blind == expected
    def without_time(rows):
        return sorted(str({k: v for k, v in r.items() if k != "updated_at"}) for r in rows)
    assert without_time(feed.records["stock"]) == without_time(admin.records["stock"])
    if how == "full_url":  # no tree: the categories the products sit in, with their paths
        used = {c["id"] for r in admin.records["products"] for c in r["categories"]}
        assert {c["id"] for c in feed.records["categories"]} == used
    else:
        assert feed.records["categories"] == admin.records["categories"]


def test_requests_grow_with_pages_not_products(admin_config):
    with IdoSellEmulator(n_products=40, seed=42) as shop:
        run_tap(TapIAI, admin_config(shop, page_size=10))
        pages = -(-len(shop.rows) // 10)
        searches = shop.requests_to("POST", r"/products/search$")
        categories = shop.requests_to("GET", r"/products/categories$")
    # products: one page each + at most one version lookup per page; stock: one page each
    assert pages * 2 <= len(searches) <= pages * 3
    assert len(categories) == 1


def test_versions_are_not_merged_when_told_not_to(shop, admin_config):
    run = run_tap(TapIAI, admin_config(shop, merge_versions=False))
    ids = {r["id"] for r in run.records["products"]}
    assert len(ids) == len(shop.rows)
    assert {r["id"] for r in run.records["products"] if r["id"] in
            {str(i) for i in shop.version_group(12)}} == {str(i) for i in shop.version_group(12)}
    assert all(len(r["variants"]) == 4 for r in run.records["products"]
               if r["id"] in {str(i) for i in shop.version_group(12)})


def test_stock_is_summed_over_the_chosen_warehouses(shop, admin_config):
    every = run_tap(TapIAI, admin_config(shop)).records["stock"]
    first = run_tap(TapIAI, admin_config(shop, warehouse_ids=[1])).records["stock"]
    split = [(a["quantity"], b["quantity"]) for a, b in zip(every, first, strict=False)
             if a["quantity"] != b["quantity"]]
    assert split  # every third product keeps part of its stock in warehouse 2
    assert all(b < a for a, b in split)


def test_a_second_run_asks_only_for_recent_changes(admin_config):
    catalog = generate_catalog(20, seed=42)
    with IdoSellEmulator(catalog) as shop:
        first = run_tap(TapIAI, admin_config(shop))
        shop.clear_requests()
        quiet = run_tap(TapIAI, admin_config(shop), state=first.state)
        # nothing changed since: only the product(s) of the bookmark's own second again
        newest = max(r["updated_at"] for r in first.records["products"])
        assert {r["updated_at"] for r in quiet.records["products"]} == {newest}
        search = shop.requests_to("POST", r"/products/search$")
        assert search[0].json()["params"]["productDate"]["productDateMode"] == \
            "modified_and_quantity_changed"
        changed = catalog.mutate(0.1, now=dt.datetime.now(dt.timezone.utc))
        shop.reload()
        again = run_tap(TapIAI, admin_config(shop), state=quiet.state)
    newest_ids = {r["id"] for r in first.records["products"] if r["updated_at"] == newest}
    emitted = {r["id"] for r in again.records["products"]}
    assert emitted - newest_ids == {str(i) for i in changed} - newest_ids
    assert len(emitted) < len(first.records["products"])
    prices = {r["id"]: r["variants"][0]["price_gross"] for r in again.records["products"]}
    before = {r["id"]: r["variants"][0]["price_gross"] for r in first.records["products"]}
    assert all(prices[str(i)] == before[str(i)] + Decimal("1.00") for i in changed)


class NoResultsAfterPage(IdoSellEmulator):
    """Products deleted while the tap pages: from page 2 on, the "no results" fault."""

    def dispatch(self, request: Request) -> Response | None:
        if request.path.endswith("/products/search"):
            body = request.json()
            if body["params"].get("resultsPage", 0) >= 2 and "productParams" not in body["params"]:
                self.requests.append(request)
                return Response.json({"errors": {"faultCode": 2, "faultString": "Brak"}}, 404)
        return super().dispatch(request)


def test_a_search_with_no_results_is_an_empty_sync_not_a_failure(shop, admin_config):
    run = run_tap(TapIAI, admin_config(shop, start_date="2099-01-01T00:00:00Z"))
    searches = [json.loads(r.body) for r in shop.requests_to("POST", r"/products/search$")]
    # products: one search from the start date, answered "no results"
    assert "products" not in run.records
    assert sum("productDate" in s.get("params", {}) for s in searches) == 1
    assert len(run.records["categories"]) == 44
    # stock is swept whole every run (the target's list of what the shop still sells)
    full = run_tap(TapIAI, admin_config(shop))
    assert sorted(r["variant_id"] for r in run.records["stock"]) == sorted(
        r["variant_id"] for r in full.records["stock"])


def test_the_no_results_fault_at_the_end_of_paging_ends_the_sweep(admin_config):
    with NoResultsAfterPage(n_products=30, seed=42) as shop:
        run = run_tap(TapIAI, admin_config(shop, page_size=10))
    assert len(run.records["products"]) > 0
    assert_conforms(run)


def test_a_feed_already_downloaded_this_generation_is_a_clear_error(marketplace_config):
    with IdoSellEmulator(n_products=5, seed=3, once_per_generation=True) as shop:
        first = run_tap(TapIAI, marketplace_config(shop))
        assert len(first.records["products"]) == 5
        with pytest.raises(FeedAlreadyTakenError, match="Retry after the shop's next export"):
            run_tap(TapIAI, marketplace_config(shop))
        shop.new_generation()
        assert len(run_tap(TapIAI, marketplace_config(shop)).records["products"]) == 5
        assert shop.feed_downloads == 2


def test_a_wrong_marketplace_password_is_refused_by_name(marketplace_config):
    with IdoSellEmulator(n_products=2, seed=3) as shop, \
            pytest.raises(CredentialsRefusedError, match="check marketplace_login and "):
        run_tap(TapIAI, marketplace_config(shop, marketplace_password="wrong"))


def test_config_problems_are_all_named_at_once():
    with pytest.raises(Exception) as caught:  # noqa: PT011 - the kit's ConfigProblemsError
        TapIAI(config={"shop_url": "sklep.pl", "source": "iof", "language": "polski",
                       "page_size": 500})
    errors = caught.value.errors  # type: ignore[attr-defined]
    assert "source iof needs iof_url, or marketplace_login and marketplace_password." in errors
    assert "shop_url must start with https:// (got 'sklep.pl')." in errors
    assert any("page_size 500 is above IdoSell's maximum of 100" in e for e in errors)
    assert any(e.startswith("language must be an IdoSell language id") for e in errors)
