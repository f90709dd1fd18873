"""A Subiekt GT test database: the generated catalog in InsERT's real tables, as a SQLite file.

Subiekt GT keeps a company's data in its own Microsoft SQL Server database and has no web
API, so its "emulator" is a database, not an HTTP server. This module writes the subset of
tables ``tap-subiektgt`` reads, with Subiekt's real table and column names and the column
types SQLite accepts unchanged (``money`` becomes ``DECIMAL(19,4)``, ``image`` stays), filled
from :func:`sandbox.catalog.generate_catalog`::

    python -m sandbox.subiektgt --out subiekt.sqlite --products 60 --seed 42

How the catalog is laid out, as a Subiekt operator would have typed it:

- every leaf category is a flat product group (``sl_GrupaTw`` has no parent column);
- a simple product is one product card (``tw__Towar``, ``tw_Id`` = the catalog product id);
- a product with variants is a model (``sl_ModelTw``, ``mdt_Id`` = the catalog product id)
  with one card per variant (``tw_Id`` = the variant id) linked by ``sl_ModelTowar``; most
  members carry their option values as features grouped into properties ("Rozmiar",
  "Kolor"), every third size-only model carries them only in the card's name ("Koszulka
  Zorza XL"); every member also holds its model's symbol in the custom field ``tw_Pole1``;
- prices: level 1 "Detaliczna" is the catalog's gross price, level 2 "Hurtowa" 80 % of it,
  level 3 "Internetowa" 95 %, each stored net and gross; levels 4-10 are empty;
- stock: the catalog quantity is split over warehouses 1 (MAG, with reservations added on
  top) and 2 (SKL); every fifth card also has 2 pieces in warehouse 3 (ZWR, returns), which
  a shop normally leaves out; an untracked catalog quantity has no stock rows (0 in Subiekt);
- images are small JPEGs (``image`` BLOBs), the product's photos on every member card and a
  variant's own photo on its card only;
- an inactive catalog product or variant is a blocked card (``tw_Zablokowany``); every 13th
  product is not marked for the internet shop (``tw_SklepInternet = 0``); a few extra cards
  that a shop must never show: a service, a kit, a deleted card, and a shop product that has
  no photo at all (``EXTRA_PUBLISHED``).

:func:`expected_products` is what a correct tap reads from this database for a given price
level and warehouse set; fields Subiekt cannot carry are listed there.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import struct
import tempfile
import zlib
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from commerce_schema.money import net_from_gross

from sandbox.catalog import SIZE, Catalog, Image, Product, generate_catalog
from sandbox.server import Emulator, Switches

#: The DDL of the subset: real names, portable types (it also parses as T-SQL).
SCHEMA = """
CREATE TABLE sl_StawkaVAT (
  vat_Id     INT           NOT NULL PRIMARY KEY,
  vat_Nazwa  VARCHAR(50)   NOT NULL DEFAULT '',
  vat_Stawka DECIMAL(19,4) NOT NULL,
  vat_Symbol VARCHAR(20)   NOT NULL DEFAULT ''
);
CREATE TABLE sl_GrupaTw (
  grt_Id    INT         NOT NULL PRIMARY KEY,
  grt_Nazwa VARCHAR(50) NOT NULL DEFAULT ''
);
CREATE TABLE sl_Magazyn (
  mag_Id     INT         NOT NULL PRIMARY KEY,
  mag_Symbol VARCHAR(3)  NOT NULL,
  mag_Nazwa  VARCHAR(50) NOT NULL DEFAULT '',
  mag_Glowny BIT         NOT NULL DEFAULT 0,
  mag_Status INT         NOT NULL DEFAULT 1
);
CREATE TABLE kh__Kontrahent (
  kh_Id     INT         NOT NULL PRIMARY KEY,
  kh_Symbol VARCHAR(20) NOT NULL DEFAULT ''
);
CREATE TABLE adr__Ewid (
  adr_Id        INT          NOT NULL PRIMARY KEY,
  adr_IdObiektu INT          NOT NULL,
  adr_TypAdresu INT          NOT NULL DEFAULT 1,
  adr_Nazwa     VARCHAR(50)  NOT NULL DEFAULT '',
  adr_NazwaPelna VARCHAR(255) NOT NULL DEFAULT ''
);
CREATE TABLE tw_Parametr (
  twp_Id INT NOT NULL PRIMARY KEY,
  twp_NazwaCeny1 VARCHAR(30) NOT NULL DEFAULT '', twp_NazwaCeny2 VARCHAR(30) NOT NULL DEFAULT '',
  twp_NazwaCeny3 VARCHAR(30) NOT NULL DEFAULT '', twp_NazwaCeny4 VARCHAR(30) NOT NULL DEFAULT '',
  twp_NazwaCeny5 VARCHAR(30) NOT NULL DEFAULT '', twp_NazwaCeny6 VARCHAR(30) NOT NULL DEFAULT '',
  twp_NazwaCeny7 VARCHAR(30) NOT NULL DEFAULT '', twp_NazwaCeny8 VARCHAR(30) NOT NULL DEFAULT '',
  twp_NazwaCeny9 VARCHAR(30) NOT NULL DEFAULT '',
  twp_NazwaCeny10 VARCHAR(30) NOT NULL DEFAULT '',
  twp_Nazwa1 VARCHAR(20) NOT NULL DEFAULT '', twp_Nazwa2 VARCHAR(20) NOT NULL DEFAULT '',
  twp_Nazwa3 VARCHAR(20) NOT NULL DEFAULT '', twp_Nazwa4 VARCHAR(20) NOT NULL DEFAULT '',
  twp_Nazwa5 VARCHAR(20) NOT NULL DEFAULT '', twp_Nazwa6 VARCHAR(20) NOT NULL DEFAULT '',
  twp_Nazwa7 VARCHAR(20) NOT NULL DEFAULT '', twp_Nazwa8 VARCHAR(20) NOT NULL DEFAULT ''
);
CREATE TABLE tw__Towar (
  tw_Id            INT           NOT NULL PRIMARY KEY,
  tw_Zablokowany   BIT           NOT NULL DEFAULT 0,
  tw_Rodzaj        INT           NOT NULL DEFAULT 1,
  tw_Symbol        VARCHAR(20)   NOT NULL,
  tw_Nazwa         VARCHAR(50)   NOT NULL,
  tw_Opis          VARCHAR(255)  NOT NULL DEFAULT '',
  tw_Charakter     TEXT          NULL,
  tw_IdVatSp       INT           NULL,
  tw_JednMiary     VARCHAR(10)   NOT NULL DEFAULT 'szt.',
  tw_PKWiU         VARCHAR(20)   NOT NULL DEFAULT '',
  tw_PodstKodKresk VARCHAR(20)   NOT NULL DEFAULT '',
  tw_IdGrupa       INT           NULL,
  tw_IdProducenta  INT           NULL,
  tw_SklepInternet BIT           NOT NULL DEFAULT 0,
  tw_Pole1 VARCHAR(50) NOT NULL DEFAULT '', tw_Pole2 VARCHAR(50) NOT NULL DEFAULT '',
  tw_Pole3 VARCHAR(50) NOT NULL DEFAULT '', tw_Pole4 VARCHAR(50) NOT NULL DEFAULT '',
  tw_Pole5 VARCHAR(50) NOT NULL DEFAULT '', tw_Pole6 VARCHAR(50) NOT NULL DEFAULT '',
  tw_Pole7 VARCHAR(50) NOT NULL DEFAULT '', tw_Pole8 VARCHAR(50) NOT NULL DEFAULT '',
  tw_Usuniety      BIT           NOT NULL DEFAULT 0,
  tw_Masa          DECIMAL(19,4) NULL,
  FOREIGN KEY (tw_IdVatSp) REFERENCES sl_StawkaVAT (vat_Id),
  FOREIGN KEY (tw_IdGrupa) REFERENCES sl_GrupaTw (grt_Id),
  FOREIGN KEY (tw_IdProducenta) REFERENCES kh__Kontrahent (kh_Id)
);
CREATE TABLE tw_Cena (
  tc_Id INT NOT NULL PRIMARY KEY,
  tc_IdTowar INT NOT NULL,
  tc_CenaNetto1 DECIMAL(19,4) NULL, tc_CenaBrutto1 DECIMAL(19,4) NULL,
  tc_CenaNetto2 DECIMAL(19,4) NULL, tc_CenaBrutto2 DECIMAL(19,4) NULL,
  tc_CenaNetto3 DECIMAL(19,4) NULL, tc_CenaBrutto3 DECIMAL(19,4) NULL,
  tc_CenaNetto4 DECIMAL(19,4) NULL, tc_CenaBrutto4 DECIMAL(19,4) NULL,
  tc_CenaNetto5 DECIMAL(19,4) NULL, tc_CenaBrutto5 DECIMAL(19,4) NULL,
  tc_CenaNetto6 DECIMAL(19,4) NULL, tc_CenaBrutto6 DECIMAL(19,4) NULL,
  tc_CenaNetto7 DECIMAL(19,4) NULL, tc_CenaBrutto7 DECIMAL(19,4) NULL,
  tc_CenaNetto8 DECIMAL(19,4) NULL, tc_CenaBrutto8 DECIMAL(19,4) NULL,
  tc_CenaNetto9 DECIMAL(19,4) NULL, tc_CenaBrutto9 DECIMAL(19,4) NULL,
  tc_CenaNetto10 DECIMAL(19,4) NULL, tc_CenaBrutto10 DECIMAL(19,4) NULL,
  tc_IdWaluta1 CHAR(3) NOT NULL DEFAULT 'PLN', tc_IdWaluta2 CHAR(3) NOT NULL DEFAULT 'PLN',
  tc_IdWaluta3 CHAR(3) NOT NULL DEFAULT 'PLN', tc_IdWaluta4 CHAR(3) NOT NULL DEFAULT 'PLN',
  tc_IdWaluta5 CHAR(3) NOT NULL DEFAULT 'PLN', tc_IdWaluta6 CHAR(3) NOT NULL DEFAULT 'PLN',
  tc_IdWaluta7 CHAR(3) NOT NULL DEFAULT 'PLN', tc_IdWaluta8 CHAR(3) NOT NULL DEFAULT 'PLN',
  tc_IdWaluta9 CHAR(3) NOT NULL DEFAULT 'PLN', tc_IdWaluta10 CHAR(3) NOT NULL DEFAULT 'PLN',
  UNIQUE (tc_IdTowar),
  FOREIGN KEY (tc_IdTowar) REFERENCES tw__Towar (tw_Id)
);
CREATE TABLE tw_Stan (
  st_TowId   INT           NOT NULL,
  st_MagId   INT           NOT NULL,
  st_Stan    DECIMAL(19,4) NOT NULL DEFAULT 0,
  st_StanRez DECIMAL(19,4) NOT NULL DEFAULT 0,
  PRIMARY KEY (st_TowId, st_MagId),
  FOREIGN KEY (st_TowId) REFERENCES tw__Towar (tw_Id),
  FOREIGN KEY (st_MagId) REFERENCES sl_Magazyn (mag_Id)
);
CREATE TABLE tw_KodKreskowy (
  kk_Id      INT         NOT NULL PRIMARY KEY,
  kk_IdTowar INT         NOT NULL,
  kk_Kod     VARCHAR(20) NOT NULL DEFAULT '',
  FOREIGN KEY (kk_IdTowar) REFERENCES tw__Towar (tw_Id)
);
CREATE TABLE sl_CechaTw (
  ctw_Id    INT         NOT NULL PRIMARY KEY,
  ctw_Nazwa VARCHAR(50) NOT NULL DEFAULT ''
);
CREATE TABLE tw_CechaTw (
  cht_Id      INT NOT NULL PRIMARY KEY,
  cht_IdCecha INT NOT NULL,
  cht_IdTowar INT NOT NULL,
  FOREIGN KEY (cht_IdCecha) REFERENCES sl_CechaTw (ctw_Id),
  FOREIGN KEY (cht_IdTowar) REFERENCES tw__Towar (tw_Id)
);
CREATE TABLE sl_WlasciwCechTw (
  wct_Id    INT         NOT NULL PRIMARY KEY,
  wct_Nazwa VARCHAR(50) NOT NULL DEFAULT ''
);
CREATE TABLE sl_WlasciwoscCecha (
  wch_Id           INT NOT NULL PRIMARY KEY,
  wch_IdCecha      INT NOT NULL,
  wch_IdWlasciwosc INT NOT NULL,
  UNIQUE (wch_IdCecha),
  FOREIGN KEY (wch_IdCecha) REFERENCES sl_CechaTw (ctw_Id),
  FOREIGN KEY (wch_IdWlasciwosc) REFERENCES sl_WlasciwCechTw (wct_Id)
);
CREATE TABLE tw_ZdjecieTw (
  zd_Id      INT   NOT NULL PRIMARY KEY,
  zd_IdTowar INT   NOT NULL,
  zd_Zdjecie IMAGE NULL,
  zd_Glowne  BIT   NOT NULL DEFAULT 0,
  zd_CRC     INT   NULL,
  FOREIGN KEY (zd_IdTowar) REFERENCES tw__Towar (tw_Id)
);
CREATE TABLE sl_ModelTw (
  mdt_Id    INT         NOT NULL PRIMARY KEY,
  mdt_Nazwa VARCHAR(50) NOT NULL DEFAULT ''
);
CREATE TABLE sl_ModelTowar (
  mtw_Id      INT NOT NULL PRIMARY KEY,
  mtw_IdModel INT NOT NULL,
  mtw_IdTowar INT NOT NULL,
  UNIQUE (mtw_IdTowar),
  FOREIGN KEY (mtw_IdModel) REFERENCES sl_ModelTw (mdt_Id),
  FOREIGN KEY (mtw_IdTowar) REFERENCES tw__Towar (tw_Id)
);
CREATE TABLE tw_ZmianaTw (
  twz_TowarId   INT      NOT NULL,
  twz_NrZmiany  INT      NOT NULL,
  twz_CzasModyf DATETIME NOT NULL
);
"""

VAT_IDS = {23: 100001, 8: 100002, 5: 100003, 0: 100004}
VAT_EXEMPT_ID = 100005  # "zw." : 0 %, told apart by its symbol only
WAREHOUSES = [(1, "MAG", "Magazyn główny", 1), (2, "SKL", "Sklep", 0), (3, "ZWR", "Zwroty", 0)]
#: the warehouses whose stock a shop sells: returns (3) stay out
SHOP_WAREHOUSES = (1, 2)
PRICE_LEVEL_NAMES = ["Detaliczna", "Hurtowa", "Internetowa"]
#: price level -> share of the catalog's gross price stored there
PRICE_LEVEL_SHARES = {1: Decimal("1"), 2: Decimal("0.80"), 3: Decimal("0.95")}
#: custom-field labels (tw_Parametr.twp_Nazwa1..8)
FIELD_LABELS = {1: "Symbol modelu", 2: "Materiał"}
#: extra cards beyond the catalog: (id, kind, symbol, name, shop flag, deleted)
EXTRA_CARDS = [
    (900001, 2, "USL-MONTAZ", "Usługa montażu", 1, 0),
    (900002, 8, "KPL-PREZENT", "Zestaw prezentowy", 1, 0),
    (900003, 1, "PRD-USUNIETY", "Kubek wycofany", 1, 1),
    (900004, 1, "PRD-BEZ-FOTO", "Kubek bez zdjęcia", 1, 0),
]
#: the extra card a shop does publish (a plain product without any photo)
EXTRA_PUBLISHED = 900004
EXTRA_GROSS = Decimal("50.00")
_CENT = Decimal("0.01")


def jpeg(luma: int, comment: str = "") -> bytes:
    """A valid 8x8 baseline greyscale JPEG of one shade, with ``comment`` in a COM segment.

    Hand-made (no imaging library here): a flat block has only a DC coefficient, so one
    Huffman code for its size category and one for end-of-block encode the whole image.
    The comment makes every photo's bytes (and so its CRC) unique.
    """
    diff = 8 * (max(0, min(255, luma)) - 128)  # the DC coefficient of a flat block, q = 1
    size = abs(diff).bit_length()
    bits = "0"  # the single DC code: category `size`
    if size:
        bits += format(diff if diff > 0 else diff - 1 + (1 << size), f"0{size}b")[-size:]
    bits += "0"  # the single AC code: end of block
    bits += "1" * (-len(bits) % 8)
    scan = bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8)).replace(
        b"\xff", b"\xff\x00")

    def segment(marker: int, payload: bytes) -> bytes:
        return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload

    dht_bits = [0] * 16
    dht_bits[0] = 1
    return (b"\xff\xd8"
            + segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
            + (segment(0xFE, comment.encode()) if comment else b"")
            + segment(0xDB, b"\x00" + b"\x01" * 64)
            + segment(0xC0, struct.pack(">BHHB", 8, 8, 8, 1) + b"\x01\x11\x00")
            + segment(0xC4, b"\x00" + bytes(dht_bits) + bytes([size]))
            + segment(0xC4, b"\x10" + bytes(dht_bits) + b"\x00")
            + segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
            + scan + b"\xff\xd9")


def image_bytes(image: Image) -> bytes:
    """The JPEG stored for one catalog image."""
    r, g, b = image.colour
    return jpeg((299 * r + 587 * g + 114 * b) // 1000, image.key)


def crc(data: bytes) -> int:
    """``zd_CRC``: a CRC-32 as SQL Server's signed ``int``."""
    value = zlib.crc32(data)
    return value - (1 << 32) if value >= 1 << 31 else value


