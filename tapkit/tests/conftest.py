"""The kit's fixtures: the demo tap (a module beside the tests, loaded by path because test
folders are not importable under ``--import-mode=importlib``)."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import pytest

DEMO = Path(__file__).with_name("demo_tap.py")


@pytest.fixture(scope="session")
def demo() -> types.ModuleType:
    """``demo_tap`` (``demo.TapDemo``, ``demo.DEMO_PATH`` for a subprocess)."""
    spec = importlib.util.spec_from_file_location("tapkit_demo_tap", DEMO)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    module.DEMO_PATH = DEMO  # type: ignore[attr-defined]
    return module
