"""The Shoper emulator over real sockets: auth, shapes, paging, filters, order, throttling."""

import json

import pytest
import requests
from sandbox.catalog import generate_catalog
from sandbox.server import RateLimit, Switches
from sandbox.shoper import ShoperEmulator

API = "/webapi/rest"


@pytest.fixture(scope="module")
def shop():
    with ShoperEmulator(n_products=25, seed=7) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def bearer(shop):
    answer = requests.post(f"{shop.url}{API}/auth",
                           data={"client_id": "demo", "client_secret": "demo-password"},
                           timeout=5)
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def get(shop, bearer, resource, **params):
    answer = requests.get(f"{shop.url}{API}/{resource}", params=params, headers=bearer,
                          timeout=5)
    assert answer.status_code == 200, answer.text
    return answer


def all_rows(shop, bearer, resource, **params):
    rows, page = [], 1
    while True:
        body = get(shop, bearer, resource, limit=50, page=page, **params).json()
        rows += body["list"]
        if page >= body["pages"]:
            return rows
        page += 1


def test_auth_by_form_and_by_basic_and_refusals(shop):
    form = requests.post(f"{shop.url}{API}/auth",
                         data={"client_id": "demo", "client_secret": "demo-password"},
                         timeout=5)
    assert form.status_code == 200
    body = form.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 2592000
    assert len(body["access_token"]) == 40
    basic = requests.post(f"{shop.url}{API}/auth", auth=("demo", "demo-password"), timeout=5)
    assert basic.status_code == 200
    wrong = requests.post(f"{shop.url}{API}/auth", auth=("demo", "nope"), timeout=5)
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "unauthorized_client"
    no_token = requests.get(f"{shop.url}{API}/products", timeout=5)
    assert no_token.status_code == 401
    assert no_token.json() == {"error": "unauthorized_client",
                               "error_description": "Provided access token is invalid"}


def test_static_token_and_expiry():
    with ShoperEmulator(n_products=3, access_token="integration-token") as emulator:
        url = f"{emulator.url}{API}/taxes"
        assert requests.get(url, headers={"Authorization": "Bearer integration-token"},
                            timeout=5).status_code == 200
        token = requests.post(f"{emulator.url}{API}/auth", auth=("demo", "demo-password"),
                              timeout=5).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        assert requests.get(url, headers=headers, timeout=5).status_code == 200
        emulator.expire_tokens()
        assert requests.get(url, headers=headers, timeout=5).status_code == 401


def test_paging_envelope_count_is_a_string_and_limit_above_50_becomes_10(shop, bearer):
    answer = get(shop, bearer, "products", limit=10, page=3, order="product_id ASC")
    body = answer.json()
    assert body["count"] == "25"
    assert body["pages"] == 3
    assert body["page"] == 3
    assert [p["product_id"] for p in body["list"]] == [str(i) for i in range(21, 26)]
    assert answer.headers["X-Shop-Result-Count"] == "25"
    assert answer.headers["X-Shop-Result-Pages"] == "3"
    too_big = get(shop, bearer, "products", limit=100).json()
    assert len(too_big["list"]) == 10
    assert too_big["pages"] == 3


def test_order_asc_desc_bare_and_none(shop, bearer):
    def ids(**params):
        return [int(p["product_id"]) for p in get(shop, bearer, "products", limit=50,
                                                   **params).json()["list"]]

    assert ids(order="product_id ASC") == list(range(1, 26))
    assert ids(order="product_id DESC") == list(range(25, 0, -1))
    assert ids(order="product_id") == list(range(25, 0, -1))  # bare: descending
    unordered = ids()
    assert sorted(unordered) == list(range(1, 26))
    assert unordered != list(range(1, 26))


def test_filters_json_bracket_ignored_and_refused(shop, bearer):
    stocks = get(shop, bearer, "product-stocks", limit=50,
                 filters=json.dumps({"product_id": {"in": [2, 3]}})).json()["list"]
    assert stocks
    assert {s["product_id"] for s in stocks} == {"2", "3"}
    bracket = get(shop, bearer, "product-stocks", limit=50,
                  **{"filters[product_id]": "2"}).json()["list"]
    assert {s["product_id"] for s in bracket} == {"2"}
    extended = all_rows(shop, bearer, "product-stocks", filters=json.dumps({"extended": 1}))
    assert extended
    assert all(s["extended"] == "1" for s in extended)
    ignored = get(shop, bearer, "product-images", limit=10,
                  filters=json.dumps({"hidden": "1"})).json()
    assert ignored["count"] == get(shop, bearer, "product-images", limit=10).json()["count"]
    refused = requests.get(f"{shop.url}{API}/products", headers=bearer, timeout=5,
                           params={"filters": json.dumps({"code": "PRD-00001"})})
    assert refused.status_code == 404
    assert refused.json()["error"] == "invalid_request"
    edited = get(shop, bearer, "products", limit=50,
                 filters=json.dumps({"edit_date": {">=": "2024-06-01 00:00:00"}})).json()
    assert 0 < int(edited["count"]) < 25
    assert all(p["edit_date"] >= "2024-06-01 00:00:00" for p in edited["list"])


