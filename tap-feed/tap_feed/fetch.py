"""Downloading a feed: one conditional GET, streamed to a temporary file, every limit enforced.

Why not ``requests``: the address check must hold for the host that is *actually connected
to*. Resolving a name, checking it, then letting a library resolve it again leaves a gap
(DNS rebinding: the second answer may be 169.254.169.254). Here a connection resolves the
name once, refuses the whole host if any address is private, loopback, link-local or
reserved (cloud metadata among them), and connects to exactly the address it checked.
Redirects are followed by hand (at most :data:`MAX_REDIRECTS`), each hop checked the same
way; credentials go only to the host they were configured for.

Limits: ``timeout`` per connect/read, ``deadline`` for the whole download (a server that
trickles one byte a second is cut there), ``max_bytes`` on the body (the parser caps the
decompressed size again). 5xx, 429 and dropped connections are retried a bounded number of
times, ``Retry-After`` honoured up to a cap; everything else is a clear, final error.

Nothing here logs or raises the feed URL itself: it may carry a token (Comarch feeds do).
Messages name the host only.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import ipaddress
import os
import socket
import ssl
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

MAX_REDIRECTS = 5
RETRIES = 3
MAX_RETRY_WAIT = 60.0
_CHUNK = 64 * 1024

Resolver = Callable[..., list[tuple[Any, ...]]]
Connector = Callable[..., socket.socket]


class FetchError(Exception):
    """The feed could not be downloaded; the message says why and what to check."""


class RetryableFetchError(FetchError):
    """Worth another try (5xx, 429, a dropped connection)."""

    def __init__(self, message: str, wait: float | None = None) -> None:
        super().__init__(message)
        self.wait = wait


@dataclass
class FetchSettings:
    """How to fetch: URL, optional basic auth, limits, and the test-only loopback switch."""

    url: str
    username: str | None = None
    password: str | None = None
    timeout: float = 60.0
    deadline: float = 1800.0
    max_bytes: int = 1024 * 1024 * 1024
    user_agent: str = "tap-feed"
    allow_loopback: bool = False


@dataclass
class Fetched:
    """A download: ``path`` is None when the server said 304 Not Modified."""

    path: Path | None
    etag: str | None
    last_modified: str | None
    size: int = 0
    requests: int = 0


def address_allowed(address: str, *, allow_loopback: bool) -> bool:
    """Public addresses only; loopback too when allowed (the emulators, in tests)."""
    ip = ipaddress.ip_address(address.split("%")[0])
    mapped = getattr(ip, "ipv4_mapped", None)
    ip = mapped or ip
    if allow_loopback and ip.is_loopback:
        return True
    return ip.is_global


class Dialer:
    """Resolves, checks and connects: the one place a feed connection is opened."""

    def __init__(self, *, allow_loopback: bool, resolve: Resolver | None = None,
                 connect: Connector | None = None) -> None:
        self.allow_loopback = allow_loopback
        # looked up now, not at import: tests stub the connection layer so that no packet
        # can leave even if a check were wrong
        self.resolve = resolve or socket.getaddrinfo
        self.connect = connect or socket.create_connection

    def dial(self, host: str, port: int, timeout: float) -> socket.socket:
        """A connected socket to a checked address of ``host``."""
        try:
            infos = self.resolve(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise FetchError(f"cannot resolve the feed host {host}") from None
        addresses = [str(info[4][0]) for info in infos]
        for address in addresses:
            if not address_allowed(address, allow_loopback=self.allow_loopback):
                raise FetchError(f"the feed host {host} resolves to a private, loopback, "
                                 f"link-local or reserved address ({address}); a feed must "
                                 "be on the public internet")
        last: OSError | None = None
        for address in addresses:
            try:
                return self.connect((address, port), timeout)
            except OSError as exc:
                last = exc
        raise RetryableFetchError(f"cannot connect to the feed host {host} "
                                  f"({type(last).__name__ if last else 'no address'})")


class _Connection(http.client.HTTPConnection):
    """HTTP over a socket from :class:`Dialer` (``connect`` is http.client's public hook)."""

    def __init__(self, host: str, port: int, timeout: float, dialer: Dialer) -> None:
        super().__init__(host, port, timeout=timeout)
        self._dialer = dialer

    def connect(self) -> None:
        """Connect to the checked address."""
        self.sock = self._dialer.dial(self.host, self.port, float(self.timeout or 60))


class _TLSConnection(http.client.HTTPSConnection):
    """HTTPS over a socket from :class:`Dialer`, certificate checked against the host name."""

    def __init__(self, host: str, port: int, timeout: float, dialer: Dialer) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._dialer = dialer
        self._tls = ssl.create_default_context()

    def connect(self) -> None:
        """Connect to the checked address, then TLS with the host's name."""
        sock = self._dialer.dial(self.host, self.port, float(self.timeout or 60))
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


def retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta or HTTP date), capped."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = moment.timestamp() - time.time()
    return max(0.0, min(seconds, MAX_RETRY_WAIT))


