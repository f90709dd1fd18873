"""End to end: ``tap-iai | target-gateway`` as two processes joined by an OS pipe, against the
IdoSell emulator and the Gateway emulator, for both sources (the kit's
``tapkit.testing.pipe_to_gateway``: the second run must write nothing)."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

import pytest
from sandbox.gateway import DEMO_SHOP_GUID, DEMO_SIGNING_KEY, GatewayEmulator
from sandbox.idosell import (
    DEMO_API_KEY,
    DEMO_MARKETPLACE_LOGIN,
    DEMO_MARKETPLACE_PASSWORD,
    IdoSellEmulator,
)
from tapkit.testing import pipe_to_gateway

TAP = [str(Path(sys.executable).parent / "tap-iai")]


@pytest.mark.parametrize("source", ["admin_api", "iof"])
def test_idosell_to_gateway_and_a_second_run_writes_nothing(tmp_path, source):
    with IdoSellEmulator(n_products=12, seed=42) as shop, GatewayEmulator() as gateway:
        settings = ({"api_key": DEMO_API_KEY} if source == "admin_api" else
                    {"source": "iof", "allow_loopback_feed": True,
                     "marketplace_login": DEMO_MARKETPLACE_LOGIN,
                     "marketplace_password": DEMO_MARKETPLACE_PASSWORD})
        result = pipe_to_gateway(TAP, {"shop_url": shop.url, **settings}, gateway, tmp_path,
                                 shop_guid=DEMO_SHOP_GUID, signing_key=DEMO_SIGNING_KEY)

        catalog = shop.catalog
        products = result.products
        # every size of every version is one Gateway product, nothing else is (IdoSell's
        # variant ids are its sizes: matched by options, not by the catalog's ids)
        assert len(products) == catalog.variant_count()
        for product in catalog.products:
            made = [p for p in products
                    if p["data"]["source"]["product_id"] == str(product.id)]
            assert len(made) == len(product.variants), product.id
            tags = {g for p in made for g in result.tags_of(p)}
            assert len(tags) == (1 if len(product.variants) > 1 else 0), product.id
            for variant in product.variants:
                [landed] = [p for p in made if p["data"]["variants"] == dict(variant.options)]
                assert landed["vat"] == f"VAT{product.vat_rate}"
                # the marketplace shows the shop's gross to the grosz
                assert Decimal(str(landed["price"]["base"]["gross"])) == variant.price_gross
                assert landed["data"]["source"]["platform"] == "idosell"
                assert len(landed["images"]) == len(product.images)
        # the 3 colours x 4 sizes group: three IdoSell products, one variant group of 12
        assert len(shop.version_group(12)) == 3
        group = [p for p in products if p["data"]["source"]["product_id"] == "12"]
        assert len(group) == 12
        assert len({g for p in group for g in result.tags_of(p)}) == 1
    for secret in (DEMO_API_KEY, DEMO_MARKETPLACE_PASSWORD, shop.feed_token):
        assert secret not in result.logs
