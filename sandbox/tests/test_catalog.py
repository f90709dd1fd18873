"""The generated shop: deterministic, realistic, and valid under the contract."""

from collections import Counter

from commerce_schema import validate_record
from sandbox.catalog import ean13, generate_catalog, tiny_png


def test_same_seed_same_shop_other_seed_other_shop():
    one = list(generate_catalog(50, seed=3).product_records())
    assert one == list(generate_catalog(50, seed=3).product_records())
    assert one != list(generate_catalog(50, seed=4).product_records())


def test_every_record_validates_against_the_contract():
    catalog = generate_catalog(300, seed=11)
    problems = [str(e) for r in catalog.product_records() for e in validate_record("products", r)]
    problems += [str(e) for r in catalog.category_records()
                 for e in validate_record("categories", r)]
    assert problems == []


def test_realistic_mix():
    catalog = generate_catalog(400, seed=5)
    sizes = Counter(len(p.variants) for p in catalog.products)
    assert sizes[1] > 50                                   # plenty of simple products
    assert max(sizes) <= 12
    assert any(n >= 2 for n in sizes)
    assert {p.vat_rate for p in catalog.products} == {23, 8, 5, 0}
    stocks = [v.stock for p in catalog.products for v in p.variants]
    assert None in stocks
    assert 0 in stocks
    names = [p.name for p in catalog.products]
    assert len(set(names)) < len(names)                    # some products share a name
    assert any(ch in "".join(names) for ch in "ąćęłńóśźż")
    assert all(p.description_html.startswith("<p>") for p in catalog.products)
    option_names = {o[0] for p in catalog.products for v in p.variants for o in v.options}
    assert option_names == {"Rozmiar", "Kolor"}
    assert any(v.image for p in catalog.products for v in p.variants)


def test_category_tree_has_three_levels_with_paths():
    catalog = generate_catalog(10)
    depths = Counter(len(c.path) for c in catalog.categories)
    assert set(depths) == {1, 2, 3}
    by_id = {c.id: c for c in catalog.categories}
    for category in catalog.categories:
        if category.parent_id is not None:
            assert by_id[category.parent_id].path == category.path[:-1]
    leaf_ids = {c.id for c in catalog.categories if len(c.path) == 3}
    assert all(set(p.category_ids) <= leaf_ids for p in catalog.products)


def test_eans_have_valid_check_digits():
    assert ean13("590123412345") == "5901234123457"   # the GS1 example from Shoper's docs
    for product in generate_catalog(100).products:
        for variant in product.variants:
            if variant.ean:
                digits = [int(d) for d in variant.ean]
                assert len(digits) == 13
                assert sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10 == 0


def test_ids_are_unique():
    catalog = generate_catalog(2000, seed=9)
    variant_ids = [v.id for p in catalog.products for v in p.variants]
    assert len(variant_ids) == len(set(variant_ids))
    assert len({img.key for img in catalog.images()}) == len(list(catalog.images()))


def test_images_are_real_pngs():
    data = tiny_png((255, 0, 0))
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert data.endswith(b"IEND\xaeB`\x82")


def test_mutate_changes_one_percent():
    catalog = generate_catalog(500, seed=2)
    before = {p.id: (p.updated_at, p.variants[0].price_gross) for p in catalog.products}
    changed = catalog.mutate(0.01)
    assert len(changed) == 5
    after = {p.id: (p.updated_at, p.variants[0].price_gross) for p in catalog.products}
    assert {pid for pid in before if before[pid] != after[pid]} == set(changed)
