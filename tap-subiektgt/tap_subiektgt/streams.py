"""The three contract streams, read from the Subiekt GT database: ``categories``,
``products``, ``stock``.

They are singer-sdk ``SQLStream`` s sharing the tap's one connector, but they do not mirror a
table: each runs the curated queries of ``queries.py`` through ``reader.py`` (the SDK's
own ``get_records`` would ``SELECT *`` one reflected table). Subiekt keeps no modification
time on product cards, so every stream is a full sweep (FULL_TABLE): the target's content
hashes make an unchanged product cost nothing downstream.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from commerce_schema.contract import STREAM_KEYS, STREAM_SCHEMAS
from singer_sdk.exceptions import FatalAPIError
from singer_sdk.singerlib import CatalogEntry, MetadataMapping, Schema
from singer_sdk.sql import SQLStream
from tapkit.streams import ContractStream

from tap_subiektgt.connection import SubiektConnectionError, SubiektConnector, explain
from tap_subiektgt.reader import GroupingError

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

    from tap_subiektgt.tap import TapSubiektGT


def full_table_catalog_entry(name: str) -> dict[str, Any]:
    """The contract stream's catalog entry as a full sweep (no replication key): Subiekt
    has no modification time to resume from."""
    keys, _ = STREAM_KEYS[name]
    schema = copy.deepcopy(STREAM_SCHEMAS[name])
    metadata = MetadataMapping.get_standard_metadata(
        schema=schema, schema_name=name, key_properties=list(keys),
        replication_method="FULL_TABLE", selected_by_default=True)
    return CatalogEntry(
        tap_stream_id=name, stream=name, schema=Schema.from_dict(schema), metadata=metadata,
        key_properties=list(keys), replication_method="FULL_TABLE").to_dict()


class SubiektStream(ContractStream, SQLStream):
    """A contract stream read through the tap's reader; database failures explained."""

    connector_class = SubiektConnector

    def __init__(self, tap: TapSubiektGT) -> None:
        super().__init__(tap, catalog_entry=full_table_catalog_entry(self.name),
                         connector=tap.connector)
        self.replication_key = None

    @property
    def subiekt(self) -> TapSubiektGT:
        """The tap (typed)."""
        return self.owning_tap

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """The stream's rows; a database that fails says what to check, once."""
        try:
            yield from self.rows()
        except sa.exc.DBAPIError as exc:
            raise FatalAPIError(explain(exc, self.subiekt.url)) from None
        except (SubiektConnectionError, GroupingError) as exc:
            raise FatalAPIError(str(exc)) from None

    def rows(self) -> Iterator[dict[str, Any]]:
        """The stream's rows (each goes through :meth:`map_record`)."""
        raise NotImplementedError


class CategoriesStream(SubiektStream):
    """Product groups (``sl_GrupaTw``): flat, so each path is its own name."""

    name = "categories"

    def rows(self) -> Iterator[dict[str, Any]]:
        """Every group; the reader's first use checks the database is Subiekt GT."""
        yield from self.subiekt.reader.categories()


class ProductsStream(SubiektStream):
    """Products: a model with its member cards as variants, or a standalone card."""

    name = "products"

    def __init__(self, tap: TapSubiektGT) -> None:
        super().__init__(tap)
        #: cards left out of products that were emitted with their other cards
        self.cards_skipped = 0

    def rows(self) -> Iterator[dict[str, Any]]:
        """One row per product; cards left out (no price at the level, ...) are named."""
        for result in self.subiekt.reader.products():
            for card, reason in result.skipped:
                if result.record is not None:
                    self.cards_skipped += 1
                    self.logger.error("Skipped card %s of product %s: %s", card,
                                      result.product_id, reason)
            if result.record is None:
                reasons = "; ".join(f"card {c} {r}" for c, r in result.skipped)
                self.skip(result.product_id, reasons or "no sellable card")
                continue
            yield result.record

    def source_id(self, row: dict[str, Any]) -> str:
        """The product's id."""
        return str(row.get("id", "?"))


class StockStream(SubiektStream):
    """Stock to sell per card: on hand minus reserved over the chosen warehouses."""

    name = "stock"

    def rows(self) -> Iterator[dict[str, Any]]:
        """One grouped query: no prices, photos or features read."""
        observed_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
        yield from self.subiekt.reader.stock(observed_at)
