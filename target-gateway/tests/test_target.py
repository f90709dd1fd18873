"""The target in-process against a mocked Gateway: what it sends, skips, reports and emits."""

from __future__ import annotations

import itertools
import json
import logging
from decimal import Decimal

import pytest
from singer_sdk.exceptions import ConfigValidationError
from target_gateway.target import TargetGateway

DOWNLOADS = "https://gateway.test/downloads/"


@pytest.fixture
def gateway(empty_shop, kit):
    """The mocked Gateway: tags get name-based guids, products sequential guids."""
    counter = itertools.count(1)

    def create_tag(request, context):
        context.status_code = 201
        return {"guid": f"tag-{request.json()['name']}", "name": request.json()["name"],
                "type": "variant"}

    def create_products(request, context):
        context.status_code = 201
        return {"products": [{"guid": f"g{next(counter)}", **p["product"]}
                             for p in request.json()["products"]]}

    def download(request, context):
        return {"url": "https://bucket.test/" + request.json()["url"].rsplit("/", 1)[-1]}

    empty_shop.post(kit.TAGS_URL, json=create_tag)
    empty_shop.post(kit.PRODUCTS_URL, json=create_products)
    empty_shop.post(DOWNLOADS, json=download)
    return empty_shop


def sent_products(mock, kit):
    """Every product item POSTed to the batch-create route, in order."""
    return [item for r in mock.request_history
            if r.method == "POST" and r.url == kit.PRODUCTS_URL
            for item in r.json()["products"]]


def writes(mock):
    """Every request that changes something (the query is a read)."""
    return [f"{r.method} {r.path}" for r in mock.request_history
            if r.method != "GET" and not r.path.endswith("/_query")]


def as_queried(mock, kit):
    """What the Gateway's query would answer after the creates seen so far."""
    products, guid = [], itertools.count(1)
    for item in sent_products(mock, kit):
        products.append({"guid": f"g{next(guid)}", "owner_guid": kit.SHOP, **item["product"],
                         "for_sale": item["for_sale"], "stock_level": item.get("stock_level"),
                         "archived": None})
    return products


def query_answer(products):
    """The query's answer: the products and their total (which tells the target the list
    ended, so it does not ask again)."""
    return {"products": products, "total": len(products)}


def shoe(kit, pid="7", name="Botki Tatry", sizes=("38", "39", "40"), **extra):
    return kit.product(pid, name, vat=23, images=[
        {"url": "https://shop.test/img/main.png", "position": 1, "public": True}],
        variants=[kit.variant(f"{pid}0{i}", options={"Rozmiar": s}, net="200.00",
                              sku=f"B-{pid}-{s}", stock=i,
                              images=[{"url": f"https://shop.test/img/{s}.png", "position": 1,
                                       "public": True}] if i == 0 else [])
                  for i, s in enumerate(sizes)], **extra)


def test_one_gateway_product_per_variant_with_price_vat_tags_and_images(gateway, kit, config):
    simple = kit.product("1", "Herbata zielona", vat=5, variants=[
        kit.variant("1", net="12.38", vat=5, stock=Decimal("7.6"), sku=None)])
    code, target = kit.run(config, kit.singer(("products", simple), ("products", shoe(kit))))
    assert code == 0
    items = sent_products(gateway, kit)
    assert [i["product"]["name"] for i in items] == [
        "Herbata zielona", "Botki Tatry - 38", "Botki Tatry - 39", "Botki Tatry - 40"]
    tea = items[0]
    assert tea == {"archived": False, "for_sale": True, "stock_level": 7, "product": {
        "name": "Herbata zielona", "desc": "<p>Opis <b>produktu</b></p>",
        "brief": "Krótki opis – ładny", "sku": "SKU-1", "vat": "VAT5",
        "base_price_type": "retail",
        "base_price": {"currency": "zł", "vat_percent": 0, "amount": 12.38},
        "cost_price": {"currency": "zł", "vat_percent": 0, "amount": 0.0},
        "images": [], "tag_guids": [],
        "data": {"variants": {}, "image_sources": [], "source": {
            "platform": "shoper", "product_id": "1", "variant_id": "1",
            "hash": tea["product"]["data"]["source"]["hash"]}}}}
    tag_posts = [r.json() for r in gateway.request_history if r.url == kit.TAGS_URL
                 and r.method == "POST"]
    assert tag_posts == [{"name": "Botki Tatry", "type": "variant"}]
    for item in items[1:]:
        assert item["product"]["tag_guids"] == ["tag-Botki Tatry"]
        assert item["product"]["vat"] == "VAT23"
        assert item["product"]["base_price"]["amount"] == 200.0
    assert items[1]["product"]["data"]["variants"] == {"Rozmiar": "38"}
    assert items[1]["product"]["images"] == ["https://bucket.test/main.png",
                                             "https://bucket.test/38.png"]
    assert items[2]["product"]["images"] == ["https://bucket.test/main.png"]
    assert items[1]["product"]["sku"] == "B-7-38"
    downloads = [r.json()["url"] for r in gateway.request_history if r.url == DOWNLOADS]
    assert sorted(downloads) == ["https://shop.test/img/38.png", "https://shop.test/img/main.png"]
    assert target.report.counts["created"] == 4


