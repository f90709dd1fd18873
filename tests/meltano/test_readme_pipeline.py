"""The README's shell pipeline, copied verbatim and run against `make emulators`.

The commands of README.md's "A shell pipeline" block run one by one from the repository root,
as a user would paste them: the first run imports the demo shop into the Gateway emulator,
the second starts from the state the first printed and writes nothing. Runs with
`make meltano-test` (it needs the fixed-port emulators, like the Meltano commands).
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GATEWAY = "http://127.0.0.1:8730"
#: the files the commands leave at the root (git-ignored): removed again by the test
LEFT_BEHIND = ("tap.json", "target.json", "state.json", "states.jsonl")

pytestmark = pytest.mark.meltano


def readme_pipeline_commands() -> list[str]:
    """The shell commands of README.md's pipeline section, in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### A shell pipeline", 1)[1].split("\n### ", 1)[0]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    return [line.strip() for line in block.splitlines() if line.strip()]


def gateway(path: str) -> dict:
    with urllib.request.urlopen(GATEWAY + path, timeout=10) as answer:
        return json.load(answer)


def writes() -> int:
    routes = gateway("/_emulator/requests")["by_route"]
    return sum(n for route, n in routes.items()
               if route.split()[0] in ("POST", "PUT", "DELETE") and "_query" not in route
               and "/_emulator/" not in route)


def test_the_readme_pipeline_works_as_written():
    present = [name for name in LEFT_BEHIND if (ROOT / name).exists()]
    if present:
        pytest.skip(f"{', '.join(present)} exist at the repository root; not overwriting them")
    from sandbox.catalog import generate_catalog
    from sandbox.gateway import DEMO_SHOP_GUID

    commands = readme_pipeline_commands()
    runs = [c for c in commands if "| .venv/bin/target-gateway" in c]
    assert len(runs) == 2, commands
    assert "--state state.json" in runs[1]
    env = {**os.environ}
    try:
        for command in commands:
            if command == runs[1]:
                before = writes()
            result = subprocess.run(command, shell=True, cwd=ROOT, env=env,  # noqa: S602
                                    capture_output=True, text=True, timeout=600, check=False)
            assert result.returncode == 0, f"{command!r}:\n{result.stdout}\n{result.stderr}"
            if command == runs[0]:
                state = gateway("/_emulator/state")
                mine = [p for p in state["products"] if p["owner_guid"] == DEMO_SHOP_GUID]
                assert len(mine) == generate_catalog(60, seed=42).variant_count()
                assert json.loads((ROOT / "states.jsonl").read_text().splitlines()[-1])
            if command == runs[1]:
                assert writes() == before, "the second run wrote to the Gateway"
        assert json.loads((ROOT / "state.json").read_text())["bookmarks"]["products"]
    finally:
        subprocess.run([str(ROOT / "scripts/emulators.sh"), "stop"], check=False)
        for name in LEFT_BEHIND:
            (ROOT / name).unlink(missing_ok=True)
