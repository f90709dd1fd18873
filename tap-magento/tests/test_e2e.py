"""End to end: ``tap-magento | target-gateway`` as two processes joined by an OS pipe,
against the Magento emulator (OAuth 1.0a) and the Gateway emulator (the kit's
``tapkit.testing.pipe_to_gateway``: the second run must write nothing)."""

from __future__ import annotations

import sys
from pathlib import Path

from sandbox.gateway import DEMO_SHOP_GUID, DEMO_SIGNING_KEY, GatewayEmulator
from sandbox.magento import MagentoEmulator
from tapkit.testing import assert_variants_landed, pipe_to_gateway

TAP = [str(Path(sys.executable).parent / "tap-magento")]


def test_magento_to_gateway_and_a_second_run_writes_nothing(tmp_path):
    with MagentoEmulator(n_products=25, seed=42) as store, GatewayEmulator() as gateway:
        result = pipe_to_gateway(TAP, {
            "store_url": store.url, "consumer_key": "demo-consumer-key",
            "consumer_secret": "demo-consumer-secret", "access_token": "demo-access-token",
            "access_token_secret": "demo-access-token-secret"}, gateway, tmp_path,
            shop_guid=DEMO_SHOP_GUID, signing_key=DEMO_SIGNING_KEY)
        # to the grosz: Magento's 6-decimal net price gives back the shop's gross
        assert_variants_landed(result, store.catalog, "magento")
    for secret in ("demo-consumer-secret", "demo-access-token-secret"):
        assert secret not in result.logs
