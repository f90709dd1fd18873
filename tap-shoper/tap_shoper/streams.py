"""The three contract streams, in order: ``categories``, ``products``, ``stock``.

Schemas and keys come from ``commerce_schema.contract``; the mapping from Shoper's JSON is in
``mapping.py``. What each stream costs in requests:

- ``categories``: the ``categories`` list plus ``categories-tree`` (shared with products).
- ``products``: one ``products`` page (50), then for that page one filtered, paged series of
  ``product-stocks`` and one of ``product-images`` (``filters={"product_id":{"in":[...]}}``):
  no request per product, and memory bounded by one page.
- ``stock``: two sweeps of ``product-stocks`` (variant rows, then default rows); no
  ``products`` call at all. When ``products`` is selected too and reads the whole shop (a
  first run, no bookmark or ``start_date``), it already reads every variant's stock row:
  it keeps the stock records of each page in a ``tapkit.spool.RecordSpool`` (on disk,
  memory stays one page) and ``stock`` replays them instead of reading product-stocks a
  second time. After an incremental products run, ``stock`` sweeps as above (products
  edited since the bookmark are not all the stock that changed).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from singer_sdk.exceptions import FatalAPIError
from tapkit.spool import RecordSpool
from tapkit.streams import ContractStream

from tap_shoper import mapping
from tap_shoper.client import ShoperStream

if TYPE_CHECKING:
    import requests
    from singer_sdk.helpers.types import Context

    from tap_shoper.shop import ShopData

class _ContractStream(ContractStream, ShoperStream):
    """A Shoper stream whose schema and keys are the contract's (see ``tapkit.streams``)."""

    @property
    def shop(self) -> ShopData:
        """The tap's lazily loaded shop dictionaries."""
        return self.shoper.shop


class CategoriesStream(_ContractStream):
    """Every category with its parent and full path (from ``categories-tree``)."""

    name = "categories"
    path = "/categories"
    order_by = "category_id"

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """From the dictionary the products also use: fetched once per run."""
        yield from mapping.category_records(self.shop.context)


