"""Images: safe downloads (scheme, host, type, size), data: URIs, modes, never twice."""

from __future__ import annotations

import base64
import hashlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from target_gateway.images import (
    ImageError,
    ImageResolver,
    SafeDownloader,
    check_host,
    parse_data_uri,
    source_ref,
)

PNG = b"\x89PNG\r\n\x1a\nfake-png-bytes"  # a PNG's magic: what the downloader checks


def resolver_to(address):
    def resolve(host, port, type=0):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
    return resolve


PUBLIC = resolver_to("93.184.216.34")


@pytest.mark.parametrize("address", ["10.1.2.3", "127.0.0.1", "169.254.169.254", "192.168.0.5",
                                     "::1", "fe80::1", "0.0.0.0", "::ffff:127.0.0.1"])  # noqa: S104
def test_hosts_resolving_to_private_addresses_are_refused(address):
    with pytest.raises(ImageError, match="private, loopback or link-local"):
        check_host("evil.example", 80, allow_private=False, resolve=resolver_to(address))
    check_host("evil.example", 80, allow_private=True, resolve=resolver_to(address))


def test_public_hosts_pass_and_unresolvable_ones_fail():
    check_host("shop.example", 443, allow_private=False, resolve=PUBLIC)

    def fail(*args, **kwargs):
        raise socket.gaierror("no such host")

    with pytest.raises(ImageError, match="cannot resolve"):
        check_host("nope.invalid", 443, allow_private=False, resolve=fail)


