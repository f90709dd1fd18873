"""Hostile input for tap-prestashop (issue #7's corpus, PrestaShop's forms of it): each case
runs the real ``tap-prestashop`` process against a PrestaShop emulator made to answer badly,
and asserts what a user sees: the exit code, the one ERROR line naming the path, product or
resource and what to do, no traceback, which records came out, and never the webservice key
(raw, URL-encoded or inside a Basic header) in any output.
"""

from __future__ import annotations

import base64
import types
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

import pytest
from commerce_schema.redact import encoded_forms
from sandbox.prestashop import PrestaShopEmulator
from sandbox.server import Response
from tapkit.testing import Tampering, assert_fails_clearly, error_lines

KEY = "HOSTILE0PRESTA0KEY0000000000007X"  # 32 letters and digits, like a real key
MAINTENANCE = ("<!DOCTYPE html><html><head><title>Przerwa techniczna</title></head><body>"
               "<h1>Sklep chwilowo niedostępny</h1><p>Wracamy za chwilę.</p></body></html>")
#: product id -> (its net price as sent, the reason the tap gives)
BAD_PRICES = {1: ("", "'' is not a decimal number"),
              2: ("abc", "'abc' is not a decimal number"),
              3: ("-5.000000", "net price -5.000000 is negative"),
              4: ("1e309", "'1e309' is not a decimal number"),
              5: ("99999999999.000000", "'99999999999.000000' is out of range")}


class HostilePrestaShop(Tampering, PrestaShopEmulator):
    """The emulator, with answers to chosen paths replaced (``tamper[regex] =
    f(request, response, n)``, see ``tapkit.testing.Tampering``), knowing the case's key."""

    defaults: ClassVar[dict[str, Any]] = {"api_key": KEY}


def key_forms() -> list[str]:
    """The key as it could leak: raw, URL-encoded, and inside the Basic header's base64."""
    basic = base64.b64encode(f"{KEY}:".encode()).decode()
    return sorted({KEY, quote(KEY), basic, *encoded_forms(KEY)})


def run_tap(hostile, folder: Path, name: str, shop: PrestaShopEmulator, **settings: Any
            ) -> types.SimpleNamespace:
    """``tap-prestashop --config`` against ``shop``: what the user sees, checked for the key."""
    values = {"shop_url": shop.url + shop.base_path, "api_key": KEY, **settings}
    return hostile.run_tap_process("tap-prestashop", folder, name, values, key_forms())


def assert_clear_failure(run, message: str) -> None:
    """Exit 1, the message in an ERROR line, no traceback, no product emitted."""
    assert_fails_clearly(run.code, run.err, message)
    assert "products" not in run.records


@pytest.fixture(scope="module")
def bad_prices(hostile, tmp_path_factory):
    """One shop whose products 1-5 have broken net prices and one more a combination whose
    impact takes its net below zero; one tap run."""
    with HostilePrestaShop(n_products=9, seed=21) as shop:
        for row in shop.tables["products"].rows:
            if row["id"] in BAD_PRICES:
                row["price"] = BAD_PRICES[row["id"]][0]
        combo = next(c for c in shop.tables["combinations"].rows
                     if int(c["id_product"]) not in BAD_PRICES)
        combo["price"] = "-99999.000000"
        run = run_tap(hostile, tmp_path_factory.mktemp("prestashop-prices"), "prices", shop)
    return combo, run


@pytest.mark.parametrize("pid", sorted(BAD_PRICES))
def test_a_broken_price_skips_that_product_by_name_and_keeps_the_rest(bad_prices, pid):
    combo, run = bad_prices
    assert run.code == 0, run.err[-3000:]
    assert str(pid) not in run.products
    reason = BAD_PRICES[pid][1]
    assert any(f"Skipped product {pid}: " in line and reason in line
               for line in error_lines(run.err)), run.err[-3000:]
    kept = {str(i) for i in range(6, 10)} - {combo["id_product"]}
    assert set(run.products) == kept  # the rest of the catalog still syncs
    assert "Finished with 6 records skipped (6 products)" in run.err


def test_a_negative_net_after_a_combination_impact_skips_the_product(bad_prices):
    combo, run = bad_prices
    pid = combo["id_product"]
    assert pid not in run.products
    assert any(f"Skipped product {pid}: product {pid} combination {combo['id']}: net price"
               in line and "is negative" in line for line in error_lines(run.err))


def test_an_html_maintenance_page_with_200_is_not_taken_for_data(hostile, tmp_path):
    with HostilePrestaShop(n_products=3) as shop:
        shop.tamper[r"/api/products$"] = lambda rq, resp, n: Response(
            200, MAINTENANCE, content_type="text/html; charset=utf-8")
        run = run_tap(hostile, tmp_path, "html200", shop)
    assert_clear_failure(run, "does not look like a PrestaShop shop: /api/products answered "
                              "200 with text/html")
    assert "Check shop_url" in run.err


