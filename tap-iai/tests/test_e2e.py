"""End to end: ``tap-iai | target-gateway`` as two processes joined by an OS pipe, against the
IdoSell emulator and the Gateway emulator, for both sources."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from commerce_schema.money import net_from_gross
from sandbox.gateway import DEMO_SHOP_GUID, DEMO_SIGNING_KEY, GatewayEmulator
from sandbox.idosell import (
    DEMO_API_KEY,
    DEMO_MARKETPLACE_LOGIN,
    DEMO_MARKETPLACE_PASSWORD,
    IdoSellEmulator,
)

BIN = Path(sys.executable).parent
TAP, TARGET = BIN / "tap-iai", BIN / "target-gateway"


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


@pytest.mark.parametrize("source", ["admin_api", "iof"])
def test_idosell_to_gateway_and_a_second_run_writes_nothing(tmp_path, source):
    with IdoSellEmulator(n_products=12, seed=42) as shop, GatewayEmulator() as gateway:
        settings = ({"api_key": DEMO_API_KEY} if source == "admin_api" else
                    {"source": "iof", "marketplace_login": DEMO_MARKETPLACE_LOGIN,
                     "marketplace_password": DEMO_MARKETPLACE_PASSWORD})
        tap_config = write_config(tmp_path / "tap.json", {"shop_url": shop.url, **settings})
        target_config = write_config(tmp_path / "target.json", {
            "api_url": gateway.url, "shop_guid": DEMO_SHOP_GUID,
            "signing_key": DEMO_SIGNING_KEY, "allow_private_image_hosts": True,
            "report_file": str(tmp_path / "report.json")})
        pipeline(tap_config, target_config, tmp_path)
        report = json.loads((tmp_path / "report.json").read_text())
        assert report["status"] == "ok", report

        catalog = shop.catalog
        products = gateway.products(DEMO_SHOP_GUID)
        variant_tags = {t["guid"] for t in gateway.tags(DEMO_SHOP_GUID, type="variant")}
        # every size of every version is one Gateway product, nothing else is
        assert len(products) == catalog.variant_count()
        for product in catalog.products:
            made = [p for p in products
                    if p["data"]["source"]["product_id"] == str(product.id)]
            assert len(made) == len(product.variants), product.id
            tags = {g for p in made for g in p["tag_guids"] if g in variant_tags}
            assert len(tags) == (1 if len(product.variants) > 1 else 0), product.id
            for variant in product.variants:
                [landed] = [p for p in made if p["data"]["variants"] == dict(variant.options)]
                assert landed["vat"] == f"VAT{product.vat_rate}"
                assert Decimal(str(landed["base_price"]["amount"])) == net_from_gross(
                    variant.price_gross, product.vat_rate)  # to the grosz
                assert landed["data"]["source"]["platform"] == "idosell"
                assert len(landed["images"]) == len(product.images)
        # the 3 colours x 4 sizes group: three IdoSell products, one variant group of 12
        assert len(shop.version_group(12)) == 3
        group = [p for p in products if p["data"]["source"]["product_id"] == "12"]
        assert len(group) == 12
        assert len({g for p in group for g in p["tag_guids"] if g in variant_tags}) == 1

        # a second run finds everything unchanged and writes nothing
        before = {p["guid"]: p["updated"] for p in gateway.products(DEMO_SHOP_GUID)}
        gateway.clear_requests()
        pipeline(tap_config, target_config, tmp_path)
        assert gateway_writes(gateway) == []
        assert {p["guid"]: p["updated"] for p in gateway.products(DEMO_SHOP_GUID)} == before
        second = json.loads((tmp_path / "report.json").read_text())
        assert second["counts"]["created"] == second["counts"]["updated"] == 0
    logs = (tmp_path / "tap.err").read_text() + (tmp_path / "target.err").read_text()
    for secret in (DEMO_API_KEY, DEMO_MARKETPLACE_PASSWORD, shop.feed_token):
        assert secret not in logs
