"""gateway-sync: ask for what is missing, then run ``<tap> | target-gateway`` and report.

``gateway-sync TAP`` is the entry point of every integration's Docker image
(``docker run -i IMAGE`` runs ``gateway-sync tap-<platform>``), and works the same outside
Docker. It

1. reads both plugins' ``--about --format=json`` and refuses (exit 2) a config key or an env
   var of their prefix that names no setting, with the closest setting as a suggestion, and a
   given value of the wrong type (:mod:`gateway_sync.settings_check`);
2. says which Gateway the run writes to, then asks, on stderr, for the Gateway token signing
   key, the Gateway shop guid, then the tap's settings (which ones: see
   :mod:`gateway_sync.prompts`), skipping every value already given by an env var in the
   singer-sdk convention (``TARGET_GATEWAY_SHOP_GUID``, ``TAP_SHOPER_PASSWORD``, ...) or by a
   config file in ``--config-dir`` (``tap.json``, ``target.json``), so that the same image
   runs unattended on a schedule;
3. holds one lock per state directory and one per Gateway shop guid on this machine
   (:mod:`gateway_sync.locks`): a second run of the same shop stops with exit 2;
4. hands both configs to the children in memory (``/dev/fd/N``, never a file that could
   outlive a SIGKILL), runs them in process groups of their own that die with the runner
   (:mod:`gateway_sync.private_files`), with singer-sdk's structured logging
   (:mod:`gateway_sync.child_logs`), and turns their log records into what the operator reads
   (:mod:`gateway_sync.pipeline`): progress, warnings and errors, the target's summary, and a
   final OK / PARTIAL / FAILED line naming the side that failed. Every line printed and the
   report kept are redacted of the signing key and of the tap's secrets (each setting its
   ``--about`` schema marks ``secret``/``writeOnly``), in every encoded form
   (:mod:`commerce_schema.redact`);
5. with a state directory (``--state-dir`` or ``GATEWAY_SYNC_STATE_DIR``; ``/data`` in the
   images) passes ``state.json`` to the tap, after checking that it is a Singer state and that
   it belongs to this Gateway shop and this source shop (:mod:`gateway_sync.state_dir`), and
   replaces it (atomically) with the last STATE the target printed, whatever the outcome: the
   target prints STATE only for what it has written and withholds it after a failed write, so
   a partial or interrupted run keeps exactly what is safe (dry runs keep nothing). It keeps
   the target's ``report.json`` there, uses ``category-mapping.csv`` from there (or the file
   named by ``GATEWAY_SYNC_CATEGORY_MAPPING``), and without a mapping leaves
   ``category-mapping.template.csv`` there to fill, while the run imports the products
   without categories; but only after a run whose tap succeeded, and never over a template a
   person has edited.

gateway-sync imports nothing from target-gateway or from any tap: it knows them only by their
command line (``--about --format=json``, ``--config``, ``--state``), their stdout (Singer
STATE) and their stderr (log records). The tap and ``target-gateway`` are looked up on PATH,
then next to the Python running gateway-sync (its virtualenv's ``bin``). Exit codes, like
target-gateway's: 0 all written (OK); 1 a side failed (FAILED); 2 a missing or invalid
setting, a busy shop or an unusable state, nothing was run; 3 some products failed and the
rest were written (PARTIAL); 130/143 interrupted by SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import FrameType
from typing import Any

from commerce_schema.redact import redact

from gateway_sync.child_logs import LOG_CONFIG_ENV, supports_structured_logging, write_log_config
from gateway_sync.locks import LockedError, RunLock, shop_lock, state_dir_lock
from gateway_sync.pipeline import Outcome, Output, Pipeline, Side
from gateway_sync.private_files import PrivateDir, remove_stale_private_dirs
from gateway_sync.prompts import (
    AnswerError,
    InvalidAnswerError,
    Prompter,
    Question,
    check_signing_key,
    check_uuid,
    is_secret,
)
from gateway_sync.questions import Settings, UsageError, ask_tap_settings
from gateway_sync.settings_check import bad_values, unknown_settings
from gateway_sync.state_dir import (
    STATE_FILE,
    StateDir,
    StateDirError,
    check_state_file,
    save_text_atomically,
    source_identity,
)

__all__ = ["UsageError", "main", "sync"]

TARGET = "target-gateway"
TARGET_ENV_PREFIX = "TARGET_GATEWAY_"
REPORT_FILE = "report.json"
MAPPING_FILE = "category-mapping.csv"
TEMPLATE_FILE = "category-mapping.template.csv"
ABOUT_TIMEOUT_SECONDS = 120
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3
DEVELOPMENT_GATEWAY = "https://sma.dev.gwapi.eu"

#: target-gateway's settings that are secrets (its --about marks only this one)
TARGET_SECRETS = ("signing_key",)
TARGET_QUESTIONS = (
    Question("signing_key", "Gateway token signing key (base64)", "TARGET_GATEWAY_SIGNING_KEY",
             check_signing_key, secret=True),
    Question("shop_guid", "Gateway shop guid (the marketplace shop to write to, a UUID)",
             "TARGET_GATEWAY_SHOP_GUID", check_uuid),
)


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
    parser.add_argument("--reset-state", action="store_true",
                        help="set the state in --state-dir aside (state.json.old) and read "
                             "everything again: for a state written for another shop")
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
    """A plugin's ``--about --format=json``: its name and settings schema."""
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


