"""``target-gateway --config target.json --preflight`` against the Gateway emulator: one line
per check, the guesses of docs/gateway-api.md confirmed or contradicted, nothing written, and
exit 1 when the Gateway answers differently than the target assumes."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from sandbox.gateway import DEMO_SHOP_GUID, DEMO_SIGNING_KEY, GatewayEmulator
from target_gateway.gateway import ProductDraft, product_item
from target_gateway.prices import net_for_gross

TARGET = str(Path(sys.executable).with_name("target-gateway"))


def seed(gateway: GatewayEmulator, n: int) -> None:
    """``n`` products as the target writes them (158.00 zł at 23%: the hard price)."""
    gateway.seed_products(DEMO_SHOP_GUID, [product_item(ProductDraft(
        name=f"Produkt {i}", desc="", brief="", sku=f"S-{i}", vat_rate=23,
        net_price=net_for_gross(Decimal("158.00"), 23), for_sale=True, stock_level=1,
        images=(), tag_guids=(), source={"platform": "sandbox", "product_id": str(i),
                                         "variant_id": str(i)})) for i in range(n)])


def preflight(gateway: GatewayEmulator, tmp_path: Path, **settings: object
              ) -> tuple[int, str]:
    config = tmp_path / "target.json"
    config.write_text(json.dumps({"api_url": gateway.url, "shop_guid": DEMO_SHOP_GUID,
                                  "signing_key": DEMO_SIGNING_KEY, **settings}),
                      encoding="utf-8")
    done = subprocess.run([TARGET, "--config", str(config), "--preflight"], input="",
                          capture_output=True, text=True, timeout=60, check=False)
    return done.returncode, done.stderr + done.stdout


def written(gateway: GatewayEmulator) -> list[str]:
    """Requests that could change something: anything but GET, the query and the presign."""
    return [f"{r.method} {r.path}" for r in gateway.requests_to()
            if r.method != "GET" and not r.path.endswith("/_query") and r.path != "/uploads/"]


@pytest.fixture
def gateway():
    with GatewayEmulator() as emulator:
        yield emulator


def test_every_check_passes_and_every_guess_is_confirmed_without_a_write(gateway, tmp_path):
    seed(gateway, 5)
    before = gateway.state()
    code, out = preflight(gateway, tmp_path)
    assert code == 0, out
    for line in ("ok   token: the Gateway accepted the shop's token",
                 f"ok   shop: shop {DEMO_SHOP_GUID} exists",
                 "ok   categories: the category tree can be read",
                 "ok   product query:", "ok   query paging: size 2 honoured and search_after "
                 "advances", "ok   tag routes:", "ok   upload route:",
                 "confirmed    G2:", "confirmed    G3:", "confirmed    G4:",
                 "confirmed    G6:", "confirmed    G7:", "preflight: all checks passed"):
        assert line in out
    assert written(gateway) == []
    after = gateway.state()
    assert (after["products"], after["tags"], after["bucket"]) == (
        before["products"], before["tags"], before["bucket"])  # nothing was written


def test_a_gateway_that_ignores_size_or_search_after_fails_the_preflight(gateway, tmp_path):
    seed(gateway, 12)
    gateway.query_ignores_size = True
    code, out = preflight(gateway, tmp_path)
    assert code == 1
    assert "FAIL query paging: asked for 2 products, got 10" in out
    assert "contradicted G2:" in out
    gateway.query_ignores_size = False
    gateway.query_ignores_search_after = True
    code, out = preflight(gateway, tmp_path)
    assert code == 1
    assert "the Gateway does not honour `search_after`" in out
    assert "contradicted G3:" in out
    assert "confirmed    G2:" in out


def test_an_empty_shop_passes_with_paging_not_yet_verifiable(gateway, tmp_path):
    code, out = preflight(gateway, tmp_path)
    assert code == 0, out
    assert "skip query paging: the shop has fewer than 3 products" in out
    assert "not checked  G3:" in out


def test_a_wrong_key_is_one_failed_line_without_the_key(gateway, tmp_path):
    wrong = base64.b64encode(b"another-shop-signing-key-32bytes").decode()
    code, out = preflight(gateway, tmp_path, signing_key=wrong)
    assert code == 1
    assert "FAIL token: the Gateway refused the shop's token" in out
    assert wrong not in out
    code, out = preflight(gateway, tmp_path, dryrun=True)
    assert code == 1
    assert "dryrun: unknown setting; did you mean dry_run?" in out
