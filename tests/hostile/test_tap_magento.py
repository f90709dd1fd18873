"""Hostile and broken answers from a Magento store, as the ``tap-magento`` process meets them.

Each case asserts what a user sees: the exit code, the error naming the path or product, that
no traceback replaces the explanation, which records came out, and that no credential shows.
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar
from urllib.parse import quote, quote_plus

import pytest
from sandbox.magento import MagentoEmulator
from sandbox.server import Response
from tapkit.testing import Tampering, assert_fails_clearly

CONSUMER_SECRET = "Magento-sekret-konsumenta-ż7"
TOKEN_SECRET = "magento-token-secret-91c0d2"
ADMIN_PASSWORD = "Hasło admina/2024?"
MAINTENANCE = ("<!doctype html><html><head><title>Przerwa techniczna</title></head><body>"
               "<h1>Sklep chwilowo niedostępny</h1></body></html>")
BAD_PRICES = {1: "", 2: "abc", 3: "-5", 4: "1e309"}
PRICE_ERRORS = {1: "no price", 2: "'abc' is not a decimal number", 3: "'-5' is negative",
                4: "'1e309' is not a decimal number"}


class HostileMagento(Tampering, MagentoEmulator):
    """The Magento emulator with answers to chosen paths replaced (``tamper[regex] =
    f(request, response, n)``, see ``tapkit.testing.Tampering``), knowing the case's keys."""

    defaults: ClassVar[dict[str, Any]] = {"consumer_secret": CONSUMER_SECRET,
                                          "access_token_secret": TOKEN_SECRET,
                                          "admin_password": ADMIN_PASSWORD}


def run_tap(hostile, folder, name, store, **settings):
    """``tap-magento --config`` against ``store``: exit code, stderr, records, stdout."""
    values = {"store_url": store.url, "consumer_key": "demo-consumer-key",
              "consumer_secret": CONSUMER_SECRET, "access_token": "demo-access-token",
              "access_token_secret": TOKEN_SECRET, **settings}
    run = hostile.run_tap_process("tap-magento", folder, name, values, (
        CONSUMER_SECRET, TOKEN_SECRET, ADMIN_PASSWORD, quote_plus(ADMIN_PASSWORD),
        quote(ADMIN_PASSWORD, safe=""), quote_plus(CONSUMER_SECRET),
        *store.issued_admin_tokens))
    return run.code, run.err, run.records, run.out


def assert_clear_failure(code, err, message, exit_code=1):
    """Exit ``exit_code``, the message in an ERROR line, no traceback."""
    assert_fails_clearly(code, err, message, exit_code=exit_code)


def test_broken_prices_skip_those_products_by_name_and_keep_the_rest(hostile, tmp_path):
    with HostileMagento(n_products=8, seed=21) as store:
        simple = [p for p in store.catalog.products if p.is_simple][:4]
        prices = dict(zip([p.id for p in simple], BAD_PRICES.values(), strict=False))
        for items in store.products.values():
            for item in items:
                if item["id"] in prices:
                    item["price"] = prices[item["id"]]
        code, err, records, _ = run_tap(hostile, tmp_path, "prices", store)
    assert code == 0, err[-3000:]
    emitted = {r["id"] for r in records["products"]}
    assert emitted == {str(p.id) for p in store.catalog.products} - {str(i) for i in prices}
    for pid, raw in prices.items():
        reason = PRICE_ERRORS[next(k for k, v in BAD_PRICES.items() if v == raw)]
        assert re.search(rf"Skipped product {pid}: .*{re.escape(reason)}", err), err[-3000:]
    assert "Finished with 4 records skipped" in err


def test_garbled_json_with_200_stops_with_the_path(hostile, tmp_path):
    with HostileMagento(n_products=3) as store:
        store.tamper[r"/V1/products$"] = lambda rq, resp, n: Response(
            200, b'{"items": [{"id": 1, "sku": "PRD-0')
        code, err, records, out = run_tap(hostile, tmp_path, "garbled", store)
    assert_clear_failure(code, err, "Magento answered /rest/default/V1/products with 200 and a "
                                    "body that is not valid JSON")
    assert "products" not in records
    assert '"products":{"replication_key"' not in out.replace(" ", "")


