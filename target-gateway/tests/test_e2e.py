"""End to end over real sockets and a real process: a Singer JSONL stream piped into
``target-gateway`` lands in the Gateway emulator as the record contract says; a second run
writes nothing; with injected 5xx, dropped connections and a rate limit every variant still
lands exactly once."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests
from commerce_schema import jsonio
from commerce_schema.contract import STREAM_KEYS, STREAM_SCHEMAS
from sandbox.catalog import generate_catalog, tiny_png
from sandbox.gateway import DEMO_SHOP_GUID, DEMO_SIGNING_KEY, GatewayEmulator, category_guid
from sandbox.server import Emulator, RateLimit, Response, Switches, route
from target_gateway.prices import net_for_gross

TARGET = str(Path(sys.executable).with_name("target-gateway"))
CATALOG = generate_catalog(12, seed=11)
PRIVATE_PNG = tiny_png((1, 2, 3))
DATA_PNG = tiny_png((4, 5, 6))
UNMAPPED_LEAF = "Garnki"
#: source category name -> Gateway paths; anything else maps to its root's Gateway category.
LEAVES = {"Sukienki": ["Moda>Odzież damska>Sukienki"],
          "Koszulki": ["Moda>Odzież męska>Koszulki", "Moda>Odzież męska"],
          "Kubki i filiżanki": ["Dom>Kuchnia>Kubki"],
          "Witaminy": ["Zdrowie i uroda>Suplementy diety>Witaminy"]}
ROOTS = {"Odzież": "Moda", "Obuwie": "Moda>Obuwie", "Dom i ogród": "Dom",
         "Zdrowie i uroda": "Zdrowie i uroda", "Książki i multimedia": "Kultura i rozrywka"}


class ShopImages(Emulator):
    """The shop's image host: catalog images under /img/, a 'private' one under /private/."""

    name = "shop-images"

    def __init__(self) -> None:
        super().__init__()
        self.files = {image.filename: image.content for image in CATALOG.images()}

    @route("GET", r"/img/(?P<name>[\w.-]+)")
    def image(self, request, name):
        if name not in self.files:
            return Response.json({"error": "no such image"}, 404)
        return Response(200, self.files[name], content_type="image/png")

    @route("GET", r"/private/secret.png")
    def private(self, request):
        return Response(200, PRIVATE_PNG, content_type="image/png")


def gateway_paths(category: dict[str, Any]) -> list[str]:
    if category["name"] == UNMAPPED_LEAF:
        return []
    return LEAVES.get(category["name"], [ROOTS[category["path"][0]]])


def build_stream(images_url: str) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    """(Singer JSONL, the valid product records, the final state)."""
    products = list(CATALOG.product_records(image_url=f"{images_url}/img"))
    multi = next(p for p in products if len(p["variants"]) > 2)
    twin = copy.deepcopy(multi)  # another product that happens to have the same name
    twin["id"], twin["sku"] = "9001", "TWIN-9001"
    for n, variant in enumerate(twin["variants"]):
        variant["id"], variant["sku"] = f"9001-{n}", f"TWIN-{n}"
        variant["images"] = []
    simple = next(p for p in products if len(p["variants"]) == 1)
    private = copy.deepcopy(simple)
    private["id"], private["name"] = "9002", "Produkt ze zdjęciem prywatnym"
    private["variants"][0]["id"] = "9002"
    private["images"] = [{"url": f"{images_url}/private/secret.png", "position": 1,
                          "public": False}]
    inline = copy.deepcopy(simple)
    inline["id"], inline["name"] = "9003", "Produkt ze zdjęciem w bazie"
    inline["variants"][0]["id"] = "9003"
    inline["images"] = [{"url": "data:image/png;base64," + base64.b64encode(DATA_PNG).decode(),
                         "position": 1, "public": False}]
    invalid = copy.deepcopy(simple)
    invalid["id"], invalid["vat_rate"] = "9004", 7
    invalid["variants"][0]["id"] = "9004"
    valid = [*products, twin, private, inline]
    state = {"bookmarks": {"products": {"replication_key": "updated_at",
                                        "replication_key_value": "2026-01-01T00:00:00+00:00"}}}
    stock_for = multi["variants"][0]
    messages: list[tuple[str, Any]] = [("categories", c) for c in CATALOG.category_records()]
    messages += [("products", p) for p in [*valid[:3], invalid, *valid[3:]]]
    messages += [("stock", {"product_id": multi["id"], "variant_id": stock_for["id"],
                            "sku": None, "ean": None, "quantity": stock_for["stock"],
                            "updated_at": None}),
                 ("stock", {"product_id": "404", "variant_id": "404", "sku": None, "ean": None,
                            "quantity": 1, "updated_at": None})]
    lines, seen = [], set()
    for stream, record in messages:
        if stream not in seen:
            seen.add(stream)
            lines.append({"type": "SCHEMA", "stream": stream, "schema": STREAM_SCHEMAS[stream],
                          "key_properties": STREAM_KEYS[stream][0]})
        lines.append({"type": "RECORD", "stream": stream, "record": record})
    lines.append({"type": "STATE", "value": state})
    return "".join(jsonio.dumps(line) + "\n" for line in lines), valid, state


