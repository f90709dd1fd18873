"""gateway-sync's state directory belongs to one source shop and one Gateway shop, and holds a
Singer state or nothing (issue 11), through the real command with the real ``tap-shoper |
target-gateway`` against the emulators.

A state written for another shop would make the tap skip what this shop has not synced
("OK" with 0 products); a state of the wrong shape made the tap crash or stop silently. Both
are one clear line and exit 2 before anything is read, or, with ``--reset-state``, a full
sync.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sandbox.gateway import GatewayEmulator

RUNNER = [sys.executable, "-m", "gateway_sync.runner", "tap-shoper"]
OTHER_GUID = str(uuid.UUID("7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"))


@pytest.fixture(scope="module")
def emulators(hostile):
    shops = {hostile.SHOP_GUID: hostile.SIGNING_KEY, OTHER_GUID: hostile.SIGNING_KEY}
    with GatewayEmulator(shops) as gateway, \
            hostile.HostileShoper(n_products=3, seed=4) as shoper, \
            hostile.HostileShoper(n_products=2, seed=9) as other_shoper:
        yield gateway, shoper, other_shoper


def sync(hostile, gateway, shoper, state_dir: Path, *args: str, guid: str | None = None
         ) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TAP_", "TARGET_GATEWAY_", "GATEWAY_SYNC_"))}
    env.update(PATH=f"{hostile.BIN}{os.pathsep}{env.get('PATH', '')}",
               GATEWAY_SYNC_LOCK_DIR=str(state_dir.parent / "locks"),
               TARGET_GATEWAY_API_URL=gateway.url,
               TARGET_GATEWAY_ALLOW_PRIVATE_IMAGE_HOSTS="true",
               TARGET_GATEWAY_MAX_RETRIES="1", TARGET_GATEWAY_RETRY_BACKOFF_MS="10")
    text = (f"{hostile.SIGNING_KEY}\n{guid or hostile.SHOP_GUID}\n{shoper.url}\n\ndemo\n"
            f"{hostile.SHOPER_PASSWORD}\n")
    done = subprocess.run([*RUNNER, "--state-dir", str(state_dir), *args], input=text,
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    hostile.seen("gateway-sync", done.stdout, done.stderr)
    return done


def test_state_of_another_gateway_shop_or_source_shop_is_refused_or_started_over(
        hostile, emulators, tmp_path):
    gateway, shoper, other_shoper = emulators
    state = tmp_path / "data"
    first = sync(hostile, gateway, shoper, state)
    assert first.returncode == 0, first.stderr[-3000:]
    written = len(gateway.products(hostile.SHOP_GUID))
    assert written > 0
    kept_state = (state / "state.json").read_text()
    gateway.clear_requests()
    shoper.clear_requests()
    other_shoper.clear_requests()

    other_gateway_shop = sync(hostile, gateway, shoper, state, guid=OTHER_GUID)
    other_source_shop = sync(hostile, gateway, other_shoper, state)

    assert other_gateway_shop.returncode == 2, other_gateway_shop.stderr
    assert (f"state.json belongs to another shop: it was written for Gateway shop guid "
            f"{hostile.SHOP_GUID} (this run: {OTHER_GUID})") in other_gateway_shop.stderr
    assert other_source_shop.returncode == 2, other_source_shop.stderr
    assert (f"it was written for shop_url {shoper.url} (this run: {other_shoper.url})"
            in other_source_shop.stderr)
    for refused in (other_gateway_shop, other_source_shop):
        assert "--reset-state" in refused.stderr
        assert "OK" not in refused.stderr
    assert shoper.requests_to() == []
    assert other_shoper.requests_to() == []
    assert gateway.requests_to() == []
    assert (state / "state.json").read_text() == kept_state

    started_over = sync(hostile, gateway, shoper, state, "--reset-state", guid=OTHER_GUID)

    assert started_over.returncode == 0, started_over.stderr[-3000:]
    assert f"the old state is kept as {state / 'state.json.old'}" in started_over.stderr
    assert len(gateway.products(OTHER_GUID)) == written  # a full sync, not "OK" with 0
    again = sync(hostile, gateway, shoper, state, guid=OTHER_GUID)  # now it is this shop's
    assert again.returncode == 0, again.stderr[-3000:]


@pytest.mark.parametrize(("content", "problem"), [
    ("[]", "it holds a list, not a Singer state object"),
    ('"bookmarks"', "it holds a string, not a Singer state object"),
    ('{"bookmarks": 5}', 'its "bookmarks" is a number, not an object of streams'),
    ('{"bookmarks": {"products": "2024-05-01"}}',
     "the bookmark of stream 'products' is a string, not an object"),
    ('{"bookmarks": {"products": {"replication_key_value": "2999-01-01T00:00:00+00:00"}}}',
     "the bookmark of stream 'products' is in the future (2999-01-01T00:00:00+00:00)"),
    ("{not json", "it is not valid JSON"),
])
def test_a_state_file_of_the_wrong_shape_is_one_clear_line_before_anything_runs(
        hostile, emulators, tmp_path, content, problem):
    gateway, shoper, _ = emulators
    state = tmp_path / "data"
    state.mkdir()
    (state / "state.json").write_text(content)
    shoper.clear_requests()

    done = sync(hostile, gateway, shoper, state)

    assert done.returncode == 2, done.stderr[-3000:]
    assert f"gateway-sync: {state / 'state.json'} cannot be used: {problem}" in done.stderr
    assert "--reset-state" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") <= 2  # the Gateway line and this one
    assert shoper.requests_to() == []
    assert (state / "state.json").read_text() == content


def test_reset_state_reads_everything_despite_a_broken_state(hostile, emulators, tmp_path):
    gateway, shoper, _ = emulators
    state = tmp_path / "data"
    state.mkdir()
    (state / "state.json").write_text('{"bookmarks": 5}')

    done = sync(hostile, gateway, shoper, state, "--reset-state")

    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads((state / "state.json.old").read_text()) == {"bookmarks": 5}
    assert isinstance(json.loads((state / "state.json").read_text())["bookmarks"], dict)
