"""The planner alone: record + index -> writes. No server, no client, no socket (enforced)."""

from __future__ import annotations

import socket
from decimal import Decimal

import pytest
from target_gateway.categories import (
    CategoryMapping,
    GatewayCategories,
    MappingRow,
    SourceCategories,
)
from target_gateway.gateway import product_item
from target_gateway.index import Known
from target_gateway.planner import Planner, content_hash
from target_gateway.settings import Settings
from target_gateway.tags import VariantTags

from .conftest import KEY, KEY_BYTES, SHOP, product, variant


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any attempt to open a socket fails the test: the planner must need no server."""
    def refuse(*args, **kwargs):
        raise AssertionError("the planner opened a socket")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


class FakeIndex:
    """The planner's view of the index, in a dict."""

    def __init__(self):
        self.known = {}

    def get(self, key):
        return self.known.get(key)

    def group_tag_guids(self, group):
        return [k.tag_guids for key, k in sorted(self.known.items()) if key[:2] == group]


def settings(**changes):
    values = {"api_url": "https://gateway.test", "shop_guid": SHOP, "signing_key": KEY,
              "key_bytes": KEY_BYTES}
    values.update(changes)
    return Settings(**values)


def planner(index=None, mapping=None, gateway=None, **changes):
    categories = SourceCategories(mapping)
    categories.gateway = gateway
    return Planner(settings(**changes), index or FakeIndex(), VariantTags(), categories)


def written(plan, guid="g1"):
    """What the index holds after the planned create of the plan's first variant landed."""
    variant = plan.variants[0]
    return Known.of_item(guid, variant.hash, product_item(variant.draft))


def shoe(pid="7", name="Botki Tatry", sizes=("38", "39")):
    return product(pid, name, variants=[
        variant(f"{pid}-{s}", options={"Rozmiar": s}, net="200.00", sku=f"B-{s}", stock=i)
        for i, s in enumerate(sizes)])


def test_a_new_simple_product_is_one_create_with_net_price_vat_and_stock():
    record = product("1", "Herbata zielona", vat=5,
                     variants=[variant("1", net="12.38", vat=5, stock=Decimal("7.6"))])
    result = planner().plan(record)
    assert result.unchanged == 0
    assert result.skipped == result.failed == []
    (only,) = result.plan.variants
    assert (only.action, only.rid, only.key) == ("create", "1", ("shoper", "1", "1"))
    draft = only.draft
    assert (draft.name, draft.net_price, draft.vat_rate, draft.stock_level) == (
        "Herbata zielona", Decimal("12.38"), 5, 7)  # from the gross 13.00
    assert draft.brief == "Krótki opis – ładny"  # HTML to one line, Polish kept
    assert draft.source["hash"] == only.hash
    assert result.plan.tag_name is None  # a simple product has no variant group


def test_an_unchanged_variant_costs_nothing_and_a_stock_change_is_an_update():
    index = FakeIndex()
    first = planner(index).plan(product("1"))
    index.known[("shoper", "1", "1")] = written(first.plan)
    again = planner(index).plan(product("1"))
    assert again.plan is None
    assert again.unchanged == 1
    moved = planner(index).plan(product("1", variants=[variant("1", stock=6)]))
    (update,) = moved.plan.variants
    assert update.action == "update"
    assert update.existing.guid == "g1"
    assert update.hash == first.plan.variants[0].hash  # stock is compared, not hashed


def test_the_hash_follows_content_but_not_gateway_urls_or_stock():
    draft = planner().plan(product("1")).plan.variants[0].draft
    base = content_hash(draft, None, "copy")
    assert content_hash(draft.__class__(**{**draft.__dict__, "stock_level": 99}), None,
                        "copy") == base
    assert content_hash(draft.__class__(**{**draft.__dict__, "images": ("https://b/x",)}),
                        None, "copy") == base
    assert content_hash(draft.__class__(**{**draft.__dict__, "net_price": Decimal("1.00")}),
                        None, "copy") != base
    assert content_hash(draft, None, "upload") != base


def test_variants_are_named_by_options_and_grouped_under_one_claimed_tag():
    result = planner().plan(shoe())
    assert [v.draft.name for v in result.plan.variants] == ["Botki Tatry - 38",
                                                           "Botki Tatry - 39"]
    assert [v.rid for v in result.plan.variants] == ["7/7-38", "7/7-39"]
    assert result.plan.tag_name == "Botki Tatry"
    assert result.plan.tag_guid is None


def test_a_group_reuses_its_tag_and_same_named_products_never_share_one():
    index, tags = FakeIndex(), VariantTags()
    tags.load([{"guid": "t-botki", "name": "Botki Tatry", "type": "variant"}])
    index.known[("shoper", "7", "7-38")] = Known("g1", "old", 0, ("t-botki",), b"")
    tags.note_product(("shoper", "7"), ["t-botki"])
    plans = Planner(settings(), index, tags, SourceCategories())
    assert plans.plan(shoe()).plan.tag_guid == "t-botki"  # reused, nothing to create
    other = plans.plan(shoe(pid="8"))
    assert other.plan.tag_guid is None
    assert other.plan.tag_name == "Botki Tatry (SKU-8)"  # the name is another group's


def test_skipped_categories_and_unmapped_ones_are_decided_per_policy():
    in_outlet = product("1", categories=[{"id": "13", "name": "Outlet", "path": ["Outlet"]}],
                        variants=[variant("11"), variant("12")])
    skipped = planner(skip_category_ids=frozenset({"13"})).plan(in_outlet)
    assert skipped.plan is None
    assert [(n.rid, n.n) for n in skipped.skipped] == [("1", 2)]
    assert "skip_category_ids" in skipped.skipped[0].reason
    mapping = CategoryMapping({"11": MappingRow("11", "Kubki", ("Dom",), 2)})
    gateway = GatewayCategories([{"name": "Dom", "guid": "c-dom", "children": []}])
    failed = planner(mapping=mapping, gateway=gateway, unmapped_categories="fail").plan(
        in_outlet)
    assert failed.plan is None
    assert [(n.rid, n.reason, n.n) for n in failed.failed] == [
        ("1", "category 13 (Outlet) is not mapped", 2)]
    assert [c.id for c in failed.unmapped] == ["13"]
    mapped = product("2", categories=[{"id": "11", "name": "Kubki", "path": ["Dom", "Kubki"]}])
    tagged = planner(mapping=mapping, gateway=gateway, unmapped_categories="fail").plan(mapped)
    assert tagged.plan.variants[0].draft.tag_guids == ("c-dom",)
    untagged = planner().plan(mapped)  # no mapping file: imported untagged, listed
    assert untagged.plan.variants[0].draft.tag_guids == ()
    assert [c.id for c in untagged.unmapped] == ["11"]


def test_a_variant_listed_twice_is_skipped_once_named():
    result = planner().plan(product("5", variants=[variant("51"), variant("51"),
                                                    variant("52")]))
    assert [v.rid for v in result.plan.variants] == ["5/51", "5/52"]
    assert [(n.rid, n.reason) for n in result.skipped] == [
        ("5/51", "the record lists this variant id twice")]
