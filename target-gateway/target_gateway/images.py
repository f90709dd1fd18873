"""Product images into the Gateway: copied, uploaded or hotlinked, each at most once.

Why this is its own module: image URLs come from shops, so fetching them is fetching
untrusted input. Every download here is http(s) only, capped in size (streamed, never read
whole first), time and content type (``image/*``), and refused when the host resolves to a
private, loopback or link-local address (the target may run next to internal services),
unless ``allow_private_image_hosts`` is set. Redirects are followed by hand so that each hop
is checked again.

No image is written twice: uploads are named by content hash (``<sha1>.<ext>``), a memo maps
each source image (its URL, or the hash of a ``data:`` URI) to its Gateway URL for the run,
and what earlier runs recorded in ``data.image_sources`` is looked up in a store of known
images (:class:`KnownImages`: the on-disk index in a run, a dict in tests).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import mimetypes
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import unquote_to_bytes, urljoin, urlsplit

import requests

from target_gateway.gateway import USER_AGENT, GatewayClient

MAX_IMAGE_BYTES = 20 * 1024 * 1024
DOWNLOAD_DEADLINE = 60.0
MAX_REDIRECTS = 3
#: Source images remembered per run; the oldest finished ones are forgotten beyond this, so
#: memory stays flat on endless streams (a forgotten image is at worst copied once more).
MEMO_LIMIT = 50_000
_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif",
               "image/webp": ".webp", "image/svg+xml": ".svg", "image/avif": ".avif"}

Resolver = Callable[..., list[tuple[Any, ...]]]


class ImageError(Exception):
    """An image that cannot be brought into the Gateway; the message says which and why."""


@dataclass(frozen=True)
class ImageData:
    """Downloaded or decoded image bytes."""

    content_type: str
    content: bytes

    @property
    def sha1(self) -> str:
        """Content hash: the upload's name, so equal bytes are uploaded once."""
        return hashlib.sha1(self.content).hexdigest()  # noqa: S324 - a name, not security

    @property
    def filename(self) -> str:
        """``<sha1>.<ext>``."""
        ext = _EXTENSIONS.get(self.content_type) or mimetypes.guess_extension(
            self.content_type) or ".img"
        return f"{self.sha1}{ext}"


def source_ref(image: dict[str, Any]) -> str:
    """How a source image is identified across runs: its URL, or a hash of a data: URI."""
    url = str(image.get("url") or "")
    if url.startswith("data:"):
        return "data:sha1:" + hashlib.sha1(url.encode()).hexdigest()  # noqa: S324
    return url


def parse_data_uri(uri: str, max_bytes: int = MAX_IMAGE_BYTES) -> ImageData:
    """The bytes of a ``data:image/...;base64,...`` URI (size-capped, image/* only)."""
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
    return ImageData(content_type, content)


def check_host(host: str, port: int, *, allow_private: bool,
               resolve: Resolver = socket.getaddrinfo) -> None:
    """Refuse hosts that resolve to non-public addresses (unless allowed)."""
    try:
        infos = resolve(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ImageError(f"cannot resolve image host {host}") from exc
    if allow_private:
        return
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        mapped = getattr(address, "ipv4_mapped", None)
        if not (mapped or address).is_global:
            raise ImageError(f"image host {host} resolves to a private, loopback or link-local "
                             f"address ({address}); set allow_private_image_hosts to allow it")


def check_literal_host(url: str) -> None:
    """Refuse a URL whose host is private by its very spelling (``127.0.0.1``, ``localhost``,
    ``169.254.169.254``, ``[::1]``, ``10.1.2.3``, ``2130706433``).

    For URLs that are not downloaded here (the Gateway copies them, or shoppers' browsers
    load them) the DNS check of :func:`check_host` does not apply, but such an address is
    never a public image: handing it on would ask the Gateway to fetch its own internal
    services (cloud metadata among them).
    """
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = None
    if host == "localhost" or host.endswith(".localhost"):
        address = ipaddress.ip_address("127.0.0.1")
    else:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            try:  # the legacy spellings browsers and HTTP libraries accept: 127.1, 0x7f.1
                address = ipaddress.IPv4Address(socket.inet_aton(host))
            except (OSError, ValueError):
                return
    mapped = getattr(address, "ipv4_mapped", None)
    if not (mapped or address).is_global:
        raise ImageError(f"image host {host} is a private, loopback or link-local address "
                         f"({address}); set allow_private_image_hosts to allow it")


class SafeDownloader:
    """Capped, checked image downloads (see the module docstring)."""

    def __init__(self, *, timeout: float = 30, max_bytes: int = MAX_IMAGE_BYTES,
                 deadline: float = DOWNLOAD_DEADLINE, allow_private: bool = False,
                 session: requests.Session | None = None,
                 resolve: Resolver = socket.getaddrinfo) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.deadline = deadline
        self.allow_private = allow_private
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self._resolve = resolve

    def fetch(self, url: str) -> ImageData:
        """The image at ``url``, or ImageError."""
        started = time.monotonic()
        for _hop in range(MAX_REDIRECTS + 1):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ImageError(f"only http(s) image URLs can be downloaded: {_short(url)}")
            check_host(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80),
                       allow_private=self.allow_private, resolve=self._resolve)
            try:
                answer = self.session.get(url, stream=True, allow_redirects=False,
                                          timeout=(self.timeout, self.timeout))
            except requests.RequestException as exc:
                raise ImageError(f"could not download {_short(url)}: "
                                 f"{type(exc).__name__}") from None
            with answer:
                if answer.is_redirect and answer.headers.get("Location"):
                    url = urljoin(url, answer.headers["Location"])
                    continue
                return self._read(url, answer, started)
        raise ImageError(f"too many redirects for {_short(url)}")

    def _read(self, url: str, answer: requests.Response, started: float) -> ImageData:
        if answer.status_code != 200:
            raise ImageError(f"image {_short(url)} answered {answer.status_code}")
        content_type = (answer.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if not content_type.startswith("image/"):
            raise ImageError(f"{_short(url)} is {content_type or 'untyped'}, not an image")
        declared = answer.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            raise ImageError(f"image {_short(url)} is larger than {self.max_bytes} bytes")
        chunks, size = [], 0
        try:
            for chunk in answer.iter_content(64 * 1024):
                size += len(chunk)
                if size > self.max_bytes:
                    raise ImageError(f"image {_short(url)} is larger than {self.max_bytes} "
                                     "bytes")
                if time.monotonic() - started > self.deadline:
                    raise ImageError(f"image {_short(url)} took longer than {self.deadline} s")
                chunks.append(chunk)
        except requests.RequestException as exc:
            raise ImageError(f"could not download {_short(url)}: {type(exc).__name__}") from None
        return ImageData(content_type, b"".join(chunks))


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
        if public and self.mode in ("hotlink", "copy") and not self.downloader.allow_private:
            check_literal_host(url)  # not downloaded here, so only the spelling is checked
        if public and self.mode == "hotlink":
            return url, "hotlinked"
        if public and self.mode == "copy":
            return self.client.copy_image(url), "copied"
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
