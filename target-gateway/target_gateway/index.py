"""The index of what the shop already has in the Gateway, kept on disk (SQLite), not in memory.

Why it exists: products this target made carry ``data.source`` = {platform, product_id,
variant_id, hash}. Read once at the start of a run, that lets a re-run tell new from
existing variants without asking per product, skip unchanged ones without any request, and
update a changed one in place (the update needs the product's whole body, so that is kept
too, zlib-compressed).

Why on disk: held in dicts it cost ~2.4 KB per variant (~250 MB at 100,000 variants) and
grew with the shop. In an embedded SQLite file the process keeps only SQLite's page cache
(:data:`CACHE_KIB`), so memory stays flat whatever the shop's size.

Why a temporary file and not the state directory: the Gateway is the source of truth and the
index is rebuilt from it at every run (a kept copy could be stale after someone edits the
shop in the Gateway, and would need invalidating). The file is created in ``index_dir``
(default: the system temp directory; point it at a disk-backed volume where ``/tmp`` is a
RAM ``tmpfs``) and unlinked at once on POSIX, so even a killed run leaves nothing behind;
where unlinking an open file is not allowed, it is removed by :meth:`GatewayIndex.close`.
SQLite's rollback journal is off (``journal_mode=OFF``): the file is a cache with no
durability to protect, and an unlinked database must not open a journal by name.

The Gateway's images an earlier run brought in (``data.image_sources``, and upload names) are
indexed here too: :class:`~target_gateway.images.ImageResolver` asks this index instead of
holding a dict per image.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import tempfile
import threading
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from commerce_schema import jsonio

from target_gateway.gateway import (
    GatewayClient,
    SourceKey,
    item_from_product,
    source_key,
    source_of,
    tag_guids_of,
)
from target_gateway.tags import Group, VariantTags

#: SQLite's page cache for the index, in KiB (the only part of it held in memory)
CACHE_KIB = 8 * 1024
#: rows written per transaction while reading the shop
WRITE_BATCH = 500

_SCHEMA = """
CREATE TABLE variants (
    platform TEXT NOT NULL, product_id TEXT NOT NULL, variant_id TEXT NOT NULL,
    guid TEXT, hash TEXT, stock_level INTEGER, tag_guids TEXT NOT NULL, item BLOB NOT NULL,
    PRIMARY KEY (platform, product_id, variant_id)) WITHOUT ROWID;
