"""A state file that belongs to another shop, or cannot be trusted, as a kit tap meets it
(issue 11): never "OK" with 0 products, never a traceback, never a silent stop.

Every kit tap writes its source's identity into the state it emits (``"source"``: the tap
and a hash of the normalised shop URL) and refuses a state written for another shop or tap
(exit 2, nothing run). A state that is valid JSON but of the wrong shape, or a bookmark in
the future or not a time, is one WARNING line and a full sync of that stream.
"""

from __future__ import annotations

import pytest
from commerce_schema import jsonio
from tapkit.testing import run_tap


def tap(hostile, shop, name, *, state=None, shop_url=None):
    """The real ``tap-shoper`` against ``shop`` (static token), its output recorded."""
    config = {"shop_url": shop_url or shop.url, "access_token": hostile.SHOPER_TOKEN}
    run = run_tap([str(hostile.BIN / "tap-shoper")], config, state=state)
    hostile.seen(f"tap {name}", run.stderr, jsonio.dumps(run.messages))
    return run


def lines(stderr, level):
    return [line for line in stderr.splitlines() if f"| {level}" in line]


def product_ids(run):
    return sorted((r["id"] for r in run.records.get("products", [])), key=int)


@pytest.fixture(scope="module")
def shops(hostile):
    """Two shops and a first run of the first one (its final state)."""
    with hostile.HostileShoper(n_products=4, seed=1) as first, \
            hostile.HostileShoper(n_products=4, seed=2) as second:
        config = {"shop_url": first.url, "access_token": hostile.SHOPER_TOKEN}
        run = run_tap([str(hostile.BIN / "tap-shoper")], config)
        hostile.seen("tap state-first", run.stderr, jsonio.dumps(run.messages))
        assert run.code == 0, run.stderr[-3000:]
        yield first, second, run.state


def test_the_emitted_state_names_its_source_by_a_hash_not_the_url(shops):
    _first, _second, state = shops
    source = state["source"]
    assert source["tap"] == "tap-shoper"
    assert source["id"].startswith("sha256:")
    assert "127.0.0.1" not in jsonio.dumps(source)
    assert state["bookmarks"]["products"]["replication_key_value"]


def test_a_state_written_for_another_shop_is_refused_and_nothing_runs(hostile, shops):
    _first, second, state = shops
    second.clear_requests()
    run = tap(hostile, second, "state-other-shop", state=state)
    assert run.code == 2, run.stderr[-3000:]
    errors = lines(run.stderr, "ERROR")
    assert len(errors) == 1, run.stderr[-3000:]
    assert f"The state was written for another shop than {second.url}" in errors[0]
    assert "Nothing was run" in errors[0]
    assert "Traceback" not in run.stderr
    assert run.records == {}
    assert second.requests_to() == []


def test_a_state_written_by_another_tap_is_refused(hostile, shops):
    first, _second, state = shops
    foreign = {**state, "source": {"tap": "tap-prestashop", "id": "sha256:0123456789abcdef"}}
    run = tap(hostile, first, "state-other-tap", state=foreign)
    assert run.code == 2, run.stderr[-3000:]
    assert "The state was written by tap-prestashop, not tap-shoper" in run.stderr
    assert run.records == {}


@pytest.mark.parametrize("spelling", ["{url}/", "{url}/webapi/rest", "{url}/webapi/rest/"])
def test_the_same_shop_spelled_differently_keeps_its_state(hostile, shops, spelling):
    first, _second, state = shops
    run = tap(hostile, first, "state-same-shop", state=state,
              shop_url=spelling.format(url=first.url))
    assert run.code == 0, run.stderr[-3000:]
    assert product_ids(run) != ["1", "2", "3", "4"]  # incremental: the bookmark was used
    assert run.state["source"] == state["source"]


def test_a_state_from_before_the_identity_is_accepted_and_gets_one(hostile, shops):
    first, _second, state = shops
    legacy = {"bookmarks": state["bookmarks"]}
    run = tap(hostile, first, "state-legacy", state=legacy)
    assert run.code == 0, run.stderr[-3000:]
    assert product_ids(run) != ["1", "2", "3", "4"]
    assert run.state["source"] == state["source"]


@pytest.mark.parametrize(("state", "words"), [
    ({"bookmarks": []}, "The state's bookmarks are a JSON list, not an object; ignored"),
    ({"bookmarks": {"products": "2024-01-01"}},
     "The state's bookmark of products is a JSON str, not an object; ignored"),
    ({"bookmarks": {"products": {"replication_key": "updated_at",
                                 "replication_key_value": "yesterday"}}},
     "The state's bookmark of products 'yesterday' is not a date and time; ignored"),
    ({"bookmarks": {"products": {"replication_key_value": 20240101}}},
     "The state's bookmark of products 20240101 is not a date and time; ignored"),
    ({"bookmarks": {"products": {"replication_key": "updated_at",
                                 "replication_key_value": "2999-01-01T00:00:00+00:00"}}},
     "The state's bookmark of products 2999-01-01T00:00:00+00:00 is in the future"),
    ({"bookmarks": {"products": {"replication_key": "edit_date",
                                 "replication_key_value": "2024-01-01T00:00:00+00:00"}}},
     "The state's bookmark of products is on 'edit_date', not on updated_at; ignored"),
    ({"bookmarks": {"products": {"partitions": "all"}}},
     "has partitions that are not a list of objects"),
])
def test_a_state_that_cannot_be_trusted_is_one_warning_and_a_full_sync(hostile, shops, state,
                                                                        words):
    first, _second, _state = shops
    run = tap(hostile, first, "state-untrusted", state=state)
    assert run.code == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    warnings = [line for line in lines(run.stderr, "WARNING") if "The state's" in line]
    assert len(warnings) == 1, run.stderr[-3000:]
    assert words in warnings[0]
    assert product_ids(run) == ["1", "2", "3", "4"]  # the full sync: never 0 products
