"""The tap against a generated Subiekt GT database: what a vendor's shop gets out of it."""

from __future__ import annotations

import base64
import logging
import sqlite3
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sandbox.subiektgt import EXTRA_CARDS, EXTRA_PUBLISHED, expected_products, jpeg, shop_flag
from tap_subiektgt.connection import SubiektConnector, WriteRefusedError, is_write
from tap_subiektgt.tap import TapSubiektGT
from tapkit.testing import assert_conforms, run_tap


@pytest.fixture(scope="module")
def statements():
    """Every statement any engine sends while the module runs (to prove none writes)."""
    sent: list[str] = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", remember)
    yield sent
    sa.event.remove(sa.engine.Engine, "before_cursor_execute", remember)


def _config(path, **extra):
    return {"sqlalchemy_url": f"sqlite:///{path}", "warehouse_ids": [1, 2],
            "variant_option_names": ["Rozmiar"], **extra}


@pytest.fixture(scope="module")
def run(subiekt, statements):
    """One run with the shop's settings: level 1, warehouses 1 and 2, grouping by model."""
    path, _ = subiekt
    statements.clear()
    result = run_tap(TapSubiektGT, _config(path))
    result.sent = list(statements)  # type: ignore[attr-defined]
    return result


def by_id(run, stream="products"):
    key = "variant_id" if stream == "stock" else "id"
    return {r[key]: r for r in run.records.get(stream, [])}


def test_every_published_product_arrives_with_its_variants_prices_and_stock(subiekt, run):
    _, catalog = subiekt
    expected = expected_products(catalog)
    products = by_id(run)
    assert set(products) == set(expected)
    for pid, want in expected.items():
        got = products[pid]
        assert got["name"] == want["name"]
        assert got["vat_rate"] == want["vat_rate"]
        assert got["platform"] == "subiektgt"
        assert len(got["images"]) == want["image_count"], pid
        variants = {v["id"]: v for v in got["variants"]}
        assert set(variants) == set(want["variants"]), pid
        for vid, v in want["variants"].items():
            made = variants[vid]
            assert made["sku"] == v["sku"]
            assert made["ean"] == v["ean"], (pid, vid)
            assert made["options"] == v["options"], (pid, vid)
            assert made["price_gross"] == v["price_gross"]
            assert made["price_net"] == v["price_net"]
            assert made["stock"] == v["stock"], (pid, vid)
            assert len(made["images"]) == v["image_count"], (pid, vid)


def test_the_output_conforms_to_the_contract(run):
    assert_conforms(run)


def test_a_model_of_six_cards_is_one_product_with_six_variants(tmp_path):
    path = tmp_path / "six.sqlite"
    from sandbox.subiektgt import create

    catalog = create(path, n_products=30, seed=42)
    conn = sqlite3.connect(path)
    try:
        # make one two-card model a six-card one: four more cards in sizes
        model = next(p for p in catalog.products if len(p.variants) > 1 and p.active
                     and shop_flag(p))
        conn.execute("DELETE FROM sl_ModelTowar WHERE mtw_IdModel = ?", (model.id,))
        for i, size in enumerate(["XS", "S", "M", "L", "XL", "XXL"]):
            card = 800_000 + i
            conn.execute(
                "INSERT INTO tw__Towar (tw_Id, tw_Symbol, tw_Nazwa, tw_IdVatSp, "
                "tw_SklepInternet, tw_IdGrupa) VALUES (?, ?, ?, 100001, 1, NULL)",
                (card, f"KOSZ-{size}", f"Koszulka Zorza {size}"))
            conn.execute("INSERT INTO tw_Cena (tc_Id, tc_IdTowar, tc_CenaNetto1, "
                         "tc_CenaBrutto1) VALUES (?, ?, '81.30', '100.00')", (card, card))
            conn.execute("INSERT INTO sl_ModelTowar VALUES (?, ?, ?)",
                         (card, model.id, card))
        conn.execute("UPDATE sl_ModelTw SET mdt_Nazwa = 'Koszulka Zorza' WHERE mdt_Id = ?",
                     (model.id,))
        conn.commit()
    finally:
        conn.close()
    products = by_id(run_tap(TapSubiektGT, _config(path)))
    record = products[f"model-{model.id}"]
    assert record["name"] == "Koszulka Zorza"
    assert [v["sku"] for v in record["variants"]] == [
        "KOSZ-XS", "KOSZ-S", "KOSZ-M", "KOSZ-L", "KOSZ-XL", "KOSZ-XXL"]
    assert [v["options"] for v in record["variants"]] == [
        [{"name": "Rozmiar", "value": s}] for s in ["XS", "S", "M", "L", "XL", "XXL"]]
    assert {v["price_gross"] for v in record["variants"]} == {Decimal("100.00")}
    assert not any(str(800_000 + i) in products for i in range(6))  # no card on its own


