"""gateway-sync with the real tap-shoper and target-gateway, against both emulators, via a pipe.

What ``docker run -i`` does, minus Docker: the answers come through stdin, the products must
arrive in the Gateway emulator, the second run must continue from the state kept in the state
directory, and no secret may appear in anything printed. Both real plugins log singer-sdk's
structured records, which the runner must turn back into the lines an operator reads.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sandbox.catalog import generate_catalog
from sandbox.gateway import GatewayEmulator
from sandbox.shoper import ShoperEmulator

BIN = Path(sys.executable).parent
KEY = base64.b64encode(b"e2e-runner-signing-key-32-bytes!").decode()
GUID = str(uuid.UUID(int=0x5EC2E7))
PASSWORD = "sekretne-hasło-e2e"


@pytest.fixture(scope="module")
def shops():
    catalog = generate_catalog(n_products=8, seed=11)
    with GatewayEmulator({GUID: KEY}) as gateway, \
            ShoperEmulator(catalog, username="api", password=PASSWORD) as shoper:
        yield catalog, gateway, shoper


def gateway_sync(shoper: ShoperEmulator, gateway: GatewayEmulator, state_dir: Path
                 ) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TAP_", "TARGET_GATEWAY_", "GATEWAY_SYNC_"))}
    env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
               TARGET_GATEWAY_API_URL=gateway.url,
               TARGET_GATEWAY_ALLOW_PRIVATE_IMAGE_HOSTS="true")
    answers = f"{KEY}\n{GUID}\n{shoper.url}\n\napi\n{PASSWORD}\n"
    return subprocess.run([sys.executable, "-m", "gateway_sync.runner", "tap-shoper",
                           "--state-dir", str(state_dir)],
                          input=answers, env=env, capture_output=True, text=True,
                          timeout=180, check=False)


def test_gateway_sync_pipes_tap_shoper_into_the_gateway_and_continues_from_state(
        shops, tmp_path):
    catalog, gateway, shoper = shops

    first = gateway_sync(shoper, gateway, tmp_path)

    assert first.returncode == 0, first.stderr
    assert "Shoper shop URL (e.g. https://example.shoparena.pl): " in first.stderr
    assert "gateway-sync: OK: tap-shoper read" in first.stderr
    variants = catalog.variant_count()
    shown = first.stderr.splitlines()
    # the target's progress and summary records, read as data and shown as text
    assert any(line.startswith("progress: read ") and f"products {variants} created" in line
               for line in shown), first.stderr
    assert any(line.startswith("target-gateway: ok - ") and line.endswith(" records read")
               for line in shown), first.stderr
    assert f"  Gateway products: created {variants}, updated 0, unchanged 0, skipped 0, " \
           "failed 0" in shown
    assert not [line for line in shown if line.lstrip().startswith("{")], first.stderr
    products = gateway.products(GUID)
    assert len(products) == catalog.variant_count()
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["bookmarks"]["products"]["replication_key_value"]
    assert (tmp_path / "category-mapping.template.csv").exists()
    assert "No category mapping yet" in first.stderr
    assert json.loads((tmp_path / "report.json").read_text())["status"] == "ok"

    second = gateway_sync(shoper, gateway, tmp_path)

    assert second.returncode == 0, second.stderr
    assert f"continuing from {tmp_path / 'state.json'}" in second.stderr
    assert len(gateway.products(GUID)) == catalog.variant_count()
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["counts"]["created"] == 0
    for run in (first, second):
        for secret in (KEY, PASSWORD):
            assert secret not in run.stdout
            assert secret not in run.stderr
    for path in tmp_path.iterdir():
        assert KEY not in path.read_text(encoding="utf-8")
