"""The REST base against canned answers: classification, secret-safe messages, capped and
bounded retries, 429 outside the 5xx tries, paging guards."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import requests
from commerce_schema.redact import redact
from singer_sdk import Tap
from singer_sdk import typing as th
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.pagination import BaseAPIPaginator, SimpleHeaderPaginator
from tapkit.errors import (
    AccessDeniedError,
    ApiErrors,
    CredentialsRefusedError,
    DeadlineExceededError,
    NotThePlatformError,
    PagingError,
    ThrottledError,
)
from tapkit.paging import CursorGuardMixin, OrderGuard, PageCountPaginator
from tapkit.rest import ApiStream
from tapkit.retry import retry_after

BASE = "https://sklep.example/api"


class AcmeErrors(ApiErrors):
    platform = "Acme"

    def platform_error(self, response: requests.Response) -> tuple[str, str | None] | None:
        body = self.json_body(response)
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            return body["error"], body.get("message")
        return None


class Items(ApiStream[int]):
    name = "items"
    path = "/items"
    url_base = BASE
    records_jsonpath = "$.list[*]"
    schema = th.PropertiesList(th.Property("id", th.IntegerType)).to_dict()

    @property
    def errors(self) -> ApiErrors:
        return AcmeErrors("https://sklep.example")

    def get_new_paginator(self) -> BaseAPIPaginator | None:
        return PageCountPaginator(1, total_pages=lambda r: int(r.json().get("pages", 0)),
                                  what="/items", max_growth=2)

    def get_url_params(self, context: Any, next_page_token: Any) -> dict[str, Any]:
        return {"page": next_page_token or 1}


class Acme(Tap):
    name = "tap-acme"
    config_jsonschema = th.PropertiesList().to_dict()

    def discover_streams(self) -> list:
        return [Items(self)]


@pytest.fixture
def items() -> Items:
    return Items(Acme(config={}))


@pytest.fixture
def waits(monkeypatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr("backoff._sync.time.sleep", slept.append)
    return slept


def page(rows: list[int], pages: int = 1, **extra: Any) -> dict[str, Any]:
    return {"json": {"pages": pages, "list": [{"id": i} for i in rows]},
            "headers": {"Content-Type": "application/json"}, **extra}


def rows(stream: Items) -> list[int]:
    return [r["id"] for r in stream.request_records(None)]


# -- Retry-After ---------------------------------------------------------------------------
def answer(**headers: str) -> requests.Response:
    response = requests.Response()
    response.headers.update(headers)
    return response


def test_retry_after_reads_seconds_and_dates_and_caps_both():
    now = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.timezone.utc)
    assert retry_after(answer(**{"Retry-After": "7"})) == 7
    assert retry_after(answer(**{"Retry-After": "Thu, 01 Jan 2026 12:00:30 GMT"}), now=now) == 30
    assert retry_after(answer(**{"Retry-After": "86400"})) == 300  # a day is capped
    assert retry_after(answer(**{"Retry-After": "Fri, 01 Jan 2027 12:00:00 GMT"}), now=now) == 300
    assert retry_after(answer(**{"Retry-After": "Wed, 31 Dec 2025 12:00:00 GMT"}), now=now) == 0
    assert retry_after(answer(**{"Retry-After": "jutro"})) is None
    assert retry_after(answer()) is None


# -- classification ------------------------------------------------------------------------
@pytest.mark.parametrize(("status", "body", "ctype", "error", "words"), [
    (200, "<html>Przerwa</html>", "text/html", NotThePlatformError,
     "/api/items answered 200 with text/html instead of Acme's JSON API"),
    (200, '{"pages": 1, "list": [', "application/json", FatalAPIError,
     "Acme answered /api/items with 200 and a body that is not valid JSON"),
    (404, "Not Found", "text/plain", NotThePlatformError, "does not look like a Acme shop"),
    (404, '{"error": "not_found", "message": "no such list"}', "application/json",
     FatalAPIError, "Acme answered /api/items with 404 Not Found not_found: no such list"),
    (403, '{"error": "scope", "message": "no rights"}', "application/json", AccessDeniedError,
     "Acme denied access to /api/items (403 Forbidden scope: no rights)"),
    (401, '{"error": "bad_token"}', "application/json", CredentialsRefusedError,
     "Acme refused the credentials (401 Unauthorized bad_token): check the credentials"),
])
def test_answers_are_classified_in_words(items, requests_mock, status, body, ctype, error, words):
    requests_mock.get(f"{BASE}/items", status_code=status, text=body,
                      headers={"Content-Type": ctype})
    with pytest.raises(error) as raised:
        rows(items)
    assert words in str(raised.value)


class KeyedItems(Items):
    @property
    def http_headers(self) -> dict:
        return {"Authorization": "Bearer tok-1234567"}


def test_messages_never_echo_a_credential_or_a_registered_secret(requests_mock):
    redact.add("haslo-sklepu-77")
    items = KeyedItems(Acme(config={}))
    requests_mock.get(f"{BASE}/items", status_code=403, headers={
        "Content-Type": "application/json"}, json={
        "error": "scope", "message": "Bearer tok-1234567 (password haslo-sklepu-77) denied"})
    with pytest.raises(AccessDeniedError) as raised:
        rows(items)
    assert "tok-1234567" not in str(raised.value)
    assert "haslo-sklepu-77" not in str(raised.value)
    assert "Bearer *** (password ***) denied" in str(raised.value)


# -- retries -------------------------------------------------------------------------------
def test_5xx_is_retried_6_times_with_retry_after_capped(items, requests_mock, waits):
    requests_mock.get(f"{BASE}/items", status_code=503, text="down",
                      headers={"Retry-After": "7200"})
    with pytest.raises(RetriableAPIError, match="Acme failed on /api/items: 503"):
        rows(items)
    assert requests_mock.call_count == 6
    assert waits == [300] * 5  # two hours asked, five minutes given


def test_5xx_without_retry_after_backs_off_exponentially(items, requests_mock, waits):
    requests_mock.get(f"{BASE}/items", [{"status_code": 502, "text": "x"}] * 3 + [page([1])])
    assert rows(items) == [1]
    assert waits == [1, 2, 4]


def test_429_does_not_use_up_the_5xx_tries(items, requests_mock, waits):
    throttled = {"status_code": 429, "headers": {"Retry-After": "2"}, "text": "slow down"}
    requests_mock.get(f"{BASE}/items", [throttled] * 8 + [page([1, 2])])
    assert rows(items) == [1, 2]
    assert waits == [2] * 8


def test_429_forever_ends_after_the_patience(items, requests_mock, waits):
    items.throttle_patience_seconds = 0  # the clock is not faked: no patience at all
    requests_mock.get(f"{BASE}/items", status_code=429, headers={"Retry-After": "1"}, text="")
    with pytest.raises(ThrottledError):
        rows(items)
    assert requests_mock.call_count <= 6


def test_a_request_never_outlives_its_deadline(items, requests_mock, waits):
    items.request_deadline_seconds = 100
    requests_mock.get(f"{BASE}/items", status_code=503, headers={"Retry-After": "200"}, text="")
    with pytest.raises(DeadlineExceededError, match="gave up on /items"):
        rows(items)
    assert requests_mock.call_count == 1
    assert waits == []


# -- paging --------------------------------------------------------------------------------
def test_pages_run_to_the_count_inclusive_past_an_empty_page(items, requests_mock):
    requests_mock.get(f"{BASE}/items", [page([1, 2], 3), page([], 3), page([5], 3)])
    assert rows(items) == [1, 2, 5]
    assert [r.qs["page"] for r in requests_mock.request_history] == [["1"], ["2"], ["3"]]


def test_a_page_count_that_keeps_growing_stops_clearly(items, requests_mock):
    requests_mock.get(f"{BASE}/items", [page([n], n + 1) for n in range(1, 50)])
    with pytest.raises(PagingError, match="page count of /items kept growing"):
        rows(items)
    assert requests_mock.call_count == 4  # two growths allowed, the third stops


class GuardedHeaderPaginator(CursorGuardMixin, SimpleHeaderPaginator):
    what = "/feed"


def test_a_cursor_that_points_back_stops_clearly():
    paginator = GuardedHeaderPaginator("X-Next")
    for token in ("b", "c"):
        paginator.advance(answer(**{"X-Next": token}))
    with pytest.raises(PagingError, match="pointed back to an earlier page"):
        paginator.advance(answer(**{"X-Next": "b"}))


def test_a_cursor_that_does_not_advance_stops_clearly():
    paginator = GuardedHeaderPaginator("X-Next")
    paginator.advance(answer(**{"X-Next": "b"}))
    with pytest.raises(PagingError, match="did not advance"):
        paginator.advance(answer(**{"X-Next": "b"}))


def test_rows_out_of_order_are_emitted_once_and_unsort_the_stream(items, caplog):
    items.sorted_by_replication_key = True
    guard = items.order_guard("id")
    assert items.is_sorted
    admitted = [v for v in (1, 2, 5, 5, 3, 6, 3) if guard.admit(v)]
    assert admitted == [1, 2, 5, 3, 6]  # repeats dropped, the late 3 kept
    assert guard.unsorted
    assert not items.is_sorted
    assert caplog.text.count("emitted anyway") == 1


def test_an_order_guard_alone(caplog):
    guard = OrderGuard("/products", "product_id")
    assert [guard.admit(v) for v in (3, 4, 4)] == [True, True, False]
    guard.reset()
    assert guard.admit(4)
    assert not guard.unsorted
