"""gateway-sync driven through a pipe and through a pseudo-terminal, with fake plugins.

The fakes below stand in for a tap (``tap-fake``) and for ``target-gateway`` so that these
tests depend on nothing but the runner: each fake writes what it saw (argv, config, file
modes, env) to ``$FAKE_LOG/<name>.json`` and behaves as ``FAKE_*`` env vars say. They are put
first on PATH, which is how gateway-sync finds its plugins. They log the way singer-sdk does:
console text lines, or, when ``SINGER_SDK_LOG_CONFIG`` is set, one JSON record per line; the
target logs its progress and summary with the extras of the structured-log contract
(``gateway_sync.child_logs``). With ``FAKE_SDK_LOGGING`` they load the runner's logging config
with singer-sdk's own loader and formatter; otherwise (importing singer-sdk costs more than a
whole fake run) a formatter of the same shape stands in.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote_plus

import pexpect
import pytest
from gateway_sync.prompts import InvalidAnswerError, check_signing_key, check_uuid

KEY = "c2VjcmV0LXNpZ25pbmcta2V5LTMyLWJ5dGVzLWxvbmchIQ=="  # 32 bytes
GUID = "0b6e7c5e-8d1f-4b7a-9a34-5c1e2d3f4a5b"
URL = "https://example.shoparena.pl"
TOKEN = "shoper-token-do-not-print"
PASSWORD = "hasło-do-not-print"
RUNNER = [sys.executable, "-m", "gateway_sync.runner"]
PROMPT_KEY = "Gateway token signing key (base64): "
GUID_LABEL = "Gateway shop guid (the marketplace shop to write to, a UUID)"
PROMPT_GUID = GUID_LABEL + ": "
PROMPT_URL = "Shop URL (e.g. https://example.shoparena.pl): "
PROMPT_TOKEN = "API access token [empty: use username + password instead]: "
PROMPT_USER = "API user name: "
PROMPT_PASSWORD = "API user password: "

COMMON = r'''
import json, logging, os, stat, sys, time

class Structured(logging.Formatter):  # singer_sdk.logging.StructuredFormatter's shape
    def format(self, record):
        plain = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
        return json.dumps({"level": record.levelname.lower(), "logger_name": record.name,
                           "message": record.getMessage(),
                           "extra": {k: v for k, v in vars(record).items() if k not in plain}},
                          default=str)

logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                    format="%(asctime)s | %(levelname)-8s | %(name)-30s | %(message)s")
if os.environ.get("SINGER_SDK_LOG_CONFIG"):
    if os.environ.get("FAKE_SDK_LOGGING"):  # exactly as singer-sdk's CLI does
        import logging.config, yaml
        with open(os.environ["SINGER_SDK_LOG_CONFIG"]) as config_file:
            logging.config.dictConfig(yaml.safe_load(config_file))
    else:
        logging.getLogger().handlers[0].setFormatter(Structured())

def log(level, message, name, **extra):
    logging.getLogger(name).log(getattr(logging, level), "%s", message, extra=extra)

def observe(name, extra=None):
    args = sys.argv[1:]
    path = args[args.index("--config") + 1]
    seen = {
        "argv": sys.argv[1:],
        "pid": os.getpid(),
        "config_path": path,
        "config": json.load(open(path)),
        "config_is_file": os.path.isfile(path),
        "config_again": json.load(open(path)),  # singer-sdk may read it twice
        "env": {k: v for k, v in os.environ.items()
                if k.startswith(("TAP_FAKE_", "TARGET_GATEWAY_", "SINGER_SDK_"))},
        **(extra or {}),
    }
    log_dir = os.environ["FAKE_LOG"]
    with open(os.path.join(log_dir, name + ".json.tmp"), "w") as handle:
        json.dump(seen, handle)
    os.replace(os.path.join(log_dir, name + ".json.tmp"), os.path.join(log_dir, name + ".json"))
    return seen
'''

TAP = COMMON + r'''
ABOUT = {
    "name": "tap-fake",
    "capabilities": ["about", "state", "structured-logging"],
    "settings": {
        "type": "object",
        "properties": {
            "shop_url": {"type": ["string"], "title": "Shop URL",
                         "examples": ["https://example.shoparena.pl"]},
            "access_token": {"type": ["string", "null"], "title": "API access token",
                             "secret": True, "writeOnly": True},
            "username": {"type": ["string", "null"], "title": "API user name"},
            "password": {"type": ["string", "null"], "title": "API user password",
                         "secret": True, "writeOnly": True},
            "page_size": {"type": ["integer", "null"], "title": "Page size"},
            "language": {"type": ["string", "null"], "title": "Language",
                         "enum": ["pl_PL", "en_US"]},
            "stream_maps": {"type": ["object", "null"], "title": "Stream Maps"},
            "flattening_enabled": {"type": ["boolean", "null"],
                                   "title": "Enable Schema Flattening"},
        },
        "required": ["shop_url"],
        "anyOf": [{"required": ["access_token"]}, {"required": ["username", "password"]}],
    },
}
PLAIN = {  # tap-shoper's shape: no titles, no declared alternatives
    "type": "object",
    "properties": {
        "shop_url": {"type": ["string"], "examples": ["https://example.shoparena.pl"]},
        "access_token": {"type": ["string", "null"], "secret": True, "writeOnly": True},
        "username": {"type": ["string", "null"]},
        "password": {"type": ["string", "null"], "secret": True, "writeOnly": True},
        "language": {"type": ["string", "null"]},
    },
    "required": ["shop_url"],
}
if os.environ.get("FAKE_ABOUT") == "plain":
    ABOUT["settings"] = PLAIN
elif os.environ.get("FAKE_ABOUT") == "hint":
    ABOUT["settings"] = {**PLAIN, "x-gateway-sync": {"alternatives": [["username", "password"]]}}
elif os.environ.get("FAKE_ABOUT") == "choice":  # tap-iai's shape: two sources
    ABOUT["settings"] = {"type": "object", "required": ["shop_url"], "properties": {
        "shop_url": {"type": ["string"]},
        "source": {"type": ["string", "null"], "enum": ["admin_api", "iof"]},
        "api_key": {"type": ["string", "null"], "secret": True},
        "iof_url": {"type": ["string", "null"], "secret": True},
        "marketplace_login": {"type": ["string", "null"]},
        "marketplace_password": {"type": ["string", "null"], "secret": True}},
        "x-gateway-sync": {"choice": {"setting": "source", "options": {
            "admin_api": ["api_key"],
            "iof": [["iof_url"], ["marketplace_login", "marketplace_password"]]}}}}
if os.environ.get("FAKE_TEXT_LOGS"):  # a tap that cannot log structured records
    ABOUT["capabilities"] = ["about", "state"]
args = sys.argv[1:]
if "--about" in args:
    if os.environ.get("FAKE_ABOUT_EXIT"):
        sys.exit(int(os.environ["FAKE_ABOUT_EXIT"]))
    print(json.dumps(ABOUT))
    sys.exit(0)
state = None
if "--state" in args:
    state = json.load(open(args[args.index("--state") + 1]))
observe("tap", {"state": state})
log("INFO", "METRIC: {\"type\": \"counter\"} tap chatter", "tap-fake")

def emit(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()

for stream, count in (("categories", 2), ("products", int(os.environ.get("FAKE_RECORDS", 3)))):
    emit({"type": "SCHEMA", "stream": stream, "schema": {}, "key_properties": ["id"]})
    for i in range(count):
        emit({"type": "RECORD", "stream": stream, "record": {"id": str(i)}})
        if os.environ.get("FAKE_TAP_SLEEP"):
            time.sleep(float(os.environ["FAKE_TAP_SLEEP"]))
run = os.environ.get("FAKE_RUN", "1")
emit({"type": "STATE", "value": {"bookmarks": {"products": {"run": run}}}})
code = int(os.environ.get("FAKE_TAP_EXIT", 0))
if code:
    log("ERROR", "Shop API refused the credentials (HTTP 401)", "tap-fake")
if os.environ.get("FAKE_LEAK"):  # a tap careless with its credentials, in a record and as text
    import base64, urllib.parse
    token = os.environ["TAP_FAKE_ACCESS_TOKEN"]
    basic = base64.b64encode(f"api:{token}".encode()).decode()
    log("WARNING", f"retrying with Authorization: Basic {basic} and token {token}", "tap-fake")
    sys.stderr.write(f"debug: POST /auth token={urllib.parse.quote_plus(token)}\n")
if os.environ.get("FAKE_TAP_LOG_EXCEPTION"):
    try:
        try:
            raise ConnectionRefusedError("inner cause")
        except ConnectionRefusedError as exc:
            raise ValueError("the shop answered nonsense") from exc
    except ValueError:
        logging.getLogger("tap-fake").exception("could not read the shop")
    sys.exit(1)
if os.environ.get("FAKE_TAP_RAISE"):
    try:
        try:
            raise ConnectionRefusedError("inner cause")
        except ConnectionRefusedError as exc:
            raise RuntimeError("middle") from exc
    except RuntimeError:
        raise ValueError("the shop answered nonsense") from None
sys.exit(code)
'''

TARGET = COMMON + r'''
if "--about" in sys.argv[1:]:  # target-gateway's settings, in short
    names = ["api_url", "shop_guid", "signing_key", "image_mode", "category_mapping_file",
             "category_mapping_template", "mapping_template_only", "dry_run", "report_file",
             "max_retries", "stream_maps", "flattening_enabled"]
    props = {n: {"type": ["string", "null"]} for n in names}
    props["api_url"]["default"] = "https://sma.dev.gwapi.eu"
    props["signing_key"].update(secret=True, writeOnly=True)
    props["image_mode"]["enum"] = ["copy", "download", "hotlink"]
    for n in ("mapping_template_only", "dry_run"):
        props[n] = {"type": ["boolean", "null"]}
    props["max_retries"] = {"type": ["integer", "null"]}
    props["stream_maps"] = {"type": ["object", "null"]}
    print(json.dumps({"name": "target-gateway", "capabilities": ["about", "structured-logging"],
                      "settings": {"type": "object", "properties": props,
                                   "required": ["shop_guid", "signing_key"]}}))
    sys.exit(0)
seen = observe("target")
config = seen["config"]
name = "target-gateway"
records = 0
state = None
die_early = os.environ.get("FAKE_TARGET_DIE_EARLY")
for line in sys.stdin:
    message = json.loads(line)
    if die_early:
        log("CRITICAL", "cannot reach the Gateway", name)
        sys.exit(5)
    if message["type"] == "RECORD":
        records += 1
        counts = {"records": records, "created": records, "updated": 0, "unchanged": 0,
                  "skipped": 0, "failed": 0, "images": records}
        log("INFO", "progress " + json.dumps(counts), name, progress=counts)
    elif message["type"] == "STATE":
        state = message["value"]
log("INFO", "target chatter", name)
code = int(os.environ.get("FAKE_TARGET_EXIT", 0))
status = {0: "ok", 3: "partial"}.get(code, "failed")
template = config.get("category_mapping_template")
if template:
    with open(template, "w") as handle:
        handle.write("source_id,source_path,gateway_category\n1,Odzież,\n"
                     + os.environ.get("FAKE_RUN", ""))
report = {
    "status": status,
    "counts": {"created": records - (1 if code else 0), "updated": 0, "unchanged": 0,
               "skipped": 0, "failed": 1 if code else 0},
    "images": {"copied": records, "uploaded": 0, "reused": 0, "hotlinked": 0},
    "skipped": [],
    "failed": [{"id": "7", "reason": "Gateway answered 422: price must be > 0"}] if code else [],
    "unmapped_categories": [{"id": "1", "name": "Odzież", "path": "Odzież"}] if template else [],
    "mapping_template": template,
}
report_file = os.environ.get("TARGET_GATEWAY_REPORT_FILE") or config.get("report_file")
if report_file and not os.environ.get("FAKE_NO_REPORT") and not os.environ.get("FAKE_LOST"):
    with open(report_file, "w") as handle:
        json.dump(report, handle)
if state is not None and status != "failed":
    print(json.dumps(state), flush=True)
if code and not os.environ.get("FAKE_QUIET"):
    log("ERROR", "1 product failed", name)
if not os.environ.get("FAKE_NO_REPORT"):  # the real target's summary record, in short
    c = report["counts"]
    lines = [f"target-gateway: {status} - {records} records read",
             f"  Gateway products: created {c['created']}, failed {c['failed']}",
             *(f"    {e['id']}: {e['reason']}" for e in report["failed"]),
             f"  report: {report_file}"]
    summary = {"status": status, "records": records, "counts": c, "images": report["images"],
               "stock": {}, "error": None, "report_file": report_file, "lines": lines}
    log("INFO" if status == "ok" else "ERROR", "run summary:\n" + "\n".join(lines), name,
        summary=summary)
sys.exit(code)
'''


def install_fakes(bin_dir: Path) -> None:
    """Write ``tap-fake`` and ``target-gateway`` into ``bin_dir``, run by this Python."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name, body in (("tap-fake", TAP), ("target-gateway", TARGET)):
        path = bin_dir / name
        path.write_text(f"#!{sys.executable}\n{body}", encoding="utf-8")
        path.chmod(0o755)