def test_key_filters_for_keyset_paging_compare_ids_as_numbers(shop, bearer):
    # product_id > 9 must not compare as text ("10" < "9"); combined with edit_date
    after = get(shop, bearer, "products", limit=5, page=1, order="product_id ASC",
                filters=json.dumps({"product_id": {">": 9}})).json()
    assert [p["product_id"] for p in after["list"]] == ["10", "11", "12", "13", "14"]
    assert (after["count"], after["pages"]) == ("16", 4)  # of the filtered rows
    both = get(shop, bearer, "products", limit=50, order="product_id ASC", filters=json.dumps(
        {"product_id": {">": 9}, "edit_date": {">=": "2024-06-01 00:00:00"}})).json()["list"]
    assert both
    assert all(int(p["product_id"]) > 9 and p["edit_date"] >= "2024-06-01 00:00:00"
               for p in both)
    bracket = get(shop, bearer, "product-stocks", limit=50, order="stock_id ASC",
                  **{"filters[stock_id][>]": "1000010", "filters[extended]": "1"}).json()
    assert bracket["list"]
    assert all(int(s["stock_id"]) > 1000010 and s["extended"] == "1" for s in bracket["list"])


def test_shoper_shapes(shop, bearer):
    products = all_rows(shop, bearer, "products", order="product_id ASC")
    stocks = all_rows(shop, bearer, "product-stocks", order="stock_id ASC")
    simple = next(p for p in products if not p["options"])
    with_variants = next(p for p in products if p["options"])
    assert isinstance(simple["product_id"], str)
    assert isinstance(simple["categories"][0], int)
    assert simple["stock"]["extended"] == "0"
    assert simple["stock"]["default"] == "1"
    assert simple["group_id"] is None
    assert simple["attributes"] != []
    listed = {str(i) for i in with_variants["options"]}
    rows = {s["stock_id"]: s for s in stocks if s["product_id"] == with_variants["product_id"]}
    assert listed == {sid for sid, row in rows.items() if row["extended"] == "1"}
    default = next(r for r in rows.values() if r["extended"] == "0")
    assert default["options"] == []
    variant = rows[min(listed, key=int)]
    assert isinstance(variant["options"], dict)
    assert variant["options"]
    taxes = {t["name"]: t["value"] for t in all_rows(shop, bearer, "taxes")}
    assert taxes["zw."] == taxes["0%"] == taxes["np."] == "0"
    config = get(shop, bearer, "application-config").json()
    assert config["default_language_name"] == "pl_PL"
    assert config["locale_timezone"] == "Europe/Warsaw"
    locales = {p["product_id"]: set(p["translations"]) for p in products}
    assert {"pl_PL"} in locales.values()
    assert {"pl_PL", "en_GB"} in locales.values()
    tree = get(shop, bearer, "categories-tree").json()
    assert isinstance(tree, list)
    assert isinstance(tree[0]["id"], int)
    assert tree[0]["children"]


def test_images_are_public_files_with_their_type(shop, bearer):
    images = all_rows(shop, bearer, "product-images")
    row = images[0]
    path = f"/userdata/public/gfx/{row['unic_name']}.{row['extension']}"
    answer = requests.get(shop.url + path, timeout=5)  # no token: a storefront file
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "image/png"
    assert answer.content.startswith(b"\x89PNG")
    assert requests.head(shop.url + path, timeout=5).status_code == 200
    assert requests.get(shop.url + "/userdata/public/gfx/nope.png", timeout=5).status_code == 404


def test_not_a_shoper_path_is_a_bare_html_404(shop):
    answer = requests.get(f"{shop.url}/shop/webapi/rest/products", timeout=5)
    assert answer.status_code == 404
    assert answer.headers["Content-Type"].startswith("text/html")


