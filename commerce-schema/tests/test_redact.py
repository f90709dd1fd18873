"""A secret never survives redaction, whatever encoding it leaked in."""

import base64
import json
import logging
from urllib.parse import quote, quote_plus

import pytest
from commerce_schema.redact import RedactingFormatter, Redactor

SECRET = 'p@ss wörd/"x+y'


@pytest.fixture
def redactor() -> Redactor:
    r = Redactor()
    r.add(SECRET)
    return r


@pytest.mark.parametrize("leak", [
    SECRET,
    quote(SECRET, safe=""),
    quote_plus(SECRET),
    json.dumps(SECRET)[1:-1],
    json.dumps(SECRET, ensure_ascii=False)[1:-1],
    base64.b64encode(SECRET.encode()).decode(),
    base64.urlsafe_b64encode(SECRET.encode()).decode(),
])
def test_every_form_is_masked(redactor: Redactor, leak: str) -> None:
    out = redactor(f"error: the server said {leak} was wrong")
    assert leak not in out
    assert "***" in out


@pytest.mark.parametrize("prefix", ["", "u:", "us:", "use:"])
def test_base64_inside_a_longer_value_is_masked(redactor: Redactor, prefix: str) -> None:
    """``Authorization: Basic base64(user:password)``: the secret sits at any offset."""
    header = base64.b64encode(f"{prefix}{SECRET}".encode()).decode()
    out = redactor(f"Authorization: Basic {header}")
    assert "***" in out
    # nothing longer than the two edge characters of the secret's base64 is left
    decoded = base64.b64decode(header)
    assert decoded.endswith(SECRET.encode())
    assert header not in out


def test_short_and_empty_values_are_not_registered() -> None:
    r = Redactor()
    r.add("", None, "abc")
    assert r("abc def") == "abc def"
    assert not r


def test_longest_secret_wins() -> None:
    r = Redactor()
    r.add("secret", "secret-token-long")
    assert r("x secret-token-long y") == "x *** y"


def test_formatter_redacts_message_and_traceback(redactor: Redactor) -> None:
    formatter = RedactingFormatter(logging.Formatter("%(message)s"), redactor)
    try:
        raise ValueError(f"bad {quote(SECRET, safe='')}")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed with %s",
                                   (SECRET,), sys.exc_info())
    line = formatter.format(record)
    assert SECRET not in line
    assert quote(SECRET, safe="") not in line
    assert line.count("***") >= 2


def test_redact_loads_without_singer_sdk() -> None:
    """gateway-sync imports only the redactor: the package must not pull singer-sdk in."""
    import subprocess
    import sys

    code = ("import sys, commerce_schema.redact; "
            "print(any(m.startswith('singer_sdk') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"


def test_public_names_still_import_from_the_package() -> None:
    import commerce_schema

    assert commerce_schema.net_from_gross("158.00", 23) == commerce_schema.round_money("128.46")
    assert set(commerce_schema.__all__) >= {"validate_record", "STREAM_KEYS"}
