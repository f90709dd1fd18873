"""The mapping of Subiekt GT rows onto the contract, on rows as pymssql returns them
(``money`` as Decimal with 4 places, ``char`` columns padded with spaces)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sandbox.subiektgt import jpeg
from tap_subiektgt import mapping
from tap_subiektgt.mapping import Group, RunContext
from tapkit.streams import MappingError


def card(card_id=101, **over):
    row = {"card_id": card_id, "sku": "KUB-ZIELONY  ", "name": "Kubek Zorza zielony",
           "short_description": "Kubek ceramiczny",
           "description": "Ręcznie malowany.\n\nMyć ręcznie.",
           "main_code": "5901234123457", "category_id": 7, "category_name": "Kubki ",
           "maker_id": 501, "weight": Decimal("0.3500"), "price_net": Decimal("40.6504"),
           "price_gross": Decimal("50.0000"), "currency": "PLN", "vat_percent": Decimal("23.0000"),
           "vat_symbol": "23", "on_hand": Decimal("12.0000"), "reserved": Decimal("2.0000"),
           "group_key": None, "group_name": None,
           **{f"field{n}": "" for n in range(1, 9)}}
    row.update(over)
    return row


CTX = RunContext(field_labels={2: "Materiał"}, makers={501: "Ceramika Bolesławiec"})


def test_a_standalone_card_is_a_simple_product():
    record, skipped = mapping.product_record(Group(None, None, [card(field2="Ceramika")]),
                                             CTX, {})
    assert skipped == []
    assert record["id"] == "101"
    assert record["sku"] == "KUB-ZIELONY"
    assert record["brand"] == "Ceramika Bolesławiec"
    assert record["attributes"] == {"Materiał": "Ceramika"}
    assert record["categories"] == [{"id": "7", "name": "Kubki", "path": ["Kubki"]}]
    assert record["description_html"] == "<p>Ręcznie malowany.</p><p>Myć ręcznie.</p>"
    (variant,) = record["variants"]
    assert (variant["price_net"], variant["price_gross"]) == (Decimal("40.65"),
                                                             Decimal("50.00"))
    assert variant["stock"] == Decimal(10)
    assert variant["options"] == []
    assert variant["ean"] == "5901234123457"
    assert variant["weight_kg"] == Decimal("0.35")


def test_exempt_vat_is_zero_by_its_symbol():
    assert mapping.vat_of({"vat_percent": Decimal(0), "vat_symbol": "zw"}) == 0
    assert mapping.vat_of({"vat_percent": None, "vat_symbol": "np."}) == 0
    assert mapping.vat_of({"vat_percent": Decimal("8.0000"), "vat_symbol": "8"}) == 8
    with pytest.raises(MappingError, match="no sales VAT"):
        mapping.vat_of({"vat_percent": None, "vat_symbol": None})


def test_a_card_without_a_price_at_the_level_is_named_and_left_out():
    group = Group(5, "Kubek Zorza", [card(101), card(102, price_gross=None, sku="KUB-2")])
    record, skipped = mapping.product_record(group, CTX, {})
    assert [v["id"] for v in record["variants"]] == ["101"]
    assert skipped == [("102 (KUB-2)", "has no gross price at price level 1")]
    alone, skipped = mapping.product_record(Group(None, None, [card(price_net=None)]), CTX, {})
    assert alone is None
    assert "no net price" in skipped[0][1]


def test_a_negative_or_absurd_price_is_refused():
    with pytest.raises(MappingError, match="negative"):
        mapping.prices_of(card(price_net=Decimal("-1")), 1)
    with pytest.raises(MappingError, match="out of range"):
        mapping.prices_of(card(price_gross=Decimal("1E+12")), 1)


def test_reservations_above_stock_give_zero_not_a_negative_quantity():
    assert mapping.available({"on_hand": Decimal("1.0000"), "reserved": Decimal("3.0000")}) == 0
    assert str(mapping.available({"on_hand": Decimal("40.0000"), "reserved": 0})) == "40"
    assert str(mapping.available({"on_hand": 2.5, "reserved": None})) == "2.5"


def test_the_ean_is_the_main_code_or_else_the_first_valid_extra_code():
    assert mapping.ean_of("5901234123457") == "5901234123457"
    assert mapping.ean_of("W0000123", ["123", "5901234123457"]) == "5901234123457"
    assert mapping.ean_of("5901234123458", []) is None  # wrong check digit
    assert mapping.ean_of("", []) is None


def test_model_members_take_options_from_features_else_from_their_names():
    features = [("XL", "Rozmiar"), ("czarny", "Kolor"), ("Nowość", None)]
    assert mapping.options_of("Koszulka Zorza XL czarny", features, "Koszulka Zorza", []) == [
        {"name": "Rozmiar", "value": "XL"}, {"name": "Kolor", "value": "czarny"}]
    assert mapping.options_of("Koszulka Zorza XL", [], "Koszulka Zorza", ["Rozmiar"]) == [
        {"name": "Rozmiar", "value": "XL"}]
    assert mapping.options_of("KOSZULKA ZORZA - xl czarny", [], "Koszulka Zorza",
                              ["Rozmiar", "Kolor"]) == [
        {"name": "Rozmiar", "value": "xl"}, {"name": "Kolor", "value": "czarny"}]
    assert mapping.options_of("Koszulka Zorza XL", [], "Koszulka Zorza", []) == [
        {"name": "Wariant", "value": "XL"}]


def test_photos_shared_by_every_member_belong_to_the_product_the_rest_to_variants():
    group = Group(5, "Kubek", [card(1), card(2), card(3)], images={
        1: [(10, 111), (11, 222), (12, 999)], 2: [(20, 111), (21, 222)],
        3: [(30, 111), (31, 222), (32, None)]})
    assert mapping.shared_images(group) == [10, 11]
    assert mapping.own_images(group, 1) == [12]
    assert mapping.own_images(group, 2) == []
    assert mapping.own_images(group, 3) == [32]
    assert mapping.wanted_images(group) == [10, 11, 12, 32]


def test_a_photo_is_a_data_uri_of_its_sniffed_type():
    uri = mapping.data_uri(jpeg(90, "k"))
    assert uri.startswith("data:image/jpeg;base64,/9j/")
    assert mapping.data_uri(b"\x89PNG\r\n\x1a\n....").startswith("data:image/png;")
    with pytest.raises(MappingError, match="not a JPEG"):
        mapping.data_uri(b"<html>")


def test_plain_text_becomes_escaped_html_and_html_is_kept():
    assert mapping.html_of("Cena <50 zł & więcej\nlinia") == \
        "<p>Cena &lt;50 zł &amp; więcej<br>linia</p>"
    assert mapping.html_of("<p>Już <b>HTML</b></p>") == "<p>Już <b>HTML</b></p>"
    assert mapping.html_of("   ") is None


def test_a_field_group_is_named_by_what_its_cards_names_share():
    assert mapping.common_name(["Buty Tatry 41", "Buty Tatry 42"]) == "Buty Tatry"
    assert mapping.common_name(["Kubek", "Miska"]) == "Kubek"
    ctx = RunContext(grouping="field", group_field=1)
    group = Group("PRD-7", "prd-7", [card(1, name="Buty Tatry 41", field1="prd-7"),
                                     card(2, name="Buty Tatry 42", field1="prd-7")])
    record, _ = mapping.product_record(group, ctx, {})
    assert record["id"] == "pole1-PRD-7"
    assert record["name"] == "Buty Tatry"
    assert [v["options"] for v in record["variants"]] == [
        [{"name": "Wariant", "value": "41"}], [{"name": "Wariant", "value": "42"}]]
