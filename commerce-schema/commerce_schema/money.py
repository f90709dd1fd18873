"""Money and VAT helpers every tap needs: Decimal only, ROUND_HALF_UP to 2 places.

Platforms send prices as "259.00", "259,00", 259 or 259.0; Polish shops write VAT as "23%",
"zw." (exempt) or "np." (not applicable). Everything here turns those into ``Decimal`` and
``int`` so that no float ever touches a price.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

TWO_PLACES = Decimal("0.01")
#: Prices above this are certainly a parsing error (or hostile input), never a real price.
MAX_AMOUNT = Decimal("1000000000")

_NUMBER = re.compile(r"^[+-]?(\d+)(\.\d+)?$")
_VAT_ZERO_NAMES = {"zw", "zw.", "np", "np.", "oo", "0%", "vat0", "exempt"}


class MoneyError(ValueError):
    """A price or VAT value that cannot be read safely; the message says which value and why."""


def parse_decimal(value: object, *, field: str = "value") -> Decimal:
    """Read a decimal number as platforms send it: "259.00", "259,00", "1 259,00", 259, 259.0.

    The last of ``.``/``,`` is the decimal separator when both appear ("1.259,00" and
    "1,259.00" are both 1259.00). Floats are read through their shortest repr so that 0.1
    stays 0.1. Empty strings, words, NaN, infinities, exponents and absurd magnitudes raise
    :class:`MoneyError` naming ``field``.
    """
    if isinstance(value, bool) or value is None:
        raise MoneyError(f"{field}: expected a number, got {value!r}")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, str):
        number = _parse_decimal_string(value, field)
    else:
        raise MoneyError(f"{field}: expected a number, got {type(value).__name__}")
    if not number.is_finite():
        raise MoneyError(f"{field}: {value!r} is not a finite number")
    if abs(number) >= MAX_AMOUNT:
        raise MoneyError(f"{field}: {value!r} is out of range")
    return number


def _parse_decimal_string(raw: str, field: str) -> Decimal:
    text = raw.strip().replace("\u00a0", "").replace(" ", "").replace("\u202f", "")
    if "," in text and "." in text:
        decimal_sep = "," if text.rfind(",") > text.rfind(".") else "."
        thousands = "." if decimal_sep == "," else ","
        text = text.replace(thousands, "").replace(decimal_sep, ".")
    else:
        text = text.replace(",", ".")
    if not _NUMBER.match(text):
        raise MoneyError(f"{field}: {raw!r} is not a decimal number")
    try:
        return Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the regex already guards this
        raise MoneyError(f"{field}: {raw!r} is not a decimal number") from exc


def round_money(amount: object, *, field: str = "amount") -> Decimal:
    """Round to 2 places, half up (259.005 -> 259.01), as Polish invoices do."""
    return parse_decimal(amount, field=field).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def vat_rate(value: object, *, field: str = "vat_rate") -> int:
    """Read a VAT rate as shops write it: 23, "23", "23%", "23.00", "VAT23", "zw.", "np.".

    "zw." (exempt) and "np." (not applicable) are 0%. Returns whole percent; a fractional
    or negative rate, or one above 100, raises :class:`MoneyError`.
    """
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _VAT_ZERO_NAMES:
            return 0
        text = text.removeprefix("vat").removesuffix("%").strip()
        number = parse_decimal(text, field=field)
    else:
        number = parse_decimal(value, field=field)
    if number != number.to_integral_value() or not 0 <= number <= 100:
        raise MoneyError(f"{field}: {value!r} is not a VAT rate in whole percent")
    return int(number)


def net_from_gross(gross: object, rate: object) -> Decimal:
    """Net unit price from a gross one: 259.00 at 23% -> 210.57."""
    vat = Decimal(vat_rate(rate))
    amount = parse_decimal(gross, field="price_gross")
    return (amount * 100 / (100 + vat)).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def gross_from_net(net: object, rate: object) -> Decimal:
    """Gross unit price from a net one: 210.57 at 23% -> 259.00."""
    vat = Decimal(vat_rate(rate))
    amount = parse_decimal(net, field="price_net")
    return (amount * (100 + vat) / 100).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)
