"""Pins of the singer-sdk behaviour target-gateway relies on where the SDK has no public hook.

Each test fails loudly if an SDK upgrade changes what it pins (see target.py, sinks.py and
state.py for why each is needed):

- STATE reaches the target only through the message reader's STATE callback (the gate
  replaces it), and the SDK prints no STATE of its own;
- a sink given no key properties makes no key check, and a schema without date formats gets
  no date parsing, so contract-breaking records are skipped by our check, not fatal;
- the handlers the target installs for SIGINT/SIGTERM are the ones in force;
- the SDK's command has a ``--config`` option whose callback the target replaces;
- the config check lists every problem at once, in plain words, through the real command.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from singer_sdk.io_base import SingerMessageType
from target_gateway.target import InputReader, TargetGateway

TARGET = str(Path(sys.executable).parent / "target-gateway")


def test_the_sdk_hands_state_to_the_reader_callbacks(config):
    seen = {}

    class Spy(InputReader):
        def process_lines(self, file_input, callbacks):
            seen.update(callbacks)
            return super().process_lines(file_input, callbacks)

    import io

    target = TargetGateway(config=config, message_reader=Spy())
    target.process_lines(io.StringIO(""))
    assert SingerMessageType.STATE in seen
    assert SingerMessageType.RECORD in seen


def test_the_sdk_prints_no_state_of_its_own(gateway_shop, kit, config, capsys):
    text = kit.singer(("products", kit.product("1")), ("STATE", {"bookmark": 1}),
                      ("products", kit.product("2")), ("STATE", {"bookmark": 2}))
    code, _ = kit.run(config, text)
    assert code == 0
    assert capsys.readouterr().out.splitlines() == ['{"bookmark": 2}']  # once, not twice
    code, _ = kit.run({**config, "dry_run": True}, text)
    assert code == 0
    assert capsys.readouterr().out == ""  # withheld: nothing else prints one


def test_a_record_without_its_key_is_skipped_and_dates_are_not_parsed(gateway_shop, kit,
                                                                       config):
    no_id = kit.product("1")
    del no_id["id"]
    # the SDK would stop the whole run on this date (datetime_error_treatment ERROR); the
    # contract refuses it instead, for this one record, named
    odd_date = kit.product("2", updated_at="wczoraj")
    code, target = kit.run(config, kit.singer(("products", no_id), ("products", odd_date),
                                              ("products", kit.product("3"))))
    assert code == 3  # partial: two records broke the contract, the other landed
    assert target.report.counts["created"] == 1
    skipped = target.report.to_json()["skipped"]
    assert skipped[0] == {
        "id": "products:<no id>",
        "reason": "breaks the record contract: id: 'id' is a required property"}
    assert skipped[1]["id"] == "products:2"
    assert "updated_at: 'wczoraj' is not a date and time" in skipped[1]["reason"]


def test_the_target_owns_the_signal_handlers(config):
    target = TargetGateway(config=config)
    assert signal.getsignal(signal.SIGTERM) == target.terminate
    assert signal.getsignal(signal.SIGINT) == target.terminate


def test_the_sdk_command_has_the_config_option_the_target_reads():
    command = TargetGateway.get_singer_command()
    (option,) = [p for p in command.params if p.name == "config"]
    assert option.callback is not None
    assert option.callback(None, option, ()).config == {}


def test_three_config_mistakes_are_all_told_in_plain_words(tmp_path, kit):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"shop_guid": "sklep-1", "signing_key": kit.KEY,
                                  "batch_size": "dużo", "image_mode": "fax"}))
    done = subprocess.run([TARGET, "--config", str(config)], input="", capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1
    for problem in ("batch_size must be a whole number",
                    "image_mode must be one of copy, upload, hotlink",
                    "shop_guid must be a UUID"):
        assert problem in done.stderr
    assert "Traceback" not in done.stderr
    assert kit.KEY not in done.stderr


def test_a_broken_config_file_is_one_sentence(tmp_path):
    config = tmp_path / "config.json"
    config.write_text('{"shop_guid": "x",')
    done = subprocess.run([TARGET, "--config", str(config)], input="", capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1
    assert f"config file {config} is not valid JSON (line 1, column 19)" in done.stderr
    assert "Traceback" not in done.stderr
