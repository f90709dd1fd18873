"""Hostile and broken answers from an IdoSell shop, as the ``tap-iai`` process meets them.

Each case asserts what a user sees: the exit code, the ERROR line naming the path, product,
size or setting, that no traceback replaces the explanation, which records came out, and
(through the corpus' ``seen``) that no secret is printed.
"""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote, quote_plus

import pytest
from sandbox.idosell import DEMO_MARKETPLACE_LOGIN, IdoSellEmulator
from sandbox.server import Response
from tapkit.testing import Tampering, assert_fails_clearly, error_lines

API_KEY = "idosell-hostile-key-7f3a/+=Q9"
MARKETPLACE_PASSWORD = "Hasło-marketplace-9"
MAINTENANCE = ("<!DOCTYPE html><html><head><title>Przerwa techniczna</title></head><body>"
               "<h1>Sklep chwilowo niedostępny</h1></body></html>")
BAD_PRICES = {1: "", 2: "abc", 3: -5, 4: "1e309"}
PRICE_ERRORS = {1: "'' is not a decimal number", 2: "'abc' is not a decimal number",
                3: "-5 is negative", 4: "'1e309' is not a decimal number"}
SEARCH = r"/products/products/search$"


class HostileIdoSell(Tampering, IdoSellEmulator):
    """The IdoSell emulator, with answers to chosen paths replaced (``tamper[regex] =
    f(request, response, n)``, see ``tapkit.testing.Tampering``), knowing the case's keys."""

    defaults: ClassVar[dict[str, Any]] = {"api_key": API_KEY,
                                          "marketplace_password": MARKETPLACE_PASSWORD}


def run_tap(hostile: Any, folder: Path, name: str, shop: IdoSellEmulator, **settings: Any
            ) -> types.SimpleNamespace:
    """``tap-iai --config`` against ``shop`` (the Admin API unless told otherwise)."""
    values = {"shop_url": shop.url, "api_key": API_KEY, **settings}
    return hostile.run_tap_process("tap-iai", folder, name, values, (
        API_KEY, quote(API_KEY, safe=""), quote_plus(API_KEY), MARKETPLACE_PASSWORD,
        shop.feed_token))


def assert_clear_failure(run: types.SimpleNamespace, message: str) -> None:
    """Exit 1, the message as an ERROR line, and no traceback in its place."""
    assert_fails_clearly(run.code, run.err, message)


@pytest.fixture(scope="module")
def broken_prices(hostile, tmp_path_factory):
    """Products 1-4 with broken prices (on one size each); one tap run."""
    with HostileIdoSell(n_products=8, seed=21) as shop:
        for row in shop.rows:
            pid = row["productId"]
            if pid in BAD_PRICES:
                row["productSizesAttributes"][0]["productRetailPrice"] = BAD_PRICES[pid]
                if BAD_PRICES[pid] == "":  # no size price means the product's: break both
                    row["productRetailPrice"] = ""
        run = run_tap(hostile, tmp_path_factory.mktemp("iai"), "prices", shop)
        sizes = {r["productId"]: r["productSizesAttributes"][0]["sizeId"] for r in shop.rows}
    return run, sizes


@pytest.mark.parametrize("pid", sorted(BAD_PRICES))
def test_a_broken_price_skips_that_product_by_name_and_keeps_the_rest(broken_prices, pid):
    run, sizes = broken_prices
    assert run.code == 0, run.err[-3000:]
    assert str(pid) not in run.products
    expected = (f"Skipped product {pid}: product {pid} size {sizes[pid]} price: "
                f"{PRICE_ERRORS[pid]}")
    assert any(expected in line for line in error_lines(run.err)), run.err[-3000:]
    assert {"5", "6", "7", "8"} <= set(run.products)
    assert "Finished with 4 records skipped" in run.err


def test_an_html_maintenance_page_with_200_is_not_taken_for_data(hostile, tmp_path):
    with HostileIdoSell(n_products=3) as shop:
        shop.tamper[SEARCH] = lambda rq, resp, n: Response(
            200, MAINTENANCE, content_type="text/html; charset=utf-8")
        run = run_tap(hostile, tmp_path, "html200", shop)
    assert_clear_failure(run, "/api/admin/v6/products/products/search answered 200 with "
                              "text/html instead of IdoSell's JSON API")
    assert "products" not in run.records


