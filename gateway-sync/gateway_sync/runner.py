"""gateway-sync: ask for what is missing, then run ``<tap> | target-gateway`` and report.

``gateway-sync TAP`` is the entry point of every integration's Docker image
(``docker run -i IMAGE`` runs ``gateway-sync tap-<platform>``), and works the same outside
Docker. It

1. asks, on stderr, for the Gateway token signing key, the shop guid, then the tap's settings
   (which ones: see :mod:`gateway_sync.prompts`), skipping every value already given by an
   env var in the singer-sdk convention (``TARGET_GATEWAY_SHOP_GUID``, ``TAP_SHOPER_PASSWORD``,
   ...) or by a config file in ``--config-dir`` (``tap.json``, ``target.json``), so that the
   same image runs unattended on a schedule;
2. writes both configs to a private temporary directory (0700, files 0600; secrets never go on
   a command line) that is removed on exit, also on Ctrl-C and SIGTERM;
3. runs the tap and the target with ``--config <file> --config ENV`` (so every other setting,
   such as ``TARGET_GATEWAY_API_URL``, can come from the environment; the tap must be a
   singer-sdk tap) and singer-sdk's structured logging (:mod:`gateway_sync.child_logs`), and
   turns their log records into what the operator reads (:mod:`gateway_sync.pipeline`):
   progress, warnings and errors, the target's summary, and a final OK / PARTIAL / FAILED
   line naming the side that failed. Every line printed and the report kept are redacted of
   the signing key and of the tap's secrets (each setting its ``--about`` schema marks
   ``secret``/``writeOnly``), in every encoded form (:mod:`commerce_schema.redact`);
4. with a state directory (``--state-dir`` or ``GATEWAY_SYNC_STATE_DIR``; ``/data`` in the
   images) passes ``state.json`` to the tap and replaces it (atomically) with the last STATE
   the target printed, whatever the outcome: the target prints STATE only for what it has
   written and withholds it after a failed write, so a partial or interrupted run keeps
   exactly what is safe (dry runs keep nothing). It keeps the target's ``report.json`` there,
   uses ``category-mapping.csv`` from there (or the file named by
   ``GATEWAY_SYNC_CATEGORY_MAPPING``), and without a mapping leaves
   ``category-mapping.template.csv`` there to fill, while the run imports the products
   without categories.

gateway-sync imports nothing from target-gateway or from any tap: it knows them only by their
command line (``--about --format=json``, ``--config``, ``--state``), their stdout (Singer
STATE) and their stderr (log records). The tap and ``target-gateway`` are looked up on PATH,
then next to the Python running gateway-sync (its virtualenv's ``bin``). Exit codes, like
target-gateway's: 0 all written (OK); 1 a side failed (FAILED); 2 a missing or invalid
setting, nothing was run; 3 some products failed and the rest were written (PARTIAL);
130/143 interrupted by SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from commerce_schema.redact import redact

from gateway_sync.child_logs import LOG_CONFIG_ENV, supports_structured_logging, write_log_config
from gateway_sync.pipeline import Outcome, Output, Pipeline, Side
from gateway_sync.prompts import (
    AnswerError,
    InvalidAnswerError,
    Prompter,
    Question,
    check_signing_key,
    check_uuid,
    is_plain_setting,
    is_secret,
    question_for_setting,
)

TARGET = "target-gateway"
TARGET_ENV_PREFIX = "TARGET_GATEWAY_"
STATE_FILE = "state.json"
REPORT_FILE = "report.json"
MAPPING_FILE = "category-mapping.csv"
TEMPLATE_FILE = "category-mapping.template.csv"
ABOUT_TIMEOUT_SECONDS = 120
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3

#: target-gateway's settings that are secrets (its --about marks only this one)
TARGET_SECRETS = ("signing_key",)
TARGET_QUESTIONS = (
    Question("signing_key", "Gateway token signing key (base64)", "TARGET_GATEWAY_SIGNING_KEY",
             check_signing_key, secret=True),
    Question("shop_guid", "Shop guid (UUID)", "TARGET_GATEWAY_SHOP_GUID", check_uuid),
)


class UsageError(Exception):
    """A setting or a file the run needs is missing or wrong; nothing was run."""


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived before or after the pipeline ran."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_interrupted(signum: int, _frame: FrameType | None) -> None:
    raise Interrupted(signum)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line: a tap name and a few flags."""
    parser = argparse.ArgumentParser(
        prog="gateway-sync",
        description="Ask for the Gateway key, the shop guid and the tap's settings (unless "
                    "given by env vars or config files), then run TAP | target-gateway.")
    parser.add_argument("tap", help="the tap to run, e.g. tap-shoper")
    parser.add_argument("--ask-optional", action="store_true",
                        help="also ask for the tap's optional settings")
    parser.add_argument("--state-dir", type=Path,
                        default=os.environ.get("GATEWAY_SYNC_STATE_DIR") or None,
                        help="keep Singer state, the category mapping and the last report "
                             "here (default: $GATEWAY_SYNC_STATE_DIR)")
    parser.add_argument("--config-dir", type=Path, default=None,
                        help="read tap.json and target.json from here "
                             "(default: $GATEWAY_SYNC_CONFIG_DIR when it exists)")
    parser.add_argument("--dry-run", action="store_true",
                        help="the target checks everything but writes nothing to the Gateway")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="show the tap's and the target's INFO logs too")
    return parser.parse_args(argv)


