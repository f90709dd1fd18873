"""Shoper's leaky bucket: pacing from X-Shop-Api-* headers, and 429 + Retry-After honoured."""

from __future__ import annotations

import time

import requests
from sandbox.server import RateLimit, Switches
from sandbox.shoper import ShoperEmulator
from tap_shoper.ratelimit import LeakyBucketPacer


def answer(limit="10", bandwidth="2", calls="0"):
    response = requests.Response()
    response.headers.update({"X-Shop-Api-Limit": limit, "X-Shop-Api-Bandwidth": bandwidth,
                             "X-Shop-Api-Calls": calls})
    return response


def test_pacer_waits_only_when_the_next_call_would_fill_the_bucket():
    now = [0.0]
    pacer = LeakyBucketPacer(clock=lambda: now[0])
    assert pacer.delay() == 0  # nothing known yet
    pacer.observe(answer(calls="5"))
    assert pacer.delay() == 0  # 5 of 10: plenty of room
    pacer.observe(answer(calls="9"))
    assert pacer.delay() == 0.5  # 9 + 1 would leave no reserve: wait for 1 unit to leak
    now[0] += 0.25
    assert pacer.delay() == 0.25  # half of it leaked meanwhile
    now[0] += 1
    assert pacer.delay() == 0
    pacer.observe(requests.Response())  # an answer without the headers changes nothing
    assert pacer.limit == 10


def test_pacer_sleeps_through_the_session():
    slept = []
    pacer = LeakyBucketPacer(sleep=slept.append, clock=lambda: 0.0)
    pacer.observe(answer(limit="4", bandwidth="1", calls="4"))
    pacer.wait()
    assert slept == [2.0]  # down to 2 units, so that the call leaves 1 free
    assert pacer.waits == 1


def test_a_rate_limited_shop_is_synced_completely_with_pacing(run_tap, login_config):
    switches = Switches(rate_limit=RateLimit(capacity=4, leak_per_second=40))
    with ShoperEmulator(n_products=20, switches=switches) as emulator:
        run = run_tap(login_config(emulator, page_size=10))
        assert len(run.records["products"]) == 20
        assert len(run.records["stock"]) == emulator.catalog.variant_count()
        assert run.tap.pacer.waits > 0  # it slowed down on its own...
        assert switches.rate_limit.refused <= 1  # ...so the shop hardly ever had to refuse


def test_429_waits_retry_after_and_never_fails_the_run(run_tap, login_config, monkeypatch):
    bucket = RateLimit(capacity=3, leak_per_second=1)
    waits = []
    real_sleep = time.sleep

    with ShoperEmulator(n_products=4, switches=Switches(rate_limit=bucket),
                        access_token="other-app") as emulator:
        def sleep(seconds):
            waits.append(seconds)
            real_sleep(seconds)
            emulator.apply_switches({"rate_limit": [3, 50]})  # the other client is done

        monkeypatch.setattr("backoff._sync.time.sleep", sleep)
        for _ in range(3):  # another app fills the shop's bucket just before the run
            requests.get(f"{emulator.url}/webapi/rest/taxes", timeout=5,
                         headers={"Authorization": "Bearer other-app"})
        run = run_tap(login_config(emulator))
        assert bucket.refused >= 1
        assert len(run.records["products"]) == 4
        assert len(emulator.requests_to("POST", "/auth$")) == 2  # refused once, then served
    assert waits[0] == 1.0  # Retry-After: 1, waited exactly, no jitter