def clean_env() -> dict[str, str]:
    """This process's env without any setting the runner or the plugins would pick up."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("TAP_", "TARGET_GATEWAY_", "GATEWAY_SYNC_", "FAKE_"))}


class Sync:
    """Runs gateway-sync with the fakes first on PATH and a private TMPDIR to inspect."""

    def __init__(self, tmp_path: Path) -> None:
        self.bin = tmp_path / "bin"
        install_fakes(self.bin)
        self.log = tmp_path / "log"
        self.tmp = tmp_path / "tmp"
        self.state = tmp_path / "data"
        self.log.mkdir()
        self.tmp.mkdir()
        self.env = {**clean_env(), "PATH": f"{self.bin}{os.pathsep}{os.environ['PATH']}",
                    "TMPDIR": str(self.tmp), "FAKE_LOG": str(self.log)}

    def environ(self, **env: str) -> dict[str, str]:
        return {**self.env, **env}

    def __call__(self, *args: str, answers: str = "", **env: str
                 ) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*RUNNER, "tap-fake", *args], input=answers,
                              env=self.environ(**env), capture_output=True, text=True,
                              timeout=60, check=False)

    def spawn(self, *args: str, **env: str) -> subprocess.Popen[str]:
        return subprocess.Popen([*RUNNER, "tap-fake", *args], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=self.environ(**env))

    def seen(self, name: str) -> dict | None:
        path = self.log / f"{name}.json"
        return json.loads(path.read_text()) if path.exists() else None

    def leftovers(self) -> list[str]:
        return [str(p) for p in self.tmp.rglob("*")]


@pytest.fixture
def sync(tmp_path: Path) -> Sync:
    return Sync(tmp_path)


ALL_SETTINGS = {"TARGET_GATEWAY_SIGNING_KEY": KEY, "TARGET_GATEWAY_SHOP_GUID": GUID,
                "TAP_FAKE_SHOP_URL": URL, "TAP_FAKE_ACCESS_TOKEN": TOKEN}


def prompts_in(stderr: str) -> list[str]:
    """The prompts shown, in order (on a pipe the runner ends each prompt's line itself)."""
    return [line for line in stderr.splitlines() if line.endswith(": ")]


# -- the checks, as target-gateway reads the same values -------------------------------------
@pytest.mark.parametrize(("value", "expected"), [
    (KEY, KEY),
    (" " + KEY + "\t", KEY),
    ("_-8" + "A" * 19, "_-8" + "A" * 19),  # URL-safe alphabet, no padding: 16 bytes
])
def test_signing_key_check_accepts_what_the_target_accepts(value, expected):
    assert check_signing_key(value) == expected


@pytest.mark.parametrize("value", ["", "====", "abc$", "c2hvcnQ=", "+/_-" * 8])
def test_signing_key_check_rejects_without_echoing(value):
    with pytest.raises(InvalidAnswerError) as caught:
        check_signing_key(value)
    assert value.strip() == "" or value not in str(caught.value)


def test_uuid_check_returns_the_canonical_form():
    assert check_uuid("{0B6E7C5E-8D1F-4B7A-9A34-5C1E2D3F4A5B}") == GUID


# -- through a pipe ---------------------------------------------------------------------------
def test_pipe_prompts_in_order_on_stderr_and_hands_configs_over_in_memory(sync):
    done = sync(answers=f"{KEY}\n{GUID}\n{URL}\n{TOKEN}\n")

    assert done.returncode == 0, done.stderr
    assert prompts_in(done.stderr) == [PROMPT_KEY, PROMPT_GUID, PROMPT_URL, PROMPT_TOKEN]
    assert done.stdout == ""
    target, tap = sync.seen("target"), sync.seen("tap")
    assert target["config"]["signing_key"] == KEY
    assert target["config"]["shop_guid"] == GUID
    assert tap["config"] == {"shop_url": URL, "access_token": TOKEN}
    for seen in (target, tap):  # a memfd the child inherits: on no disk, read like a file
        assert seen["config_path"].startswith("/dev/fd/")
        assert seen["config_is_file"] is True
        assert seen["config_again"] == seen["config"]
        assert seen["argv"][-2:] == ["--config", "ENV"]
        assert KEY not in " ".join(seen["argv"])
        assert TOKEN not in " ".join(seen["argv"])
    assert KEY not in done.stderr
    assert TOKEN not in done.stderr
    assert ("gateway-sync: OK: tap-fake read 5 records; target-gateway created 5 and updated 0 "
            "products (0 unchanged).") in done.stderr
    assert sync.leftovers() == []


def test_pipe_empty_token_moves_on_to_username_and_password(sync):
    done = sync(answers=f"{KEY}\n{GUID}\n{URL}\n\napi-user\n{PASSWORD}\n")

    assert done.returncode == 0, done.stderr
    assert prompts_in(done.stderr) == [PROMPT_KEY, PROMPT_GUID, PROMPT_URL, PROMPT_TOKEN,
                                       PROMPT_USER, PROMPT_PASSWORD]
    assert sync.seen("tap")["config"] == {"shop_url": URL, "username": "api-user",
                                          "password": PASSWORD}
    assert PASSWORD not in done.stderr


@pytest.mark.parametrize(("answers", "field", "problem"), [
    (f"not*base64\n{GUID}\n", "Gateway token signing key (base64)", "not valid base64"),
    ("c2hvcnQ=\n", "Gateway token signing key (base64)", "too short"),
    (f"{KEY}\n1234-not-a-guid\n", GUID_LABEL, "not a UUID"),
    (f"{KEY}\n{GUID}\nftp://example.pl\n", "Shop URL", "not an http(s) URL"),
    (f"{KEY}\n\n", GUID_LABEL, "an answer is required"),
])
def test_pipe_stops_at_the_first_bad_answer_naming_the_field(sync, answers, field, problem):
    done = sync(answers=answers)

    assert done.returncode == 2
    message = done.stderr.strip().splitlines()[-1]
    assert message.startswith(f"gateway-sync: {field}")
    assert problem in message
    assert "Nothing was run." in message
    assert "not*base64" not in done.stderr
    assert "c2hvcnQ=" not in done.stderr
    assert sync.seen("tap") is None
    assert sync.seen("target") is None
    assert sync.leftovers() == []


def test_pipe_that_ends_early_names_the_env_var_to_set(sync):
    done = sync(answers=f"{KEY}\n{GUID}\n")

    assert done.returncode == 2
    assert "Shop URL (e.g. https://example.shoparena.pl): no answer (the input ended)" \
        in done.stderr
    assert "set TAP_FAKE_SHOP_URL" in done.stderr
    assert sync.seen("tap") is None


def test_env_vars_suppress_every_prompt_and_reach_the_plugins(sync):
    done = sync(**ALL_SETTINGS)

    assert done.returncode == 0, done.stderr
    assert prompts_in(done.stderr) == []
    target, tap = sync.seen("target"), sync.seen("tap")
    assert "signing_key" not in target["config"]  # the SDK reads it from the env (--config ENV)
    assert target["env"]["TARGET_GATEWAY_SIGNING_KEY"] == KEY
    assert tap["config"] == {}
    assert tap["env"]["TAP_FAKE_ACCESS_TOKEN"] == TOKEN


def test_env_vars_suppress_some_prompts_and_the_rest_are_asked(sync):
    done = sync(answers=f"{URL}\n\nu\n{PASSWORD}\n", TARGET_GATEWAY_SIGNING_KEY=KEY,
                TARGET_GATEWAY_SHOP_GUID=GUID)

    assert done.returncode == 0, done.stderr
    assert prompts_in(done.stderr) == [PROMPT_URL, PROMPT_TOKEN, PROMPT_USER, PROMPT_PASSWORD]


def test_partly_given_alternative_is_completed_not_replaced(sync):
    done = sync(answers=f"{PASSWORD}\n", TAP_FAKE_USERNAME="api-user",
                **{k: v for k, v in ALL_SETTINGS.items() if k != "TAP_FAKE_ACCESS_TOKEN"})

    assert done.returncode == 0, done.stderr
    assert prompts_in(done.stderr) == [PROMPT_PASSWORD]
    assert sync.seen("tap")["config"] == {"password": PASSWORD}


def test_bad_value_in_an_env_var_stops_naming_the_var_not_the_value(sync):
    done = sync(**{**ALL_SETTINGS, "TARGET_GATEWAY_SHOP_GUID": "shop-42"})

    assert done.returncode == 2
    assert "Gateway shop guid (the marketplace shop to write to, a UUID): not a UUID" \
        in done.stderr
    assert "TARGET_GATEWAY_SHOP_GUID" in done.stderr
    assert "shop-42" not in done.stderr
    assert sync.seen("tap") is None


def test_mounted_config_files_suppress_prompts(sync, tmp_path):
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "target.json").write_text(json.dumps(
        {"signing_key": KEY, "shop_guid": GUID, "api_url": "http://127.0.0.1:1"}))
    (config_dir / "tap.json").write_text(json.dumps(
        {"shop_url": URL, "username": "u", "password": PASSWORD}))

    done = sync(GATEWAY_SYNC_CONFIG_DIR=str(config_dir))

    assert done.returncode == 0, done.stderr
    assert prompts_in(done.stderr) == []
    assert sync.seen("target")["config"]["api_url"] == "http://127.0.0.1:1"
    assert sync.seen("tap")["config"]["password"] == PASSWORD


