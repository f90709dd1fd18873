"""The three contract streams, in order: ``categories``, ``products``, ``stock``.

Schemas and keys come from the contract (``tapkit.streams.ContractStream``); the mapping from
PrestaShop's JSON is in ``mapping.py``. What each stream costs in requests:

- ``categories``: the dictionaries (about ten requests, shared with products).
- ``products``: one ``products`` page of ``page_size``, then for that page, filtered to its
  ids (``filter[id_product]=[1|2|...]``): ``combinations`` and ``stock_availables`` (paged
  by id) and ``product_feature_values``; no request per product, memory bounded by one page.
  With ``image_source=api``, one more request per image (its bytes).
- ``stock``: one sweep of ``stock_availables``; no ``products`` call at all.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from tapkit.readers import utc_to_local
from tapkit.streams import ContractStream

from tap_prestashop import mapping
from tap_prestashop.client import MAX_PAGE_SIZE, PrestaShopStream
from tap_prestashop.shop import id_list

if TYPE_CHECKING:
    from collections.abc import Iterable

    import requests
    from singer_sdk.helpers.types import Context

    from tap_prestashop.shop import ShopData

class _ShopStream(ContractStream, PrestaShopStream):
    """A contract stream of this tap."""

    @property
    def shop(self) -> ShopData:
        """The tap's lazily loaded dictionaries."""
        return self.tap.shop


class CategoriesStream(_ShopStream):
    """Every category with its parent and full path; Root and Home left out."""

    name = "categories"
    resource = "categories"

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """From the dictionary the products also use: fetched once per run."""
        yield from mapping.category_records(self.shop.context)


class ProductsStream(_ShopStream):
    """Products with every combination as a variant; incremental on ``updated_at``."""

    name = "products"
    resource = "products"

    def __init__(self, tap: Any) -> None:
        super().__init__(tap)
        self._start: dt.datetime | None = None
        self._page: dict[str, Any] = {}

    def filters(self, context: Context | None) -> dict[str, str]:
        """``date_upd`` from the start on, in shop-local time (with ``date=1``)."""
        if self._start is None:
            return {}
        local = utc_to_local(self._start, self.shop.context.timezone)
        return {"date_upd": f"[{local},9999-12-31 23:59:59]"}

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """Load the dictionaries first (config errors before any product request)."""
        _ = self.shop.context
        self._start = self.start_with_lookback(context)
        yield from super().get_records(context)

    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        """One products page, joined in memory with its combinations, stock and features."""
        rows = list(super().parse_response(response))
        if not rows:
            return
        ids = [str(r["id"]) for r in rows]
        with_combos = [str(r["id"]) for r in rows
                       if mapping.assoc_ids(r.get("associations"), "combinations")]
        combinations = (self.shop.lookup("combinations", {"id_product": id_list(with_combos)})
                        if with_combos else [])
        stock: dict[tuple[str, str], Any] = {}
        for row in self.shop.lookup("stock_availables", {"id_product": id_list(ids),
                                                         **self.tap.stock_filter}):
            key = (str(row.get("id_product")), str(row.get("id_product_attribute") or "0"))
            stock.setdefault(key, row.get("quantity"))
        value_ids = [str(f.get("id_feature_value")) for r in rows
                     for f in (mapping.as_dict(r.get("associations")).get("product_features")
                               or []) if isinstance(f, dict)]
        features = ({str(v["id"]): v.get("value")
                     for v in self.shop.by_ids("product_feature_values", value_ids)}
                    if value_ids else {})
        by_product: dict[str, list[dict[str, Any]]] = {}
        for combo in combinations:
            by_product.setdefault(str(combo.get("id_product")), []).append(combo)
        for row in rows:
            pid = str(row["id"])
            yield {"product": row, "combinations": by_product.get(pid, []), "stock": stock,
                   "features": features}

    def source_id(self, row: dict[str, Any]) -> str:
        """The product id in "Skipped product 17: ..." lines."""
        return str(row.get("product", {}).get("id", "?"))

    def map_record(self, row: dict[str, Any], context: Context | None) -> dict[str, Any] | None:
        """The contract's product; None when it is older than the start (a client-side
        re-check, in case a shop ignores the date filter)."""
        image = self.shop.image_data if self.tap.image_source == "api" else None
        record = mapping.product_record(row["product"], row["combinations"], row["stock"],
                                        row["features"], self.shop.context, image)
        updated = record.get("updated_at")
        if (self._start is not None and updated
                and dt.datetime.fromisoformat(updated) < self._start):
            return None
        return record


class StockStream(_ShopStream):
    """Quantity of every sellable variant, from one sweep of ``stock_availables``.

    Combination rows are emitted as they come; a product-level row (combination 0) is held
    until the sweep ends and emitted only for a product that had no combination row (its
    variant id is then the product id, as in ``products``). Memory: the product-level rows,
    one number per product. Stock rows keep no change time, so every run is a full snapshot
    and ``updated_at`` is when it was read.
    """

    name = "stock"
    resource = "stock_availables"

    @property
    def page_size(self) -> int:
        """Stock rows are a few numbers each: 1000 a request, whatever ``page_size`` says."""
        return MAX_PAGE_SIZE

    def filters(self, context: Context | None) -> dict[str, str]:
        """The configured shop's rows only (multistore)."""
        return dict(self.tap.stock_filter)

    def source_id(self, row: dict[str, Any]) -> str:
        """The variant id in skip lines."""
        return str(row.get("variant_id", "?"))

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """The sweep, combination rows first, then the products without combinations."""
        observed = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
        untracked = self.shop.context.stock_untracked
        with_combos: set[str] = set()
        product_rows: dict[str, dict[str, Any]] = {}
        for row in self.request_records(context):
            pid = str(row.get("id_product"))
            if mapping.ident(row.get("id_product_attribute")) is None:
                product_rows.setdefault(pid, row)
                continue
            with_combos.add(pid)
            yield from mapping.stock_records([row], observed, untracked=untracked)
        for pid, row in product_rows.items():
            if pid not in with_combos:
                yield from mapping.stock_records([row], observed, untracked=untracked)

