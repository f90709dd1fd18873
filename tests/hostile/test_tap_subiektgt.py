"""Hostile and broken Subiekt GT databases and servers, as the ``tap-subiektgt`` process meets
them.

Subiekt GT has no web API, so its hostile forms are a database's: prices that are empty,
negative, absurd or text where money belongs; a card without its price row; photos that are
not images; a file that is an HTML maintenance page instead of a database, a database of
another program, Subiekt nexo instead of GT; a SQL Server that refuses the login and quotes
the password back (raw and URL-encoded); a server that is not there; settings with mistakes.
Each case asserts what a user sees: the exit code, the ERROR line naming the card or what to
check, no traceback, which records came out, and no secret anywhere.
"""

from __future__ import annotations

import socket
import sqlite3
import sys
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from sandbox.subiektgt import RefusingSqlServer, create, shop_flag
from tapkit.testing import run_tap

TAP = [str(Path(sys.executable).parent / "tap-subiektgt")]
PASSWORD = "Tajne/hasło do bazy+7"
FORMS = (PASSWORD, quote(PASSWORD, safe=""), quote_plus(PASSWORD))
MAINTENANCE = ("<!DOCTYPE html><html><head><title>Przerwa techniczna</title></head><body>"
               "<h1>Serwer chwilowo niedostępny</h1></body></html>")


def error_lines(stderr: str) -> list[str]:
    """The ERROR log lines (what a user reads first)."""
    return [line for line in stderr.splitlines() if "| ERROR" in line]


def shown(hostile, label: str, run) -> str:
    """Everything the run showed; fails if a form of the password is in it."""
    text = hostile.seen(label, run.stderr, "\n".join(map(str, run.messages)))
    for form in FORMS:
        assert form not in text, f"{label}: the password was shown"
    return text


def assert_failed_with(run, message: str, code: int = 1) -> None:
    assert run.code == code, run.stderr[-3000:]
    assert any(message in line for line in error_lines(run.stderr)), run.stderr[-3000:]
    assert "Traceback" not in run.stderr


def sqlite(path: Path, **extra) -> dict:
    return {"sqlalchemy_url": f"sqlite:///{path}", "warehouse_ids": [1, 2], **extra}


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    """A 12-product database whose first five sellable simple cards have broken prices, one
    card has lost its price row, one photo is not an image, one card has no symbol and no
    name, and one model lost its model row; one tap run."""
    path = tmp_path_factory.mktemp("subiekt-broken") / "subiekt.sqlite"
    catalog = create(path, n_products=30, seed=5)
    simple = [p for p in catalog.products if p.is_simple and p.active and shop_flag(p)
              and p.variants[0].active]
    models = [p for p in catalog.products if not p.is_simple and p.active and shop_flag(p)
              and all(v.active for v in p.variants)]
    assert len(simple) >= 8
    assert models
    bad = {simple[0].id: ("tc_CenaBrutto1", None), simple[1].id: ("tc_CenaNetto1", "-5"),
           simple[2].id: ("tc_CenaBrutto1", "abc"), simple[3].id: ("tc_CenaBrutto1", "1e15")}
    conn = sqlite3.connect(path)
    for card, (column, value) in bad.items():
        conn.execute(f"UPDATE tw_Cena SET {column} = ? WHERE tc_IdTowar = ?",  # noqa: S608
                     (value, card))
    no_price_row = simple[4].id
    conn.execute("DELETE FROM tw_Cena WHERE tc_IdTowar = ?", (no_price_row,))
    conn.execute("INSERT INTO tw_ZdjecieTw VALUES (99999, ?, ?, 0, 7)",
                 (simple[5].id, MAINTENANCE.encode()))
    nameless = simple[6].id
    conn.execute("UPDATE tw__Towar SET tw_Symbol = '', tw_Nazwa = '' WHERE tw_Id = ?",
                 (nameless,))
    orphan = models[0]
    conn.execute("DELETE FROM sl_ModelTw WHERE mdt_Id = ?", (orphan.id,))
    partial = models[1]
    unpriced = partial.variants[0].id
    conn.execute("UPDATE tw_Cena SET tc_CenaBrutto1 = NULL WHERE tc_IdTowar = ?", (unpriced,))
    conn.commit()
    conn.close()
    run = run_tap(TAP, sqlite(path))
    products = {r["id"]: r for r in run.records.get("products", [])}
    return types_namespace(catalog=catalog, run=run, products=products, bad=bad,
                           no_price_row=no_price_row, photo_card=simple[5].id,
                           nameless=nameless, orphan=orphan, rest=simple[7:],
                           partial=partial, unpriced=unpriced)


