"""The tap against the feed emulator over real sockets: what it emits for each format, what it
costs in requests, and how it treats encodings, gzip, auth, unchanged and shrunken feeds."""

from __future__ import annotations

import gzip
import logging
from decimal import Decimal

import pytest
from tap_feed.tap import FeedFailedError, TapFeed
from tapkit.testing import assert_conforms, run_tap


def products_of(run) -> dict[str, dict]:
    return {r["id"]: r for r in run.records.get("products", [])}


@pytest.mark.parametrize("kind", ["rss", "atom", "ceneo"])
def test_every_format_gives_the_catalog_as_a_feed_can_carry_it(feed, feed_config,
                                                               expected_products, kind):
    run = run_tap(TapFeed, feed_config(feed, kind))
    assert_conforms(run)
    assert products_of(run) == expected_products(feed, kind)
    # one request for the whole catalog, whatever its size
    assert len(feed.requests_to("GET", r"^/feeds/")) == 1
    stock = run.records["stock"]
    assert len(stock) == feed.catalog.variant_count()
    categories = {c["id"] for c in run.records["categories"]}
    used = {c["id"] for p in run.records["products"] for c in p["categories"]}
    assert used <= categories
    assert all(c["parent_id"] is None or c["parent_id"] in categories
               for c in run.records["categories"])


def test_ceneo_without_grouping_sends_every_offer_as_its_own_product(feed, feed_config):
    run = run_tap(TapFeed, feed_config(feed, "ceneo", variant_grouping="auto"))
    products = run.records["products"]
    assert len(products) == feed.catalog.variant_count()
    assert all(len(p["variants"]) == 1 and p["variants"][0]["options"] == [] for p in products)


def test_an_unchanged_feed_costs_one_request_and_sends_nothing(feed, feed_config):
    config = feed_config(feed, "rss")
    first = run_tap(TapFeed, config)
    assert first.state["bookmarks"]["products"]["feed"]["etag"]
    feed.clear_requests()
    second = run_tap(TapFeed, config, state=first.state)
    [request] = feed.requests_to("GET", r"^/feeds/")
    assert request.header("if-none-match") == first.state["bookmarks"]["products"]["feed"]["etag"]
    assert second.records == {}
    assert second.state["bookmarks"]["products"]["feed"] == \
        first.state["bookmarks"]["products"]["feed"]
    # the shop regenerates its feed: everything is read again
    feed.bump()
    third = run_tap(TapFeed, config, state=second.state)
    assert len(third.records["products"]) == len(feed.catalog.products)


def test_changed_settings_read_an_unchanged_feed_again(feed, feed_config):
    first = run_tap(TapFeed, feed_config(feed, "rss"))
    feed.clear_requests()
    second = run_tap(TapFeed, feed_config(feed, "rss", default_vat_rate=8, vat_rules=[]),
                     state=first.state)
    assert feed.requests_to("GET", r"^/feeds/")[0].header("if-none-match") is None
    assert {p["vat_rate"] for p in second.records["products"]} == {8}


def test_a_feed_that_shrank_sharply_stops_before_sending_anything(feed, feed_config):
    config = feed_config(feed, "rss")
    first = run_tap(TapFeed, config)
    feed.apply_switches({"limit_items": 10})
    feed.bump()
    with pytest.raises(FeedFailedError, match=r"10 products, 50% fewer than the 20 of the last "
                                              r"run.*confirm_shrink: true"):
        run_tap(TapFeed, config, state=first.state)
    confirmed = run_tap(TapFeed, {**config, "confirm_shrink": True}, state=first.state)
    assert len(confirmed.records["products"]) == 10
    assert confirmed.state["bookmarks"]["products"]["feed"]["products"] == 10


def test_products_missing_from_a_feed_are_named_not_deleted(feed, feed_config, caplog):
    config = feed_config(feed, "rss", shrink_guard_pct=90)
    first = run_tap(TapFeed, config)
    feed.apply_switches({"limit_items": 18})
    feed.bump()
    with caplog.at_level(logging.WARNING):
        run_tap(TapFeed, config, state=first.state)
    assert "2 products of the last run are not in this feed (e.g. 19, 20)" in caplog.text
    assert "not deleted" in caplog.text


# ISO-8859-2 has no „” or –: the emulator writes them as character references, which CDATA
# (Ceneo) would keep literally, so that code page is checked on the RSS feed
@pytest.mark.parametrize(("encoding", "kind"), [("windows-1250", "ceneo"),
                                                ("iso-8859-2", "rss")])
def test_a_declared_polish_code_page_is_read(feed, feed_config, expected_products, encoding,
                                             kind):
    feed.apply_switches({"encoding": encoding})
    run = run_tap(TapFeed, feed_config(feed, kind))
    assert products_of(run) == expected_products(feed, kind)