def fetch(settings: FetchSettings, *, etag: str | None = None,
          last_modified: str | None = None, workdir: Path | None = None,
          dialer: Dialer | None = None, sleep: Callable[[float], None] = time.sleep
          ) -> Fetched:
    """Download the feed (or learn it is unchanged); retries bounded, deadline kept."""
    dialer = dialer or Dialer(allow_loopback=settings.allow_loopback)
    started = time.monotonic()
    requests = 0
    for attempt in range(1, RETRIES + 1):
        try:
            result = _fetch_once(settings, etag, last_modified, workdir, dialer, started)
            result.requests = requests + result.requests
            return result
        except RetryableFetchError as exc:
            requests += 1
            wait = exc.wait if exc.wait is not None else float(2 ** (attempt - 1))
            left = settings.deadline - (time.monotonic() - started)
            if attempt == RETRIES or wait >= left:
                raise FetchError(f"{exc} (gave up after {attempt} tries)") from None
            sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


def _fetch_once(settings: FetchSettings, etag: str | None, last_modified: str | None,
                workdir: Path | None, dialer: Dialer, started: float) -> Fetched:
    url = settings.url
    origin = urlsplit(url).hostname
    for hop in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise FetchError("the feed URL (or a redirect) is not an http(s) URL")
        host = parts.hostname
        port = parts.port or (443 if scheme == "https" else 80)
        factory = _TLSConnection if scheme == "https" else _Connection
        connection = factory(host, port, settings.timeout, dialer)
        headers = {"User-Agent": settings.user_agent, "Accept-Encoding": "gzip",
                   "Accept": "application/xml, text/xml, application/rss+xml, */*"}
        if settings.username is not None and host == origin:
            token = f"{settings.username}:{settings.password or ''}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(token).decode()
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request("GET", target, headers=headers)
            answer = connection.getresponse()
        except FetchError:
            connection.close()
            raise
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            _check_deadline(settings, started, host)
            raise RetryableFetchError(f"the feed host {host} did not answer "
                                      f"({type(exc).__name__})") from None
        try:
            status = answer.status
            if status in (301, 302, 303, 307, 308) and answer.getheader("Location"):
                url = urljoin(url, answer.getheader("Location") or "")
                continue
            if status == 304:
                return Fetched(None, etag, last_modified, 0, hop + 1)
            _check_status(status, host, answer)
            path, size = _save(answer, connection, settings, started, host, workdir)
            return Fetched(path, answer.getheader("ETag"), answer.getheader("Last-Modified"),
                           size, hop + 1)
        finally:
            connection.close()
    raise FetchError(f"the feed URL redirected more than {MAX_REDIRECTS} times")


def _check_status(status: int, host: str, answer: http.client.HTTPResponse) -> None:
    if status == 200:
        return
    if status in (401, 403):
        raise FetchError(f"the feed host {host} refused access ({status}): check username "
                         "and password, or whether the feed needs them")
    if status == 404:
        raise FetchError(f"the feed host {host} has no feed at that address (404): check "
                         "feed_url in the shop's admin")
    if status == 429 or status >= 500:
        raise RetryableFetchError(f"the feed host {host} answered {status}",
                                  retry_after(answer.getheader("Retry-After")))
    raise FetchError(f"the feed host {host} answered {status}")


def _check_deadline(settings: FetchSettings, started: float, host: str) -> None:
    if time.monotonic() - started >= settings.deadline:
        raise FetchError(f"the feed from {host} did not finish downloading within "
                         f"{settings.deadline:g} s (deadline)")


def _save(answer: http.client.HTTPResponse, connection: http.client.HTTPConnection,
          settings: FetchSettings, started: float, host: str, workdir: Path | None
          ) -> tuple[Path, int]:
    declared = answer.getheader("Content-Length")
    if declared and declared.isdigit() and int(declared) > settings.max_bytes:
        raise FetchError(f"the feed from {host} is {int(declared):,} bytes, more than "
                         f"max_bytes ({settings.max_bytes:,}); raise max_bytes if it is right")
    handle, name = tempfile.mkstemp(prefix="tap-feed-", suffix=".xml", dir=workdir)
    path = Path(name)
    size = 0
    try:
        with os.fdopen(handle, "wb") as out:
            while True:
                left = settings.deadline - (time.monotonic() - started)
                if left <= 0:
                    raise FetchError(f"the feed from {host} did not finish downloading "
                                     f"within {settings.deadline:g} s (deadline)")
                if connection.sock is not None:
                    connection.sock.settimeout(min(settings.timeout, left))
                try:
                    chunk = answer.read1(_CHUNK)
                except (OSError, http.client.HTTPException) as exc:
                    _check_deadline(settings, started, host)
                    raise RetryableFetchError(f"the download from {host} broke off "
                                              f"({type(exc).__name__})") from None
                if not chunk:
                    break
                size += len(chunk)
                if size > settings.max_bytes:
                    raise FetchError(f"the feed from {host} is larger than max_bytes "
                                     f"({settings.max_bytes:,} bytes); raise max_bytes if "
                                     "the shop's catalog really is that big")
                out.write(chunk)
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink()
        raise
    return path, size


def local_validator(path: Path) -> str:
    """A local file's stand-in for an ETag: size and modification time."""
    info = path.stat()
    return f"file:{info.st_size}:{info.st_mtime_ns}"
