"""Meltano end to end: the README's Meltano commands, run for real against the emulators.

Runs `meltano install` and `meltano run` exactly as README.md shows them, then checks the
Gateway emulator: the products arrived; a second run resumes from the stored state and
writes nothing new; two inherited vendor shops land in two separate Gateway shops.

Needs `make setup meltano-setup` (Meltano in .venv-meltano); run with `make meltano-test`
(`make test` leaves it out: it installs plugin virtualenvs and takes a minute or two).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GATEWAY = "http://127.0.0.1:8730"
SHOP_A = "11111111-1111-4111-8111-111111111111"
SHOP_B = "22222222-2222-4222-8222-222222222222"
# POST .../_query reads (Elasticsearch DSL); every other POST, PUT or DELETE writes
WRITE_ROUTE = re.compile(r"^(POST|PUT|DELETE) (?!/_emulator/)(?!.*/_query$)")

pytestmark = pytest.mark.meltano


def readme_meltano_commands() -> list[str]:
    """The shell commands of README.md's Meltano section, in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Run it with Meltano", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    return [line.strip() for line in block.splitlines()
            if line.strip() and not line.strip().startswith("#")]


def sh(command: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run one README command from the repository root; fail with its output."""
    result = subprocess.run(command, shell=True, cwd=ROOT, env=env, capture_output=True,  # noqa: S602
                            text=True, timeout=600, check=False)
    assert result.returncode == 0, f"{command!r} failed:\n{result.stdout}\n{result.stderr}"
    return result


def get_json(path: str) -> dict:
    with urllib.request.urlopen(GATEWAY + path, timeout=10) as answer:
        return json.load(answer)


def writes() -> int:
    summary = get_json("/_emulator/requests")["by_route"]
    return sum(n for route, n in summary.items() if WRITE_ROUTE.match(route))


def shop_products(state: dict, guid: str) -> list[dict]:
    return [p for p in state["products"] if p["owner_guid"] == guid and not p.get("archived")]


def test_readme_meltano_commands(tmp_path):
    assert (ROOT / ".venv-meltano/bin/meltano").exists(), "run `make meltano-setup` first"
    from sandbox.catalog import generate_catalog
    from sandbox.gateway import DEMO_SHOP_GUID

    commands = readme_meltano_commands()
    env = {**os.environ, "MELTANO_STATE_BACKEND_URI": f"file://{tmp_path}/state",
           "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false"}
    runs = [c for c in commands if " run " in f" {c} "]
    setup = [c for c in commands if c not in runs and "emulators-stop" not in c]
    assert len(runs) == 3, commands  # first sync, re-run, two inherited shops
    try:
        for command in setup:
            sh(command, env)

        sh(runs[0], env)
        state = get_json("/_emulator/state")
        expected = generate_catalog(60, seed=42).variant_count()
        assert len(shop_products(state, DEMO_SHOP_GUID)) == expected

        before = writes()
        sh(runs[1], env)
        assert writes() == before, "the second run wrote to the Gateway"
        assert len(shop_products(get_json("/_emulator/state"), DEMO_SHOP_GUID)) == expected

        sh(runs[2], env)
        state = get_json("/_emulator/state")
        a, b = shop_products(state, SHOP_A), shop_products(state, SHOP_B)
        assert len(a) == generate_catalog(25, seed=1).variant_count()
        assert len(b) == generate_catalog(15, seed=2).variant_count()
        assert {p["guid"] for p in a}.isdisjoint({p["guid"] for p in b})
        state_files = sorted(p.parent.name for p in (tmp_path / "state").rglob("state.json"))
        assert state_files == ["dev:tap-shoper--shop-a-to-target-gateway--shop-a",
                               "dev:tap-shoper--shop-b-to-target-gateway--shop-b",
                               "dev:tap-shoper-to-target-gateway"]
    finally:
        subprocess.run([str(ROOT / "scripts/emulators.sh"), "stop"], check=False)
        shutil.rmtree(tmp_path / "state", ignore_errors=True)
