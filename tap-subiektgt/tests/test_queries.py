"""Every statement is T-SQL that SQL Server would parse, and the connection is built right."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
import sqlglot
from sandbox.subiektgt import SCHEMA
from sqlalchemy.dialects.mssql import pymssql as mssql_pymssql
from sqlglot import exp
from tap_subiektgt import queries
from tap_subiektgt.connection import connect_args, database_url, is_write, url_from_parts
from tap_subiektgt.tap import TapSubiektGT

STATEMENTS = queries.every_statement()
#: what only SQLite (or only T-SQL) understands: none of it may be in the tap's SQL
NOT_PORTABLE = re.compile(r"\b(LIMIT|OFFSET|TOP|IFNULL|ISNULL|GLOB|NOLOCK|APPLY|dbo|"
                          r"GROUP_CONCAT|STRING_AGG|SUBSTR|DATALENGTH|LEN)\b|\|\||\[|`",
                          re.IGNORECASE)


def as_tsql(statement: sa.TextClause) -> str:
    """The text SQL Server gets, list parameters expanded (with example values)."""
    lists = {name: [1, 2, 3] for name in re.findall(r"POSTCOMPILE_(\w+)", str(statement))}
    if lists:
        statement = statement.bindparams(**lists)
    compiled = statement.compile(dialect=mssql_pymssql.dialect(),
                                 compile_kwargs={"literal_binds": True,
                                                 "render_postcompile": True})
    return str(compiled)


@pytest.mark.parametrize("statement", STATEMENTS, ids=lambda s: str(s)[:60])
def test_every_statement_parses_as_tsql_and_is_a_select(statement):
    text = as_tsql(statement)
    parsed = sqlglot.parse_one(text, read="tsql")
    assert isinstance(parsed, exp.Select), text
    assert not NOT_PORTABLE.search(text), text
    assert not is_write(text)


def test_the_schema_of_the_test_database_parses_as_tsql():
    for ddl in filter(str.strip, SCHEMA.split(";")):
        assert isinstance(sqlglot.parse_one(ddl, read="tsql"), exp.Create), ddl


def test_list_parameters_expand_for_sql_server():
    text = as_tsql(queries.cards(price_level=7, grouping=queries.Grouping("field", 3),
                                 only_shop_products=True, warehouses=True))
    assert "tc_CenaBrutto7" in text
    assert "tw_Pole3" in text
    assert "st_MagId IN (1, 2, 3)" in text


@pytest.mark.parametrize("level", [0, 11, -1, "1", True, 1.5])
def test_a_price_level_outside_1_to_10_never_reaches_the_sql(level):
    with pytest.raises(ValueError, match="price level"):
        queries.cards(price_level=level, grouping=queries.Grouping(),
                      only_shop_products=True, warehouses=False)


def test_a_named_instance_becomes_host_backslash_instance():
    url = url_from_parts({"host": "serwer-biuro", "instance": "INSERTGT", "database": "DEMO",
                          "user": "sklep", "password": "p@ss/word"})
    assert url.drivername == "mssql+pymssql"
    assert url.host == "serwer-biuro\\INSERTGT"
    assert url.port is None
    assert url.database == "DEMO"
    assert url.username == "sklep"
    assert url.password == "p@ss/word"
    args = mssql_pymssql.dialect().create_connect_args(url)[1]
    assert args["host"] == "serwer-biuro\\INSERTGT"
    assert args["password"] == "p@ss/word"
    # the SDK hands the connector a string: the round trip keeps every part
    again = sa.make_url(url.render_as_string(hide_password=False))
    assert (again.host, again.password, again.database) == (url.host, url.password, "DEMO")


def test_without_instance_or_port_the_installer_default_instance_is_used():
    url = url_from_parts({"host": "10.0.0.5", "database": "Firma", "user": "u",
                          "password": "secret-1"})
    assert url.host == "10.0.0.5\\INSERTGT"


def test_a_fixed_port_replaces_the_instance():
    url = url_from_parts({"host": "10.0.0.5", "instance": "INSERTGT", "port": 1433,
                          "database": "Firma", "user": "u", "password": "secret-1"})
    assert (url.host, url.port) == ("10.0.0.5", 1433)
    args = mssql_pymssql.dialect().create_connect_args(url)[1]
    assert args["host"] == "10.0.0.5:1433"


def test_sqlite_is_opened_read_only():
    url = database_url({"sqlalchemy_url": "sqlite:///data/subiekt.sqlite"})
    assert url.database == "file:data/subiekt.sqlite"
    assert url.query == {"mode": "ro", "uri": "true"}


def test_the_engine_for_sql_server_asks_for_read_only_intent_and_bounded_waits():
    url = url_from_parts({"host": "h", "database": "d", "user": "u", "password": "secret-1"})
    args = connect_args(url)
    assert args["read_only"] is True
    assert 0 < args["login_timeout"] <= 60
    assert 0 < args["timeout"] <= 3600
    assert args["appname"] == "tap-subiektgt"


def test_about_offers_the_parts_first_then_the_url():
    schema = TapSubiektGT.config_jsonschema
    assert schema["x-gateway-sync"]["alternatives"] == [
        ["host", "instance", "database", "user", "password"], ["sqlalchemy_url"]]
    assert schema["properties"]["password"]["secret"] is True
    assert schema["properties"]["sqlalchemy_url"]["secret"] is True
