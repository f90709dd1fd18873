"""Reads a Subiekt GT database group by group: the one place that sends the queries.

Why it is shaped like this: a catalog of 10^5 product cards with photos in BLOBs must not
sit in memory, and a real SQL Server connection (pymssql) cannot run a second query while
the first one's rows are still coming. So one connection streams the cards, in an order
that keeps each group's cards adjacent; a second connection reads, per batch of at most
:data:`~tap_subiektgt.queries.MAX_IN_LIST` cards, their extra barcodes, features and photo
list (three queries), then the photo bytes a few products at a time
(:data:`IMAGES_PER_QUERY` photos at most), and the records leave before the next photos are
read. Cost per run: 5 small queries (schema check, level and field names, warehouses,
manufacturers, groups), 1 card query, and for every 500 cards 3 queries plus about one per
:data:`IMAGES_PER_QUERY` photos; the stock stream 1 query plus 1 per 500 cards without an EAN.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from tap_subiektgt import mapping, queries
from tap_subiektgt.mapping import Group, MappingError, RunContext

logger = logging.getLogger("tap_subiektgt")

IMAGES_PER_QUERY = 16

Connect = Callable[[], AbstractContextManager[sa.Connection]]


class GroupingError(RuntimeError):
    """The card query came back in an order that would split a group (never silently)."""


@dataclass
class Settings:
    """The reading settings, already validated."""

    price_level: int = 1
    warehouse_ids: tuple[int, ...] = ()
    only_shop_products: bool = True
    grouping: queries.Grouping = field(default_factory=queries.Grouping)
    option_names: tuple[str, ...] = ()
    include_images: bool = True
    #: optional tables that are missing (older Subiekt versions)
    missing_tables: tuple[str, ...] = ()


@dataclass
class ReadResult:
    """A record ready to emit, or the cards that were left out and why."""

    record: dict[str, Any] | None
    skipped: list[tuple[str, str]]
    product_id: str


class SubiektReader:
    """The queries of one run, against connections made by ``connect``."""

    def __init__(self, connect: Connect, settings: Settings) -> None:
        self.connect = connect
        self.settings = settings
        self.statements = 0
        self._context: RunContext | None = None

    # -- dictionaries ------------------------------------------------------------------------
    def _run(self, conn: sa.Connection, statement: sa.TextClause,
             **params: Any) -> sa.CursorResult[Any]:
        self.statements += 1
        return conn.execute(statement, params)

    def context(self) -> RunContext:
        """Price level and field names, manufacturers: read once, logged once."""
        if self._context is not None:
            return self._context
        s = self.settings
        with self.connect() as conn:
            first = self._run(conn, queries.PRICE_LEVEL_NAMES).mappings().first()
            params: dict[str, Any] = dict(first) if first is not None else {}
            level_name = mapping.clean(params.get(f"level{s.price_level}"))
            if level_name:
                logger.info("Prices from level %d (%s), net and gross as stored",
                            s.price_level, level_name)
            else:
                logger.warning("Price level %d has no name in Subiekt (tw_Parametr): is it "
                               "in use? Cards without a price there are left out",
                               s.price_level)
            labels = {n: label for n in range(1, 9)
                      if (label := mapping.clean(params.get(f"field{n}")))}
            warehouses = {int(r["warehouse_id"]): f"{r['symbol']} {r['name']}"
                          for r in self._run(conn, queries.WAREHOUSES).mappings()}
            unknown = [w for w in s.warehouse_ids if w not in warehouses]
            if unknown:
                raise ValueError(
                    f"warehouse_ids {unknown} are not warehouses of this company; it has "
                    + ", ".join(f"{k} ({v})" for k, v in sorted(warehouses.items())))
            chosen = s.warehouse_ids or tuple(sorted(warehouses))
            logger.info("Stock summed over %s", ", ".join(
                f"{w} ({warehouses[w]})" for w in chosen))
            makers: dict[int, str] = {}
            if not {"kh__Kontrahent", "adr__Ewid"} & set(s.missing_tables):
                for row in self._run(conn, queries.MAKERS).mappings():
                    name = mapping.clean(row["name"]) or mapping.clean(row["symbol"])
                    if name:
                        makers.setdefault(int(row["maker_id"]), name)
        self._context = RunContext(
            price_level=s.price_level, grouping=s.grouping.kind, group_field=s.grouping.field,
            option_names=s.option_names, field_labels=labels, makers=makers,
            include_images=s.include_images)
        return self._context

    def categories(self) -> Iterator[dict[str, Any]]:
        """``sl_GrupaTw``, flat."""
        with self.connect() as conn:
            for row in self._run(conn, queries.CATEGORIES).mappings():
                yield mapping.category_record(dict(row))

    # -- products ----------------------------------------------------------------------------
    def _card_rows(self, conn: sa.Connection, statement: sa.TextClause
                   ) -> Iterator[dict[str, Any]]:
        params: dict[str, Any] = {}
        if self.settings.warehouse_ids:
            params["warehouses"] = list(self.settings.warehouse_ids)
        for row in self._run(conn, statement, **params).mappings():
            yield dict(row)

    def _groups(self, rows: Iterator[dict[str, Any]]) -> Iterator[Group]:
        """Adjacent cards with the same key, as groups; standalone cards alone. A key that
        comes back after another one stops the run: the order was not what it must be."""
        seen: set[Any] = set()
        current: Group | None = None
        for row in rows:
            key = row.get("group_key")
            if isinstance(key, str):
                key = key.strip() or None
            if key is not None and current is not None and current.key == key:
                current.cards.append(row)
                continue
            if current is not None:
                yield current
            if key is not None:
                if key in seen:
                    raise GroupingError(
                        f"the database returned the cards of group {key!r} apart from each "
                        "other; the grouping would split one product in two")
                seen.add(key)
            current = Group(key=key, name=mapping.clean(row.get("group_name")), cards=[row])
        if current is not None:
            yield current

    @staticmethod
    def _batches(groups: Iterator[Group]) -> Iterator[list[Group]]:
        batch: list[Group] = []
        size = 0
        for group in groups:
            if batch and size + len(group.cards) > queries.MAX_IN_LIST:
                yield batch
                batch, size = [], 0
            batch.append(group)
            size += len(group.cards)
        if batch:
            yield batch

    def _side_tables(self, conn: sa.Connection, batch: Sequence[Group]) -> None:
        """Barcodes, features and the photo list of a batch, into its groups (3 queries;
        a group larger than the IN-list limit is read in slices)."""
        by_card = {int(c["card_id"]): g for g in batch for c in g.cards}
        ids = list(by_card)
        plain = bool({"sl_WlasciwCechTw", "sl_WlasciwoscCecha"}
                     & set(self.settings.missing_tables))
        for start in range(0, len(ids), queries.MAX_IN_LIST):
            chunk = ids[start:start + queries.MAX_IN_LIST]
            for row in self._run(conn, queries.BARCODES, cards=chunk).mappings():
                code = mapping.clean(row["code"])
                if code:
                    by_card[int(row["card_id"])].barcodes.setdefault(
                        int(row["card_id"]), []).append(code)
            features = queries.FEATURES_PLAIN if plain else queries.FEATURES
            for row in self._run(conn, features, cards=chunk).mappings():
                by_card[int(row["card_id"])].features.setdefault(int(row["card_id"]), []).append(
                    (mapping.clean(row["feature"]) or "", mapping.clean(row["property"])))
            if self.settings.include_images:
                for row in self._run(conn, queries.IMAGES, cards=chunk).mappings():
                    crc = row["crc"]
                    by_card[int(row["card_id"])].images.setdefault(int(row["card_id"]), []).append(
                        (int(row["image_id"]), None if crc is None else int(crc)))

    def _image_uris(self, conn: sa.Connection, image_ids: list[int],
                    on_bad: Callable[[int, str], None]) -> dict[int, str]:
        uris: dict[int, str] = {}
        for start in range(0, len(image_ids), IMAGES_PER_QUERY):
            chunk = image_ids[start:start + IMAGES_PER_QUERY]
            for row in self._run(conn, queries.IMAGE_BYTES, images=chunk).mappings():
                data = row["data"]
                image_id = int(row["image_id"])
                if not data:
                    on_bad(image_id, "is empty")
                    continue
                try:
                    uris[image_id] = mapping.data_uri(bytes(data))
                except MappingError as exc:
                    on_bad(image_id, str(exc))
        return uris

    def products(self) -> Iterator[ReadResult]:
        """Every product, mapped; photos read a few products at a time."""
        ctx = self.context()
        s = self.settings
        statement = queries.cards(price_level=s.price_level, grouping=s.grouping,
                                  only_shop_products=s.only_shop_products,
                                  warehouses=bool(s.warehouse_ids))

        def bad_image(image_id: int, reason: str) -> None:
            logger.warning("Photo %d (tw_ZdjecieTw) left out: %s", image_id, reason)

        with self.connect() as cards_conn, self.connect() as side_conn:
            for batch in self._batches(self._groups(self._card_rows(cards_conn, statement))):
                self._side_tables(side_conn, batch)
                pending: list[Group] = []
                wanted: list[int] = []
                for group in batch:
                    pending.append(group)
                    if s.include_images:
                        wanted += mapping.wanted_images(group)
                    if len(wanted) >= IMAGES_PER_QUERY or group is batch[-1]:
                        uris = self._image_uris(side_conn, wanted, bad_image) if wanted else {}
                        for done in pending:
                            yield self._result(done, ctx, uris)
                        pending, wanted = [], []

    @staticmethod
    def _result(group: Group, ctx: RunContext, uris: dict[int, str]) -> ReadResult:
        pid = mapping.product_id(ctx.grouping, ctx.group_field, group.key,
                                 group.cards[0]["card_id"])
        record, skipped = mapping.product_record(group, ctx, uris)
        return ReadResult(record, skipped, pid)

    # -- stock -------------------------------------------------------------------------------
    def stock(self, observed_at: str) -> Iterator[dict[str, Any]]:
        """One record per sellable card: one card query, plus the extra barcodes of the
        cards whose main code is not an EAN (one query per 500 of those)."""
        s = self.settings
        statement = queries.stock(grouping=s.grouping, only_shop_products=s.only_shop_products,
                                  warehouses=bool(s.warehouse_ids))
        with self.connect() as cards_conn, self.connect() as side_conn:
            pending: list[dict[str, Any]] = []
            for row in self._card_rows(cards_conn, statement):
                pending.append(row)
                if len(pending) >= queries.MAX_IN_LIST:
                    yield from self._stock_batch(side_conn, pending, observed_at)
                    pending = []
            if pending:
                yield from self._stock_batch(side_conn, pending, observed_at)

    def _stock_batch(self, conn: sa.Connection, rows: list[dict[str, Any]], observed_at: str
                     ) -> Iterator[dict[str, Any]]:
        s = self.settings
        no_ean = [int(r["card_id"]) for r in rows if not mapping.valid_gtin(
            mapping.clean(r.get("main_code")))]
        codes: dict[int, list[str]] = {}
        if no_ean:
            for found in self._run(conn, queries.BARCODES, cards=no_ean).mappings():
                if code := mapping.clean(found["code"]):
                    codes.setdefault(int(found["card_id"]), []).append(code)
        for row in rows:
            key = row.get("group_key")
            row["group_key"] = key.strip() or None if isinstance(key, str) else key
            yield mapping.stock_record(row, s.grouping.kind, s.grouping.field, observed_at,
                                       codes.get(int(row["card_id"]), []))
