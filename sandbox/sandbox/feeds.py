"""Product-feed emulator: the seeded catalog as the comparison-site feeds shops publish.

What it reproduces (the feed notes of the research; nothing here talks to the network):

- ``GET /feeds/ceneo.xml``: Ceneo XML (``<offers><group name="other"><o id url price avail
  stock weight set basket>`` with CDATA ``cat``/``name``/``desc``, ``imgs``, ``attrs``), with
  variants *flattened* as exporters write them: one ``<o>`` per variant, id
  ``<product>_<variant>`` (the PrestaShop module's form), the option values appended to the
  name, and ``ProductSetId`` = the product id among the attributes (Shoper's clothes group).
  ``stock`` is the real quantity (omitted when untracked); ``avail`` is 1 (in stock), 14
  (sold out, orderable) or 99 (not for sale). Only the first category is carried (the format
  has one ``cat``), as a ``/``-joined path.
- ``GET /feeds/google.xml``: Google Merchant RSS 2.0 (``g:`` namespace) with
  ``g:item_group_id`` on multi-variant products, ``g:size``/``g:color``, ``g:mpn`` = the
  variant's SKU, ``g:product_type`` (`` > ``-joined, repeated per category), ``price`` as
  ``"259.00 PLN"``, ``g:product_detail`` for the material, HTML descriptions as escaped text.
- ``GET /feeds/google.atom``: the same as Atom 1.0, ``link href``, ``summary``, an Atom
  ``id`` beside ``g:id``, and variant titles carrying the options as a suffix
  (``"Koszulka Tatry (M, czarny)"``), as real exports do.
- Every feed: a weak ``ETag`` and a ``Last-Modified`` that change when :meth:`bump` is called
  (after editing the catalog); ``If-None-Match``/``If-Modified-Since`` get ``304``.

Switches (constructor arguments, attributes, or ``POST /_emulator/switches``):

- ``encoding`` (``utf-8``, ``windows-1250``, ``iso-8859-2``) and ``declared_encoding`` (what
  the XML declaration says; when it differs the feed lies about its encoding);
- ``gzip``: ``None``, ``"content-encoding"`` (answers gzip to ``Accept-Encoding: gzip``) or
  ``"file"`` (the body itself is a ``.gz`` file, ``application/gzip``);
- ``basic_auth``: ``(user, password)`` required, else ``401`` with an HTML page;
- ``trickle``: seconds to wait before each 16 KB piece of the body (a slow server);
- ``huge_bytes``: append this many bytes of XML comment inside the root (a huge feed);
- ``truncate_at``: cut the body after this many bytes (an exporter that died mid-file);
- ``limit_items``: serve only the first N products (a feed filtered by the shop);
- ``doctype``: put Nokaut's ``<!DOCTYPE ... SYSTEM ...>`` line before the root.

``GET /go?to=<url>`` answers ``302`` to ``to`` (an open redirect, for SSRF tests).

Bodies are streamed with chunked transfer encoding, item by item, so a 100,000-product feed
never sits in the emulator's memory as one string.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime as dt
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape, quoteattr

from sandbox.catalog import (
    COLOUR,
    EPOCH,
    SIZE,
    Catalog,
    Image,
    Product,
    Variant,
    generate_catalog,
)
from sandbox.cli import common_parser, run
from sandbox.server import MAX_BODY_BYTES, Emulator, Request, Response, Switches, route

G_NS = "http://base.google.com/ns/1.0"
ATOM_NS = "http://www.w3.org/2005/Atom"
NOKAUT_DOCTYPE = '<!DOCTYPE nokaut SYSTEM "http://www.nokaut.pl/integracja/nokaut.dtd">\n'
CHUNK_ITEMS = 50
_HUGE_CHUNK = 64 * 1024
#: bytes per piece of a trickling (slow) answer
TRICKLE_PIECE = 16 * 1024
_UNAUTHORIZED = ("<!DOCTYPE html><html><head><title>401 Unauthorized</title></head>"
                 "<body><h1>Brak dostępu</h1></body></html>")


def cdata(text: str) -> str:
    """A CDATA section (a ``]]>`` inside is split across two sections)."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def money(value: Decimal) -> str:
    """Gross price as feeds write it: two decimals, a dot."""
    return f"{value:.2f}"


def number(value: Decimal) -> str:
    """A quantity or weight without trailing zeros."""
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


@dataclass
class StreamedResponse(Response):
    """An answer whose body is produced chunk by chunk (sent with chunked encoding)."""

    chunks: Callable[[], Iterator[bytes]] = field(default=lambda: iter(()))
    trickle: float = 0.0


