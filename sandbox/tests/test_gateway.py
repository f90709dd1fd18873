"""The Gateway emulator over real sockets: auth, products, query, tags, categories, images."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import time

import jwt
import pytest
import requests
from sandbox.catalog import tiny_png
from sandbox.gateway import (
    DEMO_SHOP_GUID,
    DEMO_SIGNING_KEY,
    GatewayEmulator,
    category_guid,
    parse_multipart,
)
from sandbox.server import Emulator, RateLimit, Response, Switches, route

OTHER_SHOP = "11111111-1111-4111-8111-111111111111"
OTHER_KEY = base64.b64encode(b"other-shop-signing-key-000000000").decode()
PNG = tiny_png((200, 10, 10))


def token(shop=DEMO_SHOP_GUID, key=DEMO_SIGNING_KEY, **claims):
    body = {"iss": f"shop:{shop}", "organization_guid": shop, "groups": ["shopkeeper"]}
    body.update(claims)
    return jwt.encode(body, base64.b64decode(key), algorithm="HS256")


def auth(shop=DEMO_SHOP_GUID, key=DEMO_SIGNING_KEY, **claims):
    return {"Authorization": f"Bearer {token(shop, key, **claims)}"}


def item(name="Kubek - biały", variant_id="1", tags=(), amount=10.5, **extra):
    return {"archived": False, "for_sale": True, "stock_level": 3, "product": {
        "name": name, "desc": "<p>x</p>", "brief": "x", "sku": "K-1", "vat": "VAT23",
        "base_price_type": "retail",
        "base_price": {"currency": "zł", "vat_percent": 0, "amount": amount},
        "cost_price": {"currency": "zł", "vat_percent": 0, "amount": 0},
        "images": [], "tag_guids": list(tags),
        "data": {"variants": {}, "source": {"platform": "t", "product_id": "p",
                                            "variant_id": variant_id}}}, **extra}


@pytest.fixture(scope="module")
def gateway():
    with GatewayEmulator({OTHER_SHOP: OTHER_KEY}) as emulator:
        yield emulator


@pytest.fixture
def gw(gateway):
    """A fresh emulator per test where state matters."""
    with GatewayEmulator({OTHER_SHOP: OTHER_KEY}) as emulator:
        yield emulator


def products_url(gw, shop=DEMO_SHOP_GUID):
    return f"{gw.url}/dashboard/webshops/{shop}/products"


def query(gw, dsl, headers=None):
    return requests.post(f"{gw.url}/dashboard/webshop_products/_query", json={"dsl": dsl},
                         headers=headers or auth(), timeout=5)


# -- auth ---------------------------------------------------------------------------------
def test_a_valid_token_is_accepted(gateway):
    answer = requests.get(f"{gateway.url}/bootstrap", headers=auth(), timeout=5)
    assert answer.status_code == 200


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Basic abc"},
    auth(key=OTHER_KEY),  # signed with another key
    auth(iss="shop:someone-else"),
    auth(groups=["customer"]),
    auth(exp=int(time.time()) - 10),
    auth(shop="22222222-2222-4222-8222-222222222222"),  # unknown shop
    {"Authorization": "Bearer not.a.jwt"},
], ids=["none", "basic", "wrong-key", "iss", "groups", "expired", "unknown-shop", "garbage"])
def test_bad_tokens_are_401(gateway, headers):
    answer = requests.get(f"{gateway.url}/bootstrap", headers=headers, timeout=5)
    assert answer.status_code == 401
    assert answer.json()["message"].startswith("Unauthorized")


def test_an_unsigned_alg_none_token_is_401(gateway):
    def part(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    claims = {"iss": f"shop:{DEMO_SHOP_GUID}", "organization_guid": DEMO_SHOP_GUID,
              "groups": ["shopkeeper"]}
    forged = f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."
    answer = requests.get(f"{gateway.url}/bootstrap", timeout=5,
                          headers={"Authorization": f"Bearer {forged}"})
    assert answer.status_code == 401


def test_a_token_of_one_shop_cannot_write_to_another(gateway):
    answer = requests.post(products_url(gateway, OTHER_SHOP), json={"products": [item()]},
                           headers=auth(), timeout=5)
    assert answer.status_code == 403


# -- products -----------------------------------------------------------------------------
def test_batch_create_then_query_and_delete(gw):
    created = requests.post(products_url(gw), headers=auth(), timeout=5, json={
        "products": [item("A", "1"), item("B", "2")]})
    assert created.status_code == 201
    guids = [p["guid"] for p in created.json()["products"]]
    assert len(set(guids)) == 2
    requests.post(products_url(gw, OTHER_SHOP), headers=auth(OTHER_SHOP, OTHER_KEY), timeout=5,
                  json={"products": [item("C", "3")]})
    dsl = {"size": 10, "sort": [{"timestamps.created": "desc"}, {"guid": "asc"}],
           "query": {"bool": {"must": [{"match": {"owner_guid": DEMO_SHOP_GUID}}],
                              "must_not": [{"exists": {"field": "archived"}}]}}}
    listed = query(gw, dsl).json()["products"]
    assert sorted(p["name"] for p in listed) == ["A", "B"]
    product = listed[0]
    assert product["owner_guid"] == DEMO_SHOP_GUID
    assert product["price"]["base"]["gross"] == 12.92  # 10.50 net at 23%
    deleted = requests.delete(f"{products_url(gw)}/{guids[0]}/", headers=auth(), timeout=5)
    assert deleted.status_code == 200
    assert [p["name"] for p in query(gw, dsl).json()["products"]] == ["B"]
    assert len(gw.products(DEMO_SHOP_GUID, include_archived=True)) == 2
    assert len(gw.products(DEMO_SHOP_GUID)) == 1


def test_a_malformed_batch_is_refused_whole_with_every_problem(gw):
    bad = item("", "2", tags=["00000000-0000-4000-8000-000000000000"], amount=1.23456)
    bad["product"]["vat"] = "VAT7"
    bad["stock_level"] = -1
    answer = requests.post(products_url(gw), headers=auth(), timeout=5,
                           json={"products": [item("ok"), bad]})
    assert answer.status_code == 400
    errors = answer.json()["errors"]
    assert "products[1]: product.name is required" in errors
    assert any("vat must be one of" in e for e in errors)
    assert any("more than 4 decimal places" in e for e in errors)
    assert any("unknown tag" in e for e in errors)
    assert any("stock_level" in e for e in errors)
    assert gw.products(DEMO_SHOP_GUID) == []


def test_query_pages_with_size_from_and_search_after_and_filters_by_source(gw):
    requests.post(products_url(gw), headers=auth(), timeout=5,
                  json={"products": [item(f"P{i}", str(i)) for i in range(7)]})
    sort = [{"timestamps.created": "desc"}, {"guid": "asc"}]
    base = {"bool": {"must": [{"match": {"owner_guid": DEMO_SHOP_GUID}}]}}
    first = query(gw, {"size": 3, "sort": sort, "query": base}).json()["products"]
    second = query(gw, {"size": 3, "from": 3, "sort": sort, "query": base}).json()["products"]
    last = first[-1]
    after = query(gw, {"size": 3, "sort": sort, "query": base, "search_after": [
        last["timestamps"]["created"], last["guid"]]}).json()["products"]
    assert [p["guid"] for p in second] == [p["guid"] for p in after]
    everything = query(gw, {"size": 100, "sort": sort, "query": base}).json()["products"]
    assert [p["guid"] for p in everything[:6]] == [p["guid"] for p in first + second]
    by_source = {"bool": {"must": [{"terms": {"data.source.variant_id": ["2", "5"]}}]}}
    found = query(gw, {"size": 10, "query": by_source}).json()["products"]
    assert sorted(p["name"] for p in found) == ["P2", "P5"]
    assert query(gw, {"query": {"wildcard": {"x": "y"}}}).status_code == 400


def test_the_update_candidate_replaces_an_existing_product_or_creates_at_the_guid(gw):
    created = requests.post(products_url(gw), headers=auth(), timeout=5,
                            json={"products": [item("Stary")]}).json()["products"][0]
    url = f"{gw.url}/organizations/{DEMO_SHOP_GUID}/products/{created['guid']}"
    updated = requests.post(url, json=item("Nowy", amount=11), headers=auth(), timeout=5)
    assert updated.status_code == 200
    [product] = gw.products(DEMO_SHOP_GUID)
    assert (product["name"], product["base_price"]["amount"]) == ("Nowy", 11)
    assert product["timestamps"]["created"] == created["timestamps"]["created"]
    chosen = "9e6b6c2e-1c1a-4c59-9a39-2f1f0b7b0c11"
    made = requests.post(f"{gw.url}/organizations/{DEMO_SHOP_GUID}/products/{chosen}",
                         json=item("Inny"), headers=auth(), timeout=5)
    assert made.status_code == 201
    assert {p["guid"] for p in gw.products(DEMO_SHOP_GUID)} == {created["guid"], chosen}
    stolen = requests.post(f"{gw.url}/organizations/{OTHER_SHOP}/products/{chosen}",
                           json=item("X"), headers=auth(OTHER_SHOP, OTHER_KEY), timeout=5)
    assert stolen.status_code == 403


# -- tags and categories ------------------------------------------------------------------
def test_variant_tags_are_name_based_and_duplicates_answer_409(gw):
    url = f"{gw.url}/webshops/{DEMO_SHOP_GUID}/tags/"
    made = requests.post(url, json={"name": "Phone S6", "type": "variant"}, headers=auth(),
                         timeout=5)
    assert made.status_code == 201
    guid = made.json()["guid"]
    again = requests.post(url, json={"name": "Phone S6", "type": "variant"}, headers=auth(),
                          timeout=5)
    assert again.status_code == 409
    assert again.json()["message"] == f"Tag ({guid}) already exists"
    other = requests.post(f"{gw.url}/webshops/{OTHER_SHOP}/tags/", timeout=5,
                          json={"name": "Phone S6", "type": "variant"},
                          headers=auth(OTHER_SHOP, OTHER_KEY))
    assert other.status_code == 201  # names are per shop
    requests.post(products_url(gw), headers=auth(), timeout=5,
                  json={"products": [item("Phone S6 - 64GB", tags=[guid])]})
    [listed] = requests.get(url, headers=auth(), timeout=5).json()
    assert listed["name"] == "Phone S6"
    assert listed["type"] == "variant"
    assert len(listed["product_guids"]) == 1
    product_guid = listed["product_guids"][0]
    removed = requests.put(f"{gw.url}/product_tags/{guid}", json={"delete": [product_guid]},
                           headers=auth(), timeout=5)
    assert removed.status_code == 200
    assert gw.products(DEMO_SHOP_GUID)[0]["tag_guids"] == []
    assert requests.delete(f"{url}{guid}/", headers=auth(), timeout=5).status_code == 200
    assert gw.tags(DEMO_SHOP_GUID) == []


def test_category_tags_and_bootstrap_come_from_the_seeded_tree(gateway):
    tree = requests.get(f"{gateway.url}/bootstrap", headers=auth(), timeout=5).json()
    roots = [node["name"] for node in tree["tag_hierarchy"]]
    assert "Moda" in roots
    moda = next(n for n in tree["tag_hierarchy"] if n["name"] == "Moda")
    damska = next(n for n in moda["children"] if n["name"] == "Odzież damska")
    sukienki = next(n for n in damska["children"] if n["name"] == "Sukienki")
    assert sukienki["guid"] == category_guid("Moda>Odzież damska>Sukienki")
    flat = requests.get(f"{gateway.url}/tags/?type=category", headers=auth(), timeout=5).json()
    by_guid = {t["guid"]: t for t in flat}
    assert by_guid[sukienki["guid"]]["parent_guid"] == damska["guid"]
    assert all(t["type"] == "category" for t in flat)


# -- images -------------------------------------------------------------------------------
class Images(Emulator):
    name = "images"

    @route("GET", r"/(?P<name>[\w.-]+)")
    def image(self, request, name):
        if name.endswith(".png"):
            return Response(200, PNG, content_type="image/png")
        return Response(200, b"<html>", content_type="text/html")


def test_downloads_copy_public_images_into_the_bucket(gw):
    with Images() as images:
        answer = requests.post(f"{gw.url}/downloads/", json={"url": f"{images.url}/a.png"},
                               headers=auth(), timeout=5)
        assert answer.status_code == 200
        url = answer.json()["url"]
        assert url == (f"{gw.url}/bucket/{DEMO_SHOP_GUID}/"
                       f"{hashlib.sha1(PNG).hexdigest()}.png")  # noqa: S324
        served = requests.get(url, timeout=5)
        assert served.content == PNG
        assert served.headers["Content-Type"] == "image/png"
        page = requests.post(f"{gw.url}/downloads/", json={"url": f"{images.url}/page"},
                             headers=auth(), timeout=5)
        assert page.status_code == 422
        assert gw.downloads == [f"{images.url}/a.png", f"{images.url}/page"]
    raw = requests.post(f"{gw.url}/downloads/", json={"url": "https://sklep.pl/żółw.png"},
                        headers=auth(), timeout=5)
    assert raw.status_code == 400  # not percent-encoded


def test_downloads_only_record_urls_when_not_fetching():
    with GatewayEmulator(fetch_downloads=False) as gw:
        answer = requests.post(f"{gw.url}/downloads/", json={"url": "https://shop.test/a.png"},
                               headers=auth(), timeout=5)
        assert answer.status_code == 200
        assert answer.json()["url"].startswith(f"{gw.url}/bucket/{DEMO_SHOP_GUID}/dl-")
        assert gw.downloads == ["https://shop.test/a.png"]


def test_uploads_answer_a_presigned_post_that_the_bucket_accepts(gw):
    signed = requests.post(f"{gw.url}/uploads/", headers=auth(), timeout=5,
                           json={"filename": "abc.png", "content_type": "image/png"}).json()
    assert signed["url"] == f"{gw.url}/bucket/"
    assert signed["fields"]["key"] == f"{DEMO_SHOP_GUID}/abc.png"
    upload = requests.post(signed["url"], data=signed["fields"], timeout=5,
                           files={"file": ("abc.png", PNG, "image/png")})
    assert upload.status_code == 204
    final = signed["url"] + signed["fields"]["key"]
    assert requests.get(final, timeout=5).content == PNG
    forged = dict(signed["fields"], key=f"{DEMO_SHOP_GUID}/other.png")
    refused = requests.post(signed["url"], data=forged, timeout=5,
                            files={"file": ("x.png", PNG, "image/png")})
    assert refused.status_code == 403
    assert gw.state()["bucket"] == [{"key": f"{DEMO_SHOP_GUID}/abc.png",
                                     "content_type": "image/png", "size": len(PNG),
                                     "sha1": hashlib.sha1(PNG).hexdigest()}]  # noqa: S324


def test_multipart_parser_keeps_binary_parts_intact():
    body = (b"--XyZ\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk/1.png\r\n"
            b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"1.png\"\r\n"
            b"Content-Type: image/png\r\n\r\n\x00\r\n\xff\r\n--XyZ--\r\n")
    fields = parse_multipart(body, "multipart/form-data; boundary=XyZ")
    assert fields["key"] == (None, None, b"k/1.png")
    assert fields["file"] == ("1.png", "image/png", b"\x00\r\n\xff")
    with pytest.raises(ValueError, match="multipart"):
        parse_multipart(body, "application/json")


# -- state and switches -------------------------------------------------------------------
def test_state_dump_shows_what_the_shop_ended_up_with(gw):
    requests.post(products_url(gw), headers=auth(), timeout=5, json={"products": [item("A")]})
    state = requests.get(f"{gw.url}/_emulator/state", timeout=5).json()
    assert [p["name"] for p in state["products"]] == ["A"]
    assert DEMO_SHOP_GUID in state["shops"]
    assert state["category_tree"][0]["name"] == "Moda"


def test_shared_switches_fault_and_throttle_the_api():
    switches = Switches(rate_limit=RateLimit(capacity=1, leak_per_second=0.5))
    with GatewayEmulator(switches=switches) as gw:
        assert requests.get(f"{gw.url}/bootstrap", headers=auth(), timeout=5).status_code == 200
        limited = requests.get(f"{gw.url}/bootstrap", headers=auth(), timeout=5)
        assert limited.status_code == 429
        assert int(limited.headers["Retry-After"]) >= 1
        gw.apply_switches({"rate_limit": None, "error_rate": 1.0})
        assert requests.get(f"{gw.url}/bootstrap", headers=auth(), timeout=5).status_code == 503


def test_the_command_line_serves_registered_shops():
    process = subprocess.Popen([sys.executable, "-m", "sandbox.gateway", "--shop",
                                f"{OTHER_SHOP}:{OTHER_KEY}"], stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("gateway listening on http://127.0.0.1:")
        url = line.split()[-1]
        answer = requests.get(f"{url}/webshops/{OTHER_SHOP}/tags/", timeout=5,
                              headers=auth(OTHER_SHOP, OTHER_KEY))
        assert answer.status_code == 200
        assert answer.json() == []
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()
