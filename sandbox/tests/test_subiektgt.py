"""The Subiekt GT test database: Subiekt's real names, the catalog inside, the cases a tap
must handle, and a refusing SQL Server that real pymssql talks to."""

from __future__ import annotations

import sqlite3
import struct
import subprocess
import sys
from decimal import Decimal

import pytest
from sandbox.catalog import generate_catalog
from sandbox.subiektgt import (
    EXTRA_CARDS,
    RefusingSqlServer,
    create,
    expected_products,
    image_bytes,
    jpeg,
    main,
)


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    path = tmp_path_factory.mktemp("sgt") / "subiekt.sqlite"
    catalog = create(path, n_products=40, seed=42)
    conn = sqlite3.connect(path)
    yield conn, catalog
    conn.close()


def one(conn, sql, *args):
    return conn.execute(sql, args).fetchone()[0]


def test_the_tables_and_columns_are_subiekts_own(database):
    conn, _ = database
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"tw__Towar", "tw_Cena", "sl_StawkaVAT", "tw_Stan", "sl_Magazyn", "tw_KodKreskowy",
            "sl_CechaTw", "tw_CechaTw", "tw_ZdjecieTw", "sl_GrupaTw", "sl_ModelTw",
            "sl_ModelTowar", "tw_Parametr"} <= tables
    columns = {r[1] for r in conn.execute("PRAGMA table_info(tw_Cena)")}
    assert {f"tc_CenaBrutto{n}" for n in range(1, 11)} <= columns


def test_every_catalog_variant_is_a_product_card_with_its_price(database):
    conn, catalog = database
    cards = one(conn, "SELECT COUNT(*) FROM tw__Towar WHERE tw_Id NOT BETWEEN 900000 AND 999999")
    assert cards == catalog.variant_count()
    product = next(p for p in catalog.products if p.is_simple)
    gross = one(conn, "SELECT tc_CenaBrutto1 FROM tw_Cena WHERE tc_IdTowar = ?", product.id)
    assert Decimal(str(gross)) == product.variants[0].price_gross


def test_the_cases_a_tap_must_handle_are_all_there(database):
    conn, _ = database
    assert one(conn, "SELECT COUNT(*) FROM tw__Towar WHERE tw_Zablokowany = 1") > 0
    assert one(conn, "SELECT COUNT(*) FROM tw__Towar WHERE tw_SklepInternet = 0") > 0
    assert one(conn, "SELECT COUNT(*) FROM tw__Towar WHERE tw_Usuniety = 1") == 1
    assert one(conn, "SELECT COUNT(*) FROM tw__Towar WHERE tw_Rodzaj <> 1") == 2
    assert one(conn, "SELECT COUNT(*) FROM tw_Stan WHERE st_StanRez > 0") > 0
    assert one(conn, "SELECT COUNT(*) FROM tw_Stan WHERE st_MagId = 3") > 0
    assert one(conn, "SELECT COUNT(*) FROM tw_KodKreskowy") > 0
    assert one(conn, "SELECT COUNT(*) FROM sl_StawkaVAT WHERE vat_Symbol = 'zw'") == 1
    assert one(conn, "SELECT COUNT(DISTINCT mtw_IdModel) FROM sl_ModelTowar") > 5
    assert one(conn, "SELECT COUNT(*) FROM tw__Towar WHERE tw_Pole1 <> ''") > 0
    assert one(conn, "SELECT COUNT(*) FROM tw_CechaTw") > 0
    # models whose members carry their size only in their names (no features)
    assert one(conn, "SELECT COUNT(*) FROM sl_ModelTowar WHERE mtw_IdTowar NOT IN "
                     "(SELECT cht_IdTowar FROM tw_CechaTw)") > 0
    assert one(conn, "SELECT COUNT(*) FROM tw_ZdjecieTw WHERE zd_Glowne = 1") > 0
    assert len(EXTRA_CARDS) == 4


def test_photos_are_jpeg_blobs_with_their_crc(database):
    conn, catalog = database
    data, crc = conn.execute("SELECT zd_Zdjecie, zd_CRC FROM tw_ZdjecieTw "
                             "ORDER BY zd_Id LIMIT 1").fetchone()
    assert data[:3] == b"\xff\xd8\xff"
    assert data[-2:] == b"\xff\xd9"
    assert data == image_bytes(catalog.products[0].images[0])
    import zlib

    assert crc & 0xFFFFFFFF == zlib.crc32(data)


def test_a_jpeg_is_well_formed():
    data = jpeg(200, "p1-1")
    assert data[:2] == b"\xff\xd8"
    assert data[-2:] == b"\xff\xd9"
    position, markers = 2, []
    while data[position] == 0xFF and data[position + 1] != 0xDA:
        marker = data[position + 1]
        (length,) = struct.unpack(">H", data[position + 2:position + 4])
        markers.append(marker)
        position += 2 + length
    assert markers == [0xE0, 0xFE, 0xDB, 0xC0, 0xC4, 0xC4]
    assert jpeg(200, "a") != jpeg(200, "b")
    assert jpeg(10) != jpeg(240)


def test_the_same_seed_gives_the_same_database(tmp_path):
    first, second = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    create(first, n_products=8, seed=3)
    create(second, n_products=8, seed=3)
    dump = [list(sqlite3.connect(p).iterdump()) for p in (first, second)]
    assert dump[0] == dump[1]


def test_expectations_leave_out_what_a_shop_must_not_show():
    catalog = generate_catalog(40, 42)
    expected = expected_products(catalog)
    ids = {vid for p in expected.values() for vid in p["variants"]}
    assert "900004" in ids
    assert not {"900001", "900002", "900003"} & ids
    inactive = {str(p.id) for p in catalog.products if not p.active}
    assert not inactive & set(expected)


def test_the_command_writes_the_file_and_prints_its_url(tmp_path, capsys):
    main(["--out", str(tmp_path / "db.sqlite"), "--products", "5"])
    assert f"sqlite:///{tmp_path / 'db.sqlite'}" in capsys.readouterr().out
    assert (tmp_path / "db.sqlite").stat().st_size > 0


def test_the_refusing_server_refuses_a_real_pymssql_login():
    pymssql = pytest.importorskip("pymssql")
    with RefusingSqlServer("Login failed for user 'x'. Odmowa.") as server:
        with pytest.raises(pymssql.OperationalError) as caught:
            pymssql.connect(server="127.0.0.1", port=str(server.port), user="x",
                            password="y-secret", database="DEMO", login_timeout=5)
        assert server.logins == 1
    code, message = caught.value.args[0]
    assert code == 18456
    assert b"Odmowa." in message


def test_python_m_runs(tmp_path):
    done = subprocess.run([sys.executable, "-m", "sandbox.subiektgt", "--out",
                           str(tmp_path / "x.sqlite"), "--products", "3"],
                          capture_output=True, text=True, timeout=60, check=True)
    assert "subiektgt database at sqlite:///" in done.stdout