def find_executable(name: str) -> str:
    """``name`` on PATH, else next to this Python (the virtualenv gateway-sync runs from)."""
    found = shutil.which(name)
    if found:
        return found
    sibling = Path(sys.executable).parent / name
    if sibling.is_file() and os.access(sibling, os.X_OK):
        return str(sibling)
    raise UsageError(f"{name} is not installed (not found on PATH).")


def env_prefix(plugin_name: str) -> str:
    """singer-sdk's env var prefix: ``tap-shoper`` -> ``TAP_SHOPER_``."""
    return plugin_name.upper().replace("-", "_") + "_"


def platform_name(tap_name: str) -> str:
    """``tap-shoper`` -> ``Shoper``: how prompts name the platform."""
    base = tap_name.removeprefix("tap-").replace("-", " ").replace("_", " ")
    return base[:1].upper() + base[1:]


def read_about(executable: str, name: str, env: Mapping[str, str]) -> dict[str, Any]:
    """The tap's ``--about --format=json``: its name and settings schema."""
    try:
        done = subprocess.run([executable, "--about", "--format=json"], env=dict(env),
                              stdin=subprocess.DEVNULL, capture_output=True, check=False,
                              timeout=ABOUT_TIMEOUT_SECONDS)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UsageError(f"cannot run {name} --about: {exc.__class__.__name__}") from None
    try:
        about = json.loads(done.stdout)
    except ValueError:
        about = None
    if done.returncode != 0 or not isinstance(about, dict):
        last = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise UsageError(f"{name} --about --format=json failed (exit {done.returncode})"
                         + ("".join(f"\n  {line}" for line in last)))
    return about


def load_config(path: Path) -> dict[str, Any]:
    """A mounted config file (JSON object)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read {path}: {exc.__class__.__name__}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path} must hold a JSON object")
    return data


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
        """Whether an env var or the config file already sets ``key``."""
        return bool(self.env.get(self.env_var(key))) or self.config.get(key) not in (None, "")

    def obtain(self, question: Question) -> Any:
        """Check a given value, or ask; returns what was asked (None if given or skipped)."""
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

    def register_secrets(self, keys: Iterable[str]) -> None:
        """Have the redactor mask these settings' values, wherever they came from."""
        for key in keys:
            for value in (self.env.get(self.env_var(key)), self.config.get(key),
                          self.asked.get(key)):
                if isinstance(value, str):
                    redact.add(value)


def declared_alternatives(schema: Mapping[str, Any]) -> list[list[str]] | None:
    """Credential alternatives the tap declares (hint first, then anyOf/oneOf); None if none."""
    hint = schema.get("x-gateway-sync")
    if isinstance(hint, dict) and isinstance(hint.get("alternatives"), list):
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


