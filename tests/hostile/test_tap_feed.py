"""Hostile and broken feeds, as the ``tap-feed`` process meets them (cases whose only output
is one error message run the tap in this process, to keep the suite fast; the exit code and
the no-traceback rule of such failures are pinned by the subprocess cases).

Each case asserts what a user sees: the exit code, one clear ERROR line without a traceback,
which records came out, and that neither the feed's password nor the token in its URL shows
anywhere. SSRF cases replace the socket layer so that a connection to anything but 127.0.0.1
raises before a packet could leave, and assert that not even that stub was asked.
"""

from __future__ import annotations

import re
import socket
import time
import types
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest
from sandbox.feeds import FeedEmulator, FeedSwitches
from sandbox.server import Request, Response
from tap_feed.tap import FeedFailedError, TapFeed
from tapkit.testing import assert_fails_clearly, error_lines, guard_network
from tapkit.testing import run_tap as run_in_process

from tapkit import download

FEED_PASSWORD = "Tajne-hasło-feedu-3"
FEED_TOKEN = "feed-token-8c1f0e77aa"
MAINTENANCE = ("<!DOCTYPE html><html><head><title>Przerwa techniczna</title></head><body>"
               "<h1>Sklep chwilowo niedostępny</h1></body></html>")


class HostileFeed(FeedEmulator):
    """The feed emulator with chosen answers replaced: ``tamper[path] = f(request) ->
    Response``; ``/leak`` counts fetches of an external entity."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("n_products", 6)
        super().__init__(**kwargs)
        self.tamper: dict[str, Any] = {}

    def dispatch(self, request: Request) -> Response | None:
        """A tampered answer for a tampered path, else the emulator's."""
        rewrite = self.tamper.get(request.path)
        if rewrite is not None and not request.path.startswith("/_emulator/"):
            self.requests.append(request)
            return rewrite(request)
        return super().dispatch(request)


def xml_answer(body: str, status: int = 200, **headers: str):
    return lambda request: Response(status, body.encode(), dict(headers),
                                    content_type="application/xml; charset=utf-8")


def feed_secrets() -> list[str]:
    return [FEED_PASSWORD, quote_plus(FEED_PASSWORD), FEED_TOKEN]


def run(hostile, folder: Path, name: str, feed: FeedEmulator, path: str = "/feeds/ceneo.xml",
        **settings: Any) -> types.SimpleNamespace:
    """``tap-feed --config`` against ``feed``; what it printed is checked for secrets."""
    values = {"feed_url": f"{feed.url}{path}?token={FEED_TOKEN}", "default_vat_rate": 23,
              "allow_loopback_feed": True, "username": "sklep", "password": FEED_PASSWORD,
              "download_deadline_seconds": 20, **settings}
    return hostile.run_tap_process("tap-feed", folder, name, values, feed_secrets())


def in_process_config(feed: FeedEmulator) -> dict[str, Any]:
    """The same settings for a run in this process (the message is what the user reads)."""
    return {"feed_url": f"{feed.url}/feeds/ceneo.xml?token={FEED_TOKEN}",
            "default_vat_rate": 23, "allow_loopback_feed": True, "username": "sklep",
            "password": FEED_PASSWORD}


def errors(run_result) -> list[str]:
    return error_lines(run_result.err)


def assert_clear_failure(run_result, words: str) -> None:
    """Exit 1, one ERROR line with the words, no traceback, no record."""
    assert_fails_clearly(run_result.code, run_result.err, words)
    assert run_result.records == {}


@pytest.fixture
def feed():
    with HostileFeed(feed=FeedSwitches(basic_auth=("sklep", FEED_PASSWORD))) as emulator:
        yield emulator


