"""The hostile-input corpus' shared kit (issue #7): secrets every run carries, runners for the
real ``tap-shoper`` and ``target-gateway`` processes, a Shoper emulator that can be made to
answer badly, and two raw HTTP servers (a proxy that cuts answers short, an image host that
streams forever or lies about sizes).

Every case hands what a user would see (stdout, stderr, report) to :func:`seen`, which
fails at once if a secret shows and keeps the text for ``test_secrets.py``'s final sweep.
Conftest modules are not importable under ``--import-mode=importlib``, so the kit comes as
the ``hostile`` fixture.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import subprocess
import sys
import threading
import types
import urllib.error
import urllib.request
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote_plus

import pytest
from sandbox.catalog import tiny_png
from sandbox.gateway import GatewayEmulator
from sandbox.shoper import ShoperEmulator
from tapkit.testing import Tampering, singer_lines
from target_gateway.gateway import mint_token

BIN = Path(sys.executable).parent
TAP, TARGET = str(BIN / "tap-shoper"), str(BIN / "target-gateway")

SHOP_GUID = str(uuid.UUID("0c1d2e3f-4a5b-4c6d-8e7f-901a2b3c4d5e"))
KEY_TEXT = "hostile-corpus-signing-key-32by!"
SIGNING_KEY = base64.b64encode(KEY_TEXT.encode()).decode()
SHOPER_PASSWORD = "Tajne-hasło-sklepu-7"
SHOPER_TOKEN = "shoper-static-token-4f9a2c81d0"
#: HS256 over fixed claims is deterministic: this is the bearer token every target run sends
GATEWAY_JWT = mint_token(SHOP_GUID, KEY_TEXT.encode())
PNG = tiny_png((200, 30, 60))

#: (label, text) of everything the corpus showed a user; swept by test_secrets.py
TRANSCRIPTS: list[tuple[str, str]] = []
#: tokens the Shoper emulators issued at /auth during the corpus (secrets too)
ISSUED_TOKENS: set[str] = set()


def secrets() -> list[str]:
    """Every value that must never be printed, logged or written (also as a form would
    encode the password)."""
    return [SIGNING_KEY, KEY_TEXT, GATEWAY_JWT, SHOPER_PASSWORD, quote_plus(SHOPER_PASSWORD),
            SHOPER_TOKEN, *sorted(ISSUED_TOKENS)]


def seen(label: str, *texts: str | None) -> str:
    """Record what a user saw; fail now if it holds a secret. Returns the texts joined."""
    joined = "\n".join(t for t in texts if t)
    for secret in secrets():
        assert secret not in joined, f"{label}: a secret was printed"
    TRANSCRIPTS.append((label, joined))
    return joined


# -- Singer input --------------------------------------------------------------------------
def product(pid: str, name: str = "Kubek Zorza", *, net: str = "100.00", vat: int = 23,
            images: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    """A contract-valid simple product (gross consistent with net)."""
    gross = (Decimal(net) * (100 + vat) / 100).quantize(Decimal("0.01"))
    record = {
        "id": pid, "platform": "shoper", "sku": f"SKU-{pid}", "name": name,
        "description_html": "<p>Opis</p>", "short_description_html": "<p>Krótki opis</p>",
        "language": "pl", "url": None, "brand": None, "categories": [],
        "images": images or [], "vat_rate": vat, "currency": "PLN", "active": True,
        "attributes": {}, "created_at": "2024-01-02T08:00:00+00:00",
        "updated_at": "2024-01-03T08:00:00+00:00",
        "variants": [{"id": pid, "sku": f"SKU-{pid}", "ean": None, "options": [],
                      "price_net": Decimal(net), "price_gross": gross, "stock": Decimal(5),
                      "active": True, "images": [], "weight_kg": None}],
    }
    record.update(extra)
    return record


#: Singer JSONL from ("products", record), ("STATE", value), ("RAW", text): the kit's builder
singer = singer_lines


# -- runners -------------------------------------------------------------------------------
def run_target(folder: Path, name: str, text: str, gateway: GatewayEmulator,
               **settings: Any) -> types.SimpleNamespace:
    """``target-gateway --config`` on ``text``: exit code, stdout, stderr, report, what landed."""
    report = folder / f"{name}-report.json"
    config = folder / f"{name}-target.json"
    config.write_text(json.dumps({
        "api_url": gateway.url, "shop_guid": SHOP_GUID, "signing_key": SIGNING_KEY,
        "retry_backoff_ms": 10, "max_retries": 2, "report_file": str(report), **settings}),
        encoding="utf-8")
    done = subprocess.run([TARGET, "--config", str(config)], input=text, capture_output=True,
                          text=True, timeout=120, check=False)
    document = report.read_text(encoding="utf-8") if report.exists() else ""
    seen(f"target {name}", done.stdout, done.stderr, document)
    products = gateway.products(SHOP_GUID)
    return types.SimpleNamespace(
        code=done.returncode, out=done.stdout, err=done.stderr,
        report=json.loads(document) if document else None, products=products,
        by_id={p["data"]["source"]["product_id"]: p for p in products})


def run_tap_process(command: str, folder: Path, name: str, values: dict[str, Any],
                    forbidden: Iterable[str] = ()) -> types.SimpleNamespace:
    """``<command> --config`` (a tap on PATH beside this Python) with ``values`` (None ones
    left out): exit code, stdout, stderr, records by stream, products by id. What it printed
    goes through :func:`seen`, and none of ``forbidden`` (the case's own secrets) may show."""
    config = folder / f"{name}-tap.json"
    config.write_text(json.dumps({k: v for k, v in values.items() if v is not None}),
                      encoding="utf-8")
    done = subprocess.run([str(BIN / command), "--config", str(config)], capture_output=True,
                          text=True, timeout=120, check=False)
    shown = seen(f"{command} {name}", done.stdout, done.stderr)
    for secret in forbidden:
        assert secret not in shown, f"{name}: a secret was printed"
    records: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in done.stdout.splitlines():
        message = json.loads(line, parse_float=Decimal)
        if message["type"] == "RECORD":
            records[message["stream"]].append(message["record"])
    return types.SimpleNamespace(code=done.returncode, out=done.stdout, err=done.stderr,
                                 records=dict(records),
                                 products={r["id"]: r for r in records.get("products", [])})


def run_tap(folder: Path, name: str, shop: ShoperEmulator, **settings: Any
            ) -> types.SimpleNamespace:
    """``tap-shoper --config`` against ``shop`` (admin login unless told otherwise)."""
    values = {"shop_url": shop.url, "username": "demo", "password": SHOPER_PASSWORD,
              **settings}
    try:
        return run_tap_process("tap-shoper", folder, name, values)
    finally:
        with shop._tokens_lock:
            ISSUED_TOKENS.update(shop._tokens)


# -- emulators and raw servers -------------------------------------------------------------
class HostileShoper(Tampering, ShoperEmulator):
    """The Shoper emulator, with answers to chosen paths replaced (``tamper[regex] =
    f(request, response, n)``, see ``tapkit.testing.Tampering``), knowing the corpus' login."""

    defaults: ClassVar[dict[str, Any]] = {"password": SHOPER_PASSWORD,
                                          "access_token": SHOPER_TOKEN}


class _Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """No access log on the test's stderr."""


class RawServer:
    """A threaded HTTP server on 127.0.0.1 for answers the emulators cannot give."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.server.owner = self  # type: ignore[attr-defined]
        self.hits: list[str] = []
        self.sent: dict[str, int] = defaultdict(int)
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> RawServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class ImageHost(_Quiet):
    """``/ok.png`` a real PNG; ``/page.png`` an HTML page; ``/huge.png`` claims 2 GB;
    ``/endless.png`` streams without a length until the client hangs up."""

    CHUNK = b"\x89PNG" + bytes(64 * 1024 - 4)

    def do_GET(self) -> None:
        """Serve one of the four answers, counting bytes actually sent."""
        owner: RawServer = self.server.owner  # type: ignore[attr-defined]
        with owner.lock:
            owner.hits.append(self.path)
        if self.path == "/ok.png":
            self._send(200, "image/png", PNG)
        elif self.path == "/page.png":
            self._send(200, "text/html; charset=utf-8",
                       b"<html><body><h1>Sklep chwilowo niedost\xc4\x99pny</h1></body></html>")
        elif self.path in ("/huge.png", "/endless.png"):
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            if self.path == "/huge.png":
                self.send_header("Content-Length", str(2 * 1024 ** 3))
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            with contextlib.suppress(OSError):
                for _ in range(2 * 1024 ** 3 // len(self.CHUNK)):  # never more than 2 GB
                    self.wfile.write(self.CHUNK)
                    with owner.lock:
                        owner.sent[self.path] += len(self.CHUNK)
        else:
            self._send(404, "text/plain", b"no such file")

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def cutting_proxy(upstream: str, pattern: str, cuts: int) -> RawServer:
    """A proxy to ``upstream`` that, for the first ``cuts`` requests whose path contains
    ``pattern``, sends the full Content-Length but only half the body, then hangs up."""

    class Cutter(_Quiet):
        def _forward(self) -> None:
            owner: RawServer = self.server.owner  # type: ignore[attr-defined]
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items()
                       if k.lower() in ("authorization", "content-type", "accept",
                                        "user-agent")}
            request = urllib.request.Request(upstream + self.path, data=body, headers=headers,
                                             method=self.command)
            try:
                with urllib.request.urlopen(request, timeout=30) as answer:
                    status, answer_headers, data = answer.status, answer.headers, answer.read()
            except urllib.error.HTTPError as error:
                status, answer_headers, data = error.code, error.headers, error.read()
            with owner.lock:
                owner.hits.append(self.path)
                cut = pattern in self.path and owner.sent[pattern] < cuts
                if cut:
                    owner.sent[pattern] += 1
            self.send_response(status)
            for key, value in answer_headers.items():
                if key.lower() not in ("content-length", "transfer-encoding", "connection",
                                       "date", "server"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if cut:
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(data)

        do_GET = do_POST = _forward  # noqa: N815

    return RawServer(Cutter)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The secrets sweep (test_secrets.py) runs after every other case of the corpus."""
    sweep = [item for item in items if item.get_closest_marker("secrets_sweep")]
    items[:] = [item for item in items if item not in sweep] + sweep


def pytest_configure(config: pytest.Config) -> None:
    """Declare the sweep's marker."""
    config.addinivalue_line("markers", "secrets_sweep: runs after the hostile corpus")


@pytest.fixture(scope="session")
def hostile() -> types.SimpleNamespace:
    """The kit above."""
    return types.SimpleNamespace(
        SHOP_GUID=SHOP_GUID, SIGNING_KEY=SIGNING_KEY, SHOPER_PASSWORD=SHOPER_PASSWORD,
        SHOPER_TOKEN=SHOPER_TOKEN, GATEWAY_JWT=GATEWAY_JWT, KEY_TEXT=KEY_TEXT, PNG=PNG,
        BIN=BIN, ISSUED_TOKENS=ISSUED_TOKENS,
        TRANSCRIPTS=TRANSCRIPTS, secrets=secrets, seen=seen, product=product, singer=singer,
        run_target=run_target, run_tap=run_tap, run_tap_process=run_tap_process,
        HostileShoper=HostileShoper,
        RawServer=RawServer, ImageHost=ImageHost, cutting_proxy=cutting_proxy)


@pytest.fixture
def gateway() -> Iterator[GatewayEmulator]:
    """A fresh Gateway emulator knowing the corpus' shop."""
    with GatewayEmulator({SHOP_GUID: SIGNING_KEY}) as emulator:
        yield emulator
