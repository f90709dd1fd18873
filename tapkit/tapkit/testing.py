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
import io
import json
import subprocess
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

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
