"""Product images into the Gateway: copied, uploaded or hotlinked, each at most once.

Why this is its own module: image URLs come from shops, so fetching them is fetching
untrusted input (server-side request forgery is the risk: the target, or the Gateway in copy
mode, may sit next to internal services and a cloud metadata endpoint). So:

- a URL is read ONCE, by :func:`outbound_target`, and what it decides is what is used: the
  host is normalised first (NFKC, the ideographic full stops, IDNA), so ``１２７.０.０.１``
  and ``127。0。0。1`` are ``127.0.0.1``; the legacy IPv4 spellings HTTP libraries and
  browsers accept (``2130706433``, ``0x7f.1``, ``0177.0.0.1``) are read as the address they
  are; URLs that parsers read differently (a backslash, userinfo before ``@``, a
  percent-encoded or empty host, a zone id, control characters) are refused outright;
- the host is resolved once and EVERY address it resolves to must be public (not private,
  loopback, link-local, multicast, reserved, nor one of those embedded in an IPv6 address)
  unless ``allow_private_image_hosts`` is set; the download then connects to the address
  that was checked (:class:`SafeDownloader` dials it itself and sends the original host as
  ``Host`` and TLS SNI), so a DNS answer that changes between check and connect (rebinding)
  cannot point the download elsewhere; redirects are followed by hand, each hop read,
  resolved and checked the same way;
- every download is http(s) only, capped in size (streamed, never read whole first), bounded
  by a per-read timeout AND an overall deadline (a server sending one byte a second is cut
  off at the deadline, headers included), and must be a whole raster image: a body shorter
  than its ``Content-Length`` is a failed download, and the bytes must start with the magic
  of JPEG, PNG, GIF, WebP, BMP or TIFF (the ``Content-Type`` alone proves nothing; SVG is
  refused, it can carry script);
- in copy mode the Gateway fetches the URL, so the URL handed to its ``/downloads/`` is the
  normalised one, after the same resolution check (the Gateway resolves it again; what it
  does then is the Gateway's to guard); hotlinked URLs get the normalisation and a check of
  the host's spelling.

No image is written twice: uploads are named by content hash (``<sha1>.<ext>``), a memo maps
each source image (its URL, or the hash of a ``data:`` URI) to its Gateway URL for the run,
and what earlier runs recorded in ``data.image_sources`` is looked up in a store of known
images (:class:`KnownImages`: the on-disk index in a run, a dict in tests).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import http.client
import ipaddress
import re
import socket
import ssl
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote, unquote_to_bytes, urljoin, urlsplit

import idna

from target_gateway.gateway import USER_AGENT, GatewayClient

MAX_IMAGE_BYTES = 20 * 1024 * 1024
#: the longest one download may take when no deadline is given: twice the request timeout
#: (60 s at the default 30 s), redirects included
DEADLINE_PER_TIMEOUT = 2
MAX_REDIRECTS = 3
#: Source images remembered per run; the oldest finished ones are forgotten beyond this, so
#: memory stays flat on endless streams (a forgotten image is at worst copied once more).
MEMO_LIMIT = 50_000
#: The raster types uploaded, by the magic their bytes start with (no SVG: it can carry script)
_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"WEBP", 8, "image/webp"),  # after "RIFF" and a length
    (b"BM", 0, "image/bmp"),
    (b"II*\x00", 0, "image/tiff"),
    (b"MM\x00*", 0, "image/tiff"),
)
_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif",
               "image/webp": ".webp", "image/bmp": ".bmp", "image/tiff": ".tif"}
#: label separators IDNA maps to "." (ideographic, fullwidth and halfwidth full stops)
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
#: a host whose last label is a number is an IPv4 address to browsers and HTTP libraries
_NUMERIC_LABEL = re.compile(r"(0x[0-9a-f]*|[0-9]+)", re.IGNORECASE)
#: IPv6 prefixes that carry an IPv4 address in their last 32 bits (NAT64)
_URL_SAFE = "/%:@!$&'()*+,;=-._~"
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))

Resolver = Callable[..., list[tuple[Any, ...]]]
Dialer = Callable[[tuple[str, int], float], socket.socket]
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class ImageError(Exception):
    """An image that cannot be brought into the Gateway; the message says which and why."""


@dataclass(frozen=True)
class ImageData:
    """Downloaded or decoded image bytes (``content_type`` is what the bytes are)."""

    content_type: str
    content: bytes

    @property
    def sha1(self) -> str:
        """Content hash: the upload's name, so equal bytes are uploaded once."""
        return hashlib.sha1(self.content).hexdigest()  # noqa: S324 - a name, not security

    @property
    def filename(self) -> str:
        """``<sha1>.<ext>``."""
        return f"{self.sha1}{_EXTENSIONS.get(self.content_type, '.img')}"


