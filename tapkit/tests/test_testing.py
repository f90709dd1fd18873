"""The testing kit: factories are valid, the conformance check catches what it promises."""

from __future__ import annotations

import json

from tapkit.testing import (
    category,
    conformance_problems,
    product,
    singer_lines,
    stock,
    variant,
)


def record(stream, value):
    return {"type": "RECORD", "stream": stream, "record": value}


def test_the_factories_make_valid_records_that_can_be_overridden():
    messages = [record("categories", category()), record("products", product()),
                record("products", product(id="2", variants=[variant(id="2-a")])),
                record("stock", stock())]
    assert conformance_problems(messages) == []
    assert product(name="Łyżka")["name"] == "Łyżka"


def test_the_conformance_check_names_each_problem():
    bad_price = product(id="3", variants=[variant(id="3", price_gross="abc")])
    messages = [record("products", product()), record("categories", category()),
                record("products", product()), record("products", bad_price)]
    problems = conformance_problems(messages)
    assert "products record 1: emitted twice" in problems
    assert "categories must all come before the first product" in problems
    assert any(p.startswith("products record 3: variants[0].price_gross") for p in problems)


def test_singer_lines_announce_each_stream_once():
    text = singer_lines(("products", product()), ("products", product(id="2")),
                        ("STATE", {"bookmarks": {}}), ("RAW", "{broken"))
    lines = text.splitlines()
    assert [json.loads(line)["type"] for line in lines[:4]] == ["SCHEMA", "RECORD", "RECORD",
                                                                "STATE"]
    assert lines[-1] == "{broken"
