"""The tap against the Magento emulator: what a user gets from a real store's API."""

from __future__ import annotations

import math
import re
from decimal import Decimal

import pytest
from sandbox.magento import MagentoEmulator
from tap_magento.tap import TapMagento
from tapkit.tap import ConfigProblemsError
from tapkit.testing import assert_conforms, run_tap


def normalised(records, emulator):
    """Records with image URLs cut to their file names (Magento's dispersion folders and
    media base are platform detail) and the product URL suffix removed."""
    result = {}
    for record in records:
        record = dict(record)
        record["images"] = [dict(i, url=i["url"].rsplit("/", 1)[1]) for i in record["images"]]
        record["variants"] = [dict(v, images=[dict(i, url=i["url"].rsplit("/", 1)[1])
                                              for i in v["images"]])
                              for v in record["variants"]]
        if record["url"]:
            record["url"] = record["url"].removesuffix(".html")
        result[record["id"]] = record
    return result


def expected_products(emulator):
    """The catalog's own truth, with what Magento cannot carry differently: a disabled
    simple product's one variant is disabled too (Magento has one status for both)."""
    expected = {}
    for record in emulator.catalog.product_records(platform="magento", image_url="x",
                                                   product_url=emulator.url):
        if len(record["variants"]) == 1 and not record["variants"][0]["options"]:
            record["variants"][0]["active"] = record["active"]
        expected[record["id"]] = record
    return normalised(expected.values(), emulator)


def test_the_tap_emits_exactly_the_generated_catalog(store, oauth_config):
    run = run_tap(TapMagento, oauth_config(store))
    assert_conforms(run)
    got = normalised(run.records["products"], store)
    want = expected_products(store)
    assert set(got) == set(want)
    for pid, record in want.items():
        assert got[pid] == record, pid
    assert run.records["categories"] == store.catalog.category_records()
    variants = {(str(p.id), str(v.id)): v for p in store.catalog.products for v in p.variants}
    stock = {(r["product_id"], r["variant_id"]): r["quantity"] for r in run.records["stock"]}
    assert stock == {key: v.stock for key, v in variants.items()}


def test_requests_grow_with_pages_not_products(oauth_config):
    counts = {}
    for size in (30, 60):
        with MagentoEmulator(n_products=size, seed=7) as emulator:
            run_tap(TapMagento, oauth_config(emulator, page_size=20))
            entities = len(emulator.products["default"])
            calls = len(emulator.requests_to(pattern=r"^/rest/"))
            counts[size] = (calls, entities)
    for calls, entities in counts.values():
        pages = math.ceil(entities / 20)
        # dictionaries (~10), parents' sweep, products sweep + its families, stock sweep,
        # legacy stock: a few requests per page of 20, never one per product
        assert calls <= 12 + 5 * pages, (calls, entities)
    (small, small_n), (big, big_n) = counts[30], counts[60]
    assert big - small <= 5 * math.ceil((big_n - small_n) / 20) + 5


def test_no_product_request_per_product(store, oauth_config):
    run_tap(TapMagento, oauth_config(store))
    singles = store.requests_to(pattern=r"/V1/products/[^a]")  # /products/{sku}
    stock_one = store.requests_to(pattern=r"/V1/stockItems/(?!lowStock)")
    assert singles == []
    assert stock_one == []


def test_paging_past_the_end_does_not_repeat_products(oauth_config):
    # 2.3 behaviour: a page past the end is the last page again; the tap stops on total_count
    with MagentoEmulator(n_products=9, seed=3, repeat_last_page=True) as emulator:
        run = run_tap(TapMagento, oauth_config(emulator, page_size=4))
    ids = [r["id"] for r in run.records["products"]]
    assert len(ids) == len(set(ids)) == 9
    stock = [r["variant_id"] for r in run.records["stock"]]
    assert len(stock) == len(set(stock)) == emulator.catalog.variant_count()


