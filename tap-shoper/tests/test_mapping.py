"""The mapping from Shoper's JSON to contract records, pinned on realistic responses.

Shapes copied from ../shared/docs/platforms/shoper.md section 7 (strings everywhere, ``[]``
for empty objects, ids inside arrays as ints, translations keyed by locale).
"""

from __future__ import annotations

import copy
import logging
from decimal import Decimal

import pytest
from commerce_schema import validate_record
from tap_shoper import mapping
from tap_shoper.mapping import ShopContext

SHOP = "https://sklep123.shoparena.pl"
CONFIG = {"default_language_name": "pl_PL", "default_currency_name": "PLN",
          "locale_timezone": "Europe/Warsaw"}
TAXES = [{"tax_id": "1", "value": "23", "name": "23%", "class": "23"},
         {"tax_id": "2", "value": "8", "name": "8%", "class": "8"},
         {"tax_id": "4", "value": "0", "name": "zw.", "class": "zw."},
         {"tax_id": "6", "value": "0", "name": "np.", "class": "np."},
         {"tax_id": "7", "value": "23", "name": "Stawka podstawowa", "class": "23"}]
PRODUCERS = [{"producer_id": "4", "name": "Łódzka Manufaktura", "web": "", "gfx": None}]
OPTIONS = [{"option_id": "12", "group_id": "3", "type": "select", "stock": "1", "required": "1",
            "order": "1", "translations": {"pl_PL": {"name": "Rozmiar"},
                                           "en_GB": {"name": "Size"}}},
           {"option_id": "13", "group_id": "3", "type": "color", "stock": "1", "required": "1",
            "order": "2", "translations": {"pl_PL": {"name": "Kolor"}}}]
OPTION_VALUES = [
    {"ovalue_id": "45", "option_id": "12", "order": "1", "color": None,
     "translations": {"pl_PL": {"value": "M"}}},
    {"ovalue_id": "46", "option_id": "12", "order": "2", "color": None,
     "translations": {"pl_PL": {"value": "L"}}},
    {"ovalue_id": "50", "option_id": "13", "order": "1", "color": "#ff0000",
     "translations": {"pl_PL": {"value": "czerwony"}, "en_GB": {"value": "red"}}},
    {"ovalue_id": "51", "option_id": "13", "order": "2", "color": "#00ff00",
     "translations": {"pl_PL": {"value": "zielony"}, "en_GB": {"value": "green"}}},
]
ATTRIBUTES = [{"attribute_id": "7", "attribute_group_id": "1", "type": "0",
               "translations": {"pl_PL": {"name": "Materiał"}}}]
CATEGORIES = [
    {"category_id": "1", "root": "1", "order": "1",
     "translations": {"pl_PL": {"name": "Odzież", "active": "1"}}},
    {"category_id": "10", "root": "0", "order": "2",
     "translations": {"pl_PL": {"name": "Koszulki", "active": "1"}}},
    {"category_id": "12", "root": "0", "order": "3",
     "translations": {"pl_PL": {"name": "Kubki i filiżanki", "active": "0"}}},
]
TREE = [{"id": 1, "children": [{"id": 10, "children": []}]}, {"id": 12, "children": []}]

T_SHIRT = {
    "product_id": "101", "producer_id": "4", "group_id": "3", "tax_id": "1",
    "category_id": "10", "categories": [10, 12], "type": "0", "unit_id": "1",
    "add_date": "2024-03-01 10:15:00", "edit_date": "2024-05-20 08:02:11",
    "code": "KOSZ-RED", "ean": "", "pkwiu": "", "vol_weight": "0.0000",
    "stock": {"stock_id": "101", "product_id": "101", "extended": "0", "default": "1",
              "active": "1", "price": "99.00", "price_type": "1", "comp_price": "99.00",
              "comp_promo_price": "89.00", "stock": "0", "code": "KOSZ-RED", "ean": "",
              "weight": "0.3", "weight_type": "1", "availability_id": None,
              "delivery_id": "1", "gfx_id": None},
    "translations": {"pl_PL": {
        "name": "Koszulka czerwona", "short_description": "<p>100% bawełna</p>",
        "description": "<p><strong>Opis</strong> produktu&nbsp;…</p>", "active": "1",
        "lang_id": "1", "isdefault": "0",
        "permalink": "https://sklep123.shoparena.pl/pl/p/Koszulka-czerwona/101"}},
    "options": [205, 206, 207, 208],
    "attributes": {"1": {"7": "Bawełna"}},
    "main_image": {"gfx_id": "55", "unic_name": "6bd4167ff45e02e5a97e0c79968f6ee9",
                   "extension": "jpg", "name": "koszulka.jpg", "order": "1", "hidden": "0"},
    "related": [], "tags": [], "feeds_excludes": [], "is_product_of_day": False,
}


