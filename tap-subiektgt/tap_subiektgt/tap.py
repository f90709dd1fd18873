"""``tap-subiektgt``: a Subiekt GT company database's catalog as the contract's Singer streams.

Read-only by design: Subiekt derives stock from documents and takes ids from its own
counters, so a raw write would corrupt the ERP; writes belong to InsERT's Sfera, on Windows.
This tap only ever sends SELECTs (see ``connection.py``).
"""

from __future__ import annotations

import re
from functools import cached_property

import sqlalchemy as sa
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigurationError
from tapkit.tap import ContractTap

from tap_subiektgt import streams
from tap_subiektgt.connection import (
    DEFAULT_INSTANCE,
    SubiektConnector,
    check_subiekt,
    database_url,
    describe_target,
)
from tap_subiektgt.queries import Grouping
from tap_subiektgt.reader import Settings, SubiektReader

#: the split settings that together replace ``sqlalchemy_url``
PARTS = ("host", "instance", "port", "database", "user", "password")
_VARIANT_GROUP = re.compile(r"^(model|none|field:[1-8])$")


def parse_grouping(value: str | None) -> Grouping:
    """``model``, ``none`` or ``field:N`` (N = 1..8)."""
    text = (value or "model").strip().lower()
    if not _VARIANT_GROUP.match(text):
        raise ValueError(value)
    if text.startswith("field:"):
        return Grouping("field", int(text.split(":", 1)[1]))
    return Grouping(text)


