"""Reading a feed file as a stream of items: gzip-aware, size-capped, safe XML, flat memory.

- The file may be gzip (a ``.gz`` export, or an answer sent with ``Content-Encoding: gzip``):
  recognised by its magic bytes, decompressed on the fly. ``max_bytes`` caps the bytes read
  *after* decompression too, so a small gzip bomb cannot become gigabytes of XML.
- XML is parsed only with ``defusedxml``'s ``iterparse``: entity declarations (the "billion
  laughs") and external references (XXE) are refused; a DOCTYPE alone (Nokaut's) is read.
- Each item element (Ceneo ``<o>`` at any depth, Google ``<item>``/``<entry>``) is turned
  into plain strings, then cleared and detached from its parent, so a feed of hundreds of
  MB is read in the memory of one item.
- ``encoding_override`` re-decodes the bytes from that code page to UTF-8 and rewrites the
  XML declaration before parsing: for feeds that lie about their encoding (windows-1250
  bytes under ``encoding="UTF-8"``). A feed whose bytes do not match its declaration fails
  with a message that names the setting.
"""

from __future__ import annotations

import codecs
import contextlib
import gzip
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import iterparse

G_NS = "http://base.google.com/ns/1.0"
ATOM_NS = "http://www.w3.org/2005/Atom"
FORMATS = ("ceneo", "google")
_READ = 64 * 1024
_DECLARATION = re.compile(rb"^(\xef\xbb\xbf)?\s*<\?xml[^>]*?encoding\s*=\s*[\"']([^\"']+)[\"']")


class FeedError(Exception):
    """The feed as a whole cannot be read; the message says why and what to do."""


@dataclass
class Item:
    """One item as read: its format and its fields as plain strings."""

    format: str
    raw: dict[str, Any]
    line: int | None = None


class CappedReader(io.RawIOBase):
    """A binary stream that refuses to yield more than ``limit`` bytes."""

    def __init__(self, inner: Any, limit: int, what: str) -> None:
        super().__init__()
        self._inner = inner
        self._limit = limit
        self._what = what
        self.count = 0

    def readable(self) -> bool:
        """Yes."""
        return True

    def read(self, size: int = -1) -> bytes:
        """At most ``size`` bytes; FeedError once the cap is passed."""
        chunk = self._inner.read(_READ if size is None or size < 0 else size)
        self.count += len(chunk)
        if self.count > self._limit:
            raise FeedError(f"{self._what} is larger than max_bytes ({self._limit:,} bytes); "
                            "raise max_bytes if the shop's catalog really is that big")
        return chunk

    def readinto(self, buffer: Any) -> int:
        """For io's buffered wrappers."""
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class RecodingReader(io.RawIOBase):
    """Bytes in ``encoding`` out as UTF-8, the XML declaration rewritten to say so."""

    def __init__(self, inner: Any, encoding: str) -> None:
        super().__init__()
        self._inner = inner
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        self._pending = b""
        self._first = True
        self._done = False

    def readable(self) -> bool:
        """Yes."""
        return True

    def read(self, size: int = -1) -> bytes:
        """Up to about ``size`` bytes of UTF-8."""
        while not self._pending and not self._done:
            chunk = self._inner.read(_READ)
            if self._first:
                chunk = _rewrite_declaration(chunk)
                self._first = False
            try:
                self._pending = self._decoder.decode(chunk, final=not chunk).encode("utf-8")
            except UnicodeDecodeError as exc:
                raise FeedError(f"the feed is not valid {self._decoder_name()} either "
                                f"({exc.reason}); check encoding_override") from None
            self._done = not chunk
        limit = len(self._pending) if size is None or size < 0 else size
        out, self._pending = self._pending[:limit], self._pending[limit:]
        return out

    def _decoder_name(self) -> str:
        return type(self._decoder).__module__.rsplit(".", 1)[-1]

    def readinto(self, buffer: Any) -> int:
        """For io's buffered wrappers."""
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _rewrite_declaration(chunk: bytes) -> bytes:
    """``<?xml ... encoding="windows-1250"?>`` -> ``encoding="UTF-8"`` (ASCII-safe bytes)."""
    match = _DECLARATION.match(chunk)
    if not match:
        return chunk
    start, end = match.span(2)
    return chunk[:start] + b"UTF-8" + chunk[end:]


def open_feed(path: Path, *, max_bytes: int, encoding_override: str | None = None
              ) -> io.BufferedReader:
    """The feed's XML bytes: decompressed when gzip, capped, re-decoded when told."""
    raw = path.open("rb")
    head = raw.read(2)
    raw.seek(0)
    stream: Any = gzip.GzipFile(fileobj=raw, mode="rb") if head == b"\x1f\x8b" else raw
    reader: io.RawIOBase = CappedReader(stream, max_bytes, "the feed")
    if encoding_override:
        reader = RecodingReader(reader, encoding_override)
    return io.BufferedReader(reader, _READ)


def local(tag: Any) -> tuple[str | None, str]:
    """``{namespace}name`` -> (namespace, name)."""
    if not isinstance(tag, str):
        return None, ""
    if tag.startswith("{"):
        namespace, _, name = tag[1:].partition("}")
        return namespace, name
    return None, tag