def _stock(stock_id, *, extended=True, price="0.00", price_type="0", comp_price="99.00",
           stock="5", code=None, ean="", gfx_id=None, options=None, active="1"):
    return {"stock_id": str(stock_id), "product_id": "101", "extended": "1" if extended else "0",
            "default": "0" if extended else "1", "active": active, "price": price,
            "price_type": price_type, "comp_price": comp_price, "comp_promo_price": comp_price,
            "stock": stock, "code": code, "ean": ean, "weight": "0", "weight_type": "0",
            "comp_weight": "0.3", "gfx_id": gfx_id, "warn_level": "1", "sold": "0",
            "package": "0", "options": [] if options is None else options}


#: the default row plus size x colour variants; L costs more (price_type 2: base + 10) and
#: one M is cheaper (price_type 3: base - 9), as comp_price shows
T_SHIRT_STOCKS = [
    _stock(101, extended=False, price="99.00", price_type="1", stock="0", code="KOSZ-RED"),
    _stock(205, code="KOSZ-M-RED", ean="5901234123464", options={"12": "45", "13": "50"},
           stock="4"),
    _stock(206, code="KOSZ-L-RED", ean="5901234123471", options={"13": "50", "12": "46"},
           price="10.00", price_type="2", comp_price="109.00", stock="7", gfx_id="56"),
    _stock(207, code="KOSZ-M-GREEN", options={"12": "45", "13": "51"}, price="9.00",
           price_type="3", comp_price="90.00", stock="1.5", active="0"),
    _stock(208, code="KOSZ-L-GREEN", options={"12": "46", "13": "51"}, price="10.00",
           price_type="2", comp_price="109.00", stock="", gfx_id="57"),
]
T_SHIRT_IMAGES = [
    {"gfx_id": "57", "product_id": "101", "main": "0", "order": "4", "hidden": "1",
     "unic_name": "zielony-l", "extension": "png", "name": "green.png"},
    {"gfx_id": "58", "product_id": "101", "main": "0", "order": "2", "hidden": "0",
     "unic_name": "248", "extension": "jpg", "name": "back.png"},
    {"gfx_id": "55", "product_id": "101", "main": "1", "order": "1", "hidden": "0",
     "unic_name": "6bd4167ff45e02e5a97e0c79968f6ee9", "extension": "jpg",
     "name": "koszulka.jpg"},
    {"gfx_id": "56", "product_id": "101", "main": "0", "order": "3", "hidden": "0",
     "unic_name": "czerwony-l", "extension": "webp", "name": "red.webp"},
]

MUG = {
    "product_id": "102", "producer_id": None, "group_id": None, "tax_id": "2",
    "category_id": "12", "categories": [12], "type": "0", "unit_id": "1",
    "add_date": "2024-01-15 09:00:00", "edit_date": "2024-01-15 09:00:00",
    "code": "KUBEK-1", "ean": "5901234123457", "pkwiu": "", "vol_weight": "0.0000",
    "stock": {"stock_id": "102", "product_id": "102", "extended": "0", "default": "1",
              "active": "1", "price": "25.00", "price_type": "1", "comp_price": "25.00",
              "comp_promo_price": "25.00", "stock": "40", "code": "KUBEK-1",
              "ean": "5901234123457", "weight": "0.4", "weight_type": "1",
              "availability_id": "2", "delivery_id": "1", "gfx_id": None},
    "translations": {"pl_PL": {"name": "Kubek", "short_description": "", "description": "",
                               "active": "1", "lang_id": "1", "isdefault": "0",
                               "permalink": "https://sklep123.shoparena.pl/pl/p/Kubek/102"}},
    "options": [], "attributes": [], "main_image": None,
    "related": [], "tags": [], "feeds_excludes": [], "is_product_of_day": False,
}


def context(language: str = "pl_PL") -> ShopContext:
    return ShopContext.build(shop_url=SHOP + "/", language=language, config=CONFIG,
                             taxes=TAXES, producers=PRODUCERS, options=OPTIONS,
                             option_values=OPTION_VALUES, attributes=ATTRIBUTES,
                             categories=CATEGORIES, tree=TREE)


def assert_valid(record):
    assert validate_record("products", record) == []


