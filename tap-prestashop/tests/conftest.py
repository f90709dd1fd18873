"""Shared fixtures: a PrestaShop emulator on 127.0.0.1 and what a correct tap emits for it."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from sandbox.prestashop import DEMO_API_KEY, PrestaShopEmulator, image_path
from tapkit.testing import helper_fixture, shared_emulator


def config(emulator: PrestaShopEmulator, **extra: Any) -> dict[str, Any]:
    """The tap's config for ``emulator`` (its sub-folder included)."""
    return {"shop_url": emulator.url + emulator.base_path, "api_key": DEMO_API_KEY, **extra}


def expected_products(emulator: PrestaShopEmulator) -> list[dict[str, Any]]:
    """``catalog.product_records()`` as PrestaShop can carry it. What it cannot:

    - image URLs are the storefront's ``/img/p/...`` files, and a product's images include
      its combinations' (PrestaShop keeps every image on the product; a combination only
      points at some of them);
    - combinations have no active flag of their own: a variant is as active as its product;
    - stock cannot be "not tracked" per product: such a variant is a quantity of 0 that may
      be ordered anyway (``out_of_stock`` 1);
    - the product URL is ``index.php?controller=product&id_product=N``.
    """
    shop = emulator.url + emulator.base_path
    by_id = {p.id: p for p in emulator.catalog.products}

    def url(image_key: str) -> str:
        return shop + image_path(emulator.image_ids[image_key])

    records = []
    for record in emulator.catalog.product_records(platform="prestashop"):
        record = copy.deepcopy(record)
        product = by_id[int(record["id"])]
        keys = [i.key for i in product.images] + [v.image.key for v in product.variants
                                                   if v.image is not None]
        record["images"] = [{"url": url(k), "position": n, "public": True}
                            for n, k in enumerate(keys, start=1)]
        record["url"] = f"{shop}/index.php?controller=product&id_product={record['id']}"
        for variant, source in zip(record["variants"], product.variants, strict=True):
            variant["active"] = record["active"]
            variant["stock"] = Decimal(0) if variant["stock"] is None else variant["stock"]
            variant["images"] = ([{"url": url(source.image.key), "position": 1,
                                   "public": True}] if source.image else [])
        records.append(record)
    return records


def _default_switches(emulator: PrestaShopEmulator) -> None:
    emulator.drop_authorization = False


#: ``prestashop``: a 20-product shop (seed 42) shared by a test module; ``shop``: it with a
#: fresh request log and default switches
prestashop, shop = shared_emulator("prestashop",
                                   lambda: PrestaShopEmulator(n_products=20, seed=42),
                                   fresh="shop", reset=_default_switches)
_config = helper_fixture(config)
_expected_products = helper_fixture(expected_products)
