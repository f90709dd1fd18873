"""meltano.yml describes every plugin's settings exactly as its config_jsonschema does."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("meltano_settings",
                                               ROOT / "scripts/meltano_settings.py")
meltano_settings = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(meltano_settings)

PROJECT = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
BASE_PLUGINS = [p for kind in ("extractors", "loaders") for p in PROJECT["plugins"][kind]
                if "inherit_from" not in p]
FIELDS = ("kind", "label", "description", "sensitive", "options")


@pytest.mark.parametrize("plugin", BASE_PLUGINS, ids=lambda p: p["name"])
def test_settings_match_config_jsonschema(plugin):
    declared = {s["name"]: s for s in plugin.get("settings", [])}
    expected = {s["name"]: s for s in meltano_settings.settings_from_schema(
        meltano_settings.own_schema(meltano_settings.plugin_class(plugin["executable"])))}
    hint = f"regenerate with: .venv/bin/python scripts/meltano_settings.py {plugin['name']}"
    assert sorted(set(declared) - set(expected)) == [], f"only in meltano.yml; {hint}"
    assert sorted(set(expected) - set(declared)) == [], f"missing from meltano.yml; {hint}"
    for name, want in expected.items():
        got = {k: declared[name].get(k) for k in FIELDS}
        assert got == {k: want.get(k) for k in FIELDS}, f"setting {name!r} differs; {hint}"


@pytest.mark.parametrize("plugin", BASE_PLUGINS, ids=lambda p: p["name"])
def test_plugin_installs_from_the_repo(plugin):
    assert plugin["namespace"] == plugin["name"].replace("-", "_")
    paths = [part for part in plugin["pip_url"].split() if part != "-e"]
    assert "./commerce-schema" in paths, "commerce-schema is not on PyPI: install it from the repo"
    assert f"./{plugin['name']}" in paths
    assert all((ROOT / p / "pyproject.toml").exists() for p in paths)


def test_every_tap_in_the_repo_is_an_extractor():
    taps = sorted(p.name for p in ROOT.glob("tap-*") if (p / "pyproject.toml").exists())
    assert sorted(p["name"] for p in BASE_PLUGINS if p["name"].startswith("tap-")) == taps


def test_sdk_builtin_settings_do_not_count_as_the_plugins_own():
    cls = meltano_settings.plugin_class("target-gateway")
    cls.append_builtin_config(cls.config_jsonschema)  # what the SDK does on first use
    names = set(meltano_settings.own_schema(cls)["properties"])
    assert "signing_key" in names
    assert not names & {"stream_maps", "load_method", "add_record_metadata"}


def test_every_secret_is_sensitive():
    for plugin in BASE_PLUGINS:
        schema = meltano_settings.own_schema(meltano_settings.plugin_class(plugin["executable"]))
        secrets = {n for n, s in schema["properties"].items() if s.get("secret")}
        sensitive = {s["name"] for s in plugin["settings"] if s.get("sensitive")}
        assert secrets == sensitive, plugin["name"]


class _NoDuplicateKeys(yaml.SafeLoader):
    """Meltano refuses a mapping with a key given twice; PyYAML keeps the last silently."""


def _mapping_without_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode,
                                deep: bool = False) -> dict:
    keys = [loader.construct_object(key, deep=deep) for key, _ in node.value]
    twice = sorted({str(k) for k in keys if keys.count(k) > 1})
    if twice:
        raise yaml.constructor.ConstructorError(
            None, None, f"key(s) given twice: {', '.join(twice)}", node.start_mark)
    return loader.construct_mapping(node, deep=deep)


_NoDuplicateKeys.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                                 _mapping_without_duplicates)


def test_meltano_yml_gives_no_key_twice():
    yaml.load((ROOT / "meltano.yml").read_text(encoding="utf-8"), Loader=_NoDuplicateKeys)  # noqa: S506 - a SafeLoader subclass