# -- XML attacks -------------------------------------------------------------------------------
def test_external_entities_are_not_resolved(hostile, feed, tmp_path):
    leaks = []
    feed.tamper["/leak"] = lambda request: leaks.append(1) or Response(
        200, b"LEAKED-CONTENT", content_type="text/plain")
    feed.tamper["/feeds/ceneo.xml"] = xml_answer(
        f'<?xml version="1.0"?><!DOCTYPE offers [<!ENTITY xxe SYSTEM "file:///etc/passwd">'
        f'<!ENTITY remote SYSTEM "{feed.url}/leak">]>'
        '<offers><o id="1" url="https://sklep.pl/1" price="10.00"><name>&xxe;&remote;</name>'
        "</o></offers>")
    result = run(hostile, tmp_path, "xxe", feed)
    assert_clear_failure(result, "declares XML entities")
    assert "root:" not in result.err + result.out
    assert "LEAKED" not in result.err + result.out
    assert leaks == []


def test_an_entity_bomb_is_refused_not_expanded(feed):
    lol = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    feed.tamper["/feeds/ceneo.xml"] = xml_answer(
        f'<?xml version="1.0"?><!DOCTYPE offers [<!ENTITY l0 "lol">{lol}]>'
        '<offers><o id="1" price="1.00"><name>&l9;</name></o></offers>')
    with pytest.raises(FeedFailedError, match="declares XML entities") as caught:
        run_in_process(TapFeed, in_process_config(feed))
    assert len(str(caught.value)) < 300  # a billion laughs, expanded, would be 3 GB of "lol"


def test_malformed_xml_is_named_as_such(feed):
    feed.tamper["/feeds/ceneo.xml"] = xml_answer(
        '<?xml version="1.0"?><offers><o id="1" price="1.00"><name>Kubek</o></offers>')
    with pytest.raises(FeedFailedError, match="not well-formed XML"):
        run_in_process(TapFeed, in_process_config(feed))


# -- size and time -------------------------------------------------------------------------------
def test_a_huge_feed_is_cut_at_the_cap(hostile, feed, tmp_path):
    feed.apply_switches({"huge_bytes": 200_000_000})
    result = run(hostile, tmp_path, "huge", feed, max_bytes=2_000_000)
    assert_clear_failure(result, "larger than max_bytes (2,000,000 bytes)")
    time.sleep(0.2)
    assert feed.bytes_sent < 50_000_000  # of 200 MB: the tap hung up at the cap


def test_a_slow_server_is_cut_at_the_deadline(hostile, feed, tmp_path):
    feed.apply_switches({"huge_bytes": 5_000_000, "trickle": 0.2})  # a minute of trickle
    result = run(hostile, tmp_path, "slow", feed, download_deadline_seconds=1,
                 timeout_seconds=5)
    assert_clear_failure(result, "did not finish downloading within 1 s (deadline)")


# -- what a broken shop answers ----------------------------------------------------------------
@pytest.mark.parametrize("status", [200, 503])
def test_an_html_maintenance_page_is_not_a_feed(feed, status):
    feed.tamper["/feeds/ceneo.xml"] = lambda request: Response(
        status, MAINTENANCE.encode(), {"Retry-After": "0"},
        content_type="text/html; charset=utf-8")
    words = ("answered an HTML page (a login or maintenance page?)" if status == 200
             else "answered 503 (gave up after 3 tries)")
    with pytest.raises(FeedFailedError, match=re.escape(words)):
        run_in_process(TapFeed, in_process_config(feed))
    assert len(feed.requests_to("GET", "/feeds/ceneo.xml")) == (1 if status == 200 else 3)


def test_garbled_bytes_are_a_clear_error(feed):
    feed.tamper["/feeds/ceneo.xml"] = lambda request: Response(
        200, b"\x00\xff\xfe garbage \x89PNG", content_type="application/xml")
    with pytest.raises(FeedFailedError, match="not well-formed XML"):
        run_in_process(TapFeed, in_process_config(feed))