def test_a_simple_product_is_one_variant_with_the_product_id():
    record = mapping.product_record(MUG, [], [], context())
    assert_valid(record)
    assert record["id"] == "102"
    assert record["platform"] == "shoper"
    assert record["sku"] == "KUBEK-1"
    assert record["name"] == "Kubek"
    assert record["description_html"] is None  # "" means no description
    assert record["vat_rate"] == 8
    assert record["currency"] == "PLN"
    assert record["brand"] is None
    assert record["images"] == []
    assert record["attributes"] == {}  # attributes: [] (PHP empty object)
    assert record["categories"] == [{"id": "12", "name": "Kubki i filiżanki",
                                     "path": ["Kubki i filiżanki"]}]
    assert record["created_at"] == "2024-01-15T08:00:00+00:00"  # CET, UTC+1
    [variant] = record["variants"]
    assert variant == {
        "id": "102", "sku": "KUBEK-1", "ean": "5901234123457", "options": [],
        "price_net": Decimal("23.15"), "price_gross": Decimal("25.00"),
        "stock": Decimal(40), "active": True, "images": [], "weight_kg": Decimal("0.4"),
    }


def test_size_and_colour_variants_with_their_own_prices():
    record = mapping.product_record(T_SHIRT, T_SHIRT_STOCKS, T_SHIRT_IMAGES, context())
    assert_valid(record)
    variants = {v["id"]: v for v in record["variants"]}
    assert list(variants) == ["205", "206", "207", "208"]  # the default row 101 is not sold
    assert [v["sku"] for v in variants.values()] == ["KOSZ-M-RED", "KOSZ-L-RED",
                                                     "KOSZ-M-GREEN", "KOSZ-L-GREEN"]
    # options in the shop's option order, whatever the row's key order
    assert variants["206"]["options"] == [{"name": "Rozmiar", "value": "L"},
                                          {"name": "Kolor", "value": "czerwony"}]
    # comp_price is the absolute gross price, whatever price_type says about "price"
    assert variants["205"]["price_gross"] == Decimal("99.00")
    assert variants["206"]["price_gross"] == Decimal("109.00")
    assert variants["207"]["price_gross"] == Decimal("90.00")
    assert variants["206"]["price_net"] == Decimal("88.62")  # 109 / 1.23
    assert variants["207"]["price_net"] == Decimal("73.17")
    # stock copied per variant: fractional kept, "" is "not tracked", never split
    assert [v["stock"] for v in variants.values()] == [Decimal(4), Decimal(7),
                                                       Decimal("1.5"), None]
    assert variants["207"]["active"] is False
    assert variants["205"]["ean"] == "5901234123464"
    assert variants["207"]["ean"] is None  # never the product's EAN for a variant
    assert record["attributes"] == {"Materiał": "Bawełna"}
    assert record["brand"] == "Łódzka Manufaktura"
    assert [c["path"] for c in record["categories"]] == [["Odzież", "Koszulki"],
                                                         ["Kubki i filiżanki"]]


def test_variant_images_and_the_gallery():
    record = mapping.product_record(T_SHIRT, T_SHIRT_STOCKS, T_SHIRT_IMAGES, context())
    gfx = f"{SHOP}/userdata/public/gfx"
    # main first, then by order; hidden (variant-only) images are not in the gallery;
    # the extension is the row's, not a hard-coded .jpg
    assert record["images"] == [
        {"url": f"{gfx}/6bd4167ff45e02e5a97e0c79968f6ee9.jpg", "position": 1, "public": True},
        {"url": f"{gfx}/248.jpg", "position": 2, "public": True},
        {"url": f"{gfx}/czerwony-l.webp", "position": 3, "public": True},
    ]
    variants = {v["id"]: v for v in record["variants"]}
    assert variants["206"]["images"] == [{"url": f"{gfx}/czerwony-l.webp", "position": 1,
                                          "public": True}]
    assert variants["208"]["images"] == [{"url": f"{gfx}/zielony-l.png", "position": 1,
                                          "public": True}]
    assert variants["205"]["images"] == []


def test_main_image_is_used_when_the_gallery_was_not_returned():
    record = mapping.product_record(T_SHIRT, T_SHIRT_STOCKS, [], context())
    assert [i["url"] for i in record["images"]] == [
        f"{SHOP}/userdata/public/gfx/6bd4167ff45e02e5a97e0c79968f6ee9.jpg"]


@pytest.mark.parametrize(("tax_id", "rate"), [("4", 0), ("6", 0), ("7", 23)])
def test_vat_by_tax_name(tax_id, rate):
    product = dict(MUG, tax_id=tax_id)
    record = mapping.product_record(product, [], [], context())
    assert_valid(record)
    assert record["vat_rate"] == rate
    variant = record["variants"][0]
    if rate == 0:  # "zw." / "np.": exempt, so net == gross
        assert variant["price_net"] == variant["price_gross"] == Decimal("25.00")
    else:
        assert variant["price_net"] == Decimal("20.33")


