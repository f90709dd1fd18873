"""End to end: ``tap-prestashop | target-gateway`` as two processes joined by an OS pipe,
against the PrestaShop emulator and the Gateway emulator (the kit's
``tapkit.testing.pipe_to_gateway``: the second run must write nothing)."""

from __future__ import annotations

import sys
from pathlib import Path

from sandbox.gateway import DEMO_SHOP_GUID, DEMO_SIGNING_KEY, GatewayEmulator
from sandbox.prestashop import DEMO_API_KEY, PrestaShopEmulator
from tapkit.testing import assert_variants_landed, pipe_to_gateway

TAP = [str(Path(sys.executable).parent / "tap-prestashop")]


def test_prestashop_to_gateway_and_a_second_run_writes_nothing(tmp_path):
    with PrestaShopEmulator(n_products=20, seed=42, base_path="/sklep",
                            drop_authorization=True) as shop, GatewayEmulator() as gateway:
        result = pipe_to_gateway(TAP, {
            "shop_url": f"{shop.url}/sklep", "api_key": DEMO_API_KEY, "page_size": 8},
            gateway, tmp_path, shop_guid=DEMO_SHOP_GUID, signing_key=DEMO_SIGNING_KEY)
        # every combination (or simple product) is one Gateway product, nothing else is; the
        # net price to the grosz (from PrestaShop's 6-decimal net and impact); every product
        # image (combinations' included) copied into the Gateway
        assert_variants_landed(result, shop.catalog, "prestashop", images=lambda product, _: (
            len(product.images) + sum(1 for v in product.variants if v.image)))
        assert all(url.startswith(f"{gateway.url}/bucket/")
                   for made in result.products for url in made["images"])
        assert any(len(p.variants) > 1 for p in shop.catalog.products)
    assert DEMO_API_KEY not in result.logs
    assert "ws_key parameter" in result.logs  # the FastCGI fallback was used, and said so