def test_the_english_store_view_gives_english_names_and_labels(store, oauth_config):
    run = run_tap(TapMagento, oauth_config(store, store_code="en"))
    products = {r["id"]: r for r in run.records["products"]}
    coloured = next(p for p in store.catalog.products if "Kolor" in p.option_names)
    record = products[str(coloured.id)]
    assert record["name"] == f"{coloured.name} (EN)"
    assert record["language"] == "en"
    assert {"name": "Colour", "value": "black"} in [
        o for v in record["variants"] for o in v["options"]] or all(
        dict(v.options)["Kolor"] != "czarny" for v in coloured.variants)
    assert all(o["name"] in ("Size", "Colour") for v in record["variants"]
               for o in v["options"])


def test_an_unknown_store_code_is_named_with_the_ones_that_exist(store, oauth_config):
    run = run_tap([str(_bin("tap-magento"))], oauth_config(store, store_code="de"))
    assert run.code == 2
    assert "store_code 'de' is not a store view of this store; it has default, en" in run.stderr


def test_prices_entered_gross_are_read_as_gross(oauth_config):
    with MagentoEmulator(n_products=8, seed=5, prices_include_tax=True) as emulator:
        run = run_tap(TapMagento, oauth_config(emulator, prices_include_tax=True))
    want = {str(v.id): v.price_gross for p in emulator.catalog.products for v in p.variants}
    got = {v["id"]: v["price_gross"] for r in run.records["products"] for v in r["variants"]}
    assert got == want


def test_prices_entered_net_are_read_as_net(store, oauth_config):
    run = run_tap(TapMagento, oauth_config(store))
    for product in store.catalog.products:
        record = next(r for r in run.records["products"] if r["id"] == str(product.id))
        for variant, got in zip(product.variants, record["variants"], strict=True):
            assert got["price_gross"] == variant.price_gross
            assert got["price_net"] == (variant.price_gross * 100 / (100 + product.vat_rate)
                                        ).quantize(Decimal("0.01"), "ROUND_HALF_UP")


def test_msi_sums_the_sources_and_can_be_limited_to_some(store, oauth_config):
    everything = run_tap(TapMagento, oauth_config(store, inventory_mode="msi"))
    want = {str(v.id): v.stock for p in store.catalog.products for v in p.variants}
    got = {r["variant_id"]: r["quantity"] for r in everything.records["stock"]}
    assert got == want
    split = [i for i in store.source_items if i["source_code"] == "krakow"]
    assert split, "the emulator splits some SKUs over two sources"
    default_only = run_tap(TapMagento, oauth_config(store, inventory_mode="msi",
                                                   source_codes=["default"]))
    limited = {r["sku"]: r["quantity"] for r in default_only.records["stock"]}
    for item in split:
        total = sum(i["quantity"] for i in store.source_items if i["sku"] == item["sku"])
        assert limited[item["sku"]] == total - item["quantity"]
    assert not store.requests_to(pattern=r"/stockItems/")


def test_a_child_under_two_parents_is_a_variant_of_both(oauth_config):
    with MagentoEmulator(n_products=12, seed=42) as emulator:
        configurables = [p for p in emulator.catalog.products if not p.is_simple]
        first, second = next((a, b) for a in configurables for b in configurables
                             if a.id < b.id and a.option_names == b.option_names)
        shared = first.variants[0]
        emulator.share_child(shared.id, second.id)
        run = run_tap(TapMagento, oauth_config(emulator))
    products = {r["id"]: r for r in run.records["products"]}
    assert str(shared.id) in [v["id"] for v in products[str(first.id)]["variants"]]
    assert str(shared.id) in [v["id"] for v in products[str(second.id)]["variants"]]
    # never on its own as well
    assert str(shared.id) not in products
    owners = [r["product_id"] for r in run.records["stock"] if r["variant_id"] == str(shared.id)]
    assert sorted(owners) == sorted([str(first.id), str(second.id)])


def test_standalone_simple_products_are_exported(store, oauth_config):
    # the earlier attempt filtered on a type that does not exist and exported none of them
    run = run_tap(TapMagento, oauth_config(store))
    simple = {str(p.id) for p in store.catalog.products if p.is_simple}
    assert simple
    got = {r["id"] for r in run.records["products"] if len(r["variants"]) == 1
           and r["variants"][0]["id"] == r["id"]}
    assert got == simple


