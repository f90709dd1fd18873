"""End to end: ``tap-shoper | target-gateway`` as two processes joined by an OS pipe, against
the Shoper emulator (rate limit on) and the Gateway emulator (the kit's
``tapkit.testing.pipe_to_gateway``: the second run must write nothing)."""

from __future__ import annotations

import sys
from pathlib import Path

from sandbox.gateway import DEMO_SHOP_GUID, DEMO_SIGNING_KEY, GatewayEmulator
from sandbox.server import RateLimit, Switches
from sandbox.shoper import ShoperEmulator
from tapkit.testing import assert_variants_landed, pipe_to_gateway

TAP = [str(Path(sys.executable).parent / "tap-shoper")]


def test_shoper_to_gateway_and_a_second_run_writes_nothing(tmp_path):
    bucket = RateLimit(capacity=10, leak_per_second=50)

    def paced() -> None:
        assert bucket.refused <= 2  # the tap paced itself under the shop's rate limit

    with ShoperEmulator(n_products=25, seed=42, switches=Switches(rate_limit=bucket)) as shop, \
            GatewayEmulator() as gateway:
        result = pipe_to_gateway(TAP, {
            "shop_url": shop.url, "username": "demo", "password": "demo-password"},
            gateway, tmp_path, shop_guid=DEMO_SHOP_GUID, signing_key=DEMO_SIGNING_KEY,
            after_first_run=paced)
        # every variant is one Gateway product, nothing else is; images copied into the
        # Gateway: product images, then the variant's own; multi-variant products share one
        # tag each, no two products share a tag
        assert_variants_landed(result, shop.catalog, "shoper")
        for made in result.products:
            # the net price, with the VAT class beside it
            assert made["base_price"]["vat_percent"] == 0
            assert all(url.startswith(f"{gateway.url}/bucket/") for url in made["images"])
        assert any(len(p.variants) > 1 for p in shop.catalog.products)
    assert "demo-password" not in result.logs
