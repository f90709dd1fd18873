"""A bad day on both sides, for every tap with an HTTP source (tests/test_faults.py does the
same, and more, for tap-shoper).

Each platform's emulator answers 10% of its API calls with a 5xx and drops 5% of the
connections; the Gateway emulator does the same to the target. The run must still end with
exactly the Gateway products that a clean run of the same catalog makes: every variant once,
nothing lost, nothing twice. The platforms come from the benchmark registry
(``bench/run.py``'s ``PLATFORMS``), so a new platform is covered by its one registry line.
Subiekt GT reads a database file, not HTTP: its faults are its own tests' business.
"""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sandbox.catalog import generate_catalog
from sandbox.gateway import DEMO_SHOP_GUID, DEMO_SIGNING_KEY, GatewayEmulator
from sandbox.server import Switches
from tapkit.testing import pipe_once, write_config

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.slow  # run by `make meltano-test` (CI), not `make test`
N_PRODUCTS = 12


def _registry() -> dict[str, Any]:
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module.PLATFORMS


PLATFORMS = _registry()
HTTP_PLATFORMS = sorted(name for name in PLATFORMS if name not in ("shoper", "subiektgt"))


def bad_start(fault_paths: str | None = None) -> Switches:
    """10% 5xx and 5% drops (on ``fault_paths`` only), seeded so that the very first call
    meets a 5xx and its retry a dropped connection: every run meets both, however few calls
    the platform needs (the dice depend on the seed and the call's number only)."""
    for seed in range(100_000):
        dice = Switches(error_rate=0.1, drop_rate=0.05, seed=seed)
        if [dice.fault_for(n, "/") for n in range(1, 6)] == ["error", "drop", None, None, None]:
            return Switches(error_rate=0.1, drop_rate=0.05, seed=seed, fault_paths=fault_paths)
    raise AssertionError("no seed found")  # pragma: no cover - the search ends early


def faults_seen(emulator: Any) -> Counter:
    """Which injected faults the emulator's requests met (replays the seeded dice)."""
    switches = emulator.switches
    return Counter(switches.fault_for(n, r.path) for n, r in enumerate(emulator.requests_to(), 1))


def landed(gateway: GatewayEmulator) -> Counter:
    """Gateway products per (platform, product id, variant id) of ``data.source``."""
    return Counter((p["data"]["source"]["platform"], p["data"]["source"]["product_id"],
                    p["data"]["source"]["variant_id"]) for p in gateway.products(DEMO_SHOP_GUID))


def sync(platform: Any, switches: Switches, gateway: GatewayEmulator, folder: Path) -> Counter:
    """One ``tap | target-gateway`` run of the platform's catalog into ``gateway``; the faults
    the platform's emulator served."""
    folder.mkdir()
    emulator = platform.make_emulator(generate_catalog(N_PRODUCTS, seed=7), switches)
    with emulator:
        tap_config = write_config(folder / "x-tap.json", platform.tap_config(emulator))
        target_config = write_config(folder / "x-target.json", {
            "api_url": gateway.url, "shop_guid": DEMO_SHOP_GUID,
            "signing_key": DEMO_SIGNING_KEY, "allow_private_image_hosts": True,
            "batch_size": 5, "max_workers": 4, "retry_backoff_ms": 20})
        pipe_once([str(BIN / platform.tap)], tap_config, [str(BIN / "target-gateway")],
                  target_config, folder, timeout=240)
        return faults_seen(emulator)


@pytest.mark.parametrize("name", HTTP_PLATFORMS)
def test_a_bad_day_on_both_sides_still_lands_every_variant_exactly_once(name, tmp_path):
    platform = PLATFORMS[name]
    with GatewayEmulator() as clean:
        sync(platform, Switches(), clean, tmp_path / "clean")
        expected = landed(clean)

    assert expected
    assert max(expected.values()) == 1

    with GatewayEmulator(switches=bad_start()) as gateway:
        platform_faults = sync(platform, bad_start(platform.api_path), gateway,
                               tmp_path / "faulty")
        assert landed(gateway) == expected
        assert len({p["guid"] for p in gateway.products(DEMO_SHOP_GUID)}) == len(expected)
        gateway_faults = faults_seen(gateway)
    # the faults really happened on both sides, and were ridden out
    assert platform_faults["error"] >= 1, platform_faults
    assert platform_faults["drop"] >= 1, platform_faults
    assert gateway_faults["error"] >= 1, gateway_faults
    assert gateway_faults["drop"] >= 1, gateway_faults
