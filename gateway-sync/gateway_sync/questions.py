"""Which settings are asked, given what env vars and config files already say.

The rules (required settings, credential alternatives, a choice of source, optional
settings) are described in :mod:`gateway_sync.prompts`; this module applies them to one
plugin's values (:class:`Settings`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from commerce_schema.redact import redact

from gateway_sync.prompts import (
    InvalidAnswerError,
    Prompter,
    Question,
    check_choice,
    is_plain_setting,
    is_secret,
    question_for_setting,
)


class UsageError(Exception):
    """A setting or a file the run needs is missing or wrong; nothing was run."""


def sdk_builtin_settings() -> set[str]:
    """Settings every singer-sdk plugin has (stream maps, flattening, batch...): never asked."""
    names: set[str] = set()
    try:
        from singer_sdk.helpers import capabilities  # slow: only when needed
    except ImportError:
        return names
    for value in vars(capabilities).values():
        if hasattr(value, "to_dict"):  # a PropertiesList in other singer-sdk versions
            with contextlib.suppress(Exception):
                value = value.to_dict()
        if isinstance(value, dict) and isinstance(value.get("properties"), dict):
            names |= set(value["properties"])
    return names


class Settings:
    """Values of one plugin: what env vars and a config file give, and what was asked."""

    def __init__(self, env: Mapping[str, str], config: Mapping[str, Any], prefix: str,
                 prompter: Prompter, source: str) -> None:
        self.env = env
        self.config = dict(config)
        self.prefix = prefix
        self.prompter = prompter
        self.source = source
        self.asked: dict[str, Any] = {}

    def env_var(self, key: str) -> str:
        """The env var of a setting."""
        return self.prefix + key.upper().replace("-", "_")

    def given(self, key: str) -> bool:
        """Whether an env var, the config file or an answer already sets ``key``."""
        return (bool(self.env.get(self.env_var(key)))
                or self.config.get(key) not in (None, "") or key in self.asked)

    def value(self, key: str) -> Any:
        """The value of ``key`` from an answer, an env var or the config file (None if not)."""
        if key in self.asked:
            return self.asked[key]
        return self.env.get(self.env_var(key)) or self.config.get(key)

    def obtain(self, question: Question) -> Any:
        """Check a given value, or ask; returns what was asked (None if given or skipped)."""
        if question.key in self.asked:
            return None
        env_value = self.env.get(question.env_var)
        try:
            if env_value:
                question.validate(env_value)
                return None
            if self.config.get(question.key) not in (None, ""):
                question.validate(self.config[question.key])
                return None
        except InvalidAnswerError as exc:
            where = question.env_var if env_value else f"{question.key} in {self.source}"
            raise UsageError(f"{question.label}: {exc} (from {where}).") from None
        answer = self.prompter.ask(question)
        if answer is not None:
            self.asked[question.key] = answer
        return answer

    def merged(self) -> dict[str, Any]:
        """The config file's values plus the answers."""
        return {**self.config, **self.asked}

    def values(self) -> dict[str, Any]:
        """Every value given or asked, as the plugin will see it (env over file)."""
        keys = set(self.config) | set(self.asked)
        keys |= {k[len(self.prefix):].lower() for k in self.env if k.startswith(self.prefix)}
        return {k: self.value(k) for k in keys if self.value(k) not in (None, "")}

    def register_secrets(self, keys: Iterable[str]) -> None:
        """Have the redactor mask these settings' values, wherever they came from."""
        for key in keys:
            for value in (self.env.get(self.env_var(key)), self.config.get(key),
                          self.asked.get(key)):
                if isinstance(value, str):
                    redact.add(value)


def _hint(schema: Mapping[str, Any]) -> dict[str, Any]:
    hint = schema.get("x-gateway-sync")
    return hint if isinstance(hint, dict) else {}


def declared_alternatives(schema: Mapping[str, Any]) -> list[list[str]] | None:
    """Credential alternatives the tap declares (hint first, then anyOf/oneOf); None if none."""
    hint = _hint(schema)
    if isinstance(hint.get("alternatives"), list):
        return [[str(n) for n in alt] for alt in hint["alternatives"] if alt]
    alternatives = [list(alt["required"])
                    for keyword in ("anyOf", "oneOf") for alt in schema.get(keyword, [])
                    if isinstance(alt, dict) and alt.get("required")]
    return alternatives or None