def test_for_sale_follows_product_and_variant_activity(gateway, kit, config):
    inactive_product = kit.product("1", active=False)
    mixed = kit.product("2", "Kubek", variants=[
        kit.variant("21", options={"Kolor": "biały"}),
        kit.variant("22", options={"Kolor": "czarny"}, active=False)])
    kit.run(config, kit.singer(("products", inactive_product), ("products", mixed)))
    assert [i["for_sale"] for i in sent_products(gateway, kit)] == [False, True, False]


def test_products_are_sent_in_batches(gateway, kit, config):
    records = [("products", kit.product(str(i), f"Produkt {i}")) for i in range(5)]
    kit.run({**config, "batch_size": 2}, kit.singer(*records))
    creates = [r for r in gateway.request_history if r.url == kit.PRODUCTS_URL]
    assert [len(r.json()["products"]) for r in creates] == [2, 2, 1]


def test_a_rerun_sends_nothing_unchanged_and_one_update_per_changed_variant(gateway, kit,
                                                                            config):
    records = [("products", kit.product("1", "Herbata")), ("products", shoe(kit))]
    kit.run(config, kit.singer(*records))
    gateway.post(kit.QUERY_URL, json=query_answer(as_queried(gateway, kit)))
    gateway.get(kit.TAGS_URL, json=[{"guid": "tag-Botki Tatry", "name": "Botki Tatry",
                                     "type": "variant"}])
    update = gateway.post(f"https://gateway.test/organizations/{kit.SHOP}/products/g3",
                          json={"guid": "g3"})
    gateway.reset_mock()
    code, target = kit.run(config, kit.singer(*records))
    assert code == 0
    assert writes(gateway) == []
    assert target.report.counts["unchanged"] == 4

    changed = shoe(kit)
    changed["variants"][1]["price_net"] = Decimal("210.00")
    changed["variants"][1]["price_gross"] = Decimal("258.30")
    gateway.reset_mock()
    code, target = kit.run(config, kit.singer(("products", kit.product("1", "Herbata")),
                                              ("products", changed)))
    assert writes(gateway) == [f"POST /organizations/{kit.SHOP}/products/g3"]
    body = update.last_request.json()
    assert body["product"]["base_price"]["amount"] == 210.0
    assert body["product"]["tag_guids"] == ["tag-Botki Tatry"]  # the group's existing tag
    assert body["product"]["images"] == ["https://bucket.test/main.png"]  # reused, no copy
    assert (target.report.counts["updated"], target.report.counts["unchanged"]) == (1, 3)


def test_stock_alone_changes_are_detected(gateway, kit, config):
    kit.run(config, kit.singer(("products", kit.product("1"))))
    gateway.post(kit.QUERY_URL, json=query_answer(as_queried(gateway, kit)))
    update = gateway.post(f"https://gateway.test/organizations/{kit.SHOP}/products/g1",
                          json={"guid": "g1"})
    record = kit.product("1")
    record["variants"][0]["stock"] = Decimal(9)
    kit.run(config, kit.singer(("products", record)))
    assert update.call_count == 1
    assert update.last_request.json()["stock_level"] == 9


