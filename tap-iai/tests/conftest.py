"""Shared fixtures: an IdoSell emulator on 127.0.0.1 and the tap's configs for both sources."""

from __future__ import annotations

from typing import Any

from sandbox.idosell import (
    DEMO_API_KEY,
    DEMO_MARKETPLACE_LOGIN,
    DEMO_MARKETPLACE_PASSWORD,
    IdoSellEmulator,
)
from tapkit.testing import helper_fixture, shared_emulator


def admin_config(emulator: IdoSellEmulator, **extra: Any) -> dict[str, Any]:
    """The Admin API with the emulator's key."""
    return {"shop_url": emulator.url, "api_key": DEMO_API_KEY, **extra}


def marketplace_config(emulator: IdoSellEmulator, **extra: Any) -> dict[str, Any]:
    """The IOF feed found through the Marketplace API."""
    return {"shop_url": emulator.url, "source": "iof", "allow_loopback_feed": True,
            "marketplace_login": DEMO_MARKETPLACE_LOGIN,
            "marketplace_password": DEMO_MARKETPLACE_PASSWORD, **extra}


#: ``idosell``: a 25-product shop (seed 42: product 12 is 3 colours x 4 sizes) shared by a
#: module; ``shop``: it with a fresh request log
idosell, shop = shared_emulator("idosell", lambda: IdoSellEmulator(n_products=25, seed=42),
                                fresh="shop")
_admin_config = helper_fixture(admin_config)
_marketplace_config = helper_fixture(marketplace_config)
