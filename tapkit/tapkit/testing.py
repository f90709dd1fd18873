"""The testing kit every tap's tests use: run a tap, build Singer input, make valid records,
and the one conformance check every tap must pass.

:func:`assert_conforms` is what "a tap emits the contract" means, checked the same way for
every platform: each record passes ``commerce_schema.validation.validate_record``, ids are
unique per stream, and categories come before products (the target maps a product's
categories from the categories it has already seen).
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import io
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

from commerce_schema import jsonio
from commerce_schema.contract import STREAM_KEYS, STREAM_SCHEMAS
from commerce_schema.validation import record_id, validate_record
from singer_sdk import Tap

# -- running a tap ----------------------------------------------------------------------------


@dataclass
class TapRun:
    """What one run of a tap wrote: its messages (numbers as Decimal) and, for a subprocess,
    its exit code and stderr."""

    messages: list[dict[str, Any]]
    tap: Tap | None = None
    code: int = 0
    stderr: str = ""
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.records:
            grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for message in self.messages:
                if message.get("type") == "RECORD":
                    grouped[message["stream"]].append(message["record"])
            self.records = dict(grouped)

    @property
    def state(self) -> dict[str, Any] | None:
        """The last STATE message's value."""
        states = [m["value"] for m in self.messages if m.get("type") == "STATE"]
        return states[-1] if states else None


def parse_messages(text: str) -> list[dict[str, Any]]:
    """Singer JSONL as dicts, every non-integer number a Decimal."""
    return [json.loads(line, parse_float=Decimal) for line in text.splitlines() if line.strip()]


def run_tap(tap: type[Tap] | Sequence[str], config: dict[str, Any], *,
            state: dict[str, Any] | None = None, catalog: dict[str, Any] | None = None,
            timeout: float = 300) -> TapRun:
    """Sync ``tap`` like ``tap-x --config [--state] [--catalog]`` would.

    ``tap`` is a tap class (run in this process: exceptions propagate, ``TapRun.tap`` is the
    instance) or a command such as ``[".venv/bin/tap-shoper"]`` (a subprocess: the exit
    code and stderr are kept; the files are written to a private temporary folder).
    """
    if isinstance(tap, type):
        out = io.StringIO()
        instance = tap(config=config, state=state, catalog=catalog)
        with contextlib.redirect_stdout(out):
            instance.sync_all()
        return TapRun(parse_messages(out.getvalue()), tap=instance)
    with tempfile.TemporaryDirectory(prefix="tapkit-run-") as folder:
        args = list(tap)
        for name, document in (("config", config), ("state", state), ("catalog", catalog)):
            if document is not None:
                path = Path(folder) / f"{name}.json"
                path.write_text(json.dumps(document, default=str), encoding="utf-8")
                path.chmod(0o600)
                args += [f"--{name}", str(path)]
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                              check=False)
    return TapRun(parse_messages(done.stdout), code=done.returncode, stderr=done.stderr)


# -- the conformance check ----------------------------------------------------------------------


def conformance_problems(run: TapRun | Sequence[dict[str, Any]]) -> list[str]:
    """Every way the run breaks the contract (empty: it conforms)."""
    messages = run.messages if isinstance(run, TapRun) else list(run)
    problems: list[str] = []
    seen: dict[str, set[str]] = defaultdict(set)
    first_product: int | None = None
    last_category: int | None = None
    for index, message in enumerate(messages):
        if message.get("type") != "RECORD":
            continue
        stream, record = message["stream"], message["record"]
        problems += [str(e) for e in validate_record(stream, record)]
        rid = record_id(stream, record)
        if rid is not None:
            if rid in seen[stream]:
                problems.append(f"{stream} record {rid}: emitted twice")
            seen[stream].add(rid)
        if stream == "products" and first_product is None:
            first_product = index
        if stream == "categories":
            last_category = index
    if first_product is not None and last_category is not None and last_category > first_product:
        problems.append("categories must all come before the first product")
    return problems


def assert_conforms(run: TapRun | Sequence[dict[str, Any]]) -> None:
    """Fail with every problem listed when the run breaks the contract."""
    problems = conformance_problems(run)
    assert not problems, "the tap's output breaks the contract:\n" + "\n".join(problems[:50])