def test_stock_records_update_known_variants_only_when_different(gateway, kit, config):
    kit.run(config, kit.singer(("products", shoe(kit))))
    gateway.post(kit.QUERY_URL, json=query_answer(as_queried(gateway, kit)))
    update = gateway.post(f"https://gateway.test/organizations/{kit.SHOP}/products/g2",
                          json={"guid": "g2"})
    gateway.reset_mock()
    stock = [("stock", {"product_id": "7", "variant_id": "700", "sku": None, "ean": None,
                        "quantity": 0, "updated_at": None}),
             ("stock", {"product_id": "7", "variant_id": "701", "sku": None, "ean": None,
                        "quantity": 40, "updated_at": None}),
             ("stock", {"product_id": "8", "variant_id": "800", "sku": None, "ean": None,
                        "quantity": 1, "updated_at": None})]
    code, target = kit.run(config, kit.singer(*stock))
    assert writes(gateway) == [f"POST /organizations/{kit.SHOP}/products/g2"]
    body = update.last_request.json()
    assert body["stock_level"] == 40
    assert body["product"]["name"] == "Botki Tatry - 39"  # the rest of the product kept
    # the stock record of a variant the Gateway lacks is a stock count, not a skipped product
    assert target.report.counts == {"created": 0, "updated": 0, "unchanged": 0, "skipped": 0,
                                    "failed": 0}
    assert target.report.stock == {"updated": 1, "unchanged": 1, "skipped": 1}
    assert code == 0


def test_same_named_products_never_share_a_variant_group(gateway, kit, config):
    first = shoe(kit, "7")
    second = shoe(kit, "8", sku="BOTKI-8")
    kit.run(config, kit.singer(("products", first), ("products", second)))
    names = [r.json()["name"] for r in gateway.request_history
             if r.url == kit.TAGS_URL and r.method == "POST"]
    assert sorted(names) == ["Botki Tatry", "Botki Tatry (BOTKI-8)"]  # sent concurrently
    groups = {i["product"]["data"]["source"]["product_id"]: i["product"]["tag_guids"][0]
              for i in sent_products(gateway, kit)}
    assert groups == {"7": "tag-Botki Tatry", "8": "tag-Botki Tatry (BOTKI-8)"}


USED = "403b62c1-5370-53ad-b71d-8ed1916c94f7"
ORPHAN = "5d1e0c52-0a0b-5c0d-8e0f-101112131415"


def test_409_reuses_an_unused_tag_but_never_one_of_another_product(empty_shop, kit, config):
    foreign = {"guid": "other-product", "name": "Botki Tatry - 41", "tag_guids": [USED],
               "data": {"source": {"platform": "shoper", "product_id": "99",
                                   "variant_id": "990"}}}
    empty_shop.get(kit.TAGS_URL, json=[
        {"guid": USED, "name": "Botki Tatry", "type": "variant"}])
    empty_shop.post(kit.QUERY_URL, json=query_answer([foreign]))
    answers = {"Botki Tatry (SKU-7)": (409, USED), "Botki Tatry (7)": (409, ORPHAN)}

    def create_tag(request, context):
        status, guid = answers[request.json()["name"]]
        context.status_code = status
        return {"message": f"Tag ({guid}) already exists"}

    empty_shop.post(kit.TAGS_URL, json=create_tag)
    empty_shop.post(kit.PRODUCTS_URL, status_code=201, json=lambda request, context: {
        "products": [{"guid": f"g{n}", **item["product"]}
                     for n, item in enumerate(request.json()["products"])]})
    empty_shop.post(DOWNLOADS, json={"url": "https://bucket.test/x.png"})
    code, _ = kit.run(config, kit.singer(("products", shoe(kit))))
    assert code == 0
    tried = [r.json()["name"] for r in empty_shop.request_history
             if r.url == kit.TAGS_URL and r.method == "POST"]
    # "Botki Tatry" is known to belong to product 99; the (SKU-7) name answers 409 with
    # that same tag; the next candidate's 409 names a tag no product uses: reused.
    assert tried == ["Botki Tatry (SKU-7)", "Botki Tatry (7)"]
    assert {tuple(i["product"]["tag_guids"]) for i in sent_products(empty_shop, kit)} == {
        (ORPHAN,)}


