"""The pure mapping on realistic Magento responses (shapes from the platform's REST API)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from tap_magento import mapping
from tap_magento.client import fill_parameters, keyset_pages, search_params
from tapkit.errors import PagingError
from tapkit.streams import MappingError

RULES = [{"id": 1, "code": "VAT standard", "priority": 0, "customer_tax_class_ids": [3],
          "product_tax_class_ids": [2], "tax_rate_ids": [4, 5, 9]},
         {"id": 2, "code": "obniżona", "priority": 0, "customer_tax_class_ids": [3],
          "product_tax_class_ids": [6], "tax_rate_ids": [6]},
         {"id": 3, "code": "hurt", "priority": 0, "customer_tax_class_ids": [5],
          "product_tax_class_ids": [6, 2], "tax_rate_ids": [7]}]
RATES = [{"id": 4, "tax_country_id": "DE", "tax_region_id": 0, "tax_postcode": "*", "rate": 19},
         {"id": 5, "tax_country_id": "PL", "tax_region_id": 0, "tax_postcode": "*", "rate": 23},
         {"id": 9, "tax_country_id": "AT", "tax_region_id": 0, "tax_postcode": "*", "rate": 20},
         {"id": 6, "tax_country_id": "PL", "tax_region_id": 0, "tax_postcode": "*", "rate": 8},
         {"id": 7, "tax_country_id": "PL", "tax_region_id": 0, "tax_postcode": "*", "rate": 5}]
CLASSES = [{"class_id": 2, "class_name": "Taxable Goods", "class_type": "PRODUCT"},
           {"class_id": 6, "class_name": "Obniżona", "class_type": "PRODUCT"},
           {"class_id": 7, "class_name": "Książki", "class_type": "PRODUCT"}]

COLOR = {"attribute_id": 93, "attribute_code": "color", "frontend_input": "select",
         "is_user_defined": True, "is_visible_on_front": True, "default_frontend_label": "Color",
         "frontend_labels": [{"store_id": 1, "label": "Kolor"}],
         "options": [{"label": " ", "value": ""}, {"label": "czarny", "value": "5476"},
                     {"label": "szary", "value": "5479"}]}
SIZE = {"attribute_id": 152, "attribute_code": "size", "frontend_input": "select",
        "is_user_defined": True, "is_visible_on_front": True, "default_frontend_label": "Size",
        "frontend_labels": [{"store_id": 1, "label": "Rozmiar"}],
        "options": [{"label": " ", "value": ""}, {"label": "XS", "value": "5593"},
                    {"label": "S", "value": "5594"}]}
MATERIAL = {"attribute_id": 201, "attribute_code": "material", "frontend_input": "text",
            "is_user_defined": True, "is_visible_on_front": True,
            "default_frontend_label": "Material",
            "frontend_labels": [{"store_id": 1, "label": "Materiał"}], "options": []}

PARENT = {
    "id": 68, "sku": "MH01", "name": "Bluza z kapturem Tatry", "price": 0, "status": 1,
    "visibility": 4, "type_id": "configurable", "created_at": "2020-04-10 03:05:04",
    "updated_at": "2020-04-10 03:05:04",
    "extension_attributes": {
        "website_ids": [1], "category_links": [{"position": 0, "category_id": "15"},
                                               {"position": 1, "category_id": "2"}],
        "configurable_product_options": [
            {"id": 3, "attribute_id": "93", "label": "Color", "position": 1,
             "values": [{"value_index": 5476}, {"value_index": 5479}], "product_id": 68},
            {"id": 2, "attribute_id": "152", "label": "Size", "position": 0,
             "values": [{"value_index": 5593}, {"value_index": 5594}], "product_id": 68}],
        "configurable_product_links": [54, 53, 55, 56]},
    "media_gallery_entries": [
        {"id": 85, "media_type": "image", "label": "", "position": 2, "disabled": False,
         "types": [], "file": "/m/h/mh01-gray_back_1.jpg"},
        {"id": 86, "media_type": "image", "label": "", "position": 3, "disabled": True,
         "types": [], "file": "/m/h/mh01-hidden.jpg"},
        {"id": 87, "media_type": "external-video", "label": "", "position": 4,
         "disabled": False, "types": [], "file": "/v/i/video.jpg"},
        {"id": 84, "media_type": "image", "label": "", "position": 5, "disabled": False,
         "types": ["image", "small_image", "thumbnail"], "file": "/m/h/mh01-gray_main_1.jpg"}],
    "custom_attributes": [
        {"attribute_code": "description", "value": "<p>Ciepła na chłodne dni.</p>"},
        {"attribute_code": "url_key", "value": "bluza-z-kapturem-tatry"},
        {"attribute_code": "tax_class_id", "value": "2"},
        {"attribute_code": "material", "value": "Bawełna"},
        {"attribute_code": "category_ids", "value": ["15", "2"]}]}


def child(cid, sku, size, color, price, **extra):
    return {"id": cid, "sku": sku, "name": sku, "price": price, "status": 1, "visibility": 1,
            "type_id": "simple", "weight": 1, "created_at": "2020-04-10 03:05:03",
            "updated_at": extra.pop("updated_at", "2020-04-10 03:05:03"),
            "extension_attributes": {"website_ids": [1]},
            "media_gallery_entries": extra.pop("gallery", []),
            "custom_attributes": [{"attribute_code": "size", "value": size},
                                  {"attribute_code": "color", "value": color},
                                  {"attribute_code": "tax_class_id", "value": "2"},
                                  {"attribute_code": "ean", "value": f"590{cid:010d}"}],
            **extra}


CHILDREN = [child(53, "MH01-XS-Black", "5593", "5476", 52),
            child(54, "MH01-XS-Gray", "5593", "5479", 52),
            child(55, "MH01-S-Black", "5594", "5476", 56.5,
                  gallery=[{"id": 59, "media_type": "image", "position": 1, "disabled": False,
                            "types": ["image"], "file": "/m/h/mh01-black_main_1.jpg"}]),
            child(56, "MH01-S-Gray", "5594", "5479", "60.991870",
                  updated_at="2020-05-01 10:00:00", status=2)]


def store(**over):
    config_row = {"id": 1, "code": "default", "locale": "pl_PL", "base_currency_code": "PLN",
                  "weight_unit": "kgs", "base_link_url": "https://sklep.example.pl/",
                  "secure_base_link_url": "https://sklep.example.pl/",
                  "secure_base_media_url": "https://cdn.example.pl/media/"}
    values = {"url_suffix": ".html", "prices_include_tax": False,
              "taxes": mapping.tax_table(RULES, RATES, CLASSES, country="PL", customer_class="3"),
              "categories": mapping.category_index({"id": 2, "children_data": [
                  {"id": 11, "name": "Odzież", "position": 1, "children_data": [
                      {"id": 15, "name": "Bluzy", "position": 1, "children_data": []}]}]}),
              "attributes": {a["attribute_code"]: mapping.attribute_from(a, 1)
                             for a in (COLOR, SIZE, MATERIAL)}}
    values.update(over)
    return mapping.store_context_from(config_row, **values)


def test_a_configurable_product_is_one_record_of_its_size_and_colour_children():
    record = mapping.product_record(PARENT, CHILDREN, {"53": Decimal(12), "54": Decimal(0)},
                                    store())
    assert record["id"] == "68"
    assert record["sku"] == "MH01"
    assert [v["id"] for v in record["variants"]] == ["53", "54", "55", "56"]
    assert [v["options"] for v in record["variants"]][:2] == [
        [{"name": "Rozmiar", "value": "XS"}, {"name": "Kolor", "value": "czarny"}],
        [{"name": "Rozmiar", "value": "XS"}, {"name": "Kolor", "value": "szary"}]]
    prices = [(v["price_net"], v["price_gross"]) for v in record["variants"]]
    assert prices == [(Decimal("52.00"), Decimal("63.96")), (Decimal("52.00"), Decimal("63.96")),
                      (Decimal("56.50"), Decimal("69.50")), (Decimal("60.99"), Decimal("75.02"))]
    assert [v["stock"] for v in record["variants"]] == [12, 0, None, None]
    assert [v["active"] for v in record["variants"]] == [True, True, True, False]
    assert record["variants"][2]["images"] == [
        {"url": "https://cdn.example.pl/media/catalog/product/m/h/mh01-black_main_1.jpg",
         "position": 1, "public": True}]
    assert record["variants"][0]["ean"] == "5900000000053"
    # the main image first, then by position; disabled ones and videos left out
    assert [i["url"].rsplit("/", 1)[1] for i in record["images"]] == [
        "mh01-gray_main_1.jpg", "mh01-gray_back_1.jpg"]
    assert record["categories"] == [{"id": "15", "name": "Bluzy", "path": ["Odzież", "Bluzy"]}]
    assert record["attributes"] == {"Materiał": "Bawełna"}
    assert record["url"] == "https://sklep.example.pl/bluza-z-kapturem-tatry.html"
    assert record["vat_rate"] == 23
    assert record["language"] == "pl"
    # a child's edit is the family's newest change
    assert record["updated_at"] == "2020-05-01T10:00:00+00:00"


def test_a_standalone_simple_product_is_one_record_with_one_variant():
    item = {"id": 1, "sku": "24-MB01", "name": "Torba podróżna", "price": 34, "status": 1,
            "visibility": 4, "type_id": "simple", "weight": "1.5",
            "created_at": "2020-04-10 03:03:59", "updated_at": "2020-04-11 08:12:40",
            "extension_attributes": {"category_links": [{"position": 0, "category_id": "4"}]},
            "media_gallery_entries": [{"id": 1, "media_type": "image", "position": 1,
                                       "disabled": False, "types": ["image"],
                                       "file": "/m/b/mb01-blue-0.jpg"}],
            "custom_attributes": [{"attribute_code": "url_key", "value": "torba"},
                                  {"attribute_code": "ean", "value": "4006381333931"}]}
    record = mapping.product_record(item, [], {"1": Decimal(7)}, store())
    assert record["vat_rate"] == 0  # no tax class: Magento charges none
    assert record["categories"] == []  # 4 is another store's category
    [variant] = record["variants"]
    assert variant == {"id": "1", "sku": "24-MB01", "ean": "4006381333931", "options": [],
                       "price_net": Decimal("34.00"), "price_gross": Decimal("34.00"),
                       "stock": Decimal(7), "active": True, "images": [],
                       "weight_kg": Decimal("1.5")}
    assert record["images"][0]["url"] == \
        "https://cdn.example.pl/media/catalog/product/m/b/mb01-blue-0.jpg"


@pytest.mark.parametrize(("include_tax", "price", "net", "gross"), [
    (False, "16.252033", "16.25", "19.99"),
    (True, "19.99", "16.25", "19.99"),
    (False, 100, "100.00", "123.00"),
    (True, 123, "100.00", "123.00"),
])
def test_prices_include_tax_both_ways(include_tax, price, net, gross):
    got = mapping.prices(price, 23, store(prices_include_tax=include_tax), "p")
    assert got == (Decimal(net), Decimal(gross))


@pytest.mark.parametrize("price", ["", None, "abc", "-5", "1e309"])
def test_a_bad_price_is_a_mapping_error(price):
    with pytest.raises(MappingError):
        mapping.prices(price, 23, store(), "product 1 variant 1")


def test_vat_for_poland_when_other_countries_have_rules_too():
    table = mapping.tax_table(RULES, RATES, CLASSES, country="PL", customer_class="3")
    assert table.rate_for("2") == 23  # not DE's 19 or AT's 20 in the same rule
    assert table.rate_for("6") == 8  # not the wholesale class's 5
    assert table.rate_for("0") == 0
    assert table.rate_for(None) == 0
    with pytest.raises(MappingError, match=r"tax class 7 \(Książki\) has no tax rate for PL"):
        table.rate_for("7")
    german = mapping.tax_table(RULES, RATES, CLASSES, country="DE", customer_class="3")
    assert german.rate_for("2") == 19


def test_two_rates_for_one_class_are_reported_not_guessed():
    rules = [*RULES, {"id": 4, "customer_tax_class_ids": [3], "product_tax_class_ids": [2],
                      "tax_rate_ids": [6]}]
    table = mapping.tax_table(rules, RATES, CLASSES, country="PL", customer_class="3")
    with pytest.raises(MappingError, match="several tax rates for PL"):
        table.rate_for("2")


def test_legacy_and_msi_stock():
    assert mapping.legacy_quantity({"qty": 12, "is_in_stock": True, "manage_stock": True}) == 12
    assert mapping.legacy_quantity({"qty": 5, "is_in_stock": False, "manage_stock": True}) == 0
    assert mapping.legacy_quantity({"qty": 0, "is_in_stock": True,
                                    "manage_stock": False}) is None
    rows = [{"sku": "A", "source_code": "default", "quantity": 12, "status": 1},
            {"sku": "A", "source_code": "krakow", "quantity": "3.5", "status": 1},
            {"sku": "B", "source_code": "default", "quantity": 4, "status": 0}]
    assert mapping.msi_quantities(rows, None) == {"A": Decimal("15.5"), "B": 0}
    assert mapping.msi_quantities(rows, ["krakow"]) == {"A": Decimal("3.5")}


def test_a_child_without_its_option_value_is_named():
    broken = child(53, "MH01-M", "", "5476", 52)
    with pytest.raises(MappingError, match="child MH01-M has no size value"):
        mapping.product_record(PARENT, [broken], {}, store())


def test_a_configurable_without_children_is_a_mapping_error():
    with pytest.raises(MappingError, match="has no children to sell"):
        mapping.product_record(PARENT, [], {}, store())


def test_weights_in_pounds_become_kilograms():
    row = {"id": 1, "weight_unit": "lbs", "secure_base_media_url": "x/"}
    context = mapping.store_context_from(row, **{k: getattr(store(), k) for k in (
        "url_suffix", "prices_include_tax", "taxes", "categories", "attributes")})
    assert mapping.weight_kg("2", context) == Decimal("0.907")


def test_magento_messages_get_their_parameters():
    assert fill_parameters("The consumer isn't authorized to access %resources.",
                           {"resources": "Magento_Catalog::products"}) == \
        "The consumer isn't authorized to access Magento_Catalog::products."
    assert fill_parameters("No such entity with %1 = %2", ["id", 5]) == \
        "No such entity with id = 5"


def test_search_params_are_magentos_bracket_form():
    params = search_params([[("entity_id", "in", [53, 54])]], sort=[("entity_id", "ASC")],
                           page_size=100, page=1)
    assert params == {
        "searchCriteria[filter_groups][0][filters][0][field]": "entity_id",
        "searchCriteria[filter_groups][0][filters][0][value]": "53,54",
        "searchCriteria[filter_groups][0][filters][0][condition_type]": "in",
        "searchCriteria[sortOrders][0][field]": "entity_id",
        "searchCriteria[sortOrders][0][direction]": "ASC",
        "searchCriteria[pageSize]": 100, "searchCriteria[currentPage]": 1}
    assert search_params() == {"searchCriteria": ""}


def _store_of(rows, repeat_last_page=True):
    """A fake ``/V1/products`` over ``rows`` honouring the cursor filters, 2.3-style paging."""
    calls = []

    def fetch(filters, page, size=3):
        calls.append((filters, page))
        selected = list(rows)
        for group in filters:
            field, _condition, value = group[0]
            if field == "updated_at":
                selected = [r for r in selected if r["updated_at"] >= value]
            if field == "entity_id":
                selected = [r for r in selected if r["id"] > value]
        selected.sort(key=lambda r: (r["updated_at"], r["id"]))
        last = max(1, -(-len(selected) // size))
        page = min(page, last) if repeat_last_page else page
        return {"items": selected[(page - 1) * size: page * size],
                "total_count": len(selected)}

    return fetch, calls


def test_the_cursor_never_repeats_or_loses_rows_even_with_equal_times():
    rows = [{"id": i, "updated_at": "2024-01-01 00:00:00" if i < 8 else f"2024-01-0{i - 6} x"}
            for i in range(1, 12)]
    fetch, calls = _store_of(rows)
    got = [r["id"] for page in keyset_pages(fetch, [], page_size=3) for r in page]
    assert got == list(range(1, 12))
    assert len(calls) <= 6


def test_the_cursor_by_entity_id_stops_on_total_count():
    rows = [{"id": i, "updated_at": "x"} for i in range(1, 8)]
    fetch, calls = _store_of(rows)
    got = [r["id"] for page in keyset_pages(fetch, [], page_size=3, by_updated_at=False)
           for r in page]
    assert got == list(range(1, 8))
    assert len(calls) == 3


def test_a_store_answering_out_of_order_stops_instead_of_losing_rows():
    def fetch(filters, page):
        return {"items": [{"id": 5, "updated_at": "b"}, {"id": 2, "updated_at": "a"}],
                "total_count": 10}

    with pytest.raises(PagingError, match="out of order"):
        for _ in keyset_pages(fetch, [], page_size=2, since="b"):
            pass
