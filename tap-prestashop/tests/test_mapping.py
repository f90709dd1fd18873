"""The mapping pinned on realistic PrestaShop webservice answers (shapes of a live 1.7 / 8.x
shop: ids as ints, everything else strings, ``"%f"`` decimals, language arrays)."""

from __future__ import annotations

import copy
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from commerce_schema import validate_record
from tap_prestashop import mapping
from tapkit.streams import MappingError

SHOP = "https://sklep.example/pl"

PRODUCT = {
    "id": 32, "id_manufacturer": "0", "id_supplier": "1", "id_category_default": "13",
    "new": None, "cache_default_attribute": "246", "id_default_image": "177",
    "id_default_combination": "246", "id_tax_rules_group": "1", "position_in_category": "0",
    "manufacturer_name": False, "quantity": "0", "type": "simple", "id_shop_default": "1",
    "reference": "10125154", "supplier_reference": "", "ean13": "5901234123457", "isbn": "",
    "upc": "", "weight": "0.350000", "on_sale": "1", "ecotax": "0.000000",
    "price": "121.138211", "wholesale_price": "4.950000", "active": "1", "state": "1",
    "visibility": "both", "available_for_order": "1", "available_date": "0000-00-00",
    "condition": "new", "show_price": "1", "date_add": "2018-03-01 14:09:30",
    "date_upd": "2019-12-17 13:50:15",
    "link_rewrite": [{"id": "1", "value": "koszula-meska-w-kratke"},
                     {"id": "2", "value": "mens-checked-shirt"}],
    "name": [{"id": "1", "value": "Koszula męska w kratkę"},
             {"id": "2", "value": "Men's checked shirt"}],
    "description": [{"id": "1", "value": "<p>Koszula męska BLANC, mankiet i stójka "
                                         "wykończone tkaniną niebieską.</p>"},
                    {"id": "2", "value": "<p>Men's shirt BLANC.</p>"}],
    "description_short": [{"id": "1", "value": "<p>Slim fit, 100% bawełna</p>"},
                          {"id": "2", "value": ""}],
    "associations": {
        "categories": [{"id": "2"}, {"id": "13"}, {"id": "31"}],
        "images": [{"id": "179"}, {"id": "177"}, {"id": "178"}],
        "combinations": [{"id": "246"}, {"id": "248"}, {"id": "250"}],
        "product_option_values": [{"id": "1"}, {"id": "11"}, {"id": "2"}],
        "product_features": [{"id": "3", "id_feature_value": "25623"}],
        "stock_availables": [{"id": "327", "id_product_attribute": "0"},
                             {"id": "326", "id_product_attribute": "246"},
                             {"id": "328", "id_product_attribute": "248"}]}}

COMBINATIONS = [
    {"id": 246, "id_product": "32", "location": "", "ean13": "5901234123464", "isbn": "",
     "upc": "", "mpn": "", "quantity": "0", "reference": "10125154-S-BLK",
     "supplier_reference": "", "wholesale_price": "0.000000", "price": "0.000000",
     "ecotax": "0.000000", "weight": "0.000000", "unit_price_impact": "0.000000",
     "minimal_quantity": "1", "default_on": "1", "available_date": "0000-00-00",
     "associations": {"product_option_values": [{"id": "11"}, {"id": "1"}],
                      "images": [{"id": "178"}]}},
    {"id": 248, "id_product": "32", "ean13": "", "reference": "", "price": "8.130081",
     "weight": "0.050000", "default_on": None,
     "associations": {"product_option_values": [{"id": "2"}, {"id": "11"}]}},
    {"id": 250, "id_product": "32", "ean13": "", "reference": "10125154-XS",
     "price": "-20.325203", "weight": "0.000000", "default_on": None,
     "associations": {"product_option_values": [{"id": "3"}],
                      "images": [{"id": "0"}]}},
    {"id": 999, "id_product": "33", "reference": "another product's", "price": "1.000000"},
]
STOCK = {("32", "0"): "5", ("32", "246"): "3", ("32", "248"): "2"}
FEATURES = {"25623": [{"id": "1", "value": "Bawełna"}, {"id": "2", "value": "Cotton"}]}