def ask_tap_settings(settings: Settings, schema: Mapping[str, Any], *, platform: str,
                     ask_optional: bool) -> None:
    """Ask for the tap's required settings, one credential alternative, optional ones."""
    props: dict[str, Any] = schema.get("properties", {})
    required_names = set(schema.get("required", []))
    required = [name for name in props if name in required_names]
    declared = declared_alternatives(schema)
    alternatives = [names for names in (
        [n for n in alt if n in props and n not in required]
        for alt in (declared if declared is not None else guessed_alternatives(props, required))
    ) if names]

    def question(name: str, **kwargs: Any) -> Question:
        return question_for_setting(name, props[name], settings.prefix, platform=platform,
                                    **kwargs)

    for name in required:
        settings.obtain(question(name))
    if alternatives and not any(all(settings.given(n) for n in alt) for alt in alternatives):
        started = next((alt for alt in alternatives if any(settings.given(n) for n in alt)),
                       None)
        if started is not None:
            for name in started:
                settings.obtain(question(name))
        else:
            for index, alternative in enumerate(alternatives):
                last = index == len(alternatives) - 1
                hint = "" if last else (
                    "empty: use " + " + ".join(alternatives[index + 1]) + " instead")
                if settings.obtain(question(alternative[0], required=last, hint=hint)) is None:
                    continue
                for name in alternative[1:]:
                    settings.obtain(question(name))
                break
    if ask_optional:
        skip = set(required) | {n for alt in alternatives for n in alt} | sdk_builtin_settings()
        for name, setting in props.items():
            if name not in skip and is_plain_setting(setting) and not settings.given(name):
                settings.obtain(question(name, required=False))


