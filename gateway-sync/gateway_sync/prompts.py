"""Questions gateway-sync asks, how it reads the answers, and how it checks them.

Answers come from a terminal or from a pipe (``printf 'key\\nguid\\n...' | docker run -i``), so
every prompt goes to stderr, never to stdout. On a terminal a bad answer is asked again and a
secret is read without echo; on a pipe nobody can correct anything, so the first bad or missing
answer stops the run with a message that names the setting (never the value: it may be a
secret).

Which tap settings are asked comes from the tap's own ``--about --format=json`` settings schema:

* every setting in the schema's ``required`` list;
* one of the tap's credential alternatives ("an access token, or a username and a password"),
  taken from, in this order of preference:

  - ``"x-gateway-sync": {"alternatives": [["access_token"], ["username", "password"]]}`` at
    the top of the settings schema (a hint that no validator acts on; an empty list means
    "ask no credentials");
  - a top-level ``anyOf``/``oneOf`` of ``{"required": [...]}`` entries (beware: singer-sdk
    logs the whole config when such a schema fails, secrets included);
  - otherwise a guess from the schema alone: each optional ``secret`` setting is a credential
    on its own, and one named ``*password``/``*secret`` goes with the plain setting just
    before it (``username`` + ``password``, ``client_id`` + ``client_secret``).

  Nothing is asked when an alternative is already complete from env vars or a config file,
  and a partly given one is completed. Otherwise the alternatives are offered in order: the
  first setting of each is asked with "empty: use <the next alternative> instead", and an
  empty answer moves on to the next one; the last alternative must be answered;
* a choice first, when the tap's settings have several sources (IdoSell: the Admin API or the
  IOF feed): ``"x-gateway-sync": {"choice": {"setting": "source", "options": {"admin_api":
  ["api_key"], "iof": [["iof_url"], ["marketplace_login", "marketplace_password"]]}}}``.
  The choice setting (an ``enum``) is asked first unless given (or unless the given settings
  belong to one option only), then the ``required`` settings, then only the chosen option's:
  a list of names is asked whole, a list of lists is a set of credential alternatives as
  above. ``alternatives`` is then not used;
* with ``--ask-optional``, every other plain (string, number, boolean) setting of the tap,
  where an empty answer keeps the tap's default. The singer-sdk's built-in settings
  (stream maps, flattening, batch...) are never asked.

A setting's prompt is its ``title``, else the platform's name and the setting's name
("Shoper shop URL"), plus its first example.
"""

from __future__ import annotations

import base64
import binascii
import getpass
import sys
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO
from urllib.parse import urlsplit

MIN_KEY_BYTES = 16
_ALNUM = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_B64 = _ALNUM | set("+/")
_B64URL = _ALNUM | set("-_")
_TRUE = {"y", "yes", "true", "1", "t", "on"}
_FALSE = {"n", "no", "false", "0", "f", "off"}


class InvalidAnswerError(ValueError):
    """An answer that does not pass its check; the message never contains the answer."""


class AnswerError(Exception):
    """No usable answer can be had (pipe ended, bad value on a pipe): the run must stop."""


Check = Callable[[str], Any]


def check_signing_key(value: str) -> str:
    """Base64 (standard or URL-safe, padding optional, as target-gateway reads it) of at least
    16 bytes: shorter HS256 keys are too weak to be the one the Gateway issued."""
    text = "".join(value.split())
    padded = text + "=" * (-len(text) % 4)
    raw = b""
    for alphabet, decode in ((_B64, base64.b64decode), (_B64URL, base64.urlsafe_b64decode)):
        if text and set(text.rstrip("=")) <= alphabet:
            try:
                raw = decode(padded)
                break
            except (binascii.Error, ValueError):
                continue
    if not raw:
        raise InvalidAnswerError("not valid base64")
    if len(raw) < MIN_KEY_BYTES:
        raise InvalidAnswerError(f"too short: it must decode to at least {MIN_KEY_BYTES} bytes")
    return text


def check_uuid(value: str) -> str:
    """A UUID (written the usual way, or any form Python reads); kept in canonical form."""
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        raise InvalidAnswerError(
            "not a UUID (like 123e4567-e89b-12d3-a456-426614174000)") from None


def check_url(value: str) -> str:
    """An http(s) URL with a host."""
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidAnswerError("not an http(s) URL with a host (like https://shop.example.pl)")
    return value


def check_integer(value: str) -> int:
    """A whole number."""
    try:
        return int(value.strip())
    except ValueError:
        raise InvalidAnswerError("not a whole number") from None


def check_number(value: str) -> float:
    """A number (settings such as timeouts; never money)."""
    try:
        return float(value.strip())
    except ValueError:
        raise InvalidAnswerError("not a number") from None


def check_boolean(value: str) -> bool:
    """yes/no, true/false, 1/0."""
    word = value.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise InvalidAnswerError("answer yes or no")


def check_choice(choices: Sequence[Any]) -> Check:
    """One of the schema's ``enum`` values."""

    def check(value: str) -> Any:
        for choice in choices:
            if value.strip() == str(choice):
                return choice
        raise InvalidAnswerError("not one of: " + ", ".join(str(c) for c in choices))

    return check


def check_text(value: str) -> str:
    """Any text; surrounding blanks are dropped."""
    return value.strip()


