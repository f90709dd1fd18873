"""Shared fixtures: an IdoSell emulator on 127.0.0.1 and the tap's configs for both sources."""

from __future__ import annotations

from typing import Any

import pytest
from sandbox.idosell import (
    DEMO_API_KEY,
    DEMO_MARKETPLACE_LOGIN,
    DEMO_MARKETPLACE_PASSWORD,
    IdoSellEmulator,
)


def admin_config(emulator: IdoSellEmulator, **extra: Any) -> dict[str, Any]:
    """The Admin API with the emulator's key."""
    return {"shop_url": emulator.url, "api_key": DEMO_API_KEY, **extra}


def marketplace_config(emulator: IdoSellEmulator, **extra: Any) -> dict[str, Any]:
    """The IOF feed found through the Marketplace API."""
    return {"shop_url": emulator.url, "source": "iof",
            "marketplace_login": DEMO_MARKETPLACE_LOGIN,
            "marketplace_password": DEMO_MARKETPLACE_PASSWORD, **extra}


@pytest.fixture(scope="module")
def idosell():
    """A 25-product shop (seed 42: product 12 is 3 colours x 4 sizes), shared by a module."""
    with IdoSellEmulator(n_products=25, seed=42) as emulator:
        yield emulator


@pytest.fixture
def shop(idosell):
    """The module's shop with a fresh request log."""
    idosell.clear_requests()
    return idosell


@pytest.fixture(name="admin_config")
def _admin_config():
    """:func:`admin_config` (conftest modules are not importable under importlib mode)."""
    return admin_config


@pytest.fixture(name="marketplace_config")
def _marketplace_config():
    """:func:`marketplace_config`."""
    return marketplace_config