def test_ask_optional_asks_plain_tap_settings_but_not_sdk_builtins(sync):
    done = sync("--ask-optional", answers="50\n\n", **ALL_SETTINGS)

    assert done.returncode == 0, done.stderr
    assert prompts_in(done.stderr) == ["Page size [empty: keep the default]: ",
                                       "Language (pl_PL / en_US) [empty: keep the default]: "]
    assert sync.seen("tap")["config"] == {"page_size": 50}


def test_untitled_settings_and_guessed_credential_alternatives(sync):
    done = sync(answers=f"{KEY}\n{GUID}\n{URL}\n\napi-user\n{PASSWORD}\n", FAKE_ABOUT="plain")

    assert done.returncode == 0, done.stderr
    assert prompts_in(done.stderr) == [
        PROMPT_KEY, PROMPT_GUID, "Fake shop URL (e.g. https://example.shoparena.pl): ",
        "Fake access token [empty: use username + password instead]: ",
        "Fake username: ", "Fake password: "]
    assert sync.seen("tap")["config"] == {"shop_url": URL, "username": "api-user",
                                          "password": PASSWORD}


def test_the_taps_hint_overrides_the_guess(sync):
    done = sync(answers=f"{KEY}\n{GUID}\n{URL}\napi-user\n{PASSWORD}\n", FAKE_ABOUT="hint")

    assert done.returncode == 0, done.stderr
    assert prompts_in(done.stderr)[2:] == [
        "Fake shop URL (e.g. https://example.shoparena.pl): ", "Fake username: ",
        "Fake password: "]


