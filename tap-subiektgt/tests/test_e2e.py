"""End to end: ``tap-subiektgt | target-gateway`` as two processes joined by an OS pipe, from
a generated Subiekt GT database into the Gateway emulator, photos through the presigned
upload flow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sandbox.gateway import DEMO_SHOP_GUID, DEMO_SIGNING_KEY, GatewayEmulator
from sandbox.subiektgt import create, expected_products

BIN = Path(sys.executable).parent
TAP, TARGET = BIN / "tap-subiektgt", BIN / "target-gateway"


def write_config(path: Path, values: dict) -> Path:
    path.write_text(json.dumps(values))
    path.chmod(0o600)
    return path


def pipeline(tap_config: Path, target_config: Path, logs: Path) -> None:
    """Run the tap into the target through a pipe; both must exit 0."""
    read_end, write_end = os.pipe()
    with (logs / "tap.err").open("ab") as tap_err, (logs / "target.err").open("ab") as tgt_err:
        tap = subprocess.Popen([str(TAP), "--config", str(tap_config)], stdout=write_end,
                               stderr=tap_err)
        os.close(write_end)
        target = subprocess.Popen([str(TARGET), "--config", str(target_config)],
                                  stdin=read_end, stdout=subprocess.DEVNULL, stderr=tgt_err)
        os.close(read_end)
        tap_code, target_code = tap.wait(timeout=120), target.wait(timeout=120)
    assert (tap_code, target_code) == (0, 0), (logs / "tap.err").read_text()[-3000:] + \
        (logs / "target.err").read_text()[-3000:]


def gateway_writes(gateway: GatewayEmulator) -> list[str]:
    """Requests that change the Gateway (the product query is a read sent as POST)."""
    return [f"{r.method} {r.path}" for r in gateway.requests_to()
            if r.method in {"POST", "PUT", "DELETE", "PATCH"} and not r.path.endswith("/_query")]


def test_subiekt_to_gateway_and_a_second_run_writes_nothing(tmp_path):
    database = tmp_path / "subiekt.sqlite"
    catalog = create(database, n_products=20, seed=42)
    expected = expected_products(catalog)
    with GatewayEmulator() as gateway:
        tap_config = write_config(tmp_path / "tap.json", {
            "sqlalchemy_url": f"sqlite:///{database}",
            "warehouse_ids": [1, 2], "variant_option_names": ["Rozmiar"]})
        target_config = write_config(tmp_path / "target.json", {
            "api_url": gateway.url, "shop_guid": DEMO_SHOP_GUID,
            "signing_key": DEMO_SIGNING_KEY, "report_file": str(tmp_path / "report.json")})
        pipeline(tap_config, target_config, tmp_path)
        report = json.loads((tmp_path / "report.json").read_text())
        assert report["status"] == "ok", report

        products = gateway.products(DEMO_SHOP_GUID)
        by_source = {(p["data"]["source"]["product_id"], p["data"]["source"]["variant_id"]): p
                     for p in products}
        wanted = {(pid, vid) for pid, p in expected.items() for vid in p["variants"]}
        assert set(by_source) == wanted  # every variant is one Gateway product, nothing else
        variant_tags = {t["guid"] for t in gateway.tags(DEMO_SHOP_GUID, type="variant")}
        for (pid, vid), made in by_source.items():
            product, variant = expected[pid], expected[pid]["variants"][vid]
            assert made["data"]["source"]["platform"] == "subiektgt"
            assert made["vat"] == f"VAT{product['vat_rate']}"
            # the marketplace shows the gross Subiekt stores at the chosen level, to the grosz
            assert str(made["price"]["base"]["gross"]) == str(variant["price_gross"])
            assert made["data"]["variants"] == {o["name"]: o["value"]
                                                for o in variant["options"]}
            tags = [g for g in made["tag_guids"] if g in variant_tags]
            assert len(tags) == (1 if len(product["variants"]) > 1 else 0), made
            # photos uploaded into the Gateway's bucket: the product's, then the variant's own
            assert len(made["images"]) == product["image_count"] + variant["image_count"]
            assert all(url.startswith(f"{gateway.url}/bucket/") for url in made["images"])
        uploads = [r for r in gateway.requests_to() if r.path.rstrip("/") == "/uploads"]
        assert uploads  # the presigned flow, not a download by URL
        assert not [r for r in gateway.requests_to() if r.path.rstrip("/") == "/downloads"]

        # a second run reads everything again (no timestamps) and writes nothing
        before = {p["guid"]: p["updated"] for p in gateway.products(DEMO_SHOP_GUID)}
        gateway.clear_requests()
        pipeline(tap_config, target_config, tmp_path)
        assert gateway_writes(gateway) == []
        assert {p["guid"]: p["updated"] for p in gateway.products(DEMO_SHOP_GUID)} == before
        second = json.loads((tmp_path / "report.json").read_text())
        assert second["counts"]["created"] == second["counts"]["updated"] == 0
