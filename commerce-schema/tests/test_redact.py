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