@pytest.mark.parametrize(("answers", "prompts", "config"), [
    ("iof\n{url}\n\nlogin\nsecret\n",
     ["Fake source (admin_api / iof): ", "Fake shop URL: ",
      "Fake iof URL [empty: use marketplace_login + marketplace_password instead]: ",
      "Fake marketplace login: ", "Fake marketplace password: "],
     {"source": "iof", "marketplace_login": "login", "marketplace_password": "secret"}),
    ("admin_api\n{url}\nkey-1\n",
     ["Fake source (admin_api / iof): ", "Fake shop URL: ", "Fake API key: "],
     {"source": "admin_api", "api_key": "key-1"}),
])
def test_a_choice_of_source_is_asked_first_then_only_that_sources_settings(
        sync, answers, prompts, config):
    done = sync(answers=f"{KEY}\n{GUID}\n" + answers.format(url=URL), FAKE_ABOUT="choice")

    assert done.returncode == 0, done.stderr
    assert prompts_in(done.stderr)[2:] == prompts
    assert sync.seen("tap")["config"] == {"shop_url": URL, **config}


def test_a_choice_implied_by_the_given_settings_is_not_asked(sync):
    done = sync(answers=f"{KEY}\n{GUID}\n{URL}\n", FAKE_ABOUT="choice",
                TAP_FAKE_IOF_URL="https://feeds.example.pl/iof.xml?token=abc")

    assert done.returncode == 0, done.stderr
    assert prompts_in(done.stderr)[2:] == ["Fake shop URL: "]


