"""Images: safe downloads (scheme, host, type, size), data: URIs, modes, never twice."""

from __future__ import annotations

import base64
import hashlib
import socket
import threading

import pytest
from target_gateway.images import (
    ImageError,
    ImageResolver,
    SafeDownloader,
    check_host,
    parse_data_uri,
    source_ref,
)

PNG = b"\x89PNG\r\n\x1a\nfake-png-bytes"


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


def test_download_checks_scheme_status_type_and_size(requests_mock):
    downloader = SafeDownloader(resolve=PUBLIC, max_bytes=100)
    requests_mock.get("https://shop.example/a.png", content=PNG,
                      headers={"Content-Type": "image/png"})
    fetched = downloader.fetch("https://shop.example/a.png")
    assert fetched.content == PNG
    assert fetched.filename == hashlib.sha1(PNG).hexdigest() + ".png"  # noqa: S324
    with pytest.raises(ImageError, match="only http"):
        downloader.fetch("ftp://shop.example/a.png")
    with pytest.raises(ImageError, match="only http"):
        downloader.fetch("file:///etc/passwd")
    requests_mock.get("https://shop.example/page", text="<html>",
                      headers={"Content-Type": "text/html"})
    with pytest.raises(ImageError, match="not an image"):
        downloader.fetch("https://shop.example/page")
    requests_mock.get("https://shop.example/gone.png", status_code=404)
    with pytest.raises(ImageError, match="404"):
        downloader.fetch("https://shop.example/gone.png")


def test_download_size_cap_applies_to_declared_and_streamed_sizes(requests_mock):
    downloader = SafeDownloader(resolve=PUBLIC, max_bytes=100)
    requests_mock.get("https://shop.example/declared.png", content=b"x" * 10,
                      headers={"Content-Type": "image/png", "Content-Length": "5000"})
    with pytest.raises(ImageError, match="larger than 100"):
        downloader.fetch("https://shop.example/declared.png")
    requests_mock.get("https://shop.example/streamed.png", content=b"x" * 500,
                      headers={"Content-Type": "image/png"})
    with pytest.raises(ImageError, match="larger than 100"):
        downloader.fetch("https://shop.example/streamed.png")


def test_redirects_are_followed_and_each_hop_is_checked(requests_mock):
    seen = []

    def resolve(host, port, type=0):
        seen.append(host)
        address = "10.0.0.1" if host == "internal.example" else "93.184.216.34"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    downloader = SafeDownloader(resolve=resolve)
    requests_mock.get("https://shop.example/r.png", status_code=302,
                      headers={"Location": "https://internal.example/secret.png"})
    with pytest.raises(ImageError, match="private"):
        downloader.fetch("https://shop.example/r.png")
    assert seen == ["shop.example", "internal.example"]


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
def images(requests_mock):
    requests_mock.get("https://shop.example/a.png", content=PNG,
                      headers={"Content-Type": "image/png"})
    requests_mock.get("https://shop.example/same-bytes.png", content=PNG,
                      headers={"Content-Type": "image/png"})

    def make(mode):
        client, kinds = FakeClient(), []
        return ImageResolver(client, SafeDownloader(resolve=PUBLIC), mode, kinds.append), \
            client, kinds
    return make


def test_copy_mode_copies_public_urls_and_uploads_private_and_data_images(images,
                                                                          requests_mock):
    resolver, client, kinds = images("copy")
    assert resolver.resolve({"url": "https://shop.example/a.png", "public": True}) \
        == "https://bucket/copied/1"
    assert client.copies == ["https://shop.example/a.png"]
    assert requests_mock.call_count == 0  # the Gateway fetches public images itself
    sha = hashlib.sha1(PNG).hexdigest()  # noqa: S324
    private = resolver.resolve({"url": "https://shop.example/same-bytes.png", "public": False})
    assert private == f"https://bucket/{sha}.png"
    other = PNG + b"-other"
    data = "data:image/png;base64," + base64.b64encode(other).decode()
    assert resolver.resolve({"url": data}) == \
        f"https://bucket/{hashlib.sha1(other).hexdigest()}.png"  # noqa: S324
    assert [(name, kind) for name, kind, _ in client.uploads] == [
        (f"{sha}.png", "image/png"), (f"{hashlib.sha1(other).hexdigest()}.png", "image/png")]  # noqa: S324
    assert client.uploads[1][2] == other
    assert kinds == ["copied", "uploaded", "uploaded"]


def test_upload_mode_downloads_and_uploads_once_per_content(images, requests_mock):
    resolver, client, kinds = images("upload")
    first = resolver.resolve({"url": "https://shop.example/a.png"})
    again = resolver.resolve({"url": "https://shop.example/a.png"})
    same_bytes = resolver.resolve({"url": "https://shop.example/same-bytes.png"})
    sha = hashlib.sha1(PNG).hexdigest()  # noqa: S324
    assert first == again == same_bytes == f"https://bucket/{sha}.png"
    assert [u[0] for u in client.uploads] == [f"{sha}.png"]
    assert client.copies == []
    assert requests_mock.call_count == 2  # each URL downloaded once
    assert kinds == ["uploaded", "reused"]


def test_hotlink_passes_public_urls_and_uploads_the_rest(images):
    resolver, client, kinds = images("hotlink")
    assert resolver.resolve({"url": "https://shop.example/a.png"}) == "https://shop.example/a.png"
    data = "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert resolver.resolve({"url": data}).startswith("https://bucket/")
    assert client.copies == []
    assert len(client.uploads) == 1
    assert kinds == ["hotlinked", "uploaded"]


def test_images_from_earlier_runs_are_reused_without_a_write(images):
    resolver, client, kinds = images("copy")
    resolver.remember("https://shop.example/a.png", "https://bucket/earlier.png")
    sha = hashlib.sha1(PNG).hexdigest()  # noqa: S324
    resolver.remember_names([f"https://bucket/{sha}.png"])
    assert resolver.resolve({"url": "https://shop.example/a.png"}) == "https://bucket/earlier.png"
    assert resolver.resolve({"url": "https://shop.example/same-bytes.png", "public": False}) \
        == f"https://bucket/{sha}.png"
    assert client.copies == []
    assert client.uploads == []
    assert kinds == ["reused", "reused"]


def test_a_failed_image_fails_every_use_without_retrying_it(images, requests_mock):
    resolver, _client, kinds = images("upload")
    requests_mock.get("https://shop.example/broken.png", status_code=500)
    for _ in range(2):
        with pytest.raises(ImageError, match="500"):
            resolver.resolve({"url": "https://shop.example/broken.png"})
    assert requests_mock.call_count == 1
    assert kinds == []


def test_the_memo_stays_bounded_on_endless_streams(images, monkeypatch):
    monkeypatch.setattr("target_gateway.images.MEMO_LIMIT", 2)
    resolver, _client, _kinds = images("hotlink")
    for n in range(5):
        resolver.resolve({"url": f"https://shop.example/{n}.png"})
    assert list(resolver._memo) == ["https://shop.example/3.png", "https://shop.example/4.png"]