def raster_type(content: bytes) -> str | None:
    """The raster image type the bytes' magic says, or None (SVG, HTML, anything else)."""
    for magic, offset, content_type in _MAGIC:
        if content[offset:offset + len(magic)] == magic and (
                content_type != "image/webp" or content.startswith(b"RIFF")):
            return content_type
    return None


def raster_image(content: bytes, declared: str, what: str) -> ImageData:
    """The bytes as an :class:`ImageData` if they are a raster image, else ImageError."""
    sniffed = raster_type(content)
    if sniffed is None:
        raise ImageError(f"{what} is not a raster image (its bytes are not JPEG, PNG, GIF, "
                         f"WebP, BMP or TIFF; declared {declared or 'untyped'})")
    return ImageData(sniffed, content)


def source_ref(image: dict[str, Any]) -> str:
    """How a source image is identified across runs: its URL, or a hash of a data: URI."""
    url = str(image.get("url") or "")
    if url.startswith("data:"):
        return "data:sha1:" + hashlib.sha1(url.encode()).hexdigest()  # noqa: S324
    return url


def parse_data_uri(uri: str, max_bytes: int = MAX_IMAGE_BYTES) -> ImageData:
    """The bytes of a ``data:image/...;base64,...`` URI (size-capped, raster images only)."""
    header, sep, payload = uri.partition(",")
    if not sep or not header.startswith("data:"):
        raise ImageError("malformed data: URI")
    params = header[5:].split(";")
    content_type = (params[0] or "text/plain").strip().lower()
    if not content_type.startswith("image/"):
        raise ImageError(f"data: URI is {content_type}, not an image")
    if len(payload) > max_bytes * 4 // 3 + 4:
        raise ImageError(f"data: URI image is larger than {max_bytes} bytes")
    try:
        content = (base64.b64decode(payload, validate=True) if "base64" in params[1:]
                   else unquote_to_bytes(payload))
    except (binascii.Error, ValueError) as exc:
        raise ImageError("data: URI is not valid base64") from exc
    if len(content) > max_bytes:
        raise ImageError(f"data: URI image is larger than {max_bytes} bytes")
    if not content:
        raise ImageError("data: URI holds no bytes")
    return raster_image(content, content_type, "data: URI image")