def test_a_bad_choice_in_the_config_is_refused(sync):
    done = sync(answers=f"{KEY}\n{GUID}\n{URL}\n", FAKE_ABOUT="choice", TAP_FAKE_SOURCE="xml")

    assert done.returncode == 2
    assert "gateway-sync: TAP_FAKE_SOURCE: not one of: admin_api, iof" in done.stderr
    assert sync.seen("tap") is None


def test_a_traceback_shrinks_to_its_last_exception_unless_verbose(sync):
    quiet = sync(FAKE_TAP_RAISE="1", **ALL_SETTINGS)
    verbose = sync("-v", FAKE_TAP_RAISE="1", **ALL_SETTINGS)

    assert quiet.returncode == 1
    assert ("tap-fake: ValueError: the shop answered nonsense "
            "(gateway-sync -v shows the traceback)") in quiet.stderr
    assert "Traceback" not in quiet.stderr
    assert "middle" not in quiet.stderr
    assert "tap-fake: Traceback (most recent call last):" in verbose.stderr
    assert "gateway-sync: FAILED: tap-fake exited 1" in quiet.stderr


def test_progress_and_summary_on_stderr_and_info_logs_only_when_verbose(sync):
    quiet = sync(**ALL_SETTINGS)
    verbose = sync("--verbose", **ALL_SETTINGS)

    assert "progress: read 5 records (categories 2, products 3); products 5 created, " \
           "0 updated, 0 unchanged, 0 skipped, 0 failed; images 5" in quiet.stderr
    lines = quiet.stderr.splitlines()
    assert "target-gateway: ok - 5 records read" in lines  # the target's summary, as it is
    assert "  Gateway products: created 5, failed 0" in lines
    assert "  report:" not in quiet.stderr  # a path in the private dir, gone after the run
    assert "chatter" not in quiet.stderr
    assert "target-gateway INFO: target chatter" in verbose.stderr
    assert "tap-fake INFO: METRIC" in verbose.stderr
    assert "progress {" not in verbose.stderr  # the target's raw progress lines are digested


