"""The feed emulator over real sockets: formats, validators, gzip, encodings, auth, and the
switches that make a feed misbehave."""

import gzip
import http.client
import time
from xml.etree.ElementTree import ParseError

import pytest
import requests
from defusedxml.ElementTree import fromstring
from sandbox.feeds import G_NS, FeedEmulator


@pytest.fixture(scope="module")
def emulator():
    with FeedEmulator(n_products=12, seed=7) as feeds:
        yield feeds


@pytest.fixture
def feeds(emulator):
    emulator.clear_requests()
    emulator.apply_switches({"encoding": "utf-8", "declared_encoding": None, "gzip": None,
                             "basic_auth": None, "trickle": 0.0, "huge_bytes": 0,
                             "truncate_at": None, "limit_items": None, "doctype": False})
    return emulator


def get(feeds, path, **headers):
    return requests.get(feeds.url + path, headers=headers, timeout=10)


def test_ceneo_flattens_variants_with_prestashop_ids(feeds):
    root = fromstring(get(feeds, "/feeds/ceneo.xml").content)
    offers = root.findall("./group/o")
    assert len(offers) == feeds.catalog.variant_count()
    multi = next(p for p in feeds.catalog.products if not p.is_simple)
    ids = [o.get("id") for o in offers]
    assert f"{multi.id}_{multi.variants[0].id}" in ids
    simple = next(p for p in feeds.catalog.products if p.is_simple)
    offer = offers[ids.index(str(simple.id))]
    assert offer.get("price") == f"{simple.variants[0].price_gross:.2f}"
    assert offer.findtext("cat").count("/") == 2


@pytest.mark.parametrize("path", ["/feeds/google.xml", "/feeds/google.atom"])
def test_google_feeds_group_variants(feeds, path):
    root = fromstring(get(feeds, path).content)
    items = [e for e in root.iter() if e.tag in ("item", "{http://www.w3.org/2005/Atom}entry")]
    assert len(items) == feeds.catalog.variant_count()
    groups = {e.findtext(f"{{{G_NS}}}item_group_id") for e in items} - {None}
    assert groups == {str(p.id) for p in feeds.catalog.products if not p.is_simple}
    assert all(e.findtext(f"{{{G_NS}}}price").endswith(" PLN") for e in items)


def test_validators_answer_304(feeds):
    first = get(feeds, "/feeds/google.xml")
    assert get(feeds, "/feeds/google.xml", **{"If-None-Match": first.headers["ETag"]}
               ).status_code == 304
    assert get(feeds, "/feeds/google.xml",
               **{"If-Modified-Since": first.headers["Last-Modified"]}).status_code == 304
    feeds.bump()
    assert get(feeds, "/feeds/google.xml", **{"If-None-Match": first.headers["ETag"]}
               ).status_code == 200


def test_gzip_as_content_encoding_and_as_a_file(feeds):
    plain = get(feeds, "/feeds/ceneo.xml").content
    feeds.apply_switches({"gzip": "content-encoding"})
    answer = get(feeds, "/feeds/ceneo.xml", **{"Accept-Encoding": "gzip"})
    assert answer.headers["Content-Encoding"] == "gzip"
    assert answer.content == plain  # requests decodes it
    feeds.apply_switches({"gzip": "file"})
    answer = get(feeds, "/feeds/ceneo.xml")
    assert answer.headers["Content-Type"] == "application/gzip"
    assert gzip.decompress(answer.content) == plain


def test_encodings_declared_and_lied_about(feeds):
    feeds.apply_switches({"encoding": "windows-1250"})
    body = get(feeds, "/feeds/ceneo.xml").content
    assert body.startswith(b'<?xml version="1.0" encoding="WINDOWS-1250"?>')
    assert "ż".encode("cp1250") in body
    feeds.apply_switches({"declared_encoding": "utf-8"})
    body = get(feeds, "/feeds/ceneo.xml").content
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    with pytest.raises(ParseError, match="not well-formed"):
        fromstring(body)


def test_basic_auth(feeds):
    feeds.apply_switches({"basic_auth": ["sklep", "haslo-feedu"]})
    assert get(feeds, "/feeds/ceneo.xml").status_code == 401
    assert requests.get(feeds.url + "/feeds/ceneo.xml", auth=("sklep", "haslo-feedu"),
                        timeout=10).status_code == 200


def test_truncated_limited_and_huge_feeds(feeds):
    feeds.apply_switches({"truncate_at": 1000})
    assert len(get(feeds, "/feeds/ceneo.xml").content) == 1000
    feeds.apply_switches({"truncate_at": None, "limit_items": 2})
    root = fromstring(get(feeds, "/feeds/google.xml").content)
    ids = {e.findtext(f"{{{G_NS}}}item_group_id") or e.findtext(f"{{{G_NS}}}id")
           for e in root.iter("item")}
    assert len(ids) == 2
    feeds.apply_switches({"limit_items": None, "huge_bytes": 3_000_000})
    assert len(get(feeds, "/feeds/ceneo.xml").content) > 3_000_000


def test_a_client_that_hangs_up_on_a_slow_huge_feed_stops_it(feeds):
    feeds.apply_switches({"trickle": 0.01, "huge_bytes": 50_000_000})
    before = feeds.bytes_sent
    connection = http.client.HTTPConnection("127.0.0.1", feeds.port, timeout=5)
    connection.request("GET", "/feeds/ceneo.xml")
    answer = connection.getresponse()
    assert answer.status == 200
    assert answer.read1(100)
    connection.close()
    time.sleep(0.3)  # let the server meet the closed socket (not a timing assertion)
    assert feeds.bytes_sent - before < 5_000_000  # of 50 MB: it stopped when the client left


def test_redirects_and_images(feeds):
    answer = requests.get(feeds.url + "/go", params={"to": "http://169.254.169.254/"},
                          allow_redirects=False, timeout=10)
    assert (answer.status_code, answer.headers["Location"]) == (302, "http://169.254.169.254/")
    image = next(feeds.catalog.images())
    answer = requests.get(f"{feeds.image_base()}/{image.filename}", timeout=10)
    assert answer.content == image.content
