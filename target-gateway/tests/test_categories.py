"""The category mapping CSV: loading as spreadsheets save it, checking, the template."""

from __future__ import annotations

import pytest
from target_gateway.categories import (
    CategoryMapping,
    GatewayCategories,
    MappingError,
    MappingRow,
    SourceCategory,
    check_mapping,
    load_mapping,
    write_template,
)

TREE = [{"name": "Dom", "guid": "g-dom", "children": [
    {"name": "Kuchnia", "guid": "g-kuchnia", "children": [
        {"name": "Kubki", "guid": "g-kubki", "children": []}]}]},
    {"name": "Moda", "guid": "g-moda", "children": []}]


def write(tmp_path, text, encoding="utf-8"):
    path = tmp_path / "mapping.csv"
    path.write_bytes(text.encode(encoding))
    return path


def test_loads_rows_with_bom_header_comments_and_several_paths(tmp_path):
    path = write(tmp_path, "\ufeffsource_id,source_name,gateway_path\n"
                           "# comment\n\n"
                           "33,Kubki i filiżanki, Dom > Kuchnia > Kubki ,Moda\n"
                           "34,Świece\n")
    mapping = load_mapping(path)
    assert mapping.paths_for("33") == ("Dom>Kuchnia>Kubki", "Moda")
    assert mapping.paths_for("34") == ()
    assert mapping.rows["33"].source_name == "Kubki i filiżanki"
    assert mapping.rows["33"].line == 4


def test_reports_semicolons_missing_columns_and_duplicates_all_at_once(tmp_path):
    path = write(tmp_path, "1;Odzież;Moda\n2\n3,Buty,Moda\n3,Buty znowu,Moda\n")
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    problems = caught.value.problems
    assert len(problems) == 3
    assert "line 1: separated by semicolons" in problems[0]
    assert problems[1].startswith("line 2: expected source_id,source_name")
    assert "line 4: source category 3 is already mapped on line 3" in problems[2]


def test_non_utf8_files_are_explained(tmp_path):
    path = write(tmp_path, "1,Odzież,Moda\n", encoding="cp1250")
    with pytest.raises(MappingError, match="not UTF-8"):
        load_mapping(path)


def test_gateway_paths_resolve_exactly_then_case_insensitively():
    gateway = GatewayCategories(TREE)
    assert gateway.resolve("Dom>Kuchnia>Kubki") == "g-kubki"
    assert gateway.resolve(" dom > KUCHNIA>kubki") == "g-kubki"
    assert gateway.resolve("Dom>Kubki") is None
    flat = GatewayCategories.from_flat([
        {"guid": "g-kubki", "name": "Kubki", "parent_guid": "g-kuchnia"},
        {"guid": "g-dom", "name": "Dom", "parent_guid": None},
        {"guid": "g-kuchnia", "name": "Kuchnia", "parent_guid": "g-dom"}])
    assert flat.paths == ["Dom", "Dom>Kuchnia", "Dom>Kuchnia>Kubki"]


def test_check_lists_unknown_paths_and_unmapped_categories_except_skipped():
    mapping = CategoryMapping({
        "1": MappingRow("1", "Kubki", ("Dom>Kuchnia>Kubki",), 1),
        "2": MappingRow("2", "Buty", ("Moda>Buty",), 2)})
    sources = [SourceCategory("1", "Kubki", "Dom>Kubki"), SourceCategory("2", "Buty", "Buty"),
               SourceCategory("3", "Świece", "Dom>Świece"), SourceCategory("4", "Outlet", "")]
    problems, unmapped = check_mapping(mapping, GatewayCategories(TREE), sources,
                                       frozenset({"4"}))
    assert problems == [
        "line 2: source category 2 (Buty) maps to 'Moda>Buty', which is not a Gateway category",
        "source category 3 (Dom>Świece) is not mapped"]
    assert [c.id for c in unmapped] == ["3"]


def test_template_lists_every_source_category_and_the_gateway_paths(tmp_path):
    mapping = CategoryMapping({"1": MappingRow("1", "Kubki", ("Dom>Kuchnia>Kubki",), 1)})
    sources = [SourceCategory("2", "Świece", "Dom>Świece"),
               SourceCategory("1", "Kubki", "Dom>Kubki")]
    listing = write_template(tmp_path / "out" / "map.csv", sources, GatewayCategories(TREE),
                             mapping)
    text = (tmp_path / "out" / "map.csv").read_text(encoding="utf-8")
    assert text.splitlines() == ["source_id,source_name,gateway_path,more_gateway_paths...",
                                 "1,Dom>Kubki,Dom>Kuchnia>Kubki", "2,Dom>Świece,"]
    assert listing.name == "map.gateway-paths.txt"
    assert listing.read_text(encoding="utf-8").splitlines()[1:] == [
        "Dom", "Dom>Kuchnia", "Dom>Kuchnia>Kubki", "Moda"]
    assert load_mapping(tmp_path / "out" / "map.csv").paths_for("1") == ("Dom>Kuchnia>Kubki",)
