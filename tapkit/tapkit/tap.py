"""The tap base: every configuration problem at once in plain words, clean exit codes, secrets
registered for redaction, and a report when the run ends.

singer-sdk says "Config validation failed" after JSON-schema messages such as
``100 is greater than the maximum of 50 in config['page_size']``, prints a traceback for a
config file that is not JSON, and has no hook after ``Tap.sync_all`` (which is final). This
base uses only public points of the SDK instead (each pinned by ``tapkit/tests``):

- ``Tap.__init__``: the SDK validates the config against the schema there and raises
  ``ConfigValidationError`` after storing it; the base catches that, and (also when the
  schema is satisfied) raises :class:`ConfigProblemsError` with the schema's problems
  rephrased plus the tap's own :meth:`ContractTap.config_problems`, all at once.
- ``Tap.cli``: the SDK's click command; the base wraps its callback (exit codes, one clear
  line instead of a traceback) and overrides ``cb_config``, the public ``--config`` callback.
- ``Stream.log_sync_costs``: called once per stream after all streams have synced; the
  contract streams report there and the last one calls :meth:`ContractTap.sync_finished`.

Exit codes of every tap: :data:`EXIT_OK` 0 (done; rows skipped by mapping are named in
ERROR lines and counted in the final line, but a run that read the shop completely is 0),
:data:`EXIT_FAILED` 1 (the platform refused, kept failing or answered nonsense: one ERROR
line saying what to check), :data:`EXIT_BAD_CONFIG` 2 (a configuration to fix: config,
state or catalog file missing or not JSON, or settings that cannot work).
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import functools
import io
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, cast

import click
import requests
from commerce_schema.redact import install_log_redaction, redact
from commerce_schema.settings import unknown_setting_problems
from jsonschema import Draft7Validator, FormatChecker, ValidationError
from singer_sdk import Tap
from singer_sdk.cli import plugin_cli
from singer_sdk.exceptions import (
    ConfigurationError,
    ConfigValidationError,
    FatalAPIError,
    RetriableAPIError,
)

from tapkit.logs import quiet_sdk
from tapkit.state import SOURCE_KEY, check_state, normalise_url, source_identity
from tapkit.streams import ContractStream

if TYPE_CHECKING:
    from singer_sdk.streams import Stream

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_CONFIG = 2

#: date-time as singer-sdk reads it (ISO 8601, "Z" allowed); jsonschema checks this format
#: only with an optional package, so the kit checks it itself
_FORMATS = FormatChecker(formats=())


@_FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if isinstance(value, str):
        dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    return True


_TYPE_WORDS = {"string": "text", "integer": "a whole number", "number": "a number",
               "boolean": "true or false", "array": "a list", "object": "an object",
               "null": "empty"}


class ConfigProblemsError(ConfigValidationError):
    """Settings that cannot work; ``errors`` holds one plain sentence per problem."""


class ContractTap(Tap):
    """Base of every tap: set ``platform_name``; override :meth:`config_problems`."""

    #: the platform as users know it, e.g. "Shoper" ("above Shoper's maximum of 50")
    platform_name: ClassVar[str] = "the platform"

    #: settings whose values say which shop this is (see :meth:`source_identity_parts`)
    source_settings: ClassVar[tuple[str, ...]] = ("shop_url", "store_url", "feed_url")
    #: setting names accepted besides the schema's and singer-sdk's built-in ones
    extra_settings: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, validate_config: bool = True, **kwargs: Any) -> None:
        quiet_sdk()
        try:
            super().__init__(validate_config=validate_config, **kwargs)
        except ConfigValidationError:
            # The SDK stored the config before it validated it; explain everything at once.
            self._tapkit_raise_problems()
            raise  # pragma: no cover - _tapkit_raise_problems always raises here
        self._tapkit_register_secrets()
        if validate_config:
            self._tapkit_raise_problems(only_if_any=True)
        self._tapkit_reported: set[str] = set()

    # -- configuration -----------------------------------------------------------------------
    def config_problems(self) -> list[str]:
        """The tap's own checks, in plain words (what a schema says badly: one of two ways to
        authenticate, a URL's form). Default: none."""
        return []

    @classmethod
    def known_settings(cls) -> set[str]:
        """Every setting name the tap accepts: its schema's, singer-sdk's built-in ones
        (``stream_maps``, ``flattening_enabled``, ``batch_config``, ... as
        ``append_builtin_config`` adds them) and :attr:`extra_settings`."""
        schema = copy.deepcopy(cls.config_jsonschema)
        cls.append_builtin_config(schema)
        return {*schema.get("properties", {}), *cls.extra_settings}

    def all_config_problems(self) -> list[str]:
        """Every problem of the configuration: unknown names (with the name probably
        meant), the schema's, rephrased, then the tap's."""
        problems = unknown_setting_problems(list(self.config), self.known_settings())
        validator = Draft7Validator(self.config_jsonschema, format_checker=_FORMATS)
        errors = sorted(validator.iter_errors(dict(self.config)),
                        key=lambda e: [str(p) for p in e.absolute_path])
        problems += [self.explain(e) for e in errors]
        required = self.config_jsonschema.get("required", [])
        problems += [f"{name} is missing." for name in required
                     if isinstance(self.config.get(name), str) and not self.config[name].strip()]
        # a tap's check tripping over a value the schema already named adds nothing
        with contextlib.suppress(KeyError, TypeError, ValueError, AttributeError):
            problems += self.config_problems()
        return [redact(p) for p in dict.fromkeys(problems)]

    def explain(self, error: ValidationError) -> str:
        """One JSON-schema error in plain words (never echoing a secret setting's value)."""
        path = [str(p) for p in error.absolute_path]
        setting = ".".join(path)
        prop = self.config_jsonschema.get("properties", {}).get(path[0], {}) if path else {}
        shown = "" if prop.get("secret") else f" {error.instance!r}"
        kind = error.validator
        if kind == "required":
            missing = [n for n in error.validator_value if n not in (error.instance or {})]
            name = ".".join([*path, missing[0]]) if missing else setting
            return f"{name} is missing."
        if kind == "maximum":
            return (f"{setting}{shown} is above {self.platform_name}'s maximum of "
                    f"{error.validator_value}.")
        if kind == "minimum":
            return f"{setting}{shown} is below the minimum of {error.validator_value}."
        if kind == "type":
            wanted = error.validator_value
            kinds = [str(t) for t in (wanted if isinstance(wanted, list) else [wanted])]
            words = " or ".join(_TYPE_WORDS.get(t, t) for t in kinds if t != "null")
            return f"{setting} must be {words}" + (f" (got{shown})." if shown else ".")
        if kind == "format" and error.validator_value == "date-time":
            return (f"{setting}{shown} is not a date and time such as "
                    "2024-01-31T00:00:00Z.")
        if kind == "enum":
            options = ", ".join(str(v) for v in error.validator_value)
            return f"{setting} must be one of {options}" + (f" (got{shown})." if shown else ".")
        if not path:
            return f"the configuration does not fit its schema ({kind})."
        return f"{setting} is not valid ({kind})" + (f":{shown}." if shown else ".")

    # -- the state ---------------------------------------------------------------------------
    def source_identity_parts(self) -> list[str]:
        """The values that say which shop this is (URLs normalised, see
        :func:`tapkit.state.normalise_url`): those of :attr:`source_settings` that are set.
        Override when the platform's URL has its own normal form (tap-shoper drops a pasted
        ``/webapi/rest``) or the source is not a URL (a database: host and name)."""
        parts = []
        for name in self.source_settings:
            value = self.config.get(name)
            if value not in (None, ""):
                text = str(value)
                parts.append(f"{name}={normalise_url(text) if '://' in text else text.strip()}")
        return parts

    def source_identity(self) -> str | None:
        """``sha256:...`` of :meth:`source_identity_parts` (never a URL or secret itself);
        None when the tap has none (then states are not checked)."""
        return source_identity(self.source_identity_parts())

    def load_state(self, state: dict[str, Any]) -> None:
        """The SDK's ``load_state`` (its documented validation hook) on the part of the state
        that can be trusted (see :mod:`tapkit.state`: a state of another shop or tap is
        refused, a broken bookmark is one WARNING line and a full sync of its stream), then
        this source's identity is written into the state every STATE message carries."""
        identity = self.source_identity() if isinstance(state, dict) else None
        where = ", ".join(str(self.config.get(n)) for n in self.source_settings
                          if self.config.get(n) and not self._is_secret(n)) or "this source"
        trusted, warnings = check_state(state if isinstance(state, dict) else {},
                                        tap=self.name, identity=identity, where=redact(where))
        for warning in warnings:
            self.logger.warning("%s", warning)
        super().load_state(trusted)
        if identity:  # the SDK types its state as {"bookmarks"}; STATE messages carry it all
            cast("dict[str, Any]", self.state)[SOURCE_KEY] = {"tap": self.name, "id": identity}

    def _is_secret(self, name: str) -> bool:
        spec = self.config_jsonschema.get("properties", {}).get(name, {})
        return bool(spec.get("secret"))

    def _tapkit_register_secrets(self) -> None:
        """Every ``secret: true`` setting's value is masked in every log line from now on."""
        properties = self.config_jsonschema.get("properties", {})
        redact.add(*[str(self.config[name]) for name, spec in properties.items()
                     if spec.get("secret") and self.config.get(name)])
        install_log_redaction()

    def _tapkit_raise_problems(self, *, only_if_any: bool = False) -> None:
        self._tapkit_register_secrets()
        problems = self.all_config_problems()
        if problems or not only_if_any:
            raise ConfigProblemsError("the configuration has problems",
                                      errors=problems or ["the configuration is not valid."],
                                      schema=self.config_jsonschema)

    # -- the end of the run ------------------------------------------------------------------
    def stream_costs_logged(self, stream: Stream) -> None:
        """Called by every contract stream at the end of ``sync_all``; once all have been,
        :meth:`sync_finished` runs."""
        self._tapkit_reported.add(stream.name)
        contract = {s.name for s in self.streams.values() if isinstance(s, ContractStream)}
        if contract <= self._tapkit_reported:
            self._tapkit_reported = set()
            self.sync_finished()

    def sync_finished(self) -> None:
        """One line per synced stream, then the final line: a WARNING naming the count of
        skipped rows when there were any (a runner greps or parses it), else INFO."""
        counts: dict[str, int] = {}
        skipped: dict[str, int] = {}
        repaired: dict[str, int] = {}
        for stream in self.streams.values():
            if isinstance(stream, ContractStream) and (stream.emitted or stream.skipped):
                counts[stream.name], skipped[stream.name] = stream.emitted, stream.skipped
                repaired[stream.name] = stream.repaired
                self.logger.info("%s: %d records emitted, %d skipped%s", stream.name,
                                 stream.emitted, stream.skipped,
                                 f" ({stream.repaired} with repaired text)"
                                 if stream.repaired else "")
        extra = {"records": counts, "skipped_records": skipped,
                 "repaired_records": {k: v for k, v in repaired.items() if v}}
        total = sum(skipped.values())
        if total:
            listed = ", ".join(f"{n} {name}" for name, n in skipped.items() if n)
            self.logger.warning("Finished with %d records skipped (%s): each is named in an "
                                "ERROR line above", total, listed, extra=extra)
        else:
            self.logger.info("Finished: no records skipped", extra=extra)

    # -- the command line --------------------------------------------------------------------
    @classmethod
    def cb_config(cls, ctx: click.Context, param: click.Option, value: tuple[str, ...]
                  ) -> Any:
        """``--config``: a file that is missing, not JSON or not an object is one clear line
        and exit 2, not a traceback."""
        for path in value:
            if path == "ENV":
                continue
            problem = _json_object_problem("config", path, functools.partial(_read, path))
            if problem:
                cls.logger.error("%s", problem)
                ctx.exit(EXIT_BAD_CONFIG)
        return super().cb_config(ctx, param, value)

    @plugin_cli
    def cli(cls) -> click.Command:  # noqa: N805 - the SDK's own ``cli`` is written so
        """The SDK's command line with the kit's exit codes and one-line errors."""
        command = super().cli
        command.callback = _guarded(cast("type[ContractTap]", cls), command.callback)
        return command


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def _json_object_problem(kind: str, name: str, read: Callable[[], str]) -> str | None:
    """None when the file holds a JSON object; else the one line that says what is wrong."""
    try:
        document = json.loads(read())
    except FileNotFoundError:
        return f"The {kind} file {name} does not exist; nothing was run."
    except OSError as exc:
        return f"The {kind} file {name} cannot be read ({exc.strerror}); nothing was run."
    except ValueError as exc:
        return f"The {kind} file {name} is not valid JSON ({exc}); nothing was run."
    if not isinstance(document, dict):
        return (f"The {kind} file {name} holds a JSON {type(document).__name__}, not an "
                "object; nothing was run.")
    return None


