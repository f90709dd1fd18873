"""The pieces several taps wrote for themselves before they moved into the kit: a platform
error without a code, a stream read whole every run, positions as sort keys, and the test
helpers (emulators made to answer badly, ERROR lines, fixtures)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import requests
from singer_sdk import Stream
from singer_sdk import typing as th
from tapkit.errors import ApiErrors
from tapkit.readers import UNNUMBERED, sort_position
from tapkit.streams import FullTableContractStream
from tapkit.tap import ContractTap
from tapkit.testing import (
    Tampering,
    assert_conforms,
    assert_fails_clearly,
    category,
    error_lines,
    run_tap,
)


class CodelessErrors(ApiErrors):
    """A platform (Magento) whose error body is a message without a code."""

    platform = "Codeless"

    def platform_error(self, response: requests.Response) -> tuple[str, str | None] | None:
        body = self.json_body(response)
        return ("", body["message"]) if isinstance(body, dict) else None


def answer(status: int, body: bytes) -> requests.Response:
    response = requests.Response()
    response.status_code, response._content = status, body
    response.headers["Content-Type"] = "application/json"
    response.reason = {401: "Unauthorized", 500: "Internal Server Error"}[status]
    response.request = requests.Request("GET", "https://sklep.example/rest").prepare()
    return response


def test_an_error_without_a_code_reads_status_then_message():
    errors = CodelessErrors("https://sklep.example")
    assert errors.describe(answer(401, b'{"message": "The signature is invalid."}')) == \
        "401 Unauthorized: The signature is invalid."
    assert errors.describe(answer(500, b'{"message": ""}')) == "500 Internal Server Error"


class WholeCategories(FullTableContractStream, Stream):
    name = "categories"

    def get_records(self, context: Any) -> Iterable[dict[str, Any]]:
        yield {"id": "1", "name": "Kubki"}

    def map_record(self, row: dict[str, Any], context: Any) -> dict[str, Any] | None:
        return category(id=row["id"], name=row["name"], path=[row["name"]])


class WholeTap(ContractTap):
    name = "tap-whole"
    platform_name = "Whole"
    config_jsonschema = th.PropertiesList(th.Property("x", th.StringType)).to_dict()

    def discover_streams(self) -> list[Stream]:
        return [WholeCategories(self)]


def test_a_full_table_stream_keeps_no_bookmark():
    run = run_tap(WholeTap, {})
    stream = run.tap.streams["categories"]  # type: ignore[union-attr]
    assert stream.replication_key is None
    assert stream.replication_method == "FULL_TABLE"
    assert run.records["categories"][0]["id"] == "1"
    assert "replication_key_value" not in str(run.state)
    assert_conforms(run)


def test_positions_sort_as_numbers_and_the_unreadable_last():
    values = ["10", 2, None, "", "x", "1"]
    assert sorted(values, key=sort_position) == ["1", 2, "10", None, "", "x"]
    assert sort_position("abc") == UNNUMBERED


class Echo:
    """A stand-in emulator: answers every request with its path."""

    def __init__(self, greeting: str = "hi") -> None:
        self.greeting = greeting

    def dispatch(self, request: Any) -> Any:
        return f"{self.greeting} {request.path}"


class HostileEcho(Tampering, Echo):
    defaults = {"greeting": "hej"}  # noqa: RUF012 - the mixin's ClassVar


class Request:
    def __init__(self, path: str) -> None:
        self.path = path


def test_a_tampered_emulator_rewrites_only_the_matching_paths_and_counts_them():
    echo = HostileEcho()
    echo.tamper[r"^/products"] = lambda request, response, n: f"{response} #{n} broken"
    assert echo.dispatch(Request("/categories")) == "hej /categories"
    assert echo.dispatch(Request("/products/1")) == "hej /products/1 #1 broken"
    assert echo.dispatch(Request("/products/2")) == "hej /products/2 #2 broken"
    assert HostileEcho(greeting="cześć").dispatch(Request("/a")) == "cześć /a"


STDERR = ("2026-01-01 | INFO     | tap | Beginning\n"
          "2026-01-01 | ERROR    | tap | Shop answered 503: try again later\n")


def test_error_lines_and_a_clear_failure():
    assert error_lines(STDERR) == [STDERR.splitlines()[1]]
    assert_fails_clearly(1, STDERR, "try again later")
    for code, text, words in [(0, STDERR, "try again"), (1, STDERR, "Beginning"),
                              (1, STDERR + "Traceback (most recent call last):", "503")]:
        try:
            assert_fails_clearly(code, text, words)
        except AssertionError:
            continue
        raise AssertionError(f"{(code, words)} passed as a clear failure")