CREATE INDEX variants_by_source_variant ON variants (product_id, variant_id);
CREATE TABLE image_sources (ref TEXT PRIMARY KEY, url TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE image_names (name TEXT PRIMARY KEY, url TEXT NOT NULL) WITHOUT ROWID;
"""


@dataclass
class Known:
    """A Gateway product this target made, as the start-up read or a later write left it."""

    guid: str | None
    hash: str | None
    stock_level: int | None
    tag_guids: tuple[str, ...]
    item_z: bytes  # the product's update body, zlib-compressed JSON

    def item(self) -> dict[str, Any]:
        """The product's current update body."""
        body: dict[str, Any] = jsonio.loads(zlib.decompress(self.item_z))
        return body

    @staticmethod
    def pack(item: dict[str, Any]) -> bytes:
        """Compress an update body."""
        return zlib.compress(jsonio.dumps(item).encode())

    @classmethod
    def of_item(cls, guid: str | None, content_hash: str | None,
                item: dict[str, Any]) -> Known:
        """What a written product item leaves in the Gateway."""
        product = item["product"]
        return cls(None if guid is None else str(guid), content_hash, item.get("stock_level"),
                   tuple(product.get("tag_guids") or ()), cls.pack(item))


class GatewayIndex:
    """Source key -> :class:`Known`, and source image -> Gateway URL, in a temporary SQLite
    file. Safe to share between threads (one connection behind a lock)."""

    def __init__(self, directory: str | Path | None = None) -> None:
        fd, name = tempfile.mkstemp(prefix="target-gateway-index-", suffix=".sqlite",
                                    dir=directory)
        os.close(fd)
        self._path: Path | None = Path(name)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(name, check_same_thread=False, isolation_level=None)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", f"cache_size=-{CACHE_KIB}",
                       "temp_store=FILE"):
            self._db.execute(f"PRAGMA {pragma}")
        self._db.executescript(_SCHEMA)
        with contextlib.suppress(OSError):  # POSIX: gone from the directory at once
            self._path.unlink()
            self._path = None
        self._size = 0

    def close(self) -> None:
        """Close the database and remove its file (if it could not be removed at once)."""
        with self._lock:
            self._db.close()
            if self._path is not None:
                with contextlib.suppress(OSError):
                    self._path.unlink()
                self._path = None

    def __len__(self) -> int:
        return self._size

    # -- variants ----------------------------------------------------------------------------
    def get(self, key: SourceKey) -> Known | None:
        """The Gateway product of one source variant, if the shop has it."""
        with self._lock:
            row = self._db.execute(
                "SELECT guid, hash, stock_level, tag_guids, item FROM variants "
                "WHERE platform = ? AND product_id = ? AND variant_id = ?", key).fetchone()
        return None if row is None else _known(row)

    def put(self, key: SourceKey, known: Known) -> None:
        """Record (or replace) what the Gateway now has for a source variant."""
        with self._lock:
            exists = self._db.execute(
                "SELECT 1 FROM variants WHERE platform = ? AND product_id = ? AND "
                "variant_id = ?", key).fetchone()
            self._db.execute("INSERT OR REPLACE INTO variants VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                             (*key, *_row(known)))
            self._size += exists is None

    def add_read(self, rows: Iterable[tuple[SourceKey, Known]]) -> int:
        """Products read from the Gateway; a source key seen before keeps its first product.
        Returns how many were repeats."""
        listed = [(*key, *_row(known)) for key, known in rows]
        with self._lock:
            before = self._db.total_changes
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR IGNORE INTO variants VALUES (?, ?, ?, ?, ?, ?, ?, ?)", listed)
            self._db.execute("COMMIT")
            added = self._db.total_changes - before
            self._size += added
        return len(listed) - added

    def items(self, page: int = WRITE_BATCH) -> Iterator[tuple[SourceKey, Known]]:
        """Every Gateway product this target made, in source-key order, read a page at a
        time (keyset paging: memory stays flat; used by the end-of-run archive)."""
        last: tuple[str, str, str] = ("", "", "")
        while True:
            with self._lock:
                rows = self._db.execute(
                    "SELECT platform, product_id, variant_id, guid, hash, stock_level, "
                    "tag_guids, item FROM variants WHERE (platform, product_id, variant_id) "
                    "> (?, ?, ?) ORDER BY platform, product_id, variant_id LIMIT ?",
                    (*last, page)).fetchall()
            if not rows:
                return
            for row in rows:
                yield (str(row[0]), str(row[1]), str(row[2])), _known(row[3:])
            last = (str(rows[-1][0]), str(rows[-1][1]), str(rows[-1][2]))

    def keys_for_variant(self, product_id: str, variant_id: str) -> list[SourceKey]:
        """Every source key with these ids (one per platform that has them)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT platform, product_id, variant_id FROM variants WHERE product_id = ? "
                "AND variant_id = ? ORDER BY platform", (product_id, variant_id)).fetchall()
        return [(str(a), str(b), str(c)) for a, b, c in rows]

    def group_tag_guids(self, group: Group) -> Iterator[tuple[str, ...]]:
        """The tag guids of every known variant of one product (its variant group)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT tag_guids FROM variants WHERE platform = ? AND product_id = ? "
                "ORDER BY variant_id", group).fetchall()
        return (tuple(json.loads(tags)) for (tags,) in rows)

    # -- images ------------------------------------------------------------------------------
    def remember_image(self, ref: str, gateway_url: str) -> None:
        """A source image an earlier run already brought in (the first one found is kept)."""
        self.remember_images([(ref, gateway_url)])

    def remember_images(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Several (source image, Gateway URL) pairs."""
        with self._lock:
            self._db.executemany("INSERT OR IGNORE INTO image_sources VALUES (?, ?)",
                                 list(pairs))

    def image_url(self, ref: str) -> str | None:
        """The Gateway URL an earlier run gave this source image."""
        with self._lock:
            row = self._db.execute("SELECT url FROM image_sources WHERE ref = ?",
                                   (ref,)).fetchone()
        return None if row is None else str(row[0])

    def remember_names(self, gateway_urls: Iterable[str]) -> None:
        """Gateway image URLs that exist, by file name (an upload of that name is skipped)."""
        with self._lock:
            self._db.executemany("INSERT OR IGNORE INTO image_names VALUES (?, ?)",
                                 [(url.rsplit("/", 1)[-1], url) for url in gateway_urls])

    def url_named(self, name: str) -> str | None:
        """The Gateway URL of an existing image file of this name."""
        with self._lock:
            row = self._db.execute("SELECT url FROM image_names WHERE name = ?",
                                   (name,)).fetchone()
        return None if row is None else str(row[0])


def _row(known: Known) -> tuple[Any, ...]:
    return (known.guid, known.hash, known.stock_level, json.dumps(list(known.tag_guids)),
            known.item_z)


def _known(row: tuple[Any, ...]) -> Known:
    guid, content_hash, level, tags, item = row
    return Known(guid, content_hash, None if level is None else int(level),
                 tuple(json.loads(tags)), bytes(item))


def read_shop(client: GatewayClient, index: GatewayIndex, tags: VariantTags,
              logger: logging.Logger) -> None:
    """Fill the index and the tag registry from what the shop has in the Gateway.

    Products come from the paginated query in pages; they are written to the index a few
    hundred at a time, so nothing but one page is ever held in memory.
    """
    tags.load(client.list_shop_tags())
    total = duplicates = 0
    rows: list[tuple[SourceKey, Known]] = []
    images: list[tuple[str, str]] = []
    names: list[str] = []

    def flush() -> None:
        nonlocal duplicates
        duplicates += index.add_read(rows)
        index.remember_images(images)
        index.remember_names(names)
        rows.clear()
        images.clear()
        names.clear()

    for product in client.iter_products():
        total += 1
        source = source_of(product)
        owned = tag_guids_of(product)
        if source is not None:
            platform, product_id, _ = source_key(source)
            owner: Group = (platform, product_id)
        else:
            owner = ("", str(product.get("guid")))
        tags.note_product(owner, owned)
        if source is None:
            continue
        level = product.get("stock_level")
        rows.append((source_key(source), Known(
            str(product.get("guid")), source.get("hash"), None if level is None else int(level),
            tuple(owned), Known.pack(item_from_product(product)))))
        urls = [str(u) for u in product.get("images") or []]
        refs = (product.get("data") or {}).get("image_sources") or []
        images += [(str(ref), url) for ref, url in zip(refs, urls, strict=False)]
        names += urls
        if len(rows) >= WRITE_BATCH:
            flush()
    flush()
    logger.info("the shop has %d Gateway products (%d made by this target), %d variant tags",
                total, len(index), tags.variant_count)
    if duplicates:
        logger.warning("%d Gateway products repeat the source ids of another; the first of "
                       "each is kept up to date", duplicates)