def detect(root_tag: str) -> str | None:
    """The format a root element announces: ``offers`` Ceneo, ``rss``/``feed`` Google."""
    namespace, name = local(root_tag)
    if name == "offers":
        return "ceneo"
    if name == "rss" or (name == "feed" and namespace in (ATOM_NS, None)):
        return "google"
    return None


def iter_items(stream: IO[bytes], feed_format: str | None = None) -> Iterator[Item]:
    """Every item of the feed, in order; FeedError for a feed that cannot be read."""
    chosen = feed_format
    stack: list[Element] = []
    try:
        for event, element in iterparse(stream, events=("start", "end"), forbid_dtd=False,
                                        forbid_entities=True, forbid_external=True):
            if event == "start":
                if not stack:
                    chosen = _root_format(element.tag, feed_format)
                stack.append(element)
                continue
            stack.pop()
            _, name = local(element.tag)
            if (chosen == "ceneo" and name == "o") or (
                    chosen == "google" and name in ("item", "entry")):
                yield Item(chosen, ceneo_raw(element) if chosen == "ceneo"
                           else google_raw(element))
                element.clear()
                if stack:
                    # the parser may already have added later siblings (events come in
                    # batches), so it is not always the last child; earlier items are gone,
                    # so it is near the front and remove() finds it at once
                    with contextlib.suppress(ValueError):
                        stack[-1].remove(element)
    except EntitiesForbidden:
        raise FeedError("the feed declares XML entities (<!ENTITY ...>); they are refused "
                        "for safety and no product feed needs them") from None
    except ExternalReferenceForbidden:
        raise FeedError("the feed refers to external XML entities (XXE); refused for "
                        "safety") from None
    except DTDForbidden:  # pragma: no cover - DTDs are allowed (forbid_dtd=False)
        raise FeedError("the feed declares a DTD") from None
    except ParseError as exc:
        raise FeedError(f"the feed is not well-formed XML ({exc}); a cut-off download or "
                        "an exporter error") from None
    if chosen is None:
        raise FeedError("the feed is empty")


def _root_format(tag: str, wanted: str | None) -> str:
    found = detect(tag)
    _, name = local(tag)
    if name.lower() == "html":
        raise FeedError("the feed URL answered an HTML page (a login or maintenance page?), "
                        "not a product feed")
    if wanted is None:
        if found is None:
            raise FeedError(f"the feed's root element <{name}> is neither Ceneo's <offers> "
                            "nor Google's <rss>/<feed>; set format if it is one of them")
        return found
    if found is not None and found != wanted:
        raise FeedError(f"format is {wanted}, but the feed is a {found} feed (<{name}>); "
                        "remove the format setting to detect it")
    return wanted


def _text(element: Element) -> str:
    return "".join(element.itertext())


def ceneo_raw(element: Element) -> dict[str, Any]:
    """An ``<o>`` as ``{"attrs", "cat", "name", "desc", "images", "features"}``."""
    raw: dict[str, Any] = {"attrs": dict(element.attrib), "images": [], "features": []}
    for child in element:
        _, name = local(child.tag)
        if name in ("cat", "name", "desc"):
            raw[name] = _text(child)
        elif name == "imgs":
            raw["images"] = [img.get("url") for img in child if img.get("url")]
        elif name == "attrs":
            raw["features"] = [(a.get("name") or "", _text(a)) for a in child]
    return raw


def google_raw(element: Element) -> dict[str, Any]:
    """An ``<item>``/``<entry>`` as ``{local name: [values]}``, ``g:`` values first (feeds
    mix ``title`` and ``g:title``; Atom's own ``id`` must not win over ``g:id``)."""
    google: dict[str, list[str]] = {}
    other: dict[str, list[str]] = {}
    details: list[tuple[str, str]] = []
    for child in element:
        namespace, name = local(child.tag)
        if name == "product_detail":
            parts = {local(c.tag)[1]: _text(c) for c in child}
            details.append((parts.get("attribute_name", ""), parts.get("attribute_value", "")))
            continue
        value = child.get("href") or "" if name == "link" and child.get("href") else _text(child)
        (google if namespace == G_NS else other).setdefault(name, []).append(value)
    raw: dict[str, Any] = {k: google.get(k, []) + other.get(k, [])
                           for k in {*google, *other}}
    raw["details"] = details
    return raw


def declared_encoding(path: Path) -> str | None:
    """The encoding the feed's XML declaration names (gzip looked through), if any."""
    with path.open("rb") as raw:
        head = raw.read(2)
        raw.seek(0)
        stream: Any = gzip.GzipFile(fileobj=raw) if head == b"\x1f\x8b" else raw
        try:
            match = _DECLARATION.match(stream.read(512))
        except (OSError, EOFError):
            return None
    return match.group(2).decode("ascii", "replace") if match else None


def looks_like(path: Path, encoding: str, sample: int = 4 * 1024 * 1024) -> bool:
    """True when the first ``sample`` bytes decode as ``encoding`` (for a helpful error)."""
    with path.open("rb") as raw:
        head = raw.read(2)
        raw.seek(0)
        stream: Any = gzip.GzipFile(fileobj=raw) if head == b"\x1f\x8b" else raw
        try:
            codecs.getincrementaldecoder(encoding)().decode(stream.read(sample), final=False)
        except (UnicodeDecodeError, OSError, EOFError):
            return False
    return True