@dataclass
class FeedSwitches:
    """How the feeds are served (see the module docstring)."""

    encoding: str = "utf-8"
    declared_encoding: str | None = None
    gzip: str | None = None
    basic_auth: tuple[str, str] | None = None
    trickle: float = 0.0
    huge_bytes: int = 0
    truncate_at: int | None = None
    limit_items: int | None = None
    doctype: bool = False


class FeedEmulator(Emulator):
    """A shop's published feeds on 127.0.0.1, rendering ``catalog``.

    ``shop_url`` is the address written into product links and images (feeds carry absolute
    URLs); by default the emulator itself, which also serves the image files under
    ``/userdata/gfx/`` (no auth, never throttled by the feed switches). Call :meth:`bump`
    after changing the catalog.
    """

    name = "feeds"

    def __init__(self, catalog: Catalog | None = None, *, n_products: int = 60, seed: int = 42,
                 switches: Switches | None = None, feed: FeedSwitches | None = None,
                 shop_url: str | None = None) -> None:
        super().__init__(switches=switches)
        self.catalog = catalog if catalog is not None else generate_catalog(n_products, seed)
        self.feed = feed or FeedSwitches()
        self._shop_url = shop_url.rstrip("/") if shop_url else None
        self.version = 1
        self.modified = EPOCH
        self.bytes_sent = 0
        self._image_files: dict[str, Image] | None = None
        self._sent_lock = threading.Lock()

    # -- test hooks -------------------------------------------------------------------------
    def bump(self, moment: dt.datetime | None = None) -> None:
        """The shop regenerated its feed (new ETag and Last-Modified)."""
        self.version += 1
        self._image_files = None
        self.modified = moment or self.modified + dt.timedelta(hours=1)

    @property
    def shop_url(self) -> str:
        """The storefront address in links and images: the emulator itself unless given."""
        return self._shop_url or self.url

    def product_url(self, product: Product) -> str:
        """The public product page a feed links to."""
        return f"{self.shop_url}/p/{product.slug}"

    def image_base(self) -> str:
        """Where image files live (``catalog.product_records(image_url=...)``)."""
        return f"{self.shop_url}/userdata/gfx"

    def apply_switches(self, values: dict[str, Any]) -> None:
        """The machinery's switches plus the feed's own (``encoding``, ``gzip``, ...)."""
        super().apply_switches(values)
        for name in FeedSwitches.__dataclass_fields__:
            if name in values:
                value = values[name]
                setattr(self.feed, name, tuple(value) if name == "basic_auth" and value
                        else value)

    def state(self) -> Any:
        """Version, switches, and how much was served."""
        return {"version": self.version, "modified": self.modified.isoformat(),
                "products": len(self.catalog.products), "bytes_sent": self.bytes_sent,
                "feed": {k: getattr(self.feed, k) for k in FeedSwitches.__dataclass_fields__}}

    # -- routes -----------------------------------------------------------------------------
    def before_request(self, request: Request) -> Response | None:
        """Basic auth when switched on (an HTML 401, like a web server's)."""
        if self.feed.basic_auth is None or not request.path.startswith("/feeds/"):
            return None
        user, password = self.feed.basic_auth
        expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        if request.header("authorization") != expected:
            return Response(401, _UNAUTHORIZED, {"WWW-Authenticate": 'Basic realm="feeds"'},
                            content_type="text/html; charset=utf-8")
        return None

    @route("GET", r"/feeds/ceneo\.xml")
    def ceneo(self, request: Request) -> Response:
        """Ceneo XML."""
        return self._feed(request, "ceneo", self._ceneo)

    @route("GET", r"/feeds/google\.xml")
    def google_rss(self, request: Request) -> Response:
        """Google Merchant RSS 2.0."""
        return self._feed(request, "rss", self._rss)

    @route("GET", r"/feeds/google\.atom")
    def google_atom(self, request: Request) -> Response:
        """Google Merchant Atom 1.0."""
        return self._feed(request, "atom", self._atom)

    @route("GET", r"/userdata/gfx/(?P<filename>[^/]+)")
    def image(self, request: Request, filename: str) -> Response:
        """A product or variant image file."""
        if self._image_files is None:
            self._image_files = {img.filename: img for img in self.catalog.images()}
        image = self._image_files.get(filename)
        if image is None:
            return Response(404, b"no such file", content_type="text/plain")
        return Response(200, image.content, content_type=image.content_type)

    @route("GET", r"/go")
    def redirect(self, request: Request) -> Response:
        """An open redirect to ``?to=``."""
        return Response(302, b"", {"Location": request.arg("to") or "/"},
                        content_type="text/plain")

    # -- serving ----------------------------------------------------------------------------
    def _feed(self, request: Request, kind: str, render: Callable[[], Iterator[str]]
              ) -> Response:
        sw = self.feed
        etag = f'W/"{kind}-{self.version}-{sw.encoding}"'
        modified = format_datetime(self.modified, usegmt=True)
        validators = {"ETag": etag, "Last-Modified": modified}
        if request.header("if-none-match") == etag or self._not_modified_since(request):
            return Response(304, b"", validators, content_type="application/xml")
        headers = dict(validators)
        content_type = f"application/xml; charset={sw.declared_encoding or sw.encoding}"
        gzipped = sw.gzip == "file" or (
            sw.gzip == "content-encoding"
            and "gzip" in (request.header("accept-encoding") or ""))
        if sw.gzip == "file":
            content_type = "application/gzip"
        elif gzipped:
            headers["Content-Encoding"] = "gzip"

        def body() -> Iterator[bytes]:
            raw = self._encoded(render())
            yield from _cut(_gzipped(raw) if gzipped else raw, sw.truncate_at)

        return StreamedResponse(200, b"", headers, content_type, chunks=body,
                                trickle=sw.trickle)

    def _not_modified_since(self, request: Request) -> bool:
        since = request.header("if-modified-since")
        if not since or request.header("if-none-match"):
            return False
        try:
            return self.modified <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False

    def _encoded(self, parts: Iterator[str]) -> Iterator[bytes]:
        encoding = self.feed.encoding
        buffer: list[str] = []
        for index, part in enumerate(parts, start=1):
            buffer.append(part)
            if index % CHUNK_ITEMS == 0:
                yield "".join(buffer).encode(encoding, "xmlcharrefreplace")
                buffer.clear()
        if buffer:
            yield "".join(buffer).encode(encoding, "xmlcharrefreplace")

    def _products(self) -> list[Product]:
        limit = self.feed.limit_items
        return self.catalog.products if limit is None else self.catalog.products[:limit]

    def _prologue(self) -> str:
        declared = self.feed.declared_encoding or self.feed.encoding
        return (f'<?xml version="1.0" encoding="{declared.upper()}"?>\n'
                + (NOKAUT_DOCTYPE if self.feed.doctype else ""))

    def _padding(self) -> Iterator[str]:
        left = self.feed.huge_bytes
        while left > 0:
            size = min(left, _HUGE_CHUNK)
            yield "<!--" + "x" * max(0, size - 7) + "-->"
            left -= size

    # -- Ceneo ------------------------------------------------------------------------------
    def _ceneo(self) -> Iterator[str]:
        yield self._prologue()
        yield ('<offers xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="1">\n'
               '<group name="other">\n')
        for product in self._products():
            for variant in product.variants:
                yield self._ceneo_offer(product, variant)
        yield from self._padding()
        yield "</group>\n</offers>\n"

    def _ceneo_offer(self, product: Product, variant: Variant) -> str:
        multi = not product.is_simple
        offer_id = f"{product.id}_{variant.id}" if multi else str(product.id)
        name = product.name
        if variant.options:
            name += " " + " ".join(value for _, value in variant.options)
        attrs = {"id": offer_id, "url": self.product_url(product),
                 "price": money(variant.price_gross), "avail": str(_avail(product, variant))}
        if variant.stock is not None:
            attrs["stock"] = number(variant.stock)
        if variant.weight_kg is not None:
            attrs["weight"] = number(variant.weight_kg)
        attrs.update({"set": "0", "basket": "1"})
        head = " ".join(f"{k}={quoteattr(v)}" for k, v in attrs.items())
        category = self.catalog.category(product.category_ids[0])
        images = self._images(product, variant)
        imgs = "".join(
            f"<{'main' if i == 0 else 'i'} url={quoteattr(url)}/>"
            for i, url in enumerate(images))
        features: list[tuple[str, str]] = []
        if product.brand:
            features.append(("Producent", product.brand))
        features.append(("Kod_producenta", variant.sku))
        if variant.ean:
            features.append(("EAN", variant.ean))
        features += list(product.attributes.items())
        features += list(variant.options)
        if multi:
            features.append(("ProductSetId", str(product.id)))
        attr_xml = "".join(f"<a name={quoteattr(n)}>{cdata(v)}</a>" for n, v in features)
        return (f"<o {head}>\n<cat>{cdata('/'.join(category.path))}</cat>\n"
                f"<name>{cdata(name)}</name>\n<imgs>{imgs}</imgs>\n"
                f"<desc>{cdata(product.description_html)}</desc>\n"
                f"<attrs>{attr_xml}</attrs>\n</o>\n")

    def _images(self, product: Product, variant: Variant) -> list[str]:
        """Variant's own image first (it is what that offer shows), then the product's."""
        base = self.image_base()
        own = [f"{base}/{variant.image.filename}"] if variant.image else []
        return own + [f"{base}/{img.filename}" for img in product.images]

    # -- Google -----------------------------------------------------------------------------
    def _google_fields(self, product: Product, variant: Variant) -> list[str]:
        fields = [f"<g:id>{escape(str(variant.id))}</g:id>"]
        if not product.is_simple:
            fields.append(f"<g:item_group_id>{product.id}</g:item_group_id>")
        images = self._images(product, variant)
        if images:
            fields.append(f"<g:image_link>{escape(images[0])}</g:image_link>")
            fields += [f"<g:additional_image_link>{escape(u)}</g:additional_image_link>"
                       for u in images[1:]]
        fields.append(f"<g:availability>{_availability(product, variant)}</g:availability>")
        fields.append(f"<g:price>{money(variant.price_gross)} PLN</g:price>")
        if product.brand:
            fields.append(f"<g:brand>{escape(product.brand)}</g:brand>")
        if variant.ean:
            fields.append(f"<g:gtin>{variant.ean}</g:gtin>")
        fields.append(f"<g:mpn>{escape(variant.sku)}</g:mpn>")
        fields.append("<g:condition>new</g:condition>")
        for category_id in product.category_ids:
            path = " > ".join(self.catalog.category(category_id).path)
            fields.append(f"<g:product_type>{escape(path)}</g:product_type>")
        options = dict(variant.options)
        if SIZE in options:
            fields.append(f"<g:size>{escape(options[SIZE])}</g:size>")
        if COLOUR in options:
            fields.append(f"<g:color>{escape(options[COLOUR])}</g:color>")
        if variant.weight_kg is not None:
            fields.append(f"<g:shipping_weight>{number(variant.weight_kg)} kg"
                          "</g:shipping_weight>")
        for name, value in product.attributes.items():
            fields.append(f"<g:product_detail><g:section_name>Ogólne</g:section_name>"
                          f"<g:attribute_name>{escape(name)}</g:attribute_name>"
                          f"<g:attribute_value>{escape(value)}</g:attribute_value>"
                          "</g:product_detail>")
        return fields

    def _rss(self) -> Iterator[str]:
        yield self._prologue()
        yield (f'<rss version="2.0" xmlns:g="{G_NS}">\n<channel>\n'
               f"<title>Sklep demonstracyjny</title>\n<link>{self.shop_url}</link>\n"
               "<description>Produkty sklepu</description>\n")
        for product in self._products():
            for variant in product.variants:
                yield ("<item>\n" + f"<title>{escape(product.name)}</title>\n"
                       + f"<link>{escape(self.product_url(product))}</link>\n"
                       + f"<description>{escape(product.description_html)}</description>\n"
                       + "\n".join(self._google_fields(product, variant)) + "\n</item>\n")
        yield from self._padding()
        yield "</channel>\n</rss>\n"

    def _atom(self) -> Iterator[str]:
        yield self._prologue()
        updated = self.modified.isoformat().replace("+00:00", "Z")
        yield (f'<feed xmlns="{ATOM_NS}" xmlns:g="{G_NS}">\n'
               f"<title>Sklep demonstracyjny</title>\n<link href={quoteattr(self.shop_url)}"
               f' rel="alternate" type="text/html"/>\n<updated>{updated}</updated>\n'
               f"<id>{self.shop_url}/feeds/google.atom</id>\n")
        for product in self._products():
            for variant in product.variants:
                title = product.name
                if variant.options:
                    title += " (" + ", ".join(v for _, v in variant.options) + ")"
                yield ("<entry>\n" + f"<id>{self.shop_url}/item/{variant.id}</id>\n"
                       + f"<title>{escape(title)}</title>\n"
                       + f"<link href={quoteattr(self.product_url(product))}/>\n"
                       + f"<summary>{escape(product.description_html)}</summary>\n"
                       + f"<updated>{updated}</updated>\n"
                       + "\n".join(self._google_fields(product, variant)) + "\n</entry>\n")
        yield from self._padding()
        yield "</feed>\n"

    # -- lifecycle: a handler that can stream ----------------------------------------------
    def start(self, port: int = 0) -> FeedEmulator:
        """Serve on 127.0.0.1 from a background thread (streamed bodies supported)."""
        self._server = _Server(("127.0.0.1", port), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name="feeds-server", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self, port: int = 0) -> None:
        """Serve in the foreground."""
        self._server = _Server(("127.0.0.1", port), _handler(self))
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()

    def count_sent(self, size: int) -> None:
        """Bytes of feed bodies written to sockets (tests check what a cap really stopped)."""
        with self._sent_lock:
            self.bytes_sent += size


