"""Thin sinks, one per stream: validate against the contract, batch, hand over to the writer;
and the stock sink's own planning of stock levels.

Record validation is ours, not the SDK's: every record is checked with
``commerce_schema.validate_record`` (the one contract every tap is tested against), and a
record that breaks it is reported with its id and field and skipped instead of stopping the
run, which the SDK's JSON-schema validation would do (``fail_on_record_validation_exception``)
or, when switched off, let through silently. When every problem of a ``products`` record is
inside some of its variants (a size whose net and gross disagree), only those variants are
skipped, each reported by product and variant id; the others land (one bad size must not
take the other nine off the marketplace).

Every valid ``stock`` record, and every variant of a ``products`` record, is also noted as
"still in the shop" for the end-of-run archive (:mod:`target_gateway.archive`).

Only singer-sdk's public API is used. The SDK offers no public hook to switch off two steps
it takes on every record before :meth:`~singer_sdk.sinks.Sink.preprocess_record`, so each is
avoided through public means instead, and pinned by tests in ``tests/test_sdk_contract.py``:

- the key-property check (a record without its key raises ``MissingKeyPropertiesError`` and
  stops the run): the SDK is given no key properties (the contract check covers the keys, and
  names the record);
- the parsing of date-time strings into ``datetime`` objects (a malformed date stops the run
  with ``datetime_error_treatment`` ERROR): the sink's schema is given without ``format``
  for date-time fields. The Gateway wants JSON, and nothing here needs the dates.
"""

from __future__ import annotations

import copy
import re
import typing as t
from collections.abc import Sequence

from commerce_schema.validation import ContractError, validate_record
from singer_sdk.sinks import BatchSink, RecordSink

from target_gateway.executor import StockUpdate
from target_gateway.gateway import with_stock_level
from target_gateway.planner import VARIANT_COUNT_KEY, stock_level

if t.TYPE_CHECKING:
    from target_gateway.target import TargetGateway
    from target_gateway.writer import GatewayWriter

_DATELIKE_FORMATS = {"date-time", "date", "time"}
_VARIANT_FIELD = re.compile(r"^variants\[(\d+)\]")


def without_date_formats(schema: dict[str, t.Any]) -> dict[str, t.Any]:
    """A copy of a stream schema whose date/time properties are plain strings (see above)."""
    plain = copy.deepcopy(schema)
    for prop in (plain.get("properties") or {}).values():
        if isinstance(prop, dict) and prop.get("format") in _DATELIKE_FORMATS:
            del prop["format"]
        for option in (prop.get("anyOf") or []) if isinstance(prop, dict) else []:
            if isinstance(option, dict) and option.get("format") in _DATELIKE_FORMATS:
                del option["format"]
    return plain


class ContractSink(BatchSink):
    """A stream of the record contract: validated records collect into bounded batches."""

    def __init__(self, target: TargetGateway, stream_name: str, schema: dict,
                 key_properties: Sequence[str] | None) -> None:
        super().__init__(target, stream_name, without_date_formats(schema), key_properties=[])
        self.gateway_target = target
        self.contract_keys = list(key_properties or [])
        self._errors: list[ContractError] = []

    @property
    def writer(self) -> GatewayWriter:
        """The run's writer (shared by every sink)."""
        writer = self.gateway_target.writer
        assert writer is not None, "the target stopped before reading input"
        return writer

    @property
    def max_size(self) -> int:
        """Records per batch: ``batch_size_rows`` if set, else ``batch_size`` (default 50)."""
        return self.batch_size_rows or self.gateway_target.settings.batch_size

    def get_validator(self) -> None:
        """No SDK validation: :meth:`preprocess_record` applies the contract instead."""
        return

    def preprocess_record(self, record: dict, context: dict) -> dict:
        """Check the record against the contract (the outcome is used by process_record)."""
        self._errors = validate_record(self.stream_name, record)
        return record

    def process_record(self, record: dict, context: dict) -> None:
        """Count it; skip it with a report line when invalid, else add it to the batch."""
        self.writer.report.record_read()
        if self._errors:
            self.writer.reject(self.stream_name, record, self._errors)
            return
        self.writer.prefetch()  # read the shop's Gateway state while the input keeps coming
        self.accept(record, context)

    def accept(self, record: dict, context: dict) -> None:
        """A valid record: batched, and counted as not yet written (STATE waits for it)."""
        super().process_record(record, context)
        self.gateway_target.unwritten += 1

    def process_batch(self, context: dict) -> None:
        """Write the batch; when it returns every write of it has finished."""
        records = context.get("records", [])
        self.write(records)
        self.gateway_target.unwritten -= len(records)

    def write(self, records: list[dict]) -> None:
        """Write valid records (the subclass says how)."""


class CategoriesSink(ContractSink):
    """``categories``: collected for the mapping check and template; nothing is written."""

    def accept(self, record: dict, context: dict) -> None:
        """Remember the category (nothing waits to be written)."""
        self.writer.add_category(record)


