"""Shared fixtures: a Magento emulator on 127.0.0.1 and configs for its three credentials."""

from __future__ import annotations

from typing import Any

import pytest
from sandbox.magento import MagentoEmulator

OAUTH = {"consumer_key": "demo-consumer-key", "consumer_secret": "demo-consumer-secret",
         "access_token": "demo-access-token", "access_token_secret": "demo-access-token-secret"}


def oauth_config(emulator: MagentoEmulator, **extra: Any) -> dict[str, Any]:
    """Config signing with the emulator's integration keys (OAuth 1.0a)."""
    return {"store_url": emulator.url, **OAUTH, **extra}


def admin_config(emulator: MagentoEmulator, **extra: Any) -> dict[str, Any]:
    """Config with the emulator's admin login."""
    return {"store_url": emulator.url, "admin_username": "admin",
            "admin_password": "demo-password", **extra}


@pytest.fixture(scope="module")
def magento():
    """A 20-product store (seed 42), shared by a test module."""
    with MagentoEmulator(n_products=20, seed=42) as emulator:
        yield emulator


@pytest.fixture
def store(magento):
    """The module's store with a fresh request log."""
    magento.clear_requests()
    return magento


@pytest.fixture(name="oauth_config")
def _oauth_config():
    """:func:`oauth_config` (conftest is not importable under importlib mode)."""
    return oauth_config


@pytest.fixture(name="admin_config")
def _admin_config():
    """:func:`admin_config`."""
    return admin_config