def test_the_chosen_price_level_is_the_price_and_its_name_is_logged(subiekt, caplog):
    path, catalog = subiekt
    expected = expected_products(catalog, price_level=2)
    with caplog.at_level(logging.INFO, logger="tap_subiektgt"):
        products = by_id(run_tap(TapSubiektGT, _config(path, price_level=2,
                                                       include_images=False)))
    assert "Prices from level 2 (Hurtowa), net and gross as stored" in caplog.text
    assert "Stock summed over 1 (MAG Magazyn główny), 2 (SKL Sklep)" in caplog.text
    for pid, want in expected.items():
        for variant in products[pid]["variants"]:
            assert variant["price_gross"] == want["variants"][variant["id"]]["price_gross"]
            assert variant["price_net"] == want["variants"][variant["id"]]["price_net"]
    some = next(iter(expected.values()))
    level1 = expected_products(catalog)[next(iter(expected))]
    assert some["variants"] != level1["variants"]  # the levels really differ


def test_stock_is_on_hand_minus_reserved_summed_over_the_chosen_warehouses(subiekt, run):
    path, _ = subiekt
    conn = sqlite3.connect(path)
    try:
        def sql_stock(card, warehouses):
            marks = ",".join("?" * len(warehouses))
            value = conn.execute(
                f"SELECT COALESCE(SUM(st_Stan - st_StanRez), 0) FROM tw_Stan "  # noqa: S608
                f"WHERE st_TowId = ? AND st_MagId IN ({marks})", (card, *warehouses)
            ).fetchone()[0]
            return Decimal(str(value))

        reserved = {r[0] for r in conn.execute("SELECT st_TowId FROM tw_Stan "
                                               "WHERE st_StanRez > 0")}
        in_returns = {r[0] for r in conn.execute("SELECT st_TowId FROM tw_Stan "
                                                 "WHERE st_MagId = 3")}
        shop_stock = by_id(run, "stock")
        all_stock = by_id(run_tap(TapSubiektGT, {"sqlalchemy_url": f"sqlite:///{path}",
                                                 "include_images": False}), "stock")
        assert reserved & set(map(int, shop_stock))
        assert in_returns & set(map(int, all_stock))
        for vid, record in shop_stock.items():
            assert record["quantity"] == sql_stock(int(vid), [1, 2])
            assert all_stock[vid]["quantity"] == sql_stock(int(vid), [1, 2, 3])
        # the products stream says the same per variant
        for product in by_id(run).values():
            for variant in product["variants"]:
                assert variant["stock"] == shop_stock[variant["id"]]["quantity"]
                assert shop_stock[variant["id"]]["product_id"] == product["id"]
    finally:
        conn.close()


def test_photos_come_as_non_public_jpeg_data_uris_main_first(subiekt, run):
    _path, catalog = subiekt
    products = by_id(run)
    without = products[str(EXTRA_PUBLISHED)]
    assert without["images"] == []
    assert without["variants"][0]["images"] == []
    three = next(p for p in catalog.products if len(p.images) == 3 and p.active
                 and shop_flag(p) and all(v.active for v in p.variants))
    record = products[str(three.id) if three.is_simple else f"model-{three.id}"]
    assert [i["position"] for i in record["images"]] == [1, 2, 3]
    assert all(i["public"] is False for i in record["images"])
    first = record["images"][0]["url"]
    assert first.startswith("data:image/jpeg;base64,")
    from sandbox.subiektgt import image_bytes

    assert base64.b64decode(first.split(",", 1)[1]) == image_bytes(three.images[0])


def test_blocked_deleted_services_kits_and_cards_not_for_the_shop_stay_out(subiekt, run):
    path, catalog = subiekt
    variant_ids = {v["id"] for p in by_id(run).values() for v in p["variants"]}
    blocked = {str(v.id if not p.is_simple else p.id) for p in catalog.products
               for v in p.variants if not (p.active and v.active)}
    not_for_shop = {str(v.id if not p.is_simple else p.id) for p in catalog.products
                    for v in p.variants if not shop_flag(p)}
    extras = {str(card[0]) for card in EXTRA_CARDS if card[0] != EXTRA_PUBLISHED}
    assert blocked
    assert not_for_shop
    assert not (variant_ids & (blocked | not_for_shop | extras))
    assert not (set(by_id(run, "stock")) & (blocked | not_for_shop | extras))
    # without the shop filter the unticked cards come too, never the others
    everything = by_id(run_tap(TapSubiektGT, _config(path, only_shop_products=False,
                                                     include_images=False)), "stock")
    assert not_for_shop - blocked <= set(everything)
    assert not (set(everything) & (blocked | extras))