# rules of group 1 for Germany come first; a Polish rule limited to zip codes before the
# country-wide one
TAX_RULES = [
    {"id": 290, "id_tax_rules_group": "1", "id_state": "0", "id_country": "1",
     "zipcode_from": "0", "zipcode_to": "0", "id_tax": "1", "behavior": "0"},
    {"id": 300, "id_tax_rules_group": "1", "id_state": "0", "id_country": "14",
     "zipcode_from": "00-001", "zipcode_to": "00-999", "id_tax": "15", "behavior": "0"},
    {"id": 301, "id_tax_rules_group": "1", "id_state": "0", "id_country": "14",
     "zipcode_from": "0", "zipcode_to": "0", "id_tax": "12", "behavior": "0",
     "description": ""},
    {"id": 302, "id_tax_rules_group": "2", "id_state": "0", "id_country": "1",
     "zipcode_from": "", "zipcode_to": "", "id_tax": "2", "behavior": "0"},
    {"id": 303, "id_tax_rules_group": "2", "id_state": "0", "id_country": "14",
     "zipcode_from": "", "zipcode_to": "", "id_tax": "13", "behavior": "0"},
    {"id": 304, "id_tax_rules_group": "3", "id_state": "0", "id_country": "14",
     "zipcode_from": "0", "zipcode_to": "0", "id_tax": "14", "behavior": "0"},
    {"id": 305, "id_tax_rules_group": "4", "id_state": "0", "id_country": "14",
     "zipcode_from": "0", "zipcode_to": "0", "id_tax": "15", "behavior": "0"},
    {"id": 306, "id_tax_rules_group": "5", "id_state": "0", "id_country": "1",
     "zipcode_from": "0", "zipcode_to": "0", "id_tax": "1", "behavior": "0"},
]
TAXES = [{"id": 1, "rate": "19.000", "active": "1", "deleted": "0"},
         {"id": 2, "rate": "7.000", "active": "1", "deleted": "0"},
         {"id": 12, "rate": "23.000", "active": "1", "deleted": "0"},
         {"id": 13, "rate": "8.000", "active": "1", "deleted": "0"},
         {"id": 14, "rate": "5.000", "active": "1", "deleted": "0"},
         {"id": 15, "rate": "0.000", "active": "1", "deleted": "0"}]

OPTION_GROUPS = [
    {"id": 1, "is_color_group": "0", "group_type": "select", "position": "0",
     "name": [{"id": "1", "value": "Rozmiar"}, {"id": "2", "value": "Size"}],
     "public_name": [{"id": "1", "value": "Rozmiar"}, {"id": "2", "value": "Size"}]},
    {"id": 2, "is_color_group": "1", "group_type": "color", "position": "1",
     "name": [{"id": "1", "value": "Kolor"}, {"id": "2", "value": "Color"}],
     "public_name": [{"id": "1", "value": "Kolor"}, {"id": "2", "value": "Colour"}]},
]
OPTION_VALUES = [
    {"id": 1, "id_attribute_group": "1", "position": "0",
     "name": [{"id": "1", "value": "S"}, {"id": "2", "value": "S"}]},
    {"id": 2, "id_attribute_group": "1", "position": "1",
     "name": [{"id": "1", "value": "M"}, {"id": "2", "value": "M"}]},
    {"id": 3, "id_attribute_group": "1", "position": "2",
     "name": [{"id": "1", "value": "XS"}, {"id": "2", "value": "XS"}]},
    {"id": 11, "id_attribute_group": "2", "color": "#434A54", "position": "6",
     "name": [{"id": "1", "value": "czarny"}, {"id": "2", "value": "Black"}]},
]
CATEGORIES = [
    {"id": 1, "id_parent": "0", "is_root_category": "0", "name": "Root"},
    {"id": 2, "id_parent": "1", "is_root_category": "1",
     "name": [{"id": "1", "value": "Strona główna"}, {"id": "2", "value": "Home"}]},
    {"id": 13, "id_parent": "2", "is_root_category": "0",
     "name": [{"id": "1", "value": "Koszule"}, {"id": "2", "value": "Shirts"}]},
    {"id": 31, "id_parent": "13", "is_root_category": "0",
     "name": [{"id": "1", "value": "Męskie"}, {"id": "2", "value": "Men"}]},
]


