"""JSON that keeps money exact: Decimals out as JSON numbers, JSON numbers in as Decimals.

The same encoding singer-sdk uses for Singer messages, in one place for the emulators, the
Gateway client and the tests, so that no component rounds a price through a float.
"""

from __future__ import annotations

import datetime
import decimal
import json
from typing import Any

import simplejson


def _default(obj: Any) -> str:
    if isinstance(obj, (datetime.datetime, datetime.date)):
        return obj.isoformat()
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def dumps(obj: Any, *, indent: int | None = None) -> str:
    """Serialize with Decimals as exact numbers and Polish text unescaped."""
    separators = None if indent else (",", ":")
    return simplejson.dumps(obj, use_decimal=True, default=_default, ensure_ascii=False,
                            separators=separators, indent=indent)


def loads(text: str | bytes) -> Any:
    """Parse with every non-integer number as a Decimal."""
    return json.loads(text, parse_float=decimal.Decimal)
