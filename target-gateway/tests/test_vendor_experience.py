"""What a vendor and an operator see (issue 12), through the real ``target-gateway`` command
against the Gateway emulator: prices to the grosz, one bad variant skipped alone, currencies,
archive and restore of what the shop no longer sells, unknown settings, honest summaries,
the mapping template left alone once a person edited it."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from commerce_schema import jsonio
from commerce_schema.contract import STREAM_KEYS, STREAM_SCHEMAS
from sandbox.catalog import generate_catalog
from sandbox.gateway import DEMO_SHOP_GUID, DEMO_SIGNING_KEY, GatewayEmulator
from target_gateway.prices import gateway_gross, net_for_gross

TARGET = str(Path(sys.executable).with_name("target-gateway"))
HARD_GROSS = ("0.01", "0.99", "158.00", "9999.99")
RATES = (23, 8, 5, 0)


def stream(*messages: tuple[str, Any]) -> str:
    """Singer JSONL: (stream, record) pairs, ("STATE", value) for a STATE."""
    lines, seen = [], set()
    for kind, payload in messages:
        if kind == "STATE":
            lines.append({"type": "STATE", "value": payload})
            continue
        if kind not in seen:
            seen.add(kind)
            lines.append({"type": "SCHEMA", "stream": kind, "schema": STREAM_SCHEMAS[kind],
                          "key_properties": STREAM_KEYS[kind][0]})
        lines.append({"type": "RECORD", "stream": kind, "record": payload})
    return "".join(jsonio.dumps(line) + "\n" for line in lines)


def without_images(record: dict[str, Any]) -> dict[str, Any]:
    record = copy.deepcopy(record)
    record["images"] = []
    for variant in record["variants"]:
        variant["images"] = []
    return record


def stock_of(records: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """The full stock sweep of these products (what every tap's stock stream is)."""
    return [("stock", {"product_id": p["id"], "variant_id": v["id"], "sku": v.get("sku"),
                       "ean": None, "quantity": v["stock"], "updated_at": None})
            for p in records for v in p["variants"]]


def sweep(records: list[dict[str, Any]], state: int = 1) -> str:
    """A complete run: products, then the stock sweep, then the tap's STATE."""
    return stream(*[("products", r) for r in records], *stock_of(records), ("STATE", {"n": state}))


def simple(pid: str, gross: str = "123.00", vat: int = 23, **extra: Any) -> dict[str, Any]:
    net = (Decimal(gross) * 100 / (100 + vat)).quantize(Decimal("0.01"))
    record = {"id": pid, "platform": "sandbox", "sku": f"S-{pid}", "name": f"Produkt {pid}",
              "description_html": "<p>Opis</p>", "short_description_html": None,
              "language": "pl", "url": None, "brand": None, "categories": [], "images": [],
              "vat_rate": vat, "currency": "PLN", "active": True, "attributes": {},
              "created_at": "2024-01-02T08:00:00+00:00",
              "updated_at": "2024-01-03T08:00:00+00:00",
              "variants": [{"id": pid, "sku": f"S-{pid}", "ean": None, "options": [],
                            "price_net": net, "price_gross": Decimal(gross),
                            "stock": Decimal(3), "active": True, "images": [],
                            "weight_kg": None}]}
    record.update(extra)
    return record


def sizes(pid: str, names: tuple[str, ...] = ("38", "39", "40")) -> dict[str, Any]:
    record = simple(pid, "158.00")
    base = record["variants"][0]
    record["variants"] = [{**base, "id": f"{pid}-{s}", "sku": f"B-{s}",
                           "options": [{"name": "Rozmiar", "value": s}]} for s in names]
    return record


class Run:
    """One ``target-gateway`` process: its exit code, stderr, stdout and report."""

    def __init__(self, folder: Path, gateway: GatewayEmulator, text: str,
                 **settings: Any) -> None:
        n = len(list(folder.glob("config-*.json")))
        report = folder / f"report-{n}.json"
        config = {"api_url": gateway.url, "shop_guid": DEMO_SHOP_GUID,
                  "signing_key": DEMO_SIGNING_KEY, "retry_backoff_ms": 10,
                  "report_file": str(report), **settings}
        path = folder / f"config-{n}.json"
        path.write_text(json.dumps(config), encoding="utf-8")
        done = subprocess.run([TARGET, "--config", str(path)], input=text,
                              capture_output=True, text=True, timeout=120, check=False)
        self.code, self.err, self.out = done.returncode, done.stderr, done.stdout
        self.report = (json.loads(report.read_text(encoding="utf-8"))
                       if report.exists() else {})


def live(gateway: GatewayEmulator) -> Counter:
    return Counter((p["data"]["source"]["product_id"], p["data"]["source"]["variant_id"])
                   for p in gateway.products(DEMO_SHOP_GUID))


def writes(gateway: GatewayEmulator) -> list[str]:
    return [f"{r.method} {r.path}" for r in gateway.requests_to()
            if r.method != "GET" and not r.path.endswith("/_query")]


@pytest.fixture
def gateway():
    with GatewayEmulator() as emulator:
        yield emulator


# -- prices ----------------------------------------------------------------------------------
def test_net_for_gross_gives_every_hard_gross_back_at_every_rate():
    for gross in map(Decimal, HARD_GROSS):
        for rate in RATES:
            net = net_for_gross(gross, rate)
            assert gateway_gross(net, rate) == gross, (gross, rate, net)
            assert -net.as_tuple().exponent <= 4  # type: ignore[operator]
    assert net_for_gross(Decimal("158.00"), 23) == Decimal("128.455")  # 128.46 shows 158.01
    assert net_for_gross(Decimal("123.00"), 23) == Decimal("100.00")  # 2 places kept


def test_the_gateway_shows_the_shops_gross_for_all_214_demo_variants_and_hard_prices(
        gateway, tmp_path):
    records = [without_images(r) for r in generate_catalog(60, seed=42).product_records()]
    variants = {(p["id"], v["id"]): v["price_gross"] for p in records for v in p["variants"]}
    assert len(variants) == 214
    # what a 2-decimal net did: 45 variants shown one grosz off (so this test can fail)
    off = [key for p in records for v in p["variants"] for key in [(p["id"], v["id"])]
           if gateway_gross(v["price_net"], p["vat_rate"]) != v["price_gross"]]
    assert len(off) == 45
    hard = [simple(f"h{n}", gross, vat) for n, (gross, vat) in
            enumerate((g, r) for g in HARD_GROSS for r in RATES)]
    variants.update({(p["id"], p["id"]): Decimal(p["variants"][0]["price_gross"])
                     for p in hard})
    run = Run(tmp_path, gateway, stream(*[("products", r) for r in [*records, *hard]]))
    assert run.code == 0, run.err[-2000:]
    shown = {(p["data"]["source"]["product_id"], p["data"]["source"]["variant_id"]):
             p["price"]["base"]["gross"] for p in gateway.products(DEMO_SHOP_GUID)}
    assert shown == variants  # every gross to the grosz, 214 + 16 hard ones


def test_a_variant_whose_prices_disagree_is_skipped_alone(gateway, tmp_path):
    shoe = sizes("7")
    shoe["variants"][1]["price_gross"] = Decimal("170.00")  # net 128.46 at 23% is 158.01
    run = Run(tmp_path, gateway, stream(("products", shoe)))
    assert run.code == 3, run.err[-2000:]  # partial: one variant broke the contract
    assert live(gateway) == Counter({("7", "7-38"): 1, ("7", "7-40"): 1})
    names = sorted(p["name"] for p in gateway.products(DEMO_SHOP_GUID))
    assert names == ["Produkt 7 - 38", "Produkt 7 - 40"]  # still variants of one product
    (skipped,) = run.report["skipped"]
    assert skipped["id"] == "products:7/7-39"
    assert "variants[1].price_gross" in skipped["reason"]
    assert run.report["counts"]["created"] == 2


# -- currency --------------------------------------------------------------------------------
def test_a_product_in_another_currency_is_refused_by_name_or_converted_at_a_set_rate(
        gateway, tmp_path):
    euro = simple("5", "10.00", currency="EUR")
    run = Run(tmp_path, gateway, stream(("products", euro), ("products", simple("6"))))
    assert run.code == 3, run.err[-2000:]
    assert live(gateway) == Counter({("6", "6"): 1})  # never stored as "zł"
    (failed,) = run.report["failed"]
    assert failed["id"] == "5"
    assert "its prices are in EUR, not PLN" in failed["reason"]
    assert "currency_rates" in failed["reason"]

    run = Run(tmp_path, gateway, stream(("products", euro)), currency_rates={"EUR": "4.30"})
    assert run.code == 0, run.err[-2000:]
    (product,) = [p for p in gateway.products(DEMO_SHOP_GUID) if p["sku"] == "S-5"]
    assert product["price"]["base"]["gross"] == Decimal("43.00")
    assert run.report["currency_rates"] == {"EUR": {"rate": "4.30", "products": 1}}
    assert "1 products in EUR converted to PLN at 4.30" in run.err


# -- archive and restore ---------------------------------------------------------------------
def catalog() -> list[dict[str, Any]]:
    return [simple(str(n)) for n in range(1, 11)] + [sizes("20")]  # 13 variants


def test_what_the_shop_no_longer_sells_is_archived_and_restored_when_back(gateway, tmp_path):
    full = catalog()
    first = Run(tmp_path, gateway, sweep(full))
    assert first.code == 0, first.err[-2000:]
    assert first.report["archive"] == {"archived": 0, "restored": 0, "not_done": None}

    smaller = copy.deepcopy(full)
    del smaller[3]  # product 4 deleted in the shop
    smaller[-1]["variants"].pop(1)  # size 39 deleted
    smaller[0]["active"] = False  # product 1 switched off: not for sale, not archived
    second = Run(tmp_path, gateway, sweep(smaller, 2))
    assert second.code == 0, second.err[-2000:]
    assert second.report["archive"]["archived"] == 2
    assert "archived 2; back in the shop: restored 0" in second.err
    assert ("4", "4") not in live(gateway)
    assert ("20", "20-39") not in live(gateway)
    switched_off = [p for p in gateway.products(DEMO_SHOP_GUID) if p["sku"] == "S-1"]
    assert [p["for_sale"] for p in switched_off] == [False]
    assert second.out.splitlines()[-1] == json.dumps({"n": 2})

    third = Run(tmp_path, gateway, sweep(full, 3))
    assert third.code == 0, third.err[-2000:]
    assert third.report["archive"] == {"archived": 0, "restored": 2, "not_done": None}
    assert live(gateway) == Counter(dict.fromkeys(
        [(p["id"], v["id"]) for p in full for v in p["variants"]], 1))
    everything = gateway.products(DEMO_SHOP_GUID, include_archived=True)
    assert len(everything) == 13  # restored at their old guids, never created twice


def test_an_empty_or_partial_catalog_never_empties_the_shop(gateway, tmp_path):
    full = catalog()
    assert Run(tmp_path, gateway, sweep(full)).code == 0
    gateway.clear_requests()
    # a tap bug: one product and its stock only
    run = Run(tmp_path, gateway, sweep(full[:1], 2))
    assert run.code == 3, run.err[-2000:]  # partial: an archive was due and held back
    assert "12 of the shop's 13 Gateway products (92%)" in run.err
    assert "confirm_mass_archive" in run.report["archive"]["not_done"]
    assert writes(gateway) == []
    assert len(live(gateway)) == 13

    # the stock sweep did not come to its end (no STATE after it): nothing is archived
    broken = stream(*[("products", r) for r in full[:1]], *stock_of(full[:1]))
    run = Run(tmp_path, gateway, broken)
    assert "the stock stream did not come to its end" in run.report["archive"]["not_done"]
    assert len(live(gateway)) == 13

    # a record that broke the contract makes the run partial: nothing is archived
    bad = simple("99", vat_rate=7)
    run = Run(tmp_path, gateway, sweep([*full[:1], bad], 3), confirm_mass_archive=True)
    assert run.code == 3
    assert "broke the record contract" in run.report["archive"]["not_done"]
    assert len(live(gateway)) == 13

    # the operator confirms: now the run may archive that much
    run = Run(tmp_path, gateway, sweep(full[:1], 4), confirm_mass_archive=True)
    assert run.code == 0, run.err[-2000:]
    assert run.report["archive"]["archived"] == 12
    assert live(gateway) == Counter({("1", "1"): 1})


def test_a_dry_run_says_would_everywhere_and_writes_nothing(gateway, tmp_path):
    run = Run(tmp_path, gateway, sweep(catalog()), dry_run=True)
    assert run.code == 0, run.err[-2000:]
    assert writes(gateway) == []
    assert run.report["dry_run"] is True
    assert run.report["counts"]["created"] == 13
    assert "Gateway products: would create 13, would update 0" in run.err
    assert "(dry run: nothing was written)" in run.err
    assert run.report["stock"] == {"updated": 0, "unchanged": 13, "skipped": 0}


def test_the_summary_adds_up_and_a_run_writing_nothing_says_so(gateway, tmp_path):
    records = catalog()
    first = Run(tmp_path, gateway, sweep(records))
    assert first.report["counts"]["skipped"] == 0  # stock records are not skipped products
    assert first.report["stock"] == {"updated": 0, "unchanged": 13, "skipped": 0}
    assert "nothing was written" not in first.err
    second = Run(tmp_path, gateway, sweep(records, 2))
    assert second.report["counts"]["unchanged"] == 13
    assert "  nothing was written to the Gateway" in second.err


# -- settings --------------------------------------------------------------------------------
def test_an_unknown_setting_stops_before_anything_is_written(gateway, tmp_path):
    run = Run(tmp_path, gateway, sweep(catalog()), dryrun=True)
    assert run.code == 1
    assert "dryrun: unknown setting; did you mean dry_run?" in run.err
    assert gateway.requests_to() == []
    assert DEMO_SIGNING_KEY not in run.err
    # singer-sdk's own settings and tool-private names stay accepted
    run = Run(tmp_path, gateway, sweep(catalog()), batch_size_rows=10, stream_maps={},
              _meltano_extra="x", load_method="upsert")
    assert run.code == 0, run.err[-2000:]


# -- the mapping template --------------------------------------------------------------------
def test_an_edited_template_is_never_overwritten_and_nothing_in_writes_nothing(gateway,
                                                                              tmp_path):
    template = tmp_path / "mapping.csv"
    category = {"id": "12", "name": "Sukienki", "parent_id": None, "path": ["Sukienki"]}
    text = stream(("categories", category), ("products", simple("1", categories=[
        {"id": "12", "name": "Sukienki", "path": ["Sukienki"]}])))
    run = Run(tmp_path, gateway, "", category_mapping_template=str(template))
    assert not template.exists()  # nothing came through (a failed tap): nothing written
    run = Run(tmp_path, gateway, text, category_mapping_template=str(template))
    assert run.code == 0, run.err[-2000:]
    assert "12,Sukienki," in template.read_text(encoding="utf-8")
    run = Run(tmp_path, gateway, text, category_mapping_template=str(template))
    assert run.report["mapping_template"] == str(template)  # unchanged since: rewritten
    template.write_text("source_id,source_name,gateway_path\n12,Sukienki,Moda\n",
                        encoding="utf-8")
    run = Run(tmp_path, gateway, "", category_mapping_template=str(template))
    run = Run(tmp_path, gateway, text, category_mapping_template=str(template))
    assert template.read_text(encoding="utf-8").endswith("12,Sukienki,Moda\n")
    assert "was edited since target-gateway wrote it" in run.err