def shop(language="1", country=("14", "PL"), **over):
    vat, problems = mapping.tax_rates(TAX_RULES, TAXES, *country)
    categories, hidden = mapping.category_index(CATEGORIES, language, "1")
    values = {
        "shop_url": SHOP, "language_id": language, "default_language_id": "1",
        "language_iso": "pl" if language == "1" else "en", "timezone": ZoneInfo("Europe/Warsaw"),
        "currency": "PLN", "vat": vat, "vat_problems": problems,
        "option_values": mapping.option_index(OPTION_GROUPS, OPTION_VALUES, language, "1"),
        "features": {"3": "Materiał" if language == "1" else "Material"},
        "categories": categories, "hidden_categories": hidden}
    values.update(over)
    return mapping.ShopContext(**values)


def record(product=None, combinations=COMBINATIONS, stock=STOCK, context=None, **kw):
    return mapping.product_record(product or PRODUCT, combinations, stock, FEATURES,
                                  context or shop(), **kw)


def variants(rec):
    return {v["id"]: v for v in rec["variants"]}


# -- prices and VAT ------------------------------------------------------------------------------
def test_combination_impacts_zero_positive_and_negative_give_net_and_gross():
    got = variants(record())
    # product net 121.138211 (= 149.00 gross at 23%) plus each combination's impact
    assert (got["246"]["price_net"], got["246"]["price_gross"]) == (Decimal("121.14"),
                                                                    Decimal("149.00"))
    assert (got["248"]["price_net"], got["248"]["price_gross"]) == (Decimal("129.27"),
                                                                    Decimal("159.00"))
    assert (got["250"]["price_net"], got["250"]["price_gross"]) == (Decimal("100.81"),
                                                                    Decimal("124.00"))
    assert validate_record("products", record()) == []


def test_impact_is_never_taken_for_the_price():
    # the earlier integration used "impact or product price": 8.13 for combination 248
    assert variants(record())["248"]["price_net"] != Decimal("8.13")


def test_a_negative_net_after_the_impact_is_a_mapping_error_naming_the_combination():
    combos = copy.deepcopy(COMBINATIONS)
    combos[1]["price"] = "-200.000000"
    with pytest.raises(MappingError, match=r"product 32 combination 248: net price "
                                           r"-78\.861789 is negative"):
        record(combinations=combos)


@pytest.mark.parametrize(("group", "rate"), [("1", 23), ("2", 8), ("3", 5), ("4", 0)])
def test_vat_from_the_polish_rule_when_other_countries_come_first(group, rate):
    product = dict(PRODUCT, id_tax_rules_group=group, associations={})
    rec = record(product, combinations=[])
    assert rec["vat_rate"] == rate
    net = rec["variants"][0]["price_net"]
    assert rec["variants"][0]["price_gross"] == (Decimal("121.138211") * (100 + rate) / 100
                                                 ).quantize(Decimal("0.01"))
    assert net == Decimal("121.14")


def test_vat_is_never_read_from_the_group_name_or_its_first_rule():
    vat, _ = mapping.tax_rates(TAX_RULES, TAXES, "14", "PL")
    assert vat["1"] == 23  # first rule: Germany's 19%; second: a zip-code range at 0%
    vat_de, _ = mapping.tax_rates(TAX_RULES, TAXES, "1", "DE")
    assert vat_de.get("1") is None  # 19% is no rate the Gateway takes


def test_a_group_without_a_rule_for_the_country_skips_its_products_with_the_reason():
    product = dict(PRODUCT, id_tax_rules_group="5")
    with pytest.raises(MappingError, match="tax rules group 5 has no rule for PL"):
        record(product)


