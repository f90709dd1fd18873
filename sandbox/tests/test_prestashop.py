"""The PrestaShop emulator over real sockets: auth, shapes, display, filters, sort, limit,
languages, errors, quirks, images."""

import base64
from decimal import Decimal

import pytest
import requests
from defusedxml.ElementTree import fromstring
from sandbox.prestashop import DEMO_API_KEY, PrestaShopEmulator, image_path

KEY = (DEMO_API_KEY, "")


@pytest.fixture(scope="module")
def shop():
    with PrestaShopEmulator(n_products=12, seed=7) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def _defaults(shop):
    yield
    shop.drop_authorization = False
    shop.webservice_enabled = True
    shop.permissions = None
    shop.xml_errors = False


def get(shop, resource, auth=KEY, **params):
    return requests.get(f"{shop.url}/api/{resource}", params={"output_format": "JSON", **params},
                        auth=auth, timeout=5)


def xml_code(answer):
    return fromstring(answer.content).findtext("errors/error/code")


# -- auth ------------------------------------------------------------------------------------
def test_basic_auth_with_the_key_as_user_and_the_ws_key_parameter_both_work(shop):
    assert get(shop, "languages").status_code == 200
    answer = get(shop, "languages", auth=None, ws_key=DEMO_API_KEY)
    assert answer.status_code == 200
    assert answer.headers["PSWS-Version"] == "8.1.5"


def test_no_key_is_a_plain_text_401_with_a_basic_challenge(shop):
    answer = get(shop, "products", auth=None)
    assert (answer.status_code, answer.text) == (401, "401 Unauthorized")
    assert answer.headers["WWW-Authenticate"].startswith("Basic realm=")
    assert "PSWS-Version" not in answer.headers


def test_a_fastcgi_host_drops_the_header_but_ws_key_still_works(shop):
    shop.drop_authorization = True
    assert get(shop, "products").text == "401 Unauthorized"
    assert get(shop, "products", auth=None, ws_key=DEMO_API_KEY).status_code == 200


def test_a_wrong_key_and_a_missing_permission_answer_prestashop_errors(shop):
    wrong = get(shop, "products", auth=("Z" * 32, ""))
    assert wrong.status_code == 401
    assert wrong.json() == {"errors": [{"code": 20,
                                        "message": "Authentication key does not exist"}]}
    assert get(shop, "products", auth=("short", "")).json()["errors"][0]["code"] == 18
    shop.permissions = {"products"}
    denied = requests.get(f"{shop.url}/api/stock_availables", auth=KEY, timeout=5)  # XML
    assert denied.status_code == 401
    assert xml_code(denied) == "26"
    assert 'Resource of type "stock_availables" is not allowed' in denied.text


def test_the_webservice_switched_off_is_503_code_22(shop):
    shop.webservice_enabled = False
    answer = get(shop, "products")
    assert answer.status_code == 503
    assert answer.json()["errors"][0]["code"] == 22


# -- lists ------------------------------------------------------------------------------------
def test_without_display_a_list_holds_ids_only_and_full_holds_everything(shop):
    ids = get(shop, "products", sort="[id_ASC]").json()["products"]
    assert ids[:2] == [{"id": 1}, {"id": 2}]
    full = get(shop, "products", display="full", sort="[id_ASC]", limit="1").json()
    product = full["products"][0]
    assert product["price"].count(".") == 1
    assert len(product["price"].split(".")[1]) == 6
    assert isinstance(product["id"], int)
    assert isinstance(product["active"], str)
    some = get(shop, "products", display="[id,reference]", limit="1").json()["products"][0]
    assert set(some) == {"id", "reference"}
    bad = get(shop, "products", display="[id,nope]")
    assert (bad.status_code, bad.json()["errors"][0]["code"]) == (400, 35)


def test_an_empty_list_is_a_bare_json_array(shop):
    answer = get(shop, "products", display="full", **{"filter[id]": "[99999]"})
    assert answer.text == "[]"


def test_no_sort_gives_no_stable_order_and_sort_orders(shop):
    unsorted = [p["id"] for p in get(shop, "products").json()["products"]]
    assert unsorted != sorted(unsorted)
    by_id = [p["id"] for p in get(shop, "products", sort="[id_DESC]").json()["products"]]
    assert by_id == sorted(by_id, reverse=True)
    bad = get(shop, "products", sort="[id_UP]")
    assert bad.json()["errors"][0]["code"] == 37


def test_limit_offset_count_and_its_error(shop):
    page = get(shop, "products", sort="[id_ASC]", limit="3,4").json()["products"]
    assert [p["id"] for p in page] == [4, 5, 6, 7]
    assert [p["id"] for p in get(shop, "products", sort="[id_ASC]", limit="2").json()[
        "products"]] == [1, 2]
    assert get(shop, "products", limit="a,b").json()["errors"][0]["code"] == 39


def test_filters_or_interval_and_comparison(shop):
    def ids(**filters):
        body = get(shop, "products", sort="[id_ASC]", **filters).json()
        return [p["id"] for p in body["products"]] if body else []

    assert ids(**{"filter[id]": "[2|5|9]"}) == [2, 5, 9]
    assert ids(**{"filter[id]": "[3,6]"}) == [3, 4, 5, 6]  # both ends inclusive
    assert ids(**{"filter[id]": ">[10]"}) == [11, 12]


