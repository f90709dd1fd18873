"""The three contract streams, in order: ``categories``, ``products``, ``stock``.

What each costs in requests, for P product entities (parents, standalone products and
children) at page size S:

- ``categories``: ``storeConfigs``, ``storeViews``, ``storeGroups`` and one category tree.
- ``products``: the store's dictionaries (a handful of calls), one sweep of the
  configurable parents' ids and links (C/S), then one sweep of every product changed since
  the bookmark, sorted by ``updated_at`` then entity id (P/S); per page, the parents of
  children on it and the children of its parents in ``entity_id in (...)`` slices, attribute
  metadata not seen yet, and (MSI) the page's source items. Legacy stock is one
  ``lowStock`` sweep per run. Never a request per product.
- ``stock``: the parents' sweep (shared with ``products``), one sweep of simple products
  (ids, SKUs, EANs), and their stock: legacy as above, MSI per page.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from tapkit.streams import ContractStream, MappingError

from tap_magento import mapping
from tap_magento.client import Filter, MagentoStream, keyset_pages, row_id

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

    from tap_magento.store import StoreData

#: what a product row is trimmed to (``fields=``): what mapping reads, nothing else
PRODUCT_FIELDS = ("items[id,sku,name,price,status,visibility,type_id,created_at,updated_at,"
                  "weight,custom_attributes,media_gallery_entries,extension_attributes["
                  "website_ids,category_links,configurable_product_options,"
                  "configurable_product_links]],total_count")
STOCK_FIELDS = "items[id,sku,type_id,custom_attributes],total_count"


class _ContractStream(ContractStream, MagentoStream):
    """A contract stream whose rows come from the store's dictionaries and sweeps."""

    @property
    def store(self) -> StoreData:
        """The tap's lazily loaded store data."""
        return self.magento.store


class CategoriesStream(_ContractStream):
    """Every category under the store's root category, with its full path."""

    name = "categories"
    path = "/categories"

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """From the tree the products also use: fetched once per run."""
        yield from mapping.category_records(self.store.store_context)


class ProductsStream(_ContractStream):
    """Products with every sellable variant nested; incremental on ``updated_at``.

    A configurable parent is emitted when it or any of its children changed since the
    bookmark (a child's edit does not touch its parent's ``updated_at``), once per run; its
    record's ``updated_at`` is the newest of the family. Rows are read in ``updated_at``
    order but a family can be emitted at its child's time, so the stream is not sorted for
    the SDK: the bookmark is the newest time seen, saved when the stream has finished.
    """

    name = "products"
    path = "/products"

    def __init__(self, tap: Any) -> None:
        super().__init__(tap)
        self.skipped_types: Counter[str] = Counter()
        self._start: str | None = None

    def source_id(self, row: dict[str, Any]) -> str:
        """The product's entity id."""
        return str((row.get("item") or {}).get("id") or "?")

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """One sweep of changed products, each page joined with its families and stock."""
        store = self.store
        context_ = store.store_context  # dictionaries first: clear errors before products
        start = self.get_starting_timestamp(context)
        self._start = mapping.magento_time(start) if start else None
        parents_of = store.parents_of
        emitted: set[int] = set()
        self.skipped_types.clear()
        pages = keyset_pages(
            lambda f, n: store.fetch_products(f, n, fields=PRODUCT_FIELDS, by_updated_at=True),
            [], page_size=store.page_size, since=self._start, by_updated_at=True)
        for page in pages:
            yield from self._page(page, parents_of, emitted, context_)
        if self.skipped_types:
            listed = ", ".join(f"{n} {kind}" for kind, n in sorted(self.skipped_types.items()))
            self.logger.warning("Not exported (types the contract has no variants for): %s",
                             listed)

    def _page(self, page: list[dict[str, Any]], parents_of: dict[int, list[int]],
              emitted: set[int], context: mapping.StoreContext) -> Iterable[dict[str, Any]]:
        store = self.store
        by_id: dict[int, dict[str, Any]] = {}
        order: list[int] = []  # records to emit, in the page's order
        for item in page:
            pid = row_id(item)
            by_id[pid] = item
            kind = str(item.get("type_id"))
            if kind == "configurable":
                order.append(pid)
            elif kind == "simple":
                order.extend(parents_of.get(pid) or [pid])
            else:
                self.skipped_types[kind] += 1
        order = [pid for pid in dict.fromkeys(order) if pid not in emitted]
        if not order:
            return
        missing = [pid for pid in order if pid not in by_id]
        if missing:  # parents of changed children
            by_id.update({row_id(i): i for i in store.products_by_id(missing, PRODUCT_FIELDS)})
        wanted_children = {int(str(c)) for pid in order if pid in by_id
                           for c in mapping.extension(by_id[pid]).get(
                               "configurable_product_links") or []}
        absent = [c for c in wanted_children if c not in by_id]
        if absent:
            by_id.update({row_id(i): i for i in store.products_by_id(absent, PRODUCT_FIELDS)})
        store.ensure_attributes(by_id.values())
        sellable = [by_id[pid] for pid in order if pid in by_id]
        simples = [i for i in by_id.values() if str(i.get("type_id")) == "simple"]
        stock = store.stock_levels(simples)
        for item in sellable:
            pid = row_id(item)
            emitted.add(pid)
            children = [by_id[int(str(c))] for c in mapping.extension(item).get(
                "configurable_product_links") or [] if int(str(c)) in by_id]
            yield {"item": item, "children": children, "stock": stock, "context": context}
        for pid in order:
            if pid not in by_id:
                self.logger.warning("parent product %s of a changed child was not returned "
                                    "by the store; not exported", pid)

    def map_record(self, row: dict[str, Any], context: Context | None) -> dict[str, Any] | None:
        """The contract record; a product older than the start is left out (a store that
        ignored the filter)."""
        try:
            record = mapping.product_record(row["item"], row["children"], row["stock"],
                                            row["context"])
        except MappingError as exc:
            raise MappingError(f"{row['item'].get('sku') or ''}: {exc}".lstrip(": ")) from exc
        updated = record.get("updated_at")
        if self._start and updated and updated < dt.datetime.fromisoformat(
                self._start.replace(" ", "T") + "+00:00").isoformat():
            return None
        return record


class StockStream(_ContractStream):
    """Quantity of every sellable variant; a full snapshot on every run.

    Magento keeps no change time for stock (and a stock change does not touch a product's
    ``updated_at``), so ``updated_at`` is when the quantity was read. A child under two
    parents gives one record per parent (the target keys stock by product and variant).
    """

    name = "stock"
    path = "/products"

    def source_id(self, row: dict[str, Any]) -> str:
        """The variant's entity id."""
        return str(row.get("variant_id") or "?")

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """The parents' map, then every simple product page by page with its stock."""
        store = self.store
        context_ = store.store_context
        parents_of = store.parents_of
        observed = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
        filters: list[list[Filter]] = [[("type_id", "eq", "simple")]]
        pages = keyset_pages(
            lambda f, n: store.fetch_products(f, n, fields=STOCK_FIELDS, by_updated_at=False),
            filters, page_size=store.page_size, by_updated_at=False)
        for page in pages:
            simples = [i for i in page if str(i.get("type_id")) == "simple"]
            levels = store.stock_levels(simples)
            for item in simples:
                vid = str(item.get("id"))
                for parent in parents_of.get(int(vid)) or [int(vid)]:
                    yield mapping.stock_record(str(parent), item, levels.get(vid), observed,
                                               context_)