def expected_products(valid: list[dict[str, Any]]) -> dict[tuple[str, str, str], Any]:
    """Source key -> (product record, variant) of every variant that must land."""
    unmapped_ids = {str(c.id) for c in CATALOG.categories if c.name == UNMAPPED_LEAF}
    return {("sandbox", p["id"], v["id"]): (p, v) for p in valid
            if not any(c["id"] in unmapped_ids for c in p["categories"])
            for v in p["variants"]}


@pytest.fixture(scope="module")
def shop_images():
    with ShopImages() as emulator:
        yield emulator


@pytest.fixture(scope="module")
def scenario(shop_images, tmp_path_factory):
    folder = tmp_path_factory.mktemp("e2e")
    text, valid, state = build_stream(shop_images.url)
    mapping = folder / "mapping.csv"
    rows = ["source_id,source_name,gateway_path"]
    for category in CATALOG.category_records():
        paths = gateway_paths(category)
        rows.append(",".join([category["id"], category["name"], *paths]))
    mapping.write_text("\ufeff" + "\n".join(rows) + "\n", encoding="utf-8")  # as Excel saves it
    return {"folder": folder, "text": text, "valid": valid, "state": state,
            "mapping": str(mapping), "expected": expected_products(valid)}


def run_target(scenario: dict[str, Any], gateway: GatewayEmulator, name: str,
               **settings: Any) -> tuple[subprocess.CompletedProcess, dict[str, Any]]:
    config = {"api_url": gateway.url, "shop_guid": DEMO_SHOP_GUID,
              "signing_key": DEMO_SIGNING_KEY, "allow_private_image_hosts": True,
              "category_mapping_file": scenario["mapping"],
              "unmapped_categories": "skip_product", "batch_size": 5, "max_workers": 4,
              "retry_backoff_ms": 20, "report_file": str(scenario["folder"] / f"{name}.json"),
              **settings}
    path = scenario["folder"] / f"{name}-config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    done = subprocess.run([TARGET, "--config", str(path)], input=scenario["text"],
                          capture_output=True, text=True, timeout=180, check=False)
    report = json.loads((scenario["folder"] / f"{name}.json").read_text(encoding="utf-8"))
    return done, report


def landed(gateway: GatewayEmulator) -> Counter:
    return Counter((p["data"]["source"]["platform"], p["data"]["source"]["product_id"],
                    p["data"]["source"]["variant_id"]) for p in gateway.products(DEMO_SHOP_GUID))


def writes(gateway: GatewayEmulator) -> list[str]:
    return [f"{r.method} {r.path}" for r in gateway.requests_to()
            if r.method != "GET" and not r.path.endswith("/_query")]


@pytest.fixture(scope="module")
def gateway():
    with GatewayEmulator() as emulator:
        yield emulator


@pytest.fixture(scope="module")
def first_run(scenario, gateway):
    return run_target(scenario, gateway, "first")


def test_first_run_lands_every_variant_once_as_the_contract_says(scenario, gateway, first_run):
    done, report = first_run
    expected = scenario["expected"]
    assert done.returncode == 3, done.stderr[-3000:]  # partial: one record broke the contract
    assert landed(gateway) == Counter(dict.fromkeys(expected, 1))
    assert done.stdout.splitlines()[-1] == json.dumps(scenario["state"])
    assert report["counts"]["created"] == len(expected)
    assert report["counts"]["failed"] == 0
    assert {"id": "products:9004", "reason": "breaks the record contract: vat_rate: 7 is not a "
            "supported VAT rate (0, 5, 8, 23)"} in report["skipped"]
    skipped_ids = {s["id"] for s in report["skipped"]}
    assert {p["id"] for p, _ in expected.values()}.isdisjoint(skipped_ids)
    assert [c["path"] for c in report["unmapped_categories"]] == [
        "Dom i ogród>Kuchnia>Garnki"]
    assert {"id": "stock:404", "reason": "stock for a variant the Gateway does not have "
            "(import its product first)"} in report["skipped"]
    assert report["stock"]["skipped"] == 1  # a stock record, not a skipped product
    progress = [json.loads(m) for m in re.findall(r"progress (\{.*\})", done.stderr)]
    assert progress[-1]["created"] == len(expected)
    assert set(progress[-1]) == {"records", "created", "updated", "unchanged", "skipped",
                                 "failed", "images"}


