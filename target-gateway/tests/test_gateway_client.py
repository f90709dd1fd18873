"""The Gateway client module: JWT, payload shapes, error classification, retries, paging."""

from __future__ import annotations

import base64
import json
import re
import time
from decimal import Decimal

import jwt
import pytest
import requests
from target_gateway.gateway import (
    GatewayAuthError,
    GatewayClient,
    GatewayError,
    ProductDraft,
    QueryError,
    UnconfirmedError,
    item_from_product,
    mint_token,
    percent_encode,
    product_item,
    with_stock_level,
)
from target_gateway.settings import SettingsError, check_shop_guid, decode_signing_key

SHOP = "0d9a3c52-7c1e-4e9b-a0f4-3b5c6d7e8f90"
KEY_BYTES = b"unit-test-signing-key-32-bytes!!"
KEY = base64.b64encode(KEY_BYTES).decode()
API = "https://gateway.test"
PRODUCTS = f"{API}/dashboard/webshops/{SHOP}/products"
QUERY = f"{API}/dashboard/webshop_products/_query"


@pytest.fixture
def sleeps(monkeypatch):
    """The waits between retries, instead of sleeping them (the retry mechanism, the
    ``backoff`` package, sleeps with ``time.sleep``)."""
    waits = []
    monkeypatch.setattr(time, "sleep", waits.append)
    return waits


@pytest.fixture
def client(sleeps):
    return GatewayClient(API, SHOP, KEY_BYTES, max_retries=3, backoff=0.5)


def draft(**changes) -> ProductDraft:
    values = {"name": "Koszulka Tatry - M", "desc": "<p>html</p>", "brief": "jedna linia",
              "sku": "116-M", "vat_rate": 23, "net_price": Decimal("210.57"), "for_sale": True,
              "stock_level": 12, "images": ("https://bucket/x.png",),
              "tag_guids": ("variant-tag", "category-tag"), "options": {"Rozmiar": "M"},
              "source": {"platform": "shoper", "product_id": "116", "variant_id": "116-2",
                         "hash": "abc"},
              "image_sources": ("https://shop/x.png",)}
    values.update(changes)
    return ProductDraft(**values)


# -- JWT ----------------------------------------------------------------------------------
def test_jwt_has_the_documented_claims_and_is_hs256_with_the_decoded_key():
    token = mint_token(SHOP, KEY_BYTES)
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(token, KEY_BYTES, algorithms=["HS256"])
    assert claims == {"iss": f"shop:{SHOP}", "organization_guid": SHOP,
                      "groups": ["shopkeeper"]}
    with pytest.raises(jwt.InvalidSignatureError):  # signed with the bytes, not the text
        jwt.decode(token, KEY.encode(), algorithms=["HS256"])


def test_jwt_with_a_ttl_adds_iat_and_exp():
    claims = jwt.decode(mint_token(SHOP, KEY_BYTES, ttl=600, now=1_700_000_000), KEY_BYTES,
                        algorithms=["HS256"], options={"verify_exp": False})
    assert claims["iat"] == 1_700_000_000
    assert claims["exp"] == 1_700_000_600


def test_every_request_carries_the_bearer_token(client, requests_mock):
    requests_mock.get(f"{API}/webshops/{SHOP}/tags/", json=[])
    client.list_shop_tags()
    token = requests_mock.last_request.headers["Authorization"].removeprefix("Bearer ")
    assert jwt.decode(token, KEY_BYTES, algorithms=["HS256"])["organization_guid"] == SHOP


def test_settings_reject_a_non_uuid_guid_and_non_base64_key_without_echoing_it():
    with pytest.raises(SettingsError, match="shop_guid must be a UUID"):
        check_shop_guid("my-shop")
    secret = "not*base64*at*all"
    with pytest.raises(SettingsError, match="not valid base64") as caught:
        decode_signing_key(secret)
    assert secret not in str(caught.value)
    assert decode_signing_key(KEY) == KEY_BYTES
    assert decode_signing_key(base64.urlsafe_b64encode(b"\xfb\xff" * 20).decode()) \
        == b"\xfb\xff" * 20


