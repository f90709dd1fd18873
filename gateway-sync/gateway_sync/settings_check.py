"""Settings given by config files and env vars, checked before anything runs.

singer-sdk ignores a config key or an env var it does not know: a ``dryrun`` typo wrote for
real, a ``shop_ur`` made the runner ask for the shop URL again as if nothing had been given.
So every key of ``tap.json``/``target.json`` and every env var with a plugin's prefix
(``TAP_SHOPER_``, ``TARGET_GATEWAY_``) must name a setting of that plugin's ``--about``
schema (which lists singer-sdk's built-in settings too), else the run stops naming the
closest known setting. Env vars with a double underscore after the prefix
(``TAP_SHOPER__SELECT``, Meltano's extras and inherited plugins) are not settings and are
left alone.

Values given there are checked like answers (:mod:`gateway_sync.prompts`), so that a bad one
stops the run with exit 2 naming the setting and where it came from (never the value),
instead of a traceback or a refusal from the plugin after it started: a config file's value
must have the JSON type of the setting (singer-sdk validates the config strictly), an env
var's text must parse the way singer-sdk parses it (an integer, a boolean...), and both must
be one of the setting's ``enum`` values when it has them.

The suggestion is the one every tap and the target make too
(:func:`commerce_schema.settings.suggestion`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from commerce_schema.settings import suggestion

from gateway_sync.prompts import (
    InvalidAnswerError,
    check_boolean,
    check_choice,
    check_integer,
    check_number,
    is_plain_setting,
    schema_types,
)

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
    "object": (dict,), "array": (list,),
}


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """``; did you mean shop_url?`` or nothing."""
    meant = suggestion(name, known)
    return f"; did you mean {meant}?" if meant else ""


def env_var_name(prefix: str, key: str) -> str:
    """singer-sdk's env var of a setting: ``TAP_SHOPER_`` + ``SHOP_URL``."""
    return prefix + key.upper().replace("-", "_")


def unknown_settings(plugin: str, schema: Mapping[str, Any], *, config: Mapping[str, Any],
                     config_source: str, env: Mapping[str, str], prefix: str) -> list[str]:
    """One line per key of the config file and env var of the prefix that is no setting."""
    props = schema.get("properties") or {}
    problems = []
    for key in config:
        if key not in props:
            problems.append(f"{key} in {config_source}: unknown setting of {plugin}"
                            + did_you_mean(key, props))
    by_env = {env_var_name(prefix, key): key for key in props}
    for name in sorted(env):
        rest = name[len(prefix):]
        if not name.startswith(prefix) or not rest or rest.startswith("_") or name in by_env:
            continue
        problems.append(f"{name}: unknown setting of {plugin}" + did_you_mean(name, by_env))
    return problems


def _type_ok(value: Any, types: set[str]) -> bool:
    for kind in types:
        allowed = _JSON_TYPES.get(kind, ())
        if isinstance(value, bool) and kind in ("integer", "number"):
            continue  # JSON true is no number
        if isinstance(value, allowed):
            return True
    return not types


def bad_values(schema: Mapping[str, Any], *, config: Mapping[str, Any], config_source: str,
               env: Mapping[str, str], prefix: str) -> list[str]:
    """One line per given value that the plugin would refuse or misread."""
    props = schema.get("properties") or {}
    problems = []
    for key, setting in props.items():
        if not isinstance(setting, Mapping):
            continue
        types = schema_types(setting)
        choices = [c for c in setting.get("enum") or [] if c is not None]
        if key in config and config[key] is not None:
            value = config[key]
            if not _type_ok(value, types):
                problems.append(f"{key} in {config_source}: must be "
                                + " or ".join(sorted(types)) + " (JSON)")
            elif choices and value not in choices:
                problems.append(f"{key} in {config_source}: not one of: "
                                + ", ".join(str(c) for c in choices))
        text = env.get(env_var_name(prefix, key))
        if not text or not is_plain_setting(setting):
            continue
        check = (check_choice(choices) if choices
                 else check_integer if "integer" in types and "string" not in types
                 else check_number if "number" in types and "string" not in types
                 else check_boolean if types == {"boolean"} else None)
        if check is None:
            continue
        try:
            check(text)
        except InvalidAnswerError as exc:
            problems.append(f"{env_var_name(prefix, key)}: {exc}")
    return problems