class TapSubiektGT(ContractTap):
    """Product groups, products (models with their cards as variants) and stock."""

    name = "tap-subiektgt"
    package_name = "tap-subiektgt"
    platform_name = "Subiekt GT"
    #: which company's database this is: its server, instance and name (never the login)
    source_settings = ("host", "port", "instance", "database")

    config_jsonschema = th.PropertiesList(
        th.Property("host", th.StringType, title="SQL Server host",
                    description="The computer running Subiekt's SQL Server (name or IP "
                                "address), as in Subiekt's login window before the "
                                "backslash: HOST in HOST\\INSERTGT.",
                    examples=["192.168.1.10"]),
        th.Property("instance", th.StringType, title="SQL Server instance",
                    description="The named instance, after the backslash in Subiekt's "
                                f"server field. Default {DEFAULT_INSTANCE} (InsERT's "
                                "installer). Needs the SQL Server Browser service (UDP "
                                "1434), or give port instead.",
                    examples=[DEFAULT_INSTANCE]),
        th.Property("port", th.IntegerType, title="SQL Server TCP port",
                    description="The instance's fixed TCP port, when it has one (then the "
                                "instance name is not needed)."),
        th.Property("database", th.StringType, title="Subiekt company database",
                    description="The company's (podmiot's) database: one per company, "
                                "usually the company's name in Subiekt's company list.",
                    examples=["DEMO"]),
        th.Property("user", th.StringType, title="SQL Server login",
                    description="A SQL Server login (not a Subiekt operator); give it only "
                                "the db_datareader role on the company database."),
        th.Property("password", th.StringType, title="SQL Server password", secret=True,
                    description="That login's password."),
        th.Property("sqlalchemy_url", th.StringType, title="SQLAlchemy URL", secret=True,
                    description="Instead of the settings above: a full SQLAlchemy URL, e.g. "
                                "mssql+pymssql://user:password@host:1433/DEMO, or "
                                "sqlite:///subiekt.sqlite for a test database."),
        th.Property("price_level", th.IntegerType, title="Price level", default=1,
                    description="Which of Subiekt's ten price levels is the shop price, "
                                "1-10 (tc_CenaNetto1..10 / tc_CenaBrutto1..10); the level "
                                "names (Detaliczna, Hurtowa, ...) are in the log."),
        th.Property("warehouse_ids", th.ArrayType(th.IntegerType), title="Warehouses",
                    description="Ids of the warehouses (sl_Magazyn.mag_Id) whose stock is "
                                "sold; stock is summed over them. Default: all."),
        th.Property("only_shop_products", th.BooleanType, title="Only shop products",
                    default=True,
                    description="Only cards ticked for the internet shop "
                                "(tw_SklepInternet)."),
        th.Property("variant_group", th.StringType, title="Variant grouping",
                    default="model",
                    description="How cards become one product with variants: model "
                                "(Subiekt's product models), field:N (custom field "
                                "tw_PoleN, 1-8, holds a group key, e.g. the parent "
                                "symbol) or none (every card is its own product)."),
        th.Property("variant_option_names", th.ArrayType(th.StringType),
                    title="Variant option names",
                    description="Labels of the option values read from the cards' names "
                                "when no features say them, e.g. [\"Rozmiar\"] or "
                                "[\"Rozmiar\", \"Kolor\"] (one per word). Default: Wariant."),
        th.Property("include_images", th.BooleanType, title="Include images", default=True,
                    description="Send the cards' photos (tw_ZdjecieTw) as data: URIs for "
                                "the target to upload."),
    ).to_dict()
    config_jsonschema["properties"]["price_level"].update({"minimum": 1, "maximum": 10})
    config_jsonschema["properties"]["port"].update({"minimum": 1, "maximum": 65535})
    config_jsonschema["properties"]["variant_group"]["pattern"] = _VARIANT_GROUP.pattern
    #: two ways to reach the database, for tools that ask for settings (gateway-sync)
    config_jsonschema.update({"x-gateway-sync": {"alternatives": [
        ["host", "instance", "database", "user", "password"], ["sqlalchemy_url"]]}})

    def source_identity_parts(self) -> list[str]:
        """The database a state belongs to: from ``sqlalchemy_url`` without its user and
        password (a changed password is the same company), else host, instance and name."""
        url = self.config.get("sqlalchemy_url")
        if url:
            try:
                given = sa.engine.make_url(str(url))
            except sa.exc.ArgumentError:
                return []  # config_problems names it
            place = sa.engine.URL.create(given.drivername, host=given.host, port=given.port,
                                         database=given.database, query=given.query)
            return [f"sqlalchemy_url={place.render_as_string()}"]
        return super().source_identity_parts()

    def config_problems(self) -> list[str]:
        """One way to connect, and the parts it needs."""
        config = self.config
        problems = []
        parts = [name for name in PARTS if config.get(name) not in (None, "")]
        if config.get("sqlalchemy_url") and parts:
            problems.append(f"Give either sqlalchemy_url or {', '.join(parts)}, not both.")
        elif not config.get("sqlalchemy_url"):
            missing = [n for n in ("host", "database", "user", "password")
                       if not config.get(n)]
            if missing:
                problems.append("Give sqlalchemy_url, or host, database, user and password "
                                f"(missing: {', '.join(missing)}).")
        elif not str(config["sqlalchemy_url"]).startswith(("mssql", "sqlite")):
            problems.append("sqlalchemy_url must start with mssql+pymssql:// (or sqlite:// "
                            "for a test database).")
        try:
            parse_grouping(config.get("variant_group"))
        except ValueError:
            problems.append("variant_group must be model, none or field:N with N 1-8 (got "
                            f"{config.get('variant_group')!r}).")
        return problems

    # -- shared by every stream ----------------------------------------------------------------
    @cached_property
    def connector(self) -> SubiektConnector:
        """One connector (one engine, one pool) for every stream."""
        return SubiektConnector(dict(self.config))

    @cached_property
    def url(self) -> sa.URL:
        """The database URL (password registered for redaction)."""
        return database_url(dict(self.config))

    @cached_property
    def reader(self) -> SubiektReader:
        """The run's reader: connects once first to check that this is Subiekt GT and to
        read the price level's name, the warehouses and the manufacturers."""
        config = self.config
        self.logger.info("Reading Subiekt GT at %s (read-only)", describe_target(self.url))
        with self.connector.connect() as conn:
            missing = check_subiekt(conn)
        if missing:
            self.logger.info("Optional tables not in this database (older Subiekt "
                             "version?): %s", ", ".join(missing))
        settings = Settings(
            price_level=int(config.get("price_level") or 1),
            warehouse_ids=tuple(int(w) for w in config.get("warehouse_ids") or ()),
            only_shop_products=bool(config.get("only_shop_products", True)),
            grouping=parse_grouping(config.get("variant_group")),
            option_names=tuple(str(n) for n in config.get("variant_option_names") or ()),
            include_images=bool(config.get("include_images", True)),
            missing_tables=tuple(missing))
        reader = SubiektReader(self.connector.connect, settings)
        try:
            reader.context()
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
        return reader

    def sync_finished(self) -> None:
        """The kit's summary, then how many statements the run sent."""
        super().sync_finished()
        products = self.streams.get("products")
        left_out = getattr(products, "cards_skipped", 0)
        if left_out:
            self.logger.warning("%d product cards were left out of products that were sent "
                                "with their other cards: each is named in an ERROR line above",
                                left_out)
        if "reader" in self.__dict__:
            self.logger.info("Sent %d SELECT statements to the database",
                             self.reader.statements)
            self.connector.dispose()

    def discover_streams(self) -> list[streams.SubiektStream]:
        """``categories``, ``products``, ``stock``: the contract's order."""
        return [streams.CategoriesStream(self), streams.ProductsStream(self),
                streams.StockStream(self)]


if __name__ == "__main__":
    TapSubiektGT.cli()
