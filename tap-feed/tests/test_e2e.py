"""End to end: ``tap-feed | target-gateway`` as two processes joined by an OS pipe, against
the feed emulator (Google RSS, gzip) and the Gateway emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from commerce_schema.money import net_from_gross
from sandbox.feeds import FeedEmulator, FeedSwitches
from sandbox.gateway import DEMO_SHOP_GUID, DEMO_SIGNING_KEY, GatewayEmulator

BIN = Path(sys.executable).parent
TAP, TARGET = BIN / "tap-feed", BIN / "target-gateway"
VAT_RULES = [{"category": "Zdrowie i uroda > Suplementy > Witaminy", "rate": 8},
             {"category": "Zdrowie i uroda > Suplementy > Zioła i herbaty", "rate": 5},
             {"category": "Książki i multimedia > Książki", "rate": 5},
             {"category": "Książki i multimedia > Gry planszowe > Łamigłówki", "rate": 0}]


def write_config(path: Path, values: dict) -> Path:
    path.write_text(json.dumps(values))
    path.chmod(0o600)
    return path


def pipeline(tap_config: Path, target_config: Path, logs: Path) -> None:
    """Run the tap into the target through a pipe; both must exit 0."""
    read_end, write_end = os.pipe()
    with (logs / "tap.err").open("ab") as tap_err, (logs / "target.err").open("ab") as tgt_err:
        tap = subprocess.Popen([str(TAP), "--config", str(tap_config)], stdout=write_end,
                               stderr=tap_err)
        os.close(write_end)
        target = subprocess.Popen([str(TARGET), "--config", str(target_config)],
                                  stdin=read_end, stdout=subprocess.DEVNULL, stderr=tgt_err)
        os.close(read_end)
        tap_code, target_code = tap.wait(timeout=120), target.wait(timeout=120)
    assert (tap_code, target_code) == (0, 0), (logs / "tap.err").read_text()[-3000:] + \
        (logs / "target.err").read_text()[-3000:]


def gateway_writes(gateway: GatewayEmulator) -> list[str]:
    """Requests that change the Gateway (the product query is a read sent as POST)."""
    return [f"{r.method} {r.path}" for r in gateway.requests_to()
            if r.method in {"POST", "PUT", "DELETE", "PATCH"} and not r.path.endswith("/_query")]


def test_feed_to_gateway_and_a_second_run_writes_nothing(tmp_path):
    feed_switches = FeedSwitches(gzip="content-encoding", basic_auth=("sklep", "Feed-hasło-9"))
    with FeedEmulator(n_products=12, seed=42, feed=feed_switches) as feeds, \
            GatewayEmulator() as gateway:
        tap_config = write_config(tmp_path / "tap.json", {
            "feed_url": f"{feeds.url}/feeds/google.xml", "default_vat_rate": 23,
            "vat_rules": VAT_RULES, "username": "sklep", "password": "Feed-hasło-9",
            "allow_loopback_feed": True})
        target_config = write_config(tmp_path / "target.json", {
            "api_url": gateway.url, "shop_guid": DEMO_SHOP_GUID,
            "signing_key": DEMO_SIGNING_KEY, "allow_private_image_hosts": True,
            "report_file": str(tmp_path / "report.json")})
        pipeline(tap_config, target_config, tmp_path)
        report = json.loads((tmp_path / "report.json").read_text())
        assert report["status"] == "ok"

        catalog = feeds.catalog
        products = gateway.products(DEMO_SHOP_GUID)
        variant_tags = {t["guid"] for t in gateway.tags(DEMO_SHOP_GUID, type="variant")}
        by_source = {(p["data"]["source"]["product_id"], p["data"]["source"]["variant_id"]): p
                     for p in products}
        # every variant is one Gateway product, nothing else is
        assert len(products) == catalog.variant_count()
        assert set(by_source) == {(str(p.id), str(v.id)) for p in catalog.products
                                  for v in p.variants}
        groups: dict[str, set[str]] = defaultdict(set)
        for product in catalog.products:
            for variant in product.variants:
                made = by_source[(str(product.id), str(variant.id))]
                assert made["data"]["source"]["platform"] == "feed"
                tags = [g for g in made["tag_guids"] if g in variant_tags]
                if len(product.variants) > 1:
                    assert len(tags) == 1, made
                    groups[str(product.id)].add(tags[0])
                else:
                    assert tags == []
                # the feed's gross price, to the grosz, as net at the VAT the rules chose
                assert made["vat"] == f"VAT{product.vat_rate}"
                assert Decimal(str(made["base_price"]["amount"])) == net_from_gross(
                    variant.price_gross, product.vat_rate)
                assert made["data"]["variants"] == dict(variant.options)
                expected = len(product.images) + (1 if variant.image else 0)
                assert len(made["images"]) == expected
        assert all(len(tags) == 1 for tags in groups.values())
        assert len({next(iter(t)) for t in groups.values()}) == len(groups) > 0

        # a second run finds everything unchanged and writes nothing
        before = {p["guid"]: p["updated"] for p in gateway.products(DEMO_SHOP_GUID)}
        gateway.clear_requests()
        pipeline(tap_config, target_config, tmp_path)
        assert gateway_writes(gateway) == []
        assert {p["guid"]: p["updated"] for p in gateway.products(DEMO_SHOP_GUID)} == before
        second = json.loads((tmp_path / "report.json").read_text())
        assert second["counts"]["created"] == second["counts"]["updated"] == 0
    logs = (tmp_path / "tap.err").read_text() + (tmp_path / "target.err").read_text()
    assert "Feed-hasło-9" not in logs
    assert "/feeds/google.xml" not in logs  # the feed URL is a secret (it may hold a token)