def without_bad_variants(record: dict[str, t.Any], errors: Sequence[ContractError]
                         ) -> tuple[dict[str, t.Any], dict[int, list[ContractError]]] | None:
    """(the record without the variants the errors are about, {index: their errors}) when
    every error is inside a variant and at least one variant is clean; else None (the
    whole record is rejected). The copy remembers the original variant count
    (:data:`~target_gateway.planner.VARIANT_COUNT_KEY`)."""
    variants = record.get("variants")
    if not isinstance(variants, list):
        return None
    bad: dict[int, list[ContractError]] = {}
    for error in errors:
        match = _VARIANT_FIELD.match(error.field or "")
        if match is None:
            return None
        bad.setdefault(int(match.group(1)), []).append(error)
    if not bad or len(bad) >= len(variants):
        return None
    kept = [v for i, v in enumerate(variants) if i not in bad]
    return {**record, "variants": kept, VARIANT_COUNT_KEY: len(variants)}, bad


def _variant_label(record: dict[str, t.Any], index: int) -> str:
    variants = record.get("variants")
    variant = variants[index] if isinstance(variants, list) and index < len(variants) else None
    vid = variant.get("id") if isinstance(variant, dict) else None
    return f"{record.get('id')}/{vid}" if vid is not None else \
        f"{record.get('id')}/variants[{index}]"


class ProductsSink(ContractSink):
    """``products``: each batch is planned and written by the writer before it returns."""

    def process_record(self, record: dict, context: dict) -> None:
        """As every contract stream, except that variants breaking the contract are skipped
        alone when the rest of the record is sound (see the module docstring)."""
        writer = self.writer
        variants = record.get("variants") if isinstance(record, dict) else None
        for variant in variants if isinstance(variants, list) else []:
            if isinstance(variant, dict) and variant.get("id") is not None:
                writer.archiver.saw_variant(record.get("id"), variant["id"])
        trimmed = without_bad_variants(record, self._errors) if self._errors else None
        if trimmed is None:
            super().process_record(record, context)
            return
        kept, bad = trimmed
        writer.report.record_read()
        for index, errors in sorted(bad.items()):
            first = errors[0]
            more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
            writer.report.skip(f"products:{_variant_label(record, index)}",
                               f"variant skipped, the product's other variants land: breaks "
                               f"the record contract: {first.field}: {first.message}{more}",
                               invalid=True)
            for error in errors:
                writer.logger.warning("skipped invalid variant: %s", error)
        writer.prefetch()
        self.accept(kept, context)

    def write(self, records: list[dict]) -> None:
        """Plan and write the batch."""
        self.writer.write_products(records)


class StockSink(ContractSink):
    """``stock``: stock levels of variants the Gateway already has.

    A stock record names a source variant (product_id, variant_id), not a platform; when
    several platforms have those ids, the platforms whose products this run has seen are
    preferred, and a variant still ambiguous is skipped, never guessed. The stock level is
    compared with the Gateway's own; only a different one is sent (the product's whole body
    with the new ``stock_level``, as the Gateway documents no partial update). A valid stock
    record also tells the end-of-run archive that its variant is still in the shop.
    """

    def accept(self, record: dict, context: dict) -> None:
        """Note the variant as live, then batch the record as every contract stream does."""
        self.writer.archiver.saw_variant(record.get("product_id"), record.get("variant_id"))
        super().accept(record, context)

    def write(self, records: list[dict]) -> None:
        """Write the batch after any pending products, so stock applies to current products."""
        target = self.gateway_target
        if target.sink_exists("products"):
            target.drain_one(target.get_sink("products"))
        writer = self.writer
        if writer.settings.template_only:
            return
        writer.start()
        self.writer.executor.update_stock(self._plan(records))
        writer.report.progress(force=True)

    def _plan(self, records: list[dict]) -> list[StockUpdate]:
        writer, settings, report = self.writer, self.writer.settings, self.writer.report
        latest: dict[tuple[str, str], dict[str, t.Any]] = {}
        for record in records:  # the last record of a variant wins
            latest[(str(record["product_id"]), str(record["variant_id"]))] = record
        updates = []
        for (pid, vid), record in latest.items():
            rid = pid if pid == vid else f"{pid}/{vid}"
            keys = writer.index.keys_for_variant(pid, vid)
            if len(keys) > 1:
                keys = [k for k in keys if k[0] in writer.planner.platforms_seen] or keys
            if len(keys) != 1:
                report.skip_stock(rid, "stock for a variant the Gateway does not have (import "
                                       "its product first)" if not keys else
                                  "stock for a variant that several platforms share")
                continue
            known = writer.index.get(keys[0])
            assert known is not None
            level = stock_level(record.get("quantity"), settings.untracked_stock_level)
            if level == known.stock_level:
                report.count_stock("unchanged")
                continue
            if settings.dry_run:
                writer.logger.info("dry-run: would set stock of %s to %s", rid, level)
                report.count_stock("updated")
                continue
            if known.guid is None:
                report.fail(rid, "stock update failed: the Gateway gave no guid for it")
                continue
            updates.append(StockUpdate(keys[0], rid, known.guid,
                                       with_stock_level(known.item(), level), level))
        return updates


class IgnoredSink(RecordSink):
    """A stream outside the contract (e.g. Meltano's test stream): one warning, then dropped."""

    def setup(self) -> None:
        """Warn once per stream."""
        self.logger.warning("stream %r is not part of the record contract (categories, "
                            "products, stock); its records are ignored", self.stream_name)

    def get_validator(self) -> None:
        """Nothing to validate against."""
        return

    def process_record(self, record: dict, context: dict) -> None:
        """Drop it."""
