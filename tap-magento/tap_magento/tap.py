"""``tap-magento``: a Magento 2 / Adobe Commerce store's catalog as the contract's streams."""

from __future__ import annotations

import re
from functools import cached_property
from importlib import metadata
from typing import Any

import requests
from singer_sdk import typing as th
from tapkit.tap import ContractTap

from tap_magento import streams
from tap_magento.auth import AdminTokenAuth, BearerAuth, MagentoAuth, OAuth1Auth
from tap_magento.client import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, MagentoErrors
from tap_magento.store import StoreData

#: the settings each way of authenticating needs
AUTH_SETTINGS = {
    "oauth1": ("consumer_key", "consumer_secret", "access_token", "access_token_secret"),
    "bearer": ("access_token",),
    "admin_password": ("admin_username", "admin_password"),
}


def _version() -> str:
    try:
        return metadata.version("tap-magento")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a checkout
        return "0"


class TapMagento(ContractTap):
    """Categories, products (variants nested) and stock of one Magento 2 store view."""

    name = "tap-magento"
    package_name = "tap-magento"
    platform_name = "Magento"

    config_jsonschema = th.PropertiesList(
        th.Property("store_url", th.StringType, title="Magento store URL", required=True,
                    description="The store's base address, e.g. https://shop.example.com (the "
                                "API is under /rest).",
                    examples=["https://shop.example.com"]),
        th.Property("auth_type", th.StringType, title="Authentication",
                    allowed_values=["oauth1", "bearer", "admin_password"],
                    description="oauth1: an integration's four keys (Magento 2.4.4+ default); "
                                "bearer: the integration's access token alone (2.4.3 and "
                                "earlier, or with standalone bearer tokens allowed); "
                                "admin_password: an admin user's login (no 2FA). Default: "
                                "whichever the given credentials make."),
        th.Property("consumer_key", th.StringType, title="Magento consumer key", secret=True,
                    description="Integration Details > Consumer Key (System > Extensions > "
                                "Integrations)."),
        th.Property("consumer_secret", th.StringType, title="Magento consumer secret",
                    secret=True, description="Integration Details > Consumer Secret."),
        th.Property("access_token", th.StringType, title="Magento access token", secret=True,
                    description="Integration Details > Access Token (oauth1 and bearer)."),
        th.Property("access_token_secret", th.StringType, title="Magento access token secret",
                    secret=True, description="Integration Details > Access Token Secret."),
        th.Property("admin_username", th.StringType, title="Magento admin username",
                    description="An admin user (System > Permissions > All Users) whose role "
                                "may read the catalog, stores and inventory."),
        th.Property("admin_password", th.StringType, title="Magento admin password",
                    secret=True, description="That user's password; exchanged for a 4-hour "
                                             "token, renewed as needed."),
        th.Property("store_code", th.StringType, title="Store view code", default="default",
                    description="The store view whose language, prices and URLs are read "
                                "(Stores > All Stores > the store view's Code)."),
        th.Property("prices_include_tax", th.BooleanType, title="Prices include tax",
                    default=False,
                    description="True when catalog prices are entered gross (Stores > "
                                "Configuration > Sales > Tax > Calculation Settings > Catalog "
                                "Prices: Including Tax); Magento does not expose this."),
        th.Property("vat_country_iso", th.StringType, title="VAT country", default="PL",
                    description="Country (ISO 3166 alpha-2) whose tax rates give each product's "
                                "VAT %."),
        th.Property("customer_tax_class_id", th.IntegerType, title="Customer tax class id",
                    default=3,
                    description="The customer tax class whose tax rules apply (3: Retail "
                                "Customer in a fresh Magento)."),
        th.Property("inventory_mode", th.StringType, title="Inventory mode",
                    allowed_values=["legacy", "msi"], default="legacy",
                    description="legacy: stock items (single source); msi: Multi-Source "
                                "Inventory source items summed over source_codes."),
        th.Property("source_codes", th.ArrayType(th.StringType), title="MSI source codes",
                    description="With inventory_mode msi: the sources whose quantities are "
                                "summed (Stores > Inventory > Sources). Default: all."),
        th.Property("ean_attribute", th.StringType, title="EAN attribute", default="ean",
                    description="Code of the product attribute holding the EAN/GTIN."),
        th.Property("brand_attribute", th.StringType, title="Brand attribute",
                    default="manufacturer",
                    description="Code of the product attribute holding the brand."),
        th.Property("product_url_suffix", th.StringType, title="Product URL suffix",
                    default=".html",
                    description="Appended to a product's URL key (Stores > Configuration > "
                                "Catalog > Catalog > Search Engine Optimization)."),
        th.Property("page_size", th.IntegerType, title="Page size", default=DEFAULT_PAGE_SIZE,
                    description="Rows per request, 1 to 300 (Magento's maximum when web API "
                                "input limits are on)."),
        th.Property("start_date", th.DateTimeType, title="Start date",
                    description="Only products changed at or after this time (UTC) on the "
                                "first run; later runs continue from the state's bookmark."),
        th.Property("user_agent", th.StringType, title="User agent",
                    description="User-Agent header sent to the store. Default: "
                                "tap-magento/<version>."),
    ).to_dict()
    config_jsonschema["properties"]["page_size"].update({"minimum": 1,
                                                         "maximum": MAX_PAGE_SIZE})
    #: the three ways to authenticate, for tools that ask for settings: gateway-sync asks
    #: auth_type first, then only that way's credentials
    config_jsonschema.update({"x-gateway-sync": {"choice": {
        "setting": "auth_type",
        "options": {mode: list(names) for mode, names in AUTH_SETTINGS.items()}}}})

    # -- configuration -----------------------------------------------------------------------
    @property
    def auth_type(self) -> str | None:
        """``auth_type``, or the one the given credentials make (None: none or ambiguous)."""
        given = self.config.get("auth_type")
        if given:
            return str(given)
        config = self.config
        if config.get("consumer_key") or config.get("consumer_secret") or config.get(
                "access_token_secret"):
            if config.get("admin_username") or config.get("admin_password"):
                return None
            return "oauth1"
        if config.get("admin_username") or config.get("admin_password"):
            return None if config.get("access_token") else "admin_password"
        return "bearer" if config.get("access_token") else None

    def config_problems(self) -> list[str]:
        """One way to authenticate, complete; a URL; a country code."""
        config = self.config
        problems = []
        mode = self.auth_type
        if mode is None:
            if any(config.get(n) for names in AUTH_SETTINGS.values() for n in names):
                problems.append("The credentials given mix two ways to authenticate: set "
                                "auth_type to oauth1, bearer or admin_password.")
            else:
                problems.append(
                    "Give credentials: the integration's consumer_key, consumer_secret, "
                    "access_token and access_token_secret (oauth1), or its access_token alone "
                    "(bearer), or admin_username and admin_password (admin_password).")
        elif mode in AUTH_SETTINGS:
            missing = [n for n in AUTH_SETTINGS[mode] if not config.get(n)]
            if missing:
                problems.append(f"auth_type {mode} needs {', '.join(AUTH_SETTINGS[mode])}; "
                                f"missing: {', '.join(missing)}.")
        url = str(config.get("store_url") or "")
        if url and not url.startswith(("https://", "http://")):
            problems.append(f"store_url must start with https:// (got {url!r}).")
        country = str(config.get("vat_country_iso") or "PL")
        if not re.fullmatch(r"[A-Za-z]{2}", country):
            problems.append(f"vat_country_iso must be a two-letter country code such as PL "
                            f"(got {country!r}).")
        if config.get("source_codes") and config.get("inventory_mode", "legacy") != "msi":
            problems.append("source_codes are read only with inventory_mode msi; set "
                            "inventory_mode to msi or leave source_codes out.")
        return problems

    # -- shared by every stream -------------------------------------------------------------
    @cached_property
    def store_url(self) -> str:
        """``store_url`` without a trailing slash or a pasted ``/rest/...`` or ``/index.php``."""
        url = str(self.config["store_url"]).strip().rstrip("/")
        url = re.sub(r"/rest(/[^/]+)?(/V1)?$", "", url)
        return url.removesuffix("/index.php").rstrip("/")

    @property
    def store_code(self) -> str:
        """The store view read."""
        return str(self.config.get("store_code") or "default")

    @property
    def vat_country(self) -> str:
        """``vat_country_iso``, upper case."""
        return str(self.config.get("vat_country_iso") or "PL").upper()

    @property
    def customer_tax_class_id(self) -> int:
        """The customer class whose rules apply."""
        return int(self.config.get("customer_tax_class_id") or 3)

    @property
    def prices_include_tax(self) -> bool:
        """Catalog prices are gross."""
        return bool(self.config.get("prices_include_tax"))

    @property
    def inventory_mode(self) -> str:
        """``legacy`` or ``msi``."""
        return str(self.config.get("inventory_mode") or "legacy")

    @property
    def source_codes(self) -> list[str] | None:
        """MSI sources to sum (None: all)."""
        return list(self.config.get("source_codes") or []) or None

    @property
    def ean_attribute(self) -> str:
        """Attribute code of the EAN."""
        return str(self.config.get("ean_attribute") or "ean")

    @property
    def brand_attribute(self) -> str:
        """Attribute code of the brand."""
        return str(self.config.get("brand_attribute") or "manufacturer")

    @property
    def url_suffix(self) -> str:
        """Product URL suffix."""
        suffix = self.config.get("product_url_suffix")
        return ".html" if suffix is None else str(suffix)

    @cached_property
    def user_agent(self) -> str:
        """The ``user_agent`` setting or ``tap-magento/<version>``."""
        return self.config.get("user_agent") or f"tap-magento/{_version()}"

    @cached_property
    def session(self) -> requests.Session:
        """One HTTP session for the run."""
        session = requests.Session()
        session.headers["User-Agent"] = self.user_agent
        return session

    @cached_property
    def errors(self) -> MagentoErrors:
        """Magento's error wording."""
        return MagentoErrors(self.store_url)

    @cached_property
    def auth(self) -> MagentoAuth:
        """The credentials of the configured (or implied) way."""
        config = self.config
        mode = self.auth_type
        if mode == "oauth1":
            return OAuth1Auth(config["consumer_key"], config["consumer_secret"],
                              config["access_token"], config["access_token_secret"])
        if mode == "admin_password":
            return AdminTokenAuth(self.store_url, config["admin_username"],
                                  config["admin_password"], self.session)
        return BearerAuth(config["access_token"])

    @cached_property
    def store(self) -> StoreData:
        """Store view dictionaries, loaded on first use."""
        return StoreData(self)

    def sync_finished(self) -> None:
        """The kit's summary, plus how many admin tokens the run needed."""
        super().sync_finished()
        auth = self.auth
        if isinstance(auth, AdminTokenAuth) and auth.issued > 1:
            self.logger.info("Renewed the admin token %d times", auth.issued - 1)

    def discover_streams(self) -> list[Any]:
        """``categories``, ``products``, ``stock``: the contract's order."""
        return [streams.CategoriesStream(self), streams.ProductsStream(self),
                streams.StockStream(self)]


if __name__ == "__main__":
    TapMagento.cli()
