"""Hostile and broken answers from a Shoper shop, as the ``tap-shoper`` process meets them.

Each case asserts what a user sees: the exit code, the error naming the path, product,
variant or field, that no traceback replaces the explanation, and which records came out.
"""

from __future__ import annotations

import re
from decimal import Decimal
from http.server import BaseHTTPRequestHandler

import pytest
from sandbox.server import Response

MAINTENANCE = ("<!DOCTYPE html><html><head><title>Przerwa techniczna</title></head><body>"
               "<h1>Sklep chwilowo niedostępny</h1><p>Wracamy za chwilę.</p></body></html>")
LONG_NAME = "Kubek " + "ż" * 9_994  # 10,000 characters, multi-byte in UTF-8
TRICKY_NAME = ("Kub\u200bek\u200d \u202eaktywny\u202c \u05d0\u05d1\u05d2 "
               "\u0643\u0648\u0628 \ufeffżółty\u2066x\u2069")  # zero-width, RTL, isolates
BAD_PRICES = {1: "", 2: "abc", 3: "-5", 4: "1e309", 5: Decimal("1E+309")}
PRICE_ERRORS = {1: "'' is not a decimal number", 2: "'abc' is not a decimal number",
                3: "'-5' is negative", 4: "'1e309' is not a decimal number",
                5: "Decimal('1E+309') is out of range"}


def assert_clear_failure(run, message: str) -> None:
    """Exit 1, the message as an ERROR line, and no traceback in its place."""
    assert run.code == 1, run.err[-3000:]
    assert any(message in line for line in error_lines(run.err)), run.err[-3000:]
    assert "Traceback" not in run.err


def error_lines(stderr: str) -> list[str]:
    """The ERROR log lines (what a user reads first)."""
    return [line for line in stderr.splitlines() if "| ERROR" in line]


@pytest.fixture(scope="module")
def hostile_catalog(hostile, tmp_path_factory):
    """One shop whose products 1-5 have broken prices and 6-7 hostile names; one tap run."""
    with hostile.HostileShoper(n_products=9, seed=21) as shop:
        by_id = {p.id: p for p in shop.catalog.products}
        by_id[6].name = LONG_NAME
        by_id[7].name = TRICKY_NAME
        shop.reload()
        products = {r["product_id"]: r for r in shop.resources["products"].rows}
        for row in shop.resources["product-stocks"].rows:
            pid = int(row["product_id"])
            if pid in BAD_PRICES:
                row["comp_price"] = BAD_PRICES[pid]
                products[str(pid)]["stock"]["comp_price"] = BAD_PRICES[pid]
        run = hostile.run_tap(tmp_path_factory.mktemp("tap-data"), "data", shop)
    return shop, run


@pytest.mark.parametrize("pid", sorted(BAD_PRICES))
def test_a_broken_price_skips_that_product_by_name_and_keeps_the_rest(hostile_catalog, pid):
    _shop, run = hostile_catalog
    assert run.code == 0, run.err[-3000:]
    assert str(pid) not in run.products
    pattern = (rf"Skipped product {pid}: product {pid} variant \d+ comp_price: "
               + re.escape(PRICE_ERRORS[pid]))
    assert any(re.search(pattern, line) for line in error_lines(run.err)), run.err[-3000:]
    assert set(run.products) == {"6", "7", "8", "9"}  # the rest of the catalog still syncs
    assert all(v["price_gross"] >= 0 for p in run.products.values() for v in p["variants"])


def test_a_10000_character_name_comes_out_whole(hostile_catalog):
    _shop, run = hostile_catalog
    assert run.products["6"]["name"] == LONG_NAME
    assert len(run.products["6"]["name"]) == 10_000


def test_zero_width_and_rtl_characters_in_a_name_are_kept_exactly(hostile_catalog):
    _shop, run = hostile_catalog
    assert run.products["7"]["name"] == TRICKY_NAME


def test_the_hostile_names_land_intact_in_the_gateway(hostile, hostile_catalog, gateway,
                                                      tmp_path):
    _shop, run = hostile_catalog
    landed = hostile.run_target(tmp_path, "names", run.out, gateway, image_mode="hotlink",
                                allow_private_image_hosts=True)
    assert landed.code == 0, landed.err[-3000:]
    assert set(landed.by_id) == {"6", "7", "8", "9"}
    names = {p["data"]["source"]["product_id"]: p["name"] for p in landed.products}
    variants = {p: len(run.products[p]["variants"]) for p in ("6", "7")}
    for pid, name in (("6", LONG_NAME), ("7", TRICKY_NAME)):
        expected = name if variants[pid] == 1 else f"{name} - "
        assert names[pid].startswith(expected)


