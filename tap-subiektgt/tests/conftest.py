"""Shared fixtures: a generated Subiekt GT test database (SQLite) and configs pointing at it."""

from __future__ import annotations

import pytest
from sandbox.subiektgt import create


@pytest.fixture(scope="module")
def subiekt(tmp_path_factory):
    """(database file, catalog): 30 generated products, seed 42, shared by a test module."""
    path = tmp_path_factory.mktemp("subiekt") / "subiekt.sqlite"
    catalog = create(path, n_products=30, seed=42)
    return path, catalog