def test_combined_and_compound_rules_and_taxes_switched_off():
    rules = [{"id": 1, "id_tax_rules_group": "9", "id_country": "14", "id_state": "0",
              "zipcode_from": "0", "id_tax": "14", "behavior": "1"},
             {"id": 2, "id_tax_rules_group": "9", "id_country": "14", "id_state": "0",
              "zipcode_from": "0", "id_tax": "15", "behavior": "1"}]
    assert mapping.tax_rates(rules, TAXES, "14", "PL")[0]["9"] == 5
    off, _ = mapping.tax_rates(TAX_RULES, TAXES, "14", "PL", taxes_enabled=False)
    assert set(off.values()) == {0}
    assert mapping.tax_rates(TAX_RULES, TAXES, "14", "PL")[0]["0"] == 0  # group 0: no tax


# -- variants --------------------------------------------------------------------------------
def test_sku_ean_options_stock_and_images_per_combination():
    got = variants(record())
    assert list(got) == ["246", "248", "250"]  # another product's combination is not here
    assert got["246"]["sku"] == "10125154-S-BLK"
    assert got["248"]["sku"] == "10125154"  # no own reference: the product's
    assert got["246"]["ean"] == "5901234123464"
    assert got["248"]["ean"] == "5901234123457"
    # option groups in their position order, not in the combination's listing order
    assert got["246"]["options"] == [{"name": "Rozmiar", "value": "S"},
                                     {"name": "Kolor", "value": "czarny"}]
    # stock by (product, combination), never the product-level sum
    assert [got[c]["stock"] for c in ("246", "248", "250")] == [3, 2, None]
    assert got["246"]["images"] == [{"url": f"{SHOP}/img/p/1/7/8/178.jpg", "public": True,
                                     "position": 1}]
    assert got["248"]["images"] == []
    assert got["250"]["images"] == []
    assert got["248"]["weight_kg"] == Decimal("0.4")  # 0.35 + an impact of 0.05
    assert got["246"]["weight_kg"] == Decimal("0.35")


def test_a_product_without_combinations_is_one_variant_with_the_product_id():
    product = dict(PRODUCT, associations={"images": [{"id": "177"}]})
    rec = record(product, combinations=[])
    assert len(rec["variants"]) == 1
    only = rec["variants"][0]
    assert (only["id"], only["sku"], only["ean"], only["options"]) == (
        "32", "10125154", "5901234123457", [])
    assert (only["price_net"], only["price_gross"], only["stock"]) == (
        Decimal("121.14"), Decimal("149.00"), 5)


def test_two_products_sharing_one_reference_stay_two_products():
    other = dict(PRODUCT, id=33, associations={})
    first = record(dict(PRODUCT, associations={}), combinations=[])
    second = record(other, combinations=[], stock={("33", "0"): "1"})
    assert first["sku"] == second["sku"] == "10125154"
    assert (first["id"], second["id"]) == ("32", "33")
    assert (first["variants"][0]["id"], second["variants"][0]["id"]) == ("32", "33")


def test_a_listed_combination_that_did_not_come_back_is_an_error_not_a_lost_variant():
    with pytest.raises(MappingError, match="combinations 250 were listed but not returned"):
        record(combinations=COMBINATIONS[:2])


def test_inactive_products_are_carried_with_active_false():
    rec = record(dict(PRODUCT, active="0"))
    assert rec["active"] is False
    assert all(v["active"] is False for v in rec["variants"])


# -- texts, categories, images, dates ----------------------------------------------------------
def test_multilanguage_fields_pick_the_configured_language_with_fallback():
    english = record(context=shop(language="2"))
    assert english["name"] == "Men's checked shirt"
    assert english["language"] == "en"
    assert english["short_description_html"] == "<p>Slim fit, 100% bawełna</p>"  # empty in en
    assert english["attributes"] == {"Material": "Cotton"}
    assert variants(english)["246"]["options"] == [{"name": "Size", "value": "S"},
                                                   {"name": "Colour", "value": "Black"}]
    assert english["url"].endswith("id_product=32&id_lang=2")
    polish = record()
    assert polish["name"] == "Koszula męska w kratkę"
    assert polish["attributes"] == {"Materiał": "Bawełna"}
    assert polish["url"] == f"{SHOP}/index.php?controller=product&id_product=32"