def assert_stock_matches(run: TapRun, products: Sequence[dict[str, Any]], *,
                         fields: Sequence[str] = ("quantity",)) -> None:
    """One ``stock`` record per sellable variant of ``products`` (the expected ``products``
    records) and no other, each naming its product and carrying the variant's ``fields``
    (``quantity`` is the variant's ``stock``); the streams in the contract's order."""
    stock = {r["variant_id"]: r for r in run.records["stock"]}
    variants = {v["id"]: (p["id"], v) for p in products for v in p["variants"]}
    assert set(stock) == set(variants)
    for variant_id, (product_id, variant) in variants.items():
        assert stock[variant_id]["product_id"] == product_id
        for name in fields:
            assert stock[variant_id][name] == variant["stock" if name == "quantity" else name]
    order = [m["stream"] for m in run.messages if m["type"] == "SCHEMA"]
    assert order == ["categories", "products", "stock"]


# -- Singer input for a target ------------------------------------------------------------------


def singer_lines(*messages: tuple[str, Any]) -> str:
    """Singer JSONL for feeding a target: ``("products", record)`` is a RECORD (a SCHEMA
    precedes each stream's first record), ``("STATE", value)`` a STATE, ``("RAW", text)`` a
    line as is (e.g. broken JSON)."""
    out: list[str] = []
    announced: set[str] = set()
    for kind, payload in messages:
        if kind == "RAW":
            out.append(str(payload))
        elif kind == "STATE":
            out.append(jsonio.dumps({"type": "STATE", "value": payload}))
        else:
            if kind not in announced:
                announced.add(kind)
                out.append(jsonio.dumps({"type": "SCHEMA", "stream": kind,
                                         "schema": STREAM_SCHEMAS[kind],
                                         "key_properties": STREAM_KEYS[kind][0]}))
            out.append(jsonio.dumps({"type": "RECORD", "stream": kind, "record": payload}))
    return "\n".join(out) + "\n" if out else ""


# -- record factories ---------------------------------------------------------------------------

_CATEGORY: dict[str, Any] = {"id": "1", "name": "Kubki", "parent_id": None, "path": ["Kubki"]}
_VARIANT: dict[str, Any] = {"id": "1", "sku": "KUB-1", "ean": "5901234123457", "options": [],
            "price_net": Decimal("100.00"), "price_gross": Decimal("123.00"),
            "stock": Decimal(5), "active": True, "images": [], "weight_kg": None}
_PRODUCT: dict[str, Any] = {"id": "1", "platform": "test", "sku": "KUB-1", "name": "Kubek Zorza",
            "description_html": "<p>Kubek z uchem</p>", "short_description_html": None,
            "language": "pl", "url": None, "brand": None,
            "categories": [{"id": "1", "name": "Kubki", "path": ["Kubki"]}], "images": [],
            "vat_rate": 23, "currency": "PLN", "active": True, "attributes": {},
            "created_at": "2024-01-02T08:00:00+00:00",
            "updated_at": "2024-01-03T08:00:00+00:00"}
_STOCK: dict[str, Any] = {"product_id": "1", "variant_id": "1", "sku": "KUB-1", "ean": None,
          "quantity": Decimal(5), "updated_at": "2024-01-03T08:00:00+00:00"}


def category(**over: Any) -> dict[str, Any]:
    """A valid ``categories`` record; any field overridable."""
    return {**copy.deepcopy(_CATEGORY), **over}


def variant(**over: Any) -> dict[str, Any]:
    """A valid variant of a product (100.00 net, 123.00 gross at 23%)."""
    return {**copy.deepcopy(_VARIANT), **over}


def product(**over: Any) -> dict[str, Any]:
    """A valid ``products`` record with one variant (its id the product's); any field
    overridable, ``variants`` included."""
    record = {**copy.deepcopy(_PRODUCT), **over}
    record.setdefault("variants", [variant(id=record["id"])])
    return record


def stock(**over: Any) -> dict[str, Any]:
    """A valid ``stock`` record; any field overridable."""
    return {**copy.deepcopy(_STOCK), **over}


# -- end to end: tap | target-gateway -------------------------------------------------------------


