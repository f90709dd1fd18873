"""Fault injection end to end (issue #7): ``tap-shoper | target-gateway`` as two processes
joined by an OS pipe, against the Shoper and Gateway emulators over real sockets.

- a bad day on both sides (10% 5xx, dropped connections, bursts of 429 with Retry-After):
  the run still ends with every variant in the Gateway exactly once;
- the target SIGKILLed in the middle of a run, then the run repeated from the state it had
  printed: every variant exactly once, nothing lost, nothing twice (tags included);
- the Gateway down for a whole run: a clear failure, non-zero exit, no STATE; the next run,
  with the Gateway back, completes.

Small catalogs, tiny backoffs and seeded faults keep this under half a minute.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sandbox.gateway import DEMO_SHOP_GUID, DEMO_SIGNING_KEY, GatewayEmulator
from sandbox.server import RateLimit, Switches
from sandbox.shoper import ShoperEmulator
from target_gateway.gateway import mint_token

BIN = Path(sys.executable).parent

pytestmark = pytest.mark.slow  # run by `make meltano-test` (CI), not `make test`
TAP, TARGET = str(BIN / "tap-shoper"), str(BIN / "target-gateway")
PASSWORD = "hasło-do-sklepu-fault"  # the Shoper admin password these runs log in with
N_PRODUCTS = 20


class Bursts(RateLimit):
    """A throttle refusing ``burst`` calls in a row every ``every`` calls (429, Retry-After 1):
    the same number of refusals on a slow machine as on a fast one, unlike a leaky bucket."""

    def __init__(self, every: int, burst: int = 2) -> None:
        super().__init__(capacity=10, leak_per_second=100)
        self.every, self.burst, self.calls = every, burst, 0

    def acquire(self) -> tuple[bool, float, float]:
        with self._lock:
            self.calls += 1
            if (self.calls - 1) % self.every < self.every - self.burst:
                return True, 0.0, 0.0
            self.refused += 1
            return False, 1.0, 0.5

    @property
    def level(self) -> float:
        """Always empty: the tap's pacer must not slow down, the 429s are the test."""
        return 0.0


def configs(folder: Path, shop: ShoperEmulator, gateway: GatewayEmulator, name: str,
            **target: Any) -> tuple[Path, Path, Path]:
    """(tap config, target config, report path) for one run."""
    tap_config = folder / f"{name}-tap.json"
    tap_config.write_text(json.dumps({"shop_url": shop.url, "username": "demo",
                                      "password": PASSWORD, "page_size": 10}))
    report = folder / f"{name}-report.json"
    target_config = folder / f"{name}-target.json"
    target_config.write_text(json.dumps({
        "api_url": gateway.url, "shop_guid": DEMO_SHOP_GUID, "signing_key": DEMO_SIGNING_KEY,
        "allow_private_image_hosts": True, "batch_size": 5, "max_workers": 4,
        "retry_backoff_ms": 20, "report_file": str(report), **target}))
    return tap_config, target_config, report


class Run:
    """``tap --config --state | target --config``, both with their stderr in files."""

    def __init__(self, folder: Path, name: str, tap_config: Path, target_config: Path,
                 state: dict | None = None) -> None:
        self.folder, self.name = folder, name
        command = [TAP, "--config", str(tap_config)]
        if state is not None:
            state_file = folder / f"{name}-state.json"
            state_file.write_text(json.dumps(state))
            command += ["--state", str(state_file)]
        read_end, write_end = os.pipe()
        self.tap_err = (folder / f"{name}-tap.err").open("wb")
        self.target_err = (folder / f"{name}-target.err").open("wb")
        self.tap = subprocess.Popen(command, stdout=write_end, stderr=self.tap_err)
        os.close(write_end)
        self.target = subprocess.Popen([TARGET, "--config", str(target_config)], stdin=read_end,
                                       stdout=subprocess.PIPE, stderr=self.target_err)
        os.close(read_end)

    def wait(self, timeout: float = 120) -> tuple[int, int, str]:
        """(tap exit code, target exit code, target stdout)."""
        try:
            out, _ = self.target.communicate(timeout=timeout)
            self.tap.wait(timeout=timeout)
        finally:
            for proc in (self.tap, self.target):
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            self.tap_err.close()
            self.target_err.close()
        return self.tap.returncode, self.target.returncode, out.decode()

    @property
    def logs(self) -> str:
        """Both sides' stderr."""
        return "".join((self.folder / f"{self.name}-{side}.err").read_text(errors="replace")
                       for side in ("tap", "target"))