def test_malformed_json_with_200_stops_with_the_path_and_no_products(hostile, tmp_path):
    with hostile.HostileShoper(n_products=3) as shop:
        shop.tamper[r"/products$"] = lambda rq, resp, n: Response(
            200, b'{"count": "3", "pages": 1, "page": 1, "list": [{"product_id": "1", "tr')
        run = hostile.run_tap(tmp_path, "malformed", shop)
    assert_clear_failure(run, "Shoper answered /webapi/rest/products with 200 and a body "
                              "that is not valid JSON")
    assert "products" not in run.records
    assert '"bookmarks":{"products"' not in run.out.replace(" ", "")


def test_a_body_cut_off_mid_answer_is_fetched_again(hostile, tmp_path):
    with hostile.HostileShoper(n_products=4) as shop, \
            hostile.cutting_proxy(shop.url, "/webapi/rest/products", cuts=1) as proxy:
        run = hostile.run_tap(tmp_path, "cut", shop, shop_url=proxy.url)
        assert proxy.sent["/webapi/rest/products"] == 1  # the answer really was cut
    assert run.code == 0, run.err[-3000:]
    assert sorted(run.products, key=int) == ["1", "2", "3", "4"]
    assert len(re.findall(r"Retrying /products in [\d.]+ s .*ChunkedEncodingError", run.err)) \
        == 1


def test_an_html_maintenance_page_with_200_is_not_taken_for_data(hostile, tmp_path):
    with hostile.HostileShoper(n_products=3) as shop:
        shop.tamper[r"/products$"] = lambda rq, resp, n: Response(
            200, MAINTENANCE, content_type="text/html; charset=utf-8")
        run = hostile.run_tap(tmp_path, "html200", shop)
    assert_clear_failure(run, "/webapi/rest/products answered 200 with text/html instead of "
                              "Shoper's JSON API")
    assert "products" not in run.records


def test_an_html_maintenance_page_with_503_is_retried_then_reported(hostile, tmp_path):
    with hostile.HostileShoper(n_products=3) as shop:
        shop.tamper[r"/products$"] = lambda rq, resp, n: Response(
            503, MAINTENANCE, {"Retry-After": "0"}, content_type="text/html; charset=utf-8")
        run = hostile.run_tap(tmp_path, "html503", shop)
        tries = shop.tampered[r"/products$"]
    assert_clear_failure(run, "Shoper failed on /webapi/rest/products: 503 Service Unavailable")
    assert tries == 6  # the documented 6 tries of a 5xx, then a clear stop
    assert "products" not in run.records


def test_a_maintenance_window_that_ends_loses_nothing(hostile, tmp_path):
    with hostile.HostileShoper(n_products=4) as shop:
        shop.tamper[r"/products$"] = lambda rq, resp, n: resp if n > 2 else Response(
            503, MAINTENANCE, {"Retry-After": "0"}, content_type="text/html")
        run = hostile.run_tap(tmp_path, "html503-then-ok", shop)
    assert run.code == 0, run.err[-3000:]
    assert sorted(run.products, key=int) == ["1", "2", "3", "4"]


def test_a_product_row_without_an_id_stops_the_run_clearly(hostile, tmp_path):
    with hostile.HostileShoper(n_products=3) as shop:
        shop.tamper[r"/products$"] = lambda rq, resp, n: Response.json(
            {"count": "1", "pages": 1, "page": 1, "list": [{"id": "5", "code": "X"}]})
        run = hostile.run_tap(tmp_path, "no-id", shop)
    assert_clear_failure(run, "Shoper answered /webapi/rest/products with a row that has no "
                              "valid product_id")
    assert "products" not in run.records


def test_a_refused_token_is_explained_and_never_printed(hostile, tmp_path):
    with hostile.HostileShoper(n_products=2, access_token="the-shops-real-token") as shop:
        run = hostile.run_tap(tmp_path, "bad-token", shop, username=None, password=None,
                              access_token=hostile.SHOPER_TOKEN)
        calls = len(shop.requests_to())
    assert_clear_failure(run, "Shoper refused the credentials (401 Unauthorized "
                              "unauthorized_client")
    assert "check the access_token" in run.err
    assert calls == 1  # no pointless retries of a refused token
    assert hostile.SHOPER_TOKEN not in run.err + run.out


def test_a_refused_password_is_explained_and_never_printed(hostile, tmp_path):
    with hostile.HostileShoper(n_products=2, password="the-shops-real-password") as shop:
        run = hostile.run_tap(tmp_path, "bad-password", shop)
    assert_clear_failure(run, "Shoper refused the username and password at /webapi/rest/auth")
    assert hostile.SHOPER_PASSWORD not in run.err + run.out