def _guarded(tap: type[ContractTap], invoke: Callable[..., Any] | None) -> Callable[..., Any]:
    """The SDK's ``invoke`` with state/catalog files checked first and known failures as one
    line and an exit code."""
    assert invoke is not None
    logger = tap.logger

    def run(**params: Any) -> Any:
        for kind in ("state", "catalog"):
            handle = params.get(kind)
            if handle is None:
                continue
            text = handle.read()
            problem = _json_object_problem(kind, getattr(handle, "name", kind),
                                           functools.partial(str, text))
            if problem:
                logger.error("%s", problem)
                sys.exit(EXIT_BAD_CONFIG)
            params[kind] = io.StringIO(text)
        try:
            return invoke(**params)
        except ConfigValidationError as exc:
            for error in exc.errors:
                logger.error("Config: %s", redact(str(error)))
            logger.error("%d problem%s in the configuration; nothing was run.",
                         len(exc.errors), "" if len(exc.errors) == 1 else "s")
            sys.exit(EXIT_BAD_CONFIG)
        except ConfigurationError as exc:
            logger.error("%s", redact(str(exc)))
            sys.exit(EXIT_BAD_CONFIG)
        except (FatalAPIError, RetriableAPIError) as exc:
            logger.error("%s", redact(str(exc)))
            sys.exit(EXIT_FAILED)
        except requests.RequestException as exc:  # retries exhausted: unreachable, cut off
            logger.error("could not reach the shop: %s", redact(str(exc)))
            sys.exit(EXIT_FAILED)

    return run