# -- which side failed ------------------------------------------------------------------------
def test_tap_failure_exits_non_zero_and_names_the_tap(sync):
    done = sync(FAKE_TAP_EXIT="3", **ALL_SETTINGS)

    assert done.returncode == 1
    assert "tap-fake ERROR: Shop API refused the credentials (HTTP 401)" in done.stderr
    assert "gateway-sync: FAILED: tap-fake exited 3 after 5 records" in done.stderr
    assert sync.leftovers() == []


def test_target_failure_exits_non_zero_and_names_the_target(sync):
    done = sync(FAKE_TARGET_EXIT="2", **ALL_SETTINGS)

    assert done.returncode == 1
    assert "gateway-sync: FAILED: target-gateway exited 2" in done.stderr
    assert "tap-fake exited" not in done.stderr


def test_some_products_failing_is_partial_with_the_reasons(sync):
    done = sync(FAKE_TARGET_EXIT="3", **ALL_SETTINGS)

    assert done.returncode == 3
    assert "    7: Gateway answered 422: price must be > 0" in done.stderr.splitlines()
    assert "gateway-sync: PARTIAL: target-gateway exited 3; 1 failed, the rest was written" \
        in done.stderr


def test_target_dying_early_stops_the_tap_and_blames_the_target(sync):
    done = sync(FAKE_TARGET_DIE_EARLY="1", FAKE_RECORDS="20000", **ALL_SETTINGS)

    assert done.returncode == 1
    assert "target-gateway CRITICAL: cannot reach the Gateway" in done.stderr
    assert "gateway-sync: FAILED: target-gateway exited 5" in done.stderr
    assert "tap-fake was stopped after" in done.stderr


def test_failure_without_error_lines_shows_the_last_log_lines(sync):
    done = sync(FAKE_TARGET_EXIT="4", FAKE_NO_REPORT="1", FAKE_QUIET="1", **ALL_SETTINGS)

    assert done.returncode == 1
    assert "Last lines of target-gateway's log:" in done.stderr
    assert "target chatter" in done.stderr
    assert "target-gateway wrote no report." in done.stderr


def test_missing_tap_is_a_clear_usage_error(sync):
    done = subprocess.run([*RUNNER, "tap-nowhere"], env=sync.env, capture_output=True,
                          text=True, timeout=30, check=False)

    assert done.returncode == 2
    assert "gateway-sync: tap-nowhere is not installed" in done.stderr


# -- state and category mapping ----------------------------------------------------------------
def test_state_dir_keeps_state_between_runs_and_offers_a_mapping_template(sync):
    first = sync("--state-dir", str(sync.state), FAKE_RUN="1", **ALL_SETTINGS)

    assert first.returncode == 0, first.stderr
    assert sync.seen("tap")["state"] is None
    state_file = sync.state / "state.json"
    assert json.loads(state_file.read_text()) == {"bookmarks": {"products": {"run": "1"}}}
    template = sync.state / "category-mapping.template.csv"
    assert template.exists()
    assert sync.seen("target")["config"]["mapping_template_only"] is False
    assert (f"No category mapping yet: products were imported without categories. "
            f"Fill {template} and save it as {sync.state / 'category-mapping.csv'}") \
        in first.stderr
    assert json.loads((sync.state / "report.json").read_text())["status"] == "ok"

    (sync.state / "category-mapping.csv").write_text("source_id,gateway_category\n1,42\n")
    second = sync("--state-dir", str(sync.state), FAKE_RUN="2", **ALL_SETTINGS)

    assert second.returncode == 0, second.stderr
    assert sync.seen("tap")["state"] == {"bookmarks": {"products": {"run": "1"}}}
    assert "--state" in sync.seen("tap")["argv"]
    target_config = sync.seen("target")["config"]
    assert target_config["category_mapping_file"] == str(sync.state / "category-mapping.csv")
    assert "category_mapping_template" not in target_config
    assert "No category mapping" not in second.stderr
    assert json.loads(state_file.read_text()) == {"bookmarks": {"products": {"run": "2"}}}


def test_a_template_the_runner_wrote_is_refreshed_one_a_person_edited_is_kept(sync):
    template = sync.state / "category-mapping.template.csv"
    first = sync("--state-dir", str(sync.state), FAKE_RUN="1", **ALL_SETTINGS)
    assert first.returncode == 0, first.stderr
    assert template.read_text().endswith("\n1")

    second = sync("--state-dir", str(sync.state), FAKE_RUN="2", **ALL_SETTINGS)
    assert template.read_text().endswith("\n2")  # untouched since the runner wrote it
    assert "edited by hand" not in second.stderr

    template.write_text("source_id,source_path,gateway_category\n1,Odzież,77\n")
    third = sync("--state-dir", str(sync.state), FAKE_RUN="3", **ALL_SETTINGS)
    assert template.read_text().endswith(",77\n")
    assert (sync.state / "category-mapping.template.new.csv").read_text().endswith("\n3")
    assert "was edited by hand, so it was kept" in third.stderr


