"""The address-checked, capped downloader (``tapkit.download``): what a user of a tap with a
file source (tap-feed, tap-iai's IOF) notices. Address checks run with the connection layer
stubbed, so that no packet can leave even if a check were wrong; the rest runs against a
small server on 127.0.0.1 (allowed only through the test-only switch)."""

from __future__ import annotations

import gzip
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from tapkit.download import DownloadError, DownloadSettings, address_allowed
from tapkit.testing import guard_network

from tapkit import download

BODY = b"<offers>" + b"<o/>" * 1000 + b"</offers>"


class Handler(BaseHTTPRequestHandler):
    """``/file`` the body (gzipped when asked), ``/busy`` 503 with Retry-After 0, ``/echo``
    what was sent, ``/go`` a redirect to ``?to=``, ``/secret`` 401."""

    protocol_version = "HTTP/1.1"
    seen: ClassVar[list[dict[str, Any]]] = []

    def log_message(self, format: str, *args: Any) -> None:
        """No access log on the test's stderr."""

    def _send(self, status: int, body: bytes, **headers: str) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        """Answer by path."""
        length = int(self.headers.get("Content-Length") or 0)
        sent = self.rfile.read(length) if length else b""
        Handler.seen.append({"path": self.path, "headers": dict(self.headers), "body": sent})
        if self.path.startswith("/file"):
            zipped = "gzip" in (self.headers.get("Accept-Encoding") or "")
            self._send(200, gzip.compress(BODY) if zipped else BODY,
                       Content_Type="application/xml",
                       **({"Content_Encoding": "gzip"} if zipped else {}))
        elif self.path == "/busy":
            self._send(503, b"busy", Retry_After="0")
        elif self.path == "/secret":
            self._send(401, b"no")
        elif self.path.startswith("/go?to="):
            self._send(302, b"", Location=self.path.removeprefix("/go?to="))
        else:
            self._send(404, b"none")


@pytest.fixture
def server() -> Iterator[str]:
    Handler.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def guarded(monkeypatch) -> list[Any]:
    """Only 127.0.0.1 can be connected to; any other attempt is recorded and refused."""
    return guard_network(monkeypatch)


def settings(url: str, **over: Any) -> DownloadSettings:
    return DownloadSettings(url=url, allow_loopback=True, what="feed", **over)


@pytest.mark.parametrize("address", ["10.0.0.5", "169.254.169.254", "127.0.0.1", "::1",
                                     "::ffff:127.0.0.1", "fd00::1", "192.168.1.1"])
def test_private_loopback_and_metadata_addresses_are_refused(address):
    assert not address_allowed(address, allow_loopback=False)


def test_public_addresses_pass_and_loopback_only_with_the_test_switch():
    assert address_allowed("93.184.216.34", allow_loopback=False)
    assert address_allowed("127.0.0.1", allow_loopback=True)
    assert not address_allowed("10.0.0.5", allow_loopback=True)


def test_a_name_with_one_private_address_is_refused_before_any_connection(monkeypatch,
                                                                          guarded):
    monkeypatch.setattr(download.socket, "getaddrinfo", lambda host, port, *a, **k: [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", port))])
    with pytest.raises(DownloadError, match=r"the feed host feed\.example resolves to a "
                                            r"private.*\(169\.254\.169\.254\)"):
        download.download(DownloadSettings(url="https://feed.example/f.xml", what="feed"))
    assert guarded == []


def test_a_redirect_to_the_metadata_address_is_refused(server, guarded):
    with pytest.raises(DownloadError, match=r"169\.254\.169\.254.*must be on the public"):
        download.download(settings(f"{server}/go?to=http://169.254.169.254/latest/"))
    assert guarded == []


def test_a_file_is_saved_whole_with_its_validators(server, tmp_path):
    got = download.download(settings(f"{server}/file", accept_gzip=False), workdir=tmp_path)
    assert got.path is not None
    assert got.path.read_bytes() == BODY
    assert (got.size, got.requests, got.content_type) == (len(BODY), 1, "application/xml")


def test_gzip_is_asked_for_only_when_the_caller_can_read_it(server, tmp_path):
    zipped = download.download(settings(f"{server}/file"), workdir=tmp_path)
    assert zipped.path is not None
    assert gzip.decompress(zipped.path.read_bytes()) == BODY
    plain = download.download(settings(f"{server}/file", accept_gzip=False), workdir=tmp_path)
    assert plain.path is not None
    assert plain.path.read_bytes() == BODY
    assert "gzip" not in Handler.seen[-1]["headers"].get("Accept-Encoding", "")


def test_a_json_body_goes_with_the_get(server, tmp_path):
    download.download(settings(f"{server}/file", json_body={"authenticate": {"k": "v"}}),
                      workdir=tmp_path)
    assert json.loads(Handler.seen[-1]["body"]) == {"authenticate": {"k": "v"}}


def test_a_file_over_the_cap_is_cut_and_names_the_setting(server, tmp_path):
    with pytest.raises(DownloadError, match=r"more than max_bytes \(100 bytes\); raise "
                                            "max_bytes"):
        download.download(settings(f"{server}/file", accept_gzip=False, max_bytes=100),
                          workdir=tmp_path)
    with pytest.raises(DownloadError, match=r"more than the cap of 100 bytes"):
        download.download(settings(f"{server}/file", accept_gzip=False, max_bytes=100,
                                   size_setting=None), workdir=tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing half-written left behind


def test_5xx_is_retried_a_bounded_number_of_times(server):
    waits: list[float] = []
    with pytest.raises(DownloadError, match=r"answered 503 \(gave up after 3 tries\)"):
        download.download(settings(f"{server}/busy"), sleep=waits.append)
    assert len([s for s in Handler.seen if s["path"] == "/busy"]) == 3
    assert waits == [0.0, 0.0]  # Retry-After: 0 honoured


def test_refused_and_missing_files_say_what_to_check(server):
    with pytest.raises(DownloadError, match=r"refused access \(401\): check the token"):
        download.download(settings(f"{server}/secret", refused_hint="check the token"))
    with pytest.raises(DownloadError, match=r"has no feed at that address \(404\): check "
                                            "feed_url"):
        download.download(settings(f"{server}/nothing", missing_hint="check feed_url"))
