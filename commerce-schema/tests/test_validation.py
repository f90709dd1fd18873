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
    # a negative quantity is an oversold shop, not a broken record (the target sends 0)
    assert validate_record("stock", {"product_id": "1", "variant_id": "9", "quantity": -3}) == []
    assert [str(e) for e in validate_record("stock", {
        "product_id": "1", "variant_id": "9", "quantity": Decimal("1E+5000")})] == [
        "stock record 9: quantity: 1E+5000 is out of range"]
    assert validate_record("products", broken(variants__0__stock=Decimal(-2))) == []


def test_unknown_stream_and_non_object():
    assert messages({}, stream="orders") == ["orders record <no id>: (stream): unknown stream "
                                             "'orders'"]
    assert messages(["x"]) == ["products record <no id>: (record): a record must be a JSON object"]


@pytest.mark.parametrize("value", ["yesterday", "2024-04-02", "2024-04-02T10:00:00",
                                   "2024-13-02T10:00:00Z", ""])
def test_a_time_that_is_not_a_date_and_time_with_an_offset_is_rejected(value):
    assert messages(broken(updated_at=value)) == [
        f"products record 101: updated_at: {value!r} is not a date and time with a time "
        "zone, such as 2024-01-31T08:00:00Z"]
    assert [str(e) for e in validate_record("stock", {
        "product_id": "1", "variant_id": "9", "quantity": 3, "updated_at": value})] == [
        f"stock record 9: updated_at: {value!r} is not a date and time with a time zone, "
        "such as 2024-01-31T08:00:00Z"]


@pytest.mark.parametrize("value", ["2024-04-02T10:00:00Z", "2024-04-02T10:00:00+02:00",
                                   "2024-04-02T10:00:00.123456+00:00", None])
def test_times_with_an_offset_or_null_are_accepted(value):
    assert validate_record("products", broken(created_at=value, updated_at=value)) == []


@pytest.mark.parametrize(("net", "gross", "rate"), [
    ("128.46", "158.00", 23),  # 128.46 x 1.23 = 158.0058 -> 158.01: one grosz off, accepted
    ("128.46", "158.02", 23),
    ("0.01", "0.02", 23), ("0.01", "0.00", 23), ("9259.25", "9999.99", 8),
    ("0.94", "0.99", 5), ("100.00", "100.01", 0),
])
def test_one_grosz_between_net_and_gross_is_tolerated(net, gross, rate):
    record = copy.deepcopy(VALID)
    record["vat_rate"] = rate
    record["variants"] = [dict(VALID["variants"][0], price_net=Decimal(net),
                               price_gross=Decimal(gross))]
    assert validate_record("products", record) == []


@pytest.mark.parametrize(("net", "gross", "rate", "expected"), [
    ("128.46", "157.99", 23, "158.01"), ("128.46", "158.03", 23, "158.01"),
    ("100.00", "100.02", 0, "100.00"), ("0.01", "0.03", 23, "0.01"),
])
def test_two_groszy_off_is_reported(net, gross, rate, expected):
    record = copy.deepcopy(VALID)
    record["vat_rate"] = rate
    record["variants"] = [dict(VALID["variants"][0], price_net=Decimal(net),
                               price_gross=Decimal(gross))]
    assert messages(record) == [
        f"products record 101: variants[0].price_gross: {gross} does not match price_net "
        f"{net} at {rate}% VAT (expected {expected})"]
