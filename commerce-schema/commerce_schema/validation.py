"""Readable contract checks: every problem names the stream, the record id and the field.

JSON Schema catches shapes; the rules below catch what a schema cannot say but the Gateway
cares about: money that is not Decimal-safe, negative prices, gross that does not match net
at the record's VAT rate, VAT rates the Gateway has no class for, a product with no variant,
and times that are not times (``updated_at: "yesterday"``: a bookmark built on it would be
garbage, so the schema's ``date-time`` format is enforced, which jsonschema skips by default).

The gross price is the price of record (what the shop's customer pays). A 2-decimal net and
the gross may differ by exactly one grosz from ``net x (1 + VAT)`` rounded half up, because
shops round their own way (158.00 gross at 23% has no 2-decimal net that gives it back:
128.46 gives 158.01); see :data:`GROSS_TOLERANCE`. Anything further apart is reported.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from jsonschema import Draft7Validator, FormatChecker

from commerce_schema.contract import STREAM_KEYS, STREAM_SCHEMAS, SUPPORTED_VAT_RATES
from commerce_schema.money import MAX_AMOUNT, TWO_PLACES, gross_from_net

#: how far the gross may be from ``gross_from_net(net, vat)``: one grosz, inclusive
GROSS_TOLERANCE = Decimal("0.01")

_FORMATS = FormatChecker(formats=())


@_FORMATS.checks("date-time", raises=ValueError)
def is_date_time(value: object) -> bool:
    """RFC 3339 as Python reads it: a date, a time and an offset (``Z`` allowed), e.g.
    ``2024-01-31T08:00:00+00:00``. A date alone, a naive time or a word is refused."""
    if not isinstance(value, str):
        return True  # the type is the schema's to report
    text = value.strip()
    if len(text) < 16 or text[10] not in "Tt ":
        raise ValueError(f"{value!r} is not a date and time such as 2024-01-31T08:00:00Z")
    moment = dt.datetime.fromisoformat(text[:-1] + "+00:00" if text[-1] in "Zz" else text)
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone offset (write UTC as +00:00 or Z)")
    return True


_VALIDATORS = {name: Draft7Validator(schema, format_checker=_FORMATS)
               for name, schema in STREAM_SCHEMAS.items()}


@dataclass(frozen=True)
class ContractError:
    """One problem with one record, phrased so that a vendor can find and fix it."""

    stream: str
    record_id: str | None
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.stream} record {self.record_id or '<no id>'}: {self.field}: {self.message}"


def record_id(stream: str, record: dict[str, Any]) -> str | None:
    """The record's key as a string, or None when it has none (itself a contract error)."""
    keys = STREAM_KEYS.get(stream, (["id"], None))[0]
    value = record.get(keys[0]) if isinstance(record, dict) else None
    return None if value in (None, "") else str(value)