def types_namespace(**values):
    import types

    return types.SimpleNamespace(**values)


REASONS = {0: "has no gross price at price level 1",
           1: "net price at level 1 is negative (-5.00)",
           2: "gross price at level 1: 'abc' is not a decimal number",
           3: "gross price at level 1: 1000000000000000 is out of range"}


@pytest.mark.parametrize("index", sorted(REASONS))
def test_a_broken_price_skips_that_card_by_name_and_the_rest_syncs(broken, hostile, index):
    shown(hostile, f"subiekt broken price {index}", broken.run)
    assert broken.run.code == 0, broken.run.stderr[-3000:]
    card = list(broken.bad)[index]
    assert str(card) not in broken.products
    assert any(f"Skipped product {card}: card {card} (" in line and REASONS[index] in line
               for line in error_lines(broken.run.stderr)), broken.run.stderr[-3000:]
    assert all(str(p.id) in broken.products for p in broken.rest)
    assert all(v["price_gross"] >= 0 for p in broken.products.values() for v in p["variants"])


def test_a_card_without_its_price_row_is_named_not_silently_lost(broken):
    card = broken.no_price_row
    assert str(card) not in broken.products
    assert any(f"Skipped product {card}:" in line and "no net price" in line
               for line in error_lines(broken.run.stderr)), broken.run.stderr[-3000:]
    assert "Finished with 5 records skipped (5 products)" in broken.run.stderr


def test_a_photo_that_is_an_html_page_is_left_out_with_a_warning(broken):
    record = broken.products[str(broken.photo_card)]
    assert all(i["url"].startswith("data:image/") for i in record["images"])
    assert "Photo 99999 (tw_ZdjecieTw) left out: is not a JPEG" in broken.run.stderr


def test_a_card_without_symbol_or_name_still_comes_with_its_id(broken):
    record = broken.products[str(broken.nameless)]
    assert record["name"] == str(broken.nameless)
    assert record["sku"] is None
    assert record["variants"][0]["id"] == str(broken.nameless)


def test_members_of_a_model_whose_row_is_gone_stay_one_product(broken):
    record = broken.products[f"model-{broken.orphan.id}"]
    assert record["name"]  # the words the members' names share
    assert len(record["variants"]) == len(broken.orphan.variants)


def test_a_refused_login_that_quotes_the_password_shows_it_nowhere(hostile, tmp_path):
    echo = f"Login failed for user 'sklep'. Password: {PASSWORD} / {quote_plus(PASSWORD)}"
    with RefusingSqlServer(echo) as server:
        parts = run_tap(TAP, {"host": "127.0.0.1", "port": server.port, "database": "DEMO",
                              "user": "sklep", "password": PASSWORD})
        url = run_tap(TAP, {"sqlalchemy_url": f"mssql+pymssql://sklep:"
                                              f"{quote(PASSWORD, safe='')}@127.0.0.1:"
                                              f"{server.port}/DEMO"})
        assert server.logins >= 2
    for label, run in (("parts", parts), ("url", url)):
        shown(hostile, f"subiekt refused login ({label})", run)
        assert_failed_with(run, f"SQL Server refused the login 'sklep' at 127.0.0.1:"
                                f"{server.port}, database DEMO: check user and password")
        assert run.records == {}