def write_private_json(path: Path, data: Mapping[str, Any]) -> None:
    """A JSON file only this user can read (it may hold secrets)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False)


def save_text_atomically(path: Path, text: str) -> None:
    """Replace ``path`` in one step, so a crash never leaves half a state file."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with partial.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def prepare_state_dir(state_dir: Path | None) -> Path | None:
    """The state directory, created if needed and checked writable before anything runs."""
    if state_dir is None:
        return None
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create the state directory {state_dir}: "
                         f"{exc.strerror}") from None
    if not os.access(state_dir, os.W_OK | os.X_OK):
        raise UsageError(f"the state directory {state_dir} is not writable by this user "
                         f"(uid {os.getuid()})")
    state_file = state_dir / STATE_FILE
    if state_file.exists():
        try:
            json.loads(state_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise UsageError(f"{state_file} is not valid JSON: fix or delete it "
                             "(without it the next run reads everything again)") from None
    return state_dir


def resolve_config_dir(explicit: Path | None, env: Mapping[str, str]) -> Path | None:
    """``--config-dir`` must exist; ``$GATEWAY_SYNC_CONFIG_DIR`` is used only if it does."""
    if explicit is not None:
        if not explicit.is_dir():
            raise UsageError(f"--config-dir {explicit} is not a directory")
        return explicit
    from_env = env.get("GATEWAY_SYNC_CONFIG_DIR")
    if from_env and Path(from_env).is_dir():
        return Path(from_env)
    return None


def configure_mapping(config: dict[str, Any], env: Mapping[str, str], state_dir: Path | None,
                      private_dir: Path) -> Path | None:
    """Point the target at a category mapping, or ask it for a template; the template path."""
    if env.get(TARGET_ENV_PREFIX + "CATEGORY_MAPPING_FILE") or config.get("category_mapping_file"):
        return None
    named = env.get("GATEWAY_SYNC_CATEGORY_MAPPING")
    if named:
        if not Path(named).is_file():
            raise UsageError(f"GATEWAY_SYNC_CATEGORY_MAPPING names {named}, which is not a file")
        config["category_mapping_file"] = named
        return None
    if state_dir is not None and (state_dir / MAPPING_FILE).is_file():
        config["category_mapping_file"] = str(state_dir / MAPPING_FILE)
        return None
    if (env.get(TARGET_ENV_PREFIX + "CATEGORY_MAPPING_TEMPLATE")
            or config.get("category_mapping_template")):
        return None
    template = (state_dir or private_dir) / TEMPLATE_FILE
    config["category_mapping_template"] = str(template)
    config["mapping_template_only"] = False
    return template


def secret_settings(schema: Mapping[str, Any]) -> list[str]:
    """The settings a plugin's schema marks ``secret``/``writeOnly``."""
    props = schema.get("properties")
    return [name for name, setting in (props or {}).items()
            if isinstance(setting, Mapping) and is_secret(setting)]


def read_report(path: Path) -> dict[str, Any] | None:
    """The target's JSON report, if it wrote one."""
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return report if isinstance(report, dict) else None


def describe_exit(side: Side) -> str:
    """``tap-shoper exited 1`` / ``... was killed by signal 15``."""
    code = side.returncode
    if code is not None and code < 0:
        return f"{side.name} was killed by signal {-code}"
    return f"{side.name} exited {code}"


def verdict(outcome: Outcome, report: Mapping[str, Any] | None) -> tuple[int, str]:
    """The exit code and the final line: OK, PARTIAL or FAILED, and which side failed.

    The target's outcome comes from its summary log record, else from its report file.
    """
    tap, target = outcome.tap, outcome.target
    records = sum(outcome.records.values())
    if tap.returncode == 0 and target.returncode == 0:
        return EXIT_OK, f"OK: {tap.name} read {records} records, {target.name} wrote them."
    told = outcome.summary or report or {}
    if tap.returncode == 0:
        if told.get("status") == "partial":
            counts = told.get("counts")
            failed = counts.get("failed", "some") if isinstance(counts, dict) else "some"
            return EXIT_PARTIAL, (f"PARTIAL: {describe_exit(target)}; {failed} failed, the "
                                  "rest was written (see above).")
        return EXIT_FAILED, f"FAILED: {describe_exit(target)} (see its errors above)."
    if outcome.tap_stopped and target.returncode != 0:
        return EXIT_FAILED, (f"FAILED: {describe_exit(target)} (see its errors above); "
                             f"{tap.name} was stopped after {records} records.")
    target_part = ("finished with what it got" if target.returncode == 0
                   else describe_exit(target))
    return EXIT_FAILED, (f"FAILED: {describe_exit(tap)} after {records} records (see its "
                         f"errors above); {target.name} {target_part}.")


def show_quiet_failure(out: Output, side: Side) -> None:
    """A side failed without a warning or error on stderr: show its last log lines."""
    if side.returncode not in (0, None) and side.forwarded == 0 and side.tail:
        out.line(f"Last lines of {side.name}'s log:")
        for line in side.tail:
            out.line(f"  {line}")


def sync(args: argparse.Namespace, prompter: Prompter, out: Output) -> int:
    """Everything between the command line and the exit code."""
    env = dict(os.environ)
    tap_exe = find_executable(args.tap)
    target_exe = find_executable(TARGET)
    state_dir = prepare_state_dir(args.state_dir)
    config_dir = resolve_config_dir(args.config_dir, env)
    files = {name: config_dir / f"{name}.json" if config_dir else None
             for name in ("tap", "target")}
    configs = {name: load_config(path) if path and path.is_file() else {}
               for name, path in files.items()}

    about = read_about(tap_exe, args.tap, env)
    tap_name = str(about.get("name") or Path(args.tap).name)
    target = Settings(env, configs["target"], TARGET_ENV_PREFIX, prompter,
                      str(files["target"] or "target.json"))
    tap = Settings(env, configs["tap"], env_prefix(tap_name), prompter,
                   str(files["tap"] or "tap.json"))
    for question in TARGET_QUESTIONS:
        target.obtain(question)
    ask_tap_settings(tap, about.get("settings") or {}, platform=platform_name(tap_name),
                     ask_optional=args.ask_optional)
    target.register_secrets(TARGET_SECRETS)
    tap.register_secrets(secret_settings(about.get("settings") or {}))
    for settings in (target, tap):
        for key in settings.asked:  # an empty env var would override the answer
            env.pop(settings.env_var(key), None)

    with tempfile.TemporaryDirectory(prefix="gateway-sync-") as private:
        private_dir = Path(private)
        target_config = target.merged()
        if not (env.get(TARGET_ENV_PREFIX + "REPORT_FILE") or target_config.get("report_file")):
            target_config["report_file"] = str(private_dir / REPORT_FILE)
        report_path = Path(env.get(TARGET_ENV_PREFIX + "REPORT_FILE")
                           or target_config["report_file"])
        template = configure_mapping(target_config, env, state_dir, private_dir)
        if args.dry_run:
            target_config["dry_run"] = True
        write_private_json(private_dir / "target.json", target_config)
        write_private_json(private_dir / "tap.json", tap.merged())
        # Both sides log one JSON object per line, read as data (gateway_sync.child_logs);
        # a tap that does not declare structured logging keeps its own (text) logging.
        target_env = {**env, LOG_CONFIG_ENV: str(write_log_config(private_dir))}
        tap_env = target_env if supports_structured_logging(about) else env

        tap_command = [tap_exe, "--config", str(private_dir / "tap.json"), "--config", "ENV"]
        state_file = state_dir / STATE_FILE if state_dir else None
        continuing = bool(state_file and state_file.is_file())
        if continuing:
            tap_command += ["--state", str(state_file)]
        target_command = [target_exe, "--config", str(private_dir / "target.json"),
                          "--config", "ENV"]
        out.line(f"gateway-sync: running {tap_name} | {TARGET}"
                 + (f", continuing from {state_file}" if continuing else ""))

        pipeline = Pipeline(tap_command, target_command, tap_name=tap_name, target_name=TARGET,
                            env=target_env, tap_env=tap_env, output=out, verbose=args.verbose,
                            hide_text=private)
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda s, _f: pipeline.forward_signal(s))
        try:
            outcome = pipeline.run()
        except OSError as exc:
            raise UsageError(f"cannot start {tap_name} | {TARGET}: {exc.strerror}") from None
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, _raise_interrupted)
        return finish(outcome, out, report_path=report_path, state_dir=state_dir,
                      template=template, dry_run=args.dry_run)