def test_a_custom_field_grouping_gives_the_same_products(subiekt, run):
    path, _ = subiekt
    by_field = by_id(run_tap(TapSubiektGT, _config(path, variant_group="field:1",
                                                   include_images=False)))
    by_model = by_id(run)

    def shape(products):
        return sorted(sorted(v["id"] for v in p["variants"]) for p in products.values())

    assert shape(by_field) == shape(by_model)
    grouped = [p for p in by_field.values() if p["id"].startswith("pole1-")]
    assert grouped
    assert all(p["sku"] and p["id"] == f"pole1-{p['sku'].upper()}"
                           for p in grouped)
    alone = by_id(run_tap(TapSubiektGT, _config(path, variant_group="none",
                                                 include_images=False)))
    assert all(len(p["variants"]) == 1 and p["variants"][0]["options"] == []
               for p in alone.values())
    assert len(alone) == sum(len(p["variants"]) for p in by_model.values())


def test_no_statement_that_writes_is_ever_sent(run):
    assert len(run.sent) > 5
    for statement in run.sent:
        text = statement.strip().upper()
        assert text.startswith("SELECT") or (text.startswith("PRAGMA") and "=" not in text), \
            statement
        assert not is_write(statement)


def test_the_connection_refuses_a_write_before_the_database_sees_it(subiekt):
    path, _ = subiekt
    connector = SubiektConnector({"sqlalchemy_url": f"sqlite:///{path}"})
    with connector.connect() as conn, pytest.raises(WriteRefusedError):
        conn.execute(sa.text("UPDATE tw_Stan SET st_Stan = 0"))
    # and the file is opened read-only: SQLite itself refuses too
    engine = sa.create_engine(connector.sqlalchemy_url)
    with engine.connect() as conn, pytest.raises(sa.exc.OperationalError, match="readonly"):
        conn.execute(sa.text("DELETE FROM tw_Stan"))
    engine.dispose()
    connector.dispose()


def test_queries_per_run_grow_with_batches_not_with_products(tmp_path):
    counts = {}
    for n in (10, 40):
        path = tmp_path / f"n{n}.sqlite"
        from sandbox.subiektgt import create

        create(path, n_products=n, seed=7)
        result = run_tap(TapSubiektGT, _config(path))
        counts[n] = result.tap.reader.statements
    # per run: 4 dictionary queries, the groups, the cards, 3 side queries per 500 cards,
    # one per 16 photos, the stock query and its barcodes: 4x the products, not 4x queries
    assert counts[10] <= 12, counts
    assert counts[40] - counts[10] <= 10, counts


def test_a_photo_that_is_not_an_image_is_left_out_and_the_product_kept(tmp_path):
    from sandbox.subiektgt import create

    path = tmp_path / "bad-photo.sqlite"
    catalog = create(path, n_products=10, seed=42)
    product = next(p for p in catalog.products if p.is_simple and p.active and shop_flag(p))
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO tw_ZdjecieTw VALUES (99999, ?, ?, 0, 1)",
                 (product.id, b"<html>not a photo</html>"))
    conn.execute("INSERT INTO tw_ZdjecieTw VALUES (99998, ?, ?, 0, 2)",
                 (product.id, jpeg(10, "extra")))
    conn.commit()
    conn.close()
    record = by_id(run_tap(TapSubiektGT, _config(path)))[str(product.id)]
    assert len(record["images"]) == len(product.images) + 1


def test_a_custom_field_key_groups_whatever_its_letter_case_and_spaces(tmp_path):
    from sandbox.subiektgt import create

    path = tmp_path / "case.sqlite"
    catalog = create(path, n_products=20, seed=42)
    model = next(p for p in catalog.products if len(p.variants) > 2 and p.active
                 and shop_flag(p) and all(v.active for v in p.variants))
    conn = sqlite3.connect(path)
    conn.execute("UPDATE tw__Towar SET tw_Pole1 = ? WHERE tw_Id = ?",
                 (model.sku.lower() + "  ", model.variants[1].id))
    conn.commit()
    conn.close()
    products = by_id(run_tap(TapSubiektGT, _config(path, variant_group="field:1",
                                                   include_images=False)))
    record = products[f"pole1-{model.sku}"]
    assert sorted(v["id"] for v in record["variants"]) == sorted(
        str(v.id) for v in model.variants)


def test_cards_of_one_group_coming_apart_stop_the_run_instead_of_splitting_a_product():
    from tap_subiektgt.reader import GroupingError, Settings, SubiektReader

    reader = SubiektReader(connect=None, settings=Settings())  # type: ignore[arg-type]
    rows = iter([{"card_id": 1, "group_key": 5}, {"card_id": 2, "group_key": 6},
                 {"card_id": 3, "group_key": 5}])
    with pytest.raises(GroupingError, match="cards of group 5 apart"):
        list(reader._groups(rows))


def test_a_state_belongs_to_one_company_database_whatever_the_login() -> None:
    """The state's source identity: the database, never the login or its password."""
    def identity(url: str) -> str | None:
        return TapSubiektGT(config={"sqlalchemy_url": url}, validate_config=False
                            ).source_identity()

    one = identity("mssql+pymssql://sa:old@host:1433/FIRMA_A")
    assert one == identity("mssql+pymssql://reader:new@host:1433/FIRMA_A")
    assert one != identity("mssql+pymssql://sa:old@host:1433/FIRMA_B")
    assert one is not None