def states(stdout: str) -> list[dict[str, Any]]:
    """The STATE values the target printed (one JSON object per line)."""
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def variants_of(shop: ShoperEmulator) -> Counter:
    """Every sellable variant of the shop's catalog, once."""
    return Counter({("shoper", str(p.id), str(v.id)): 1 for p in shop.catalog.products
                    for v in p.variants})


def landed(gateway: GatewayEmulator) -> Counter:
    """Gateway products per (platform, product id, variant id) of ``data.source``."""
    return Counter((p["data"]["source"]["platform"], p["data"]["source"]["product_id"],
                    p["data"]["source"]["variant_id"]) for p in gateway.products(DEMO_SHOP_GUID))


def assert_exactly_once(shop: ShoperEmulator, gateway: GatewayEmulator) -> None:
    """Every variant once by source id, every guid once, one variant tag per multi-variant
    product and no tag left over."""
    products = gateway.products(DEMO_SHOP_GUID)
    assert landed(gateway) == variants_of(shop)
    guids = Counter(p["guid"] for p in products)
    assert max(guids.values()) == 1
    tags = {t["guid"]: t for t in gateway.tags(DEMO_SHOP_GUID, type="variant")}
    multi = {str(p.id) for p in shop.catalog.products if len(p.variants) > 1}
    users: dict[str, set[str]] = {}
    for product in products:
        for guid in product["tag_guids"]:
            if guid in tags:
                users.setdefault(guid, set()).add(product["data"]["source"]["product_id"])
    assert sorted(len(u) for u in users.values()) == [1] * len(multi)
    assert {next(iter(u)) for u in users.values()} == multi
    assert set(tags) == set(users)  # no variant tag made twice and orphaned


def assert_no_secret(*texts: str) -> None:
    token = mint_token(DEMO_SHOP_GUID, base64.b64decode(DEMO_SIGNING_KEY))  # deterministic
    for text in texts:
        for secret in (PASSWORD, DEMO_SIGNING_KEY, token):
            assert secret not in text


def faults_seen(emulator: Any) -> Counter:
    """Which injected faults the emulator's requests actually met (replays the seeded dice)."""
    sw = emulator.switches
    return Counter(sw.fault_for(n, r.path) for n, r in enumerate(emulator.requests_to(), 1))


def test_5xx_drops_and_429_bursts_on_both_sides_land_every_variant_once(tmp_path):
    # Faults are decided by the request's sequence number and the seed; these seeds put a
    # drop and a 5xx among the first ten requests of each side (before any concurrency), so
    # every run meets both. The shop's storefront images (fetched by the Gateway) stay clean.
    shop_switches = Switches(error_rate=0.1, drop_rate=0.05, seed=70,
                             fault_paths=r"^/webapi/", rate_limit=Bursts(every=20))
    gateway_switches = Switches(error_rate=0.1, drop_rate=0.05, seed=8,
                                rate_limit=Bursts(every=20))
    with ShoperEmulator(n_products=N_PRODUCTS, seed=5, switches=shop_switches,
                        password=PASSWORD) as shop, \
            GatewayEmulator(switches=gateway_switches) as gateway:
        tap_config, target_config, report = configs(tmp_path, shop, gateway, "faults",
                                                    max_retries=12)
        run = Run(tmp_path, "faults", tap_config, target_config)
        tap_code, target_code, out = run.wait()
        logs = run.logs
        assert (tap_code, target_code) == (0, 0), logs[-4000:]
        assert_exactly_once(shop, gateway)
        shop_faults, gateway_faults = faults_seen(shop), faults_seen(gateway)
    # the faults really happened, on both sides, and were ridden out
    assert shop_faults["error"] > 0, shop_faults
    assert shop_faults["drop"] > 0, shop_faults
    assert gateway_faults["error"] > 0, gateway_faults
    assert gateway_faults["drop"] > 0, gateway_faults
    assert shop_switches.rate_limit.refused >= 2
    assert gateway_switches.rate_limit.refused >= 2
    assert "Retrying /" in logs  # the tap's backoff
    assert re.search(r"retry \d+/12 in 1\.00 s: .* answered 429", logs)  # Retry-After, target
    document = json.loads(report.read_text())
    assert document["status"] == "ok"
    assert document["failed"] == []
    assert document["counts"]["created"] == sum(variants_of(shop).values())
    assert states(out)[-1]["bookmarks"]["products"]["replication_key_value"]
    assert_no_secret(logs, out, report.read_text())


