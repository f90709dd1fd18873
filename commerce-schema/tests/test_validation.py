"""The contract check names the record and the field of every problem."""

import copy
from decimal import Decimal

import pytest
from commerce_schema import jsonio, validate_record

VALID = {
    "id": "101", "sku": "KOSZ", "name": "Koszulka czerwona – bawełna",
    "description_html": "<p>Zażółć gęślą jaźń</p>", "short_description_html": None,
    "language": "pl", "url": None, "brand": "Łódzka Manufaktura",
    "categories": [{"id": "12", "name": "Koszulki", "path": ["Odzież", "Koszulki"]}],
    "images": [{"url": "https://shop.example/a.jpg", "position": 1, "public": True}],
    "vat_rate": 23, "currency": "PLN", "active": True, "attributes": {"Materiał": "Bawełna"},
    "created_at": "2024-04-01T10:00:00+00:00", "updated_at": "2024-04-02T10:00:00+00:00",
    "variants": [
        {"id": "205", "sku": "KOSZ-M", "ean": "5901234123464",
         "options": [{"name": "Rozmiar", "value": "M"}],
         "price_net": Decimal("88.62"), "price_gross": Decimal("109.00"), "stock": 4,
         "active": True, "images": [], "weight_kg": Decimal("0.3")},
        {"id": "206", "sku": "KOSZ-L", "ean": None,
         "options": [{"name": "Rozmiar", "value": "L"}],
         "price_net": Decimal("80.49"), "price_gross": Decimal("99.00"), "stock": None,
         "active": True, "images": [], "weight_kg": None},
    ],
}


def broken(**changes):
    record = copy.deepcopy(VALID)
    for path, value in changes.items():
        target = record
        *parents, last = path.split("__")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is KeyError:
            del target[last]
        else:
            target[last] = value
    return record


def messages(record, stream="products"):
    return [str(e) for e in validate_record(stream, record)]


def test_valid_product_with_variants_passes():
    assert validate_record("products", VALID) == []


def test_valid_product_read_from_json_passes():
    assert validate_record("products", jsonio.loads(jsonio.dumps(VALID))) == []


def test_missing_id():
    assert messages(broken(id=KeyError)) == [
        "products record <no id>: id: 'id' is a required property"]


def test_no_variants():
    assert messages(broken(variants=[])) == [
        "products record 101: variants: a product needs at least one variant "
        "(a simple product has exactly one)"]


def test_negative_price():
    errors = messages(broken(variants__0__price_net=Decimal("-1.00")))
    assert "products record 101: variants[0].price_net: -1.00 is negative" in errors


@pytest.mark.parametrize("rate", [22, 7, -1, 100])
def test_bad_vat(rate):
    assert messages(broken(vat_rate=rate))[0].startswith(
        f"products record 101: vat_rate: {rate} is not a supported VAT rate")


def test_float_price_is_not_decimal_safe():
    errors = messages(broken(variants__1__price_net=80.49))
    assert errors == ["products record 101: variants[1].price_net: 80.49 is a float; "
                      "money must be a Decimal (read JSON with parse_float=Decimal)"]


def test_three_decimal_places_is_not_decimal_safe():
    errors = messages(broken(variants__0__price_gross=Decimal("109.005")))
    assert errors[0] == ("products record 101: variants[0].price_gross: 109.005 has more than "
                         "2 decimal places; round with round_money()")


def test_gross_that_does_not_match_net_and_vat():
    errors = messages(broken(variants__0__price_gross=Decimal("88.62")))
    assert errors == ["products record 101: variants[0].price_gross: 88.62 does not match "
                      "price_net 88.62 at 23% VAT (expected 109.00)"]


def test_price_as_string_is_a_schema_error_naming_the_field():
    errors = messages(broken(variants__0__price_net="88,62"))
    assert errors[0].startswith("products record 101: variants[0].price_net: '88,62' is not")


def test_missing_variant_id():
    assert messages(broken(variants__1__id=KeyError)) == [
        "products record 101: variants[1].id: 'id' is a required property"]


def test_every_problem_is_reported_at_once():
    record = broken(vat_rate=22, variants__0__price_net=Decimal("-1"), name=KeyError)
    fields = {e.field for e in validate_record("products", record)}
    assert {"name", "vat_rate", "variants[0].price_net"} <= fields


def test_categories_and_stock_streams():
    assert validate_record("categories", {"id": "1", "name": "Odzież", "parent_id": None,
                                          "path": ["Odzież"]}) == []
    assert [str(e) for e in validate_record("categories", {"id": "2", "name": "Buty"})] == [
        "categories record 2: path: 'path' is a required property"]
    assert [str(e) for e in validate_record("stock", {
        "product_id": "1", "variant_id": "9", "quantity": -3})] == [
        "stock record 9: quantity: -3 is negative"]


def test_unknown_stream_and_non_object():
    assert messages({}, stream="orders") == ["orders record <no id>: (stream): unknown stream "
                                             "'orders'"]
    assert messages(["x"]) == ["products record <no id>: (record): a record must be a JSON object"]
