"""Downloading a file from a URL nobody vetted: one GET (conditional if asked), streamed to a
temporary file, every limit enforced, every connection to a checked address.

Used by the taps whose source is a file at a URL (tap-feed's feed, tap-iai's IOF files, whose
URLs the shop itself hands out). Why not ``requests``: the address check must hold for the
host that is *actually connected to*. Resolving a name, checking it, then letting a library
resolve it again leaves a gap (DNS rebinding: the second answer may be 169.254.169.254). Here
a connection resolves the name once, refuses the whole host if any address is private,
loopback, link-local or reserved (cloud metadata among them), and connects to exactly the
address it checked. Redirects are followed by hand (at most :data:`MAX_REDIRECTS`), each hop
checked the same way; credentials go only to the host they were configured for.

Limits: ``timeout`` per connect/read, ``deadline`` for the whole download (a server that
trickles one byte a second is cut there), ``max_bytes`` on the body. 5xx, 429 and dropped
connections are retried a bounded number of times, ``Retry-After`` honoured up to a cap
(:func:`tapkit.retry.retry_after_value`); everything else is a clear, final error.

Nothing here logs or raises the URL itself: it may carry a token. Messages name the host
only. Tests stub the connection layer (``socket.getaddrinfo`` / ``socket.create_connection``,
looked up when a :class:`Dialer` is made) so that no packet can leave even if a check were
wrong.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import ipaddress
import json
import logging
import os
import socket
import ssl
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from tapkit.retry import retry_after_value

MAX_REDIRECTS = 5
RETRIES = 3
MAX_RETRY_WAIT = 60.0
_CHUNK = 64 * 1024

Resolver = Callable[..., list[tuple[Any, ...]]]
Connector = Callable[..., socket.socket]

logger = logging.getLogger("tapkit.download")


class DownloadError(Exception):
    """The file could not be downloaded; the message says why and what to check."""


class RetryableDownloadError(DownloadError):
    """Worth another try (5xx, 429, a dropped connection)."""

    def __init__(self, message: str, wait: float | None = None) -> None:
        super().__init__(message)
        self.wait = wait


@dataclass
class DownloadSettings:
    """How to download: URL, optional basic auth, limits, the words of messages, and the
    test-only loopback switch.

    ``what`` names the file in messages ("the feed host x.pl refused access"); ``size_setting``
    is the setting a user raises when ``max_bytes`` is too small (None: a fixed cap);
    ``refused_hint`` / ``missing_hint`` say what to check after 401/403 and 404.
    """

    url: str
    username: str | None = None
    password: str | None = None
    timeout: float = 60.0
    deadline: float = 1800.0
    max_bytes: int = 1024 * 1024 * 1024
    user_agent: str = "tapkit"
    allow_loopback: bool = False
    what: str = "file"
    size_setting: str | None = "max_bytes"
    refused_hint: str = "check the credentials"
    missing_hint: str = "check the URL"
    accept: str = "*/*"
    accept_gzip: bool = True
    json_body: Any = None
    prefix: str = "tapkit-"
    suffix: str = ""


@dataclass
class Downloaded:
    """A download: ``path`` is None when the server said 304 Not Modified."""

    path: Path | None
    etag: str | None
    last_modified: str | None
    size: int = 0
    requests: int = 0
    content_type: str = ""


def address_allowed(address: str, *, allow_loopback: bool) -> bool:
    """Public addresses only; loopback too when allowed (the emulators, in tests)."""
    ip = ipaddress.ip_address(address.split("%")[0])
    mapped = getattr(ip, "ipv4_mapped", None)
    ip = mapped or ip
    if allow_loopback and ip.is_loopback:
        return True
    return ip.is_global


class Dialer:
    """Resolves, checks and connects: the one place a download connection is opened."""

    def __init__(self, *, allow_loopback: bool, what: str = "file",
                 resolve: Resolver | None = None, connect: Connector | None = None) -> None:
        self.allow_loopback = allow_loopback
        self.what = what
        # looked up now, not at import: tests stub the connection layer so that no packet
        # can leave even if a check were wrong
        self.resolve = resolve or socket.getaddrinfo
        self.connect = connect or socket.create_connection

    def dial(self, host: str, port: int, timeout: float) -> socket.socket:
        """A connected socket to a checked address of ``host``."""
        try:
            infos = self.resolve(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise DownloadError(f"cannot resolve the {self.what} host {host}") from None
        addresses = [str(info[4][0]) for info in infos]
        for address in addresses:
            if not address_allowed(address, allow_loopback=self.allow_loopback):
                raise DownloadError(
                    f"the {self.what} host {host} resolves to a private, loopback, link-local "
                    f"or reserved address ({address}); a {self.what} must be on the public "
                    "internet")
        last: OSError | None = None
        for address in addresses:
            try:
                return self.connect((address, port), timeout)
            except OSError as exc:
                last = exc
        raise RetryableDownloadError(f"cannot connect to the {self.what} host {host} "
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


def download(settings: DownloadSettings, *, etag: str | None = None,
             last_modified: str | None = None, workdir: Path | None = None,
             dialer: Dialer | None = None, sleep: Callable[[float], None] = time.sleep
             ) -> Downloaded:
    """Download the file (or learn it is unchanged); retries bounded, deadline kept."""
    dialer = dialer or Dialer(allow_loopback=settings.allow_loopback, what=settings.what)
    started = time.monotonic()
    requests = 0
    for attempt in range(1, RETRIES + 1):
        try:
            result = _download_once(settings, etag, last_modified, workdir, dialer, started)
            result.requests = requests + result.requests
            return result
        except RetryableDownloadError as exc:
            requests += 1
            wait = exc.wait if exc.wait is not None else float(2 ** (attempt - 1))
            left = settings.deadline - (time.monotonic() - started)
            if attempt == RETRIES or wait >= left:
                raise DownloadError(f"{exc} (gave up after {attempt} tries)") from None
            logger.warning("Retrying the %s download in %.1f s (try %d): %s", settings.what,
                           wait, attempt, exc)
            sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


def _headers(settings: DownloadSettings, host: str, origin: str | None, etag: str | None,
             last_modified: str | None) -> dict[str, str]:
    headers = {"User-Agent": settings.user_agent, "Accept": settings.accept}
    if settings.accept_gzip:
        headers["Accept-Encoding"] = "gzip"
    if settings.username is not None and host == origin:
        token = f"{settings.username}:{settings.password or ''}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(token).decode()
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    if settings.json_body is not None:
        headers["Content-Type"] = "application/json"
    return headers


def _download_once(settings: DownloadSettings, etag: str | None, last_modified: str | None,
                   workdir: Path | None, dialer: Dialer, started: float) -> Downloaded:
    url = settings.url
    origin = urlsplit(url).hostname
    body = (json.dumps(settings.json_body).encode() if settings.json_body is not None
            else None)
    for hop in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise DownloadError(f"the {settings.what} URL (or a redirect) is not an http(s) "
                                "URL")
        host = parts.hostname
        port = parts.port or (443 if scheme == "https" else 80)
        factory = _TLSConnection if scheme == "https" else _Connection
        connection = factory(host, port, settings.timeout, dialer)
        headers = _headers(settings, host, origin, etag, last_modified)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request("GET", target, body=body if hop == 0 else None,
                               headers=headers)
            answer = connection.getresponse()
        except DownloadError:
            connection.close()
            raise
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            _check_deadline(settings, started, host)
            raise RetryableDownloadError(f"the {settings.what} host {host} did not answer "
                                         f"({type(exc).__name__})") from None
        try:
            status = answer.status
            if status in (301, 302, 303, 307, 308) and answer.getheader("Location"):
                url = urljoin(url, answer.getheader("Location") or "")
                continue
            if status == 304:
                return Downloaded(None, etag, last_modified, 0, hop + 1)
            _check_status(status, host, answer, settings)
            path, size = _save(answer, connection, settings, started, host, workdir)
            return Downloaded(path, answer.getheader("ETag"), answer.getheader("Last-Modified"),
                              size, hop + 1, answer.getheader("Content-Type") or "")
        finally:
            connection.close()
    raise DownloadError(f"the {settings.what} URL redirected more than {MAX_REDIRECTS} times")


def _check_status(status: int, host: str, answer: http.client.HTTPResponse,
                  settings: DownloadSettings) -> None:
    what = settings.what
    if status == 200:
        return
    if status in (401, 403):
        raise DownloadError(f"the {what} host {host} refused access ({status}): "
                            f"{settings.refused_hint}")
    if status == 404:
        raise DownloadError(f"the {what} host {host} has no {what} at that address (404): "
                            f"{settings.missing_hint}")
    if status == 429 or status >= 500:
        wait = retry_after_value(answer.getheader("Retry-After"), cap=MAX_RETRY_WAIT)
        raise RetryableDownloadError(f"the {what} host {host} answered {status}", wait)
    raise DownloadError(f"the {what} host {host} answered {status}")


def _check_deadline(settings: DownloadSettings, started: float, host: str) -> None:
    if time.monotonic() - started >= settings.deadline:
        raise DownloadError(f"the {settings.what} from {host} did not finish downloading "
                            f"within {settings.deadline:g} s (deadline)")


def _too_large(settings: DownloadSettings, host: str, declared: int | None = None) -> str:
    cap = settings.max_bytes
    size = f"is {declared:,} bytes, more than" if declared else "is larger than"
    if settings.size_setting is None:
        return f"the {settings.what} from {host} {size} the cap of {cap:,} bytes"
    fix = (f"raise {settings.size_setting} if it is right" if declared else
           f"raise {settings.size_setting} if the shop's catalog really is that big")
    return f"the {settings.what} from {host} {size} {settings.size_setting} ({cap:,} bytes); {fix}"


def _save(answer: http.client.HTTPResponse, connection: http.client.HTTPConnection,
          settings: DownloadSettings, started: float, host: str, workdir: Path | None
          ) -> tuple[Path, int]:
    declared = answer.getheader("Content-Length")
    if declared and declared.isdigit() and int(declared) > settings.max_bytes:
        raise DownloadError(_too_large(settings, host, int(declared)))
    handle, name = tempfile.mkstemp(prefix=settings.prefix, suffix=settings.suffix,
                                    dir=workdir)
    path = Path(name)
    size = 0
    try:
        with os.fdopen(handle, "wb") as out:
            while True:
                left = settings.deadline - (time.monotonic() - started)
                if left <= 0:
                    _check_deadline(settings, started, host)
                if connection.sock is not None:
                    connection.sock.settimeout(min(settings.timeout, left))
                try:
                    chunk = answer.read1(_CHUNK)
                except (OSError, http.client.HTTPException) as exc:
                    _check_deadline(settings, started, host)
                    raise RetryableDownloadError(f"the download from {host} broke off "
                                                 f"({type(exc).__name__})") from None
                if not chunk:
                    break
                size += len(chunk)
                if size > settings.max_bytes:
                    raise DownloadError(_too_large(settings, host))
                out.write(chunk)
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink()
        raise
    return path, size
