"""The IdoSell emulator behaves like the platform notes say: paging from 0, the "no results"
fault, the key check, versions as separate products, IOF files and the Marketplace flow."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import requests
from defusedxml.ElementTree import parse
from sandbox.idosell import (
    DEMO_API_KEY,
    DEMO_MARKETPLACE_LOGIN,
    DEMO_MARKETPLACE_PASSWORD,
    TIMEZONE,
    IdoSellEmulator,
    marketplace_key,
)

SEARCH = "/api/admin/v6/products/products/search"


@pytest.fixture(scope="module")
def shop():
    with IdoSellEmulator(n_products=25, seed=42) as emulator:
        yield emulator


def search(shop, key=DEMO_API_KEY, **params):
    return requests.post(shop.url + SEARCH, json={"params": params},
                         headers={"X-API-KEY": key}, timeout=10)


def test_search_pages_from_zero_and_past_the_end_is_the_no_results_fault(shop):
    first = search(shop, resultsPage=0, resultsLimit=20,
                   ordersBy=[{"elementName": "id", "sortDirection": "ASC"}]).json()
    assert first["resultsPage"] == 0
    assert first["resultsNumberAll"] == len(shop.rows)
    assert first["resultsNumberPage"] == 3
    assert [r["productId"] for r in first["results"]] == list(range(1, 21))
    past = search(shop, resultsPage=3, resultsLimit=20)
    assert past.status_code == 404
    assert past.json()["errors"]["faultCode"] == 2
    assert search(shop, resultsLimit=101).status_code == 422


def test_the_key_is_checked(shop):
    refused = search(shop, key="wrong")
    assert refused.status_code == 401
    assert refused.json()["errors"]["faultCode"] == 1


def test_colours_are_versions_grouped_under_the_catalog_product(shop):
    ids = shop.version_group(12)
    assert len(ids) == 3
    assert ids[0] == 12
    assert min(ids[1:]) > len(shop.catalog.products)
    rows = {r["productId"]: r for r in shop.rows}
    assert {rows[i]["productVersion"]["versionParentId"] for i in ids} == {12}
    assert all(len(rows[i]["productSizesAttributes"]) == 4 for i in ids)


def test_date_filter_is_by_day(shop):
    row = shop.rows[0]
    day = row["productModificationTime"][:10]
    found = search(shop, productDate={"productDateMode": "modified", "productDateBegin": day,
                                      "productDateEnd": day}).json()["results"]
    assert row["productId"] in {r["productId"] for r in found}


def test_the_full_feed_is_iof_and_only_once_per_generation_when_switched_on():
    with IdoSellEmulator(n_products=5, seed=3, once_per_generation=True) as shop:
        first = requests.get(shop.feed_url("full"), timeout=10)
        assert "attachment" in first.headers["Content-Disposition"]
        root = parse(io.BytesIO(first.content)).getroot()
        assert root.tag == "offer"
        assert len(root.find("products")) == len(shop.rows)
        again = requests.get(shop.feed_url("full"), timeout=10)
        assert again.status_code == 200
        assert again.headers["Content-Type"].startswith("text/html")
        shop.new_generation()
        assert requests.get(shop.feed_url("full"), timeout=10).headers[
            "Content-Type"].startswith("application/xml")


def test_the_marketplace_gate_wants_todays_key(shop):
    url = shop.url + "/marketplace-api/?gate=Products/getProductsFeed/5/json"
    today = dt.datetime.now(TIMEZONE).date()
    good = requests.get(url, timeout=10, json={"authenticate": {
        "userLogin": DEMO_MARKETPLACE_LOGIN,
        "authenticateKey": marketplace_key(DEMO_MARKETPLACE_PASSWORD, today)}}).json()
    assert good["errors"]["faultCode"] == 0
    gateway = parse(io.BytesIO(requests.get(good["results"]["url"], timeout=10).content))
    assert gateway.getroot().find("full").get("url") == shop.feed_url("full")
    stale = requests.get(url, timeout=10, json={"authenticate": {
        "userLogin": DEMO_MARKETPLACE_LOGIN,
        "authenticateKey": marketplace_key(DEMO_MARKETPLACE_PASSWORD,
                                           today - dt.timedelta(days=1))}}).json()
    assert stale["errors"] == {"faultCode": 1, "faultString": "Logowanie nie powiodło się"}