def test_date_filters_need_date_1_and_dynamic_fields_cannot_be_filtered(shop):
    interval = {"filter[date_upd]": "[2024-01-01 00:00:00,2030-01-01 00:00:00]"}
    refused = get(shop, "products", **interval)
    assert (refused.status_code, refused.json()["errors"][0]["code"]) == (400, 32)
    assert len(get(shop, "products", date="1", **interval).json()["products"]) == 12
    dynamic = get(shop, "products", **{"filter[manufacturer_name]": "[x]"})
    assert dynamic.json()["errors"][0]["code"] == 34
    unknown = get(shop, "products", **{"filter[colour]": "[x]"})
    assert unknown.json()["errors"][0]["code"] == 32


def test_languages_as_arrays_as_strings_or_a_chosen_subset(shop):
    def name(**params):
        return get(shop, "product_options", display="full", sort="[id_ASC]",
                   **params).json()["product_options"][0]["public_name"]

    assert name() == [{"id": "1", "value": "Rozmiar"}, {"id": "2", "value": "Size"}]
    assert name(language="2") == "Size"
    assert name(language="[2]") == [{"id": "2", "value": "Size"}]
    assert get(shop, "products", language="9").json()["errors"][0]["code"] == 81


def test_a_single_get_on_8x_drops_empty_fields_and_404_is_empty(shop):
    single = get(shop, "products/1").json()["product"]
    listed = get(shop, "products", display="full", **{"filter[id]": "[1]"}).json()["products"][0]
    assert "isbn" in listed
    assert "isbn" not in single
    assert "quantity" not in single  # "0" dropped
    missing = get(shop, "products/99999")
    assert (missing.status_code, missing.content) == (404, b"")


def test_xml_by_default_and_errors_in_xml_when_the_host_says_so(shop):
    answer = requests.get(f"{shop.url}/api/languages", params={"display": "full"}, auth=KEY,
                          timeout=5)
    assert answer.headers["Content-Type"].startswith("text/xml")
    assert fromstring(answer.content).find("languages/language/iso_code").text == "pl"
    shop.xml_errors = True
    assert xml_code(get(shop, "products", limit="x")) == "39"


# -- the catalog's model -----------------------------------------------------------------------
def test_prices_are_net_with_combination_impacts_and_vat_needs_the_polish_rule(shop):
    product = next(p for p in shop.catalog.products if not p.is_simple)
    row = get(shop, "products", display="full", **{"filter[id]": f"[{product.id}]"}).json()[
        "products"][0]
    combos = get(shop, "combinations", display="full",
                 **{"filter[id_product]": f"[{product.id}]"}).json()["combinations"]
    impacts = {c["id"]: c["price"] for c in combos}
    for variant in product.variants:
        net = Decimal(row["price"]) + Decimal(impacts[variant.id])
        gross = (net * (100 + product.vat_rate) / 100).quantize(Decimal("0.01"))
        assert gross == variant.price_gross
    rules = get(shop, "tax_rules", display="full", sort="[id_ASC]",
                **{"filter[id_tax_rules_group]": f"[{row['id_tax_rules_group']}]"}).json()
    first = rules["tax_rules"][0]
    assert first["id_country"] != "14"  # Germany's rule comes first
    assert any(r["id_country"] == "14" and r["zipcode_from"] == "0"
               for r in rules["tax_rules"])


def test_stock_rows_per_combination_and_the_product_level_sum(shop):
    product = next(p for p in shop.catalog.products if not p.is_simple)
    rows = get(shop, "stock_availables", display="full",
               **{"filter[id_product]": f"[{product.id}]"}).json()["stock_availables"]
    by_attribute = {r["id_product_attribute"]: int(r["quantity"]) for r in rows}
    assert by_attribute["0"] == sum(int(v.stock or 0) for v in product.variants)
    for variant in product.variants:
        assert by_attribute[str(variant.id)] == int(variant.stock or 0)


# -- images and the sub-folder ----------------------------------------------------------------
def test_images_through_the_webservice_and_as_public_files(shop):
    listing = requests.get(f"{shop.url}/api/images/products/1", auth=KEY, timeout=5)
    declinations = fromstring(listing.content).findall("image/declination")
    image_id = int(declinations[0].get("id"))
    with_key = requests.get(f"{shop.url}/api/images/products/1/{image_id}", auth=KEY, timeout=5)
    assert with_key.content == shop.images[image_id].content
    assert requests.get(f"{shop.url}/api/images/products/1/{image_id}",
                        timeout=5).status_code == 401
    public = requests.get(shop.url + image_path(image_id), timeout=5)
    assert (public.status_code, public.content) == (200, shop.images[image_id].content)
    assert requests.get(f"{shop.url}/img/p/9/9/{image_id}.jpg", timeout=5).status_code == 404


def test_a_shop_in_a_sub_folder_answers_only_there():
    with PrestaShopEmulator(n_products=2, base_path="/sklep/") as emulator:
        inside = requests.get(f"{emulator.url}/sklep/api/languages", auth=KEY, timeout=5,
                              params={"output_format": "JSON"})
        assert inside.status_code == 200
        outside = requests.get(f"{emulator.url}/api/languages", auth=KEY, timeout=5)
        assert outside.status_code == 404
        assert outside.headers["Content-Type"].startswith("text/html")
        assert requests.get(emulator.url + "/sklep" + image_path(1), timeout=5).ok


def test_the_same_seed_renders_the_same_shop():
    first, second = PrestaShopEmulator(n_products=5, seed=9), PrestaShopEmulator(n_products=5,
                                                                                 seed=9)
    assert first.tables["products"].rows == second.tables["products"].rows
    assert base64.b64encode(first.images[1].content) == base64.b64encode(
        second.images[1].content)