def test_a_contract_breaking_record_is_reported_and_skipped(gateway, kit, config, tmp_path):
    broken = kit.product("2", vat=7)
    del broken["name"]
    code, _ = kit.run(config, kit.singer(
        ("products", broken), ("products", kit.product("3")), ("STATE", {"bookmark": 3})))
    assert code == 3  # partial
    assert [i["product"]["data"]["source"]["product_id"]
            for i in sent_products(gateway, kit)] == ["3"]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["status"] == "partial"
    assert report["skipped"] == [{"id": "products:2", "reason":
                                  "breaks the record contract: name: 'name' is a required "
                                  "property (+1 more)"}]


def test_no_state_is_emitted_after_a_failed_write(gateway, kit, config, capsys):
    config = {**config, "batch_size": 1}  # each record is written as it is read

    def create(request, context):
        names = [p["product"]["name"] for p in request.json()["products"]]
        if "Zły" in names:
            context.status_code = 400
            return {"message": "invalid products"}
        context.status_code = 201
        return {"products": [{"guid": n} for n in names]}

    gateway.post(kit.PRODUCTS_URL, json=create)
    stream = kit.singer(
        ("products", kit.product("1", "Dobry 1")), ("STATE", {"bookmark": 1}),
        ("products", kit.product("2", "Dobry 2")), ("STATE", {"bookmark": 2}),
        ("products", kit.product("3", "Zły")), ("STATE", {"bookmark": 3}),
        ("products", kit.product("4", "Dobry 4")), ("STATE", {"bookmark": 4}))
    code, target = kit.run(config, stream)
    states = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert states == [{"bookmark": 1}, {"bookmark": 2}]  # then product 3 failed: never again
    assert code == 3
    assert target.report.counts["created"] == 3
    assert target.report.failed[0]["id"] == "3"
    assert "400" in target.report.failed[0]["reason"]


def test_state_is_emitted_at_the_end_of_a_clean_run(gateway, kit, config, capsys):
    kit.run(config, kit.singer(("products", kit.product("1")), ("STATE", {"bookmark": 1})))
    assert capsys.readouterr().out.splitlines() == ['{"bookmark": 1}']