def test_a_failed_tap_writes_no_template_and_no_ok(sync):
    done = sync("--state-dir", str(sync.state), FAKE_TAP_EXIT="1", **ALL_SETTINGS)

    assert done.returncode == 1
    assert not (sync.state / "category-mapping.template.csv").exists()
    assert "No category mapping template was written: tap-fake failed" in done.stderr
    assert "target-gateway: incomplete, tap-fake failed - 5 records read" in done.stderr
    assert "target-gateway: ok" not in done.stderr
    assert "imported" not in done.stderr
    assert json.loads((sync.state / "report.json").read_text())["status"] == "failed"


def test_state_dir_from_env_and_mapping_named_by_env(sync, tmp_path):
    mapping = tmp_path / "mapping.csv"
    mapping.write_text("source_id,gateway_category\n")

    done = sync(GATEWAY_SYNC_STATE_DIR=str(sync.state),
                GATEWAY_SYNC_CATEGORY_MAPPING=str(mapping), **ALL_SETTINGS)

    assert done.returncode == 0, done.stderr
    assert (sync.state / "state.json").exists()
    assert sync.seen("target")["config"]["category_mapping_file"] == str(mapping)


def test_partial_run_keeps_the_state_the_target_confirmed(sync):
    done = sync("--state-dir", str(sync.state), FAKE_TARGET_EXIT="3", FAKE_RUN="7",
                **ALL_SETTINGS)

    assert done.returncode == 3
    assert json.loads((sync.state / "state.json").read_text()) == {
        "bookmarks": {"products": {"run": "7"}}}


def test_failed_run_without_state_from_the_target_leaves_state_alone(sync):
    sync.state.mkdir()
    (sync.state / "state.json").write_text('{"bookmarks": {"old": {"v": 1}}}')

    done = sync("--state-dir", str(sync.state), FAKE_TARGET_EXIT="2", **ALL_SETTINGS)

    assert done.returncode == 1
    assert json.loads((sync.state / "state.json").read_text()) == {"bookmarks": {"old": {"v": 1}}}


def test_dry_run_tells_the_target_and_saves_no_state(sync):
    done = sync("--dry-run", "--state-dir", str(sync.state), **ALL_SETTINGS)

    assert done.returncode == 0, done.stderr
    assert sync.seen("target")["config"]["dry_run"] is True
    assert not (sync.state / "state.json").exists()
    assert "Dry run: nothing was written" in done.stderr
    assert ("gateway-sync: OK (dry run): tap-fake read 5 records; target-gateway would create 5 "
            "and update 0 products; nothing was written.") in done.stderr
    assert "products would be imported without categories" in done.stderr


def test_without_state_dir_says_how_to_get_a_mapping_template(sync):
    done = sync(**ALL_SETTINGS)

    assert "Run with --state-dir DIR (in Docker: mount a volume on /data)" in done.stderr
    assert sync.leftovers() == []


def test_corrupt_state_file_stops_before_running(sync):
    sync.state.mkdir()
    (sync.state / "state.json").write_text("{not json")

    done = sync("--state-dir", str(sync.state), **ALL_SETTINGS)

    assert done.returncode == 2
    assert "state.json cannot be used: it is not valid JSON." in done.stderr
    assert sync.seen("tap") is None


# -- signals -----------------------------------------------------------------------------------
def wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); its parent (the runner) is gone, so check its state.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_both_sides_and_removes_the_private_files(sync, signum, code):
    proc = sync.spawn("--state-dir", str(sync.state), FAKE_TAP_SLEEP="30", **ALL_SETTINGS)
    try:
        wait_for(lambda: sync.seen("tap") is not None and sync.seen("target") is not None)
        assert sync.leftovers() != []  # the configs exist while the pipeline runs
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()

    assert proc.returncode == code
    assert f"gateway-sync: INTERRUPTED by signal {int(signum)}" in stderr
    assert sync.leftovers() == []
    wait_for(lambda: not pid_alive(sync.seen("tap")["pid"]), timeout=5)
    wait_for(lambda: not pid_alive(sync.seen("target")["pid"]), timeout=5)


# -- on a terminal (pexpect) -------------------------------------------------------------------
def spawn_terminal(sync: Sync, *args: str, **env: str) -> pexpect.spawn:
    child = pexpect.spawn(RUNNER[0], [*RUNNER[1:], "tap-fake", *args],
                          env=sync.environ(**env), encoding="utf-8", timeout=30)
    child.transcript = []
    child.logfile_read = _Transcript(child.transcript)
    return child


class _Transcript:
    """Everything the terminal showed, to look for secrets in."""

    def __init__(self, parts: list[str]) -> None:
        self.parts = parts

    def write(self, text: str) -> None:
        self.parts.append(text)

    def flush(self) -> None:
        pass


def test_terminal_hides_secrets_and_asks_again_after_bad_answers(sync):
    child = spawn_terminal(sync)
    child.expect_exact(PROMPT_KEY)
    child.sendline("definitely not base64!")
    child.expect_exact("not valid base64; try again.")
    child.expect_exact(PROMPT_KEY)
    child.sendline(KEY)
    child.expect_exact(PROMPT_GUID)
    child.sendline("shop-42")
    child.expect_exact("not a UUID")
    child.expect_exact(PROMPT_GUID)
    child.sendline(GUID)
    child.expect_exact(PROMPT_URL)
    child.sendline("")
    child.expect_exact("an answer is required; try again.")
    child.expect_exact(PROMPT_URL)
    child.sendline(URL)
    child.expect_exact(PROMPT_TOKEN)
    child.sendline(TOKEN)
    child.expect_exact("gateway-sync: OK")
    child.expect(pexpect.EOF)
    child.close()

    shown = "".join(child.transcript)
    assert child.exitstatus == 0, shown
    assert GUID in shown  # what is typed shows, except the secrets
    assert URL in shown
    assert KEY not in shown
    assert TOKEN not in shown
    assert "definitely not base64!" not in shown
    assert sync.seen("tap")["config"]["access_token"] == TOKEN
    assert sync.leftovers() == []