def _path(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def validate_record(stream: str, record: Any) -> list[ContractError]:
    """Return every contract problem of ``record`` in ``stream`` (empty list: valid).

    Numbers must be ``int`` or ``Decimal`` (read JSON with ``parse_float=Decimal``); a
    ``float`` price is reported, since it may already have lost a cent.
    """
    if stream not in _VALIDATORS:
        return [ContractError(stream, None, "(stream)", f"unknown stream {stream!r}")]
    if not isinstance(record, dict):
        return [ContractError(stream, None, "(record)", "a record must be a JSON object")]
    rid = record_id(stream, record)
    errors = [
        ContractError(stream, rid, _field(err), _message(err))
        for err in sorted(_VALIDATORS[stream].iter_errors(_as_jsonable(record)),
                          key=lambda e: list(map(str, e.absolute_path)))
    ]
    if stream == "products":
        errors += _product_rules(rid, record)
    elif stream == "stock":
        errors += _number_rules(stream, rid, "quantity", record.get("quantity"), money=False)
    return errors


def _field(err: Any) -> str:
    """The dotted path of a schema error; for a missing property, the property itself."""
    path = _path(err.absolute_path) if err.absolute_path else ""
    if err.validator == "required" and "'" in err.message:
        missing = err.message.split("'")[1]
        return f"{path}.{missing}" if path else missing
    return path or "(record)"


def _message(err: Any) -> str:
    """The schema's message; a format error says what was expected instead."""
    if err.validator == "format" and err.validator_value == "date-time":
        return (f"{err.instance!r} is not a date and time with a time zone, such as "
                "2024-01-31T08:00:00Z")
    return str(err.message)


def _as_jsonable(value: Any) -> Any:
    """Decimals are JSON numbers for the schema check; jsonschema only knows int and float."""
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else str(value)
    if isinstance(value, dict):
        return {k: _as_jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_jsonable(v) for v in value]
    return value


def _product_rules(rid: str | None, record: dict[str, Any]) -> list[ContractError]:
    errors: list[ContractError] = []
    rate = record.get("vat_rate")
    rate_ok = False
    if isinstance(rate, (int, Decimal)) and not isinstance(rate, bool):
        if Decimal(rate).is_finite() and Decimal(rate) in {Decimal(r) for r in SUPPORTED_VAT_RATES}:
            rate_ok = True
        else:
            errors.append(ContractError("products", rid, "vat_rate",
                                        f"{rate} is not a supported VAT rate "
                                        f"({', '.join(map(str, sorted(SUPPORTED_VAT_RATES)))})"))
    elif isinstance(rate, float):
        errors.append(ContractError("products", rid, "vat_rate", "must be an int, not a float"))
    variants = record.get("variants")
    if isinstance(variants, list) and not variants:
        errors.append(ContractError("products", rid, "variants",
                                    "a product needs at least one variant "
                                    "(a simple product has exactly one)"))
    for i, variant in enumerate(variants if isinstance(variants, list) else []):
        if not isinstance(variant, dict):
            continue
        prices_ok = True
        for name in ("price_net", "price_gross"):
            problems = _number_rules("products", rid, f"variants[{i}].{name}", variant.get(name),
                                     money=True)
            errors += problems
            # a string or null price is the schema's to report; it must not reach the
            # gross/net check below, which would raise instead of reporting
            prices_ok = prices_ok and not problems and _is_number(variant.get(name))
        errors += _number_rules("products", rid, f"variants[{i}].stock", variant.get("stock"),
                                money=False)
        if prices_ok and rate_ok:
            expected = gross_from_net(variant["price_net"], int(record["vat_rate"]))
            if abs(expected - Decimal(variant["price_gross"])) > GROSS_TOLERANCE:
                errors.append(ContractError(
                    "products", rid, f"variants[{i}].price_gross",
                    f"{variant['price_gross']} does not match price_net {variant['price_net']} "
                    f"at {rate}% VAT (expected {expected})"))
    return errors


def _number_rules(stream: str, rid: str | None, field: str, value: Any,
                  *, money: bool) -> list[ContractError]:
    """Money: int or Decimal, finite, >= 0, at most 2 places. Quantities: finite; below zero
    allowed (an oversold shop: the target sends 0, so that a negative stock record never
    leaves an old positive stock in place, as a refused record would)."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return []  # absence and wrong types are the schema's to report
    if isinstance(value, float):
        if money:
            return [ContractError(stream, rid, field,
                                  f"{value!r} is a float; money must be a Decimal "
                                  "(read JSON with parse_float=Decimal)")]
        value = Decimal(repr(value))
    number = Decimal(value)
    if not number.is_finite():
        return [ContractError(stream, rid, field, f"{value} is not a finite number")]
    if abs(number) >= MAX_AMOUNT:  # 1E+309 is finite as a Decimal but cannot be quantized
        return [ContractError(stream, rid, field, f"{value} is out of range")]
    if number < 0 and money:
        return [ContractError(stream, rid, field, f"{value} is negative")]
    if money and number != number.quantize(TWO_PLACES):
        return [ContractError(stream, rid, field,
                              f"{value} has more than 2 decimal places; round with round_money()")]
    return []


def _is_number(value: Any) -> bool:
    """An int or Decimal (not a bool, a float or a string)."""
    return isinstance(value, (int, Decimal)) and not isinstance(value, bool)
