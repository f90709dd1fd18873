"""Readers for the field shapes every shop platform sends, onto the contract's types.

Platforms send booleans as "1"/"0" or "tak"/"nie", quantities as strings, empty objects as
``[]`` (PHP), times as naive shop-local strings, and texts keyed by locale with gaps. These
readers turn each into what the record contract wants, warn where something was guessed,
and never invent a value (a quantity that cannot be read is null, not 0). Money is not here:
prices and VAT follow ``commerce_schema.money``.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from commerce_schema.money import MoneyError, parse_decimal

logger = logging.getLogger("tapkit.readers")

_TRUE = {"1", "true", "t", "yes", "y", "tak", "on"}


#: what cannot travel as text: lone surrogates (not encodable as UTF-8) and control characters
#: other than tab, line feed and carriage return (NUL breaks C strings and databases, the
#: rest are invisible garbage); zero-width and direction marks are format characters and stay
_SURROGATES = re.compile("[\ud800-\udfff]")
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def clean_text(value: str) -> str:
    """``value`` with each lone surrogate replaced by U+FFFD and control characters (NUL,
    BEL, ... but not tab or newlines) removed; everything else, Polish letters, emoji,
    zero-width and right-to-left marks included, exactly as it was."""
    if _SURROGATES.search(value):
        value = _SURROGATES.sub("\ufffd", value)
    if _CONTROLS.search(value):
        value = _CONTROLS.sub("", value)
    return value


def repair_text(record: Any, path: str = "") -> tuple[Any, list[str]]:
    """``record`` with every string (values and keys, at any depth) passed through
    :func:`clean_text`, and the paths that changed (``name``, ``variants[0].sku``). The
    record is copied only where something changed."""
    if isinstance(record, str):
        cleaned = clean_text(record)
        return cleaned, ([path or "(value)"] if cleaned != record else [])
    if isinstance(record, dict):
        changed: list[str] = []
        out: dict[Any, Any] = {}
        for key, value in record.items():
            new_key = clean_text(key) if isinstance(key, str) else key
            where = f"{path}.{new_key}" if path else str(new_key)
            if new_key != key:
                changed.append(f"{where} (its name)")
            new_value, inner = repair_text(value, where)
            changed += inner
            out[new_key] = new_value
        return (out, changed) if changed else (record, [])
    if isinstance(record, list):
        changed = []
        items = []
        for index, value in enumerate(record):
            new_value, inner = repair_text(value, f"{path}[{index}]")
            changed += inner
            items.append(new_value)
        return (items, changed) if changed else (record, [])
    return record, []


def as_dict(value: Any) -> dict[str, Any]:
    """An object field; PHP platforms write an empty object as ``[]``: both become ``{}``."""
    return value if isinstance(value, dict) else {}


def text(value: Any) -> str | None:
    """A string field, stripped; empty strings become None."""
    if value is None:
        return None
    result = str(value).strip()
    return result or None


def flag(value: Any) -> bool:
    """A boolean as platforms write it: "1"/"0", 1/0, true/false, "tak"/"nie", "yes"/"no",
    "on"/"off"; anything else (null, "") is False."""
    return str(value).strip().lower() in _TRUE


def quantity(value: Any, *, what: str = "stock") -> Decimal | None:
    """A stock quantity: "40" -> 40, "1,5" -> 1.5; null or "" (not tracked) -> None.

    A negative quantity (an oversold shop) becomes 0 with a warning: nobody can buy minus
    two mugs. An unreadable one becomes None (unknown) with a warning, never 0.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        amount = parse_decimal(value, field=what)
    except MoneyError:
        logger.warning("%s: %r is not a quantity; emitted as null", what, value)
        return None
    if amount < 0:
        logger.warning("%s: %s is negative; emitted as 0", what, amount)
        return Decimal(0)
    return amount


def local_to_utc(value: Any, timezone: ZoneInfo) -> str | None:
    """A naive shop-local "YYYY-MM-DD HH:MM:SS" (or ISO) time as UTC ISO 8601.

    ``timezone`` is the shop's IANA zone; the offset is the one in force at that moment, so
    summer and winter times both come out right. In the autumn hour that happens twice the
    earlier one is taken (``fold=0``); a stream's lookback covers the difference. A time
    with its own offset keeps it. "0000-00-00 ..." (MySQL's "no date") is None.
    """
    raw = text(value)
    if raw is None or raw.startswith("0000"):
        return None
    try:
        moment = dt.datetime.fromisoformat(raw.replace(" ", "T"))
    except ValueError:
        logger.warning("unreadable date %r emitted as null", raw)
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone)
    return moment.astimezone(dt.timezone.utc).isoformat()


def utc_to_local(moment: dt.datetime, timezone: ZoneInfo) -> str:
    """A datetime as the naive shop-local string platforms filter on (naive = UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(timezone).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class Translator:
    """Picks the text of the chosen language, else the default, else any; warns once per
    object when it falls back."""

    language: str
    default_language: str
    _warned: set[tuple[str, str]] = field(default_factory=set)

    def pick(self, translations: Any, *, kind: str, object_id: Any
             ) -> tuple[str, dict[str, Any]] | None:
        """``(locale, texts)`` in the chosen language or the fallback; None if none at all.

        ``translations`` is ``{locale: {field: text}}``; entries that are not objects are
        ignored.
        """
        available = {k: v for k, v in as_dict(translations).items() if isinstance(v, dict)}
        if self.language in available:
            return self.language, available[self.language]
        for locale in (self.default_language, *sorted(available)):
            if locale in available:
                key = (kind, str(object_id))
                if key not in self._warned:
                    self._warned.add(key)
                    logger.warning("%s %s has no %s translation; using %s", kind, object_id,
                                   self.language, locale)
                return locale, available[locale]
        return None

    def text_of(self, translations: Any, key: str, *, kind: str, object_id: Any) -> str | None:
        """One field (``name``, ``value``) in the chosen language or its fallback."""
        picked = self.pick(translations, kind=kind, object_id=object_id)
        return text(picked[1].get(key)) if picked else None


#: where a value that is no whole number sorts: after every real position or id
UNNUMBERED = 1 << 30


def sort_position(value: Any) -> int:
    """A position or id as a sort key (``"7"`` -> 7): platforms send them as text or
    numbers, sometimes empty; one without a whole number sorts last (:data:`UNNUMBERED`)
    instead of stopping the sort."""
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return UNNUMBERED
