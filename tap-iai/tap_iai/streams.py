"""The three contract streams, in order: ``categories``, ``products``, ``stock``, from either
source. What each costs:

Admin API (``source: admin_api``):

- ``categories``: ``GET /products/categories`` pages of 100 (shared with ``products``, which
  needs the paths): one request for a shop with up to 100 categories.
- ``products``: one search page of ``page_size`` (100) products, plus, when merging versions,
  at most one search by ids per page for the versions of its groups that are not on it:
  O(products / 100) requests, memory bounded by one page (and the set of group keys done).
  Incremental: ``productDate`` from the bookmark's day minus one (the API filters by day),
  then each record re-checked to the second.
- ``stock``: one search page per 100 products, asking only codes, sizes and quantities.

IOF (``source: iof``): the ``full`` file is downloaded once per run (see ``feed.py``) and
read from its local copy by ``products`` and ``stock``; every run is a full snapshot. Version
groups are gathered in a temporary SQLite file, so memory stays flat for any file size.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from singer_sdk import Stream
from singer_sdk.exceptions import FatalAPIError
from tapkit.readers import sort_position, text
from tapkit.streams import ContractStream, MappingError

from tap_iai import mapping
from tap_iai.client import STOCK_ELEMENTS, ByIdSearch, CategoryList, SearchStream
from tap_iai.items import Item, Parameter, Size, from_admin

if TYPE_CHECKING:
    import requests
    from singer_sdk.helpers.types import Context

    from tap_iai.tap import TapIAI

#: the Admin API filters by day (shop-local): ask from the bookmark's day minus this
DAY_LOOKBACK = dt.timedelta(days=1)

__all__ = ["CategoryList"]  # re-exported for the tap


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


class CategoriesStream(ContractStream, Stream):
    """Every category with its parent and full path, fetched once per run for all streams."""

    name = "categories"

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """From the tap's category index (Admin API list, IOF categories file, or the
        products' own paths)."""
        for category in self.owning_tap.category_records():
            yield dict(category, path=list(category["path"]))


# -- the Admin API ----------------------------------------------------------------------------
class _Incremental(SearchStream):
    """A search filtered by the bookmark: server-side by day, client-side by the second."""

    date_mode = "modified_and_quantity_changed"
    _start: dt.datetime | None = None

    def starting_moment(self, context: Context | None) -> dt.datetime | None:
        """The bookmark, or ``start_date``, or None (everything)."""
        return self.get_starting_timestamp(context)

    def search_params(self, context: Context | None) -> dict[str, Any]:
        """``productDate`` from the start's Warsaw day minus one to tomorrow."""
        if self._start is None:
            return {}
        zone = self.tap.zone
        begin = (self._start.astimezone(zone) - DAY_LOOKBACK).date()
        end = dt.datetime.now(zone).date() + dt.timedelta(days=1)
        return {"productDate": {"productDateMode": self.date_mode,
                                "productDateBegin": begin.isoformat(),
                                "productDateEnd": end.isoformat()}}

    def older_than_start(self, updated_at: str | None) -> bool:
        """True when a record changed before the start (the day filter let it through)."""
        return (self._start is not None and updated_at is not None
                and dt.datetime.fromisoformat(updated_at) < self._start)

    def page_rows(self, response: requests.Response) -> list[dict[str, Any]]:
        """The page's products in ascending id, repeats (shifted by a deletion) dropped; a
        row without a product id stops the run before the bookmark moves."""
        rows = []
        for row in super().parse_response(response):
            pid = text(row.get("productId")) if isinstance(row, dict) else None
            if pid is None or not pid.isdigit():
                raise FatalAPIError(
                    f"IdoSell answered {self.errors.path_of(response)} with a product that "
                    f"has no valid productId ({str(row)[:80]}); the answer is broken, try "
                    "again later")
            if self._guard.admit(int(pid)):
                rows.append(row)
        return rows

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """One sweep, ids ascending, from the start."""
        self._start = self.starting_moment(context)
        self._guard = self.order_guard("productId", f"{self.path}")
        yield from super().get_records(context)