def test_a_server_that_is_not_there_says_what_to_check(hostile):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    run = run_tap(TAP, {"host": "127.0.0.1", "port": port, "database": "DEMO",
                        "user": "sklep", "password": PASSWORD})
    shown(hostile, "subiekt unreachable", run)
    assert_failed_with(run, f"cannot reach SQL Server at 127.0.0.1:{port}, database DEMO: "
                            "check host and instance")


def test_a_maintenance_page_instead_of_a_database_file_is_named(hostile, tmp_path):
    page = tmp_path / "subiekt.sqlite"
    page.write_text(MAINTENANCE * 50, encoding="utf-8")
    run = run_tap(TAP, sqlite(page))
    shown(hostile, "subiekt html file", run)
    assert_failed_with(run, f"the SQLite file {page} is not a SQLite database")


def test_a_database_of_another_program_is_not_taken_for_subiekt(hostile, tmp_path):
    other = tmp_path / "other.sqlite"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE produkty (id INT)")
    conn.close()
    run = run_tap(TAP, sqlite(other))
    shown(hostile, "subiekt other database", run)
    assert_failed_with(run, "this database is not a Subiekt GT company database: tables "
                            "tw__Towar, tw_Cena")


def test_a_subiekt_nexo_database_is_named_as_such(hostile, tmp_path):
    nexo = tmp_path / "nexo.sqlite"
    conn = sqlite3.connect(nexo)
    conn.execute("CREATE TABLE Asortymenty (Id INT, Symbol TEXT, Nazwa TEXT)")
    conn.execute("CREATE TABLE StanyMagazynowe (Id INT)")
    conn.close()
    run = run_tap(TAP, sqlite(nexo))
    shown(hostile, "subiekt nexo", run)
    assert_failed_with(run, "this is a Subiekt nexo database, not Subiekt GT")


def test_a_missing_database_file_is_named(hostile, tmp_path):
    run = run_tap(TAP, sqlite(tmp_path / "brak.sqlite"))
    shown(hostile, "subiekt missing file", run)
    assert_failed_with(run, "does not exist or is not readable")


def test_every_settings_mistake_is_listed_in_plain_words(hostile):
    run = run_tap(TAP, {"host": "serwer", "price_level": 11, "variant_group": "kolor",
                        "password": PASSWORD, "warehouse_ids": ["główny"]})
    shown(hostile, "subiekt bad settings", run)
    assert run.code == 2
    assert "Traceback" not in run.stderr
    errors = "\n".join(error_lines(run.stderr))
    for problem in ("price_level 11 is above Subiekt GT's maximum of 10",
                    "warehouse_ids.0 must be a whole number",
                    "variant_group must be model, none or field:N with N 1-8",
                    "Give sqlalchemy_url, or host, database, user and password (missing: "
                    "database, user)"):
        assert problem in errors, errors


def test_an_unknown_warehouse_names_the_ones_there_are(hostile, tmp_path):
    path = tmp_path / "subiekt.sqlite"
    create(path, n_products=3, seed=1)
    run = run_tap(TAP, sqlite(path, warehouse_ids=[1, 9]))
    shown(hostile, "subiekt unknown warehouse", run)
    assert_failed_with(run, "warehouse_ids [9] are not warehouses of this company; it has "
                            "1 (MAG Magazyn główny), 2 (SKL Sklep), 3 (ZWR Zwroty)", code=2)


def test_prices_arrive_to_the_grosz_whatever_sqlite_stored(broken):
    for product in broken.products.values():
        for variant in product["variants"]:
            for name in ("price_net", "price_gross"):
                assert variant[name] == variant[name].quantize(Decimal("0.01"))


def test_a_model_member_without_a_price_is_named_and_its_siblings_still_sync(broken):
    record = broken.products[f"model-{broken.partial.id}"]
    ids = [v["id"] for v in record["variants"]]
    assert str(broken.unpriced) not in ids
    assert len(ids) == len(broken.partial.variants) - 1
    assert any(f"Skipped card {broken.unpriced} (" in line
               and f"of product model-{broken.partial.id}: has no gross price" in line
               for line in error_lines(broken.run.stderr)), broken.run.stderr[-3000:]
    assert "1 product cards were left out of products that were sent" in broken.run.stderr
