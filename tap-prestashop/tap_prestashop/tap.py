"""``tap-prestashop``: a PrestaShop (1.6 / 1.7 / 8.x) shop's catalog as the contract's streams."""

from __future__ import annotations

from functools import cached_property
from importlib import metadata
from typing import Any

import requests
from singer_sdk import typing as th
from tapkit.tap import ContractTap

from tap_prestashop import streams
from tap_prestashop.auth import WebserviceKeyAuth
from tap_prestashop.client import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from tap_prestashop.errors import PrestaShopErrors
from tap_prestashop.shop import ShopData

IMAGE_SOURCES = ["public", "api"]


def _version() -> str:
    try:
        return metadata.version("tap-prestashop")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a checkout
        return "0"


class TapPrestaShop(ContractTap):
    """Categories, products (combinations as variants) and stock of one PrestaShop shop."""

    name = "tap-prestashop"
    package_name = "tap-prestashop"
    platform_name = "PrestaShop"

    config_jsonschema = th.PropertiesList(
        th.Property("shop_url", th.StringType, title="PrestaShop shop URL", required=True,
                    description="The shop's address with its sub-folder if it has one, e.g. "
                                "https://example.com or https://example.com/sklep (the "
                                "webservice is under /api).",
                    examples=["https://example.com/sklep"]),
        th.Property("api_key", th.StringType, title="PrestaShop webservice key", required=True,
                    secret=True,
                    description="The 32-character key from the back office, Advanced "
                                "Parameters > Webservice, with GET on the resources the "
                                "README lists."),
        th.Property("language_id", th.IntegerType, title="Language id",
                    description="Id of the language of names and descriptions (International "
                                "> Localization > Languages). Default: the shop's default "
                                "language (PS_LANG_DEFAULT)."),
        th.Property("vat_country_iso", th.StringType, title="VAT country",
                    description="ISO code of the country whose tax rules give the VAT rate, "
                                "e.g. PL. Default: the shop's default country "
                                "(PS_COUNTRY_DEFAULT).",
                    examples=["PL"]),
        th.Property("shop_id", th.IntegerType, title="Shop id",
                    description="Multistore only: the id of the shop to read (id_shop)."),
        th.Property("image_source", th.StringType, title="Image source", default="public",
                    allowed_values=IMAGE_SOURCES,
                    description="public: the storefront's /img/p/... URLs; api: the image "
                                "bytes read through the webservice with the key (for shops "
                                "whose images are not public), emitted as data: URIs."),
        th.Property("start_date", th.DateTimeType, title="Start date",
                    description="Only products updated at or after this time (UTC) on the "
                                "first run; later runs continue from the state's bookmark."),
        th.Property("page_size", th.IntegerType, title="Page size", default=DEFAULT_PAGE_SIZE,
                    description="Products per request, 1 to 1000 (large pages of products "
                                "with many combinations are heavy for small hosts); "
                                "dictionaries, combinations and stock rows are read 1000 a "
                                "request."),
        th.Property("user_agent", th.StringType, title="User agent",
                    description="User-Agent header sent to the shop. "
                                "Default: tap-prestashop/<version>."),
    ).to_dict()
    config_jsonschema["properties"]["page_size"].update({"minimum": 1,
                                                         "maximum": MAX_PAGE_SIZE})
    #: one way to authenticate (the required key): gateway-sync asks no alternatives
    config_jsonschema.update({"x-gateway-sync": {"alternatives": []}})

    def config_problems(self) -> list[str]:
        """What a schema says badly: the URL's form, the key's, the country code's."""
        config = self.config
        problems = []
        url = str(config.get("shop_url") or "")
        if url and not url.startswith(("https://", "http://")):
            problems.append(f"shop_url must start with https:// (got {url!r}).")
        key = str(config.get("api_key") or "")
        if key and (len(key) != 32 or not key.isalnum()):
            problems.append("api_key must be the 32 letters and digits of a webservice key "
                            f"(the one given has {len(key)} characters).")
        iso = config.get("vat_country_iso")
        if iso is not None and not (isinstance(iso, str) and len(iso.strip()) == 2
                                    and iso.strip().isalpha()):
            problems.append(f"vat_country_iso must be a two-letter country code such as PL "
                            f"(got {iso!r}).")
        return problems

    # -- shared by every stream ---------------------------------------------------------------
    @cached_property
    def shop_url(self) -> str:
        """``shop_url`` without a trailing slash or a pasted ``/api``."""
        url = str(self.config["shop_url"]).strip().rstrip("/")
        return url.removesuffix("/api").rstrip("/")

    @cached_property
    def user_agent(self) -> str:
        """The ``user_agent`` setting or ``tap-prestashop/<version>``."""
        return self.config.get("user_agent") or f"tap-prestashop/{_version()}"

    @cached_property
    def page_size(self) -> int:
        """Rows per request."""
        return int(self.config.get("page_size") or DEFAULT_PAGE_SIZE)

    @cached_property
    def image_source(self) -> str:
        """``public`` or ``api``."""
        return str(self.config.get("image_source") or "public")

    @cached_property
    def errors(self) -> PrestaShopErrors:
        """The classifier of PrestaShop's answers."""
        return PrestaShopErrors(self.shop_url)

    @cached_property
    def authenticator(self) -> WebserviceKeyAuth:
        """The key, as a header until the host proves it drops it."""
        return WebserviceKeyAuth(str(self.config["api_key"]))

    @cached_property
    def session(self) -> requests.Session:
        """One session for every stream; it notes the ``PSWS-Version`` the shop tells."""
        session = requests.Session()
        session.headers["User-Agent"] = self.user_agent
        session.hooks["response"].append(self._note_version)
        return session

    version: str | None = None

    def _note_version(self, response: requests.Response, **_: Any) -> requests.Response:
        self.version = response.headers.get("PSWS-Version") or self.version
        return response

    @property
    def common_params(self) -> dict[str, str]:
        """Parameters of every list call: the shop (multistore) and, once the dictionaries
        have resolved it, the language: ``language=N`` gives multilingual fields as plain
        strings; ``language=[N|D]`` (chosen and default) as both texts, for the fallback."""
        params = {}
        shop = self.__dict__.get("shop")
        if shop is not None and "context" in shop.__dict__:
            chosen, default = shop.context.language_id, shop.context.default_language_id
            params["language"] = chosen if chosen == default else f"[{chosen}|{default}]"
        if self.config.get("shop_id") is not None:
            params["id_shop"] = str(self.config["shop_id"])
        return params

    @cached_property
    def stock_filter(self) -> dict[str, str]:
        """Multistore: only the configured shop's stock rows."""
        shop = self.config.get("shop_id")
        return {"id_shop": f"[{shop}]"} if shop is not None else {}

    @cached_property
    def shop(self) -> ShopData:
        """Settings and dictionaries loaded on first use."""
        return ShopData(self)

    def discover_streams(self) -> list[streams._ShopStream]:
        """``categories``, ``products``, ``stock``: the contract's order."""
        return [streams.CategoriesStream(self), streams.ProductsStream(self),
                streams.StockStream(self)]


if __name__ == "__main__":
    TapPrestaShop.cli()