@dataclass(frozen=True)
class Question:
    """One setting to ask for."""

    key: str
    label: str
    env_var: str
    check: Check = check_text
    secret: bool = False
    required: bool = True
    hint: str = ""

    @property
    def prompt(self) -> str:
        """The text shown before the answer."""
        hint = f" [{self.hint}]" if self.hint else ""
        return f"{self.label}{hint}: "

    def validate(self, value: Any) -> Any:
        """Check a value given by env var or config file (non-strings are left to the tap)."""
        return self.check(value) if isinstance(value, str) else value


def schema_types(schema: Mapping[str, Any]) -> set[str]:
    """The JSON-schema types of a setting, ``null`` left out."""
    declared = schema.get("type", [])
    types = {declared} if isinstance(declared, str) else set(declared)
    for alternative in schema.get("anyOf", []) + schema.get("oneOf", []):
        if isinstance(alternative, dict):
            types |= schema_types(alternative)
    return types - {"null"}


def is_plain_setting(schema: Mapping[str, Any]) -> bool:
    """A setting one can type on one line (no objects or arrays)."""
    types = schema_types(schema)
    return bool(types) and types <= {"string", "integer", "number", "boolean"}


def check_for_setting(name: str, schema: Mapping[str, Any]) -> Check:
    """The check that fits a setting's schema (enum, integer, boolean, URL...)."""
    if schema.get("enum"):
        return check_choice([c for c in schema["enum"] if c is not None])
    types = schema_types(schema)
    if "string" not in types:
        if "integer" in types:
            return check_integer
        if "number" in types:
            return check_number
        if "boolean" in types:
            return check_boolean
    if schema.get("format") == "uri" or (
            (name == "url" or name.endswith("_url")) and "sqlalchemy" not in name):
        return check_url  # (an SQLAlchemy URL is ``mssql+pyodbc://...``, not http)
    if schema.get("format") == "uuid":
        return check_uuid
    return check_text


_ACRONYMS = {"url", "uri", "api", "id", "guid", "uuid", "sql", "http", "https", "ssl", "tls",
             "ip", "ftp", "sku", "ean", "vat"}


def setting_label(name: str, platform: str = "") -> str:
    """``shop_url`` -> ``Shoper shop URL`` (or ``Shop URL`` without a platform)."""
    words = [w.upper() if w in _ACRONYMS else w for w in name.replace("-", "_").split("_") if w]
    text = " ".join(words)
    if platform:
        return f"{platform} {text}"
    return text[:1].upper() + text[1:]


def is_secret(schema: Mapping[str, Any]) -> bool:
    """singer-sdk marks secrets with ``secret``/``writeOnly``."""
    return bool(schema.get("secret") or schema.get("writeOnly"))


def question_for_setting(name: str, schema: Mapping[str, Any], env_prefix: str, *,
                         required: bool = True, hint: str = "", platform: str = ""
                         ) -> Question:
    """A question built from a tap's setting: its title, first example and type."""
    secret = is_secret(schema)
    label = schema.get("title") or setting_label(name, platform)
    examples = schema.get("examples") or []
    if examples and not secret:
        label += f" (e.g. {examples[0]})"
    elif schema.get("enum"):
        label += " (" + " / ".join(str(c) for c in schema["enum"] if c is not None) + ")"
    if not required and not hint:
        hint = "empty: keep the default"
    return Question(key=name, label=label, env_var=env_prefix + name.upper().replace("-", "_"),
                    check=check_for_setting(name, schema), secret=secret, required=required,
                    hint=hint)


class Prompter:
    """Asks questions on stderr and reads answers from stdin, a terminal or a pipe."""

    def __init__(self, stdin: TextIO | None = None, stderr: TextIO | None = None,
                 interactive: bool | None = None) -> None:
        self.stdin = stdin or sys.stdin
        self.stderr = stderr or sys.stderr
        self.interactive = self.stdin.isatty() if interactive is None else interactive
        #: said once, before the first question (what will be asked, and why)
        self.intro: list[str] = []

    def say(self, text: str) -> None:
        """A line for the person answering."""
        self.stderr.write(text + "\n")
        self.stderr.flush()

    def _read(self, question: Question) -> str | None:
        """One raw answer; None when the input has ended."""
        if self.interactive and question.secret:
            try:
                return getpass.getpass(question.prompt, stream=self.stderr)
            except EOFError:
                return None
        self.stderr.write(question.prompt)
        self.stderr.flush()
        line = self.stdin.readline()
        if not self.interactive:
            # Nothing echoes a piped answer: end the prompt's line ourselves.
            self.stderr.write("\n")
            self.stderr.flush()
        if not line:
            return None
        return line.rstrip("\r\n")

    def ask(self, question: Question) -> Any:
        """The checked answer; None for an empty answer to an optional question.

        Raises AnswerError when the input ends, or on a pipe when the answer is empty or bad.
        """
        for line in self.intro:
            self.say(line)
        self.intro = []
        while True:
            raw = self._read(question)
            if raw is None:
                raise AnswerError(
                    f"{question.label}: no answer (the input ended). Answer it on stdin or "
                    f"set {question.env_var}.")
            if not raw.strip():
                if not question.required:
                    return None
                problem = "an answer is required"
            else:
                try:
                    return question.check(raw)
                except InvalidAnswerError as exc:
                    problem = str(exc)
            if not self.interactive:
                raise AnswerError(f"{question.label}: {problem}.")
            self.say(f"  {problem}; try again.")
