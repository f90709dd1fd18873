"""Secrets: no run of the corpus, failing or not, shows the signing key, the Gateway token, the
Shoper password or a Shoper token, in stdout, stderr, reports, logs or files left behind, in
any encoding: raw, URL-encoded (the form an auth endpoint may echo back), JSON-escaped or
base64 (alone or inside a longer base64 string such as ``user:password``).

Each case already checks its own output (``hostile.seen``); the sweep below runs after all
of them (see conftest) and greps everything again, plus every file the session left in its
temporary directories except the config files the tests themselves wrote.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus

import pytest
from commerce_schema.redact import encoded_forms
from sandbox.gateway import GatewayEmulator
from sandbox.server import Request, Response


class EchoingGateway(GatewayEmulator):
    """A Gateway that quotes the request's credentials back in its 401 (some proxies do)."""

    def before_request(self, request: Request) -> Response | None:
        """Refuse everything, echoing the Authorization header."""
        return Response.json({"message": f"invalid token: {request.header('authorization')}",
                              "detail": {"headers": dict(request.headers)}}, 401)


def test_a_gateway_echoing_the_token_back_gets_it_redacted(hostile, tmp_path):
    with EchoingGateway({hostile.SHOP_GUID: hostile.SIGNING_KEY}) as gateway:
        run = hostile.run_target(tmp_path, "echo", hostile.singer(
            ("products", hostile.product("1"))), gateway)
    assert run.code == 1
    assert "the Gateway refused the shop's credentials: GET /webshops/" in run.err
    assert "invalid token: Bearer ***" in run.err  # the JWT itself is blanked
    assert hostile.GATEWAY_JWT not in run.err + run.out + str(run.report)


def test_an_auth_endpoint_echoing_the_login_in_every_encoding_gets_it_masked(hostile,
                                                                              tmp_path):
    password = hostile.SHOPER_PASSWORD
    echoed = " | ".join([
        password, quote_plus(password), quote(password, safe=""),
        json.dumps(password)[1:-1], base64.b64encode(password.encode()).decode(),
        base64.b64encode(f"demo:{password}".encode()).decode()])

    def echo(request, response, n):
        return Response.json({"error": "unauthorized_client",
                              "error_description": f"bad login: {echoed} body="
                                                   f"{request.body.decode()}"}, 401)

    with hostile.HostileShoper(n_products=1) as shop:
        shop.tamper[r"/auth$"] = echo
        run = hostile.run_tap(tmp_path, "echo-login", shop)  # seen() checks every form
    assert run.code == 1
    assert "Shoper refused the username and password" in run.err
    assert "bad login: ***" in run.err


def every_form(secrets: list[str]) -> list[tuple[str, str]]:
    """(secret's first 4 characters, one encoded form) for every form of every secret."""
    return [(secret[:4], form) for secret in secrets for form in sorted(encoded_forms(secret))]


@pytest.mark.secrets_sweep
def test_no_output_or_file_of_the_corpus_holds_a_secret(hostile, tmp_path_factory):
    transcripts = list(hostile.TRANSCRIPTS)
    assert transcripts  # at least this file's own failing run above
    secrets = hostile.secrets()
    assert len(secrets) >= 6
    forms = every_form(secrets)
    assert len(forms) > 4 * len(secrets)  # raw, URL, JSON and base64 forms of each
    for label, text in transcripts:
        for start, form in forms:
            assert form not in text, f"{label} showed a secret ({start}..., as {form[:6]}...)"
    written_by_tests = ("-tap.json", "-target.json")
    config_dir_inputs = {"tap.json", "target.json"}  # a --config-dir the tests filled in
    checked = 0
    for path in tmp_path_factory.getbasetemp().rglob("*"):
        if not path.is_file() or path.name.endswith(written_by_tests) or (
                path.parent.name == "config" and path.name in config_dir_inputs):
            continue
        content = path.read_bytes()
        for start, form in forms:
            assert form.encode() not in content, f"{path} holds a secret ({start}...)"
        checked += 1
    assert checked > 0
