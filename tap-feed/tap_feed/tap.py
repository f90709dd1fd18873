"""``tap-feed``: any shop's Ceneo or Google Merchant product feed as the contract's streams."""

from __future__ import annotations

import codecs
import hashlib
import json
import re
from collections import Counter
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from commerce_schema.contract import SUPPORTED_VAT_RATES
from commerce_schema.redact import redact
from singer_sdk import typing as th
from singer_sdk.exceptions import FatalAPIError
from tapkit.download import DownloadError, DownloadSettings, download
from tapkit.tap import ContractTap

from tap_feed import fetch, mapping, snapshot, streams
from tap_feed.mapping import Settings
from tap_feed.parse import FeedError

#: ids of the last run kept in the state (to name what disappeared); beyond, only the count
MAX_REMEMBERED_IDS = 20_000
DEFAULT_MAX_MB = 1024
#: query parameters of a feed URL that carry a credential
_TOKENISH = re.compile(r"token|key|hash|auth|secret|pass|sig|code", re.IGNORECASE)


def _version() -> str:
    try:
        return metadata.version("tap-feed")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a checkout
        return "0"


class FeedFailedError(FatalAPIError):
    """The feed could not be read, or must not be sent (it shrank); the message says why."""


class FeedRun:
    """One run's download and parse, shared by the three streams, plus its bookkeeping."""

    def __init__(self, tap: TapFeed) -> None:
        self.tap = tap
        self.logger = tap.logger
        self.item_problems: list[tuple[str, str]] = []
        self.vat_sources: Counter[str] = Counter()
        self.settings: Settings = Settings()
        self.previous: dict[str, Any] = dict(
            (tap.state.get("bookmarks", {}).get("products", {}) or {}).get("feed") or {})
        self.fingerprint = tap.settings_fingerprint()
        self.validators: dict[str, str | None] = {}
        self.snapshot: snapshot.Snapshot | None = None
        self._finished = False
        self._load()

    # -- download and parse -------------------------------------------------------------------
    def _load(self) -> None:
        tap = self.tap
        same_settings = self.previous.get("settings") == self.fingerprint
        etag = self.previous.get("etag") if same_settings else None
        modified = self.previous.get("last_modified") if same_settings else None
        source = tap.local_path
        downloaded: Path | None = None
        try:
            if source is not None:
                if not source.is_file():
                    raise FeedFailedError("the feed file named by feed_url does not exist")
                validator = fetch.local_validator(source)
                if etag and etag == validator:
                    self._unchanged(1)
                    return
                self.validators = {"etag": validator, "last_modified": None}
                path = source
            else:
                result = download(tap.fetch_settings(), etag=etag, last_modified=modified)
                if result.path is None:
                    self._unchanged(result.requests)
                    return
                self.validators = {"etag": result.etag, "last_modified": result.last_modified}
                downloaded = path = result.path
                self.logger.info("Downloaded the feed: %s bytes in %d request(s)",
                                 f"{result.size:,}", result.requests)
            self.snapshot = snapshot.build(
                path, settings_for=self._settings_for, max_bytes=tap.max_bytes,
                feed_format=tap.config.get("format") or None,
                encoding_override=tap.config.get("encoding_override") or None,
                on_skip=lambda item_id, reason: self.item_problems.append((item_id, reason)))
        except (DownloadError, FeedError) as exc:
            raise FeedFailedError(redact(f"Could not read the feed: {exc}.")) from None
        finally:
            if downloaded is not None:
                downloaded.unlink(missing_ok=True)
        self._report_parse()
        self._guard_shrink()

    def _settings_for(self, feed_format: str) -> Settings:
        self.settings = Settings.from_config(self.tap.config, feed_format)
        return self.settings

    def _unchanged(self, requests: int) -> None:
        self.logger.info("The feed has not changed since the last run (%d request, "
                         "304 Not Modified): nothing to send", requests)
        self.validators = {"etag": self.previous.get("etag"),
                           "last_modified": self.previous.get("last_modified")}

    def _report_parse(self) -> None:
        snap = self.snapshot
        assert snap is not None
        self.logger.info("Read a %s feed: %d items, %d products, %d items skipped",
                         snap.format, snap.items, snap.product_count, snap.skipped)
        for value, count in snap.unknown_availability.most_common():
            self.logger.warning("%d items have the availability %r, which availability_map "
                                "does not know: treated as not for sale", count, value)

    def _guard_shrink(self) -> None:
        """A feed much smaller than last time is more often a broken export or a filter than
        a shop that really sold out half its catalog: stop unless the user confirmed."""
        snap = self.snapshot
        assert snap is not None
        before = int(self.previous.get("products") or 0)
        now = snap.product_count
        pct = float(self.tap.config.get("shrink_guard_pct", 20))
        if before and now < before * (1 - pct / 100) and not self.tap.config.get(
                "confirm_shrink"):
            snap.close()
            self.snapshot = None
            raise FeedFailedError(
                f"The feed has {now} products, {100 - now * 100 // before}% fewer than the "
                f"{before} of the last run (more than shrink_guard_pct {pct:g}%). A feed "
                "that shrinks like this is usually filtered or broken; nothing was sent. If "
                "the shop really has fewer products now, run once with confirm_shrink: true.")

    # -- the end of the products stream ---------------------------------------------------
    def finish(self, state: dict[str, Any]) -> None:
        """Log the run's VAT and absence counts; keep validators and ids in the state."""
        if self._finished:
            return
        self._finished = True
        if self.snapshot is None:  # unchanged: keep what the last run knew
            if self.previous:
                state["feed"] = dict(self.previous)
            return
        sources = self.vat_sources
        self.logger.info("VAT: %d products at the default rate %d%%, %d by a vat_rules "
                         "entry, %d from the feed's own field", sources["default"],
                         self.settings.default_vat_rate, sources["rule"], sources["feed"])
        ids = list(self.snapshot.product_ids())
        remembered = self.previous.get("ids")
        if isinstance(remembered, list):
            current = set(ids)
            missing = [i for i in remembered if i not in current]
            if missing:
                self.logger.warning(
                    "%d products of the last run are not in this feed (e.g. %s). They are "
                    "left as they are, not deleted: feeds are often filtered (only "
                    "available products, chosen categories)", len(missing),
                    ", ".join(missing[:10]))
        state["feed"] = {
            **self.validators, "settings": self.fingerprint, "products": len(ids),
            "ids": ids if len(ids) <= MAX_REMEMBERED_IDS else None}

    def close(self) -> None:
        """Drop the scratch database."""
        if self.snapshot is not None:
            self.snapshot.close()


