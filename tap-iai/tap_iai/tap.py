"""``tap-iai``: an IdoSell (formerly IAI-Shop) shop's catalog as the contract's Singer streams,
from the Admin API (default) or the shop's IOF feed."""

from __future__ import annotations

from functools import cached_property
from importlib import metadata
from typing import Any
from zoneinfo import ZoneInfo

from singer_sdk import typing as th
from singer_sdk.streams import Stream
from tapkit.tap import ContractTap

from tap_iai import mapping, streams
from tap_iai.client import MAX_PAGE_SIZE, IdoSellErrors
from tap_iai.feed import FeedSource

ADMIN_API = "admin_api"
IOF = "iof"


def _version() -> str:
    try:
        return metadata.version("tap-iai")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a checkout
        return "0"


class TapIAI(ContractTap):
    """Categories, products (sizes and versions as variants) and stock of one IdoSell shop."""

    name = "tap-iai"
    package_name = "tap-iai"
    platform_name = "IdoSell"

    config_jsonschema = th.PropertiesList(
        th.Property("shop_url", th.StringType, title="IdoSell shop URL", required=True,
                    description="The shop's address, e.g. https://client1234.idosell.com, "
                                "https://yourshop.iai-shop.com or the shop's own domain.",
                    examples=["https://client1234.idosell.com"]),
        th.Property("source", th.StringType, title="IdoSell source",
                    allowed_values=[ADMIN_API, IOF],
                    description="admin_api (the Admin API, incremental) or iof (the shop's "
                                "IOF full feed, a full snapshot every run). Default: iof when "
                                "only iof_url or the marketplace login is given, else "
                                "admin_api."),
        th.Property("api_key", th.StringType, title="IdoSell Admin API key", secret=True,
                    description="An Admin API key (panel: Administracja > API > Klucze "
                                "dostępowe do Admin API), with read access to products. "
                                "Sent as X-API-KEY."),
        th.Property("iof_url", th.StringType, title="IdoSell IOF feed URL", secret=True,
                    description="The URL of the shop's IOF 3.0 full offer file, or of its "
                                "gateway file (it carries an access token: kept secret)."),
        th.Property("marketplace_login", th.StringType, title="IdoSell marketplace login",
                    description="The login of a Marketplace-API service account (panel: "
                                "Marketing i integracje > Marketplaces > Pozostałe); the tap "
                                "then finds the IOF feed itself."),
        th.Property("marketplace_password", th.StringType, title="IdoSell marketplace password",
                    secret=True, description="That account's password (the daily key is "
                                             "derived from it)."),
        th.Property("language", th.StringType, title="Language", default="pol",
                    description="IdoSell language id of names and descriptions (pol, eng, "
                                "ger...). Texts missing in it fall back to pol, then any."),
        th.Property("shop_id", th.IntegerType, title="Shop id", default=1,
                    description="The shop of a multi-shop panel whose prices and pages are "
                                "read."),
        th.Property("warehouse_ids", th.ArrayType(th.IntegerType), title="Warehouse ids",
                    description="Stock is the sum over these warehouses (stockId). Default: "
                                "all."),
        th.Property("merge_versions", th.BooleanType, title="Merge versions", default=True,
                    description="Products that are versions of one another (e.g. colours) "
                                "become one product whose variants are every size of every "
                                "version."),
        th.Property("api_version", th.StringType, title="Admin API version", default="v6",
                    description="The Admin API version in the URL (/api/admin/v6)."),
        th.Property("page_size", th.IntegerType, title="Page size", default=MAX_PAGE_SIZE,
                    description="Products per Admin API request, 1 to 100."),
        th.Property("start_date", th.DateTimeType, title="Start date",
                    description="Admin API: only products changed at or after this time "
                                "(UTC) on the first run; later runs continue from the "
                                "bookmark. The IOF feed is always read whole."),
        th.Property("user_agent", th.StringType, title="User agent",
                    description="User-Agent header. Default: tap-iai/<version>."),
        th.Property("allow_loopback_feed", th.BooleanType, title="Allow loopback IOF hosts",
                    default=False,
                    description="For tests against the emulator only: let the IOF files and "
                                "the Marketplace API be downloaded from 127.0.0.1 (a private or "
                                "loopback address is otherwise refused: the file URLs come "
                                "from the shop)."),
    ).to_dict()
    config_jsonschema["properties"]["page_size"].update({"minimum": 1,
                                                         "maximum": MAX_PAGE_SIZE})
    #: for tools that ask for settings (gateway-sync's prompts): the source first, then only
    #: that source's settings (for the IOF feed: its URL, or else the marketplace login)
    config_jsonschema.update({"x-gateway-sync": {"choice": {"setting": "source", "options": {
        ADMIN_API: ["api_key"],
        IOF: [["iof_url"], ["marketplace_login", "marketplace_password"]]}}}})

    # -- configuration -----------------------------------------------------------------------
    def config_problems(self) -> list[str]:
        """One source with its credentials, a URL, sensible lists."""
        config = self.config
        problems = []
        source = self.source
        feed_url = bool(config.get("iof_url"))
        login = bool(config.get("marketplace_login")) or bool(config.get("marketplace_password"))
        if source == ADMIN_API and not config.get("api_key"):
            problems.append("api_key is missing: the Admin API needs a key (panel: "
                            "Administracja > API > Klucze dostępowe do Admin API); or set "
                            "source to iof with iof_url or the marketplace login.")
        if source == IOF:
            if feed_url and login:
                problems.append("Give either iof_url or marketplace_login + "
                                "marketplace_password, not both.")
            elif not feed_url and not login:
                problems.append("source iof needs iof_url, or marketplace_login and "
                                "marketplace_password.")
            elif login and not (config.get("marketplace_login")
                                and config.get("marketplace_password")):
                problems.append("marketplace_login and marketplace_password must be given "
                                "together.")
        if not str(config.get("api_key") or "").isascii():
            problems.append("api_key has characters an IdoSell key never has (it is sent in a "
                            "header); copy it again from the panel.")
        url = str(config.get("shop_url") or "")
        if url and not url.startswith(("https://", "http://")):
            problems.append(f"shop_url must start with https:// (got {url!r}).")
        feed = str(config.get("iof_url") or "")
        if feed and not feed.startswith(("https://", "http://")):
            problems.append("iof_url must start with https://.")
        warehouses = config.get("warehouse_ids")
        if warehouses is not None and not warehouses:
            problems.append("warehouse_ids is empty: leave it out to sum every warehouse.")
        language = str(config.get("language") or "pol")
        if not (len(language) == 3 and language.isalpha()):
            problems.append(f"language must be an IdoSell language id such as pol or eng "
                            f"(got {language!r}).")
        return problems

    # -- shared by every stream -------------------------------------------------------------
    @property
    def source(self) -> str:
        """``source``, else iof when only IOF settings are given, else admin_api."""
        chosen = self.config.get("source")
        if chosen:
            return str(chosen)
        iof_given = self.config.get("iof_url") or self.config.get("marketplace_login")
        return IOF if iof_given and not self.config.get("api_key") else ADMIN_API

    @cached_property
    def shop_url(self) -> str:
        """``shop_url`` without a trailing slash or a pasted ``/api/admin/...``."""
        url = str(self.config["shop_url"]).strip().rstrip("/")
        return url.split("/api/admin")[0].rstrip("/")

    @property
    def api_version(self) -> str:
        """``v6`` unless set."""
        version = str(self.config.get("api_version") or "v6").strip("/")
        return version if version.startswith("v") else f"v{version}"

    @cached_property
    def user_agent(self) -> str:
        """``user_agent`` or ``tap-iai/<version>``."""
        return str(self.config.get("user_agent") or f"tap-iai/{_version()}")

    @cached_property
    def errors(self) -> IdoSellErrors:
        """The classifier every Admin API stream uses."""
        return IdoSellErrors(self.shop_url)

    @property
    def zone(self) -> ZoneInfo:
        """IdoSell writes naive Warsaw times."""
        return ZoneInfo("Europe/Warsaw")

    @property
    def merge_versions(self) -> bool:
        """``merge_versions`` (default true)."""
        return self.config.get("merge_versions", True) is not False

    @property
    def language(self) -> str:
        """``language`` (default pol)."""
        return str(self.config.get("language") or "pol")

    @cached_property
    def feed(self) -> FeedSource:
        """The run's IOF files (downloaded on first use)."""
        return FeedSource(self)

    @cached_property
    def category_index(self) -> dict[str, dict[str, Any]]:
        """Categories with paths: the Admin API list, the IOF categories file, or (a bare
        full file) the products' own "A/B/C" paths."""
        if self.source == ADMIN_API:
            rows = list(streams.CategoryList(self).fetch())
            return mapping.category_index(rows, self.language)
        listed = self.feed.categories(self.language)
        if listed is not None:
            return {c["id"]: c for c in listed}
        return {}

    def category_records(self) -> list[dict[str, Any]]:
        """The ``categories`` stream: the index, or the paths seen in a bare full file."""
        if self.source == IOF and not self.category_index:
            return mapping.categories_from_items(self.feed.items())
        return list(self.category_index.values())

    @cached_property
    def context(self) -> mapping.Context:
        """Everything mapping needs beyond the items."""
        warehouses = self.config.get("warehouse_ids")
        return mapping.Context(
            shop_url=self.shop_url, language=self.language,
            warehouses=frozenset(str(w) for w in warehouses) if warehouses else None,
            merge_versions=self.merge_versions, categories=self.category_index)

    def sync_finished(self) -> None:
        """The kit's report, then the downloaded files are deleted."""
        super().sync_finished()
        if "feed" in self.__dict__:
            self.feed.close()

    def discover_streams(self) -> list[Stream]:
        """``categories``, ``products``, ``stock``: the contract's order, from the source."""
        if self.source == IOF:
            return [streams.CategoriesStream(self), streams.FeedProductsStream(self),
                    streams.FeedStockStream(self)]
        return [streams.CategoriesStream(self), streams.AdminProductsStream(self),
                streams.AdminStockStream(self)]


if __name__ == "__main__":
    TapIAI.cli()
