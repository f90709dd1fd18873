"""gateway-sync runs that overlap or die (issue 11), through the real command with the real
``tap-shoper | target-gateway`` against the emulators:

- a second run of the same Gateway shop (same state directory, or another one for the same
  shop guid) stops with exit 2 before asking or reading anything, and a run that died holds
  no lock;
- a runner killed by SIGKILL takes its tap and target with it, and leaves no file holding
  the signing key or the shop's password, neither right after nor after the next start.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sandbox.gateway import GatewayEmulator

RUNNER = [sys.executable, "-m", "gateway_sync.runner", "tap-shoper"]


@pytest.fixture
def shops(hostile):
    with GatewayEmulator({hostile.SHOP_GUID: hostile.SIGNING_KEY}) as gateway, \
            hostile.HostileShoper(n_products=3, seed=4) as shoper:
        yield gateway, shoper


def environment(hostile, gateway, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TAP_", "TARGET_GATEWAY_", "GATEWAY_SYNC_"))}
    (tmp_path / "tmp").mkdir(exist_ok=True)
    env.update(PATH=f"{hostile.BIN}{os.pathsep}{env.get('PATH', '')}",
               TMPDIR=str(tmp_path / "tmp"), GATEWAY_SYNC_LOCK_DIR=str(tmp_path / "locks"),
               TARGET_GATEWAY_API_URL=gateway.url,
               TARGET_GATEWAY_ALLOW_PRIVATE_IMAGE_HOSTS="true",
               TARGET_GATEWAY_MAX_RETRIES="1", TARGET_GATEWAY_RETRY_BACKOFF_MS="10")
    return env


def answers(hostile, shoper, *, guid: str | None = None) -> str:
    return (f"{hostile.SIGNING_KEY}\n{guid or hostile.SHOP_GUID}\n{shoper.url}\n\ndemo\n"
            f"{hostile.SHOPER_PASSWORD}\n")


def run(hostile, env, state_dir: Path, text: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([*RUNNER, "--state-dir", str(state_dir)], input=text, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    hostile.seen("gateway-sync", done.stdout, done.stderr)
    return done


def wait_for(predicate, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper is dead)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def children(pid: int) -> dict[str, int]:
    """The runner's child processes by program name (tap-shoper, target-gateway)."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            for part in cmdline[:2]:
                name = Path(part.decode(errors="replace")).name
                if name in ("tap-shoper", "target-gateway"):
                    found[name] = int(stat.parent.name)
    return found


def files_holding(roots: list[Path], secrets: list[str]) -> list[str]:
    """Every file under ``roots`` that contains one of ``secrets``."""
    hits = []
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                data = path.read_bytes()
                hits += [f"{path}" for s in secrets if s.encode() in data]
    return hits


def blocked_runner(hostile, env, state_dir: Path, text: str) -> subprocess.Popen[str]:
    """A runner waiting at a prompt (its stdin stays open), its locks held."""
    proc = subprocess.Popen([*RUNNER, "--state-dir", str(state_dir)], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
                            env=env)
    assert proc.stdin is not None
    proc.stdin.write(text)
    proc.stdin.flush()
    return proc


def test_a_second_run_of_the_same_shop_stops_and_a_dead_ones_lock_does_not_block(
        hostile, shops, tmp_path):
    gateway, shoper = shops
    env = environment(hostile, gateway, tmp_path)
    state = tmp_path / "data"
    first = blocked_runner(hostile, env, state,
                           f"{hostile.SIGNING_KEY}\n{hostile.SHOP_GUID}\n")  # then it waits
    shop_lock = tmp_path / "locks" / f"shop-{hostile.SHOP_GUID}.lock"
    try:
        wait_for(lambda: shop_lock.exists() and shop_lock.read_text().strip() == str(first.pid),
                 "the first run to hold the shop's lock")

        same_dir = run(hostile, env, state, answers(hostile, shoper))
        other_dir = run(hostile, env, tmp_path / "other-data", answers(hostile, shoper))
    finally:
        first.kill()  # SIGKILL: no chance to unlock anything
        first.wait(timeout=30)

    assert same_dir.returncode == 2, same_dir.stderr
    assert (f"gateway-sync: another gateway-sync (pid {first.pid}) is already running for the "
            f"state directory {state}") in same_dir.stderr
    assert other_dir.returncode == 2, other_dir.stderr
    assert (f"gateway-sync: another gateway-sync (pid {first.pid}) is already running for "
            f"Gateway shop {hostile.SHOP_GUID}") in other_dir.stderr
    for refused in (same_dir, other_dir):
        assert "Traceback" not in refused.stderr
    assert shoper.requests_to() == []
    assert gateway.requests_to() == []

    after = run(hostile, env, state, answers(hostile, shoper))

    assert after.returncode == 0, after.stderr[-3000:]
    assert len(gateway.products(hostile.SHOP_GUID)) > 0


def test_sigkill_of_the_runner_stops_both_sides_and_leaves_no_secret_on_disk(
        hostile, shops, tmp_path):
    gateway, shoper = shops
    env = environment(hostile, gateway, tmp_path)
    state = tmp_path / "data"
    release = threading.Event()

    def hang(_request, response, _n):  # the shop stops answering mid-run
        release.wait(60)
        return response

    shoper.tamper[r"/webapi/rest/products"] = hang
    proc = blocked_runner(hostile, env, state, answers(hostile, shoper))
    try:
        wait_for(lambda: shoper.tampered[r"/webapi/rest/products"] > 0,
                 "the tap to ask for products")
        pids = children(proc.pid)
        assert set(pids) == {"tap-shoper", "target-gateway"}, pids
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)

        for name, pid in pids.items():
            wait_for(lambda pid=pid: not alive(pid), f"{name} to stop", timeout=10)
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    secrets = [hostile.SIGNING_KEY, hostile.KEY_TEXT, hostile.SHOPER_PASSWORD]
    roots = [tmp_path / "tmp", state]
    assert files_holding(roots, secrets) == []

    del shoper.tamper[r"/webapi/rest/products"]
    again = run(hostile, env, state, answers(hostile, shoper))

    assert again.returncode == 0, again.stderr[-3000:]
    assert files_holding(roots, secrets) == []
    assert list((tmp_path / "tmp").glob("gateway-sync-*")) == []  # the dead run's too
