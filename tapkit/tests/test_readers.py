"""The mapping readers on the shapes platforms really send."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from tapkit.readers import (
    Translator,
    as_dict,
    clean_text,
    flag,
    local_to_utc,
    quantity,
    repair_text,
    text,
    utc_to_local,
)

WARSAW = ZoneInfo("Europe/Warsaw")


def test_text_strips_and_empties_become_none():
    assert text("  Kubek  ") == "Kubek"
    assert text("   ") is None
    assert text(None) is None
    assert text(12) == "12"
    assert as_dict([]) == {}
    assert as_dict({"a": 1}) == {"a": 1}


@pytest.mark.parametrize("value", ["1", 1, True, "true", "TAK", "yes", "on", " t "])
def test_flags_that_say_yes(value):
    assert flag(value) is True


@pytest.mark.parametrize("value", ["0", 0, False, "false", "nie", "no", "off", "", None, "2"])
def test_flags_that_say_no(value):
    assert flag(value) is False


def test_quantities_are_decimal_or_none_and_never_negative(caplog):
    assert quantity("40") == Decimal(40)
    assert quantity("1,5") == Decimal("1.5")
    assert quantity(None) is None
    assert quantity(" ") is None
    with caplog.at_level(logging.WARNING):
        assert quantity("-3", what="product 7 stock") == 0
        assert quantity("dużo", what="product 8 stock") is None
    assert "product 7 stock: -3 is negative; emitted as 0" in caplog.text
    assert "product 8 stock: 'dużo' is not a quantity" in caplog.text


def test_local_time_to_utc_in_summer_winter_and_the_dst_hours():
    assert local_to_utc("2024-07-01 12:00:00", WARSAW) == "2024-07-01T10:00:00+00:00"
    assert local_to_utc("2024-01-15 12:00:00", WARSAW) == "2024-01-15T11:00:00+00:00"
    # the autumn hour happens twice: the earlier one is taken
    assert local_to_utc("2024-10-27 02:30:00", WARSAW) == "2024-10-27T00:30:00+00:00"
    # an offset given is kept; MySQL's no-date and garbage are null
    assert local_to_utc("2024-07-01T12:00:00+00:00", WARSAW) == "2024-07-01T12:00:00+00:00"
    assert local_to_utc("0000-00-00 00:00:00", WARSAW) is None
    assert local_to_utc("wczoraj", WARSAW) is None


def test_utc_to_local_is_the_inverse():
    moment = dt.datetime(2024, 7, 1, 10, 0, tzinfo=dt.timezone.utc)
    assert utc_to_local(moment, WARSAW) == "2024-07-01 12:00:00"
    assert utc_to_local(moment.replace(tzinfo=None), WARSAW) == "2024-07-01 12:00:00"


def test_translations_fall_back_to_the_default_then_any_warning_once(caplog):
    translator = Translator("en_GB", "pl_PL")
    both = {"pl_PL": {"name": "Kubek"}, "en_GB": {"name": "Mug"}}
    assert translator.text_of(both, "name", kind="product", object_id=1) == "Mug"
    polish = {"pl_PL": {"name": "Kubek"}, "de_DE": {"name": "Becher"}}
    with caplog.at_level(logging.WARNING):
        assert translator.text_of(polish, "name", kind="product", object_id=2) == "Kubek"
        assert translator.text_of(polish, "name", kind="product", object_id=2) == "Kubek"
        german = {"de_DE": {"name": "Becher"}}
        assert translator.pick(german, kind="product", object_id=3) == ("de_DE",
                                                                         {"name": "Becher"})
    assert caplog.text.count("product 2 has no en_GB translation; using pl_PL") == 1
    assert translator.pick([], kind="product", object_id=4) is None


def test_text_that_cannot_travel_is_repaired_and_everything_else_kept():
    assert clean_text("Kub\ud800ek\x00 z\x07 uchem\t\n\r") == "Kub\ufffdek z uchem\t\n\r"
    kept = "Zażółć \u200b\u202eRTL\u202c \u05d0 \U0001f600"  # format characters are text
    assert clean_text(kept) == kept
    record = {"name": "A\x00", "variants": [{"sku": "ok"}, {"sku": "B\ud800"}],
              "attributes": {"Ma\x07t": "x"}, "stock": 5}
    repaired, where = repair_text(record)
    assert repaired == {"name": "A", "variants": [{"sku": "ok"}, {"sku": "B\ufffd"}],
                        "attributes": {"Mat": "x"}, "stock": 5}
    assert where == ["name", "variants[1].sku", "attributes.Mat (its name)"]
    assert record["name"] == "A\x00"  # the input is not changed
    same = {"name": "ok", "variants": []}
    assert repair_text(same) == (same, [])