def test_an_html_maintenance_page_with_503_is_retried_then_reported(hostile, tmp_path):
    with HostileIdoSell(n_products=3) as shop:
        shop.tamper[SEARCH] = lambda rq, resp, n: Response(
            503, MAINTENANCE, {"Retry-After": "0"}, content_type="text/html; charset=utf-8")
        run = run_tap(hostile, tmp_path, "html503", shop)
        tries = shop.tampered[SEARCH]
    assert_clear_failure(run, "IdoSell failed on /api/admin/v6/products/products/search: 503 "
                              "Service Unavailable")
    assert tries == 6
    assert "products" not in run.records


def test_garbled_json_with_200_stops_with_the_path_and_no_products(hostile, tmp_path):
    with HostileIdoSell(n_products=3) as shop:
        shop.tamper[SEARCH] = lambda rq, resp, n: Response(
            200, b'{"resultsNumberAll": 3, "results": [{"productId": 1, "produ')
        run = run_tap(hostile, tmp_path, "garbled", shop)
    assert_clear_failure(run, "IdoSell answered /api/admin/v6/products/products/search with "
                              "200 and a body that is not valid JSON")
    assert "products" not in run.records
    assert '"bookmarks":{"products"' not in run.out.replace(" ", "")


def test_a_refused_key_echoed_raw_and_url_encoded_is_never_printed(hostile, tmp_path):
    def echo(request, response, n):
        sent = request.header("x-api-key") or ""
        return Response.json({"errors": {"faultCode": 1, "faultString":
                                         f"Klucz {sent} ({quote(sent, safe='')}) jest "
                                         "nieprawidłowy"}}, 401)

    with HostileIdoSell(n_products=2) as shop:
        shop.tamper[r"/api/admin/"] = echo
        run = run_tap(hostile, tmp_path, "echo-key", shop)
        calls = len(shop.requests_to())
    assert_clear_failure(run, "IdoSell refused the credentials (401 Unauthorized faultCode 1: "
                              "Klucz *** (***) jest nieprawidłowy): check the api_key")
    assert calls == 1  # no pointless retries of a refused key


def test_a_product_row_without_an_id_stops_the_run_clearly(hostile, tmp_path):
    with HostileIdoSell(n_products=3) as shop:
        shop.tamper[SEARCH] = lambda rq, resp, n: Response.json(
            {"resultsNumberAll": 1, "resultsNumberPage": 1, "resultsPage": 0,
             "resultsLimit": 100, "results": [{"productDisplayedCode": "X"}]})
        run = run_tap(hostile, tmp_path, "no-id", shop)
    assert_clear_failure(run, "IdoSell answered /api/admin/v6/products/products/search with a "
                              "product that has no valid productId")
    assert "products" not in run.records


def test_a_feed_taken_already_is_an_error_saying_to_retry_after_the_next_export(hostile,
                                                                               tmp_path):
    with HostileIdoSell(n_products=3, once_per_generation=True) as shop:
        settings = {"api_key": None, "source": "iof", "allow_loopback_feed": True,
                    "marketplace_login": DEMO_MARKETPLACE_LOGIN,
                    "marketplace_password": MARKETPLACE_PASSWORD}
        first = run_tap(hostile, tmp_path, "feed-1", shop, **settings)
        second = run_tap(hostile, tmp_path, "feed-2", shop, **settings)
    assert first.code == 0
    assert len(first.products) == 3
    assert_clear_failure(second, "with a web page instead of the file: the file of this export "
                                 "generation was already downloaded")
    assert "Retry after the shop's next export" in second.err
    assert "products" not in second.records


def test_a_refused_marketplace_password_is_explained_and_never_printed(hostile, tmp_path):
    with HostileIdoSell(n_products=2, marketplace_password="the-real-one") as shop:
        run = run_tap(hostile, tmp_path, "bad-marketplace", shop, api_key=None, source="iof",
                      allow_loopback_feed=True, marketplace_login=DEMO_MARKETPLACE_LOGIN,
                      marketplace_password=MARKETPLACE_PASSWORD)
    assert_clear_failure(run, "IdoSell refused the Marketplace-API login (faultCode 1: "
                              "Logowanie nie powiodło się)")


def test_a_broken_config_names_every_problem_and_runs_nothing(hostile, tmp_path):
    with HostileIdoSell(n_products=2) as shop:
        run = run_tap(hostile, tmp_path, "config", shop, api_key=None, shop_url="sklep.pl",
                      page_size=0)
        calls = len(shop.requests_to())
    assert run.code == 2
    errors = "\n".join(error_lines(run.err))
    assert "api_key is missing" in errors
    assert "shop_url must start with https://" in errors
    assert "page_size 0 is below the minimum of 1" in errors
    assert "Traceback" not in run.err
    assert calls == 0