def test_products_carry_price_vat_stock_names_and_category_tags(scenario, gateway, first_run):
    by_key = {(p["data"]["source"]["platform"], p["data"]["source"]["product_id"],
               p["data"]["source"]["variant_id"]): p for p in gateway.products(DEMO_SHOP_GUID)}
    categories = {c["id"]: c for c in CATALOG.category_records()}
    for key, (record, variant) in scenario["expected"].items():
        product = by_key[key]
        multi = len(record["variants"]) > 1
        values = ", ".join(o["value"] for o in variant["options"])
        assert product["name"] == (f"{record['name']} - {values}" if multi else record["name"])
        # the net is derived from the gross (the price of record), so the Gateway's own
        # gross is the shop's to the grosz
        assert product["base_price"]["amount"] == net_for_gross(variant["price_gross"],
                                                                record["vat_rate"])
        assert product["vat"] == f"VAT{record['vat_rate']}"
        assert product["price"]["base"]["gross"] == variant["price_gross"]
        assert product["stock_level"] == (None if variant["stock"] is None
                                          else int(variant["stock"]))
        assert product["for_sale"] is (record["active"] and variant["active"])
        assert product["data"]["variants"] == {o["name"]: o["value"]
                                               for o in variant["options"]}
        wanted = []
        for ref in record["categories"]:
            for path in gateway_paths(categories[ref["id"]]):
                if category_guid(path) not in wanted:
                    wanted.append(category_guid(path))
        assert product["tag_guids"][-len(wanted):] == wanted
        assert len(product["tag_guids"]) == len(wanted) + (1 if multi else 0)


def test_each_multi_variant_product_has_its_own_variant_group(scenario, gateway, first_run):
    variant_tags = {t["guid"]: t for t in gateway.tags(DEMO_SHOP_GUID, type="variant")}
    groups: dict[str, set[str]] = {}
    for product in gateway.products(DEMO_SHOP_GUID):
        tags = [g for g in product["tag_guids"] if g in variant_tags]
        assert len(tags) <= 1
        if tags:
            groups.setdefault(tags[0], set()).add(product["data"]["source"]["product_id"])
    assert all(len(owners) == 1 for owners in groups.values())
    multi = {p["id"] for p, _ in scenario["expected"].values() if len(p["variants"]) > 1}
    assert {next(iter(o)) for o in groups.values()} == multi
    name_of = {next(iter(owners)): variant_tags[guid]["name"] for guid, owners in groups.items()}
    twin = next(p for p, _ in scenario["expected"].values() if p["id"] == "9001")
    original = next(p for p, _ in scenario["expected"].values()
                    if p["name"] == twin["name"] and p["id"] != "9001")
    assert name_of[original["id"]] == twin["name"]
    assert name_of["9001"] == f"{twin['name']} (TWIN-9001)"


def test_images_are_in_the_gateway_bucket_in_display_order(scenario, gateway, shop_images,
                                                           first_run):
    by_key = {(p["data"]["source"]["platform"], p["data"]["source"]["product_id"],
               p["data"]["source"]["variant_id"]): p for p in gateway.products(DEMO_SHOP_GUID)}
    files = {**shop_images.files, "secret.png": PRIVATE_PNG}
    for key, (record, variant) in scenario["expected"].items():
        sources = [i["url"] for i in record["images"]] + [i["url"] for i in variant["images"]]
        expected = [DATA_PNG if url.startswith("data:") else files[url.rsplit("/", 1)[-1]]
                    for url in dict.fromkeys(sources)]
        urls = by_key[key]["images"]
        assert all(url.startswith(f"{gateway.url}/bucket/{DEMO_SHOP_GUID}/") for url in urls)
        assert [requests.get(url, timeout=5).content for url in urls] == expected
    assert not any("/private/" in url for url in gateway.downloads)  # uploaded, not copied
    keys = {entry["key"] for entry in gateway.state()["bucket"]}
    for content in (PRIVATE_PNG, DATA_PNG):
        assert f"{DEMO_SHOP_GUID}/{hashlib.sha1(content).hexdigest()}.png" in keys  # noqa: S324
    uploads = gateway.requests_to("POST", r"^/uploads/$")
    assert len(uploads) == 2


