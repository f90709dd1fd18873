"""End to end: ``tap-feed | target-gateway`` as two processes joined by an OS pipe, against
the feed emulator (Google RSS, gzip) and the Gateway emulator (the kit's
``tapkit.testing.pipe_to_gateway``: the second run must write nothing)."""

from __future__ import annotations

import sys
from pathlib import Path

from sandbox.feeds import FeedEmulator, FeedSwitches
from sandbox.gateway import DEMO_SHOP_GUID, DEMO_SIGNING_KEY, GatewayEmulator
from tapkit.testing import assert_variants_landed, pipe_to_gateway

TAP = [str(Path(sys.executable).parent / "tap-feed")]
VAT_RULES = [{"category": "Zdrowie i uroda > Suplementy > Witaminy", "rate": 8},
             {"category": "Zdrowie i uroda > Suplementy > Zioła i herbaty", "rate": 5},
             {"category": "Książki i multimedia > Książki", "rate": 5},
             {"category": "Książki i multimedia > Gry planszowe > Łamigłówki", "rate": 0}]


def test_feed_to_gateway_and_a_second_run_writes_nothing(tmp_path):
    feed_switches = FeedSwitches(gzip="content-encoding", basic_auth=("sklep", "Feed-hasło-9"))
    with FeedEmulator(n_products=12, seed=42, feed=feed_switches) as feeds, \
            GatewayEmulator() as gateway:
        result = pipe_to_gateway(TAP, {
            "feed_url": f"{feeds.url}/feeds/google.xml", "default_vat_rate": 23,
            "vat_rules": VAT_RULES, "username": "sklep", "password": "Feed-hasło-9",
            "allow_loopback_feed": True}, gateway, tmp_path, shop_guid=DEMO_SHOP_GUID,
            signing_key=DEMO_SIGNING_KEY)
        # every variant is one Gateway product, nothing else is; the feed's gross price, to
        # the grosz, as net at the VAT the rules chose
        assert_variants_landed(result, feeds.catalog, "feed")
        assert any(len(p.variants) > 1 for p in feeds.catalog.products)
    assert "Feed-hasło-9" not in result.logs
    assert "/feeds/google.xml" not in result.logs  # the feed URL is a secret (it may hold a token)