def test_an_html_maintenance_page_with_200_is_not_taken_for_data(hostile, tmp_path):
    with HostileMagento(n_products=3) as store:
        store.tamper[r"/V1/products$"] = lambda rq, resp, n: Response(
            200, MAINTENANCE, content_type="text/html; charset=utf-8")
        code, err, records, _ = run_tap(hostile, tmp_path, "html200", store)
    assert_clear_failure(code, err, "does not look like a Magento shop: "
                                    "/rest/default/V1/products answered 200 with text/html")
    assert "products" not in records


def test_an_html_maintenance_page_with_503_is_retried_then_reported(hostile, tmp_path):
    with HostileMagento(n_products=3) as store:
        store.tamper[r"/V1/products$"] = lambda rq, resp, n: Response(
            503, MAINTENANCE, {"Retry-After": "0"}, content_type="text/html")
        code, err, records, _ = run_tap(hostile, tmp_path, "html503", store)
        tries = store.tampered[r"/V1/products$"]
    assert_clear_failure(code, err, "Magento failed on /rest/default/V1/products: 503 Service "
                                    "Unavailable")
    assert tries == 6
    assert "products" not in records


def test_a_maintenance_window_that_ends_loses_nothing(hostile, tmp_path):
    with HostileMagento(n_products=4) as store:
        store.tamper[r"/V1/products$"] = lambda rq, resp, n: resp if n > 2 else Response(
            503, MAINTENANCE, {"Retry-After": "0"}, content_type="text/html")
        code, err, records, _ = run_tap(hostile, tmp_path, "503-then-ok", store)
    assert code == 0, err[-3000:]
    assert sorted(int(r["id"]) for r in records["products"]) == [1, 2, 3, 4]


def test_a_product_row_without_an_id_stops_the_run_clearly(hostile, tmp_path):
    def no_id(request, response, n):
        body = json.loads(response.encoded())
        if "updated_at" in (request.arg("searchCriteria[sortOrders][0][field]") or ""):
            body["items"] = [{k: v for k, v in i.items() if k != "id"} for i in body["items"]]
        return Response.json(body)

    with HostileMagento(n_products=3) as store:
        store.tamper[r"/V1/products$"] = no_id
        code, err, records, _ = run_tap(hostile, tmp_path, "no-id", store)
    assert code == 1, err[-3000:]
    assert "Traceback" not in err
    assert "Magento answered /V1/products with a row that has no valid id" in err
    assert "products" not in records


def test_a_refusal_echoing_the_secrets_raw_and_encoded_never_shows_them(hostile, tmp_path):
    def echo(request, response, n):
        sent = request.header("authorization") or ""
        return Response.json({"message": f"Invalid OAuth header %1 (secret {CONSUMER_SECRET}, "
                                         f"{quote_plus(CONSUMER_SECRET)}, {TOKEN_SECRET})",
                              "parameters": [sent]}, 401)

    with HostileMagento(n_products=2) as store:
        store.tamper[r"/V1/store/storeConfigs$"] = echo
        code, err, records, _ = run_tap(hostile, tmp_path, "echo", store)
    assert_clear_failure(code, err, "Magento refused the credentials (401 Unauthorized: "
                                    "Invalid OAuth header")
    assert "check the consumer_key, consumer_secret, access_token and access_token_secret" \
        in err
    assert records == {}


def test_a_refused_admin_password_echoed_back_never_shows(hostile, tmp_path):
    def echo(request, response, n):
        body = request.body.decode()
        return Response.json({"message": f"Bad login {body} {quote_plus(ADMIN_PASSWORD)}"}, 401)

    with HostileMagento(n_products=2) as store:
        store.tamper[r"/integration/admin/token$"] = echo
        code, err, _records, _ = run_tap(hostile, tmp_path, "admin-echo", store,
                                         consumer_key=None, consumer_secret=None,
                                         access_token=None, access_token_secret=None,
                                         admin_username="admin",
                                         admin_password=ADMIN_PASSWORD)
    assert_clear_failure(code, err, "Magento refused the admin login at "
                                    "/rest/V1/integration/admin/token (401")


@pytest.mark.parametrize("status", [429])
def test_throttling_waits_and_loses_nothing(hostile, tmp_path, status):
    with HostileMagento(n_products=3) as store:
        store.tamper[r"/V1/products$"] = lambda rq, resp, n: resp if n > 1 else Response.json(
            {"message": "Too Many Requests", "trace": None}, status, {"Retry-After": "0"})
        code, err, records, _ = run_tap(hostile, tmp_path, "throttled", store)
    assert code == 0, err[-3000:]
    assert len(records["products"]) == 3