def _avail(product: Product, variant: Variant) -> int:
    """Ceneo's delivery code: 99 not for sale, 14 sold out but orderable, 1 in stock."""
    if not (product.active and variant.active):
        return 99
    return 14 if variant.stock == 0 else 1


def _availability(product: Product, variant: Variant) -> str:
    """Google's availability: out of stock when not for sale or sold out."""
    if not (product.active and variant.active) or variant.stock == 0:
        return "out_of_stock"
    return "in_stock"


def _gzipped(chunks: Iterator[bytes]) -> Iterator[bytes]:
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)
    for chunk in chunks:
        packed = packer.compress(chunk)
        if packed:
            yield packed
    yield packer.flush()


def _cut(chunks: Iterator[bytes], limit: int | None) -> Iterator[bytes]:
    if limit is None:
        yield from chunks
        return
    left = limit
    for chunk in chunks:
        if left <= 0:
            return
        yield chunk[:left]
        left -= len(chunk)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def _handler(emulator: FeedEmulator) -> type[BaseHTTPRequestHandler]:
    """The machinery's request handling, plus chunked, optionally slow, streamed bodies."""

    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "sandbox-feeds"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the request log is the emulator's record."""

        def _handle(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                self.send_error(413)
                return
            body = self.rfile.read(length) if length else b""
            request = Request(method=self.command, path=parts.path,
                              query=parse_qs(parts.query, keep_blank_values=True),
                              headers={k.lower(): v for k, v in self.headers.items()},
                              body=body)
            try:
                response = emulator.dispatch(request)
            except Exception as exc:  # an emulator bug must show, not hang the client
                response = Response.json({"error": "emulator_bug", "detail": repr(exc)}, 500)
            if response is None:
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            for key, value in response.headers.items():
                self.send_header(key, value)
            if isinstance(response, StreamedResponse) and self.command != "HEAD":
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self._stream(response)
                return
            payload = response.encoded()
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        def _stream(self, response: StreamedResponse) -> None:
            try:
                for whole in response.chunks():
                    # a slow server sends small pieces, each after a pause
                    step = TRICKLE_PIECE if response.trickle else max(1, len(whole))
                    for start in range(0, len(whole), step):
                        chunk = whole[start:start + step]
                        if response.trickle:
                            time.sleep(response.trickle)
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        emulator.count_sent(len(chunk))
                self.wfile.write(b"0\r\n\r\n")
            except OSError:  # the client hung up (a cap or a deadline): nothing to do
                self.close_connection = True

        do_GET = do_POST = do_HEAD = _handle  # noqa: N815

    return _Handler


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m sandbox.feeds``: serve the seeded shop's feeds until interrupted."""
    parser = common_parser("feeds")
    parser.add_argument("--encoding", default="utf-8",
                        help="utf-8, windows-1250 or iso-8859-2")
    parser.add_argument("--declared-encoding", default=None,
                        help="what the XML declaration claims (default: the real encoding)")
    parser.add_argument("--gzip", choices=["content-encoding", "file"], default=None)
    parser.add_argument("--basic-auth", default=None, metavar="USER:PASSWORD")
    parser.add_argument("--trickle", type=float, default=0.0,
                        help="seconds between body chunks (a slow server)")
    parser.add_argument("--huge-bytes", type=int, default=0,
                        help="bytes of padding inside the root (a huge feed)")
    parser.add_argument("--shop-url", default=None,
                        help="storefront address written into links and images "
                             "(default: the emulator, which serves the images)")

    def factory(args: argparse.Namespace, switches: Switches) -> FeedEmulator:
        auth = tuple(args.basic_auth.split(":", 1)) if args.basic_auth else None
        feed = FeedSwitches(encoding=args.encoding, declared_encoding=args.declared_encoding,
                            gzip=args.gzip, basic_auth=auth,
                            trickle=args.trickle, huge_bytes=args.huge_bytes)
        return FeedEmulator(n_products=args.products, seed=args.seed, switches=switches,
                            feed=feed, shop_url=args.shop_url)

    run("feeds", factory, argv, parser)


if __name__ == "__main__":
    main()