@dataclass
class PipeResult:
    """Two runs of ``tap | target-gateway`` into one Gateway emulator.

    ``report``: the first run's target report; ``products`` and ``variant_tags``: what the
    Gateway held after it; ``second_report`` and ``second_writes``: the second, identical
    run (writes it sent: none expected); ``logs``: both processes' stderr of both runs.
    """

    report: dict[str, Any]
    products: list[dict[str, Any]]
    variant_tags: set[str]
    second_report: dict[str, Any]
    second_writes: list[str]
    logs: str

    @property
    def by_source(self) -> dict[tuple[str, str], dict[str, Any]]:
        """The Gateway's products by (source product id, source variant id)."""
        return {(p["data"]["source"]["product_id"], p["data"]["source"]["variant_id"]): p
                for p in self.products}

    def tags_of(self, made: dict[str, Any]) -> list[str]:
        """The variant-group tags of one Gateway product."""
        return [g for g in made["tag_guids"] if g in self.variant_tags]


def write_config(path: Path, values: dict[str, Any]) -> Path:
    """A private (0600) JSON config file."""
    path.write_text(json.dumps(values, default=str), encoding="utf-8")
    path.chmod(0o600)
    return path


def gateway_writes(gateway: Any) -> list[str]:
    """Requests that changed the Gateway emulator (the product query is a read sent as
    POST)."""
    return [f"{r.method} {r.path}" for r in gateway.requests_to()
            if r.method in {"POST", "PUT", "DELETE", "PATCH"} and not r.path.endswith("/_query")]


def pipe_once(tap_command: Sequence[str], tap_config: Path, target_command: Sequence[str],
              target_config: Path, logs: Path, *, timeout: float = 120) -> None:
    """``tap --config | target --config`` as two processes joined by a real OS pipe; both
    must exit 0 (their stderr is appended to ``logs/tap.err`` and ``logs/target.err``)."""
    read_end, write_end = os.pipe()
    with (logs / "tap.err").open("ab") as tap_err, (logs / "target.err").open("ab") as tgt_err:
        tap = subprocess.Popen([*tap_command, "--config", str(tap_config)], stdout=write_end,
                               stderr=tap_err)
        os.close(write_end)
        target = subprocess.Popen([*target_command, "--config", str(target_config)],
                                  stdin=read_end, stdout=subprocess.DEVNULL, stderr=tgt_err)
        os.close(read_end)
        codes = tap.wait(timeout=timeout), target.wait(timeout=timeout)
    assert codes == (0, 0), (logs / "tap.err").read_text()[-3000:] + \
        (logs / "target.err").read_text()[-3000:]


def pipe_to_gateway(tap_command: Sequence[str], tap_config: dict[str, Any], gateway: Any,
                    folder: Path, *, shop_guid: str, signing_key: str,
                    target_command: Sequence[str] | None = None,
                    target_settings: dict[str, Any] | None = None,
                    after_first_run: Callable[[], None] | None = None) -> PipeResult:
    """The end-to-end test every tap runs: ``tap | target-gateway`` into ``gateway`` (a
    running ``sandbox.gateway.GatewayEmulator``), the first run's report must be ``ok``; then
    the same run again must find everything unchanged: no write, no product touched, nothing
    created or updated in its report. The caller checks the first run's products against
    its platform emulator's catalog (:func:`assert_variants_landed`); ``after_first_run``
    checks what only the first run may show (e.g. how often a rate limit refused it)."""
    target = list(target_command or [str(Path(sys.executable).parent / "target-gateway")])
    tap_file = write_config(folder / "tap.json", tap_config)
    target_file = write_config(folder / "target.json", {
        "api_url": gateway.url, "shop_guid": shop_guid, "signing_key": signing_key,
        "allow_private_image_hosts": True, "report_file": str(folder / "report.json"),
        **(target_settings or {})})
    pipe_once(tap_command, tap_file, target, target_file, folder)
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert report["status"] == "ok", report
    products = gateway.products(shop_guid)
    variant_tags = {t["guid"] for t in gateway.tags(shop_guid, type="variant")}
    if after_first_run is not None:
        after_first_run()

    before = {p["guid"]: p["updated"] for p in products}
    gateway.clear_requests()
    pipe_once(tap_command, tap_file, target, target_file, folder)
    writes = gateway_writes(gateway)
    assert writes == []
    assert {p["guid"]: p["updated"] for p in gateway.products(shop_guid)} == before
    second = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert second["counts"]["created"] == second["counts"]["updated"] == 0
    logs = (folder / "tap.err").read_text() + (folder / "target.err").read_text()
    return PipeResult(report, products, variant_tags, second, writes, logs)


