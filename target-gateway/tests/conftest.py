"""Shared fixtures of target-gateway's tests: a shop identity, record factories, Singer input."""

from __future__ import annotations

import base64
import io
import socket
from decimal import Decimal
from typing import Any

import pytest
from commerce_schema import jsonio
from commerce_schema.contract import STREAM_KEYS, STREAM_SCHEMAS

SHOP = "0d9a3c52-7c1e-4e9b-a0f4-3b5c6d7e8f90"
KEY_BYTES = b"unit-test-signing-key-32-bytes!!"
KEY = base64.b64encode(KEY_BYTES).decode()
API = "https://gateway.test"
PRODUCTS_URL = f"{API}/dashboard/webshops/{SHOP}/products"
QUERY_URL = f"{API}/dashboard/webshop_products/_query"
TAGS_URL = f"{API}/webshops/{SHOP}/tags/"


def variant(vid: str, *, options: dict[str, str] | None = None, net: str = "100.00",
            vat: int = 23, stock: Any = 5, active: bool = True, sku: str | None = None,
            images: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A contract variant with consistent net and gross."""
    gross = (Decimal(net) * (100 + vat) / 100).quantize(Decimal("0.01"))
    return {"id": vid, "sku": sku, "ean": None,
            "options": [{"name": k, "value": v} for k, v in (options or {}).items()],
            "price_net": Decimal(net), "price_gross": gross,
            "stock": None if stock is None else Decimal(stock), "active": active,
            "images": images or [], "weight_kg": None}


def product(pid: str, name: str = "Kubek Zorza", *, variants: list[dict[str, Any]] | None = None,
            vat: int = 23, categories: list[dict[str, Any]] | None = None,
            images: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    """A contract product record (simple unless variants are given)."""
    record = {
        "id": pid, "platform": "shoper", "sku": f"SKU-{pid}", "name": name,
        "description_html": "<p>Opis <b>produktu</b></p>",
        "short_description_html": "<p>Krótki&nbsp;opis – <i>ładny</i></p>",
        "language": "pl", "url": None, "brand": None,
        "categories": categories or [], "images": images or [], "vat_rate": vat,
        "currency": "PLN", "active": True, "attributes": {},
        "created_at": "2024-01-02T08:00:00+00:00", "updated_at": "2024-01-03T08:00:00+00:00",
        "variants": variants or [variant(pid, vat=vat)],
    }
    record.update(extra)
    return record


def singer(*messages: tuple[str, Any]) -> str:
    """Singer JSONL: ("products", record) is a RECORD, ("STATE", value) a STATE message;
    a SCHEMA goes before the first record of each stream."""
    lines, schemas = [], set()
    for kind, payload in messages:
        if kind == "STATE":
            lines.append({"type": "STATE", "value": payload})
            continue
        if kind not in schemas:
            schemas.add(kind)
            schema = STREAM_SCHEMAS.get(kind, {"type": "object", "properties": {}})
            keys = STREAM_KEYS.get(kind, (["id"], None))[0]
            lines.append({"type": "SCHEMA", "stream": kind, "schema": schema,
                          "key_properties": keys})
        lines.append({"type": "RECORD", "stream": kind, "record": payload})
    return "".join(jsonio.dumps(line) + "\n" for line in lines)


#: what the test hosts (``*.test``, ``*.example``) resolve to: a public address, never dialled
PUBLIC_ADDRESS = "93.184.216.34"


@pytest.fixture(autouse=True)
def offline(monkeypatch) -> list[tuple[str, int]]:
    """No packet leaves the machine: ``*.test`` and ``*.example`` names resolve to
    :data:`PUBLIC_ADDRESS` without a lookup (image URLs are resolved and checked before they
    are copied or fetched), other names are not looked up, and a connection to anything but
    loopback is refused (and listed in the fixture's value)."""
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect
    refused: list[tuple[str, int]] = []

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        name = (host.decode() if isinstance(host, bytes) else str(host)).lower().rstrip(".")
        if name.endswith((".test", ".example")):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_ADDRESS, port or 0))]
        if name == "localhost":
            return real_getaddrinfo(host, port, *args, **kwargs)
        return real_getaddrinfo(host, port, 0, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST)

    def connect(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) \
                and str(address[0]) not in ("127.0.0.1", "::1"):
            refused.append((str(address[0]), int(address[1])))
            raise ConnectionRefusedError(f"tests: no connection to {address[0]}")
        real_connect(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    return refused


@pytest.fixture
def config(tmp_path) -> dict[str, Any]:
    """A unit-test config (fast retries, no real hosts)."""
    return {"api_url": API, "shop_guid": SHOP, "signing_key": KEY, "retry_backoff_ms": 0,
            "max_retries": 2, "report_file": str(tmp_path / "report.json")}


@pytest.fixture
def empty_shop(requests_mock):
    """A Gateway shop with no products and no tags; records every product POST."""
    requests_mock.get(TAGS_URL, json=[])
    requests_mock.post(QUERY_URL, json={"products": []})
    return requests_mock


def run_target(config: dict[str, Any], text: str, prepare: Any = None) -> tuple[int, Any]:
    """Run TargetGateway in-process on ``text``; (exit code, target)."""
    from target_gateway.target import TargetGateway

    target = TargetGateway(config=dict(config))
    if prepare:
        prepare(target)
    return target.run(io.StringIO(text)), target


@pytest.fixture
def kit():
    """The helpers above, for tests (conftest modules are not importable by name)."""
    import types

    return types.SimpleNamespace(
        SHOP=SHOP, KEY=KEY, KEY_BYTES=KEY_BYTES, API=API, PRODUCTS_URL=PRODUCTS_URL,
        QUERY_URL=QUERY_URL, TAGS_URL=TAGS_URL, variant=variant, product=product,
        singer=singer, run=run_target)


@pytest.fixture
def gateway_shop(empty_shop):
    """An empty shop that accepts product creates (sequential guids)."""
    import itertools

    counter = itertools.count(1)

    def create_products(request, context):
        context.status_code = 201
        return {"products": [{"guid": f"g{next(counter)}", **p["product"]}
                             for p in request.json()["products"]]}

    empty_shop.post(PRODUCTS_URL, json=create_products)
    return empty_shop
