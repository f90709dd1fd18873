"""The tap base through the real command line: config problems at once in plain words, broken
files as one line, exit codes, secrets masked, and the end-of-run report."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest
from commerce_schema.redact import redact
from singer_sdk.exceptions import ConfigValidationError
from tapkit.tap import EXIT_BAD_CONFIG, ConfigProblemsError
from tapkit.testing import run_tap


def cli(demo, tmp_path, *args: str, config: dict | str | None = None):
    """``python demo_tap.py --config <file> ...``."""
    command = [sys.executable, str(demo.DEMO_PATH)]
    if config is not None:
        path = tmp_path / "config.json"
        path.write_text(config if isinstance(config, str) else json.dumps(config))
        command += ["--config", str(path)]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=60,
                          check=False)


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "| ERROR" in line]


def test_three_mistakes_are_all_named_in_plain_words_with_exit_2(demo, tmp_path):
    done = cli(demo, tmp_path, config={"page_size": 100, "api_key": "sekret-klucz-123",
                                       "username": "jan"})
    assert done.returncode == EXIT_BAD_CONFIG
    errors = "\n".join(error_lines(done.stderr))
    assert "shop_url is missing." in errors
    assert "page_size 100 is above Demo's maximum of 50." in errors
    assert "give either api_key or username, not both." in errors
    assert "3 problems in the configuration; nothing was run." in errors
    assert "Traceback" not in done.stderr
    assert "Config validation failed" not in done.stderr  # not the SDK's bare summary
    assert "sekret-klucz-123" not in done.stderr + done.stdout


def test_a_config_file_that_is_not_json_is_one_clear_line(demo, tmp_path):
    done = cli(demo, tmp_path, config='{"shop_url": "https://x.example",')
    assert done.returncode == EXIT_BAD_CONFIG
    [line] = error_lines(done.stderr)
    assert "is not valid JSON" in line
    assert "config.json" in line
    assert "Traceback" not in done.stderr


def test_a_missing_config_file_is_one_clear_line(demo, tmp_path):
    done = cli(demo, tmp_path, "--config", str(tmp_path / "nie-ma.json"))
    assert done.returncode == EXIT_BAD_CONFIG
    [line] = error_lines(done.stderr)
    assert "nie-ma.json does not exist" in line
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(("content", "words"), [("{\"bookmarks\": ", "is not valid JSON"),
                                                ("[1, 2]", "holds a JSON list, not an object")])
def test_a_broken_state_file_is_one_clear_line(demo, tmp_path, content, words):
    state = tmp_path / "state.json"
    state.write_text(content)
    done = cli(demo, tmp_path, "--state", str(state), config={"shop_url": "https://x.example"})
    assert done.returncode == EXIT_BAD_CONFIG
    [line] = error_lines(done.stderr)
    assert "state file" in line
    assert words in line
    assert "Traceback" not in done.stderr
    assert done.stdout == ""  # nothing was run


def test_a_good_run_exits_0_and_reports_skipped_rows(demo, tmp_path):
    config = {"shop_url": "https://x.example", "categories": [{"id": 1, "name": "Kubki"}],
              "products": [{"id": 1, "price": 5}, {"id": 2}, {"id": 3, "price": 7}]}
    done = cli(demo, tmp_path, config=config)
    assert done.returncode == 0, done.stderr[-2000:]
    assert error_lines(done.stderr) == [
        next(line for line in done.stderr.splitlines() if "Skipped product 2" in line)]
    assert "Skipped product 2: product 2: no price" in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert "WARNING" in last
    assert "Finished with 1 records skipped (1 products)" in last


def test_problems_raise_at_construction_as_the_sdk_error_type(demo):
    # pins the SDK: Tap.__init__ validates the schema after storing the config
    with pytest.raises(ConfigProblemsError) as error:
        demo.TapDemo(config={"page_size": 0, "start_date": "wczoraj"})
    assert isinstance(error.value, ConfigValidationError)
    assert error.value.errors == ["shop_url is missing.",
                                  "page_size 0 is below the minimum of 1.",
                                  "start_date 'wczoraj' is not a date and time such as "
                                  "2024-01-31T00:00:00Z."]


def test_a_required_setting_given_empty_is_missing(demo):
    with pytest.raises(ConfigProblemsError) as error:
        demo.TapDemo(config={"shop_url": "  "})
    assert error.value.errors == ["shop_url is missing."]


def test_the_tap_s_own_problems_come_also_when_the_schema_is_satisfied(demo):
    with pytest.raises(ConfigProblemsError) as error:
        demo.TapDemo(config={"shop_url": "https://x.example", "api_key": "k" * 8,
                             "username": "u"})
    assert error.value.errors == ["give either api_key or username, not both."]


def test_a_secret_s_type_error_never_echoes_it(demo):
    with pytest.raises(ConfigProblemsError) as error:
        demo.TapDemo(config={"shop_url": "https://x.example", "api_key": 123456789})
    assert error.value.errors == ["api_key must be text."]


def test_secret_settings_are_registered_for_redaction(demo):
    demo.TapDemo(config={"shop_url": "https://x.example", "api_key": "klucz-do-sklepu-42"})
    assert redact("token=klucz-do-sklepu-42") == "token=***"
    assert redact("klucz%2Ddo") == "klucz%2Ddo"  # only the secret, not its neighbours


def test_sync_finished_runs_once_after_every_stream(demo, caplog):
    # pins the SDK: Tap.sync_all (final) calls every stream's log_sync_costs once, at the end
    calls = []

    class Tap(demo.TapDemo):
        def sync_finished(self) -> None:
            calls.append(sorted(s.name for s in self.streams.values() if s.emitted))
            super().sync_finished()

    caplog.set_level(logging.INFO)
    run = run_tap(Tap, {"shop_url": "https://x.example",
                        "categories": [{"id": 1, "name": "Kubki"}, {"id": 2, "name": " "}],
                        "products": [{"id": 1, "price": 5}]})
    assert calls == [["categories", "products"]]
    assert [r["id"] for r in run.records["categories"]] == ["1"]
    assert "Skipped category 2: category 2 has no name" in caplog.text
    assert "categories: 1 records emitted, 1 skipped" in caplog.text
    final = [r for r in caplog.records if r.getMessage().startswith("Finished")]
    assert len(final) == 1
    assert final[0].levelno == logging.WARNING
    assert final[0].skipped_records == {"categories": 1, "products": 0}  # for a runner


def test_an_unknown_setting_is_named_with_the_one_meant(demo, tmp_path):
    done = cli(demo, tmp_path, config={"shop_ur": "https://x.example", "page_sise": 10,
                                       "colour": "red", "_select": ["x"]})
    assert done.returncode == EXIT_BAD_CONFIG
    errors = error_lines(done.stderr)
    assert any(e.endswith("Config: shop_ur: unknown setting; did you mean shop_url?")
               for e in errors)
    assert any(e.endswith("Config: page_sise: unknown setting; did you mean page_size?")
               for e in errors)
    assert any(e.endswith("Config: colour: unknown setting.") for e in errors)
    assert not any("_select" in e for e in errors)  # a tool's private extra
    assert "Traceback" not in done.stderr


def test_the_sdk_s_built_in_settings_are_known(demo):
    known = demo.TapDemo.known_settings()
    assert {"stream_maps", "stream_map_config", "faker_config", "flattening_enabled",
            "flattening_max_depth", "batch_config", "shop_url"} <= known
    demo.TapDemo(config={"shop_url": "https://x.example", "stream_maps": {},
                         "flattening_enabled": False, "flattening_max_depth": 2,
                         "faker_config": {"locale": "pl_PL"}})  # no error