def test_unknown_tax_id_is_a_clear_error():
    with pytest.raises(mapping.MappingError, match="tax_id 99"):
        mapping.product_record(dict(MUG, tax_id="99"), [], [], context())


def test_missing_translation_falls_back_to_the_default_language_once(caplog):
    shop = context("en_GB")
    caplog.set_level(logging.WARNING, logger="tap-shoper.mapping")
    record = mapping.product_record(T_SHIRT, T_SHIRT_STOCKS, [], shop)
    again = mapping.product_record(T_SHIRT, T_SHIRT_STOCKS, [], shop)
    assert record["name"] == again["name"] == "Koszulka czerwona"
    assert record["language"] == "pl"  # the language the texts really are in
    warnings = [r.getMessage() for r in caplog.records if "product 101" in r.getMessage()]
    assert warnings == ["product 101 has no en_GB translation; using pl_PL"]
    # option names/values that exist in en_GB are used, missing ones fall back
    assert record["variants"][1]["options"] == [{"name": "Size", "value": "L"},
                                                {"name": "Kolor", "value": "red"}]


def test_english_texts_when_the_product_has_them():
    product = copy.deepcopy(MUG)
    product["translations"]["en_GB"] = {"name": "Mug", "description": "<p>A mug</p>",
                                        "active": "1", "permalink": f"{SHOP}/en/p/Mug/102"}
    record = mapping.product_record(product, [], [], context("en_GB"))
    assert (record["name"], record["language"], record["url"]) == (
        "Mug", "en", f"{SHOP}/en/p/Mug/102")


def test_a_product_without_any_translation_is_skipped_with_a_warning(caplog):
    caplog.set_level(logging.WARNING, logger="tap-shoper.mapping")
    assert mapping.product_record(dict(MUG, translations=[]), [], [], context()) is None
    assert "product 102 has no name in any language; skipped" in caplog.text


def test_html_descriptions_with_polish_characters_are_kept_intact():
    html = ('<p style="text-align: justify;">Zażółć gęślą jaźń&nbsp;– <em>„cudzysłów”</em>'
            '<br />ŁÓDŹ &amp; Kraków</p>')
    product = copy.deepcopy(MUG)
    product["translations"]["pl_PL"].update(description=html,
                                            short_description="<p>Źdźbło</p>")
    record = mapping.product_record(product, [], [], context())
    assert record["description_html"] == html
    assert record["short_description_html"] == "<p>Źdźbło</p>"


def test_options_in_the_sdk_list_form_and_empty_option_maps():
    shop = context()
    assert mapping.variant_options({"options": []}, shop) == []
    assert mapping.variant_options({"options": {}}, shop) == []
    listed = {"options": [{"option_id": "13", "value_id": "51"},
                          {"option_id": "12", "value_id": "45"}]}
    assert mapping.variant_options(listed, shop) == [{"name": "Rozmiar", "value": "M"},
                                                     {"name": "Kolor", "value": "zielony"}]


def test_a_variant_product_whose_rows_did_not_come_back_keeps_its_default_row(caplog):
    record = mapping.product_record(T_SHIRT, [], [], context())
    [variant] = record["variants"]
    assert variant["id"] == "101"
    assert variant["stock"] == Decimal(0)  # the default row's own stock, not invented
    assert "did not return" in caplog.text


def test_times_are_shop_local_converted_to_utc():
    zone = context().timezone
    assert mapping.local_to_utc("2024-05-20 08:02:11", zone) == "2024-05-20T06:02:11+00:00"
    assert mapping.local_to_utc("2024-12-01 00:30:00", zone) == "2024-11-30T23:30:00+00:00"
    assert mapping.local_to_utc("0000-00-00 00:00:00", zone) is None
    assert mapping.local_to_utc("", zone) is None


def test_categories_get_parents_and_paths_from_the_tree():
    assert mapping.category_records(context()) == [
        {"id": "1", "name": "Odzież", "parent_id": None, "path": ["Odzież"]},
        {"id": "10", "name": "Koszulki", "parent_id": "1", "path": ["Odzież", "Koszulki"]},
        {"id": "12", "name": "Kubki i filiżanki", "parent_id": None,
         "path": ["Kubki i filiżanki"]},
    ]


def test_stock_records():
    observed = "2026-01-01T00:00:00+00:00"
    assert mapping.stock_record(T_SHIRT_STOCKS[3], "207", observed) == {
        "product_id": "101", "variant_id": "207", "sku": "KOSZ-M-GREEN", "ean": None,
        "quantity": Decimal("1.5"), "updated_at": observed}
    assert mapping.stock_record(T_SHIRT_STOCKS[4], "208", observed)["quantity"] is None