def shop_flag(product: Product) -> bool:
    """Whether the operator ticked "internet shop" on the product's cards."""
    return product.id % 13 != 0


def name_only_model(product: Product) -> bool:
    """Members of this model carry their option values only in their names (no features)."""
    return (len(product.variants) > 1 and product.option_names == [SIZE]
            and product.id % 3 == 0
            and all(len(_member_name(product, v.options)) <= 50 for v in product.variants))


def _member_name(product: Product, options: list[tuple[str, str]]) -> str:
    return " ".join([product.name[:50], *(value for _, value in options)])


def _price(gross: Decimal, level: int) -> Decimal:
    return (gross * PRICE_LEVEL_SHARES[level]).quantize(_CENT, rounding=ROUND_HALF_UP)


def _level_prices(gross: Decimal, vat: int) -> list[Decimal | None]:
    """``tc_CenaNetto1, tc_CenaBrutto1, ..., tc_CenaBrutto10`` for a level-1 gross price."""
    prices: list[Decimal | None] = []
    for level in range(1, 11):
        if level in PRICE_LEVEL_SHARES:
            level_gross = _price(gross, level)
            prices += [net_from_gross(level_gross, vat), level_gross]
        else:
            prices += [None, None]
    return prices


def _vat_id(product: Product) -> int:
    if product.vat_rate == 0 and product.id % 2 == 0:
        return VAT_EXEMPT_ID
    return VAT_IDS[product.vat_rate]


