"""``tap-shoper``: a Shoper (shoper.pl) shop's catalog as the contract's Singer streams."""

from __future__ import annotations

from functools import cached_property
from importlib import metadata

from singer_sdk import typing as th
from tapkit.session import PacedSession
from tapkit.spool import RecordSpool
from tapkit.state import normalise_url
from tapkit.tap import ContractTap

from tap_shoper import streams
from tap_shoper.auth import ShoperAuthenticator
from tap_shoper.client import MAX_PAGE_SIZE
from tap_shoper.errors import ShoperErrors
from tap_shoper.ratelimit import LeakyBucketPacer
from tap_shoper.shop import ShopData


def _version() -> str:
    try:
        return metadata.version("tap-shoper")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a checkout
        return "0"


class TapShoper(ContractTap):
    """Categories, products (variants nested) and stock of one Shoper shop."""

    name = "tap-shoper"
    package_name = "tap-shoper"
    platform_name = "Shoper"

    config_jsonschema = th.PropertiesList(
        th.Property("shop_url", th.StringType, title="Shoper shop URL", required=True,
                    description="The shop's address, e.g. https://example.shoparena.pl or the "
                                "shop's own domain (the API is under /webapi/rest).",
                    examples=["https://example.shoparena.pl"]),
        th.Property("access_token", th.StringType, title="Shoper access token", secret=True,
                    description="An integration's \"Token API\" from the admin panel, used as "
                                "the bearer token as is. Give this OR username + password."),
        th.Property("username", th.StringType, title="Shoper username",
                    description="An admin user with WebAPI access; exchanged with password at "
                                "/webapi/rest/auth for a token (re-exchanged on expiry)."),
        th.Property("password", th.StringType, title="Shoper password", secret=True,
                    description="That user's password."),
        th.Property("language", th.StringType, title="Language",
                    description="Locale of names and descriptions, e.g. pl_PL or en_GB. "
                                "Default: the shop's default language. Texts missing in it "
                                "fall back to the default language, then to any other.",
                    examples=["pl_PL"]),
        th.Property("page_size", th.IntegerType, title="Page size", default=MAX_PAGE_SIZE,
                    description="Rows per request, 1 to 50 (Shoper's maximum; a larger limit "
                                "would silently give 10)."),
        th.Property("start_date", th.DateTimeType, title="Start date",
                    description="Only products edited at or after this time (UTC) on the "
                                "first run; later runs continue from the state's bookmark."),
        th.Property("user_agent", th.StringType, title="User agent",
                    description="User-Agent header sent to the shop. "
                                "Default: tap-shoper/<version>."),
    ).to_dict()
    config_jsonschema["properties"]["page_size"].update({"minimum": 1,
                                                         "maximum": MAX_PAGE_SIZE})
    #: the two ways to authenticate, for tools that ask for settings (gateway-sync's prompts);
    #: a JSON-schema anyOf would say the same, but the SDK prints the whole config (secrets
    #: included) when an anyOf check fails
    config_jsonschema.update(
        {"x-gateway-sync": {"alternatives": [["access_token"], ["username", "password"]]}})

    def config_problems(self) -> list[str]:
        """What the schema says badly: one way to authenticate, a URL with its scheme."""
        config = self.config
        problems = []
        token = bool(config.get("access_token"))
        login = bool(config.get("username")) or bool(config.get("password"))
        if token and login:
            problems.append("Give either access_token or username + password, not both.")
        elif not token and not login:
            problems.append("Give access_token, or username and password, to authenticate.")
        elif login and not (config.get("username") and config.get("password")):
            problems.append("username and password must be given together.")
        url = str(config.get("shop_url") or "")
        if url and not url.startswith(("https://", "http://")):
            problems.append(f"shop_url must start with https:// (got {url!r}).")
        return problems

    # -- shared by every stream -------------------------------------------------------------
    @cached_property
    def shop_url(self) -> str:
        """``shop_url`` without a trailing slash or a pasted ``/webapi/rest``."""
        url = str(self.config["shop_url"]).strip().rstrip("/")
        return url.removesuffix("/webapi/rest").rstrip("/")

    @cached_property
    def user_agent(self) -> str:
        """The ``user_agent`` setting or ``tap-shoper/<version>``."""
        return self.config.get("user_agent") or f"tap-shoper/{_version()}"

    @cached_property
    def errors(self) -> ShoperErrors:
        """Shoper's error wording, naming the configured shop."""
        return ShoperErrors(self.shop_url)

    @cached_property
    def pacer(self) -> LeakyBucketPacer:
        """The shop's leaky bucket as its headers describe it."""
        return LeakyBucketPacer()

    @cached_property
    def session(self) -> PacedSession:
        """One HTTP session for all streams and the token exchange."""
        session = PacedSession(self.pacer)
        session.headers["User-Agent"] = self.user_agent
        return session

    @cached_property
    def authenticator(self) -> ShoperAuthenticator:
        """One token for the whole run."""
        return ShoperAuthenticator(
            shop_url=self.shop_url, session=self.session,
            access_token=self.config.get("access_token"),
            username=self.config.get("username"), password=self.config.get("password"),
            user_agent=self.user_agent)

    #: the products stream's stock records for the stock stream (see ``streams``)
    stock_spool: RecordSpool | None = None

    def source_identity_parts(self) -> list[str]:
        """The shop URL as the API is reached (a pasted ``/webapi/rest`` or trailing slash,
        ``http``/``https`` and case of the host make no other shop)."""
        return [f"shop_url={normalise_url(self.shop_url)}"]

    @cached_property
    def shop(self) -> ShopData:
        """Dictionaries (language, taxes, options, categories...) loaded on first use."""
        return ShopData(self)

    def sync_finished(self) -> None:
        """The kit's end-of-run report, then how much the rate limit slowed the run."""
        super().sync_finished()
        if self.pacer.waits:
            self.logger.info("Paced %d calls (%.1f s in total) to stay under the shop's rate "
                             "limit of %g calls draining %g/s", self.pacer.waits,
                             self.pacer.waited, self.pacer.limit or 0,
                             self.pacer.bandwidth or 0)

    def discover_streams(self) -> list[streams.ShoperStream]:
        """``categories``, ``products``, ``stock``: the contract's order."""
        return [streams.CategoriesStream(self), streams.ProductsStream(self),
                streams.StockStream(self)]


if __name__ == "__main__":
    TapShoper.cli()