def assert_variants_landed(result: PipeResult, catalog: Any, platform: str, *,
                           images: Callable[[Any, Any], int] | None = None) -> None:
    """Every variant of the emulator's ``catalog`` is exactly one Gateway product, nothing
    else is: its platform, VAT class, the gross the Gateway shows equal to the shop's,
    options and image count (``images(product, variant)``; default: the product's images
    plus the variant's own); a multi-variant product's variants share one variant tag, no
    two products share one, a single variant has none."""
    by_source = result.by_source
    assert len(result.products) == catalog.variant_count()
    assert set(by_source) == {(str(p.id), str(v.id)) for p in catalog.products
                              for v in p.variants}
    groups: dict[str, set[str]] = defaultdict(set)
    for product in catalog.products:
        for variant in product.variants:
            made = by_source[(str(product.id), str(variant.id))]
            assert made["data"]["source"]["platform"] == platform
            tags = result.tags_of(made)
            if len(product.variants) > 1:
                assert len(tags) == 1, made
                groups[str(product.id)].add(tags[0])
            else:
                assert tags == []
            assert made["vat"] == f"VAT{product.vat_rate}"
            # the marketplace shows the shop's gross to the grosz: the Gateway's own gross
            # (net x (1 + VAT), rounded) of what the target sent is the catalog's gross
            assert Decimal(str(made["price"]["base"]["gross"])) == Decimal(
                str(variant.price_gross)), made["name"]
            assert made["data"]["variants"] == dict(variant.options)
            expected = (images(product, variant) if images is not None
                        else len(product.images) + (1 if variant.image else 0))
            assert len(made["images"]) == expected
    assert all(len(tags) == 1 for tags in groups.values())
    assert len({next(iter(t)) for t in groups.values()}) == len(groups)


# -- the fixtures every tap's tests repeat -------------------------------------------------------


def shared_emulator(name: str, make: Callable[[], Any], *, fresh: str,
                    reset: Callable[[Any], None] | None = None) -> tuple[Any, Any]:
    """Two pytest fixtures for a conftest: ``name``, one started emulator shared by a test
    module (``make()`` returns it unstarted: a context manager), and ``fresh``, the same
    emulator with its request log cleared (and ``reset(emulator)`` applied) for each test.

    ``magento, store = shared_emulator("magento", lambda: MagentoEmulator(...),
    fresh="store")`` in a conftest defines both (pytest finds them by their ``name``).
    """
    import pytest  # a test-only dependency: imported when a conftest asks

    def shared() -> Iterator[Any]:
        with make() as emulator:
            yield emulator

    def cleared(request: Any) -> Any:
        emulator = request.getfixturevalue(name)
        emulator.clear_requests()
        if reset is not None:
            reset(emulator)
        return emulator

    shared.__doc__ = f"One emulator shared by a test module (``{name}``)."
    cleared.__doc__ = f"``{name}`` with a fresh request log."
    return (pytest.fixture(scope="module", name=name)(shared),
            pytest.fixture(name=fresh)(cleared))


def helper_fixture(function: Callable[..., Any], name: str | None = None) -> Any:
    """A conftest helper function as a fixture returning it (conftest modules are not
    importable under ``--import-mode=importlib``, so tests take helpers as fixtures)."""
    import pytest

    def give() -> Callable[..., Any]:
        return function

    give.__doc__ = f":func:`{function.__name__}`."
    return pytest.fixture(name=name or function.__name__)(give)


def standard_tap_tests(tap_class: type[Tap], config: dict[str, Any], *,
                       max_records_limit: int = 500) -> type:
    """singer-sdk's standard tap test class for ``tap_class`` with ``config`` (the SDK
    builds it at import time, so the emulator behind ``config`` is started at import: pair
    it with :func:`stop_after_module`)."""
    from singer_sdk.testing import SuiteConfig, get_tap_test_class

    return get_tap_test_class(tap_class=tap_class, config=config,
                              suite_config=SuiteConfig(max_records_limit=max_records_limit))


