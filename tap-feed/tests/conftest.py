"""Shared fixtures: a feed emulator on 127.0.0.1, the tap's config for it, and what the tap
must emit for the emulator's catalog (the catalog's own records, reduced to what a feed can
carry)."""

from __future__ import annotations

from typing import Any

from sandbox.catalog import Catalog
from sandbox.feeds import FeedEmulator
from tapkit.testing import helper_fixture, shared_emulator

#: the generated catalog's VAT by leaf category (everything else is 23%)
VAT_RULES = [{"category": "Zdrowie i uroda > Suplementy > Witaminy", "rate": 8},
             {"category": "Zdrowie i uroda > Suplementy > Zioła i herbaty", "rate": 5},
             {"category": "Książki i multimedia > Książki", "rate": 5},
             {"category": "Książki i multimedia > Gry planszowe > Łamigłówki", "rate": 0}]
CENEO_GROUPING = r"id_prefix:^(?P<product>\d+)_(?P<variant>\d+)$"
PATHS = {"ceneo": "/feeds/ceneo.xml", "rss": "/feeds/google.xml", "atom": "/feeds/google.atom"}


def feed_config(emulator: FeedEmulator, kind: str = "rss", **extra: Any) -> dict[str, Any]:
    """Config for one of the emulator's feeds (Ceneo grouped the PrestaShop way)."""
    config: dict[str, Any] = {"feed_url": emulator.url + PATHS[kind], "default_vat_rate": 23,
                              "vat_rules": VAT_RULES, "allow_loopback_feed": True}
    if kind == "ceneo":
        config["variant_grouping"] = CENEO_GROUPING
    config.update(extra)
    return config


def expected_products(emulator: FeedEmulator, kind: str) -> dict[str, dict[str, Any]]:
    """``catalog.product_records()`` as a feed can carry it. What a feed cannot carry:
    category ids (the path is the id), a second category (Ceneo has one ``cat``), the
    product-level SKU of a multi-variant product, the short description, created/updated
    times, and exact stock where only availability is given (Google: null). ``active`` is
    what the feed says: sellable now."""
    catalog: Catalog = emulator.catalog
    records = {r["id"]: r for r in catalog.product_records(
        image_url=emulator.image_base(), platform="feed",
        product_url=f"{emulator.shop_url}/p")}
    for product in catalog.products:
        record = records[str(product.id)]
        categories = record["categories"][:1] if kind == "ceneo" else record["categories"]
        record["categories"] = [{**c, "id": " > ".join(c["path"])} for c in categories]
        if not product.is_simple:
            record["sku"] = None
        record.update(short_description_html=None, created_at=None, updated_at=None)
        for variant, out in zip(product.variants, record["variants"], strict=True):
            selling = product.active and variant.active
            if kind == "ceneo":
                out["active"] = selling
            else:
                out["active"] = selling and variant.stock != 0
                out["stock"] = None
        record["active"] = any(v["active"] for v in record["variants"])
    return records


def _default_switches(emulator: FeedEmulator) -> None:
    emulator.apply_switches({"encoding": "utf-8", "declared_encoding": None, "gzip": None,
                             "basic_auth": None, "trickle": 0.0, "huge_bytes": 0,
                             "truncate_at": None, "limit_items": None, "doctype": False})


#: ``feeds``: a 20-product shop's feeds (seed 42) shared by a test module; ``feed``: it with
#: a fresh request log and default switches
feeds, feed = shared_emulator("feeds", lambda: FeedEmulator(n_products=20, seed=42),
                              fresh="feed", reset=_default_switches)
_feed_config = helper_fixture(feed_config)
_expected_products = helper_fixture(expected_products)
