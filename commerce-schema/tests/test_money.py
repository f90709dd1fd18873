"""Money rounding and parsing as vendors' prices need it."""

from decimal import Decimal

import pytest
from commerce_schema import MoneyError, gross_from_net, net_from_gross, parse_decimal, vat_rate


@pytest.mark.parametrize(("gross", "rate", "net"), [
    ("259.00", 23, "210.57"),
    ("0.01", 23, "0.01"),      # 0.00813 rounds up to a cent, never to zero
    ("0.01", 8, "0.01"),
    ("10.80", 8, "10.00"),
    ("10.50", 5, "10.00"),
    ("99.99", 5, "95.23"),     # 95.228... half-up
    ("49.99", "zw.", "49.99"),  # exempt: net == gross
    ("49.99", "np.", "49.99"),
    ("1 259,00", "23%", "1023.58"),
])
def test_net_from_gross(gross, rate, net):
    assert net_from_gross(gross, rate) == Decimal(net)


def test_half_up_not_bankers_rounding():
    # 1.23 * 0.5 ... pick a value landing exactly on .xx5: 10.005 gross at 0% -> 10.01
    assert net_from_gross("10.005", 0) == Decimal("10.01")
    assert gross_from_net("0.125", 0) == Decimal("0.13")


def test_round_trip_gross_net_gross():
    assert gross_from_net(net_from_gross("259.00", 23), 23) == Decimal("259.00")
    assert gross_from_net("210.57", 23) == Decimal("259.00")


@pytest.mark.parametrize(("raw", "expected"), [
    ("259.00", "259.00"), ("259,00", "259.00"), (259, "259"), (259.0, "259.0"),
    (Decimal("1.10"), "1.10"), ("1.259,50", "1259.50"), ("1,259.50", "1259.50"),
    (" 12 ", "12"), ("1\u00a0000,00", "1000.00"), (0.1, "0.1"),
])
def test_parse_decimal_reads_what_platforms_send(raw, expected):
    assert parse_decimal(raw) == Decimal(expected)


@pytest.mark.parametrize("raw", ["", "abc", "1e309", "NaN", float("inf"), None, True,
                                 "12.3.4", Decimal("Infinity"), "99999999999"])
def test_parse_decimal_refuses_garbage_with_the_field_name(raw):
    with pytest.raises(MoneyError, match=r"^price: "):
        parse_decimal(raw, field="price")


@pytest.mark.parametrize(("raw", "rate"), [
    (23, 23), ("23", 23), ("23%", 23), ("23.00", 23), ("VAT8", 8), ("5 %", 5),
    ("zw.", 0), ("ZW", 0), ("np.", 0), ("0%", 0), (Decimal("8.00"), 8),
])
def test_vat_rate(raw, rate):
    assert vat_rate(raw) == rate


@pytest.mark.parametrize("raw", ["-5", "101", "7.5", "VAT", "abc"])
def test_vat_rate_refuses(raw):
    with pytest.raises(MoneyError):
        vat_rate(raw)
