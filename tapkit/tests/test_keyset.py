"""Keyset paging (``tapkit.paging.KeysetPaginator``) against a live table: rows deleted while
it pages are the only ones missing, a page answered unsorted loses nothing, a shop that
ignores the key filter stops the sweep clearly, and the request count stays one per page."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from singer_sdk import Tap
from singer_sdk import typing as th
from singer_sdk.pagination import BaseAPIPaginator
from tapkit.errors import ApiErrors, PagingError
from tapkit.paging import KeysetPaginator, PageCountPaginator
from tapkit.rest import ApiStream

BASE = "https://sklep.example/api"
PAGE_SIZE = 5
JSON = {"Content-Type": "application/json"}


def keys_of(response: requests.Response) -> list[int]:
    return [row["id"] for row in response.json()["list"]]


class Items(ApiStream[int]):
    """``GET /items?after=&limit=`` (keyset) or ``?page=&limit=`` (``by_page``)."""

    name = "items"
    path = "/items"
    url_base = BASE
    records_jsonpath = "$.list[*]"
    schema = th.PropertiesList(th.Property("id", th.IntegerType)).to_dict()
    by_page = False

    @property
    def errors(self) -> ApiErrors:
        return ApiErrors("https://sklep.example")

    def get_new_paginator(self) -> BaseAPIPaginator | None:
        if self.by_page:
            return PageCountPaginator(1, total_pages=lambda r: r.json()["pages"])
        return KeysetPaginator(keys=keys_of, page_size=PAGE_SIZE, what="/items",
                               is_last=lambda r: r.json()["pages"] == 1)

    def get_url_params(self, context: Any, next_page_token: Any) -> dict[str, Any]:
        if self.by_page:
            return {"page": next_page_token or 1, "limit": PAGE_SIZE}
        return {"after": next_page_token or 0, "limit": PAGE_SIZE}


class Acme(Tap):
    name = "tap-acme"
    config_jsonschema = th.PropertiesList().to_dict()

    def discover_streams(self) -> list:
        return [Items(self)]


class Table:
    """A live list of ids served ascending by key or by page; ``on_answer[n]`` runs after
    the n-th answer (a deletion meanwhile)."""

    def __init__(self, ids: list[int]) -> None:
        self.ids = ids
        self.on_answer: dict[int, Any] = {}
        self.answers = 0

    def __call__(self, request: Any, context: Any) -> dict[str, Any]:
        after = int(request.qs.get("after", ["0"])[0])
        page = int(request.qs.get("page", ["1"])[0])
        rows = [i for i in self.ids if i > after]
        pages = -(-len(rows) // PAGE_SIZE)
        chunk = rows[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
        self.answers += 1
        self.on_answer.get(self.answers, lambda: None)()
        return {"pages": pages, "list": [{"id": i} for i in chunk]}


def read(requests_mock: Any, table: Table, *, by_page: bool = False) -> list[int]:
    requests_mock.get(f"{BASE}/items", json=table, headers=JSON)
    stream = Items(Acme(config={}))
    stream.by_page = by_page
    return [r["id"] for r in stream.request_records(None)]


def test_a_row_deleted_after_its_page_was_read_loses_no_other_row(requests_mock):
    table = Table(list(range(1, 13)))
    table.on_answer[1] = lambda: table.ids.remove(2)
    assert read(requests_mock, table) == list(range(1, 13))  # 2 was read before it went
    assert requests_mock.call_count == 3  # 12 rows by 5: one request per page
    # what page numbers did on the same table: 6 moved onto page 1, already read
    table = Table(list(range(1, 13)))
    table.on_answer[1] = lambda: table.ids.remove(2)
    assert 6 not in read(requests_mock, table, by_page=True)


def test_the_next_page_starts_after_the_highest_key_not_the_last_row(requests_mock):
    requests_mock.get(f"{BASE}/items", [
        {"json": {"pages": 2, "list": [{"id": i} for i in (5, 4, 3, 2, 1)]}, "headers": JSON},
        {"json": {"pages": 1, "list": [{"id": 6}]}, "headers": JSON}])
    stream = Items(Acme(config={}))
    assert [r["id"] for r in stream.request_records(None)] == [5, 4, 3, 2, 1, 6]
    assert [r.qs["after"] for r in requests_mock.request_history] == [["0"], ["5"]]


def test_a_full_last_page_ends_the_sweep_without_an_empty_request(requests_mock):
    table = Table(list(range(1, 11)))
    assert read(requests_mock, table) == list(range(1, 11))
    assert requests_mock.call_count == 2  # no third request for an empty page


def test_a_shop_that_ignores_the_key_filter_stops_clearly(requests_mock):
    first = {"json": {"pages": 3, "list": [{"id": i} for i in range(1, 6)]}, "headers": JSON}
    requests_mock.get(f"{BASE}/items", [first, first, first])
    stream = Items(Acme(config={}))
    with pytest.raises(PagingError, match="/items: the page asked for keys above 5 came back "
                                          "with none above it"):
        list(stream.request_records(None))
    assert requests_mock.call_count == 2


def test_a_full_page_the_stream_leaves_out_is_not_the_end(requests_mock):
    # the SDK ends a sweep at a page that yields no record unless the paginator says more
    # follow: a full page of rows the stream drops (repeats) must not end it early
    paginator = KeysetPaginator(keys=keys_of, page_size=2)
    requests_mock.get(f"{BASE}/items", [{"json": {"pages": 2, "list": [{"id": 1}, {"id": 2}]}},
                                        {"json": {"pages": 1, "list": [{"id": 3}]}}])
    full, short = (requests.get(f"{BASE}/items", timeout=5) for _ in range(2))
    assert paginator.continue_if_empty(full)
    assert not paginator.continue_if_empty(short)