def test_refused_credentials_echoing_the_secret_never_show_it(hostile, feed, tmp_path):
    echo = (f"<html><body>Login sklep:{FEED_PASSWORD} / {quote_plus(FEED_PASSWORD)} "
            f"refused for token={FEED_TOKEN}</body></html>")
    feed.tamper["/feeds/ceneo.xml"] = lambda request: Response(
        401, echo.encode(), content_type="text/html; charset=utf-8")
    result = run(hostile, tmp_path, "refused", feed)
    assert_clear_failure(result, "refused access (401): check username and password")


BAD_PRICES = {"1": "", "2": "abc", "3": "-5", "4": "1e309", "5": "0,00"}


def test_bad_prices_and_a_row_without_id_skip_only_those_items(hostile, feed, tmp_path):
    offers = "".join(
        f'<o id="{pid}" url="https://sklep.pl/{pid}" price="{value}"><name>Kubek {pid}</name>'
        "</o>" for pid, value in BAD_PRICES.items())
    offers += '<o url="https://sklep.pl/x" price="10.00"><name>Bez id</name></o>'
    offers += '<o id="7" url="https://sklep.pl/7" price="12.30"><name>Kubek 7</name></o>'
    feed.tamper["/feeds/ceneo.xml"] = xml_answer(
        f'<?xml version="1.0" encoding="UTF-8"?><offers>{offers}</offers>')
    result = run(hostile, tmp_path, "prices", feed)
    assert result.code == 0, result.err[-3000:]
    assert [p["id"] for p in result.records["products"]] == ["7"]
    lines = errors(result)
    for pid, reason in [("1", "price is missing"), ("2", "'abc' is not a price"),
                        ("3", "'-5' is not above zero"), ("4", "'1e309' is not a price"),
                        ("5", "'0,00' is not above zero"), ("(no id)", "item has no id")]:
        assert any(f"Skipped product {pid}: " in line and reason in line for line in lines), \
            (pid, lines)
    assert "Finished with 6 records skipped" in result.err


# -- SSRF: the connection layer is stubbed, nothing can leave ----------------------------------
@pytest.fixture
def guarded_network(monkeypatch):
    """Only 127.0.0.1 can be connected to; any other attempt is recorded and refused before a
    socket exists."""
    return guard_network(monkeypatch)


def test_a_redirect_to_the_metadata_address_is_refused(hostile, feed, guarded_network):
    config = {"feed_url": f"{feed.url}/go?to=http://169.254.169.254/latest/meta-data/",
              "default_vat_rate": 23, "allow_loopback_feed": True}
    with pytest.raises(FeedFailedError, match=r"169\.254\.169\.254.*must be on the public"):
        run_in_process(TapFeed, config)
    assert guarded_network == []
    assert len(feed.requests_to("GET", "/go")) == 1


@pytest.mark.parametrize("addresses", [["10.0.0.5"], ["93.184.216.34", "169.254.169.254"],
                                       ["::ffff:127.0.0.1"], ["fd00::1"]])
def test_a_name_resolving_to_a_private_address_is_refused(monkeypatch, guarded_network,
                                                          addresses):
    def resolve(host, port, *args, **kwargs):
        family = socket.AF_INET6 if ":" in addresses[0] else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    monkeypatch.setattr(download.socket, "getaddrinfo", resolve)
    config = {"feed_url": "https://feed.sklep.example/ceneo.xml", "default_vat_rate": 23}
    with pytest.raises(FeedFailedError, match="private, loopback, link-local or reserved"):
        run_in_process(TapFeed, config)
    assert guarded_network == []


def test_loopback_needs_the_test_only_setting(feed, guarded_network):
    with pytest.raises(FeedFailedError, match=r"resolves to .*\(127\.0\.0\.1\)"):
        run_in_process(TapFeed, {"feed_url": f"{feed.url}/feeds/ceneo.xml",
                                 "default_vat_rate": 23, "username": "sklep",
                                 "password": FEED_PASSWORD})
    assert feed.requests_to("GET") == []