def test_an_error_that_echoes_the_token_back_is_blanked(hostile, tmp_path):
    def echo(request, response, n):
        sent = request.header("authorization")
        return Response.json({"error": "insufficient_scope",
                              "error_description": f"{sent} may not read products"}, 403)

    with hostile.HostileShoper(n_products=2) as shop:
        shop.tamper[r"/products$"] = echo
        run = hostile.run_tap(tmp_path, "echo", shop, username=None, password=None,
                              access_token=hostile.SHOPER_TOKEN)
    assert_clear_failure(run, "Shoper denied access to /webapi/rest/products (403 Forbidden "
                              "insufficient_scope: Bearer *** may not read products)")


# -- settings and the lines around real errors (issue 12) -----------------------------------
def test_a_mistyped_setting_is_named_with_the_one_meant_and_nothing_runs(hostile, tmp_path):
    with hostile.HostileShoper(n_products=2) as shop:
        run = hostile.run_tap(tmp_path, "typo", shop, shop_url=None, shop_ur=shop.url,
                              dryrun=True)
        calls = shop.requests_to()
    assert run.code == 2, run.err[-3000:]
    errors = error_lines(run.err)
    assert any(line.endswith("Config: shop_ur: unknown setting; did you mean shop_url?")
               for line in errors), run.err[-3000:]
    assert any(line.endswith("Config: dryrun: unknown setting.") for line in errors)
    assert any(line.endswith("Config: shop_url is missing.") for line in errors)
    assert "Traceback" not in run.err
    assert calls == []


def test_singer_sdk_s_built_in_settings_stay_accepted(hostile, tmp_path):
    builtin = {"stream_maps": {}, "stream_map_config": {}, "faker_config": {"locale": "pl_PL"},
               "flattening_enabled": False, "flattening_max_depth": 1,
               "flattening_separator": "__", "flattening_max_key_length": 255}
    with hostile.HostileShoper(n_products=2) as shop:
        run = hostile.run_tap(tmp_path, "builtin", shop, **builtin)
    assert run.code == 0, run.err[-3000:]
    assert sorted(run.products) == ["1", "2"]


def test_a_refused_password_is_the_only_error_line(hostile, tmp_path):
    with hostile.HostileShoper(n_products=2, password="the-shops-real-password") as shop:
        run = hostile.run_tap(tmp_path, "bad-password-alone", shop)
    assert run.code == 1
    errors = error_lines(run.err)
    assert len(errors) == 1, run.err[-3000:]  # no "An unhandled error occurred" before it
    assert "Shoper refused the username and password" in errors[0]
    assert "An unhandled error occurred" not in run.err


class _Website(BaseHTTPRequestHandler):
    """A web server that is not a shop: 200 HTML on /, 404 HTML elsewhere, any method."""

    def _answer(self) -> None:
        owner = self.server.owner  # type: ignore[attr-defined]
        with owner.lock:
            owner.hits.append(f"{self.command} {self.path}")
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        status = 200 if self.path == "/" else 404
        body = (b"<html><body>Witamy!</body></html>" if status == 200
                else b"<html><body><h1>404</h1></body></html>")
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer  # noqa: N815

    def log_message(self, format, *args):
        """Quiet."""


@pytest.mark.parametrize("auth", ["login", "token"])
def test_a_web_server_that_is_not_a_shop_is_named_at_once(hostile, tmp_path, auth):
    settings = ({} if auth == "login"
                else {"username": None, "password": None, "access_token": hostile.SHOPER_TOKEN})
    with hostile.HostileShoper(n_products=1) as shop, hostile.RawServer(_Website) as site:
        run = hostile.run_tap(tmp_path, f"website-{auth}", shop, shop_url=site.url,
                              **settings)
        hits = list(site.hits)
    assert run.code == 1, run.err[-3000:]
    errors = error_lines(run.err)
    assert len(errors) == 1, run.err[-3000:]
    assert f"{site.url} does not look like a Shoper shop" in errors[0]
    assert "answered 404 with text/html instead of Shoper's JSON API" in errors[0]
    assert len(hits) == 1  # named on the first answer: no retries, no waiting
    assert "Retrying" not in run.err


def test_a_clean_run_prints_no_warning(hostile, tmp_path):
    with hostile.HostileShoper(n_products=3) as shop:
        run = hostile.run_tap(tmp_path, "clean", shop)
    assert run.code == 0, run.err[-3000:]
    assert [line for line in run.err.splitlines() if "| WARNING" in line] == []
    assert "Stream is assumed to be unsorted" not in run.err
