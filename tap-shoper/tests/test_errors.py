"""What a user sees when credentials, the URL or the shop go wrong; token re-exchange."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from sandbox.server import Emulator, Response, Switches, route
from sandbox.shoper import ShoperEmulator
from singer_sdk.exceptions import ConfigValidationError
from tap_shoper.auth import ShoperAuthenticator
from tap_shoper.errors import AccessDeniedError, CredentialsRefusedError, NotAShoperShopError
from tap_shoper.tap import TapShoper

TAP = Path(sys.executable).parent / "tap-shoper"


class Website(Emulator):
    """An ordinary website: HTML 200 for every path."""

    name = "website"

    @route("GET", r"/.*")
    def page(self, request):
        return Response(200, "<html><body>Witamy!</body></html>", content_type="text/html")

    @route("POST", r"/.*")
    def post(self, request):
        return Response(200, "<html><body>Witamy!</body></html>", content_type="text/html")


def test_a_wrong_password_says_the_login_was_refused(shop, run_tap):
    config = {"shop_url": shop.url, "username": "demo", "password": "tajne-hasło-123"}
    with pytest.raises(CredentialsRefusedError, match="refused the username and password") as e:
        run_tap(config)
    assert "tajne-hasło-123" not in str(e.value)


def test_a_wrong_token_says_the_credentials_were_refused(shop, run_tap):
    with pytest.raises(CredentialsRefusedError, match=r"refused the credentials .*401 "
                                                      r"Unauthorized unauthorized_client.*"
                                                      r"check the access_token"):
        run_tap({"shop_url": shop.url, "access_token": "0123456789abcdef"})
    assert len(shop.requests_to("GET", "application-config")) == 1  # no pointless retries


def test_the_cli_reports_refusal_without_leaking_the_secret(shop, tmp_path):
    config = tmp_path / "config.json"
    config.write_text(f'{{"shop_url": "{shop.url}", "username": "demo", '
                      f'"password": "tajne-haslo-123"}}')
    done = subprocess.run([str(TAP), "--config", str(config)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode != 0
    assert "Shoper refused the username and password" in done.stderr
    assert "tajne-haslo-123" not in done.stderr + done.stdout


def test_an_expired_token_is_exchanged_again_once(shop, login_config):
    tap = TapShoper(config=login_config(shop))
    _ = tap.shop.context  # dictionaries loaded with the first token
    issued = shop.tokens_issued
    shop.expire_tokens()  # the 30-day token runs out in the middle of the run
    with contextlib.redirect_stdout(io.StringIO()) as out:
        tap.sync_all()
    assert shop.tokens_issued == issued + 1
    assert out.getvalue().count('"stream":"products","record"') == 20
    assert tap.authenticator.exchanges == 2


def test_a_login_whose_tokens_are_always_refused_stops_after_one_retry(run_tap, login_config):
    with ShoperEmulator(n_products=3) as emulator:
        emulator._token_valid = lambda token: False
        with pytest.raises(CredentialsRefusedError, match="username and password"):
            run_tap(login_config(emulator))
        assert len(emulator.requests_to("POST", r"/auth$")) == 2


def test_expires_in_is_honoured(requests_mock):
    now = [1000.0]
    requests_mock.post("https://sklep.example/webapi/rest/auth", [
        {"json": {"access_token": "a" * 40, "expires_in": 3600, "token_type": "bearer"},
         "headers": {"Content-Type": "application/json"}},
        {"json": {"access_token": "b" * 40, "expires_in": 3600, "token_type": "bearer"},
         "headers": {"Content-Type": "application/json"}},
    ])
    auth = ShoperAuthenticator(shop_url="https://sklep.example", session=requests.Session(),
                               username="u", password="p", clock=lambda: now[0])
    assert auth.token() == "a" * 40
    now[0] += 3000  # still well inside the hour
    assert auth.token() == "a" * 40
    now[0] += 400  # within the safety margin before expiry
    assert auth.token() == "b" * 40
    assert requests_mock.call_count == 2
    assert requests_mock.request_history[0].text == "client_id=u&client_secret=p"


@pytest.mark.parametrize("path", ["/sklep", ""])
def test_a_url_that_is_not_a_shoper_shop_says_so(path, run_tap):
    with Website() as site, ShoperEmulator(n_products=2) as shop:
        for url, config in [
            (shop.url + "/sklep", {"username": "demo", "password": "demo-password"}),
            (site.url + path, {"access_token": "x"}),
            (site.url + path, {"username": "demo", "password": "demo-password"}),
        ]:
            with pytest.raises(NotAShoperShopError, match="does not look like a Shoper shop"):
                run_tap({"shop_url": url, **config})


def test_missing_area_rights_are_explained(requests_mock, run_tap):
    requests_mock.get("https://sklep.example/webapi/rest/application-config",
                      status_code=403, headers={"Content-Type": "application/json"},
                      json={"error": "insufficient_scope",
                            "error_description": "Insufficient scope"})
    with pytest.raises(AccessDeniedError, match=r"application-config.*403.*insufficient_scope"):
        run_tap({"shop_url": "https://sklep.example", "access_token": "t"})


def test_server_errors_are_retried(run_tap, login_config, monkeypatch):
    waits = []
    monkeypatch.setattr("backoff._sync.time.sleep", waits.append)
    switches = Switches(error_rate=0.3, seed=3, fault_paths="product")
    with ShoperEmulator(n_products=10, switches=switches) as emulator:
        run = run_tap(login_config(emulator, page_size=5))
    assert [r["id"] for r in run.records["products"]] == [str(i) for i in range(1, 11)]
    assert waits  # some 503s were answered, and retried
    assert waits[0] == 1  # exponential backoff starts at 1 s


@pytest.mark.parametrize(("config", "message"), [
    ({"access_token": "t", "username": "u", "password": "p"}, "not both"),
    ({}, "Give access_token, or username and password"),
    ({"username": "u"}, "username and password must be given together"),
    ({"access_token": "t", "shop_url": "sklep.pl"}, "must start with https://"),
])
def test_config_mistakes_are_explained(config, message):
    with pytest.raises(ConfigValidationError) as error:
        TapShoper(config={"shop_url": "https://sklep.example", **config})
    assert any(message in e for e in error.value.errors)


def test_three_config_mistakes_are_named_at_once_by_the_real_command(tmp_path):
    config = tmp_path / "bad.json"
    config.write_text('{"page_size": 100, "access_token": "tajny-token-42", '
                      '"username": "jan", "password": "tajne-haslo-42"}')
    done = subprocess.run([str(TAP), "--config", str(config)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if "| ERROR" in line]
    for words in ("shop_url is missing.", "page_size 100 is above Shoper's maximum of 50.",
                  "Give either access_token or username + password, not both."):
        assert any(words in line for line in errors), done.stderr
    assert "Traceback" not in done.stderr
    assert "tajny-token-42" not in done.stderr
    assert "tajne-haslo-42" not in done.stderr


def test_a_config_file_that_is_not_json_is_one_line_not_a_traceback(tmp_path):
    config = tmp_path / "tap.json"
    config.write_text("shop_url: https://sklep.example\n")  # YAML, not JSON
    done = subprocess.run([str(TAP), "--config", str(config)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 2
    [line] = [line for line in done.stderr.splitlines() if "| ERROR" in line]
    assert "tap.json is not valid JSON" in line
    assert "Traceback" not in done.stderr
