"""The contract stream mixin on a plain ``Stream`` (a feed) and on an ``SQLStream``."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from commerce_schema.contract import STREAM_KEYS, STREAM_SCHEMAS
from singer_sdk import typing as th
from singer_sdk.sql import SQLConnector, SQLStream
from tapkit.streams import ContractStream, MappingError, contract_catalog_entry
from tapkit.tap import ContractTap
from tapkit.testing import assert_conforms, category, run_tap


def test_a_plain_stream_gets_the_contract_schema_and_keys(demo):
    tap = demo.TapDemo(config={"shop_url": "https://x.example"})
    products = tap.streams["products"]
    assert products.schema == STREAM_SCHEMAS["products"]
    assert (list(products.primary_keys), products.replication_key) == (
        list(STREAM_KEYS["products"][0]), STREAM_KEYS["products"][1])


def test_a_row_that_cannot_be_mapped_is_one_error_line_and_the_run_goes_on(demo, caplog):
    run = run_tap(demo.TapDemo, {"shop_url": "https://x.example", "products": [
        {"id": 1, "price": 1}, {"id": 2}, {"id": 3, "price": 1}]})
    assert [r["id"] for r in run.records["products"]] == ["1", "3"]
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert [r.getMessage() for r in errors] == ["Skipped product 2: product 2: no price"]
    assert (run.tap.streams["products"].emitted, run.tap.streams["products"].skipped) == (2, 1)
    assert_conforms(run)


class Connector(SQLConnector):
    """SQLite, as a stand-in for an ERP's database."""


class SqlCategories(ContractStream, SQLStream):
    """Categories from a table whose shape is not the contract's (as in an ERP)."""

    name = "categories"
    connector_class = Connector

    def get_records(self, context: Any) -> Iterable[dict[str, Any]]:
        with self.connector._engine.connect() as connection:
            yield from (dict(r) for r in connection.exec_driver_sql(
                "SELECT kat_id, kat_nazwa FROM kategorie ORDER BY kat_id").mappings())

    def source_id(self, row: dict[str, Any]) -> str:
        return str(row["kat_id"])

    def map_record(self, row: dict[str, Any], context: Any) -> dict[str, Any] | None:
        if not row["kat_nazwa"]:
            raise MappingError("no name")
        return category(id=str(row["kat_id"]), name=row["kat_nazwa"], path=[row["kat_nazwa"]])


class SqlTap(ContractTap):
    name = "tap-sql-demo"
    config_jsonschema = th.PropertiesList(
        th.Property("sqlalchemy_url", th.StringType, required=True)).to_dict()

    def discover_streams(self) -> list:
        return [SqlCategories(self)]


def test_an_sql_stream_is_a_contract_stream_too(tmp_path, caplog):
    database = tmp_path / "erp.sqlite"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE kategorie (kat_id INTEGER, kat_nazwa TEXT)")
        connection.executemany("INSERT INTO kategorie VALUES (?, ?)",
                               [(1, "Kubki"), (2, None), (3, "Łyżki")])
    connection.close()
    run = run_tap(SqlTap, {"sqlalchemy_url": f"sqlite:///{database}"})
    assert [r["name"] for r in run.records["categories"]] == ["Kubki", "Łyżki"]
    assert "Skipped category 2: no name" in caplog.text
    assert run.tap.streams["categories"].schema == STREAM_SCHEMAS["categories"]
    assert_conforms(run)


def test_the_catalog_entry_carries_keys_and_replication():
    entry = contract_catalog_entry("stock")
    assert entry["key_properties"] == ["variant_id"]
    assert entry["replication_key"] == "updated_at"
    assert entry["schema"] == STREAM_SCHEMAS["stock"]