def test_a_feed_lying_about_its_encoding_fails_with_what_to_set_then_reads_with_it(
        feed, feed_config, expected_products):
    feed.apply_switches({"encoding": "windows-1250", "declared_encoding": "UTF-8"})
    with pytest.raises(FeedFailedError, match=r"says it is UTF-8 but is not.*encoding_override"):
        run_tap(TapFeed, feed_config(feed, "rss"))
    run = run_tap(TapFeed, feed_config(feed, "rss", encoding_override="windows-1250"))
    assert products_of(run) == expected_products(feed, "rss")
    assert any("Łódzka" in (p["brand"] or "") or "ż" in p["name"]
               for p in run.records["products"])


@pytest.mark.parametrize("mode", ["content-encoding", "file"])
def test_gzip_feeds_are_read(feed, feed_config, expected_products, mode):
    feed.apply_switches({"gzip": mode})
    run = run_tap(TapFeed, feed_config(feed, "atom"))
    assert feed.requests_to("GET", r"^/feeds/")[0].header("accept-encoding") == "gzip"
    assert products_of(run) == expected_products(feed, "atom")


def test_basic_auth(feed, feed_config):
    feed.apply_switches({"basic_auth": ["sklep", "Feed-hasło-9"]})
    with pytest.raises(FeedFailedError, match=r"refused access \(401\): check username"):
        run_tap(TapFeed, feed_config(feed, "rss"))
    run = run_tap(TapFeed, feed_config(feed, "rss", username="sklep", password="Feed-hasło-9"))
    assert len(run.records["products"]) == 20


def test_a_truncated_feed_fails_whole_and_sends_nothing(feed, feed_config, capsys):
    feed.apply_switches({"truncate_at": 20_000})
    with pytest.raises(FeedFailedError, match=r"not well-formed XML.*cut-off download"):
        run_tap(TapFeed, feed_config(feed, "ceneo"))
    assert '"type":"RECORD"' not in capsys.readouterr().out.replace(" ", "")


def test_a_nokaut_doctype_alone_is_accepted(feed, feed_config):
    feed.apply_switches({"doctype": True})
    run = run_tap(TapFeed, feed_config(feed, "ceneo"))
    assert len(run.records["products"]) == 20


BAD_ITEMS = """<?xml version="1.0" encoding="UTF-8"?>
<offers version="1">
<o id="1" url="https://sklep.pl/a" price="10.00" avail="1"><name>Dobry</name></o>
<o url="https://sklep.pl/b" price="10.00"><name>Bez id</name></o>
<o id="3" url="https://sklep.pl/c" price="10.00"></o>
<o id="4" url="https://sklep.pl/d" price="0"><name>Za darmo</name></o>
<o id="5" url="ftp://sklep.pl/e" price="10.00"><name>Zły link</name></o>
<o id="6" url="https://sklep.pl/f" price="10.00"><name>Zły EAN</name>
 <attrs><a name="EAN">5901234123458</a></attrs></o>
<o id="1" url="https://sklep.pl/a" price="11.00"><name>Powtórka</name></o>
<o id="7" url="https://sklep.pl/g" price="12,50" stock="3"><name>Też dobry</name></o>
</offers>"""


def test_bad_items_are_skipped_one_line_each_and_counted(tmp_path, caplog):
    path = tmp_path / "ceneo.xml.gz"
    path.write_bytes(gzip.compress(BAD_ITEMS.encode()))
    with caplog.at_level(logging.INFO):
        run = run_tap(TapFeed, {"feed_url": str(path), "default_vat_rate": 23})
    assert [p["id"] for p in run.records["products"]] == ["1", "7"]
    assert run.records["products"][1]["variants"][0]["price_gross"] == Decimal("12.50")
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == [
        "Skipped product (no id): item has no id",
        "Skipped product 3: item has no name",
        "Skipped product 4: price '0' is not above zero",
        "Skipped product 5: url 'ftp://sklep.pl/e' is not an http(s) URL",
        "Skipped product 6: EAN '5901234123458' has a wrong check digit or length",
        "Skipped product 1: variant id 1 appears again in the feed; the first one is kept"]
    assert "Finished with 6 records skipped (6 products)" in caplog.text
    # a local file that did not change is not read again
    again = run_tap(TapFeed, {"feed_url": str(path), "default_vat_rate": 23}, state=run.state)
    assert again.records == {}


def test_vat_sources_are_counted_in_the_log(feed, feed_config, caplog):
    with caplog.at_level(logging.INFO):
        run = run_tap(TapFeed, feed_config(feed, "rss"))
    rates = [p["vat_rate"] for p in run.records["products"]]
    assert f"{rates.count(23)} products at the default rate 23%, " \
           f"{len(rates) - rates.count(23)} by a vat_rules entry" in caplog.text