def test_the_signing_key_appears_nowhere_in_a_failing_run(empty_shop, kit, config, capsys,
                                                          caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    # A buggy API that echoes the key back, then refuses the credentials.
    empty_shop.post(kit.PRODUCTS_URL, status_code=400,
                    json={"message": f"{'x' * 280} key {kit.KEY}"})  # cut at 300 chars
    tokens = []

    def refuse(request, context):
        tokens.append(request.headers["Authorization"].removeprefix("Bearer "))
        context.status_code = 401
        return {"message": f"Unauthorized {kit.KEY} {request.headers['Authorization']}"}

    empty_shop.post(f"https://gateway.test/webshops/{kit.SHOP}/tags/", json=refuse)
    code, _ = kit.run(config, kit.singer(("products", kit.product("1"))))
    assert code == 3
    everything = (tmp_path / "report.json").read_text()
    assert "x key ***" in everything
    code, _ = kit.run(config, kit.singer(("products", shoe(kit))))
    assert code == 1
    captured = capsys.readouterr()
    everything += (caplog.text + captured.err + captured.out
                   + (tmp_path / "report.json").read_text())
    assert "Unauthorized *** Bearer ***" in everything
    assert kit.KEY not in everything
    assert tokens[0] not in everything
    assert kit.KEY[:10] not in everything  # not even the part a truncation would leave
    with pytest.raises(ConfigValidationError) as caught:
        TargetGateway(config={**config, "signing_key": "%%" + kit.KEY})
    assert kit.KEY not in str(caught.value.errors)
    assert "signing_key is not valid base64" in str(caught.value.errors)


def test_a_shop_guid_that_is_not_a_uuid_stops_before_any_request(requests_mock, config):
    with pytest.raises(ConfigValidationError, match="Config validation failed") as caught:
        TargetGateway(config={**config, "shop_guid": "sklep-1"})
    assert caught.value.errors == ["shop_guid must be a UUID such as "
                                   "'5b0c7a52-3f3e-4a8e-9d0e-6f2a1c9e4b21'"]
    assert requests_mock.call_count == 0


MAPPING = ("source_id,source_name,gateway_path\n"
           "10,Dom,Dom\n"
           "11,Kubki,Dom>Kuchnia>Kubki\n"
           "12,Świece,Dom>Dekoracje>Świeczki\n")
BOOTSTRAP = {"tag_hierarchy": [{"name": "Dom", "guid": "c-dom", "children": [
    {"name": "Kuchnia", "guid": "c-kuchnia", "children": [
        {"name": "Kubki", "guid": "c-kubki", "children": []}]},
    {"name": "Dekoracje", "guid": "c-dekoracje", "children": []}]}]}
CATEGORIES = [{"id": "10", "name": "Dom", "parent_id": None, "path": ["Dom"]},
              {"id": "11", "name": "Kubki", "parent_id": "10", "path": ["Dom", "Kubki"]},
              {"id": "12", "name": "Świece", "parent_id": "10", "path": ["Dom", "Świece"]},
              {"id": "13", "name": "Outlet", "parent_id": None, "path": ["Outlet"]}]


def in_category(kit, pid, cid):
    category = next(c for c in CATEGORIES if c["id"] == cid)
    return kit.product(pid, f"Produkt {pid}", categories=[
        {"id": cid, "name": category["name"], "path": category["path"]}])


@pytest.fixture
def mapping_file(tmp_path, gateway):
    gateway.get("https://gateway.test/bootstrap", json=BOOTSTRAP)
    path = tmp_path / "mapping.csv"
    path.write_text(MAPPING, encoding="utf-8")
    return str(path)


def test_unmapped_categories_fail_before_any_write_with_every_problem(gateway, kit, config,
                                                                      mapping_file, capsys,
                                                                      caplog):
    messages = [("categories", c) for c in CATEGORIES] + [
        ("products", in_category(kit, "1", "11")), ("STATE", {"bookmark": 1})]
    code, target = kit.run({**config, "category_mapping_file": mapping_file},
                           kit.singer(*messages))
    assert code == 1
    assert writes(gateway) == []
    captured = capsys.readouterr()
    assert captured.out == ""  # no STATE
    told = captured.err + caplog.text  # the summary is a log record
    assert "maps to 'Dom>Dekoracje>Świeczki', which is not a Gateway category" in told
    assert "source category 13 (Outlet) is not mapped" in told
    assert target.report.to_json()["unmapped_categories"] == [
        {"id": "13", "name": "Outlet", "path": "Outlet"}]


def test_mapped_categories_become_tags_and_skip_policies_apply(gateway, kit, config,
                                                               mapping_file):
    messages = [("categories", c) for c in CATEGORIES] + [
        ("products", in_category(kit, "1", "11")), ("products", in_category(kit, "2", "13")),
        ("products", in_category(kit, "3", "12")), ("products", in_category(kit, "4", "10"))]
    code, target = kit.run({**config, "category_mapping_file": mapping_file,
                            "unmapped_categories": "skip_product",
                            "skip_category_ids": ["10"]}, kit.singer(*messages))
    assert code == 0
    assert [(i["product"]["data"]["source"]["product_id"], i["product"]["tag_guids"])
            for i in sent_products(gateway, kit)] == [("1", ["c-kubki"])]
    assert [s["id"] for s in target.report.skipped] == ["2", "3", "4"]
    assert "skip_category_ids" in target.report.skipped[2]["reason"]

    gateway.reset_mock()
    code, target = kit.run({**config, "category_mapping_file": mapping_file,
                            "unmapped_categories": "ignore"}, kit.singer(*messages))
    assert [(i["product"]["data"]["source"]["product_id"], i["product"]["tag_guids"])
            for i in sent_products(gateway, kit)] == [
        ("1", ["c-kubki"]), ("2", []), ("3", []), ("4", ["c-dom"])]


def test_without_a_mapping_products_land_untagged_and_categories_are_listed(gateway, kit,
                                                                            config):
    code, target = kit.run(config, kit.singer(("products", in_category(kit, "1", "11"))))
    assert code == 0
    assert sent_products(gateway, kit)[0]["product"]["tag_guids"] == []
    assert target.report.to_json()["unmapped_categories"] == [
        {"id": "11", "name": "Kubki", "path": "Dom>Kubki"}]


def test_the_mapping_template_is_written_and_nothing_is_sent(requests_mock, kit, config,
                                                             tmp_path, capsys):
    requests_mock.get("https://gateway.test/bootstrap", json=BOOTSTRAP)
    template = tmp_path / "template.csv"
    messages = [("categories", c) for c in CATEGORIES] + [
        ("products", in_category(kit, "1", "11")), ("STATE", {"bookmark": 1})]
    code, target = kit.run({**config, "category_mapping_template": str(template)},
                           kit.singer(*messages))
    assert code == 0
    assert [f"{r.method} {r.path}" for r in requests_mock.request_history] == ["GET /bootstrap"]
    assert template.read_text(encoding="utf-8").splitlines() == [
        "source_id,source_name,gateway_path,more_gateway_paths...",
        "10,Dom,", "11,Dom>Kubki,", "12,Dom>Świece,", "13,Outlet,"]
    assert (tmp_path / "template.gateway-paths.txt").read_text(encoding="utf-8").splitlines()[
        1:] == ["Dom", "Dom>Dekoracje", "Dom>Kuchnia", "Dom>Kuchnia>Kubki"]
    assert target.report.to_json()["mapping_template"] == str(template)
    assert capsys.readouterr().out == ""  # nothing written: no STATE


def test_dry_run_reads_but_sends_nothing_and_prints_the_plan(gateway, kit, config, capsys,
                                                             caplog):
    caplog.set_level(logging.INFO)
    code, target = kit.run({**config, "dry_run": True},
                           kit.singer(("products", shoe(kit)), ("STATE", {"b": 1})))
    assert code == 0
    assert writes(gateway) == []
    assert "dry-run: would create variant tag 'Botki Tatry'" in caplog.text
    assert "dry-run: would create 7/700 'Botki Tatry - 38' (2 images)" in caplog.text
    assert target.report.counts["created"] == 3
    assert capsys.readouterr().out == ""


def test_an_unknown_stream_is_ignored_with_one_warning(gateway, kit, config, caplog):
    caplog.set_level(logging.WARNING)
    code, _ = kit.run(config, kit.singer(("meltano_test_stream", {"id": 1}),
                                         ("meltano_test_stream", {"id": 2}),
                                         ("products", kit.product("1"))))
    assert code == 0
    assert caplog.text.count("'meltano_test_stream' is not part of the record contract") == 1
    assert len(sent_products(gateway, kit)) == 1


def test_a_failing_image_fails_only_its_products(gateway, kit, config):
    gateway.post(DOWNLOADS, status_code=422, json={"message": "could not download"})
    with_image = kit.product("1", images=[{"url": "https://shop.test/x.png", "public": True}])
    code, target = kit.run(config, kit.singer(("products", with_image),
                                              ("products", kit.product("2"))))
    assert code == 3
    assert [i["product"]["data"]["source"]["product_id"]
            for i in sent_products(gateway, kit)] == ["2"]
    assert "422" in target.report.failed[0]["reason"]


def test_settings_can_come_from_target_gateway_environment_variables(monkeypatch, kit):
    for name, value in {"API_URL": kit.API, "SHOP_GUID": kit.SHOP, "SIGNING_KEY": kit.KEY,
                        "BATCH_SIZE": "7", "SKIP_CATEGORY_IDS": '["5", "6"]',
                        "DRY_RUN": "true", "IMAGE_MODE": "hotlink"}.items():
        monkeypatch.setenv(f"TARGET_GATEWAY_{name}", value)
    settings = TargetGateway(config={}, parse_env_config=True).settings
    assert (settings.shop_guid, settings.batch_size, settings.dry_run) == (kit.SHOP, 7, True)
    assert settings.skip_category_ids == frozenset({"5", "6"})
    assert settings.image_mode == "hotlink"
    assert settings.unmapped_categories == "ignore"  # no mapping file: import untagged


def test_a_broken_mapping_file_stops_before_any_request(requests_mock, kit, config, tmp_path,
                                                         capsys, caplog):
    mapping = tmp_path / "excel.csv"
    mapping.write_text("source_id;source_name;gateway_path\n11;Kubki;Dom>Kuchnia>Kubki\n"
                       "12\n", encoding="utf-8")
    code, _ = kit.run({**config, "category_mapping_file": str(mapping)},
                      kit.singer(("products", kit.product("1"))))
    assert code == 1
    assert requests_mock.call_count == 0
    err = capsys.readouterr().err + caplog.text  # the summary is a log record
    assert "line 1: separated by semicolons" in err
    assert "line 3: expected source_id,source_name,Gateway>Category>Path" in err