@dataclass
class _Writer:
    """Rows to insert, with id counters."""

    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)

    def add(self, table: str, *values: Any) -> None:
        self.rows.setdefault(table, []).append(values)

    def next_id(self, name: str, start: int = 1) -> int:
        self.counters[name] = self.counters.get(name, start - 1) + 1
        return self.counters[name]


def _card(w: _Writer, card_id: int, product: Product, *, symbol: str, name: str,
          blocked: bool, ean: str | None, weight: Decimal | None, gross: Decimal,
          stock: Decimal | None, pole1: str, brand_ids: dict[str, int]) -> None:
    main_code = ean or ""
    if ean and card_id % 4 == 0:
        # the EAN sits among the extra barcodes; the main code is an internal one
        main_code = f"W{card_id:07d}"
        w.add("tw_KodKreskowy", w.next_id("kk"), card_id, ean)
    w.add("tw__Towar", card_id, int(blocked), 1, symbol[:20], name[:50],
          f"{product.name} – {product.attributes.get('Materiał', '').lower()}."[:255],
          product.description_html, _vat_id(product), main_code, product.category_ids[0],
          brand_ids.get(product.brand or ""), int(shop_flag(product)), pole1,
          product.attributes.get("Materiał", ""), 0, weight)
    w.add("tw_Cena", w.next_id("tc"), card_id, *_level_prices(gross, product.vat_rate))
    if stock is not None:
        reserved = Decimal(card_id % 4)
        half = (stock // 2).quantize(Decimal(1))
        w.add("tw_Stan", card_id, 1, half + reserved, reserved)
        w.add("tw_Stan", card_id, 2, stock - half, Decimal(0))
    if card_id % 5 == 0:
        w.add("tw_Stan", card_id, 3, Decimal(2), Decimal(0))


def _images(w: _Writer, card_id: int, images: list[Image], *, main_first: bool) -> None:
    for i, image in enumerate(images):
        data = image_bytes(image)
        w.add("tw_ZdjecieTw", w.next_id("zd"), card_id, data, int(main_first and i == 0),
              crc(data))


def build(catalog: Catalog) -> _Writer:
    """Every row of the database for ``catalog``."""
    w = _Writer()
    for rate, vat_id in VAT_IDS.items():
        w.add("sl_StawkaVAT", vat_id, f"{rate}%", Decimal(rate), str(rate))
    w.add("sl_StawkaVAT", VAT_EXEMPT_ID, "zwolniony", Decimal(0), "zw")
    for mag in WAREHOUSES:
        w.add("sl_Magazyn", *mag)
    used = sorted({p.category_ids[0] for p in catalog.products})
    for cid in used:
        w.add("sl_GrupaTw", cid, catalog.category(cid).name[:50])
    brand_ids: dict[str, int] = {}
    for i, brand in enumerate(catalog.brands, start=1):
        kh_id = 500 + i
        brand_ids[brand] = kh_id
        w.add("kh__Kontrahent", kh_id, f"PROD{i}")
        w.add("adr__Ewid", 700 + i, kh_id, 1, brand[:50], f"{brand} sp. z o.o.")
    names = [*PRICE_LEVEL_NAMES, *[""] * (10 - len(PRICE_LEVEL_NAMES))]
    labels = [FIELD_LABELS.get(i, "") for i in range(1, 9)]
    w.add("tw_Parametr", 1, *names, *labels)
    properties: dict[str, int] = {}
    features: dict[tuple[str, str], int] = {}
    for product in catalog.products:
        if product.is_simple:
            v = product.variants[0]
            _card(w, product.id, product, symbol=v.sku, name=product.name,
                  blocked=not (product.active and v.active), ean=v.ean, weight=v.weight_kg,
                  gross=v.price_gross, stock=v.stock, pole1="", brand_ids=brand_ids)
            _images(w, product.id, product.images, main_first=True)
            continue
        w.add("sl_ModelTw", product.id, product.name[:50])
        by_name = name_only_model(product)
        for v in product.variants:
            _card(w, v.id, product, symbol=v.sku, name=_member_name(product, v.options),
                  blocked=not (product.active and v.active), ean=v.ean, weight=v.weight_kg,
                  gross=v.price_gross, stock=v.stock, pole1=product.sku[:50],
                  brand_ids=brand_ids)
            w.add("sl_ModelTowar", w.next_id("mtw"), product.id, v.id)
            _images(w, v.id, product.images, main_first=True)
            if v.image is not None:
                _images(w, v.id, [v.image], main_first=False)
            if by_name:
                continue
            for option, value in v.options:
                if option not in properties:
                    properties[option] = len(properties) + 1
                    w.add("sl_WlasciwCechTw", properties[option], option)
                if (option, value) not in features:
                    feature_id = features[(option, value)] = len(features) + 1
                    w.add("sl_CechaTw", feature_id, value)
                    w.add("sl_WlasciwoscCecha", feature_id, feature_id, properties[option])
                w.add("tw_CechaTw", w.next_id("cht"), features[(option, value)], v.id)
    label = len(features) + 1
    w.add("sl_CechaTw", label, "Nowość")  # a plain label feature, no property: not an option
    for product in catalog.products[:3]:
        w.add("tw_CechaTw", w.next_id("cht"), label, product.variants[0].id)
    for card_id, kind, symbol, name, shop, deleted in EXTRA_CARDS:
        w.add("tw__Towar", card_id, 0, kind, symbol, name, name, None, VAT_IDS[23], "",
              None, None, shop, "", "", deleted, None)
        w.add("tw_Cena", w.next_id("tc"), card_id, *_level_prices(EXTRA_GROSS, 23))
        w.add("tw_Stan", card_id, 1, Decimal(5), Decimal(0))
    return w


_TOWAR_COLUMNS = ("tw_Id, tw_Zablokowany, tw_Rodzaj, tw_Symbol, tw_Nazwa, tw_Opis, "
                  "tw_Charakter, tw_IdVatSp, tw_PodstKodKresk, tw_IdGrupa, tw_IdProducenta, "
                  "tw_SklepInternet, tw_Pole1, tw_Pole2, tw_Usuniety, tw_Masa")
_CENA_COLUMNS = "tc_Id, tc_IdTowar, " + ", ".join(
    f"tc_CenaNetto{n}, tc_CenaBrutto{n}" for n in range(1, 11))
_COLUMNS = {"tw__Towar": _TOWAR_COLUMNS, "tw_Cena": _CENA_COLUMNS,
            "sl_Magazyn": "mag_Id, mag_Symbol, mag_Nazwa, mag_Glowny"}


def _sql_value(value: Any) -> Any:
    # SQLite has no decimal type: store money as text so that no float ever rounds a grosz
    return str(value) if isinstance(value, Decimal) else value


def write_database(path: str | Path, catalog: Catalog) -> Path:
    """Create (or replace) the SQLite file at ``path`` for ``catalog``."""
    path = Path(path)
    path.unlink(missing_ok=True)
    rows = build(catalog)
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.executescript(SCHEMA)
        # parents before children (foreign keys on): the order the schema creates them
        order = sorted(rows.rows, key=lambda name: SCHEMA.index(f"CREATE TABLE {name} ("))
        for table in order:
            values = rows.rows[table]
            columns = _COLUMNS.get(table)
            marks = ", ".join("?" * len(values[0]))
            target = f"{table} ({columns})" if columns else table
            conn.executemany(f"INSERT INTO {target} VALUES ({marks})",  # noqa: S608 - our names
                             [tuple(_sql_value(v) for v in row) for row in values])
        conn.commit()
    finally:
        conn.close()
    return path


def create(path: str | Path, n_products: int = 60, seed: int = 42) -> Catalog:
    """Generate the catalog and write its database; returns the catalog."""
    catalog = generate_catalog(n_products, seed)
    write_database(path, catalog)
    return catalog


def expected_products(catalog: Catalog, *, price_level: int = 1,
                      warehouses: tuple[int, ...] = SHOP_WAREHOUSES,
                      option_names: tuple[str, ...] = (SIZE,)) -> dict[str, dict[str, Any]]:
    """What a correct tap reads with ``variant_group=model``, keyed by record id.

    Each value: ``name``, ``vat_rate``, ``image_count`` (product photos), and ``variants``
    keyed by variant id with ``sku``, ``ean``, ``options``, ``price_net``, ``price_gross``,
    ``stock`` and ``image_count`` (the variant's own photos). What Subiekt cannot carry and
    so differs from ``catalog.product_records()``: ids of grouped products (``model-<id>``),
    the category tree (groups are flat), untracked stock (0), inactive products (left out),
    SKUs and names beyond 20 and 50 characters (cut), URLs and timestamps (none).
    """
    result: dict[str, dict[str, Any]] = {}
    for product in catalog.products:
        if not (product.active and shop_flag(product)):
            continue
        variants: dict[str, dict[str, Any]] = {}
        for v in product.variants:
            if not v.active:
                continue
            gross = _price(v.price_gross, price_level)
            stock = Decimal(0)
            card = product.id if product.is_simple else v.id
            if v.stock is not None:  # reservations on MAG are added on top: they cancel out
                half = (v.stock // 2).quantize(Decimal(1))
                stock = (half if 1 in warehouses else Decimal(0)) + (
                    v.stock - half if 2 in warehouses else Decimal(0))
            if card % 5 == 0 and 3 in warehouses:
                stock += 2
            options = [{"name": n, "value": val} for n, val in v.options]
            if name_only_model(product):
                options = [{"name": option_names[0] if option_names else "Wariant",
                            "value": " ".join(val for _, val in v.options)}]
            variants[str(card)] = {
                "sku": v.sku[:20], "ean": v.ean, "options": options,
                "price_gross": gross, "price_net": net_from_gross(gross, product.vat_rate),
                "stock": stock, "image_count": 0 if product.is_simple else int(bool(v.image))}
        if not variants:
            continue
        key = str(product.id) if product.is_simple else f"model-{product.id}"
        result[key] = {"name": product.name[:50], "vat_rate": product.vat_rate,
                       "image_count": len(product.images), "variants": variants}
    gross = _price(EXTRA_GROSS, price_level)
    result[str(EXTRA_PUBLISHED)] = {
        "name": "Kubek bez zdjęcia", "vat_rate": 23, "image_count": 0,
        "variants": {str(EXTRA_PUBLISHED): {
            "sku": "PRD-BEZ-FOTO", "ean": None, "options": [], "price_gross": gross,
            "price_net": net_from_gross(gross, 23),
            "stock": Decimal(5) if 1 in warehouses else Decimal(0), "image_count": 0}}}
    return result


def main(argv: list[str] | None = None) -> None:
    """``python -m sandbox.subiektgt --out FILE``: write the test database, print its URL."""
    parser = argparse.ArgumentParser(prog="python -m sandbox.subiektgt",
                                     description="Write a Subiekt GT test database (SQLite).")
    parser.add_argument("--out", required=True, help="the SQLite file to (re)create")
    parser.add_argument("--products", type=int, default=60, help="products in the catalog")
    parser.add_argument("--seed", type=int, default=42, help="catalog seed")
    args = parser.parse_args(argv)
    path = write_database(args.out, generate_catalog(args.products, args.seed))
    print(f"subiektgt database at sqlite:///{path.resolve()}", flush=True)


if __name__ == "__main__":
    main()


class RefusingSqlServer:
    """A socket on 127.0.0.1 that speaks just enough TDS (SQL Server's wire protocol) to
    answer a login with error 18456 "Login failed", carrying ``message`` as the server's text.

    Hostile tests use it for what a real server (or a proxy in front of one) may do: refuse
    the credentials and quote them back. It answers PRELOGIN (encryption not supported)
    and LOGIN7; anything else closes the connection. ``logins`` counts the refused logins.
    """

    def __init__(self, message: str = "Login failed for user 'sklep'.") -> None:
        import socket
        import threading

        self.message = message
        self.logins = 0
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(8)
        self._socket.settimeout(0.2)
        self.port = self._socket.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> RefusingSqlServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._socket.close()

    @staticmethod
    def _packet(kind: int, payload: bytes) -> bytes:
        return struct.pack(">BBHHBB", kind, 0x01, len(payload) + 8, 0, 1, 0) + payload

    @staticmethod
    def _read_packet(conn: Any) -> tuple[int, bytes] | None:
        header = b""
        while len(header) < 8:
            chunk = conn.recv(8 - len(header))
            if not chunk:
                return None
            header += chunk
        kind, _status, length = struct.unpack(">BBH", header[:4])
        body = b""
        while len(body) < length - 8:
            chunk = conn.recv(length - 8 - len(body))
            if not chunk:
                return None
            body += chunk
        return kind, body

    def _prelogin_answer(self) -> bytes:
        version = bytes([15, 0, 0x07, 0xD0, 0, 0])
        options = struct.pack(">BHH", 0x00, 11, 6) + struct.pack(">BHH", 0x01, 17, 1) + b"\xff"
        return self._packet(0x04, options + version + b"\x02")  # 2: encryption not supported

    def _login_refusal(self) -> bytes:
        def us_varchar(text: str) -> bytes:
            return struct.pack("<H", len(text)) + text.encode("utf-16-le")

        def b_varchar(text: str) -> bytes:
            return struct.pack("<B", len(text)) + text.encode("utf-16-le")

        body = (struct.pack("<iBB", 18456, 1, 14) + us_varchar(self.message)
                + b_varchar("INSERTGT") + b_varchar("") + struct.pack("<i", 1))
        error = b"\xaa" + struct.pack("<H", len(body)) + body
        done = b"\xfd" + struct.pack("<HHQ", 0x0002, 0, 0)
        return self._packet(0x04, error + done)

    def _serve(self) -> None:

        while not self._stop.is_set():
            try:
                conn, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    while (packet := self._read_packet(conn)) is not None:
                        kind, _body = packet
                        if kind == 0x12:
                            conn.sendall(self._prelogin_answer())
                        elif kind == 0x10:
                            self.logins += 1
                            conn.sendall(self._login_refusal())
                        else:
                            break
                except OSError:
                    continue


class SubiektDatabase(Emulator):
    """The test database in the shape the benchmarks expect of an emulator.

    Subiekt GT is a database, not an HTTP API: the file is written into a private folder,
    ``database_url`` is what the tap connects to, ``reload()`` rewrites it after the catalog
    changed, and ``stop()`` removes it. The HTTP side serves nothing (no platform requests
    to count); the tap itself logs how many SQL statements it sent.
    """

    def __init__(self, catalog: Catalog, *, switches: Switches | None = None) -> None:
        super().__init__(switches=switches)
        self.catalog = catalog
        self._folder = Path(tempfile.mkdtemp(prefix="subiektgt-"))
        self.path = self._folder / "subiekt.sqlite"
        write_database(self.path, catalog)

    @property
    def database_url(self) -> str:
        """``sqlite:///...`` of the file."""
        return f"sqlite:///{self.path}"

    def reload(self) -> None:
        """Write the (mutated) catalog again."""
        write_database(self.path, self.catalog)

    def stop(self) -> None:
        """Stop the (idle) HTTP side and remove the file."""
        super().stop()
        shutil.rmtree(self._folder, ignore_errors=True)
