"""Secrets: no run of the corpus, failing or not, shows the signing key, the Gateway token, the
Shoper password or a Shoper token, in stdout, stderr, reports, logs or files left behind.

Each case already checks its own output (``hostile.seen``); the sweep below runs after all
of them (see conftest) and greps everything again, plus every file the session left in its
temporary directories except the config files the tests themselves wrote.
"""

from __future__ import annotations

import pytest
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


@pytest.mark.secrets_sweep
def test_no_output_or_file_of_the_corpus_holds_a_secret(hostile, tmp_path_factory):
    transcripts = list(hostile.TRANSCRIPTS)
    assert transcripts  # at least this file's own failing run above
    secrets = hostile.secrets()
    assert len(secrets) >= 6
    for label, text in transcripts:
        for secret in secrets:
            assert secret not in text, f"{label} showed a secret"
    written_by_tests = ("-tap.json", "-target.json")
    checked = 0
    for path in tmp_path_factory.getbasetemp().rglob("*"):
        if not path.is_file() or path.name.endswith(written_by_tests):
            continue
        content = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in content, f"{path} holds a secret"
        checked += 1
    assert checked > 0
