"""Peak memory of ``target-gateway`` re-reading a 100,000-variant shop (issue 10). Prints figures.

The target reads the whole index of what the shop already has in the Gateway at the start of
every run; this measures what that costs on a big shop:

1. generate contract ``products`` records: product i has (i mod 5) + 1 variants (3 on
   average, about the sandbox catalog's 2.9), one product image and one image of the first
   variant, Polish names and HTML descriptions, until ``--variants`` variants;
2. seed a Gateway emulator (latency 0) with exactly what a first run would have written, by
   planning each record with the target's own pure planner and storing the items directly
   (``GatewayEmulator.seed_products``: seconds, instead of 2,000 create calls and 200,000
   image copies);
3. run the real ``target-gateway`` process over the same records (an unchanged re-run: it
   must read the whole index, and writes nothing), under a small launcher that reports the
   child's peak RSS (``ru_maxrss`` from ``wait4``; see bench/RESULTS.md "Method notes" for why
   not from this big process directly).

    .venv/bin/python bench/index_memory.py                 # 100,000 variants
    .venv/bin/python bench/index_memory.py --variants 10000
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from commerce_schema import jsonio
from commerce_schema.contract import STREAM_KEYS, STREAM_SCHEMAS
from sandbox.gateway import DEMO_SHOP_GUID, DEMO_SIGNING_KEY, GatewayEmulator
from target_gateway.categories import SourceCategories
from target_gateway.gateway import product_item
from target_gateway.planner import Planner
from target_gateway.settings import Settings
from target_gateway.tags import VariantTags

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / ".venv" / "bin" / "target-gateway"
COLOURS = ["czarny", "biały", "zielony", "czerwony", "granatowy"]
WORDS = ["Kubek", "Świeca", "Koszulka", "Botki", "Herbata", "Poduszka", "Doniczka", "Nóż"]
#: launcher between this (big) process and the target: it reports the target's own peak RSS
LAUNCHER = ("import os,sys\npid=os.posix_spawn(sys.argv[2],sys.argv[2:],os.environ)\n"
            "_,status,usage=os.wait4(pid,0)\nprint(usage.ru_maxrss,file=open(sys.argv[1],'w'))\n"
            "sys.exit(os.waitstatus_to_exitcode(status)&0xFF)\n")


def records(variants: int) -> Iterator[dict[str, Any]]:
    """Contract product records with ``variants`` variants in all."""
    made, pid = 0, 0
    while made < variants:
        pid += 1
        count = min(pid % 5 + 1, variants - made)
        name = f"{WORDS[pid % len(WORDS)]} {pid} zażółć gęślą jaźń"
        yield {
            "id": str(pid), "platform": "shoper", "sku": f"SKU-{pid}", "name": name,
            "description_html": f"<p>Opis produktu <b>{name}</b>. " + "Ładny, trwały. " * 12
                                + "</p>",
            "short_description_html": f"<p>{name} – krótko</p>", "language": "pl",
            "url": f"https://sklep.example/p/{pid}", "brand": None, "categories": [],
            "images": [{"url": f"https://sklep.example/img/{pid}.jpg", "position": 1,
                        "public": True}],
            "vat_rate": 23, "currency": "PLN", "active": True, "attributes": {},
            "created_at": "2024-01-02T08:00:00+00:00", "updated_at": "2024-01-03T08:00:00+00:00",
            "variants": [{
                "id": str(pid) if count == 1 else f"{pid}-{n}", "sku": f"SKU-{pid}-{n}",
                "ean": None, "options": [] if count == 1 else
                [{"name": "Kolor", "value": COLOURS[n]}],
                "price_net": Decimal(100 + pid % 900) + Decimal("0.99"),
                "price_gross": ((Decimal(100 + pid % 900) + Decimal("0.99")) * Decimal("1.23")
                                ).quantize(Decimal("0.01")),
                "stock": Decimal(n + 1), "active": True, "weight_kg": None,
                "images": [{"url": f"https://sklep.example/img/{pid}-{n}.jpg", "position": 1,
                            "public": True}] if n == 0 and count > 1 else []}
                for n in range(count)]}
        made += count


def seed(gateway: GatewayEmulator, settings: Settings, variants: int) -> int:
    """Store what a first run would have written (see the module docstring)."""
    planner = Planner(settings, _Empty(), VariantTags(), SourceCategories())
    bucket = f"{gateway.url}/bucket/{DEMO_SHOP_GUID}"
    items = []
    for record in records(variants):
        plan = planner.plan(record).plan
        assert plan is not None
        tag = gateway.seed_tag(DEMO_SHOP_GUID, str(plan.tag_name)) if plan.multi else None
        for variant in plan.variants:
            draft = variant.draft
            urls = tuple(f"{bucket}/dl-{hashlib.sha1(ref.encode()).hexdigest()}.bin"  # noqa: S324
                         for ref in draft.image_sources)
            items.append(product_item(dataclasses.replace(
                draft, images=urls, tag_guids=((tag,) if tag else ()) + draft.tag_guids)))
    return gateway.seed_products(DEMO_SHOP_GUID, items)


class _Empty:
    """An empty index: the first run's view."""

    def get(self, key: Any) -> None:
        return None

    def group_tag_guids(self, group: Any) -> list[tuple[str, ...]]:
        return []