def read_abouts(tap: tuple[str, str], target: tuple[str, str], env: Mapping[str, str]
                ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Both plugins' ``--about`` at once (each costs a Python start-up)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        tap_about = pool.submit(read_about, tap[0], tap[1], env)
        target_about = pool.submit(read_about, target[0], target[1], env)
        return tap_about.result(), target_about.result()


def load_config(path: Path) -> dict[str, Any]:
    """A mounted config file (JSON object)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read {path}: {exc.__class__.__name__}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path} must hold a JSON object")
    return data


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
    """Point the target at a category mapping, or ask it for a template; the template path.

    The template is written into the private directory: the runner decides after the run
    whether it may go into the state directory (:meth:`StateDir.install`).
    """
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
    template = private_dir / TEMPLATE_FILE
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


def gateway_line(api_url: str, *, default: bool, dry_run: bool) -> str:
    """Which Gateway the run writes to, said before anything is asked or written."""
    url = api_url.rstrip("/")
    where = (f"the development Gateway {url}" if url == DEVELOPMENT_GATEWAY
             else f"the Gateway at {url}")
    how = ("checking against" if dry_run else "writing to")
    change = (" (the default; TARGET_GATEWAY_API_URL or api_url in target.json names "
              "another)" if default else "")
    return f"gateway-sync: {how} {where}{change}"


def _written(told: Mapping[str, Any]) -> tuple[int, int, int] | None:
    counts = told.get("counts")
    if not isinstance(counts, dict):
        return None
    try:
        return (int(counts.get("created", 0)), int(counts.get("updated", 0)),
                int(counts.get("unchanged", 0)))
    except (TypeError, ValueError):
        return None


def verdict(outcome: Outcome, report: Mapping[str, Any] | None, *, dry_run: bool = False
            ) -> tuple[int, str]:
    """The exit code and the final line: OK, PARTIAL or FAILED, and which side failed.

    The target's outcome comes from its summary log record, else from its report file.
    """
    tap, target = outcome.tap, outcome.target
    records = sum(outcome.records.values())
    told = outcome.summary or report or {}
    if tap.returncode == 0 and target.returncode == 0:
        written = _written(told)
        head = f"OK: {tap.name} read {records} records"
        if written is None:
            return EXIT_OK, f"{head}, {target.name} wrote them."
        created, updated, unchanged = written
        if dry_run:
            return EXIT_OK, (f"OK (dry run): {tap.name} read {records} records; {target.name} "
                             f"would create {created} and update {updated} products; nothing "
                             "was written.")
        if created + updated == 0:
            return EXIT_OK, (f"{head}; nothing needed writing ({unchanged} products "
                             "unchanged).")
        return EXIT_OK, (f"{head}; {target.name} created {created} and updated {updated} "
                         f"products ({unchanged} unchanged).")
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
    target_part = ("handled the records it got" if target.returncode == 0
                   else describe_exit(target))
    return EXIT_FAILED, (f"FAILED: {describe_exit(tap)} after {records} records (see its "
                         f"errors above); {target.name} {target_part}; the shop was not "
                         "read completely.")


def show_quiet_failure(out: Output, side: Side) -> None:
    """A side failed without a warning or error on stderr: show its last log lines."""
    if side.returncode not in (0, None) and side.forwarded == 0 and side.tail:
        out.line(f"Last lines of {side.name}'s log:")
        for line in side.tail:
            out.line(f"  {line}")


def check_given_settings(plugins: Sequence[tuple[str, Mapping[str, Any], Settings]],
                         env: Mapping[str, str]) -> None:
    """Unknown setting names and unusable values in config files and env vars: exit 2."""
    problems = []
    for name, schema, settings in plugins:
        problems += unknown_settings(name, schema, config=settings.config,
                                     config_source=settings.source, env=env,
                                     prefix=settings.prefix)
        problems += bad_values(schema, config=settings.config, config_source=settings.source,
                               env=env, prefix=settings.prefix)
    if problems:
        raise UsageError("\ngateway-sync: ".join(problems) + "\ngateway-sync: nothing was run.")


def acquire(lock: RunLock, held: list[RunLock]) -> None:
    """Take a run lock (exit 2 when another run holds it)."""
    try:
        lock.acquire()
    except LockedError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot lock {lock.path}: {exc.strerror}") from None
    held.append(lock)


def sync(args: argparse.Namespace, prompter: Prompter, out: Output) -> int:
    """Everything between the command line and the exit code."""
    held: list[RunLock] = []
    try:
        return _sync(args, prompter, out, held)
    except StateDirError as exc:
        raise UsageError(str(exc)) from None
    finally:
        for lock in held:
            lock.release()


def _sync(args: argparse.Namespace, prompter: Prompter, out: Output, held: list[RunLock]
          ) -> int:
    env = dict(os.environ)
    remove_stale_private_dirs()  # those of runs that died: they may hold a report or template
    tap_exe = find_executable(args.tap)
    target_exe = find_executable(TARGET)
    state_dir = prepare_state_dir(args.state_dir)
    store = None
    if state_dir is not None:
        acquire(state_dir_lock(state_dir), held)
        store = StateDir(state_dir)
        if not args.reset_state:
            check_state_file(store.state_file)
    config_dir = resolve_config_dir(args.config_dir, env)
    files = {name: config_dir / f"{name}.json" if config_dir else None
             for name in ("tap", "target")}
    configs = {name: load_config(path) if path and path.is_file() else {}
               for name, path in files.items()}

    about, target_about = read_abouts((tap_exe, args.tap), (target_exe, TARGET), env)
    tap_name = str(about.get("name") or Path(args.tap).name)
    tap_schema = about.get("settings") or {}
    target_schema = target_about.get("settings") or {}
    target = Settings(env, configs["target"], TARGET_ENV_PREFIX, prompter,
                      str(files["target"] or "target.json"))
    tap = Settings(env, configs["tap"], env_prefix(tap_name), prompter,
                   str(files["tap"] or "tap.json"))
    check_given_settings([(TARGET, target_schema, target), (tap_name, tap_schema, tap)], env)

    default_url = (target_schema.get("properties", {}).get("api_url") or {}).get("default")
    api_url = target.value("api_url") or default_url or DEVELOPMENT_GATEWAY
    out.line(gateway_line(str(api_url), default=not target.value("api_url"),
                          dry_run=args.dry_run))
    platform = platform_name(tap_name)
    prompter.intro = [
        f"gateway-sync needs the Gateway token signing key and the Gateway shop guid (which "
        f"marketplace shop to write to), then {platform}'s settings (which shop to read, and "
        "how to log in). Values set by env vars or config files are not asked."]
    for question in TARGET_QUESTIONS:
        target.obtain(question)
    try:
        shop_guid = check_uuid(str(target.value("shop_guid")))
    except InvalidAnswerError as exc:  # given, but not as text (a number in target.json)
        raise UsageError(f"{TARGET_QUESTIONS[1].label}: {exc}") from None
    acquire(shop_lock(env, shop_guid), held)
    ask_tap_settings(tap, tap_schema, platform=platform, ask_optional=args.ask_optional)
    target.register_secrets(TARGET_SECRETS)
    tap.register_secrets(secret_settings(tap_schema))
    owner = {"gateway_shop_guid": shop_guid, "tap": tap_name,
             "source": source_identity(tap_schema, tap.values(), secret_settings(tap_schema))}
    if store is not None:
        if args.reset_state:
            kept = store.reset(owner)
            if kept:
                out.line(f"gateway-sync: --reset-state: the old state is kept as {kept}; "
                         "this run reads everything.")
        else:
            store.check_owner(owner)
    for settings in (target, tap):
        for key in settings.asked:  # an empty env var would override the answer
            env.pop(settings.env_var(key), None)

    with PrivateDir() as private:
        private_dir = private.path
        target_config = target.merged()
        if not (env.get(TARGET_ENV_PREFIX + "REPORT_FILE") or target_config.get("report_file")):
            target_config["report_file"] = str(private_dir / REPORT_FILE)
        report_path = Path(env.get(TARGET_ENV_PREFIX + "REPORT_FILE")
                           or target_config["report_file"])
        template = configure_mapping(target_config, env, state_dir, private_dir)
        if args.dry_run:
            target_config["dry_run"] = True
        target_path = private.config("target", target_config)
        tap_path = private.config("tap", tap.merged())
        # Both sides log one JSON object per line, read as data (gateway_sync.child_logs);
        # a tap that does not declare structured logging keeps its own (text) logging.
        target_env = {**env, LOG_CONFIG_ENV: str(write_log_config(private_dir))}
        tap_env = target_env if supports_structured_logging(about) else env

        tap_command = [tap_exe, "--config", tap_path, "--config", "ENV"]
        state_file = state_dir / STATE_FILE if state_dir else None
        continuing = bool(state_file and state_file.is_file())
        if continuing:
            tap_command += ["--state", str(state_file)]
        target_command = [target_exe, "--config", target_path, "--config", "ENV"]
        out.line(f"gateway-sync: running {tap_name} | {TARGET} into Gateway shop {shop_guid}"
                 + (f", continuing from {state_file}" if continuing else ""))

        pipeline = Pipeline(tap_command, target_command, tap_name=tap_name, target_name=TARGET,
                            env=target_env, tap_env=tap_env, output=out, verbose=args.verbose,
                            hide_text=str(private_dir), tap_fds=_fds(tap_path),
                            target_fds=_fds(target_path))
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda s, _f: pipeline.forward_signal(s))
        try:
            outcome = pipeline.run()
        except OSError as exc:
            raise UsageError(f"cannot start {tap_name} | {TARGET}: {exc.strerror}") from None
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, _raise_interrupted)
        return finish(outcome, out, summary_lines=pipeline.summary_lines(),
                      report_path=report_path, store=store, template=template,
                      dry_run=args.dry_run, owner=owner)


def _fds(config_path: str) -> tuple[int, ...]:
    """The descriptor a child must inherit to read its ``/dev/fd/N`` config."""
    match = re.fullmatch(r"/dev/fd/(\d+)", config_path)
    return (int(match.group(1)),) if match else ()


_STATUS_LINE = re.compile(r"^(?P<name>\S+): ok(?P<rest> - .*)$")


def finish(outcome: Outcome, out: Output, *, summary_lines: Sequence[str], report_path: Path,
           store: StateDir | None, template: Path | None, dry_run: bool,
           owner: Mapping[str, Any]) -> int:
    """Store state, report and template, print the summary and the verdict; the exit code."""
    report = read_report(report_path)
    tap_failed = outcome.tap.returncode != 0
    for side in (outcome.tap, outcome.target):
        show_quiet_failure(out, side)
    for index, line in enumerate(summary_lines):
        match = _STATUS_LINE.match(line) if index == 0 and tap_failed else None
        # the target is "ok" with what it got; the run is not, when the tap failed
        out.line(f"{match['name']}: incomplete, {outcome.tap.name} failed{match['rest']}"
                 if match else line)
    if report is None and outcome.interrupted is None:
        out.line(f"{outcome.target.name} wrote no report.")
    if report is not None and tap_failed and report.get("status") == "ok":
        report = {**report, "status": "failed", "target_status": "ok",
                  "error": report.get("error") or (
                      f"{describe_exit(outcome.tap)}: the shop was not read completely")}
    template_ok = (not tap_failed and outcome.interrupted is None
                   and outcome.target.returncode in (EXIT_OK, EXIT_PARTIAL))
    if store is not None:
        if report is not None:
            save_text_atomically(store.path / REPORT_FILE,
                                 redact(json.dumps(report, ensure_ascii=False, indent=2)) + "\n")
            out.line(f"Report: {store.path / REPORT_FILE}")
        if outcome.last_state is not None and not dry_run:
            # the target's STATE, byte for byte: masking a value that happens to look like
            # a secret's encoding would corrupt a bookmark (a STATE holds no settings)
            save_text_atomically(store.state_file,
                                 json.dumps(outcome.last_state, ensure_ascii=False))
            store.record_owner(owner)
            out.line(f"State saved to {store.state_file}: the next run continues from it.")
    if template is not None and template.exists() and template_ok:
        show_template(out, store, template, dry_run=dry_run)
    elif template is not None and tap_failed and outcome.interrupted is None:
        out.line(f"No category mapping template was written: {outcome.tap.name} failed, "
                 "so the categories it read are incomplete.")
    if dry_run:
        out.line("Dry run: nothing was written to the Gateway and the state was not saved.")
    if outcome.interrupted is not None:
        out.line(f"gateway-sync: INTERRUPTED by signal {outcome.interrupted}; "
                 "what the target confirmed so far is kept.")
        return 128 + outcome.interrupted
    code, line = verdict(outcome, report, dry_run=dry_run)
    out.line(f"gateway-sync: {line}")
    return code


def show_template(out: Output, store: StateDir | None, template: Path, *, dry_run: bool
                  ) -> None:
    """Keep the mapping template for a person to fill, never over one they edited."""
    imported = ("products would be imported" if dry_run
                else "products were imported")
    if store is None:
        out.line(f"No category mapping: {imported} without categories. Run with "
                 "--state-dir DIR (in Docker: mount a volume on /data) to get a mapping "
                 "template to fill.")
        return
    edited = store.edited(TEMPLATE_FILE)
    kept = store.install(template, TEMPLATE_FILE)
    if edited:
        out.line(f"{store.path / TEMPLATE_FILE} was edited by hand, so it was kept; the new "
                 f"template is {kept}.")
    out.line(f"No category mapping yet: {imported} without categories. Fill {kept} and save "
             f"it as {store.path / MAPPING_FILE}; the next run uses it.")


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