def finish(outcome: Outcome, out: Output, *, report_path: Path, state_dir: Path | None,
           template: Path | None, dry_run: bool) -> int:
    """Store state and report, print the summary and the verdict; the exit code."""
    report = read_report(report_path)
    for side in (outcome.tap, outcome.target):
        show_quiet_failure(out, side)
    if report is None and outcome.interrupted is None:
        out.line(f"{outcome.target.name} wrote no report.")
    if state_dir is not None:
        if report is not None:
            save_text_atomically(state_dir / REPORT_FILE,
                                 redact(json.dumps(report, ensure_ascii=False, indent=2)) + "\n")
            out.line(f"Report: {state_dir / REPORT_FILE}")
        if outcome.last_state is not None and not dry_run:
            # the target's STATE, byte for byte: masking a value that happens to look like
            # a secret's encoding would corrupt a bookmark (a STATE holds no settings)
            save_text_atomically(state_dir / STATE_FILE,
                                 json.dumps(outcome.last_state, ensure_ascii=False))
            out.line(f"State saved to {state_dir / STATE_FILE}: the next run continues from it.")
    if template is not None and template.exists() and outcome.interrupted is None:
        if state_dir is not None:
            out.line(f"No category mapping yet: products were imported without categories. "
                     f"Fill {template} and save it as {state_dir / MAPPING_FILE}; "
                     "the next run uses it.")
        else:
            out.line("No category mapping: products were imported without categories. Run "
                     "with --state-dir DIR (in Docker: mount a volume on /data) to get a "
                     "mapping template to fill.")
    if dry_run:
        out.line("Dry run: nothing was written to the Gateway and the state was not saved.")
    if outcome.interrupted is not None:
        out.line(f"gateway-sync: INTERRUPTED by signal {outcome.interrupted}; "
                 "what the target confirmed so far is kept.")
        return 128 + outcome.interrupted
    code, line = verdict(outcome, report)
    out.line(f"gateway-sync: {line}")
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``gateway-sync``."""
    args = parse_args(argv)
    out = Output(sys.stderr)
    previous = {signum: signal.signal(signum, _raise_interrupted)
                for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        return sync(args, Prompter(), out)
    except UsageError as exc:
        out.line(f"gateway-sync: {exc}")
        return EXIT_USAGE
    except AnswerError as exc:
        out.line(f"gateway-sync: {exc} Nothing was run.")
        return EXIT_USAGE
    except Interrupted as exc:
        out.line(f"\ngateway-sync: interrupted by signal {exc.signum}; nothing more was run.")
        return 128 + exc.signum
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


if __name__ == "__main__":
    sys.exit(main())
