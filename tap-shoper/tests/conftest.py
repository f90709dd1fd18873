"""Shared fixtures: a Shoper emulator on 127.0.0.1 and an in-process tap run (the kit's)."""

from __future__ import annotations

from typing import Any

from sandbox.shoper import ShoperEmulator
from tap_shoper.tap import TapShoper
from tapkit.testing import TapRun, helper_fixture, shared_emulator
from tapkit.testing import run_tap as kit_run_tap


def run_tap(config: dict[str, Any], *, state: dict | None = None,
            catalog: dict | None = None) -> TapRun:
    """Sync like ``tap-shoper --config --state --catalog`` would (the kit's ``run_tap``)."""
    return kit_run_tap(TapShoper, config, state=state, catalog=catalog)


def login_config(emulator: ShoperEmulator, **extra: Any) -> dict[str, Any]:
    """Config for the emulator's admin login."""
    return {"shop_url": emulator.url, "username": "demo", "password": "demo-password",
            **extra}


#: ``shoper``: a 20-product shop (seed 42), no rate limit, shared by a test module;
#: ``shop``: it with a fresh request log
shoper, shop = shared_emulator("shoper", lambda: ShoperEmulator(n_products=20, seed=42),
                               fresh="shop")
_run_tap = helper_fixture(run_tap)
_login_config = helper_fixture(login_config)