def stop_after_module(*emulators: Any) -> Any:
    """An autouse module fixture that stops ``emulators`` when the module's tests are done
    (assign it in the test module: ``_stop = stop_after_module(EMULATOR)``)."""
    import pytest

    def stop() -> Iterator[None]:
        yield
        for emulator in emulators:
            emulator.stop()

    return pytest.fixture(scope="module", autouse=True)(stop)


# -- what a user reads of a failing run, and emulators made to answer badly --------------------


def error_lines(stderr: str) -> list[str]:
    """The ERROR log lines of a tap's (or target's) stderr: what a user reads first."""
    return [line for line in stderr.splitlines() if "| ERROR" in line]


def assert_fails_clearly(code: int, stderr: str, message: str, *, exit_code: int = 1) -> None:
    """A run that failed the way a user can act on: exit ``exit_code``, ``message`` in one of
    its ERROR lines, and no traceback."""
    assert code == exit_code, stderr[-3000:]
    assert any(message in line for line in error_lines(stderr)), stderr[-3000:]
    assert "Traceback" not in stderr


class Tampering:
    """Mixin, first in the bases, for a ``sandbox`` emulator (anything with ``dispatch``):
    ``class HostileShop(Tampering, ShopEmulator)``. Answers to chosen paths are replaced:
    ``tamper[regex] = f(request, response, n)`` where ``n`` counts the matching requests
    from 1 (None drops the answer, as the emulator's own ``dispatch`` would). ``defaults``:
    the emulator's settings unless a case gives its own (e.g. the corpus' secrets)."""

    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **{**self.defaults, **kwargs})
        self.tamper: dict[str, Callable[[Any, Any, int], Any]] = {}
        self.tampered: dict[str, int] = defaultdict(int)

    def dispatch(self, request: Any) -> Any:
        """Answer as the platform would, then let a matching tamper rewrite (or drop) it."""
        response = super().dispatch(request)  # type: ignore[misc]
        for pattern, rewrite in self.tamper.items():
            if re.search(pattern, request.path):
                self.tampered[pattern] += 1
                return rewrite(request, response, self.tampered[pattern])
        return response


@dataclass
class IncrementalRuns:
    """Two syncs of an incremental tap around one edit: ``first`` (no state), then ``second``
    from ``first``'s state after ``edited`` (a catalog product) was changed after the first
    run's bookmark. ``bookmark`` and ``newest`` are the first run's products bookmark and
    newest ``updated_at`` (ISO 8601)."""

    first: TapRun
    second: TapRun
    edited: Any
    bookmark: str
    newest: str


def incremental_runs(sync: Callable[[dict[str, Any] | None], TapRun], emulator: Any, *,
                     index: int = 4, days: int = 2) -> IncrementalRuns:
    """The incremental test every REST tap runs: sync once, edit the emulator catalog's
    ``index``-th product ``days`` after the first run's bookmark, clear the request log and
    sync again from the first run's state; the edit is undone after. ``sync(state)`` runs
    the tap (the caller's config); the caller asserts what the second run emitted and sent.
    """
    first = sync(None)
    assert first.state is not None
    bookmark = first.state["bookmarks"]["products"]["replication_key_value"]
    newest = max(r["updated_at"] for r in first.records["products"])
    edited = emulator.catalog.products[index]
    original = edited.updated_at
    edited.updated_at = dt.datetime.fromisoformat(bookmark) + dt.timedelta(days=days)
    emulator.reload()
    try:
        emulator.clear_requests()
        second = sync(first.state)
    finally:
        edited.updated_at = original
        emulator.reload()
    return IncrementalRuns(first, second, edited, bookmark, newest)


def guard_network(monkeypatch: Any) -> list[Any]:
    """Let a test connect to 127.0.0.1 only: any other ``socket.create_connection`` is
    recorded in the returned list and refused before a socket exists, so that no packet
    leaves even if an address check were wrong (``monkeypatch``: pytest's fixture)."""
    import socket

    attempts: list[Any] = []
    real = socket.create_connection

    def connect(address: Any, timeout: Any = None, *args: Any, **kwargs: Any) -> Any:
        if address[0] != "127.0.0.1":
            attempts.append(address)
            raise OSError("blocked by the test: no packet leaves")
        return real(address, timeout, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", connect)
    return attempts