class TapFeed(ContractTap):
    """Categories, products (variants grouped) and stock of one shop's product feed."""

    name = "tap-feed"
    package_name = "tap-feed"
    platform_name = "the feed"

    config_jsonschema = th.PropertiesList(
        th.Property("feed_url", th.StringType, title="Feed URL", required=True, secret=True,
                    description="The shop's Ceneo or Google Merchant feed: an http(s) URL "
                                "(e.g. https://shop.pl/console/integration/execute/name/CeneoV2"
                                " on Shoper) or a path to a downloaded file. Treated as a "
                                "secret: some engines put an access token in it.",
                    examples=["https://sklep.example.pl/console/integration/execute/name/"
                              "CeneoV2"]),
        th.Property("username", th.StringType, title="Feed username",
                    description="HTTP basic-auth user, when the feed is protected."),
        th.Property("password", th.StringType, title="Feed password", secret=True,
                    description="HTTP basic-auth password."),
        th.Property("default_vat_rate", th.IntegerType, title="Default VAT rate",
                    required=True,
                    description="VAT percent (23, 8, 5 or 0) of products no rule matches. "
                                "Feeds carry gross prices only; net is derived with it.",
                    examples=[23]),
        th.Property("vat_rules", th.ArrayType(th.ObjectType(
            th.Property("rate", th.IntegerType, required=True),
            th.Property("category", th.StringType),
            th.Property("brand", th.StringType),
            th.Property("id", th.StringType),
        )), title="VAT rules",
            description="Ordered overrides, first match wins: {\"category\": \"Książki\", "
                        "\"rate\": 5} (a category path prefix, levels split by / or >), "
                        "{\"brand\": ..., \"rate\": ...} or {\"id\": \"<regex>\", \"rate\": "
                        "...}."),
        th.Property("vat_field", th.StringType, title="VAT field",
                    description="A feed field or Ceneo attribute holding the VAT rate (B2B "
                                "feeds have one, e.g. vat); wins over the rules when present."),
        th.Property("format", th.StringType, title="Feed format",
                    allowed_values=["ceneo", "google"],
                    description="Default: detected from the root element (<offers>: Ceneo, "
                                "<rss> or <feed>: Google)."),
        th.Property("currency", th.StringType, title="Currency",
                    description="ISO 4217 code. Default: the suffix of Google's prices, else "
                                "PLN."),
        th.Property("availability_map", th.ObjectType(additional_properties=th.BooleanType),
                    title="Availability map",
                    description="Which Ceneo avail codes / Google availability values mean "
                                "'for sale', merged over the defaults (1, 3, 7, 14, in_stock: "
                                "true; 90, 99, 110, out_of_stock, preorder, backorder: "
                                "false), e.g. {\"90\": true, \"backorder\": true}."),
        th.Property("variant_grouping", th.StringType, title="Variant grouping",
                    description="auto (Google: item_group_id; Ceneo: none), none, "
                                "item_group_id, id_prefix:<regex> (group 1 or (?P<product>) "
                                "is the product id, optional (?P<variant>) the variant id; "
                                "e.g. ^(?P<product>\\d+)_ for PrestaShop's <id>_<attr>), or "
                                "attribute:<name> (e.g. attribute:ProductSetId). Never by "
                                "name.",
                    default="auto"),
        th.Property("variant_option_attributes", th.ArrayType(th.StringType),
                    title="Variant option attributes",
                    description="Ceneo attributes that tell grouped variants apart. Default: "
                                "Rozmiar, Kolor."),
        th.Property("sku_attribute", th.StringType, title="SKU attribute",
                    description="Ceneo attribute holding the shop's code. Default: "
                                "Kod_producenta. (Google: mpn.)"),
        th.Property("stock_is_flag", th.BooleanType, title="Stock is a flag", default=False,
                    description="The Ceneo stock attribute is only 0/1 (available or not): "
                                "read 1 as 'not tracked' instead of a quantity of one."),
        th.Property("encoding_override", th.StringType, title="Encoding override",
                    description="Read the feed in this encoding whatever it declares (e.g. "
                                "windows-1250 for an export that claims UTF-8)."),
        th.Property("shop_url", th.StringType, title="Shop URL",
                    description="Makes relative product and image links absolute."),
        th.Property("language", th.StringType, title="Language", default="pl",
                    description="Language code of the feed's texts."),
        th.Property("category_separator", th.StringType, title="Category separator",
                    description="Between category levels. Default: / for Ceneo, > for "
                                "Google."),
        th.Property("shrink_guard_pct", th.NumberType, title="Shrink guard %", default=20,
                    description="Stop when the feed has more than this percent fewer products "
                                "than last run."),
        th.Property("confirm_shrink", th.BooleanType, title="Confirm shrink", default=False,
                    description="Send a feed the shrink guard stopped (once, after checking)."),
        th.Property("max_bytes", th.IntegerType, title="Maximum feed size (bytes)",
                    description=f"Download and decompressed size cap. Default: "
                                f"{DEFAULT_MAX_MB} MB."),
        th.Property("timeout_seconds", th.NumberType, title="Timeout (s)", default=60,
                    description="Per connect and per read."),
        th.Property("download_deadline_seconds", th.NumberType, title="Download deadline (s)",
                    default=1800, description="The whole download, retries included."),
        th.Property("user_agent", th.StringType, title="User agent",
                    description="Default: tap-feed/<version>."),
        th.Property("allow_loopback_feed", th.BooleanType, title="Allow a loopback feed host",
                    default=False,
                    description="Testing only: allow a feed on 127.0.0.1 (the emulator). "
                                "Private and link-local addresses stay refused."),
    ).to_dict()
    config_jsonschema["properties"]["default_vat_rate"]["enum"] = sorted(
        SUPPORTED_VAT_RATES, reverse=True)
    config_jsonschema["properties"]["max_bytes"]["minimum"] = 1
    config_jsonschema["properties"]["timeout_seconds"]["minimum"] = 1
    config_jsonschema["properties"]["download_deadline_seconds"]["minimum"] = 1
    config_jsonschema["properties"]["shrink_guard_pct"].update({"minimum": 0, "maximum": 100})
    #: for gateway-sync's prompts: no credential has to be asked (basic auth is optional;
    #: give username/password by env var or config file when the feed is protected)
    config_jsonschema.update({"x-gateway-sync": {"alternatives": []}})

    # -- configuration ------------------------------------------------------------------------
    def config_problems(self) -> list[str]:
        """What the schema cannot say: URL or file, rules, grouping, encoding."""
        config = self.config
        problems: list[str] = []
        url = str(config.get("feed_url") or "").strip()
        if url.startswith(("http://", "https://")):
            if not urlsplit(url).hostname:
                problems.append("feed_url has no host name.")
        elif url.startswith("file://"):
            pass
        elif url and "://" in url:
            problems.append("feed_url must be an http(s) URL or a path to a file.")
        if bool(config.get("username")) != bool(config.get("password")):
            problems.append("username and password must be given together.")
        for rule in config.get("vat_rules") or []:
            try:
                mapping.parse_vat_rule(rule)
            except ValueError as exc:
                problems.append(f"{exc}.")
        try:
            mapping.Grouping.parse(config.get("variant_grouping"), config.get("format") or "")
        except (ValueError, re.error) as exc:
            problems.append(f"{exc}.")
        if config.get("format") == "ceneo" and config.get("variant_grouping") == "item_group_id":
            problems.append("variant_grouping item_group_id is Google's; Ceneo feeds have no "
                            "such field (use id_prefix:<regex> or attribute:<name>).")
        encoding = config.get("encoding_override")
        if encoding:
            try:
                codecs.lookup(encoding)
            except LookupError:
                problems.append(f"encoding_override {encoding!r} is not an encoding Python "
                                "knows (e.g. windows-1250, iso-8859-2).")
        currency = config.get("currency")
        if currency and not re.fullmatch(r"[A-Za-z]{3}", currency):
            problems.append(f"currency {currency!r} is not a three-letter ISO code.")
        for key in (config.get("availability_map") or {}):
            if not str(key).strip():
                problems.append("availability_map has an empty key.")
        return problems

    def settings_fingerprint(self) -> str:
        """A hash of the settings that shape records: when they change, the next run must
        send everything again even if the feed did not change."""
        keys = ("default_vat_rate", "vat_rules", "vat_field", "currency", "availability_map",
                "variant_grouping", "variant_option_attributes", "sku_attribute",
                "stock_is_flag", "shop_url", "language", "category_separator", "format",
                "encoding_override")
        shaped = json.dumps({k: self.config.get(k) for k in keys}, sort_keys=True,
                            default=str)
        return hashlib.sha256(shaped.encode()).hexdigest()[:16]

    @property
    def local_path(self) -> Path | None:
        """The feed as a local file, when ``feed_url`` is a path or a file:// URL."""
        url = str(self.config["feed_url"]).strip()
        if url.startswith(("http://", "https://")):
            return None
        return Path(url.removeprefix("file://")).expanduser()

    @property
    def max_bytes(self) -> int:
        """``max_bytes`` or the default."""
        return int(self.config.get("max_bytes") or DEFAULT_MAX_MB * 1024 * 1024)

    def fetch_settings(self) -> DownloadSettings:
        """How to download the feed (secrets from the URL registered for redaction)."""
        url = str(self.config["feed_url"]).strip()
        parts = urlsplit(url)
        # the whole URL is a secret setting (the kit masks it); a token inside it must be
        # masked on its own too (a redirect or an error page may echo it)
        redact.add(parts.password, *(value for name, value in parse_qsl(parts.query)
                                     if _TOKENISH.search(name) or len(value) >= 12))
        return fetch.feed_settings(
            url, username=self.config.get("username"),
            password=self.config.get("password"),
            timeout=float(self.config.get("timeout_seconds") or 60),
            deadline=float(self.config.get("download_deadline_seconds") or 1800),
            max_bytes=self.max_bytes,
            user_agent=self.config.get("user_agent") or f"tap-feed/{_version()}",
            allow_loopback=bool(self.config.get("allow_loopback_feed")))

    # -- the run ------------------------------------------------------------------------------
    @cached_property
    def feed_run(self) -> FeedRun:
        """Download and parse once, on the first stream's first use."""
        return FeedRun(self)

    def sync_finished(self) -> None:
        """The kit's report, then the scratch database is dropped."""
        super().sync_finished()
        if "feed_run" in self.__dict__:
            self.feed_run.close()

    def discover_streams(self) -> list[streams.FeedStream]:
        """``categories``, ``products``, ``stock``: the contract's order."""
        return [streams.CategoriesStream(self), streams.ProductsStream(self),
                streams.StockStream(self)]


if __name__ == "__main__":
    TapFeed.cli()
