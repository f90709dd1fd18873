"""The record contract between the taps and target-gateway, defined once.

Every tap emits ``categories``, ``products`` and ``stock`` records in exactly these shapes;
target-gateway accepts exactly these. See ``contract.py`` for the schemas, ``validation.py``
for readable contract checks, ``money.py`` for the Decimal helpers and ``redact.py`` for the
one redactor of secrets.

The names below are loaded on first use: ``contract`` builds its schemas with singer-sdk,
which takes a noticeable moment to import, and gateway-sync (which only needs ``redact``)
starts on every run without it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from commerce_schema.contract import (
        CATEGORIES_SCHEMA,
        PRODUCTS_SCHEMA,
        STOCK_SCHEMA,
        STREAM_KEYS,
        STREAM_SCHEMAS,
        SUPPORTED_VAT_RATES,
    )
    from commerce_schema.money import (
        MoneyError,
        gross_from_net,
        net_from_gross,
        parse_decimal,
        round_money,
        vat_rate,
    )
    from commerce_schema.validation import ContractError, validate_record

#: public name -> the module that defines it
_HOMES = {
    **dict.fromkeys(["CATEGORIES_SCHEMA", "PRODUCTS_SCHEMA", "STOCK_SCHEMA", "STREAM_KEYS",
                     "STREAM_SCHEMAS", "SUPPORTED_VAT_RATES"], "contract"),
    **dict.fromkeys(["MoneyError", "gross_from_net", "net_from_gross", "parse_decimal",
                     "round_money", "vat_rate"], "money"),
    **dict.fromkeys(["ContractError", "validate_record"], "validation"),
}

__all__ = [
    "CATEGORIES_SCHEMA",
    "PRODUCTS_SCHEMA",
    "STOCK_SCHEMA",
    "STREAM_KEYS",
    "STREAM_SCHEMAS",
    "SUPPORTED_VAT_RATES",
    "ContractError",
    "MoneyError",
    "gross_from_net",
    "net_from_gross",
    "parse_decimal",
    "round_money",
    "validate_record",
    "vat_rate",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module when the name is first used."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'commerce_schema' has no attribute {name!r}")
    return getattr(importlib.import_module(f"commerce_schema.{home}"), name)
