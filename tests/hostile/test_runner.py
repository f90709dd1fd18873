"""gateway-sync (the Docker images' entry point) given bad credentials on a pipe, as
``docker run -i`` would: a clear verdict, the right exit code, and no key in anything shown."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import uuid

import pytest
from sandbox.gateway import GatewayEmulator


@pytest.fixture(scope="module")
def shops(hostile):
    with GatewayEmulator({hostile.SHOP_GUID: hostile.SIGNING_KEY}) as gateway, \
            hostile.HostileShoper(n_products=3, seed=4) as shoper:
        yield gateway, shoper


def gateway_sync(hostile, shoper, gateway, key: str, state_dir, guid: str | None = None
                 ) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TAP_", "TARGET_GATEWAY_", "GATEWAY_SYNC_"))}
    env.update(PATH=f"{hostile.BIN}{os.pathsep}{env.get('PATH', '')}",
               TARGET_GATEWAY_API_URL=gateway.url,
               TARGET_GATEWAY_ALLOW_PRIVATE_IMAGE_HOSTS="true",
               TARGET_GATEWAY_MAX_RETRIES="1", TARGET_GATEWAY_RETRY_BACKOFF_MS="10")
    guid = guid or hostile.SHOP_GUID
    gateway.clear_requests()
    shoper.clear_requests()
    answers = f"{key}\n{guid}\n{shoper.url}\n\ndemo\n{hostile.SHOPER_PASSWORD}\n"
    done = subprocess.run([sys.executable, "-m", "gateway_sync.runner", "tap-shoper",
                           "--state-dir", str(state_dir)], input=answers, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    files = "\n".join(p.read_text(encoding="utf-8", errors="replace")
                      for p in state_dir.iterdir() if p.is_file())
    hostile.seen("gateway-sync", done.stdout, done.stderr, files)
    return done


def test_a_key_that_is_not_base64_is_refused_at_the_prompt(hostile, shops, tmp_path):
    gateway, shoper = shops
    mangled = hostile.SIGNING_KEY[:-4] + "*!?#"  # a paste gone wrong
    done = gateway_sync(hostile, shoper, gateway, mangled, tmp_path)
    assert done.returncode == 2
    assert "gateway-sync: Gateway token signing key (base64): not valid base64. Nothing was " \
           "run." in done.stderr
    assert mangled not in done.stderr + done.stdout
    assert hostile.SIGNING_KEY[:-4] not in done.stderr + done.stdout
    assert gateway.requests_to() == []
    assert "Traceback" not in done.stderr


def test_a_shop_guid_that_is_not_a_uuid_is_refused_before_anything_runs(hostile, shops,
                                                                         tmp_path):
    gateway, shoper = shops
    done = gateway_sync(hostile, shoper, gateway, hostile.SIGNING_KEY, tmp_path,
                        guid="sklep-123")
    assert done.returncode == 2
    assert ("gateway-sync: Gateway shop guid (the marketplace shop to write to, a UUID): not a "
            "UUID (like ") in done.stderr
    assert "Nothing was run." in done.stderr
    assert gateway.requests_to() == []
    assert shoper.requests_to() == []
    assert "Traceback" not in done.stderr


def test_a_key_the_gateway_refuses_fails_clearly_and_keeps_no_state(hostile, shops, tmp_path):
    gateway, shoper = shops
    wrong = base64.b64encode(uuid.uuid4().bytes * 2).decode()  # 32 bytes, not the shop's
    done = gateway_sync(hostile, shoper, gateway, wrong, tmp_path)
    assert done.returncode == 1, done.stderr[-3000:]
    assert "the Gateway refused the shop's credentials" in done.stderr
    assert "401" in done.stderr
    assert "gateway-sync: FAILED: target-gateway exited 1" in done.stderr
    assert wrong not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "state.json").exists()  # nothing written, nothing to continue from
    assert gateway.products(hostile.SHOP_GUID) == []