def test_terminal_ctrl_c_at_a_prompt_exits_130_and_leaves_nothing(sync):
    child = spawn_terminal(sync)
    child.expect_exact(PROMPT_KEY)
    child.sendline(KEY)
    child.expect_exact(PROMPT_GUID)
    child.sendintr()
    child.expect_exact("interrupted by signal 2")
    child.expect(pexpect.EOF)
    child.close()

    assert child.exitstatus == 130
    assert sync.seen("tap") is None
    assert sync.leftovers() == []


def test_terminal_ctrl_c_while_running_stops_the_pipeline(sync):
    child = spawn_terminal(sync, FAKE_TAP_SLEEP="30", **ALL_SETTINGS)
    child.expect_exact("gateway-sync: running tap-fake | target-gateway")
    wait_for(lambda: sync.seen("tap") is not None)
    child.sendintr()
    child.expect_exact("INTERRUPTED by signal 2")
    child.expect(pexpect.EOF)
    child.close()

    assert child.exitstatus == 130
    assert sync.leftovers() == []


# -- structured logs ----------------------------------------------------------------------------
def test_children_log_json_that_the_operator_never_sees(sync):
    quiet = sync(FAKE_SDK_LOGGING="1", **ALL_SETTINGS)
    verbose = sync("-v", FAKE_SDK_LOGGING="1", **ALL_SETTINGS)

    assert quiet.returncode == 0, quiet.stderr
    for seen_by in ("tap", "target"):  # both were asked for structured logging...
        config = Path(sync.seen(seen_by)["env"]["SINGER_SDK_LOG_CONFIG"])
        assert config.parent.parent == sync.tmp  # in the private dir
    assert sync.leftovers() == []
    for run in (quiet, verbose):  # ...and what was shown is made of their records, not JSON
        shown = run.stderr.splitlines()
        assert not [line for line in shown if line.lstrip().startswith("{")], run.stderr
        assert '"level"' not in run.stderr
        assert '"logger_name"' not in run.stderr
    assert "target-gateway: ok - 5 records read" in quiet.stderr.splitlines()
    assert "target-gateway INFO: target chatter" in verbose.stderr.splitlines()


def test_a_tap_without_structured_logging_keeps_its_text_logs(sync):
    done = sync("-v", FAKE_TEXT_LOGS="1", **ALL_SETTINGS)

    assert done.returncode == 0, done.stderr
    assert "SINGER_SDK_LOG_CONFIG" not in sync.seen("tap")["env"]
    assert "SINGER_SDK_LOG_CONFIG" in sync.seen("target")["env"]
    tap_lines = [line for line in done.stderr.splitlines() if line.startswith("tap-fake: ")]
    assert any(line.endswith('METRIC: {"type": "counter"} tap chatter') and " | INFO" in line
               for line in tap_lines), done.stderr  # forwarded as the text it is
    assert "progress: read 5 records" in done.stderr  # the target's records still read


def test_the_verdict_comes_from_the_targets_summary_record(sync):
    # no report file: PARTIAL and the failed count can only come from the summary record
    done = sync(FAKE_TARGET_EXIT="3", FAKE_LOST="1", **ALL_SETTINGS)

    assert done.returncode == 3, done.stderr
    assert "target-gateway wrote no report." in done.stderr
    assert "gateway-sync: PARTIAL: target-gateway exited 3; 1 failed, the rest was written" \
        in done.stderr


def test_a_logged_exception_shrinks_to_one_line_unless_verbose(sync):
    quiet = sync(FAKE_TAP_LOG_EXCEPTION="1", FAKE_SDK_LOGGING="1", **ALL_SETTINGS)
    verbose = sync("-v", FAKE_TAP_LOG_EXCEPTION="1", FAKE_SDK_LOGGING="1", **ALL_SETTINGS)

    assert quiet.returncode == 1
    assert ("tap-fake ERROR: could not read the shop (ValueError: the shop answered nonsense)"
            " (gateway-sync -v shows the traceback)") in quiet.stderr.splitlines()
    assert "inner cause" not in quiet.stderr
    shown = verbose.stderr.splitlines()
    assert "tap-fake ERROR: could not read the shop" in shown
    assert "tap-fake: Traceback (most recent call last):" in shown
    inner = shown.index("tap-fake: ConnectionRefusedError: inner cause")
    link = shown.index("tap-fake: The above exception was the direct cause of the following "
                       "exception:")
    outer = shown.index("tap-fake: ValueError: the shop answered nonsense")
    assert inner < link < outer  # in the order Python prints a chain


def test_secrets_a_child_leaks_are_masked_in_every_form(sync):
    done = sync(FAKE_LEAK="1", **ALL_SETTINGS)

    assert done.returncode == 0, done.stderr
    assert "tap-fake WARNING: retrying with Authorization: Basic " in done.stderr
    assert "and token ***" in done.stderr
    assert "tap-fake: debug: POST /auth token=***" in done.stderr
    basic = base64.b64encode(f"api:{TOKEN}".encode()).decode()
    for leaked in (TOKEN, basic, basic[8:-4], quote_plus(TOKEN)):
        assert leaked not in done.stderr
