"""Every SQL statement the tap sends: SELECTs only, in the subset T-SQL and SQLite share.

Why one module: the statements are the tap's whole contact with a customer's ERP database,
so they are reviewed in one place and the tests check each of them, as T-SQL (parsed by
sqlglot with ``read="tsql"``) and by running it on the SQLite test database. Nothing here
may be T-SQL-only or SQLite-only: no ``TOP``/``LIMIT``, ``ISNULL``/``IFNULL``, ``dbo.``,
``WITH (NOLOCK)``, ``OUTER APPLY``; ``COALESCE``, ``NULLIF``, ``RTRIM``, ``UPPER``,
``CASE`` and plain joins only. Lists go through SQLAlchemy's expanding bind parameters, so
no value is ever pasted into the text; the only pasted parts are column names built from
integers validated to 1..10 (price level) and 1..8 (custom field), because a column name
cannot be a bind parameter. Comments never mention a bind parameter by name: SQLAlchemy
would take it for one.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

#: SQL Server accepts at most 2,100 parameters per statement; a batch stays well below it
MAX_IN_LIST = 500

#: tables the tap reads; a database without them is not a Subiekt GT company database
REQUIRED_TABLES = ("tw__Towar", "tw_Cena", "sl_StawkaVAT", "tw_Stan", "sl_Magazyn",
                   "sl_GrupaTw", "tw_KodKreskowy", "tw_ZdjecieTw", "tw_Parametr",
                   "sl_CechaTw", "tw_CechaTw", "sl_ModelTw", "sl_ModelTowar")
#: tables of the feature -> property dictionary (absent or empty on many installations)
PROPERTY_TABLES = ("sl_WlasciwCechTw", "sl_WlasciwoscCecha")
#: names that give away a Subiekt nexo database (a schema, or its tables seen unqualified)
NEXO_MARKERS = ("ModelDanychContainer", "Asortymenty", "StanyMagazynowe")


@dataclass(frozen=True)
class Grouping:
    """How product cards become one product with variants: ``model``, ``field`` or
    ``none``; ``field`` says which custom field ``tw_Pole1..8`` holds the group key."""

    kind: str = "model"
    field: int = 0

    def __post_init__(self) -> None:
        if self.kind not in ("model", "field", "none"):
            raise ValueError(f"unknown grouping {self.kind!r}")
        if self.kind == "field" and not 1 <= self.field <= 8:
            raise ValueError(f"custom field {self.field} is not 1..8")


def _id_list(name: str) -> sa.BindParameter[int]:
    """A list of integer ids, expanded by SQLAlchemy into ``IN (?, ?, ...)``."""
    return sa.bindparam(name, expanding=True, type_=sa.Integer)


def _level(price_level: int) -> int:
    if isinstance(price_level, bool) or not isinstance(price_level, int) \
            or not 1 <= price_level <= 10:
        raise ValueError(f"price level {price_level!r} is not 1..10")
    return price_level


_LEVEL_COLUMNS = ", ".join(f"twp_NazwaCeny{n} AS level{n}" for n in range(1, 11))
_FIELD_COLUMNS = ", ".join(f"twp_Nazwa{n} AS field{n}" for n in range(1, 9))
PRICE_LEVEL_NAMES = sa.text(
    f"SELECT {_LEVEL_COLUMNS}, {_FIELD_COLUMNS} FROM tw_Parametr")  # noqa: S608 - our names

WAREHOUSES = sa.text(
    "SELECT mag_Id AS warehouse_id, RTRIM(mag_Symbol) AS symbol, RTRIM(mag_Nazwa) AS name "
    "FROM sl_Magazyn ORDER BY mag_Id")

CATEGORIES = sa.text(
    "SELECT grt_Id AS group_id, RTRIM(grt_Nazwa) AS name FROM sl_GrupaTw ORDER BY grt_Id")

#: manufacturers of the products only (kh__Kontrahent also holds every customer)
MAKERS = sa.text(
    "SELECT k.kh_Id AS maker_id, RTRIM(k.kh_Symbol) AS symbol, RTRIM(a.adr_Nazwa) AS name "
    "FROM kh__Kontrahent AS k "
    "LEFT JOIN adr__Ewid AS a ON a.adr_IdObiektu = k.kh_Id AND a.adr_TypAdresu = 1 "
    "WHERE k.kh_Id IN (SELECT tw_IdProducenta FROM tw__Towar "
    "WHERE tw_IdProducenta IS NOT NULL) "
    "ORDER BY k.kh_Id")


def _group_columns(grouping: Grouping) -> tuple[str, str, str]:
    """(join, key and name columns, ORDER BY prefix) for the grouping."""
    if grouping.kind == "model":
        return ("LEFT JOIN sl_ModelTowar AS mt ON mt.mtw_IdTowar = t.tw_Id "
                "LEFT JOIN sl_ModelTw AS m ON m.mdt_Id = mt.mtw_IdModel ",
                "mt.mtw_IdModel AS group_key, RTRIM(m.mdt_Nazwa) AS group_name",
                "CASE WHEN mt.mtw_IdModel IS NULL THEN 1 ELSE 0 END, mt.mtw_IdModel, ")
    if grouping.kind == "field":
        # UPPER: SQL Server compares case-insensitively (Polish_CI_AS), so the key is
        # upper-cased for both engines to sort and group alike
        key = f"NULLIF(UPPER(RTRIM(t.tw_Pole{grouping.field})), '')"
        return ("", f"{key} AS group_key, RTRIM(t.tw_Pole{grouping.field}) AS group_name",
                f"CASE WHEN {key} IS NULL THEN 1 ELSE 0 END, {key}, ")
    return "", "NULL AS group_key, NULL AS group_name", ""


def _stock_join(warehouses: bool) -> str:
    where = "WHERE st_MagId IN :warehouses " if warehouses else ""
    return ("LEFT JOIN (SELECT st_TowId, SUM(st_Stan) AS on_hand, "  # noqa: S608
            "SUM(st_StanRez) AS reserved "
            f"FROM tw_Stan {where}GROUP BY st_TowId) AS s ON s.st_TowId = t.tw_Id ")


def _filters(only_shop_products: bool) -> str:
    # goods only: 2 = service, 8 = kit (no stock of its own), 4/16 = packaging and fees
    shop = "AND t.tw_SklepInternet = 1 " if only_shop_products else ""
    return ("WHERE t.tw_Usuniety = 0 AND t.tw_Zablokowany = 0 AND t.tw_Rodzaj = 1 "
            f"{shop}")


def cards(*, price_level: int, grouping: Grouping, only_shop_products: bool,
          warehouses: bool) -> sa.TextClause:
    """Every sellable product card, one row each, ordered so that a group's cards are
    adjacent: its key, name, prices at the level, VAT, group, stock summed over the
    warehouses (the ``warehouses`` list parameter when ``warehouses``, else all)."""
    n = _level(price_level)
    join, group_columns, order = _group_columns(grouping)
    fields = ", ".join(f"RTRIM(t.tw_Pole{i}) AS field{i}" for i in range(1, 9))
    statement = sa.text(
        "SELECT t.tw_Id AS card_id, RTRIM(t.tw_Symbol) AS sku, RTRIM(t.tw_Nazwa) AS name, "  # noqa: S608
        "RTRIM(t.tw_Opis) AS short_description, t.tw_Charakter AS description, "
        "RTRIM(t.tw_PodstKodKresk) AS main_code, t.tw_IdGrupa AS category_id, "
        "RTRIM(g.grt_Nazwa) AS category_name, t.tw_IdProducenta AS maker_id, "
        f"t.tw_Masa AS weight, {fields}, "
        f"c.tc_CenaNetto{n} AS price_net, c.tc_CenaBrutto{n} AS price_gross, "
        f"RTRIM(c.tc_IdWaluta{n}) AS currency, "
        "v.vat_Stawka AS vat_percent, RTRIM(v.vat_Symbol) AS vat_symbol, "
        "COALESCE(s.on_hand, 0) AS on_hand, COALESCE(s.reserved, 0) AS reserved, "
        f"{group_columns} "
        "FROM tw__Towar AS t "
        "LEFT JOIN tw_Cena AS c ON c.tc_IdTowar = t.tw_Id "
        "LEFT JOIN sl_StawkaVAT AS v ON v.vat_Id = t.tw_IdVatSp "
        "LEFT JOIN sl_GrupaTw AS g ON g.grt_Id = t.tw_IdGrupa "
        f"{_stock_join(warehouses)}{join}{_filters(only_shop_products)}"
        f"ORDER BY {order}t.tw_Id")
    if warehouses:
        statement = statement.bindparams(_id_list("warehouses"))
    return statement


def stock(*, grouping: Grouping, only_shop_products: bool, warehouses: bool
          ) -> sa.TextClause:
    """The stock stream's one query: each sellable card's key, codes and summed stock."""
    join, group_columns, order = _group_columns(grouping)
    statement = sa.text(
        "SELECT t.tw_Id AS card_id, RTRIM(t.tw_Symbol) AS sku, "  # noqa: S608
        "RTRIM(t.tw_PodstKodKresk) AS main_code, "
        "COALESCE(s.on_hand, 0) AS on_hand, COALESCE(s.reserved, 0) AS reserved, "
        f"{group_columns} "
        f"FROM tw__Towar AS t {_stock_join(warehouses)}{join}"
        f"{_filters(only_shop_products)}"
        f"ORDER BY {order}t.tw_Id")
    if warehouses:
        statement = statement.bindparams(_id_list("warehouses"))
    return statement


def _by_cards(sql: str) -> sa.TextClause:
    return sa.text(sql).bindparams(_id_list("cards"))


BARCODES = _by_cards(
    "SELECT kk_IdTowar AS card_id, RTRIM(kk_Kod) AS code FROM tw_KodKreskowy "
    "WHERE kk_IdTowar IN :cards ORDER BY kk_IdTowar, kk_Id")

FEATURES = _by_cards(
    "SELECT ct.cht_IdTowar AS card_id, RTRIM(f.ctw_Nazwa) AS feature, "
    "RTRIM(p.wct_Nazwa) AS property "
    "FROM tw_CechaTw AS ct JOIN sl_CechaTw AS f ON f.ctw_Id = ct.cht_IdCecha "
    "LEFT JOIN sl_WlasciwoscCecha AS wf ON wf.wch_IdCecha = f.ctw_Id "
    "LEFT JOIN sl_WlasciwCechTw AS p ON p.wct_Id = wf.wch_IdWlasciwosc "
    "WHERE ct.cht_IdTowar IN :cards ORDER BY ct.cht_IdTowar, ct.cht_Id")

#: features without the property dictionary (tables missing on an older version)
FEATURES_PLAIN = _by_cards(
    "SELECT ct.cht_IdTowar AS card_id, RTRIM(f.ctw_Nazwa) AS feature, NULL AS property "
    "FROM tw_CechaTw AS ct JOIN sl_CechaTw AS f ON f.ctw_Id = ct.cht_IdCecha "
    "WHERE ct.cht_IdTowar IN :cards ORDER BY ct.cht_IdTowar, ct.cht_Id")

#: which photos each card has, main first; the bytes are read separately, a few at a time
IMAGES = _by_cards(
    "SELECT zd_Id AS image_id, zd_IdTowar AS card_id, zd_Glowne AS main, zd_CRC AS crc "
    "FROM tw_ZdjecieTw WHERE zd_IdTowar IN :cards "
    "ORDER BY zd_IdTowar, zd_Glowne DESC, zd_Id")

IMAGE_BYTES = sa.text(
    "SELECT zd_Id AS image_id, zd_Zdjecie AS data FROM tw_ZdjecieTw WHERE zd_Id IN :images"
).bindparams(_id_list("images"))


def every_statement() -> list[sa.TextClause]:
    """Each statement in each shape the settings can give it (for the tests)."""
    statements = [PRICE_LEVEL_NAMES, WAREHOUSES, CATEGORIES, MAKERS, BARCODES, FEATURES,
                  FEATURES_PLAIN, IMAGES, IMAGE_BYTES]
    for grouping in (Grouping("model"), Grouping("field", 1), Grouping("field", 8),
                     Grouping("none")):
        for only_shop in (True, False):
            for warehouses in (True, False):
                statements.append(stock(grouping=grouping, only_shop_products=only_shop,
                                        warehouses=warehouses))
                for level in (1, 10):
                    statements.append(cards(price_level=level, grouping=grouping,
                                            only_shop_products=only_shop,
                                            warehouses=warehouses))
    return statements
