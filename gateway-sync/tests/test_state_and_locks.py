"""The state directory's rules, the run locks and the private directory, piece by piece (the
hostile corpus runs the same through the real command)."""

from __future__ import annotations

import datetime as dt
import json
import os
from typing import Any

import pytest
from gateway_sync.locks import LockedError, RunLock, lock_dir
from gateway_sync.private_files import PrivateDir, remove_stale_private_dirs
from gateway_sync.state_dir import (
    StateDir,
    StateDirError,
    normalise_url,
    source_identity,
    state_problem,
)

SCHEMA = {"properties": {"shop_url": {"type": "string"}, "password": {"secret": True},
                         "feed_url": {"type": "string", "secret": True}},
          "required": ["shop_url"]}
OWNER: dict[str, Any] = {"gateway_shop_guid": "g-1", "tap": "tap-x", "source": {"shop_url": "https://a.pl"}}


@pytest.mark.parametrize(("url", "normal"), [
    ("HTTPS://Sklep.Example.PL:443/", "https://sklep.example.pl"),
    ("http://127.0.0.1:8080/shop/", "http://127.0.0.1:8080/shop"),
    ("https://user:pw@sklep.pl/#x", "https://sklep.pl"),
])
def test_one_shop_has_one_normal_url(url, normal):
    assert normalise_url(url) == normal


def test_a_secret_source_setting_is_kept_only_as_a_fingerprint():
    schema = {**SCHEMA, "required": ["feed_url"]}
    identity = source_identity(schema, {"feed_url": "https://f.pl/feed?token=tajne"},
                               ["feed_url", "password"])

    assert list(identity) == ["feed_url"]
    assert identity["feed_url"].startswith("sha256:")
    assert "tajne" not in json.dumps(identity)


def test_a_tap_may_name_its_source_settings():
    schema = {**SCHEMA, "x-gateway-sync": {"source": ["shop_url", "feed_url"]}}
    assert source_identity(schema, {"shop_url": "https://A.pl/", "password": "p"}, []) == {
        "shop_url": "https://a.pl"}


@pytest.mark.parametrize(("state", "problem"), [
    ({}, None),
    ({"bookmarks": {"products": {"replication_key_value": "2024-01-01T00:00:00Z"}}}, None),
    ({"bookmarks": {"s": {"partitions": [{"replication_key_value": "2999-01-01"}]}}},
     "the bookmark of stream 's' is in the future"),
    (None, "it holds null"),
    ({"bookmarks": []}, 'its "bookmarks" is a list'),
])
def test_state_shapes(state, problem):
    found = state_problem(state, now=dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc))
    assert found is None if problem is None else str(found).startswith(problem)


def test_the_owner_is_checked_only_against_an_existing_state(tmp_path):
    store = StateDir(tmp_path)
    store.record_owner(OWNER)
    StateDir(tmp_path).check_owner({**OWNER, "gateway_shop_guid": "g-2"})  # no state: fine
    (tmp_path / "state.json").write_text("{}")

    with pytest.raises(StateDirError, match="Gateway shop guid g-1 \\(this run: g-2\\)"):
        StateDir(tmp_path).check_owner({**OWNER, "gateway_shop_guid": "g-2"})
    with pytest.raises(StateDirError, match="another feed_url \\(a secret"):
        StateDir(tmp_path).check_owner({**OWNER, "source": {**OWNER["source"],
                                                           "feed_url": "sha256:ab"}})
    StateDir(tmp_path).check_owner(OWNER)


def test_install_never_replaces_a_file_a_person_edited(tmp_path):
    made = tmp_path / "made.csv"
    store = StateDir(tmp_path)
    made.write_text("a\n")
    assert store.install(made, "t.csv") == tmp_path / "t.csv"
    made.write_text("b\n")
    assert store.install(made, "t.csv") == tmp_path / "t.csv"  # unedited: refreshed
    (tmp_path / "t.csv").write_text("b\nfilled\n")
    made.write_text("c\n")

    assert store.install(made, "t.csv") == tmp_path / "t.new.csv"
    assert (tmp_path / "t.csv").read_text() == "b\nfilled\n"
    assert (tmp_path / "t.new.csv").read_text() == "c\n"


def test_a_lock_is_exclusive_and_names_its_holder(tmp_path):
    first = RunLock(tmp_path / "x.lock", "shop X")
    first.acquire()
    with pytest.raises(LockedError, match=f"another gateway-sync \\(pid {os.getpid()}\\) is "
                                          "already running for shop X"):
        RunLock(tmp_path / "x.lock", "shop X").acquire()
    first.release()
    again = RunLock(tmp_path / "x.lock", "shop X")
    again.acquire()
    again.release()


def test_the_lock_dir_comes_from_the_env(tmp_path):
    assert lock_dir({"GATEWAY_SYNC_LOCK_DIR": str(tmp_path / "l")}) == tmp_path / "l"
    assert lock_dir({"XDG_RUNTIME_DIR": str(tmp_path)}) == tmp_path / "gateway-sync"


def test_only_private_dirs_of_dead_runs_are_removed(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    live = PrivateDir()
    dead = PrivateDir()
    os.close(dead._lock)  # as if its runner had died
    try:
        assert remove_stale_private_dirs(tmp_path) == [dead.path]
        assert live.path.exists()
    finally:
        live.close()
    assert list(tmp_path.iterdir()) == []


def test_configs_are_handed_over_in_memory(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    with PrivateDir() as private:
        path = private.config("tap", {"password": "hasło"})
        assert path.startswith("/dev/fd/")
        for _ in range(2):  # readable more than once, as singer-sdk may
            with open(path, encoding="utf-8") as handle:
                assert json.load(handle) == {"password": "hasło"}
        assert [p.name for p in private.path.iterdir()] == [".lock"]
