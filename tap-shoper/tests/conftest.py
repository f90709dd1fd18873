"""Shared fixtures: a Shoper emulator on 127.0.0.1 and an in-process tap run (the kit's)."""

from __future__ import annotations

from typing import Any

import pytest
from sandbox.shoper import ShoperEmulator
from tap_shoper.tap import TapShoper
from tapkit.testing import TapRun
from tapkit.testing import run_tap as kit_run_tap


def run_tap(config: dict[str, Any], *, state: dict | None = None,
            catalog: dict | None = None) -> TapRun:
    """Sync like ``tap-shoper --config --state --catalog`` would (the kit's ``run_tap``)."""
    return kit_run_tap(TapShoper, config, state=state, catalog=catalog)


def login_config(emulator: ShoperEmulator, **extra: Any) -> dict[str, Any]:
    """Config for the emulator's admin login."""
    return {"shop_url": emulator.url, "username": "demo", "password": "demo-password",
            **extra}


@pytest.fixture(scope="module")
def shoper():
    """A 20-product shop (seed 42), no rate limit, shared by a test module."""
    with ShoperEmulator(n_products=20, seed=42) as emulator:
        yield emulator


@pytest.fixture
def shop(shoper):
    """The module's shop with a fresh request log."""
    shoper.clear_requests()
    return shoper


@pytest.fixture(name="run_tap")
def _run_tap():
    """:func:`run_tap` (test modules cannot import conftest under importlib mode)."""
    return run_tap


@pytest.fixture(name="login_config")
def _login_config():
    """:func:`login_config`."""
    return login_config
