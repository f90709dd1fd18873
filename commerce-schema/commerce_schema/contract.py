"""JSON schemas of the three streams every tap emits (``docs/record-contract.md``).

Written once with singer-sdk's typing helpers so that taps can use them as their stream
``schema`` and the target can validate against the very same dicts. The contract may only be
extended by adding optional fields.
"""

from __future__ import annotations

from singer_sdk import typing as th

#: The Polish VAT rates the Gateway has classes for (VAT23, VAT8, VAT5, VAT0).
SUPPORTED_VAT_RATES: frozenset[int] = frozenset({23, 8, 5, 0})

_NULLABLE_STRING = th.StringType(nullable=True)

IMAGE = th.ObjectType(
    th.Property("url", th.StringType, required=True,
                description="http(s) URL or a data:<mime>;base64,... URI"),
    th.Property("position", th.IntegerType(nullable=True)),
    th.Property("public", th.BooleanType(nullable=True),
                description="false: only fetchable with the shop's credentials"),
)

CATEGORY_REF = th.ObjectType(
    th.Property("id", th.StringType, required=True),
    th.Property("name", _NULLABLE_STRING),
    th.Property("path", th.ArrayType(th.StringType), description="names from the root down"),
)

OPTION = th.ObjectType(
    th.Property("name", th.StringType, required=True),
    th.Property("value", th.StringType, required=True),
)

VARIANT = th.ObjectType(
    th.Property("id", th.StringType, required=True),
    th.Property("sku", _NULLABLE_STRING),
    th.Property("ean", _NULLABLE_STRING),
    th.Property("options", th.ArrayType(OPTION)),
    th.Property("price_net", th.NumberType, required=True),
    th.Property("price_gross", th.NumberType, required=True),
    th.Property("stock", th.NumberType(nullable=True), description="null: not tracked"),
    th.Property("active", th.BooleanType(nullable=True)),
    th.Property("images", th.ArrayType(IMAGE)),
    th.Property("weight_kg", th.NumberType(nullable=True)),
)

PRODUCTS_SCHEMA: dict = th.PropertiesList(
    th.Property("id", th.StringType, required=True),
    th.Property("platform", _NULLABLE_STRING,
                description="source platform, e.g. shoper; kept in the Gateway's data.source"),
    th.Property("sku", _NULLABLE_STRING),
    th.Property("name", th.StringType, required=True),
    th.Property("description_html", _NULLABLE_STRING),
    th.Property("short_description_html", _NULLABLE_STRING),
    th.Property("language", _NULLABLE_STRING),
    th.Property("url", _NULLABLE_STRING),
    th.Property("brand", _NULLABLE_STRING),
    th.Property("categories", th.ArrayType(CATEGORY_REF)),
    th.Property("images", th.ArrayType(IMAGE)),
    th.Property("vat_rate", th.NumberType, required=True),
    th.Property("currency", _NULLABLE_STRING),
    th.Property("active", th.BooleanType(nullable=True)),
    th.Property("attributes", th.ObjectType(additional_properties=th.StringType)),
    th.Property("created_at", th.DateTimeType(nullable=True)),
    th.Property("updated_at", th.DateTimeType(nullable=True)),
    th.Property("variants", th.ArrayType(VARIANT), required=True),
).to_dict()

CATEGORIES_SCHEMA: dict = th.PropertiesList(
    th.Property("id", th.StringType, required=True),
    th.Property("name", th.StringType, required=True),
    th.Property("parent_id", _NULLABLE_STRING),
    th.Property("path", th.ArrayType(th.StringType), required=True),
).to_dict()

STOCK_SCHEMA: dict = th.PropertiesList(
    th.Property("product_id", th.StringType, required=True),
    th.Property("variant_id", th.StringType, required=True),
    th.Property("sku", _NULLABLE_STRING),
    th.Property("ean", _NULLABLE_STRING),
    th.Property("quantity", th.NumberType(nullable=True)),
    th.Property("updated_at", th.DateTimeType(nullable=True)),
).to_dict()

#: stream name -> JSON schema
STREAM_SCHEMAS: dict[str, dict] = {
    "categories": CATEGORIES_SCHEMA,
    "products": PRODUCTS_SCHEMA,
    "stock": STOCK_SCHEMA,
}

#: stream name -> (key properties, replication key or None)
STREAM_KEYS: dict[str, tuple[list[str], str | None]] = {
    "categories": (["id"], None),
    "products": (["id"], "updated_at"),
    "stock": (["variant_id"], "updated_at"),
}
