"""constraints.txt (what the Docker images install with) is exactly uv.lock's run-time pins."""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_constraints_match_the_lock():
    exported = subprocess.run(
        [str(ROOT / ".venv/bin/uv"), "export", "--frozen", "--no-dev", "--all-packages",
         "--no-emit-workspace", "--no-hashes", "--no-annotate", "--quiet"],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout
    pins = [line for line in exported.splitlines() if line and not line.startswith("#")]
    committed = (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
    assert pins == [line for line in committed if line and not line.startswith("#")], (
        "constraints.txt is out of date with uv.lock: run `make constraints`")
    assert any(line.startswith("singer-sdk==") for line in pins)
    assert not any(line.startswith(("pytest==", "ruff==")) for line in pins)  # no dev tools


def test_every_dockerfile_installs_with_the_constraints():
    for dockerfile in ROOT.glob("tap-*/Dockerfile"):
        text = dockerfile.read_text(encoding="utf-8")
        assert "COPY constraints.txt" in text, dockerfile
        assert "-c /src/constraints.txt" in text, dockerfile