class AdminProductsStream(ContractStream, _Incremental):
    """Products with every size (and, merged, every version) as variants."""

    name = "products"

    def __init__(self, tap: Any) -> None:
        super().__init__(tap)
        self._done: set[str] = set()
        self._by_id: ByIdSearch | None = None

    def source_id(self, row: dict[str, Any]) -> str:
        """The product (group) id named when it is skipped."""
        return str(row["items"][0].id)

    def _item(self, row: dict[str, Any]) -> Item | None:
        try:
            return from_admin(row, self.tap.zone)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            self.skip(str(row.get("productId")), f"unreadable product ({type(exc).__name__}: "
                                                 f"{exc})")
            return None

    def versions(self, ids: list[str]) -> dict[str, Item]:
        """Versions by id, from one search by ids (at most 100 a request)."""
        if self._by_id is None:
            self._by_id = ByIdSearch(self.owning_tap)
        found = {}
        for row in self._by_id.fetch(ids):
            if isinstance(row, dict) and text(row.get("productId")):
                item = self._item(row)
                if item is not None:
                    found[item.id] = item
        return found

    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        """One page as product rows ``{"items": [...]}``: a version group whole, once."""
        items = [i for row in self.page_rows(response) if (i := self._item(row)) is not None]
        if not self.tap.merge_versions:
            for item in items:
                yield {"items": [item]}
            return
        on_page = {i.id for i in items}
        missing = sorted({m for i in items if i.group and i.group not in self._done
                          for m in i.members if m not in on_page}, key=sort_position)
        fetched = self.versions(missing) if missing else {}
        groups: dict[str, list[Item]] = {}
        for item in [*items, *fetched.values()]:
            if item.group and item.group not in self._done:
                groups.setdefault(item.group, [])
                if all(other.id != item.id for other in groups[item.group]):
                    groups[item.group].append(item)
        for item in items:
            if item.group is None:
                yield {"items": [item]}
            elif item.group not in self._done:
                self._done.add(item.group)
                yield {"items": mapping.order_group(groups[item.group])}

    def map_record(self, row: dict[str, Any], context: Context | None) -> dict[str, Any] | None:
        """The contract record; None when it changed before the start."""
        record = mapping.product_record(row["items"], self.tap.context)
        return None if self.older_than_start(record["updated_at"]) else record


class AdminStockStream(ContractStream, _Incremental):
    """Quantity of every size, from a search asking only codes, sizes and quantities."""

    name = "stock"
    elements = STOCK_ELEMENTS

    def starting_moment(self, context: Context | None) -> dt.datetime | None:
        """None: every run sweeps the stock of every size (a light search of codes and
        quantities only). The stock stream is the contract's complete list of what the shop
        still sells, from which target-gateway archives what is gone; an incremental sweep
        would make every unchanged size look deleted."""
        return None

    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        """One stock row per size of each product on the page."""
        observed = _now()
        for row in self.page_rows(response):
            try:
                item = from_admin(row, self.tap.zone)
                yield from mapping.stock_records(item, self.tap.context, observed)
            except (KeyError, TypeError, ValueError, AttributeError, MappingError) as exc:
                self.skip(str(row.get("productId")), f"unreadable stock ({exc})")

    def map_record(self, row: dict[str, Any], context: Context | None) -> dict[str, Any] | None:
        """As read; None when it changed before the start."""
        return None if self.older_than_start(row.get("updated_at")) else row


# -- the IOF feed ---------------------------------------------------------------------------
def _item_json(item: Item) -> str:
    return json.dumps(dataclasses.asdict(item), ensure_ascii=False, default=str)


def _item_from_json(raw: str) -> Item:
    data = json.loads(raw)
    data["sizes"] = [Size(**s) for s in data["sizes"]]
    data["parameters"] = [Parameter(**p) for p in data["parameters"]]
    return Item(**data)


class FeedProductsStream(ContractStream, Stream):
    """Products from the ``full`` file; version groups gathered on disk, then merged."""

    name = "products"

    @property
    def tap(self) -> TapIAI:
        """The tap."""
        return self.owning_tap

    def source_id(self, row: dict[str, Any]) -> str:
        """The product (group) id named when it is skipped."""
        return str(row["items"][0].id)

    def get_records(self, context: Context | None) -> Iterator[dict[str, Any]]:
        """Products in file order; then each version group once (parent first)."""
        feed = self.tap.feed
        merge = self.tap.merge_versions
        database = sqlite3.connect(str(feed.work_file("groups.sqlite")))
        try:
            database.execute("CREATE TABLE IF NOT EXISTS pending "
                             "(grp TEXT, seq INTEGER, item TEXT)")
            database.execute("DELETE FROM pending")
            seq = 0
            for item in feed.items():
                if merge and item.group is not None:
                    seq += 1
                    database.execute("INSERT INTO pending VALUES (?, ?, ?)",
                                     (item.group, seq, _item_json(item)))
                    continue
                yield {"items": [item]}
            database.commit()
            group: list[Item] = []
            key = None
            for grp, raw in database.execute("SELECT grp, item FROM pending ORDER BY grp, seq"):
                if key is not None and grp != key:
                    yield {"items": mapping.order_group(group)}
                    group = []
                key = grp
                group.append(_item_from_json(raw))
            if group:
                yield {"items": mapping.order_group(group)}
        finally:
            database.close()

    def map_record(self, row: dict[str, Any], context: Context | None) -> dict[str, Any] | None:
        """The contract record."""
        return mapping.product_record(row["items"], self.tap.context)


class FeedStockStream(ContractStream, Stream):
    """Quantity of every size in the ``full`` file (the same local copy: one download)."""

    name = "stock"

    def get_records(self, context: Context | None) -> Iterator[dict[str, Any]]:
        """One row per size."""
        tap: TapIAI = self.owning_tap
        observed = _now()
        for item in tap.feed.items():
            try:
                yield from mapping.stock_records(item, tap.context, observed)
            except MappingError as exc:
                self.skip(item.id, str(exc))

