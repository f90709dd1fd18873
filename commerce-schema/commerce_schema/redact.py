"""The one redactor for secrets, used by every tap, target-gateway and gateway-sync.

A secret leaks in more shapes than its raw text: an auth endpoint echoes a form body back
URL-encoded (``p%40ss``, ``p+ss``), a JSON error escapes it (``p\\"ss``, ``\\u0105``), an
``Authorization: Basic`` header or a proxy's debug page carries it base64-encoded, possibly in
the middle of a longer base64 string (``user:secret``). :class:`Redactor` knows all of those
forms of every registered secret and replaces each with ``***``.

Base64 inside a longer string depends on the secret's offset modulo 3, so for each of the
three alignments the characters that are fully determined by the secret alone are matched;
the one or two edge characters shared with the neighbours are left (they reveal at most a
few bits of the secret's first and last byte).

Secrets shorter than :data:`MIN_SECRET_LENGTH` are not registered: replacing ``"1"``
everywhere would garble every log line and protect nothing.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MIN_SECRET_LENGTH = 4
#: what a secret is replaced with
MASK = "***"


def _base64_cores(raw: bytes) -> set[str]:
    """The base64 text that ``raw`` produces wherever it sits inside a longer byte string."""
    cores: set[str] = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw + b"\0\0").decode("ascii")
        # characters wholly made of the secret's bits: skip those mixing in the padding bytes
        start = -(-offset * 4 // 3)  # ceil(offset * 4 / 3)
        end = (offset + len(raw)) * 4 // 3
        core = encoded[start:end]
        if len(core) >= MIN_SECRET_LENGTH:
            cores.add(core)
            cores.add(core.replace("+", "-").replace("/", "_"))  # the URL-safe alphabet
    return cores


def encoded_forms(secret: str) -> set[str]:
    """Every form of ``secret`` that is redacted: raw, URL-, JSON- and base64-encoded."""
    forms = {secret, quote(secret, safe=""), quote_plus(secret), quote(secret)}
    for ascii_only in (True, False):
        forms.add(json.dumps(secret, ensure_ascii=ascii_only)[1:-1])
    forms |= _base64_cores(secret.encode("utf-8"))
    return {form for form in forms if len(form) >= MIN_SECRET_LENGTH}


class Redactor:
    """Replaces every registered secret, in every encoded form, with ``***``. Thread-safe."""

    def __init__(self) -> None:
        self._forms: list[str] = []
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, *secrets: str | bytes | None) -> None:
        """Register values that must never be written anywhere (short or empty ones ignored)."""
        with self._lock:
            for secret in secrets:
                if isinstance(secret, bytes):
                    secret = secret.decode("utf-8", "replace")
                if not secret or len(secret) < MIN_SECRET_LENGTH or secret in self._secrets:
                    continue
                self._secrets.add(secret)
                forms = set(self._forms) | encoded_forms(secret)
                # longest first, so that a secret containing another is masked whole
                self._forms = sorted(forms, key=len, reverse=True)

    def add_all(self, values: Iterable[str | None]) -> None:
        """Register several secrets at once."""
        self.add(*values)

    def __call__(self, text: str) -> str:
        """``text`` with every form of every secret replaced by ``***``."""
        for form in self._forms:
            if form in text:
                text = text.replace(form, MASK)
        return text

    def __bool__(self) -> bool:
        return bool(self._forms)


#: the process-wide redactor: every secret of the run is registered here once
redact = Redactor()


class RedactingFormatter(logging.Formatter):
    """Wraps a handler's formatter so that the finished line, traceback included, is redacted."""

    def __init__(self, inner: logging.Formatter | None, redactor: Redactor = redact) -> None:
        super().__init__()
        self._inner = inner or logging.Formatter()
        self._redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        """The inner formatter's line, redacted."""
        return self._redactor(self._inner.format(record))


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    """Redact every handler of ``logger`` (default: the root logger, where the SDK logs)."""
    for handler in (logger or logging.getLogger()).handlers:
        if not isinstance(handler.formatter, RedactingFormatter):
            handler.setFormatter(RedactingFormatter(handler.formatter))