def test_a_second_run_reads_only_changes_and_a_childs_change_brings_its_parent(oauth_config):
    with MagentoEmulator(n_products=15, seed=11) as emulator:
        first = run_tap(TapMagento, oauth_config(emulator))
        assert len(first.records["products"]) == 15
        state = first.state
        again = run_tap(TapMagento, oauth_config(emulator), state=state)
        newest = max(p.updated_at for p in emulator.catalog.products)
        # only what changed at the bookmark's second comes again (the target skips it)
        assert {r["id"] for r in again.records.get("products", [])} == {
            str(p.id) for p in emulator.catalog.products if p.updated_at == newest}
        parent = next(p for p in emulator.catalog.products if not p.is_simple)
        child = parent.variants[-1]
        for items in emulator.products.values():
            for item in items:
                if item["id"] == child.id:
                    item["price"] = Decimal("999.000000")
                    item["updated_at"] = "2025-06-01 00:00:00"
        changed = run_tap(TapMagento, oauth_config(emulator), state=again.state)
    records = {r["id"]: r for r in changed.records["products"]}
    assert str(parent.id) in records
    assert str(child.id) not in records
    variant = next(v for v in records[str(parent.id)]["variants"] if v["id"] == str(child.id))
    assert variant["price_net"] == Decimal("999.00")
    assert records[str(parent.id)]["updated_at"] == "2025-06-01T00:00:00+00:00"
    assert "2025-06-01T00:00:00" in str(changed.state)


def test_other_product_types_are_skipped_and_counted(caplog, oauth_config):
    with MagentoEmulator(n_products=6, seed=2) as emulator:
        bundle = dict(emulator.products["default"][0], id=900001, sku="ZESTAW-1",
                      type_id="bundle")
        for items in emulator.products.values():
            items.append(dict(bundle))
        run = run_tap(TapMagento, oauth_config(emulator))
    assert "900001" not in {r["id"] for r in run.records["products"]}
    assert len(run.records["products"]) == 6
    assert "Not exported (types the contract has no variants for): 1 bundle" in caplog.text


def test_oauth1_requests_carry_a_fresh_signature_each(store, oauth_config):
    run_tap(TapMagento, oauth_config(store))
    headers = [r.header("authorization") for r in store.requests_to(pattern=r"^/rest/")]
    assert all(h.startswith("OAuth ") and 'oauth_signature_method="HMAC-SHA256"' in h
               for h in headers)
    nonces = [re.search(r'oauth_nonce="([^"]+)"', h).group(1) for h in headers]
    assert len(set(nonces)) == len(nonces)
    assert store.oauth_refused == 0


def test_a_retry_is_signed_again_with_a_new_nonce(oauth_config):
    from sandbox.server import Switches

    with MagentoEmulator(n_products=4, seed=1,
                         switches=Switches(error_rate=0.3, seed=5)) as emulator:
        run = run_tap(TapMagento, oauth_config(emulator))
        assert emulator.oauth_refused == 0
    assert len(run.records["products"]) == 4


def test_a_wrong_secret_is_refused_with_what_to_check(store, oauth_config):
    config = oauth_config(store, consumer_secret="not-the-secret")
    run = run_tap([str(_bin("tap-magento"))], config)
    assert run.code == 1
    assert ("Magento refused the credentials (401 Unauthorized: The signature is invalid. "
            "Verify and try again.): check the consumer_key, consumer_secret, access_token and "
            "access_token_secret") in run.stderr
    assert "System > Extensions > Integrations" in run.stderr
    assert "not-the-secret" not in run.stderr + str(run.messages)
    assert "Traceback" not in run.stderr
    assert len(store.requests_to(pattern=r"^/rest/")) == 1


def test_a_bearer_integration_token_on_2_4_4_is_explained(store):
    run = run_tap([str(_bin("tap-magento"))], {"store_url": store.url,
                                              "access_token": "demo-access-token"})
    assert run.code == 1
    assert "standalone Bearer tokens" in run.stderr
    assert "demo-access-token" not in run.stderr


