"""Data that breaks one product must not break the shop (issue 11), through the real
``target-gateway`` command against the Gateway emulator:

- text no JSON body can carry (a lone surrogate) or a text column refuses (NUL, control
  characters) in one product: that product's text is repaired, every other product lands,
  STATE is printed, and the next run is not blocked by it;
- negative stock: floored at 0 for that variant, never leaving an old positive value.
"""

from __future__ import annotations

from decimal import Decimal

STATE = {"bookmarks": {"products": {"replication_key_value": "2024-01-03T08:00:00+00:00"}}}


def _bad_text_input(hostile):
    bad = hostile.product("bad", name="Kubek \ud800 Zorza",
                          description_html="<p>Opis\x00 z\x07 błędem</p>")
    bad["variants"][0]["sku"] = "SKU-\x1bbad"
    others = [hostile.product(str(n), name=f"Świeca {n}") for n in range(1, 5)]
    text = hostile.singer(*[("products", r) for r in [others[0], bad, *others[1:]]],
                          ("STATE", STATE))
    return text.replace("\ud800", "\\ud800")  # as a tap's JSON writes it: an escape


def test_unencodable_text_in_one_product_is_repaired_and_the_rest_lands(hostile, gateway,
                                                                        tmp_path):
    text = _bad_text_input(hostile)
    run = hostile.run_target(tmp_path, "bad-text", text, gateway, batch_size=50)
    assert run.code == 0, run.err[-3000:]
    assert set(run.by_id) == {"bad", "1", "2", "3", "4"}
    landed = run.by_id["bad"]
    assert landed["name"] == "Kubek \ufffd Zorza"
    assert landed["desc"] == "<p>Opis z błędem</p>"
    assert landed["sku"] == "SKU-bad"
    assert "Traceback" not in run.err
    assert "products record bad: text the Gateway cannot store" in run.err
    assert run.report["failed"] == []
    assert run.out.strip().splitlines()[-1].startswith('{"bookmarks"')  # STATE printed

    again = hostile.run_target(tmp_path, "bad-text-again", text, gateway, batch_size=50)
    assert again.code == 0, again.err[-3000:]
    assert len(again.products) == 5  # nothing created twice, nothing failed
    assert again.report["counts"]["unchanged"] == 5, again.report["counts"]
    assert again.out.strip()  # the next run is not blocked either


def _variant(vid: str, stock: Decimal) -> dict:
    return {"id": vid, "sku": f"SKU-{vid}", "ean": None,
            "options": [{"name": "Rozmiar", "value": vid}],
            "price_net": Decimal("10.00"), "price_gross": Decimal("12.30"), "stock": stock,
            "active": True, "images": [], "weight_kg": None}


def _stock(pid: str, vid: str, quantity: Decimal) -> dict:
    return {"product_id": pid, "variant_id": vid, "sku": None, "ean": None,
            "quantity": quantity, "updated_at": "2024-01-04T08:00:00+00:00"}


def test_negative_stock_sets_the_gateway_stock_to_zero(hostile, gateway, tmp_path):
    shoe = hostile.product("S1", name="But")
    shoe["variants"] = [_variant("S1-38", Decimal(7)), _variant("S1-39", Decimal(4))]
    first = hostile.run_target(tmp_path, "stock-1", hostile.singer(("products", shoe)),
                               gateway)
    assert first.code == 0, first.err[-3000:]
    levels = {p["data"]["source"]["variant_id"]: p["stock_level"] for p in first.products}
    assert levels == {"S1-38": 7, "S1-39": 4}

    # an oversold variant in the products record, and a stock record below zero
    shoe["variants"] = [_variant("S1-38", Decimal(-2)), _variant("S1-39", Decimal(3))]
    mug = hostile.product("M1")
    text = hostile.singer(("products", shoe), ("products", mug),
                          ("stock", _stock("M1", "M1", Decimal(-1))))
    second = hostile.run_target(tmp_path, "stock-2", text, gateway)
    assert second.code == 0, second.err[-3000:]
    levels = {p["data"]["source"]["variant_id"]: p["stock_level"] for p in second.products}
    assert levels == {"S1-38": 0, "S1-39": 3, "M1": 0}
