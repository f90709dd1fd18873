"""Shared fixtures: a Magento emulator on 127.0.0.1 and configs for its three credentials."""

from __future__ import annotations

from typing import Any

from sandbox.magento import MagentoEmulator
from tapkit.testing import helper_fixture, shared_emulator

OAUTH = {"consumer_key": "demo-consumer-key", "consumer_secret": "demo-consumer-secret",
         "access_token": "demo-access-token", "access_token_secret": "demo-access-token-secret"}


def oauth_config(emulator: MagentoEmulator, **extra: Any) -> dict[str, Any]:
    """Config signing with the emulator's integration keys (OAuth 1.0a)."""
    return {"store_url": emulator.url, **OAUTH, **extra}


def admin_config(emulator: MagentoEmulator, **extra: Any) -> dict[str, Any]:
    """Config with the emulator's admin login."""
    return {"store_url": emulator.url, "admin_username": "admin",
            "admin_password": "demo-password", **extra}


#: ``magento``: a 20-product store (seed 42) shared by a test module; ``store``: it with a
#: fresh request log
magento, store = shared_emulator("magento", lambda: MagentoEmulator(n_products=20, seed=42),
                                 fresh="store")
_oauth_config = helper_fixture(oauth_config)
_admin_config = helper_fixture(admin_config)