class ProductsStream(_ContractStream):
    """Products with all their sellable variants nested; incremental on ``updated_at``."""

    name = "products"
    path = "/products"
    order_by = "product_id"
    #: ``product_id > highest seen`` on page 1, not page numbers: a product deleted during
    #: the sweep must not shift an unread one onto a page already read (issue 11)
    keyset = True
    # rows come sorted by id for stable paging, not by updated_at: ``is_sorted`` stays False

    def __init__(self, tap: Any) -> None:
        super().__init__(tap)
        self._order = self.order_guard("product_id", "/products")
        self._start: dt.datetime | None = None

    def get_filters(self, context: Context | None) -> dict[str, Any] | None:
        """``edit_date >= start`` in shop-local time (re-checked on every record, in case a
        shop ignores the filter and sends everything)."""
        if self._start is None:
            return None
        local = mapping.utc_to_local(self._start, self.shop.context.timezone)
        return {"edit_date": {">=": local}}

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """Load the dictionaries first (clear config errors before any product request);
        keep the stock records for ``stock`` when it is selected and this is a full read."""
        _ = self.shop.context
        self._order.reset()
        self._start = self.start_with_lookback(context)
        stock = self.shoper.streams.get("stock")
        if self._start is None and stock is not None and stock.selected:
            self.shoper.stock_spool = RecordSpool("stock records")
        yield from super().get_records(context)
        if self.shoper.stock_spool is not None:
            self.shoper.stock_spool.finish()

    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        """One products page, joined with its variants and images (two request series)."""
        rows = []
        for row in super().parse_response(response):
            try:
                pid = int(row["product_id"])
            except (KeyError, TypeError, ValueError):
                # not a product row: the answer is broken; stop before the bookmark moves
                raise FatalAPIError(
                    f"Shoper answered {urlsplit(response.url).path} with a row that has no "
                    f"valid product_id ({str(row)[:80]}); the answer is broken, try again "
                    "later") from None
            if self._order.admit(pid):  # False: shifted onto this page, already emitted
                rows.append(row)
        if not rows:
            return
        ids = [int(r["product_id"]) for r in rows]
        wanted = {str(i) for i in ids}
        in_page = {"product_id": {"in": ids}}
        stocks: dict[str, list[dict]] = defaultdict(list)
        for stock in self.shop.fetch("/product-stocks", in_page):
            if str(stock.get("product_id")) in wanted:  # an ignored filter returns all
                stocks[str(stock["product_id"])].append(stock)
        images: dict[str, list[dict]] = defaultdict(list)
        for image in self.shop.fetch("/product-images", in_page):
            if str(image.get("product_id")) in wanted:
                images[str(image["product_id"])].append(image)
        spool = self.shoper.stock_spool
        observed_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
        for row in rows:
            key = str(row["product_id"])
            sellable = mapping.sellable_rows(row, stocks.get(key, []))
            if spool is not None:  # the stock stream's records, from the same rows
                for variant_id, stock in sellable:
                    spool.add(mapping.stock_record({**stock, "product_id": key}, variant_id,
                                                   observed_at))
            yield {"product": row, "sellable": sellable, "images": images.get(key, [])}

    def source_id(self, row: dict[str, Any]) -> str:
        """The Shoper product id, named when the product cannot be mapped."""
        return str(row["product"].get("product_id"))

    def map_record(self, row: dict[str, Any], context: Context | None) -> dict[str, Any] | None:
        """Map to the contract (a ``MappingError`` skips the product by name, see the kit);
        drop what is older than the start (client-side re-check)."""
        record = mapping.product_record(row["product"], (), row["images"], self.shop.context,
                                        sellable=row["sellable"])
        if record is None:
            return None
        updated = record.get("updated_at")
        if (self._start is not None and updated
                and dt.datetime.fromisoformat(updated) < self._start):
            return None
        return record


class StockStream(_ContractStream):
    """Quantity of every sellable variant, from ``product-stocks`` alone.

    Sweep 1 (``extended=1``): every variant row is sellable; remember its product id.
    Sweep 2 (``extended=0``): a default row is sellable only when its product had no variant
    row (then its variant id is the product id, as in ``products``). Memory: one set of
    product ids. Shoper keeps no change time for stock, so every run is a full snapshot and
    ``updated_at`` is when it was read.
    """

    name = "stock"
    path = "/product-stocks"
    order_by = "stock_id"
    #: ``stock_id > highest seen``: a variant deleted mid-sweep loses no other stock row
    keyset = True

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """The products stream's spool when it read the whole shop in this run; else both
        sweeps, each ordered by ``stock_id`` and deduplicated."""
        spool, self.shoper.stock_spool = self.shoper.stock_spool, None
        if spool is not None and spool.complete:
            self.logger.info("%d stock records from the product-stocks rows the products "
                             "stream read (product-stocks is not read twice)", spool.count)
            yield from spool.drain()
            return
        if spool is not None:
            spool.discard()
        observed_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
        with_variants: set[str] = set()
        for row in self._sweep(extended=True):
            with_variants.add(str(row["product_id"]))
            yield mapping.stock_record(row, str(row["stock_id"]), observed_at)
        for row in self._sweep(extended=False):
            pid = str(row["product_id"])
            if pid not in with_variants:
                yield mapping.stock_record(row, pid, observed_at)

    def _sweep(self, *, extended: bool) -> Iterable[dict[str, Any]]:
        guard = self.order_guard("stock_id", "/product-stocks")
        for row in self.request_records({"filters": {"extended": 1 if extended else 0}}):
            if mapping.flag(row.get("extended")) != extended:
                continue  # the filter was ignored
            if guard.admit(int(row["stock_id"])):  # False: a shifted duplicate
                yield row
