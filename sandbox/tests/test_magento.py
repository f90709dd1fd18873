"""The Magento emulator behaves like Magento's REST API where the tap depends on it."""

from __future__ import annotations

import pytest
import requests
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256
from requests_oauthlib import OAuth1
from sandbox.magento import MagentoEmulator, parse_fields, parse_search_criteria

KEYS = ("demo-consumer-key", "demo-consumer-secret", "demo-access-token",
        "demo-access-token-secret")


def oauth(secret: str = KEYS[1]) -> OAuth1:
    return OAuth1(KEYS[0], client_secret=secret, resource_owner_key=KEYS[2],
                  resource_owner_secret=KEYS[3], signature_method=SIGNATURE_HMAC_SHA256)


def criteria(*filters, page_size=None, page=None, sort=()):
    params = {}
    for g, group in enumerate(filters):
        for f, (field, condition, value) in enumerate(group):
            prefix = f"searchCriteria[filter_groups][{g}][filters][{f}]"
            params |= {f"{prefix}[field]": field, f"{prefix}[value]": value,
                       f"{prefix}[condition_type]": condition}
    for s, (field, direction) in enumerate(sort):
        params |= {f"searchCriteria[sortOrders][{s}][field]": field,
                   f"searchCriteria[sortOrders][{s}][direction]": direction}
    if page_size:
        params |= {"searchCriteria[pageSize]": page_size, "searchCriteria[currentPage]": page}
    return params or {"searchCriteria": ""}


@pytest.fixture(scope="module")
def magento():
    with MagentoEmulator(n_products=10, seed=42) as emulator:
        yield emulator


def test_an_oauth1_signature_is_verified_and_a_wrong_secret_refused(magento):
    ok = requests.get(f"{magento.url}/rest/default/V1/products",
                      params=criteria([("sku", "like", "PRD-0000%")]), auth=oauth(), timeout=5)
    assert ok.status_code == 200
    assert ok.json()["total_count"] > 0
    bad = requests.get(f"{magento.url}/rest/V1/products", params=criteria(),
                       auth=oauth("wrong"), timeout=5)
    assert bad.status_code == 401
    assert bad.json() == {"message": "The signature is invalid. Verify and try again."}


def test_a_reused_nonce_is_refused(magento):
    prepared = requests.Request("GET", f"{magento.url}/rest/V1/store/storeConfigs",
                                auth=oauth()).prepare()
    with requests.Session() as session:
        assert session.send(prepared, timeout=5).status_code == 200
        again = session.send(prepared, timeout=5)
    assert again.status_code == 401
    assert "nonce is already being used" in again.json()["message"]


def test_an_integration_token_as_bearer_is_refused_unless_allowed(magento):
    answer = requests.get(f"{magento.url}/rest/V1/products", params=criteria(), timeout=5,
                          headers={"Authorization": f"Bearer {KEYS[2]}"})
    assert answer.status_code == 401
    assert answer.json()["message"] == "The consumer isn't authorized to access %resources."


def test_admin_tokens_work_until_revoked(magento):
    token = requests.post(f"{magento.url}/rest/V1/integration/admin/token", timeout=5,
                          json={"username": "admin", "password": "demo-password"}).json()
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{magento.url}/rest/V1/taxRates/search"
    assert requests.get(url, params=criteria(), headers=headers, timeout=5).status_code == 200
    magento.revoke_admin_tokens()
    assert requests.get(url, params=criteria(), headers=headers, timeout=5).status_code == 401
    refused = requests.post(f"{magento.url}/rest/V1/integration/admin/token", timeout=5,
                            json={"username": "admin", "password": "nope"})
    assert refused.status_code == 401


def test_paging_past_the_end_repeats_the_last_page_with_total_count(magento):
    def page(number):
        return requests.get(f"{magento.url}/rest/V1/products", auth=oauth(), timeout=5,
                            params=criteria(sort=[("entity_id", "ASC")], page_size=4,
                                            page=number)).json()

    total = page(1)["total_count"]
    last = -(-total // 4)
    assert [i["id"] for i in page(last + 3)["items"]] == [i["id"] for i in page(last)["items"]]


def test_filters_or_inside_a_group_and_between_groups_fields_trimmed(magento):
    params = criteria([("type_id", "eq", "configurable"), ("visibility", "eq", "4")],
                      [("entity_id", "in", "1,2,3,4,5")], sort=[("entity_id", "DESC")])
    params["fields"] = "items[id,type_id],total_count"
    body = requests.get(f"{magento.url}/rest/V1/products", params=params, auth=oauth(),
                        timeout=5).json()
    assert set(body) == {"items", "total_count"}
    assert [i["id"] for i in body["items"]] == sorted(
        (i["id"] for i in body["items"]), reverse=True)
    assert all(set(i) == {"id", "type_id"} and i["id"] <= 5 for i in body["items"])


def test_a_list_without_search_criteria_is_a_400(magento):
    answer = requests.get(f"{magento.url}/rest/V1/products", auth=oauth(), timeout=5)
    assert answer.status_code == 400
    assert answer.json()["parameters"] == {"fieldName": "searchCriteria"}


def test_store_views_translate_and_unknown_ones_are_refused(magento):
    def names(store):
        return requests.get(f"{magento.url}/rest/{store}/V1/products", auth=oauth(), timeout=5,
                            params=criteria([("entity_id", "eq", "1")]))

    assert names("en").json()["items"][0]["name"].endswith("(EN)")
    assert not names("default").json()["items"][0]["name"].endswith("(EN)")
    assert names("xx").status_code == 400


def test_media_files_are_public_and_the_api_is_json(magento):
    item = magento.products["default"][0]
    path = item["media_gallery_entries"][-1]["file"]
    image = requests.get(f"{magento.url}/media/catalog/product{path}", timeout=5)
    assert image.status_code == 200
    assert image.content.startswith(b"\x89PNG")
    missing = requests.get(f"{magento.url}/rest/V1/nothing", auth=oauth(), timeout=5)
    assert missing.json() == {"message": "Request does not match any route."}


def test_both_stock_apis_agree_on_totals(magento):
    legacy = requests.get(f"{magento.url}/rest/V1/stockItems/lowStock", auth=oauth(), timeout=5,
                          params={"scopeId": 0, "qty": 10**9, "pageSize": 1000}).json()
    by_id = {i["product_id"]: i for i in legacy["items"]}
    sources = requests.get(f"{magento.url}/rest/V1/inventory/source-items", auth=oauth(),
                           timeout=5, params=criteria()).json()["items"]
    skus = {i["id"]: i["sku"] for i in magento.products["default"]}
    for product_id, item in by_id.items():
        if item["manage_stock"] and product_id in skus:
            total = sum(s["quantity"] for s in sources if s["sku"] == skus[product_id])
            assert total == item["qty"] or not any(s["sku"] == skus[product_id]
                                                   for s in sources)


def test_parsers():
    assert parse_fields("items[id,extension_attributes[website_ids]],total_count") == {
        "items": {"id": True, "extension_attributes": {"website_ids": True}},
        "total_count": True}
    parsed = parse_search_criteria({"searchCriteria[filterGroups][0][filters][0][field]": ["a"],
                                    "searchCriteria[pageSize]": ["5"]})
    assert parsed == {"filter_groups": [{"filters": [{"field": "a", "value": "",
                                                      "condition_type": "eq"}]}],
                      "page_size": 5}
    assert parse_search_criteria({}) is None