def test_target_killed_mid_run_then_rerun_lands_every_variant_exactly_once(tmp_path):
    with ShoperEmulator(n_products=N_PRODUCTS, seed=9, password=PASSWORD) as shop, \
            GatewayEmulator(switches=Switches(latency=0.03)) as gateway:
        total = sum(variants_of(shop).values())
        tap_config, target_config, _ = configs(tmp_path, shop, gateway, "killed")
        run = Run(tmp_path, "killed", tap_config, target_config)
        try:
            deadline = time.monotonic() + 60
            while not gateway.products(DEMO_SHOP_GUID) and time.monotonic() < deadline:
                time.sleep(0.01)
            run.target.send_signal(signal.SIGKILL)
        finally:
            _tap_code, target_code, out = run.wait()
        assert target_code == -signal.SIGKILL
        first = landed(gateway)
        assert 0 < sum(first.values()) < total  # killed in the middle, not before, not after
        assert max(first.values()) == 1
        printed = states(out)
        # STATE never runs ahead of the Gateway: no products bookmark before all were written
        assert all("products" not in (s.get("bookmarks") or {}) for s in printed)

        gateway.apply_switches({"latency": 0})
        tap_config, target_config, report = configs(tmp_path, shop, gateway, "rerun")
        rerun = Run(tmp_path, "rerun", tap_config, target_config,
                    state=printed[-1] if printed else None)
        assert rerun.wait()[:2] == (0, 0), rerun.logs[-4000:]
        assert_exactly_once(shop, gateway)
    document = json.loads(report.read_text())
    assert document["status"] == "ok"
    counts = document["counts"]
    # what the killed run wrote is recognised (by data.source and hash), the rest created
    assert counts["unchanged"] >= sum(first.values())
    assert counts["created"] + counts["unchanged"] + counts["updated"] == total
    assert_no_secret(run.logs, rerun.logs, out)


def test_gateway_down_fails_clearly_without_state_and_the_next_run_completes(tmp_path):
    with ShoperEmulator(n_products=N_PRODUCTS, seed=13, password=PASSWORD) as shop, \
            GatewayEmulator(switches=Switches(down=True)) as gateway:
        tap_config, target_config, report = configs(tmp_path, shop, gateway, "down",
                                                    max_retries=2)
        run = Run(tmp_path, "down", tap_config, target_config)
        _tap_code, target_code, out = run.wait()
        target_err = (tmp_path / "down-target.err").read_text()
        assert target_code == 1
        assert out == ""  # no STATE: the next run starts where the last good one ended
        assert re.search(r"ERROR .* stopped: could not read the shop's current Gateway "
                         r"state: GET /webshops/[0-9a-f-]+/tags/ answered 503", target_err)
        assert "Traceback" not in target_err
        document = json.loads(report.read_text())
        assert document["status"] == "failed"
        assert document["error"].startswith("could not read the shop's current Gateway state")
        assert gateway.products(DEMO_SHOP_GUID) == []
        assert len(gateway.requests_to()) == 3  # the first read, tried 1 + max_retries times

        gateway.apply_switches({"down": False})
        tap_config, target_config, report = configs(tmp_path, shop, gateway, "up")
        rerun = Run(tmp_path, "up", tap_config, target_config)
        tap_code, target_code, out = rerun.wait()
        assert (tap_code, target_code) == (0, 0), rerun.logs[-4000:]
        assert_exactly_once(shop, gateway)
    assert json.loads(report.read_text())["status"] == "ok"
    assert states(out)[-1]["bookmarks"]["products"]["replication_key_value"]
    assert_no_secret(run.logs, rerun.logs, out)
