"""Data that breaks one product must not break the shop (issue 11), as a kit tap meets it:
text UTF-8 cannot carry (a lone surrogate, NUL, a bell character) is repaired by the kit in
that product alone, and a negative stock becomes 0, in the products stream and in the stock
stream; the rest of the shop lands in the Gateway.
"""

from __future__ import annotations

import pytest
from commerce_schema import jsonio
from commerce_schema.validation import validate_record
from tapkit.testing import run_tap

BROKEN_NAME = "Kubek \ud800 zł\x00y dzwonek\x07 \u200bżółty"
REPAIRED_NAME = "Kubek \ufffd zły dzwonek \u200bżółty"  # zero-width space kept: it is text


def singer_text(run):
    """The tap's stdout again (Singer JSONL), to pipe into the target."""
    return "".join(jsonio.dumps(m) + "\n" for m in run.messages)


@pytest.fixture(scope="module")
def broken_shop(hostile):
    """A shop whose product 2 has an unencodable name and product 3 a negative stock; one run
    of the real tap-shoper."""
    with hostile.HostileShoper(n_products=5, seed=7) as shop:
        products = {p.id: p for p in shop.catalog.products}
        products[2].name = BROKEN_NAME
        shop.reload()
        rows = [r for r in shop.resources["product-stocks"].rows if r["product_id"] == "3"]
        for row in rows:
            row["stock"] = "-3"
        embedded = next(r for r in shop.resources["products"].rows if r["product_id"] == "3")
        embedded["stock"]["stock"] = "-3"
        config = {"shop_url": shop.url, "access_token": hostile.SHOPER_TOKEN}
        run = run_tap([str(hostile.BIN / "tap-shoper")], config)
        hostile.seen("tap broken-text", run.stderr, jsonio.dumps(run.messages))
        yield shop, run


def test_unencodable_text_is_repaired_in_that_product_and_named_once(broken_shop):
    _shop, run = broken_shop
    assert run.code == 0, run.stderr[-3000:]
    products = {r["id"]: r for r in run.records["products"]}
    assert sorted(products, key=int) == ["1", "2", "3", "4", "5"]
    assert products["2"]["name"] == REPAIRED_NAME
    assert products["2"]["description_html"]
    assert "\x00" not in products["2"]["description_html"]
    warnings = [line for line in run.stderr.splitlines() if "Repaired the text" in line]
    assert len(warnings) == 1, run.stderr[-3000:]
    assert "product 2: name held characters that cannot be sent" in warnings[0]
    assert "(1 with repaired text)" in run.stderr
    assert all(validate_record("products", r) == [] for r in products.values())


def test_a_negative_stock_is_0_in_the_products_and_in_the_stock_stream(broken_shop):
    _shop, run = broken_shop
    product = next(r for r in run.records["products"] if r["id"] == "3")
    assert product["variants"]
    assert all(v["stock"] == 0 for v in product["variants"])
    stock = [r for r in run.records["stock"] if r["product_id"] == "3"]
    assert {r["variant_id"] for r in stock} == {v["id"] for v in product["variants"]}
    assert all(r["quantity"] == 0 for r in stock)
    others = [v["stock"] for p in run.records["products"] if p["id"] != "3"
              for v in p["variants"]]
    assert any(s and s > 0 for s in others)  # the other products' stock is untouched
    assert "is negative; emitted as 0" in run.stderr


def test_the_repaired_shop_lands_in_the_gateway_whole(hostile, broken_shop, gateway, tmp_path):
    _shop, run = broken_shop
    landed = hostile.run_target(tmp_path, "broken-text", singer_text(run), gateway,
                                image_mode="hotlink", allow_private_image_hosts=True)
    assert landed.code == 0, landed.err[-3000:]
    assert set(landed.by_id) == {"1", "2", "3", "4", "5"}
    assert landed.by_id["2"]["name"].startswith(REPAIRED_NAME)
    negative = [p for p in landed.products if p["data"]["source"]["product_id"] == "3"]
    assert negative
    assert all(p["stock_level"] == 0 for p in negative)
    assert all(p["stock_level"] is None or p["stock_level"] >= 0 for p in landed.products)
