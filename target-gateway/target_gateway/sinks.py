"""Thin sinks, one per stream: validate against the contract, batch, hand over to the writer.

Record validation is ours, not the SDK's: every record is checked with
``commerce_schema.validate_record`` (the one contract every tap is tested against), and a
record that breaks it is reported with its id and field and skipped instead of stopping the
run, which the SDK's JSON-schema validation would do (``fail_on_record_validation_exception``)
or, when switched off, let through silently. For the same reason the SDK's key-property check
is skipped for records the contract already rejected, and date-time strings are not turned
into ``datetime`` objects: the Gateway wants JSON, and nothing here needs the dates.
"""

from __future__ import annotations

import typing as t
from collections.abc import Sequence

from commerce_schema.validation import ContractError, validate_record
from singer_sdk.sinks import BatchSink, RecordSink

if t.TYPE_CHECKING:
    from target_gateway.target import TargetGateway
    from target_gateway.writer import GatewayWriter


class ContractSink(BatchSink):
    """A stream of the record contract: validated records collect into bounded batches."""

    def __init__(self, target: TargetGateway, stream_name: str, schema: dict,
                 key_properties: Sequence[str] | None) -> None:
        super().__init__(target, stream_name, schema, key_properties)
        self.gateway_target = target
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
        """No SDK validation: :meth:`_validate_and_parse` applies the contract instead."""
        return

    def _validate_and_parse(self, record: dict) -> dict:
        self._errors = validate_record(self.stream_name, record)
        return record

    def _singer_validate_message(self, record: dict) -> None:
        if not self._errors:  # a missing key is already one of the contract errors
            super()._singer_validate_message(record)

    def process_record(self, record: dict, context: dict) -> None:
        """Count it; skip it with a report line when invalid, else add it to the batch."""
        self.writer.report.record_read()
        if self._errors:
            self.writer.reject(self.stream_name, record, self._errors)
            return
        self.writer.prefetch()  # read the shop's Gateway state while the input keeps coming
        self.accept(record, context)

    def accept(self, record: dict, context: dict) -> None:
        """A valid record: batched by default."""
        super().process_record(record, context)

    def process_batch(self, context: dict) -> None:
        """Write the batch (the subclass says how)."""


class CategoriesSink(ContractSink):
    """``categories``: collected for the mapping check and template; nothing is written."""

    def accept(self, record: dict, context: dict) -> None:
        """Remember the category."""
        self.writer.add_category(record)


class ProductsSink(ContractSink):
    """``products``: each batch is planned and written by the writer before it returns."""

    def process_batch(self, context: dict) -> None:
        """Write the batch; returns only when every write of it has finished."""
        self.writer.write_products(context.get("records", []))


class StockSink(ContractSink):
    """``stock``: stock levels of variants the Gateway already has."""

    def process_batch(self, context: dict) -> None:
        """Write the batch after any pending products, so stock applies to current products."""
        target = self.gateway_target
        if target.sink_exists("products"):
            target.drain_one(target.get_sink("products"))
        self.writer.write_stock(context.get("records", []))


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
