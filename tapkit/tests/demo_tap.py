"""A tiny feed-like tap on the kit (plain ``Stream``s), for the kit's own tests: its rows come
from the config, so that every kit behaviour can be driven without a server."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from singer_sdk import Stream
from singer_sdk import typing as th
from tapkit.readers import text
from tapkit.streams import ContractStream, MappingError
from tapkit.tap import ContractTap
from tapkit.testing import category, product


class DemoCategories(ContractStream, Stream):
    """``config["categories"]`` as contract records."""

    name = "categories"

    def get_records(self, context: Any) -> Iterable[dict[str, Any]]:
        """The configured rows."""
        yield from self.config.get("categories", [])

    def map_record(self, row: dict[str, Any], context: Any) -> dict[str, Any] | None:
        """A row without a name cannot be mapped."""
        if not text(row.get("name")):
            raise MappingError(f"category {row.get('id')} has no name")
        return category(id=str(row["id"]), name=row["name"], path=[row["name"]])


class DemoProducts(ContractStream, Stream):
    """``config["products"]``: ``{"id", "price"}`` rows."""

    name = "products"

    def get_records(self, context: Any) -> Iterable[dict[str, Any]]:
        """The configured rows."""
        yield from self.config.get("products", [])

    def map_record(self, row: dict[str, Any], context: Any) -> dict[str, Any] | None:
        """A product with one variant; a row without a price cannot be mapped."""
        if row.get("price") is None:
            raise MappingError(f"product {row['id']}: no price")
        return product(id=str(row["id"]))


class TapDemo(ContractTap):
    """A demo shop's catalog from its config."""

    name = "tap-demo"
    platform_name = "Demo"
    config_jsonschema = th.PropertiesList(
        th.Property("shop_url", th.StringType, required=True),
        th.Property("api_key", th.StringType, secret=True),
        th.Property("username", th.StringType),
        th.Property("page_size", th.IntegerType),
        th.Property("start_date", th.DateTimeType),
        th.Property("categories", th.ArrayType(th.ObjectType(additional_properties=True))),
        th.Property("products", th.ArrayType(th.ObjectType(additional_properties=True))),
    ).to_dict()
    config_jsonschema["properties"]["page_size"].update({"minimum": 1, "maximum": 50})

    def config_problems(self) -> list[str]:
        """One of two ways to authenticate."""
        if self.config.get("api_key") and self.config.get("username"):
            return ["give either api_key or username, not both."]
        return []

    def discover_streams(self) -> list[Stream]:
        """Categories, then products."""
        return [DemoCategories(self), DemoProducts(self)]


if __name__ == "__main__":
    TapDemo.cli()
