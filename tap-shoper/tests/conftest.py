"""Shared fixtures: a Shoper emulator on 127.0.0.1 and an in-process tap run."""

from __future__ import annotations

import contextlib
import io
import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from sandbox.shoper import ShoperEmulator
from tap_shoper.tap import TapShoper


@dataclass
class TapRun:
    """What one in-process run of the tap wrote to stdout."""

    messages: list[dict[str, Any]]
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    tap: TapShoper | None = None

    @property
    def state(self) -> dict[str, Any] | None:
        """The last STATE message's value."""
        states = [m["value"] for m in self.messages if m["type"] == "STATE"]
        return states[-1] if states else None


def run_tap(config: dict[str, Any], *, state: dict | None = None,
            catalog: dict | None = None) -> TapRun:
    """Sync like ``tap-shoper --config --state --catalog`` would, messages parsed with
    Decimal numbers."""
    out = io.StringIO()
    tap = TapShoper(config=config, state=state, catalog=catalog)
    with contextlib.redirect_stdout(out):
        tap.sync_all()
    messages = [json.loads(line, parse_float=Decimal)
                for line in out.getvalue().splitlines() if line.strip()]
    records: dict[str, list[dict]] = defaultdict(list)
    for message in messages:
        if message["type"] == "RECORD":
            records[message["stream"]].append(message["record"])
    return TapRun(messages, dict(records), tap)


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
