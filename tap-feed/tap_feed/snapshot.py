"""One parse of the feed into a scratch SQLite file, read back by the three streams.

Why a scratch database: the contract wants ``categories`` before ``products`` and each
product with all its variants, but a feed lists variants anywhere in the file and categories
only inside items. Holding 100,000 items in memory to regroup them is what a flat-memory tap
must not do, so each item is mapped to an :class:`~tap_feed.mapping.Offer` and written to a
temporary SQLite file (indexed by product id); the streams then read categories, grouped
products and stock rows from it. Nothing is emitted until the whole feed has been read: a
feed cut off in the middle fails the run before a single record, instead of sending half a
catalog.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tap_feed import mapping, parse
from tap_feed.mapping import AvailabilityNotes, ItemError, Offer, Settings

logger = logging.getLogger("tap-feed.snapshot")

#: ``on_skip(item id, reason)``: told about each item left out
SkipHook = Callable[[str, str], None]


@dataclass
class Snapshot:
    """The parsed feed: offers by product, category paths, and the counts of the run."""

    db: sqlite3.Connection
    format: str
    items: int = 0
    skipped: int = 0
    duplicates: int = 0
    unknown_availability: Counter[str] = field(default_factory=Counter)
    _directory: tempfile.TemporaryDirectory[str] | None = None

    @property
    def product_count(self) -> int:
        """Distinct products (groups) in the feed."""
        return int(self.db.execute("SELECT COUNT(DISTINCT product_id) FROM offers")
                   .fetchone()[0])

    def category_paths(self) -> Iterator[list[str]]:
        """Every distinct category path, sorted."""
        for (path,) in self.db.execute("SELECT path FROM paths ORDER BY path"):
            yield json.loads(path)

    def products(self) -> Iterator[list[Offer]]:
        """Offers grouped by product, products in feed order, variants in feed order."""
        cursor = self.db.execute(
            "SELECT o.product_id, o.data FROM offers o JOIN products p USING (product_id) "
            "ORDER BY p.seq, o.seq")
        current: str | None = None
        group: list[Offer] = []
        for product_id, data in cursor:
            if product_id != current and group:
                yield group
                group = []
            current = product_id
            group.append(Offer.from_row(json.loads(data)))
        if group:
            yield group

    def offers(self) -> Iterator[Offer]:
        """Every offer in feed order."""
        for (data,) in self.db.execute("SELECT data FROM offers ORDER BY seq"):
            yield Offer.from_row(json.loads(data))

    def product_ids(self) -> Iterator[str]:
        """Product ids in feed order."""
        for (product_id,) in self.db.execute("SELECT product_id FROM products ORDER BY seq"):
            yield product_id

    def close(self) -> None:
        """Drop the scratch file."""
        self.db.close()
        if self._directory is not None:
            self._directory.cleanup()
            self._directory = None


def build(path: Path, *, settings_for: Callable[[str], Settings], max_bytes: int,
          feed_format: str | None = None, encoding_override: str | None = None,
          on_skip: SkipHook | None = None) -> Snapshot:
    """Parse the feed at ``path`` into a new snapshot (FeedError for an unreadable feed)."""
    directory = tempfile.TemporaryDirectory(prefix="tap-feed-")
    db = sqlite3.connect(str(Path(directory.name) / "snapshot.sqlite"))
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.executescript("""
        CREATE TABLE offers (seq INTEGER PRIMARY KEY, variant_id TEXT UNIQUE,
                             product_id TEXT, data TEXT);
        CREATE INDEX offers_product ON offers (product_id, seq);
        CREATE TABLE products (product_id TEXT PRIMARY KEY, seq INTEGER);
        CREATE TABLE paths (path TEXT PRIMARY KEY);
    """)
    snapshot = Snapshot(db, feed_format or "", _directory=directory)
    notes = AvailabilityNotes()
    settings: Settings | None = None
    try:
        with parse.open_feed(path, max_bytes=max_bytes,
                             encoding_override=encoding_override) as stream:
            for item in parse.iter_items(stream, feed_format):
                if settings is None:
                    snapshot.format = item.format
                    settings = settings_for(item.format)
                snapshot.items += 1
                _store(snapshot, item, settings, notes, on_skip)
    except parse.FeedError as exc:
        snapshot.close()
        raise parse.FeedError(_with_encoding_hint(str(exc), path, encoding_override)) from None
    except BaseException:
        snapshot.close()
        raise
    db.commit()
    snapshot.unknown_availability = notes.unknown
    return snapshot


def _store(snapshot: Snapshot, item: parse.Item, settings: Settings,
           notes: AvailabilityNotes, on_skip: SkipHook | None) -> None:
    try:
        offer = (mapping.ceneo_offer(item.raw, settings, notes) if item.format == "ceneo"
                 else mapping.google_offer(item.raw, settings, notes))
    except ItemError as exc:
        snapshot.skipped += 1
        if on_skip is not None:
            on_skip(_item_id(item), str(exc))
        return
    db = snapshot.db
    try:
        db.execute("INSERT INTO offers (seq, variant_id, product_id, data) VALUES (?,?,?,?)",
                   (snapshot.items, offer.variant_id, offer.product_id,
                    json.dumps(offer.to_row(), ensure_ascii=False)))
    except sqlite3.IntegrityError:
        snapshot.skipped += 1
        snapshot.duplicates += 1
        if on_skip is not None:
            on_skip(offer.id, f"variant id {offer.variant_id} appears again in the feed; "
                              "the first one is kept")
        return
    db.execute("INSERT OR IGNORE INTO products (product_id, seq) VALUES (?, ?)",
               (offer.product_id, snapshot.items))
    for path in offer.categories:
        db.execute("INSERT OR IGNORE INTO paths (path) VALUES (?)",
                   (json.dumps(path, ensure_ascii=False),))


def _item_id(item: parse.Item) -> str:
    if item.format == "ceneo":
        value = (item.raw.get("attrs") or {}).get("id")
    else:
        value = next(iter(item.raw.get("id") or []), None)
    return mapping.text(value) or "(no id)"


def _with_encoding_hint(message: str, path: Path, override: str | None) -> str:
    """Add what to do when the bytes do not match the declared encoding."""
    if override or "not well-formed" not in message:
        return message
    declared = (parse.declared_encoding(path) or "UTF-8").lower().replace("_", "-")
    if declared in ("utf-8", "utf8") and not parse.looks_like(path, "utf-8"):
        return (f"{message}. The feed says it is UTF-8 but is not: Polish shops' old exports "
                "are often windows-1250 or ISO-8859-2; set encoding_override to the one the "
                "shop uses")
    return message