def test_an_html_maintenance_page_with_503_is_retried_then_reported(hostile, tmp_path):
    with HostilePrestaShop(n_products=3) as shop:
        shop.tamper[r"/api/products$"] = lambda rq, resp, n: Response(
            503, MAINTENANCE, {"Retry-After": "0"}, content_type="text/html; charset=utf-8")
        run = run_tap(hostile, tmp_path, "html503", shop)
        tries = shop.tampered[r"/api/products$"]
    assert_clear_failure(run, "PrestaShop failed on /api/products: 503 Service Unavailable")
    assert tries == 6  # the documented 6 tries of a 5xx, then a clear stop


def test_a_maintenance_window_that_ends_loses_nothing(hostile, tmp_path):
    with HostilePrestaShop(n_products=4) as shop:
        shop.tamper[r"/api/products$"] = lambda rq, resp, n: resp if n > 2 else Response(
            503, MAINTENANCE, {"Retry-After": "0"}, content_type="text/html")
        run = run_tap(hostile, tmp_path, "html503-then-ok", shop)
    assert run.code == 0, run.err[-3000:]
    assert sorted(run.products, key=int) == ["1", "2", "3", "4"]


def test_garbled_json_with_200_stops_with_the_path_and_no_products(hostile, tmp_path):
    with HostilePrestaShop(n_products=3) as shop:
        shop.tamper[r"/api/products$"] = lambda rq, resp, n: Response(
            200, b'{"products":[{"id":1,"id_manufacturer":"0","na')
        run = run_tap(hostile, tmp_path, "garbled", shop)
    assert_clear_failure(run, "PrestaShop answered /api/products with 200 and a body that is "
                              "not valid JSON")
    assert '"bookmarks":{"products"' not in run.out.replace(" ", "")


def test_a_product_row_without_an_id_stops_the_run_clearly(hostile, tmp_path):
    with HostilePrestaShop(n_products=3) as shop:
        shop.tamper[r"/api/products$"] = lambda rq, resp, n: Response.json(
            {"products": [{"reference": "X-1", "price": "10.000000"}]})
        run = run_tap(hostile, tmp_path, "no-id", shop)
    assert_clear_failure(run, "PrestaShop answered /api/products with a row that has no id")


def test_a_refused_key_echoed_back_raw_and_encoded_is_never_printed(hostile, tmp_path):
    def echo(request, response, n):
        basic = (request.header("authorization") or "").partition(" ")[2]
        message = (f"Authentication key {KEY} does not exist (sent as {quote(KEY)}, "
                   f"header {basic}, ws_key={request.arg('ws_key')})")
        return Response.json({"errors": [{"code": 20, "message": message}]}, 401)

    with HostilePrestaShop(n_products=2) as shop:
        shop.tamper[r"/api/"] = echo
        run = run_tap(hostile, tmp_path, "echo", shop)
        calls = len(shop.requests_to())
    assert_clear_failure(run, "PrestaShop refused the webservice key (401 Unauthorized 20: "
                              "Authentication key *** does not exist")
    assert "Advanced Parameters > Webservice" in run.err
    assert calls == 1  # a refused key is not retried, neither as ws_key


def test_a_key_without_a_resource_says_which_checkbox_to_tick(hostile, tmp_path):
    with HostilePrestaShop(n_products=2, permissions={
            "configurations", "languages", "countries", "currencies", "tax_rules", "taxes",
            "categories", "product_features", "product_options", "product_option_values",
            "products", "combinations", "product_feature_values"}) as shop:
        run = run_tap(hostile, tmp_path, "permission", shop)
    assert_clear_failure(run, "PrestaShop's webservice key may not read stock_availables")
    assert 'tick GET (View) for "stock_availables"' in run.err


def test_the_webservice_switched_off_is_said_once_not_retried(hostile, tmp_path):
    with HostilePrestaShop(n_products=2, webservice_enabled=False) as shop:
        run = run_tap(hostile, tmp_path, "off", shop)
        calls = len(shop.requests_to())
    assert_clear_failure(run, "PrestaShop's webservice is switched off")
    assert "Enable PrestaShop's webservice" in run.err
    assert calls == 1


def test_a_shop_url_missing_its_sub_folder_is_named(hostile, tmp_path):
    with HostilePrestaShop(n_products=2, base_path="/sklep") as shop:
        run = run_tap(hostile, tmp_path, "sub-folder", shop, shop_url=shop.url)
    assert_clear_failure(run, "does not look like a PrestaShop shop: /api/configurations "
                              "answered 404 with text/html")
    assert "with its sub-folder" in run.err


def test_a_host_stripping_the_key_everywhere_is_explained(hostile, tmp_path):
    with HostilePrestaShop(n_products=2, drop_authorization=True) as shop:
        shop.tamper[r"/api/"] = lambda rq, resp, n: Response(
            401, b"401 Unauthorized", content_type="text/html")
        run = run_tap(hostile, tmp_path, "stripped", shop)
        sent = shop.requests_to()
    assert_clear_failure(run, "PrestaShop received no key (401 Unauthorized) although it was "
                              "sent as the Authorization header and as the ws_key parameter")
    assert len(sent) == 2  # the header, then ws_key once
