"""The contract stream base: schema and keys from the contract, rows mapped one by one, a row
that cannot be mapped skipped by name and counted, never a crash.

One broken product (a deleted tax rate, a price of "abc") must not stop a shop's catalog:
the row is left out with ONE ERROR line naming the stream's noun, the row's id and why, the
run goes on, and the count is reported when the run ends (see ``ContractTap.sync_finished``).
Text that cannot be sent (a lone surrogate, NUL, control characters) in one record is
repaired there, with one WARNING line naming the record and the fields, so that one bad
character never stops the shop nor the target.
The same mixin serves REST streams, SQL streams (``singer_sdk.sql.SQLStream``) and plain
streams (a feed), because it only uses what every ``Stream`` has: ``post_process``.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import TYPE_CHECKING, Any

from commerce_schema.contract import STREAM_KEYS, STREAM_SCHEMAS
from singer_sdk.singerlib import CatalogEntry, MetadataMapping, Schema

from tapkit.logs import quiet_stream
from tapkit.readers import repair_text

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

#: the word for one row of each contract stream, in "Skipped product 17: ..."
NOUNS = {"categories": "category", "products": "product", "stock": "stock row"}


class MappingError(ValueError):
    """A platform row that cannot become a contract record; the message says which and why."""


def contract_catalog_entry(name: str) -> dict[str, Any]:
    """A Singer catalog entry for a contract stream (what ``SQLStream`` is built from)."""
    keys, replication_key = STREAM_KEYS[name]
    schema = copy.deepcopy(STREAM_SCHEMAS[name])
    metadata = MetadataMapping.get_standard_metadata(
        schema=schema, schema_name=name, key_properties=list(keys),
        replication_method="INCREMENTAL" if replication_key else "FULL_TABLE",
        valid_replication_keys=[replication_key] if replication_key else None,
        selected_by_default=True)
    return CatalogEntry(
        tap_stream_id=name, stream=name, schema=Schema.from_dict(schema), metadata=metadata,
        key_properties=list(keys), replication_key=replication_key,
        replication_method="INCREMENTAL" if replication_key else "FULL_TABLE",
    ).to_dict()


#: how far before the bookmark an incremental run starts reading again: the autumn DST hour
#: (naive shop-local times repeat), edits saved in the same second as the last run's newest
#: record, a shop clock running a little behind. Re-read records are unchanged for the target.
LOOKBACK = dt.timedelta(hours=1)


class ContractStream:
    """Mixin, first in the bases: ``class Products(ContractStream, RESTStream)``.

    Subclasses set ``name`` to a contract stream and implement :meth:`map_record`.
    """

    name: str
    #: "product" in "Skipped product 17: ..." (default from :data:`NOUNS`)
    record_noun: str | None = None
    #: see :data:`LOOKBACK`; applied by :meth:`start_with_lookback`
    lookback: dt.timedelta = LOOKBACK

    def __init__(self, tap: Any, *args: Any, **kwargs: Any) -> None:
        from singer_sdk.sql import SQLStream  # sqlalchemy is imported only when a stream is made

        if isinstance(self, SQLStream):
            if not args:
                kwargs.setdefault("catalog_entry", contract_catalog_entry(self.name))
        else:
            kwargs.setdefault("schema", copy.deepcopy(STREAM_SCHEMAS[self.name]))
        #: the tap this stream belongs to (singer-sdk keeps it only in the private ``_tap``)
        self.owning_tap: Any = tap
        super().__init__(tap, *args, **kwargs)  # type: ignore[call-arg]
        keys, replication_key = STREAM_KEYS[self.name]
        stream: Any = self  # the SDK's setters, on whichever Stream this is mixed into
        stream.primary_keys = list(keys)
        stream.replication_key = replication_key
        self.emitted = 0
        self.skipped = 0
        self.repaired = 0
        quiet_stream(stream.logger)

    def start_with_lookback(self, context: Context | None) -> dt.datetime | None:
        """Where an incremental run starts: the bookmark minus :attr:`lookback`, else the
        ``start_date`` setting as given, else None (everything)."""
        stream: Any = self
        start = stream.get_starting_timestamp(context)
        if start is None:
            return None
        if stream.get_context_state(context).get("replication_key_value"):
            start -= self.lookback
        return start

    # -- hooks -------------------------------------------------------------------------------
    def map_record(self, row: dict[str, Any], context: Context | None) -> dict[str, Any] | None:
        """The platform row as a contract record; None leaves it out (not an error).

        Raise :class:`MappingError` for a row that cannot be mapped. Default: the row is
        already a record.
        """
        return row

    def source_id(self, row: dict[str, Any]) -> str:
        """The row's id as named in the skip line (default: the first key property)."""
        keys = getattr(self, "primary_keys", None)
        key = keys[0] if keys else "id"
        value = row.get(key) if isinstance(row, dict) else None
        return "?" if value in (None, "") else str(value)

    # -- the SDK's per-record hook -----------------------------------------------------------
    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        """:meth:`map_record`, with a row that cannot be mapped skipped and counted, and
        text that cannot travel repaired (:func:`tapkit.readers.repair_text`)."""
        try:
            record = self.map_record(row, context)
        except MappingError as exc:
            self.skip(self.source_id(row), str(exc))
            return None
        if record is None:
            return None
        record, repaired = repair_text(record)
        if repaired:
            self.repaired += 1
            noun = self.record_noun or NOUNS.get(self.name, self.name)
            self.logger.warning(  # type: ignore[attr-defined]
                "Repaired the text of %s %s: %s held characters that cannot be sent (a lone "
                "surrogate became U+FFFD; NUL and control characters were removed)", noun,
                self.source_id(row), ", ".join(repaired[:10]))
        self.emitted += 1
        return record

    def skip(self, source_id: str, reason: str) -> None:
        """Leave a row out: one ERROR line naming it, and counted."""
        self.skipped += 1
        noun = self.record_noun or NOUNS.get(self.name, self.name)
        self.logger.error("Skipped %s %s: %s", noun, source_id, reason)  # type: ignore[attr-defined]

    # -- the end of the run --------------------------------------------------------------------
    def log_sync_costs(self) -> None:
        """The SDK calls this once per stream after every stream has synced (``Tap.sync_all``
        is final and has no other end-of-run hook): the last stream tells the tap, whose
        ``sync_finished`` reports the run. Pinned by ``tapkit/tests/test_tap.py``."""
        super().log_sync_costs()  # type: ignore[misc]
        finished = getattr(self.owning_tap, "stream_costs_logged", None)
        if finished is not None:
            finished(self)


class FullTableContractStream(ContractStream):
    """:class:`ContractStream` for a source read whole every run (a feed, an export file):
    it has no change times, so the stream has no replication key and the SDK keeps no
    bookmark for it (``FULL_TABLE``); every run is a full snapshot."""

    def __init__(self, tap: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(tap, *args, **kwargs)
        stream: Any = self  # the SDK's setter, on whichever Stream this is mixed into
        stream.replication_key = None