def test_a_bearer_token_works_where_the_store_allows_it(oauth_config):
    with MagentoEmulator(n_products=3, allow_bearer=True) as emulator:
        run = run_tap(TapMagento, {"store_url": emulator.url, "auth_type": "bearer",
                                   "access_token": "demo-access-token"})
        assert all(r.header("authorization") == "Bearer demo-access-token"
                   for r in emulator.requests_to(pattern=r"^/rest/"))
    assert len(run.records["products"]) == 3


def test_an_admin_token_is_renewed_when_it_stops_working(admin_config, monkeypatch):
    import tap_magento.auth

    monkeypatch.setattr(tap_magento.auth, "ADMIN_TOKEN_FRESH", 0.0)
    with MagentoEmulator(n_products=6, seed=4) as emulator:
        original = emulator.dispatch
        calls = {"n": 0}

        def revoke_midway(request):
            calls["n"] += 1
            if calls["n"] == 8:  # the token "expired" during the run
                emulator.revoke_admin_tokens()
            return original(request)

        emulator.dispatch = revoke_midway
        run = run_tap(TapMagento, admin_config(emulator))
        assert emulator.admin_tokens_issued == 2
    assert len(run.records["products"]) == 6


def test_a_wrong_admin_password_is_refused_clearly(store, admin_config):
    run = run_tap([str(_bin("tap-magento"))], admin_config(store, admin_password="zle-haslo"))
    assert run.code == 1
    assert "Magento refused the admin login at /rest/V1/integration/admin/token (401" in \
        run.stderr
    assert "zle-haslo" not in run.stderr


def test_vat_comes_from_the_configured_country_only(store, oauth_config):
    german = run_tap(TapMagento, oauth_config(store, vat_country_iso="DE"))
    rates = {r["vat_rate"] for r in german.records["products"]}
    # DE has rules for 23%-class (19) and 8%-class (7) only: others are skipped by name
    assert rates <= {19, 7, 0}
    assert 19 in rates
    polish = run_tap(TapMagento, oauth_config(store))
    by_id = {r["id"]: r["vat_rate"] for r in polish.records["products"]}
    assert by_id == {str(p.id): p.vat_rate for p in store.catalog.products}


def test_a_country_without_rates_stops_before_any_product(store, oauth_config):
    run = run_tap([str(_bin("tap-magento"))], oauth_config(store, vat_country_iso="CZ"))
    assert run.code == 2
    assert "vat_country_iso CZ: the store's tax rates have no rate for CZ (they cover DE, PL, " \
           "US)" in run.stderr
    assert "products" not in run.records


@pytest.mark.parametrize(("config", "problems"), [
    ({"store_url": "shop.example.com"},
     ["Give credentials: the integration's consumer_key",
      "store_url must start with https:// (got 'shop.example.com')."]),
    ({"store_url": "https://x", "auth_type": "oauth1", "consumer_key": "abcd"},
     ["auth_type oauth1 needs consumer_key, consumer_secret, access_token, "
      "access_token_secret; missing: consumer_secret, access_token, access_token_secret."]
     ),
    ({"store_url": "https://x", "consumer_key": "abcd", "admin_username": "a"},
     ["The credentials given mix two ways to authenticate"]),
    ({"store_url": "https://x", "access_token": "t0k3n", "page_size": 500,
      "vat_country_iso": "Polska", "source_codes": ["default"]},
     ["page_size 500 is above Magento's maximum of 300.",
      "vat_country_iso must be a two-letter country code such as PL (got 'Polska').",
      "source_codes are read only with inventory_mode msi"]),
])
def test_config_mistakes_are_all_named(config, problems):
    with pytest.raises(ConfigProblemsError) as caught:
        TapMagento(config=config)
    text = "\n".join(caught.value.errors)
    for problem in problems:
        assert problem in text


def test_implied_auth_types():
    assert TapMagento(config={"store_url": "https://x", "admin_username": "a",
                              "admin_password": "abcd"}).auth_type == "admin_password"
    assert TapMagento(config={"store_url": "https://x/rest/default/V1",
                              "access_token": "abcd"}).store_url == "https://x"


def _bin(name):
    import sys
    from pathlib import Path

    return Path(sys.executable).parent / name