class Web:
    """A local web server for the downloader: ``routes[path] = (status, headers, body)``;
    the downloader dials it whatever public address it checked (``dial``)."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.hits: list[tuple[str, str | None]] = []
        web = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                web.hits.append((self.path, self.headers.get("Host")))
                status, headers, body = web.routes.get(self.path, (404, {}, b"no"))
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                if "Content-Length" not in headers:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)
        self.dialled: list[tuple[str, int]] = []

    def dial(self, address: tuple[str, int], timeout: float) -> socket.socket:
        """Dial this server instead of ``address`` (recorded)."""
        self.dialled.append(address)
        return socket.create_connection(self.server.server_address[:2], timeout=timeout)

    def image(self, path: str, body: bytes = PNG, content_type: str = "image/png") -> None:
        """Serve ``body`` at ``path``."""
        self.routes[path] = (200, {"Content-Type": content_type}, body)

    def downloader(self, **kwargs: Any) -> SafeDownloader:
        """A downloader resolving test names to a public address and dialling here."""
        return SafeDownloader(resolve=kwargs.pop("resolve", PUBLIC), dial=self.dial, **kwargs)


@pytest.fixture
def web():
    server = Web()
    server.thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()
        server.thread.join(timeout=5)


def test_download_checks_scheme_status_type_and_size(web):
    downloader = web.downloader(max_bytes=100)
    web.image("/a.png")
    fetched = downloader.fetch("http://shop.example/a.png".replace("https", "http"))
    assert fetched.content == PNG
    assert fetched.filename == hashlib.sha1(PNG).hexdigest() + ".png"  # noqa: S324
    assert web.dialled == [("93.184.216.34", 80)]
    assert web.hits == [("/a.png", "shop.example")]
    with pytest.raises(ImageError, match="only http"):
        downloader.fetch("ftp://shop.example/a.png")
    with pytest.raises(ImageError, match="only http"):
        downloader.fetch("file:///etc/passwd")
    web.image("/page", b"<html>", "text/html")
    with pytest.raises(ImageError, match="not an image"):
        downloader.fetch("http://shop.example/page")
    with pytest.raises(ImageError, match="404"):
        downloader.fetch("http://shop.example/gone.png")


def test_download_size_cap_applies_to_declared_and_streamed_sizes(web):
    downloader = web.downloader(max_bytes=100)
    web.routes["/declared.png"] = (200, {"Content-Type": "image/png", "Content-Length": "5000"},
                                   b"x" * 10)
    with pytest.raises(ImageError, match="larger than 100"):
        downloader.fetch("http://shop.example/declared.png")
    web.image("/streamed.png", PNG + b"x" * 500)
    with pytest.raises(ImageError, match="larger than 100"):
        downloader.fetch("http://shop.example/streamed.png")


def test_redirects_are_followed_and_each_hop_is_checked(web):
    seen = []

    def resolve(host, port, type=0):
        seen.append(host)
        address = "10.0.0.1" if host == "internal.example" else "93.184.216.34"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    downloader = web.downloader(resolve=resolve)
    web.routes["/r.png"] = (302, {"Location": "http://internal.example/secret.png"}, b"")
    with pytest.raises(ImageError, match="private"):
        downloader.fetch("http://shop.example/r.png")
    assert seen == ["shop.example", "internal.example"]
    assert [path for path, _ in web.hits] == ["/r.png"]  # the inward hop never requested
    web.routes["/moved.png"] = (301, {"Location": "/a.png"}, b"")
    web.image("/a.png")
    assert downloader.fetch("http://shop.example/moved.png").content == PNG


def test_data_uris_are_decoded_with_type_and_size_checks():
    uri = "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert parse_data_uri(uri).content == PNG
    assert parse_data_uri(uri).content_type == "image/png"
    with pytest.raises(ImageError, match="not an image"):
        parse_data_uri("data:text/html;base64,PGgxPg==")
    with pytest.raises(ImageError, match="larger"):
        parse_data_uri(uri, max_bytes=4)
    with pytest.raises(ImageError, match="base64"):
        parse_data_uri("data:image/png;base64,***")
    with pytest.raises(ImageError, match="not a raster image"):  # SVG can carry script
        parse_data_uri("data:image/svg+xml;base64," + base64.b64encode(b"<svg/>").decode())
    with pytest.raises(ImageError, match="not a raster image"):  # the bytes, not the label
        parse_data_uri("data:image/png;base64," + base64.b64encode(b"<svg/>").decode())
    assert source_ref({"url": uri}).startswith("data:sha1:")
    assert source_ref({"url": "https://x/a.png"}) == "https://x/a.png"


class FakeClient:
    """Records image writes; uploads land at bucket/<name>."""

    def __init__(self):
        self.copies, self.uploads = [], []
        self.lock = threading.Lock()

    def copy_image(self, url):
        with self.lock:
            self.copies.append(url)
        return f"https://bucket/copied/{len(self.copies)}"

    def upload_image(self, name, content_type, content):
        with self.lock:
            self.uploads.append((name, content_type, content))
        return f"https://bucket/{name}"


@pytest.fixture
def images(web):
    web.image("/a.png")
    web.image("/same-bytes.png")

    def make(mode):
        client, kinds = FakeClient(), []
        return ImageResolver(client, web.downloader(), mode, kinds.append), client, kinds
    return make


def test_copy_mode_copies_public_urls_and_uploads_private_and_data_images(images, web):
    resolver, client, kinds = images("copy")
    assert resolver.resolve({"url": "http://shop.example/a.png", "public": True}) \
        == "https://bucket/copied/1"
    assert client.copies == ["http://shop.example/a.png"]
    assert web.hits == []  # the Gateway fetches public images itself
    sha = hashlib.sha1(PNG).hexdigest()  # noqa: S324
    private = resolver.resolve({"url": "http://shop.example/same-bytes.png", "public": False})
    assert private == f"https://bucket/{sha}.png"
    other = PNG + b"-other"
    data = "data:image/png;base64," + base64.b64encode(other).decode()
    assert resolver.resolve({"url": data}) == \
        f"https://bucket/{hashlib.sha1(other).hexdigest()}.png"  # noqa: S324
    assert [(name, kind) for name, kind, _ in client.uploads] == [
        (f"{sha}.png", "image/png"), (f"{hashlib.sha1(other).hexdigest()}.png", "image/png")]  # noqa: S324
    assert client.uploads[1][2] == other
    assert kinds == ["copied", "uploaded", "uploaded"]


def test_upload_mode_downloads_and_uploads_once_per_content(images, web):
    resolver, client, kinds = images("upload")
    first = resolver.resolve({"url": "http://shop.example/a.png"})
    again = resolver.resolve({"url": "http://shop.example/a.png"})
    same_bytes = resolver.resolve({"url": "http://shop.example/same-bytes.png"})
    sha = hashlib.sha1(PNG).hexdigest()  # noqa: S324
    assert first == again == same_bytes == f"https://bucket/{sha}.png"
    assert [u[0] for u in client.uploads] == [f"{sha}.png"]
    assert client.copies == []
    assert len(web.hits) == 2  # each URL downloaded once
    assert kinds == ["uploaded", "reused"]


def test_hotlink_passes_public_urls_and_uploads_the_rest(images):
    resolver, client, kinds = images("hotlink")
    assert resolver.resolve({"url": "http://shop.example/a.png"}) == "http://shop.example/a.png"
    data = "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert resolver.resolve({"url": data}).startswith("https://bucket/")
    assert client.copies == []
    assert len(client.uploads) == 1
    assert kinds == ["hotlinked", "uploaded"]


def test_images_from_earlier_runs_are_reused_without_a_write(images):
    resolver, client, kinds = images("copy")
    resolver.remember("http://shop.example/a.png", "https://bucket/earlier.png")
    sha = hashlib.sha1(PNG).hexdigest()  # noqa: S324
    resolver.remember_names([f"https://bucket/{sha}.png"])
    assert resolver.resolve({"url": "http://shop.example/a.png"}) == "https://bucket/earlier.png"
    assert resolver.resolve({"url": "http://shop.example/same-bytes.png", "public": False}) \
        == f"https://bucket/{sha}.png"
    assert client.copies == []
    assert client.uploads == []
    assert kinds == ["reused", "reused"]


def test_a_failed_image_fails_every_use_without_retrying_it(images, web):
    resolver, _client, kinds = images("upload")
    web.routes["/broken.png"] = (500, {}, b"")
    for _ in range(2):
        with pytest.raises(ImageError, match="500"):
            resolver.resolve({"url": "http://shop.example/broken.png"})
    assert len(web.hits) == 1
    assert kinds == []


def test_the_memo_stays_bounded_on_endless_streams(images, monkeypatch):
    monkeypatch.setattr("target_gateway.images.MEMO_LIMIT", 2)
    resolver, _client, _kinds = images("hotlink")
    for n in range(5):
        resolver.resolve({"url": f"https://shop.example/{n}.png"})
    assert list(resolver._memo) == ["https://shop.example/3.png", "https://shop.example/4.png"]