# -- payloads -----------------------------------------------------------------------------
def test_product_item_is_the_documented_shape_with_net_price_and_vat_class():
    item = product_item(draft())
    assert item == {
        "archived": False, "for_sale": True, "stock_level": 12,
        "product": {
            "name": "Koszulka Tatry - M", "desc": "<p>html</p>", "brief": "jedna linia",
            "sku": "116-M", "vat": "VAT23", "base_price_type": "retail",
            "base_price": {"currency": "zł", "vat_percent": 0, "amount": Decimal("210.57")},
            "cost_price": {"currency": "zł", "vat_percent": 0, "amount": Decimal("0.00")},
            "images": ["https://bucket/x.png"],
            "tag_guids": ["variant-tag", "category-tag"],
            "data": {"variants": {"Rozmiar": "M"},
                     "source": {"platform": "shoper", "product_id": "116",
                                "variant_id": "116-2", "hash": "abc"},
                     "image_sources": ["https://shop/x.png"]}}}


def test_the_net_is_sent_unrounded_and_untracked_stock_is_left_out():
    # 158.00 zł at 23%: the planner derives 128.455; rounding it to 128.46 would show 158.01
    item = product_item(draft(net_price=Decimal("128.455"), stock_level=None, vat_rate=5,
                              sku=None))
    assert item["product"]["base_price"]["amount"] == Decimal("128.455")
    assert item["product"]["vat"] == "VAT5"
    assert "stock_level" not in item
    assert "sku" not in item["product"]


def test_item_from_a_queried_product_recreates_the_update_body():
    sent = product_item(draft())
    queried = {"guid": "g1", "owner_guid": SHOP, **sent["product"], "for_sale": True,
               "stock_level": 12, "price": {"base": {"amount": 1}}, "archived": None}
    assert item_from_product(queried) == sent
    assert with_stock_level(sent, 3)["stock_level"] == 3
    assert "stock_level" not in with_stock_level(sent, None)
    assert sent["stock_level"] == 12  # the original is not changed


def test_item_from_a_product_without_base_price_uses_the_net_unit_of_price():
    queried = {"guid": "g", "name": "X", "vat": "VAT8", "tags": [{"guid": "t1"}],
               "price": {"base": {"amount": Decimal("9.99"), "vat0": Decimal("9.25"),
                                  "currency": "zł"}}}
    item = item_from_product(queried)
    assert item["product"]["base_price"] == {"currency": "zł", "vat_percent": 0,
                                             "amount": Decimal("9.25")}
    assert item["product"]["tag_guids"] == ["t1"]


def test_urls_are_percent_encoded_for_the_download_route():
    assert percent_encode("https://sklep.pl/zdjęcia/kubek żółty.jpg?w=1") == \
        "https://sklep.pl/zdj%C4%99cia/kubek%20%C5%BC%C3%B3%C5%82ty.jpg?w=1"
    assert percent_encode("https://sklep.pl/a%20b.jpg") == "https://sklep.pl/a%20b.jpg"


def test_create_sends_the_batch_body_and_maps_answers_to_source_keys(client, requests_mock):
    requests_mock.post(PRODUCTS, status_code=201,
                       json={"products": [{"guid": "g1"}, {"guid": "g2"}]})
    items = [(("shoper", "1", "1"), product_item(draft(name="A"))),
             (("shoper", "2", "2"), product_item(draft(name="B")))]
    results = client.create_products(items)
    assert results == {("shoper", "1", "1"): {"guid": "g1"}, ("shoper", "2", "2"): {"guid": "g2"}}
    body = json.loads(requests_mock.last_request.body)
    assert [p["product"]["name"] for p in body["products"]] == ["A", "B"]
    assert body["products"][0]["product"]["base_price"]["amount"] == 210.57


def test_update_is_one_call_to_the_candidate_route(client, requests_mock):
    route = requests_mock.post(f"{API}/organizations/{SHOP}/products/g1", json={"guid": "g1"})
    client.update_product("g1", product_item(draft()))
    assert route.call_count == 1
    assert json.loads(route.last_request.body)["product"]["name"] == "Koszulka Tatry - M"


# -- errors and retries -------------------------------------------------------------------
def test_429_is_retried_after_the_retry_after_seconds(client, requests_mock, sleeps):
    route = requests_mock.post(f"{API}/downloads/", [
        {"status_code": 429, "headers": {"Retry-After": "7"}, "json": {}},
        {"status_code": 503, "json": {"message": "busy"}},
        {"status_code": 200, "json": {"url": "https://bucket/a.png"}}])
    assert client.copy_image("https://shop/a.png") == "https://bucket/a.png"
    assert route.call_count == 3
    assert sleeps[0] == 7.0
    assert 0.25 <= sleeps[1] <= 1.0  # no Retry-After: backoff 0.5 * 2 ** 1, jittered


