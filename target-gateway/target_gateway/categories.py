"""Shop categories -> Gateway category tags, through the shop's mapping CSV.

The Gateway's categories are its own tree (``/bootstrap``); a shop's categories are mapped
onto it per shop with a CSV the vendor fills in, one row per source category:
``source_id,source_name,Gateway>Category>Path[,more paths]`` (a row with no path leaves the
category unmapped). People edit this file in spreadsheets, so loading tolerates a UTF-8 BOM,
a header row, blank and ``#`` comment lines, and reports files saved with semicolons or rows
missing columns with their line numbers, all problems at once.

:func:`write_template` produces that CSV ready to fill for every source category seen, plus
the list of valid Gateway paths next to it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HEADER = ["source_id", "source_name", "gateway_path", "more_gateway_paths..."]
_HEADER_IDS = {"source_id", "source_category_id", "id"}


class MappingError(ValueError):
    """A mapping file that cannot be used; ``problems`` lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("category mapping problems:\n  " + "\n  ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class MappingRow:
    """One source category and the Gateway paths it maps to (empty: unmapped)."""

    source_id: str
    source_name: str
    paths: tuple[str, ...]
    line: int


@dataclass
class CategoryMapping:
    """The loaded mapping file."""

    rows: dict[str, MappingRow] = field(default_factory=dict)
    path: str | None = None

    def paths_for(self, source_id: str) -> tuple[str, ...]:
        """Gateway paths a source category maps to (empty when unmapped)."""
        row = self.rows.get(source_id)
        return row.paths if row else ()


def normalize_path(path: str | Iterable[str]) -> str:
    """``" Dom > Kuchnia>Kubki "`` -> ``"Dom>Kuchnia>Kubki"``."""
    parts = path.split(">") if isinstance(path, str) else list(path)
    return ">".join(p.strip() for p in parts if p.strip())


def load_mapping(path: str | Path) -> CategoryMapping:
    """Read a mapping CSV; MappingError lists every problem with its line number."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MappingError([f"{path}: not UTF-8 text (save it as CSV UTF-8)"]) from exc
    except OSError as exc:
        raise MappingError([f"{path}: cannot be read ({exc.strerror})"]) from exc
    mapping = CategoryMapping(path=str(path))
    problems: list[str] = []
    reader = csv.reader(io.StringIO(text))
    try:
        rows = list(reader)
    except csv.Error as exc:  # e.g. a cell over the csv module's 128 KB field limit
        raise MappingError([f"line {reader.line_num}: not readable as CSV ({exc})"]) from None
    for number, row in enumerate(rows, start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if number == 1 and cells[0].lower() in _HEADER_IDS:
            continue
        if len(cells) == 1 and ";" in cells[0]:
            problems.append(f"line {number}: separated by semicolons; the file must use "
                            "commas (in a spreadsheet: save as 'CSV UTF-8 (comma delimited)')")
            continue
        if len(cells) < 2 or not cells[0]:
            problems.append(f"line {number}: expected source_id,source_name,"
                            f"Gateway>Category>Path, got {','.join(row)!r}")
            continue
        if cells[0] in mapping.rows:
            problems.append(f"line {number}: source category {cells[0]} is already mapped on "
                            f"line {mapping.rows[cells[0]].line}")
            continue
        paths = tuple(dict.fromkeys(normalize_path(c) for c in cells[2:] if normalize_path(c)))
        mapping.rows[cells[0]] = MappingRow(cells[0], cells[1], paths, number)
    if problems:
        raise MappingError(problems)
    return mapping


class GatewayCategories:
    """The Gateway's category tree, addressable by ``A>B>C`` path (case-insensitively)."""

    def __init__(self, tree: list[dict[str, Any]]) -> None:
        self.by_path: dict[str, str] = {}
        self._folded: dict[str, str] = {}

        def walk(nodes: list[dict[str, Any]], prefix: str) -> None:
            for node in nodes or []:
                path = f"{prefix}>{node['name']}" if prefix else str(node["name"])
                self.by_path[path] = str(node["guid"])
                self._folded.setdefault(path.casefold(), path)
                walk(node.get("children") or [], path)

        walk(tree, "")

    @classmethod
    def from_flat(cls, tags: list[dict[str, Any]]) -> GatewayCategories:
        """Build from ``/tags/?type=category`` (``parent_guid`` links) when there is no tree."""
        nodes: dict[Any, dict[str, Any]] = {
            t["guid"]: {"name": t["name"], "guid": t["guid"], "children": []} for t in tags}
        roots: list[dict[str, Any]] = []
        for tag in tags:
            parent = nodes.get(tag.get("parent_guid"))
            (parent["children"] if parent else roots).append(nodes[tag["guid"]])
        return cls(roots)

    def resolve(self, path: str) -> str | None:
        """The guid of a Gateway category path, or None."""
        wanted = normalize_path(path)
        if wanted in self.by_path:
            return self.by_path[wanted]
        exact = self._folded.get(wanted.casefold())
        return self.by_path[exact] if exact else None

    @property
    def paths(self) -> list[str]:
        """Every category path, sorted."""
        return sorted(self.by_path)


@dataclass(frozen=True)
class SourceCategory:
    """A shop category as the tap sent it."""

    id: str
    name: str
    path: str


def check_mapping(mapping: CategoryMapping, gateway: GatewayCategories,
                  sources: Iterable[SourceCategory], skip_ids: frozenset[str]
                  ) -> tuple[list[str], list[SourceCategory]]:
    """(problems, unmapped source categories): every mapped path must exist in the Gateway,
    every source category (except skipped ones) must be mapped."""
    problems = []
    for row in mapping.rows.values():
        for path in row.paths:
            if gateway.resolve(path) is None:
                problems.append(f"line {row.line}: source category {row.source_id} "
                                f"({row.source_name}) maps to {path!r}, which is not a "
                                "Gateway category")
    unmapped = [c for c in sources if c.id not in skip_ids and not mapping.paths_for(c.id)]
    problems += [f"source category {c.id} ({c.path or c.name}) is not mapped"
                 for c in unmapped]
    return problems, unmapped


def write_template(path: str | Path, sources: Iterable[SourceCategory],
                   gateway: GatewayCategories | None,
                   mapping: CategoryMapping | None = None) -> Path:
    """Write the ready-to-fill mapping CSV and ``<name>.gateway-paths.txt`` next to it.

    Rows already mapped in ``mapping`` keep their paths, so the template can be regenerated
    after a shop adds categories. Returns the path of the paths list.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for category in sorted(sources, key=lambda c: (c.path, c.id)):
        paths = mapping.paths_for(category.id) if mapping else ()
        writer.writerow([category.id, category.path or category.name, *(paths or [""])])
    target.write_text(buffer.getvalue(), encoding="utf-8")
    listing = target.with_name(target.stem + ".gateway-paths.txt")
    lines = gateway.paths if gateway else []
    listing.write_text("# Gateway category paths: copy one into the third column (more paths "
                       "go into further columns)\n" + "".join(f"{p}\n" for p in lines),
                       encoding="utf-8")
    return listing


class SourceCategories:
    """The shop's categories seen in this run (from the ``categories`` stream and the
    products' own references), and how a product's references become Gateway tag guids.

    Pure: the mapping file and the Gateway's tree are read before; nothing here does I/O.
    """

    def __init__(self, mapping: CategoryMapping | None = None) -> None:
        self.mapping = mapping
        self.gateway: GatewayCategories | None = None
        self.seen: dict[str, SourceCategory] = {}
        self.stream_seen = False  # a ``categories`` stream was read (the check needs it)

    def remember(self, ref: dict[str, Any]) -> SourceCategory:
        """A category reference (``{id, name, path}``): remembered, the fullest one kept."""
        cid = str(ref.get("id"))
        known = self.seen.get(cid)
        if known is not None and (known.path or not ref.get("path")):
            return known
        path = normalize_path(ref.get("path") or [])
        category = SourceCategory(cid, str(ref.get("name") or path.rsplit(">", 1)[-1]), path)
        self.seen[cid] = category
        return category

    def tag_guids(self, refs: Iterable[dict[str, Any]]
                  ) -> tuple[list[str], list[SourceCategory]]:
        """(Gateway category tag guids, the references that are not mapped)."""
        guids: list[str] = []
        unmapped: list[SourceCategory] = []
        for ref in refs:
            category = self.remember(ref)
            if self.mapping is None or self.gateway is None:
                unmapped.append(category)
                continue
            paths = self.mapping.paths_for(category.id)
            resolved = [self.gateway.resolve(p) for p in paths]
            if not paths or None in resolved:
                unmapped.append(category)
            guids += [g for g in resolved if g and g not in guids]
        return guids, unmapped
