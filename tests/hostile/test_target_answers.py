"""Gateway answers that are not what the target assumed (issue 11), through the real
``target-gateway`` command against the Gateway emulator switched to answer that way:

- the product query ignores ``size``, caps it, or ignores ``search_after``: read short, the
  list makes every product past the cut look new and a re-run would create them all again;
  the target must notice and stop with a clear error before it creates anything;
- a batch create answered 2xx without the created products (an HTML page, an empty list, an
  empty body): reconciled by a query; what the shop does not have is a failed product by
  source id, the run is partial (3) and no STATE covers it.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from sandbox.gateway import GatewayEmulator
from target_gateway.gateway import QUERY_PAGE_SIZE

N = QUERY_PAGE_SIZE + 20  # more than one query page
STATE = {"bookmarks": {"products": {"replication_key_value": "2024-01-03T08:00:00+00:00"}}}


@pytest.fixture(scope="module")
def big_shop(hostile, tmp_path_factory):
    """A shop with N products written by a first (normal) run, and that run's input."""
    folder = tmp_path_factory.mktemp("paging")
    text = hostile.singer(*[("products", hostile.product(f"p{n:03d}", f"Kubek {n}"))
                            for n in range(N)], ("STATE", STATE))
    with GatewayEmulator({hostile.SHOP_GUID: hostile.SIGNING_KEY}) as gateway:
        first = hostile.run_target(folder, "first", text, gateway, batch_size=50)
        assert first.code == 0, first.err[-3000:]
        assert len(first.products) == N
        yield gateway, text, folder


@pytest.mark.parametrize(("quirk", "value", "message"), [
    ("query_ignores_search_after", True, "repeats product .*: the Gateway does not honour "
                                         "`search_after`"),
    ("query_ignores_size", True, "holds 10 products where 100 were asked for, after 10 of the "
                                 f"{N} the Gateway counts: the Gateway caps or ignores `size`"),
    ("query_size_cap", 40, f"holds 40 products where 100 were asked for, after 40 of the {N} "
                           "the Gateway counts"),
])
def test_a_query_that_does_not_page_as_asked_stops_the_rerun_before_any_write(
        hostile, big_shop, quirk, value, message):
    gateway, text, folder = big_shop
    setattr(gateway, quirk, value)
    gateway.clear_requests()
    try:
        # the re-run carries one product the Gateway does not have yet: even that one waits
        more = text + hostile.singer(("products", hostile.product("new-one")))
        run = hostile.run_target(folder, f"rerun-{quirk}", more, gateway)
    finally:
        setattr(gateway, quirk, None if quirk == "query_size_cap" else False)
    assert run.code == 1, run.err[-3000:]
    assert len(run.products) == N  # nothing created twice, nothing created at all
    writes = [r for r in gateway.requests_to("POST") if not r.path.endswith("/_query")]
    assert writes == []
    assert re.search("could not read the shop's current Gateway state: page \\d+ of the "
                     "product query " + message, run.report["error"]), run.report["error"]
    assert "Traceback" not in run.err
    assert run.out == ""  # no STATE


def test_the_same_rerun_against_a_gateway_paging_as_asked_changes_nothing(hostile, big_shop):
    gateway, text, folder = big_shop
    run = hostile.run_target(folder, "rerun-ok", text, gateway)
    assert run.code == 0, run.err[-3000:]
    assert len(run.products) == N
    assert run.report["counts"]["unchanged"] == N


# -- creates answered without the created products ------------------------------------------
def _stock(pid: str, quantity: int) -> dict:
    return {"product_id": pid, "variant_id": pid, "sku": None, "ean": None,
            "quantity": Decimal(quantity), "updated_at": "2024-01-04T08:00:00+00:00"}


def test_a_create_answered_with_html_is_confirmed_by_a_query(hostile, gateway, tmp_path):
    gateway.create_answer = "html"  # the products land, the answer does not say so
    text = hostile.singer(("products", hostile.product("1")), ("products", hostile.product("2")),
                          ("stock", _stock("1", 9)), ("STATE", STATE))
    run = hostile.run_target(tmp_path, "html", text, gateway)
    assert run.code == 0, run.err[-3000:]
    assert sorted(run.by_id) == ["1", "2"]
    assert len(run.products) == 2  # confirmed, not sent again
    assert run.by_id["1"]["stock_level"] == 9  # the stock found the product's guid
    assert run.report["counts"]["created"] == 2
    assert json.loads(run.out.strip().splitlines()[-1]) == STATE


@pytest.mark.parametrize("answer", ["html", "empty_list", "empty_body"])
def test_a_create_answered_2xx_without_the_products_is_not_a_write(hostile, gateway, tmp_path,
                                                                   answer):
    gateway.create_answer = answer
    gateway.create_stores = False  # and nothing landed
    text = hostile.singer(("products", hostile.product("1")), ("products", hostile.product("2")),
                          ("STATE", STATE))
    run = hostile.run_target(tmp_path, answer, text, gateway, batch_size=1)
    assert run.code == 3, run.err[-3000:]
    failed = {f["id"]: f["reason"] for f in run.report["failed"]}
    assert set(failed) == {"1", "2"}
    assert "is not confirmed (the shop's products do not include it either)" in failed["1"]
    assert run.report["counts"]["created"] == 0
    assert run.out == ""  # no STATE covers them: the next run writes them

    gateway.create_answer = None
    again = hostile.run_target(tmp_path, f"{answer}-again", text, gateway, batch_size=1)
    assert again.code == 0, again.err[-3000:]
    assert sorted(again.by_id) == ["1", "2"]
    assert json.loads(again.out.strip().splitlines()[-1]) == STATE