def test_dropped_connections_are_retried_and_then_reported(client, requests_mock, sleeps):
    requests_mock.get(f"{API}/bootstrap", exc=requests.ConnectionError("reset"))
    with pytest.raises(GatewayError, match="connection dropped") as caught:
        client.category_tree()
    assert caught.value.retriable
    assert len(sleeps) == 3
    assert requests_mock.call_count == 4


def test_other_4xx_fail_without_retry_and_401_is_an_auth_error(client, requests_mock, sleeps):
    requests_mock.post(f"{API}/downloads/", status_code=400, json={"message": "bad url"})
    with pytest.raises(GatewayError, match="400: bad url"):
        client.copy_image("https://shop/a.png")
    requests_mock.get(f"{API}/bootstrap", status_code=401, json={"message": "Unauthorized"})
    with pytest.raises(GatewayAuthError):
        client.category_tree()
    assert sleeps == []


def test_409_gives_the_existing_tag_guid(client, requests_mock):
    guid = "403b62c1-5370-53ad-b71d-8ed1916c94f7"
    requests_mock.post(f"{API}/webshops/{SHOP}/tags/", status_code=409,
                       json={"message": f"Tag ({guid}) already exists"})
    assert client.create_tag("Phone S6") == (guid, False)
    assert json.loads(requests_mock.last_request.body) == {"name": "Phone S6",
                                                           "type": "variant"}
    requests_mock.post(f"{API}/webshops/{SHOP}/tags/", status_code=201,
                       json={"guid": "new-guid", "name": "Phone S7"})
    assert client.create_tag("Phone S7") == ("new-guid", True)


def test_a_4xx_batch_is_retried_one_by_one_so_only_the_bad_product_fails(client,
                                                                          requests_mock):
    def answer(request, context):
        products = request.json()["products"]
        if any(p["product"]["name"] == "bad" for p in products):
            context.status_code = 400
            return {"message": "invalid products"}
        context.status_code = 201
        return {"products": [{"guid": f"g-{p['product']['name']}"} for p in products]}

    requests_mock.post(PRODUCTS, json=answer)
    items = [(("p", str(i), str(i)), product_item(draft(name=name)))
             for i, name in enumerate(["ok1", "bad", "ok2"])]
    results = client.create_products(items)
    assert results[("p", "0", "0")] == {"guid": "g-ok1"}
    assert results[("p", "2", "2")] == {"guid": "g-ok2"}
    assert isinstance(results[("p", "1", "1")], GatewayError)
    assert requests_mock.call_count == 4


def test_an_ambiguous_create_failure_is_reconciled_not_duplicated(client, requests_mock):
    landed = {"guid": "g1", "data": {"source": {"platform": "p", "product_id": "1",
                                                "variant_id": "1"}}}
    create = requests_mock.post(PRODUCTS, [
        {"exc": requests.ConnectionError("Connection aborted")},
        {"status_code": 201, "json": {"products": [{"guid": "g2"}]}}])
    query = requests_mock.post(QUERY, json={"products": [landed], "total": 1})
    items = [(("p", "1", "1"), product_item(draft(name="A"))),
             (("p", "2", "2"), product_item(draft(name="B")))]
    results = client.create_products(items)
    assert results == {("p", "1", "1"): landed, ("p", "2", "2"): {"guid": "g2"}}
    assert [p["product"]["name"] for p in create.last_request.json()["products"]] == ["B"]
    terms = query.last_request.json()["dsl"]["query"]["bool"]["must"][1]
    assert terms == {"terms": {"data.source.variant_id": ["1", "2"]}}


# -- queries ------------------------------------------------------------------------------
def _page(n, start):
    return [{"guid": f"g{i:03d}", "timestamps": {"created": f"2024-01-{i:02d}"}}
            for i in range(start, start + n)]


def test_the_query_pages_to_the_end_with_search_after(client, requests_mock):
    route = requests_mock.post(QUERY, [{"json": {"products": _page(100, 1), "total": 130}},
                                       {"json": {"products": _page(30, 101), "total": 130}}])
    products = list(client.iter_products())
    assert len(products) == 130
    assert route.call_count == 2  # the total says the second page was the end
    first, second = (json.loads(r.body)["dsl"] for r in route.request_history)
    assert first["query"] == {"bool": {
        "must": [{"match": {"owner_guid": SHOP}}],
        "must_not": [{"exists": {"field": "archived"}}]}}
    assert first["size"] == 100
    assert "search_after" not in first
    assert second["search_after"] == ["2024-01-100", "g100"]


