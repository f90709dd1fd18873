"""The three contract streams, all read from one parse of the feed (``snapshot.py``).

A feed is a full snapshot with no per-item times: the streams are FULL_TABLE (no
replication key), every run emits the whole feed and the target's content hash skips what
did not change. Cost: one HTTP request per run (a conditional GET; ``304 Not Modified``
ends the run with no records), whatever the size of the catalog.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from singer_sdk import Stream
from tapkit.streams import FullTableContractStream, MappingError

from tap_feed import mapping

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

    from tap_feed.tap import FeedRun, TapFeed


class FeedStream(FullTableContractStream, Stream):
    """A contract stream whose rows come from the tap's one parse of the feed (a feed has no
    change times: every run is a full snapshot, see the module docstring)."""

    @property
    def feed_tap(self) -> TapFeed:
        """The tap (typed)."""
        return self.owning_tap

    @property
    def run(self) -> FeedRun:
        """The run's download and parse, done once on first use."""
        return self.feed_tap.feed_run


class CategoriesStream(FeedStream):
    """Every category path of the feed, each level once (id = the path joined by `` > ``)."""

    name = "categories"

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """Parents before children; nothing when the feed is unchanged."""
        snapshot = self.run.snapshot
        if snapshot is None:
            return
        seen: set[str] = set()
        for path in snapshot.category_paths():
            for record in mapping.category_records(path):
                if record["id"] not in seen:
                    seen.add(record["id"])
                    yield record


class ProductsStream(FeedStream):
    """Products with their variants grouped as the settings say; skipped items counted."""

    name = "products"

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """One record per group of offers; then the run's bookkeeping goes into the state."""
        run = self.run
        for source_id, reason in run.item_problems:
            self.skip(source_id, reason)
        run.item_problems.clear()
        snapshot = run.snapshot
        if snapshot is not None:
            for offers in snapshot.products():
                yield {"offers": offers}
        run.finish(self.get_context_state(context))

    def source_id(self, row: dict[str, Any]) -> str:
        """The product id the offers share."""
        return row["offers"][0].product_id

    def map_record(self, row: dict[str, Any], context: Context | None) -> dict[str, Any] | None:
        """Offers -> one contract product, VAT chosen by the rules (counted per source)."""
        offers = row["offers"]
        run = self.run
        product_id = offers[0].product_id
        try:
            vat = mapping.choose_vat(product_id, offers, run.settings)
            record = mapping.product_record(offers, run.settings, vat)
        except mapping.ItemError as exc:
            raise MappingError(str(exc)) from None
        run.vat_sources[vat.source] += 1
        odd = mapping.disagreements(offers)
        if odd:
            self.logger.warning("Product %s: its variants disagree on %s; the first "
                                "variant's value was used", product_id, " and ".join(odd))
        return record


class StockStream(FeedStream):
    """Quantity of every variant: the feed's number, or null where it gives availability
    only (never an invented number)."""

    name = "stock"

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """One row per offer, stamped with the time the feed was read."""
        snapshot = self.run.snapshot
        if snapshot is None:
            return
        observed = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
        for offer in snapshot.offers():
            yield mapping.stock_record(offer, observed)