def test_plain_string_fields_of_a_single_language_shop():
    product = dict(PRODUCT, name="Kubek", description="<p>Opis</p>", description_short="",
                   associations={})
    rec = record(product, combinations=[], stock={})
    assert (rec["name"], rec["description_html"], rec["short_description_html"]) == (
        "Kubek", "<p>Opis</p>", None)


def test_categories_with_paths_default_first_without_root_and_home():
    rec = record()
    assert rec["categories"] == [
        {"id": "13", "name": "Koszule", "path": ["Koszule"]},
        {"id": "31", "name": "Męskie", "path": ["Koszule", "Męskie"]}]
    assert mapping.category_records(shop()) == [
        {"id": "13", "name": "Koszule", "parent_id": None, "path": ["Koszule"]},
        {"id": "31", "name": "Męskie", "parent_id": "13", "path": ["Koszule", "Męskie"]}]


def test_images_cover_first_then_position_and_brand_false_is_none():
    rec = record()
    assert [i["url"].rsplit("/", 1)[1] for i in rec["images"]] == ["177.jpg", "179.jpg",
                                                                    "178.jpg"]
    assert [i["position"] for i in rec["images"]] == [1, 2, 3]
    assert rec["brand"] is None


def test_image_source_api_gives_data_uris_marked_not_public():
    def fetched(pid, iid):
        return {"url": f"data:image/jpeg;base64,{pid}{iid}", "public": False}

    rec = record(image=fetched)
    assert rec["images"][0] == {"url": "data:image/jpeg;base64,32177", "public": False,
                                "position": 1}
    assert variants(rec)["246"]["images"][0]["public"] is False


def test_local_times_become_utc():
    rec = record()
    assert rec["created_at"] == "2018-03-01T13:09:30+00:00"  # CET
    assert rec["updated_at"] == "2019-12-17T12:50:15+00:00"


def test_a_product_without_a_name_or_an_id_is_refused_by_name():
    with pytest.raises(MappingError, match="product 32 has no name"):
        record(dict(PRODUCT, name=[{"id": "1", "value": ""}, {"id": "2", "value": ""}]))
    with pytest.raises(MappingError, match="a product row without an id"):
        record(dict(PRODUCT, id=None))


@pytest.mark.parametrize("price", ["", "abc", "1e309", None])
def test_unreadable_prices_are_mapping_errors_naming_the_field(price):
    with pytest.raises(MappingError, match="product 32 price"):
        record(dict(PRODUCT, price=price))


# -- list answers and stock --------------------------------------------------------------------
def test_the_empty_list_quirk_and_list_shapes():
    assert mapping.rows_of([], "products") == []
    assert mapping.rows_of({"products": [{"id": 1}]}, "products") == [{"id": 1}]
    assert mapping.rows_of({"product": {"id": 1}}, "product") == [{"id": 1}]
    with pytest.raises(ValueError, match="no 'products' list"):
        mapping.rows_of({"combinations": []}, "products")


def test_stock_records_never_split_or_sum():
    rows = [{"id_product": "32", "id_product_attribute": "0", "quantity": "5"},
            {"id_product": "32", "id_product_attribute": "246", "quantity": "3"},
            {"id_product": "32", "id_product_attribute": "248", "quantity": "-2"}]
    records = mapping.stock_records(rows, "2024-05-01T00:00:00+00:00")
    assert [(r["variant_id"], r["quantity"]) for r in records] == [("246", 3), ("248", 0)]
    simple = mapping.stock_records(rows[:1], "2024-05-01T00:00:00+00:00")
    assert [(r["product_id"], r["variant_id"], r["quantity"]) for r in simple] == [
        ("32", "32", 5)]
    untracked = mapping.stock_records(rows[:1], "x", untracked=True)
    assert untracked[0]["quantity"] is None