def test_without_a_total_only_an_empty_page_proves_the_end(client, requests_mock):
    route = requests_mock.post(QUERY, [{"json": {"products": _page(100, 1)}},
                                       {"json": {"products": _page(30, 101)}},
                                       {"json": {"products": []}}])
    assert len(list(client.iter_products())) == 130
    assert route.call_count == 3
    route = requests_mock.post(QUERY, [{"json": {"products": _page(30, 1)}},
                                       {"json": {"products": _page(30, 31)}}])
    with pytest.raises(QueryError, match=r"a short page was not the end .*caps `size`"):
        list(client.iter_products())


@pytest.mark.parametrize(("pages", "message"), [
    # search_after ignored: the same first page again
    ([_page(100, 1), _page(100, 1)], "page 2 of the product query repeats product g001: the "
                                     "Gateway does not honour `search_after`"),
    # size ignored (Elasticsearch's default of 10) or capped below what was asked
    ([_page(10, 1)], "page 1 of the product query holds 10 products where 100 were asked for, "
                     "after 10 of the 250 the Gateway counts: the Gateway caps or ignores"),
    ([_page(250, 1)], "holds 250 products where 100 were asked for: the Gateway does not "
                      "honour `size`"),
    ([_page(100, 1), []], "page 2 of the product query holds 0 products where 100 were asked "
                          "for, after 100 of the 250"),
])
def test_a_query_answered_otherwise_than_asked_is_an_error_not_the_end(client, requests_mock,
                                                                       pages, message):
    requests_mock.post(QUERY, [{"json": {"products": page, "total": 250}} for page in pages])
    with pytest.raises(QueryError, match=re.escape(message)):
        list(client.iter_products())


def test_the_query_stops_when_the_api_ignores_paging_without_a_cursor(client, requests_mock):
    same = {"products": [{"guid": f"g{i}"} for i in range(100)]}
    route = requests_mock.post(QUERY, json=same)
    with pytest.raises(QueryError, match="repeats product g0"):
        list(client.iter_products())
    assert route.call_count == 2
    assert json.loads(route.last_request.body)["dsl"]["from"] == 100


@pytest.mark.parametrize(("answer", "what"), [
    ({"text": "<html>OK</html>", "status_code": 200}, "a body that is not JSON"),
    ({"json": [], "status_code": 201}, "an answer without 2 of the 2 products"),
    ({"text": "", "status_code": 201}, "an empty body"),
])
def test_a_create_answered_without_the_products_is_reconciled(client, requests_mock, answer,
                                                              what):
    landed = {"guid": "g1", "data": {"source": {"platform": "p", "product_id": "1",
                                                "variant_id": "1"}}}
    create = requests_mock.post(PRODUCTS, **answer)
    requests_mock.post(QUERY, json={"products": [landed], "total": 1})
    items = [(("p", "1", "1"), product_item(draft(name="A"))),
             (("p", "2", "2"), product_item(draft(name="B")))]
    results = client.create_products(items)
    assert results[("p", "1", "1")] == landed  # found by the query: confirmed
    unconfirmed = results[("p", "2", "2")]
    assert isinstance(unconfirmed, UnconfirmedError)
    assert str(unconfirmed) == (f"the create was answered with {what} and is not confirmed "
                                "(the shop's products do not include it either)")
    assert create.call_count == 1  # never sent again blind


def test_upload_goes_through_the_presigned_post(client, requests_mock):
    requests_mock.post(f"{API}/uploads/", json={
        "url": "https://bucket.test/", "fields": {"key": f"{SHOP}/abc.png", "policy": "p",
                                                  "x-amz-signature": "s"}})
    bucket = requests_mock.post("https://bucket.test/", status_code=204)
    url = client.upload_image("abc.png", "image/png", b"\x89PNG bytes")
    assert url == f"https://bucket.test/{SHOP}/abc.png"
    assert json.loads(requests_mock.request_history[0].body) == {
        "filename": "abc.png", "content_type": "image/png"}
    sent = bucket.last_request
    assert "Authorization" not in sent.headers
    body = sent.body
    assert b'name="policy"' in body
    assert b'name="file"; filename="abc.png"' in body
    assert body.index(b'name="key"') < body.index(b'name="file"')
