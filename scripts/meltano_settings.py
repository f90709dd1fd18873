"""Print the `settings:` of a plugin for meltano.yml, derived from its config_jsonschema.

meltano.yml must describe each plugin's settings exactly as the package's config_jsonschema
does (names, kinds, `sensitive: true` on secrets, descriptions); tests/test_meltano_settings.py
fails when they drift. After changing a plugin's settings, regenerate its block:

    .venv/bin/python scripts/meltano_settings.py tap-shoper
"""

from __future__ import annotations

import sys
from importlib.metadata import entry_points
from typing import Any

import yaml


def plugin_class(executable: str) -> Any:
    """The Tap/Target class behind a console script such as ``tap-shoper``."""
    (point,) = [ep for ep in entry_points(group="console_scripts") if ep.name == executable]
    module, _, attr = point.value.partition(":")
    cls = __import__(module, fromlist=["_"])
    for part in attr.split(".")[:-1]:  # "TapShoper.cli" -> TapShoper
        cls = getattr(cls, part)
    return cls


def own_schema(cls: Any) -> dict[str, Any]:
    """The plugin's own config_jsonschema, without the settings singer-sdk appends.

    The SDK merges its built-in settings (stream_maps, flattening_*, load_method, ...) into
    the class's ``config_jsonschema`` dict in place, the first time a plugin is configured
    or described, so the same class shows more settings later in a process than at import.
    Meltano knows the built-ins already; meltano.yml declares the plugin's own.
    """
    probe: dict[str, Any] = {"type": "object", "properties": {}}
    cls.append_builtin_config(probe)
    builtin = set(probe["properties"])
    schema = dict(cls.config_jsonschema)
    schema["properties"] = {name: spec for name, spec in schema["properties"].items()
                            if name not in builtin}
    return schema


def meltano_kind(spec: dict[str, Any]) -> str:
    """Meltano's setting kind for a JSON-schema property."""
    types = spec.get("type", "string")
    types = [t for t in ([types] if isinstance(types, str) else types) if t != "null"]
    kind = types[0] if types else "string"
    if "enum" in spec:
        return "options"
    if kind == "string" and spec.get("format") in ("date-time", "date"):
        return "date_iso8601"
    return {"number": "decimal"}.get(kind, kind)


def settings_from_schema(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The settings list for meltano.yml, in the schema's order."""
    settings = []
    for name, spec in schema.get("properties", {}).items():
        setting: dict[str, Any] = {"name": name, "kind": meltano_kind(spec)}
        if spec.get("title"):
            setting["label"] = spec["title"]
        if spec.get("description"):
            setting["description"] = spec["description"]
        if spec.get("secret") or spec.get("writeOnly"):
            setting["sensitive"] = True
        if setting["kind"] == "options":
            setting["options"] = [{"label": str(v), "value": v} for v in spec["enum"]
                                  if v is not None]
        settings.append(setting)
    return settings


def main(argv: list[str]) -> None:
    """Print the settings block of each named plugin."""
    for executable in argv or ["tap-shoper", "target-gateway"]:
        block = {"settings": settings_from_schema(own_schema(plugin_class(executable)))}
        print(f"# {executable}")
        print(yaml.safe_dump(block, allow_unicode=True, sort_keys=False, width=100))


if __name__ == "__main__":
    main(sys.argv[1:])