def test_missing_object_is_shopers_json_404(shop, bearer):
    answer = requests.get(f"{shop.url}{API}/products/99999", headers=bearer, timeout=5)
    assert answer.status_code == 404
    assert answer.json() == {"error": "invalid_request", "error_description": "Resource not found"}
    assert get(shop, bearer, "products/3").json()["product_id"] == "3"


def test_leaky_bucket_headers_and_429():
    switches = Switches(rate_limit=RateLimit(capacity=3, leak_per_second=0.5))
    with ShoperEmulator(n_products=3, switches=switches, access_token="t") as emulator:
        headers = {"Authorization": "Bearer t"}
        answers = [requests.get(f"{emulator.url}{API}/taxes", headers=headers, timeout=5)
                   for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert answers[0].headers["X-Shop-Api-Limit"] == "3"
        assert answers[0].headers["X-Shop-Api-Bandwidth"] == "0.5"
        assert [a.headers["X-Shop-Api-Calls"] for a in answers[:3]] == ["1", "2", "3"]
        assert int(answers[3].headers["Retry-After"]) >= 1
        image = emulator.resources["product-images"].rows[0]
        # storefront files are not API calls: never throttled
        assert requests.get(f"{emulator.url}/userdata/public/gfx/{image['unic_name']}.png",
                            timeout=5).status_code == 200


def test_the_same_seed_gives_the_same_shop():
    def dump(emulator):
        return {name: json.dumps(r.rows, sort_keys=True, default=str)
                for name, r in emulator.resources.items()}

    one = ShoperEmulator(generate_catalog(15, seed=3))
    two = ShoperEmulator(n_products=15, seed=3)
    assert dump(one) == dump(two)
    assert dump(one) != dump(ShoperEmulator(n_products=15, seed=4))


def test_drop_translation_hook():
    emulator = ShoperEmulator(n_products=6)
    emulator.drop_translation(3, "pl_PL")
    product = next(p for p in emulator.resources["products"].rows if p["product_id"] == "3")
    assert set(product["translations"]) == {"en_GB"}


def test_bad_day_faults_retry_after_growing_pages_and_a_reversed_page():
    with ShoperEmulator(n_products=12, seed=7) as emulator:
        token = requests.post(f"{emulator.url}{API}/auth", timeout=5, data={
            "client_id": "demo", "client_secret": "demo-password"}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        emulator.faults.retry_after = 7200
        emulator.faults.growing_pages = "products"
        emulator.faults.reversed_page = ("products", 2)

        def page(number):
            return requests.get(f"{emulator.url}{API}/products", headers=headers, timeout=5,
                                params={"limit": 5, "page": number, "order": "product_id ASC"})

        refused = page(1)
        assert refused.status_code == 503
        assert refused.headers["Retry-After"] == "7200"
        first, second = page(1).json(), page(2).json()  # the 503 came once only
        assert (first["pages"], second["pages"]) == (3 + 1, 3 + 2)  # one more every page
        assert [p["product_id"] for p in first["list"]] == ["1", "2", "3", "4", "5"]
        assert [p["product_id"] for p in second["list"]] == ["10", "9", "8", "7", "6"]
        assert emulator.faults.served["retry_after"] == 1
        # the second ANSWER is reversed, whatever page it asked: a keyset tap asks page 1
        emulator.faults.served.clear()
        emulator.faults.retry_after = emulator.faults.growing_pages = None
        assert [p["product_id"] for p in page(1).json()["list"]] == ["1", "2", "3", "4", "5"]
        keyset = requests.get(f"{emulator.url}{API}/products", headers=headers, timeout=5,
                              params={"limit": 5, "page": 1, "order": "product_id ASC",
                                      "filters": json.dumps({"product_id": {">": 5}})}).json()
        assert [p["product_id"] for p in keyset["list"]] == ["10", "9", "8", "7", "6"]


def test_text_utf8_cannot_carry_is_sent_as_json_escapes():
    with ShoperEmulator(n_products=2, seed=7) as emulator:
        emulator.catalog.products[0].name = "Kubek \ud800\x00"
        emulator.reload()
        token = requests.post(f"{emulator.url}{API}/auth", timeout=5, data={
            "client_id": "demo", "client_secret": "demo-password"}).json()["access_token"]
        answer = requests.get(f"{emulator.url}{API}/products", timeout=5,
                              headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert b"Kubek \\ud800\\u0000" in answer.content
    assert answer.json()["list"][0]["translations"]["pl_PL"]["name"] == "Kubek \ud800\x00"
