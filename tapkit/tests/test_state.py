"""The state a kit tap starts from: its source's identity written and checked, untrusted
parts dropped with one warning each (a full sync of that stream), never a traceback."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from tapkit.state import (
    StateProblemError,
    check_state,
    normalise_url,
    source_identity,
)
from tapkit.testing import run_tap

NOW = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.timezone.utc)
CONFIG = {"shop_url": "https://Sklep.example/", "products": [{"id": 1, "price": 5}]}


@pytest.mark.parametrize("url", ["https://sklep.example", "HTTP://SKLEP.example:80/",
                                 "https://user:pw@sklep.example:443//", "sklep.example",
                                 "https://ｓｋｌｅｐ.example"])  # full-width letters: NFKC
def test_one_shop_has_one_identity_however_its_url_is_written(url):
    assert normalise_url(url) == "sklep.example"


def test_the_path_and_the_query_stay_part_of_the_identity():
    assert normalise_url("https://x.example/feed.xml?key=1") == "x.example/feed.xml?key=1"
    assert source_identity(["a"]) != source_identity(["b"])
    assert source_identity([]) is None
    assert source_identity(["shop_url=x"]).startswith("sha256:")


def test_the_emitted_state_carries_the_identity_and_a_second_run_accepts_it(demo):
    first = run_tap(demo.TapDemo, CONFIG)
    source = first.state["source"]
    assert source == {"tap": "tap-demo",
                      "id": source_identity(["shop_url=sklep.example"])}
    again = run_tap(demo.TapDemo, {**CONFIG, "shop_url": "https://sklep.example"},
                    state=first.state)
    assert again.state["source"] == source


def test_another_shop_s_state_is_refused(demo):
    first = run_tap(demo.TapDemo, CONFIG)
    with pytest.raises(StateProblemError, match=re.escape("written for another shop than "
                                                          "https://inny.example")):
        demo.TapDemo(config={**CONFIG, "shop_url": "https://inny.example"}, state=first.state)


def test_a_secret_source_setting_is_never_named(demo):
    class Secret(demo.TapDemo):
        source_settings = ("api_key",)

    state = {"source": {"tap": "tap-demo", "id": "sha256:0000000000000000"}}
    with pytest.raises(StateProblemError) as error:
        Secret(config={"shop_url": "https://x.example", "api_key": "klucz-sklepu-77"},
               state=state)
    assert "klucz-sklepu-77" not in str(error.value)
    assert "another shop than this source" in str(error.value)


@pytest.mark.parametrize(("state", "kept", "words"), [
    ({"bookmarks": {"products": {"replication_key_value": "2026-01-01T12:30:00Z"}}},
     ["products"], None),  # within the slack of another machine's clock
    ({"bookmarks": {"products": {"replication_key_value": "2026-01-01T14:00:00+00:00"}}},
     [], "is in the future"),
    ({"bookmarks": {"products": {"replication_key_value": "wczoraj"}}}, [],
     "'wczoraj' is not a date and time"),
    ({"bookmarks": {"categories": {}, "products": 5}}, ["categories"], "is a JSON int"),
    ({"bookmarks": {"products": {"partitions": [{"replication_key_value": "x"}]}}}, [],
     "'x' is not a date and time"),
    ({"bookmarks": {"products": {"progress_markers": [1]}}}, [], "has a broken"),
    ({"bookmarks": "x"}, [], "The state's bookmarks are a JSON str"),
    ({}, [], None),
])
def test_untrusted_bookmarks_are_dropped_with_one_warning(state, kept, words):
    trusted, warnings = check_state(state, tap="tap-demo", identity=None, where="x", now=NOW)
    assert sorted(trusted.get("bookmarks", {})) == kept
    if words is None:
        assert warnings == []
    else:
        assert len(warnings) == 1
        assert words in warnings[0]
        assert "syncs in full" in warnings[0]


def test_a_future_bookmark_is_a_full_sync_through_the_real_tap(demo, caplog):
    state = {"bookmarks": {"products": {"replication_key": "updated_at",
                                        "replication_key_value": "2999-01-01T00:00:00Z"}}}
    run = run_tap(demo.TapDemo, CONFIG, state=state)
    assert [r["id"] for r in run.records["products"]] == ["1"]
    assert "bookmark of products 2999-01-01T00:00:00Z is in the future" in caplog.text