def singer_file(path: Path, variants: int) -> int:
    """The records as the Singer input of the target; how many records."""
    count = 0
    with path.open("w", encoding="utf-8") as out:
        out.write(jsonio.dumps({"type": "SCHEMA", "stream": "products",
                                "schema": STREAM_SCHEMAS["products"],
                                "key_properties": STREAM_KEYS["products"][0]}) + "\n")
        for record in records(variants):
            out.write(jsonio.dumps({"type": "RECORD", "stream": "products",
                                    "record": record}) + "\n")
            count += 1
        out.write(json.dumps({"type": "STATE", "value": {"bench": variants}}) + "\n")
    return count


def main(argv: list[str] | None = None) -> int:
    """Seed, run, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variants", type=int, default=100_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-index-") as folder, \
            GatewayEmulator(fetch_downloads=False) as gateway:
        work = Path(folder)
        config = {"api_url": gateway.url, "shop_guid": DEMO_SHOP_GUID,
                  "signing_key": DEMO_SIGNING_KEY, "report_file": str(work / "report.json")}
        settings = Settings.from_config(config)
        started = time.monotonic()
        seeded = seed(gateway, settings, args.variants)
        lines = singer_file(work / "input.singer", args.variants)
        print(f"seeded {seeded:,} Gateway products, wrote {lines:,} records "
              f"({time.monotonic() - started:.1f} s)", flush=True)
        (work / "config.json").write_text(json.dumps(config))
        before = len(gateway.requests_to())
        started = time.monotonic()
        with (work / "input.singer").open("rb") as stdin, \
                (work / "target.err").open("wb") as stderr:
            done = subprocess.run(
                [sys.executable, "-S", "-c", LAUNCHER, str(work / "rss"), str(TARGET),
                 "--config", str(work / "config.json")],
                stdin=stdin, stdout=subprocess.PIPE, stderr=stderr, check=False)
        wall = time.monotonic() - started
        rss_mib = int((work / "rss").read_text()) / 1024
        report = json.loads((work / "report.json").read_text())
        requests = gateway.requests_to()[before:]
        writes = [r for r in requests
                  if r.method != "GET" and not r.path.endswith("/_query")]
        print(f"target exit {done.returncode}, status {report['status']}, counts "
              f"{report['counts']}, STATE lines {len(done.stdout.splitlines())}")
        print(f"Gateway requests: {len(requests):,} ({len(writes)} writes)")
        print(f"variants {seeded:,}: target peak RSS {rss_mib:.0f} MiB "
              f"({rss_mib * 1.048576:.0f} MB), wall {wall:.1f} s")
        if done.returncode != 0:
            print((work / "target.err").read_text()[-3000:], file=sys.stderr)
        return done.returncode


if __name__ == "__main__":
    sys.exit(main())