# -- outbound URLs: read once, resolve once, connect to what was checked ---------------------
@dataclass(frozen=True)
class Outbound:
    """An http(s) URL as it will be used: scheme, ASCII host, port, the request target."""

    scheme: str
    host: str  # lowercase ASCII (IDNA), an IP address in canonical form, or a DNS name
    port: int
    target: str  # path and query, as sent in the request line
    address: Address | None  # the host when it is an IP address

    @property
    def default_port(self) -> bool:
        """True when the port is the scheme's own (then the URL and Host leave it out)."""
        return self.port == (443 if self.scheme == "https" else 80)

    @property
    def netloc(self) -> str:
        """``host[:port]`` as a URL and the ``Host`` header write it."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.default_port else f"{host}:{self.port}"

    @property
    def url(self) -> str:
        """The normalised URL (what is fetched, or handed to the Gateway)."""
        return f"{self.scheme}://{self.netloc}{self.target}"


def outbound_target(url: str) -> Outbound:
    """Read an image URL once (see the module docstring); ImageError when it is not a plain
    http(s) URL that every parser reads the same way."""
    shown = _short(url)
    if any(ch == "\\" or ord(ch) < 0x20 or 0x7f <= ord(ch) <= 0x9f for ch in url):
        raise ImageError(f"image URL {shown!r} holds a backslash or a control character "
                         "(HTTP libraries read such URLs differently); refused")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ImageError(f"only http(s) image URLs can be downloaded: {shown}")
    if "@" in parts.netloc:
        raise ImageError(f"image URL {shown} carries a user name or password before '@' "
                         "(a way to disguise the host); refused")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise ImageError(f"image URL {shown} has an invalid port") from None
    raw = parts.netloc
    if raw.startswith("["):
        raw, _, rest = raw[1:].partition("]")
        if rest and not rest.startswith(":"):
            raise ImageError(f"image URL {shown} has a malformed IPv6 host")
    else:
        raw = raw.rpartition(":")[0] if ":" in raw else raw
    host, address = normalise_host(raw, shown)
    if " " in parts.netloc:
        raise ImageError(f"image URL {shown!r} has a space in its host")
    # spaces and non-ASCII letters in the path are common in shops' image names
    target = quote(parts.path or "/", safe=_URL_SAFE) + (
        f"?{quote(parts.query, safe=_URL_SAFE + '?')}" if parts.query else "")
    return Outbound(scheme, host, port, target, address)


def normalise_host(raw: str, shown: str) -> tuple[str, Address | None]:
    """(ASCII host, its IP address if it is one) of a URL's host as written."""
    if not raw:
        raise ImageError(f"image URL {shown} has no host")
    if "%" in raw:
        raise ImageError(f"image URL {shown} has a percent-encoded host or a zone id; refused")
    host = unicodedata.normalize("NFKC", raw).translate(_DOTS).lower()
    if host.endswith("."):
        host = host[:-1]
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii").lower()
        except (idna.IDNAError, UnicodeError, ValueError):
            raise ImageError(f"image URL {shown} has a host that is not a valid "
                             "internationalised domain name") from None
    if not host or ".." in host or host.startswith("."):
        raise ImageError(f"image URL {shown} has a malformed host")
    try:
        address: Address = ipaddress.ip_address(host)
    except ValueError:
        if not _NUMERIC_LABEL.fullmatch(host.rsplit(".", 1)[-1]):
            if not re.fullmatch(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*", host):
                raise ImageError(f"image URL {shown} has a malformed host") from None
            return host, None
        try:  # the legacy spellings libraries accept: 2130706433, 0x7f.1, 0177.0.0.1
            address = ipaddress.IPv4Address(socket.inet_aton(host))
        except (OSError, ValueError):
            raise ImageError(f"image URL {shown} has a numeric host that is not an IPv4 "
                             "address") from None
    return str(address), address


def is_public(address: Address) -> bool:
    """A public unicast address, also for what an IPv6 address carries (mapped IPv4, 6to4,
    Teredo, NAT64)."""
    candidates: list[Address] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        embedded = [address.ipv4_mapped, address.sixtofour,
                    address.teredo[1] if address.teredo else None]
        if any(address in network for network in _NAT64):
            embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        candidates += [e for e in embedded if e is not None]
    return all(a.is_global and not a.is_multicast and not a.is_unspecified
               for a in candidates)


def _refuse(host: str, address: Address, resolved: bool) -> ImageError:
    how = "resolves to" if resolved else "is"
    return ImageError(f"image host {host} {how} a private, loopback or link-local address "
                      f"({address}); set allow_private_image_hosts to allow it")


def check_host(host: str, port: int, *, allow_private: bool,
               resolve: Resolver | None = None) -> list[Address]:
    """Resolve ``host`` once; every address it has (refused unless all are public, or
    private hosts are allowed), in the resolver's order."""
    lookup = resolve or socket.getaddrinfo  # looked up at call time (tests stub it)
    try:
        infos = lookup(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise ImageError(f"cannot resolve image host {host}") from exc
    addresses: list[Address] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not allow_private and not is_public(address):
            raise _refuse(host, address, resolved=True)
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise ImageError(f"cannot resolve image host {host}")
    return addresses


def checked_addresses(target: Outbound, *, allow_private: bool,
                      resolve: Resolver | None = None) -> list[Address]:
    """The addresses a download of ``target`` may connect to (the checked ones)."""
    if target.address is not None:
        if not allow_private and not is_public(target.address):
            raise _refuse(target.host, target.address, resolved=False)
        return [target.address]
    if target.host == "localhost" or target.host.endswith(".localhost"):
        loopback = ipaddress.ip_address("127.0.0.1")
        if not allow_private:
            raise _refuse(target.host, loopback, resolved=True)
    return check_host(target.host, target.port, allow_private=allow_private, resolve=resolve)


def check_literal_host(url: str) -> str:
    """The normalised URL, refused when its host is private by its very spelling
    (``127.0.0.1``, ``localhost``, ``169.254.169.254``, ``[::1]``, ``2130706433``,
    ``１２７.０.０.１``).

    For hotlinked URLs (shoppers' browsers load them): no DNS lookup is made for them, but
    such an address is never a public image.
    """
    target = outbound_target(url)
    host = target.host
    if target.address is not None and not is_public(target.address):
        raise _refuse(host, target.address, resolved=False)
    if host == "localhost" or host.endswith(".localhost"):
        raise _refuse(host, ipaddress.ip_address("127.0.0.1"), resolved=False)
    return target.url


def _dial(address: tuple[str, int], timeout: float) -> socket.socket:
    return socket.create_connection(address, timeout=timeout)  # looked up at call time


class SafeDownloader:
    """Capped, checked image downloads (see the module docstring).

    ``resolve`` (``socket.getaddrinfo``'s shape) and ``dial`` (``socket.create_connection``'s)
    are the only ways out to the network; tests replace them.
    """

    def __init__(self, *, timeout: float = 30, max_bytes: int = MAX_IMAGE_BYTES,
                 deadline: float | None = None, allow_private: bool = False,
                 resolve: Resolver | None = None, dial: Dialer | None = None,
                 tls: ssl.SSLContext | None = None) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.deadline = deadline if deadline is not None else DEADLINE_PER_TIMEOUT * timeout
        self.allow_private = allow_private
        self._resolve = resolve
        self._dial = dial or _dial
        self._tls = tls

    def public_url(self, url: str) -> str:
        """The normalised URL after the same checks a download makes (copy mode)."""
        target = outbound_target(url)
        if not self.allow_private:
            checked_addresses(target, allow_private=False, resolve=self._resolve)
        return target.url

    def fetch(self, url: str) -> ImageData:
        """The image at ``url``, or ImageError."""
        ends = time.monotonic() + self.deadline
        for _hop in range(MAX_REDIRECTS + 1):
            target = outbound_target(url)
            addresses = checked_addresses(target, allow_private=self.allow_private,
                                          resolve=self._resolve)
            location = self._get(target, addresses[0], ends)
            if isinstance(location, ImageData):
                return location
            url = urljoin(target.url, location)
        raise ImageError(f"too many redirects for {_short(url)}")

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            try:
                import certifi  # what requests verifies with
                self._tls = ssl.create_default_context(cafile=certifi.where())
            except ImportError:  # pragma: no cover - certifi comes with requests
                self._tls = ssl.create_default_context()
        return self._tls

    def _get(self, target: Outbound, address: Address, ends: float) -> ImageData | str:
        """One GET to the checked address: the image, or a redirect's Location."""
        shown = _short(target.url)
        left = ends - time.monotonic()
        if left <= 0:
            raise ImageError(f"image {shown} took longer than {self.deadline:g} s")
        try:
            sock = self._dial((str(address), target.port), min(self.timeout, left))
        except OSError as exc:
            raise ImageError(f"could not download {shown}: {type(exc).__name__}") from None
        # the overall deadline: a watchdog cuts the connection, wherever the read is (a server
        # dribbling its headers one byte a second never trips the per-read timeout)
        live = [sock]  # what the watchdog cuts (the TLS socket once wrapped)
        watchdog = threading.Timer(left, _cut, args=(live,))
        watchdog.daemon = True
        watchdog.start()
        try:
            if target.scheme == "https":
                sock = live[0] = self._tls_context().wrap_socket(
                    sock, server_hostname=target.host)
            connection = http.client.HTTPConnection(target.host, target.port,
                                                    timeout=self.timeout)
            connection.sock = sock  # connect to the checked address, not a new lookup
            try:
                connection.request("GET", target.target, headers={
                    "Host": target.netloc, "User-Agent": USER_AGENT, "Accept": "image/*"})
                answer = connection.getresponse()
                if answer.status in (301, 302, 303, 307, 308) and answer.getheader("Location"):
                    return str(answer.getheader("Location"))
                return self._read(shown, answer, ends)
            finally:
                connection.close()
        except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
            if time.monotonic() >= ends:
                raise ImageError(f"image {shown} took longer than {self.deadline:g} s") \
                    from None
            raise ImageError(f"could not download {shown}: {type(exc).__name__}") from None
        finally:
            watchdog.cancel()
            sock.close()

    def _read(self, shown: str, answer: http.client.HTTPResponse, ends: float) -> ImageData:
        if answer.status != 200:
            raise ImageError(f"image {shown} answered {answer.status}")
        content_type = (answer.getheader("Content-Type") or "").split(";")[0].strip().lower()
        if not content_type.startswith("image/"):
            raise ImageError(f"{shown} is {content_type or 'untyped'}, not an image")
        declared_text = (answer.getheader("Content-Length") or "").strip()
        declared = int(declared_text) if declared_text.isdigit() else None
        if declared is not None and declared > self.max_bytes:
            raise ImageError(f"image {shown} is larger than {self.max_bytes} bytes")
        chunks, size = [], 0
        while True:
            chunk = answer.read1(64 * 1024)
            if time.monotonic() >= ends:
                raise ImageError(f"image {shown} took longer than {self.deadline:g} s")
            if not chunk:
                break
            size += len(chunk)
            if size > self.max_bytes:
                raise ImageError(f"image {shown} is larger than {self.max_bytes} bytes")
            chunks.append(chunk)
        if declared is not None and size != declared:
            raise ImageError(f"image {shown} ended after {size} of its {declared} bytes "
                             "(Content-Length); a cut-off download is not an image")
        return raster_image(b"".join(chunks), content_type, f"image {shown}")


def _cut(live: list[socket.socket]) -> None:
    """Unblock whatever read is waiting on the download's socket (its deadline passed)."""
    with contextlib.suppress(OSError):
        live[0].shutdown(socket.SHUT_RDWR)


def _short(url: str) -> str:
    return url if len(url) <= 120 else url[:117] + "..."


class KnownImages(Protocol):
    """Images the Gateway already has from earlier runs (see :class:`MemoryImages`)."""

    def remember_image(self, ref: str, gateway_url: str) -> None:
        """A source image an earlier run brought in (the first one recorded is kept)."""
        ...

    def image_url(self, ref: str) -> str | None:
        """The Gateway URL an earlier run gave this source image."""
        ...

    def remember_names(self, gateway_urls: Iterable[str]) -> None:
        """Gateway image URLs that exist, by file name."""
        ...

    def url_named(self, name: str) -> str | None:
        """The Gateway URL of an existing image file of this name."""
        ...


class MemoryImages:
    """:class:`KnownImages` in dicts (tests, small runs); a run uses the on-disk index."""

    def __init__(self) -> None:
        self._earlier: dict[str, str] = {}
        self._names: dict[str, str] = {}

    def remember_image(self, ref: str, gateway_url: str) -> None:
        """See :class:`KnownImages`."""
        self._earlier.setdefault(ref, gateway_url)

    def image_url(self, ref: str) -> str | None:
        """See :class:`KnownImages`."""
        return self._earlier.get(ref)

    def remember_names(self, gateway_urls: Iterable[str]) -> None:
        """See :class:`KnownImages`."""
        for url in gateway_urls:
            self._names.setdefault(url.rsplit("/", 1)[-1], url)

    def url_named(self, name: str) -> str | None:
        """See :class:`KnownImages`."""
        return self._names.get(name)


class ImageResolver:
    """Source image -> Gateway URL by ``image_mode``, memoised and safe for worker threads.

    ``on_image(kind)`` is told each distinct image's outcome: copied, uploaded, reused or
    hotlinked.
    """

    def __init__(self, client: GatewayClient, downloader: SafeDownloader, mode: str,
                 on_image: Callable[[str], None] = lambda kind: None,
                 known: KnownImages | None = None) -> None:
        self.client = client
        self.downloader = downloader
        self.mode = mode
        self.on_image = on_image
        self.known: KnownImages = known if known is not None else MemoryImages()
        self._lock = threading.Lock()
        # a Future while an image is being brought in (others showing it wait on it), then
        # just its Gateway URL: a finished Future costs ~2 KB, tens of MB on a big catalog
        self._memo: OrderedDict[str, Future[str] | str] = OrderedDict()
        self._by_content: OrderedDict[str, Future[str] | str] = OrderedDict()

    def remember(self, ref: str, gateway_url: str) -> None:
        """A source image an earlier run already brought in (from ``data.image_sources``)."""
        self.known.remember_image(ref, gateway_url)

    def remember_names(self, gateway_urls: list[str]) -> None:
        """Gateway image URLs that exist; an upload whose name is among them is skipped."""
        self.known.remember_names(gateway_urls)

    def resolve(self, image: dict[str, Any]) -> str:
        """The Gateway URL of one contract image; ImageError or GatewayError on failure."""
        ref = source_ref(image)
        future, owner = _claim(self._memo, ref, self._lock)
        if isinstance(future, str):
            return future
        if not owner:
            return future.result()
        try:
            url, kind = self._bring_in(image, ref)
        except Exception as exc:
            future.set_exception(exc)
            raise
        _settle(self._memo, ref, future, url, self._lock)
        self.on_image(kind)
        return url

    def _bring_in(self, image: dict[str, Any], ref: str) -> tuple[str, str]:
        earlier = self.known.image_url(ref)
        if earlier is not None:
            return earlier, "reused"
        url = str(image.get("url") or "")
        public = image.get("public") is not False
        if url.startswith("data:"):
            return self._upload(parse_data_uri(url, self.downloader.max_bytes))
        if not url.startswith(("http://", "https://")):
            raise ImageError(f"unsupported image URL {_short(url)} (http(s) or data: only)")
        if public and self.mode == "hotlink":  # loaded by shoppers' browsers, not from here
            return (url if self.downloader.allow_private else check_literal_host(url)), \
                "hotlinked"
        if public and self.mode == "copy":  # fetched by the Gateway: checked the same way
            return self.client.copy_image(self.downloader.public_url(url)), "copied"
        return self._upload(self.downloader.fetch(url))

    def _upload(self, data: ImageData) -> tuple[str, str]:
        name = data.filename
        existing = self.known.url_named(name)
        if existing is not None:
            return existing, "reused"
        future, owner = _claim(self._by_content, name, self._lock)
        if isinstance(future, str):
            return future, "reused"
        if not owner:
            return future.result(), "reused"
        try:
            url = self.client.upload_image(name, data.content_type, data.content)
        except Exception as exc:
            future.set_exception(exc)
            raise
        _settle(self._by_content, name, future, url, self._lock)
        return url, "uploaded"


Memo = OrderedDict[str, "Future[str] | str"]


def _claim(memo: Memo, key: str, lock: threading.Lock) -> tuple[Future[str] | str, bool]:
    """The memo's entry for ``key`` and whether this caller must bring the image in (it
    created the entry), atomically."""
    with lock:
        entry = memo.get(key)
        if entry is not None:
            return entry, False
        future: Future[str] = Future()
        memo[key] = future
        _trim(memo)
        return future, True


def _settle(memo: Memo, key: str, future: Future[str], url: str, lock: threading.Lock) -> None:
    """Wake the waiters, then keep only the URL."""
    future.set_result(url)
    with lock:
        if memo.get(key) is future:
            memo[key] = url


def _trim(memo: Memo) -> None:
    """Forget the oldest settled entries beyond MEMO_LIMIT (call under the lock)."""
    while len(memo) > MEMO_LIMIT:
        key, oldest = next(iter(memo.items()))
        if isinstance(oldest, Future) and not oldest.done():
            return
        del memo[key]
