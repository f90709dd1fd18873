"""The record contract between the taps and target-gateway, defined once.

Every tap emits ``categories``, ``products`` and ``stock`` records in exactly these shapes;
target-gateway accepts exactly these. See ``contract.py`` for the schemas, ``validation.py``
for readable contract checks and ``money.py`` for the Decimal helpers.
"""

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
