"""What gateway-sync says about settings, and what a failed tap may not do (issue 12), through
the real command with the real ``tap-shoper | target-gateway``:

- a setting name nobody knows (``shop_ur`` in tap.json, ``TARGET_GATEWAY_DRYRUN``) is exit 2
  with the closest real setting, not a silent default (a ``dryrun`` typo wrote for real);
- a value of the wrong type in a ``--config-dir`` file is exit 2 naming the setting, before
  anything runs;
- before the first question the operator reads what will be asked and which Gateway the run
  writes to; the shop guid is called the Gateway shop guid;
- a run whose tap failed (a wrong password) never says "ok" or "products were imported",
  keeps no report saying ``"status": "ok"``, and never replaces a mapping template a person
  filled in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sandbox.gateway import GatewayEmulator

RUNNER = [sys.executable, "-m", "gateway_sync.runner", "tap-shoper"]


@pytest.fixture(scope="module")
def emulators(hostile):
    with GatewayEmulator({hostile.SHOP_GUID: hostile.SIGNING_KEY}) as gateway, \
            hostile.HostileShoper(n_products=3, seed=4) as shoper:
        yield gateway, shoper


def sync(hostile, tmp_path: Path, *args: str, answers: str, gateway=None, **env_vars: str
         ) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TAP_", "TARGET_GATEWAY_", "GATEWAY_SYNC_"))}
    env.update(PATH=f"{hostile.BIN}{os.pathsep}{env.get('PATH', '')}",
               GATEWAY_SYNC_LOCK_DIR=str(tmp_path / "locks"), **env_vars)
    if gateway is not None:
        env.update(TARGET_GATEWAY_API_URL=gateway.url,
                   TARGET_GATEWAY_ALLOW_PRIVATE_IMAGE_HOSTS="true",
                   TARGET_GATEWAY_MAX_RETRIES="1", TARGET_GATEWAY_RETRY_BACKOFF_MS="10")
    done = subprocess.run([*RUNNER, *args], input=answers, env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    hostile.seen("gateway-sync", done.stdout, done.stderr)
    return done


def test_unknown_setting_names_stop_the_run_with_a_suggestion(hostile, emulators, tmp_path):
    gateway, shoper = emulators
    config = tmp_path / "config"
    config.mkdir()
    (config / "tap.json").write_text(json.dumps({"shop_ur": shoper.url, "username": "demo"}))
    gateway.clear_requests()
    shoper.clear_requests()

    done = sync(hostile, tmp_path, "--config-dir", str(config), gateway=gateway,
                answers=f"{hostile.SIGNING_KEY}\n{hostile.SHOP_GUID}\n{shoper.url}\n\n"
                        f"{hostile.SHOPER_PASSWORD}\n",
                TARGET_GATEWAY_DRYRUN="true", TAP_SHOPER_PAGESIZE="50",
                TAP_SHOPER_FLATTENING_ENABLED="false")  # singer-sdk's own: accepted

    assert done.returncode == 2, done.stderr[-3000:]
    assert (f"gateway-sync: shop_ur in {config / 'tap.json'}: unknown setting of tap-shoper; "
            "did you mean shop_url?") in done.stderr
    assert ("gateway-sync: TARGET_GATEWAY_DRYRUN: unknown setting of target-gateway; did you "
            "mean TARGET_GATEWAY_DRY_RUN?") in done.stderr
    assert ("gateway-sync: TAP_SHOPER_PAGESIZE: unknown setting of tap-shoper; did you mean "
            "TAP_SHOPER_PAGE_SIZE?") in done.stderr
    assert "FLATTENING" not in done.stderr
    assert ": " not in [line[-2:] for line in done.stderr.splitlines()]  # nothing was asked
    assert shoper.requests_to() == []
    assert gateway.requests_to() == []


def test_bad_values_in_config_dir_files_stop_before_anything_runs(hostile, emulators,
                                                                  tmp_path):
    gateway, shoper = emulators
    config = tmp_path / "config"
    config.mkdir()
    (config / "tap.json").write_text(json.dumps(
        {"shop_url": shoper.url, "username": "demo", "password": hostile.SHOPER_PASSWORD,
         "page_size": "many"}))
    (config / "target.json").write_text(json.dumps(
        {"signing_key": hostile.SIGNING_KEY, "shop_guid": hostile.SHOP_GUID,
         "image_mode": "steal", "dry_run": "no"}))
    shoper.clear_requests()

    done = sync(hostile, tmp_path, "--config-dir", str(config), gateway=gateway, answers="")

    assert done.returncode == 2, done.stderr[-3000:]
    assert f"gateway-sync: page_size in {config / 'tap.json'}: must be integer" in done.stderr
    assert (f"gateway-sync: image_mode in {config / 'target.json'}: not one of: copy, "
            in done.stderr)
    assert f"gateway-sync: dry_run in {config / 'target.json'}: must be boolean" in done.stderr
    assert "Traceback" not in done.stderr
    assert shoper.requests_to() == []


def test_the_first_prompt_is_introduced_and_names_the_gateway_and_its_shop(hostile, tmp_path):
    done = sync(hostile, tmp_path, answers=f"{hostile.SIGNING_KEY}\nsklep-123\n")

    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert lines[0] == ("gateway-sync: writing to the development Gateway "
                        "https://sma.dev.gwapi.eu (the default; TARGET_GATEWAY_API_URL or "
                        "api_url in target.json names another)")
    assert lines[1].startswith("gateway-sync needs the Gateway token signing key and the "
                               "Gateway shop guid (which marketplace shop to write to), then "
                               "Shoper's settings")
    assert lines[2] == "Gateway token signing key (base64): "
    assert lines[3] == "Gateway shop guid (the marketplace shop to write to, a UUID): "


def test_a_failed_tap_says_no_ok_and_keeps_the_template_a_person_filled(hostile, emulators,
                                                                        tmp_path):
    gateway, shoper = emulators
    state = tmp_path / "data"
    state.mkdir()
    filled = "source_id,source_path,gateway_category\n" + "".join(
        f"{i},Kategoria {i},{1000 + i}\n" for i in range(44))
    template = state / "category-mapping.template.csv"
    template.write_text(filled)
    gateway.clear_requests()

    failed = sync(hostile, tmp_path, "--state-dir", str(state), gateway=gateway,
                  answers=f"{hostile.SIGNING_KEY}\n{hostile.SHOP_GUID}\n{shoper.url}\n\ndemo\n"
                          "not-the-password\n")

    assert failed.returncode == 1, failed.stderr[-3000:]
    assert "gateway-sync: FAILED: tap-shoper exited" in failed.stderr
    assert "target-gateway: ok" not in failed.stderr
    assert "OK" not in failed.stderr
    assert "products were imported" not in failed.stderr
    assert template.read_text() == filled
    report = json.loads((state / "report.json").read_text())
    assert report["status"] == "failed"

    ok = sync(hostile, tmp_path, "--state-dir", str(state), gateway=gateway,
              answers=f"{hostile.SIGNING_KEY}\n{hostile.SHOP_GUID}\n{shoper.url}\n\ndemo\n"
                      f"{hostile.SHOPER_PASSWORD}\n")

    assert ok.returncode == 0, ok.stderr[-3000:]
    assert template.read_text() == filled  # edited by a person: kept even after a good run
    fresh = state / "category-mapping.template.new.csv"
    assert f"{template} was edited by hand, so it was kept; the new template is {fresh}." \
        in ok.stderr
    assert fresh.read_text().startswith("source_id")