def test_a_second_run_writes_nothing(scenario, gateway, first_run):
    gateway.clear_requests()
    done, report = run_target(scenario, gateway, "second")
    assert done.returncode == 3, done.stderr[-3000:]
    assert writes(gateway) == []
    assert report["counts"]["unchanged"] == len(scenario["expected"])
    assert report["stock"] == {"updated": 0, "unchanged": 1, "skipped": 1}
    assert report["counts"]["created"] == report["counts"]["updated"] == 0
    assert report["images"] == {"copied": 0, "uploaded": 0, "reused": 0, "hotlinked": 0}
    assert landed(gateway) == Counter(dict.fromkeys(scenario["expected"], 1))
    assert done.stdout.splitlines()[-1] == json.dumps(scenario["state"])


class EveryNth(RateLimit):
    """A throttle that refuses every ``n``-th request (429, Retry-After 1): as many refusals
    on a slow machine as on a fast one, unlike a leaky bucket."""

    def __init__(self, n: int) -> None:
        super().__init__(capacity=1, leak_per_second=1)
        self.n, self.calls = n, 0

    def acquire(self) -> tuple[bool, float, float]:
        with self._lock:
            self.calls += 1
            if self.calls % self.n:
                return True, 0.0, 0.0
            self.refused += 1
            return False, 1.0, 0.5


def test_faults_and_a_rate_limit_still_land_every_variant_exactly_once(scenario):
    switches = Switches(error_rate=0.1, drop_rate=0.03, seed=5, rate_limit=EveryNth(9))
    with GatewayEmulator(switches=switches) as gateway:
        done, report = run_target(scenario, gateway, "faults", max_retries=12)
        logged = gateway.requests_to()
        faults = Counter(switches.fault_for(n, r.path) for n, r in enumerate(logged, start=1))
    assert done.returncode == 3, done.stderr[-3000:]
    assert landed(gateway) == Counter(dict.fromkeys(scenario["expected"], 1))
    assert report["counts"]["created"] == len(scenario["expected"])
    assert report["failed"] == []
    assert faults["error"] > 0
    assert faults["drop"] > 0
    assert switches.rate_limit.refused > 0
    assert re.search(r"retry \d+/12 in 1\.00 s: .* answered 429", done.stderr)  # Retry-After


def test_a_bad_key_stops_the_process_with_a_clear_message_and_no_secret(tmp_path):
    key = "tajny+klucz*sklepu"
    report = tmp_path / "report.json"
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"shop_guid": DEMO_SHOP_GUID, "signing_key": key,
                                  "api_url": "http://127.0.0.1:9", "report_file": str(report)}))
    done = subprocess.run([TARGET, "--config", str(config)], input="", capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert "signing_key is not valid base64" in done.stderr
    assert key not in done.stderr + done.stdout + report.read_text()
    assert json.loads(report.read_text())["status"] == "failed"


def test_sigterm_stops_at_once_without_state(scenario):
    with GatewayEmulator(switches=Switches(latency=0.2)) as gateway:
        config = scenario["folder"] / "sigterm-config.json"
        report = scenario["folder"] / "sigterm.json"
        config.write_text(json.dumps({
            "api_url": gateway.url, "shop_guid": DEMO_SHOP_GUID,
            "signing_key": DEMO_SIGNING_KEY, "allow_private_image_hosts": True,
            "report_file": str(report)}), encoding="utf-8")
        stream = scenario["folder"] / "stream.jsonl"
        stream.write_text(scenario["text"], encoding="utf-8")
        with stream.open(encoding="utf-8") as stdin:
            process = subprocess.Popen([TARGET, "--config", str(config)], stdin=stdin,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       text=True)
        try:
            deadline = time.monotonic() + 30
            while not gateway.requests_to("POST", r"/downloads/") and \
                    time.monotonic() < deadline:
                time.sleep(0.05)
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert process.returncode == 128 + signal.SIGTERM
    assert out == ""  # no STATE: nothing read after the start is assumed written
    assert "target-gateway: failed" in err
    assert json.loads(report.read_text())["error"].startswith("interrupted by signal 15")