def guessed_alternatives(props: Mapping[str, Any], required: Sequence[str]) -> list[list[str]]:
    """Each optional secret on its own; a ``*password``/``*secret`` with the setting before it."""
    names = list(props)
    alternatives = []
    for index, name in enumerate(names):
        if name in required or not is_secret(props[name]):
            continue
        group = [name]
        if name.endswith(("password", "secret")) and index > 0:
            before = names[index - 1]
            if (before not in required and not is_secret(props[before])
                    and is_plain_setting(props[before])):
                group.insert(0, before)
        alternatives.append(group)
    return alternatives


def declared_choice(schema: Mapping[str, Any]) -> tuple[str, dict[str, list[list[str]]]] | None:
    """The tap's ``choice`` hint as (setting, {option: alternatives}); None if it has none.

    An option's list of names is one alternative (all asked); a list of lists is several.
    """
    choice = _hint(schema).get("choice")
    props = schema.get("properties") or {}
    if not isinstance(choice, dict) or choice.get("setting") not in props \
            or not isinstance(choice.get("options"), dict):
        return None
    options: dict[str, list[list[str]]] = {}
    for option, names in choice["options"].items():
        if not isinstance(names, list):
            continue
        if all(isinstance(n, list) for n in names):
            options[str(option)] = [[str(n) for n in alt] for alt in names if alt]
        else:
            options[str(option)] = [[str(n) for n in names if isinstance(n, str)]]
    return str(choice["setting"]), options


def ask_alternatives(settings: Settings, alternatives: list[list[str]],
                     question: Any) -> None:
    """One complete alternative: nothing if one is given, complete a started one, or offer
    them in order (an empty answer to the first setting of one moves on to the next)."""
    if not alternatives or any(all(settings.given(n) for n in alt) for alt in alternatives):
        return
    started = next((alt for alt in alternatives if any(settings.given(n) for n in alt)), None)
    if started is not None:
        for name in started:
            settings.obtain(question(name))
        return
    for index, alternative in enumerate(alternatives):
        last = index == len(alternatives) - 1
        hint = "" if last else (
            "empty: use " + " + ".join(alternatives[index + 1]) + " instead")
        if settings.obtain(question(alternative[0], required=last, hint=hint)) is None:
            continue
        for name in alternative[1:]:
            settings.obtain(question(name))
        break


def choose(settings: Settings, setting: str, options: Mapping[str, list[list[str]]],
           question: Any) -> str:
    """The chosen option: given, implied by the only option whose settings are given, or
    asked."""
    given = settings.value(setting)
    if given not in (None, ""):
        settings.obtain(question(setting))  # checks it against the enum
        for option in options:
            if str(given) == option:
                return option
        raise UsageError(f"{setting}: not one of: " + ", ".join(options)
                         + f" (from {settings.env_var(setting)} or {settings.source}).")
    implied = [option for option, alternatives in options.items()
               if any(settings.given(n) for alt in alternatives for n in alt)]
    if len(implied) == 1:
        return implied[0]
    asked = question(setting)
    answer = settings.obtain(Question(asked.key, asked.label, asked.env_var,
                                      check_choice(list(options)), hint=asked.hint))
    return str(answer)


def ask_tap_settings(settings: Settings, schema: Mapping[str, Any], *, platform: str,
                     ask_optional: bool) -> None:
    """Ask for the tap's choice of source, required settings, one credential alternative of
    that source, then (with ``ask_optional``) its optional ones."""
    props: dict[str, Any] = schema.get("properties", {})
    required_names = set(schema.get("required", []))
    required = [name for name in props if name in required_names]

    def question(name: str, **kwargs: Any) -> Question:
        return question_for_setting(name, props[name], settings.prefix, platform=platform,
                                    **kwargs)

    def usable(alternatives: Iterable[list[str]]) -> list[list[str]]:
        return [names for names in ([n for n in alt if n in props and n not in required]
                                    for alt in alternatives) if names]

    choice = declared_choice(schema)
    asked_names = set(required)
    if choice is not None:
        setting, options = choice
        chosen = choose(settings, setting, options, question)
        alternatives = usable(options.get(chosen, []))
        asked_names |= {setting} | {n for alts in options.values() for a in alts for n in a}
    else:
        declared = declared_alternatives(schema)
        alternatives = usable(declared if declared is not None
                              else guessed_alternatives(props, required))
    for name in required:
        settings.obtain(question(name))
    ask_alternatives(settings, alternatives, question)
    if ask_optional:
        skip = asked_names | {n for alt in alternatives for n in alt} | sdk_builtin_settings()
        for name, setting in props.items():
            if name not in skip and is_plain_setting(setting) and not settings.given(name):
                settings.obtain(question(name, required=False))
