"""The shop's settings and dictionaries, loaded once per run, only when a stream needs them.

``configurations`` (default language, country, currency, time zone, ``PS_TAX``, stock
management), ``languages``, ``countries``, ``currencies``, ``tax_rules`` (of the VAT country
only), ``taxes``, ``product_options``, ``product_option_values``, ``product_features`` and
``categories`` are a few requests in all; products then resolve ids against them. What is per
products page (combinations, stock, feature values, image bytes) is fetched by the products
stream through :meth:`ShopData.lookup`.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterable
from functools import cached_property
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from singer_sdk.exceptions import ConfigurationError
from tapkit.readers import text

from tap_prestashop import mapping
from tap_prestashop.client import Lookup
from tap_prestashop.errors import RESOURCE_FORBIDDEN, error_code

if TYPE_CHECKING:
    from tap_prestashop.tap import TapPrestaShop

logger = logging.getLogger("tap-prestashop.shop")

SETTINGS = ("PS_LANG_DEFAULT", "PS_COUNTRY_DEFAULT", "PS_CURRENCY_DEFAULT", "PS_TAX",
            "PS_TIMEZONE", "PS_STOCK_MANAGEMENT")
DEFAULT_TIMEZONE = "Europe/Warsaw"
#: the largest image read through the webservice (image_source=api)
MAX_IMAGE_BYTES = 20 * 1024 * 1024
IMAGE_TRIES = 3


def id_list(ids: Iterable[str]) -> str:
    """PrestaShop's OR filter: ``[1|2|3]``."""
    return "[" + "|".join(ids) + "]"


class ShopData:
    """Lazily loaded settings and dictionaries of one shop, shared by all streams of a run."""

    def __init__(self, tap: TapPrestaShop) -> None:
        self._tap = tap
        self._lookups: dict[tuple[str, str, bool], Lookup] = {}

    def lookup(self, resource: str, filters: dict[str, str] | None = None, *,
               display: str = "full", paged: bool = True) -> list[dict[str, Any]]:
        """Every row of ``resource`` matching ``filters`` (paged by id unless ``paged`` is
        False, for a filter on a bounded list of ids)."""
        key = (resource, display, paged)
        if key not in self._lookups:
            self._lookups[key] = Lookup(self._tap, resource, display=display, paged=paged)
        return self._lookups[key].fetch(filters)

    def by_ids(self, resource: str, ids: Iterable[str], field: str = "id"
               ) -> list[dict[str, Any]]:
        """Rows whose ``field`` is one of ``ids``, ``page_size`` ids per request."""
        wanted = list(dict.fromkeys(ids))
        size = self._tap.page_size
        rows: list[dict[str, Any]] = []
        for start in range(0, len(wanted), size):
            chunk = wanted[start:start + size]
            rows += self.lookup(resource, {field: id_list(chunk)}, paged=False)
        return rows

    # -- settings -----------------------------------------------------------------------------
    @cached_property
    def settings(self) -> dict[str, str]:
        """The configuration values the tap needs (also the connection test: a wrong URL, a
        refused key or a webservice switched off shows here first)."""
        rows = self.lookup("configurations", {"name": id_list(SETTINGS)},
                           display="[id,name,value]", paged=False)
        found = {str(r.get("name")): str(r.get("value") or "") for r in rows}
        logger.info("PrestaShop %s at %s", self._tap.version or "(version not told)",
                    self._tap.shop_url)
        return found

    @cached_property
    def languages(self) -> list[dict[str, Any]]:
        """The shop's languages."""
        return self.lookup("languages", display="[id,iso_code,active]")

    @cached_property
    def language_id(self) -> str:
        """``language_id`` setting, else ``PS_LANG_DEFAULT``; must be one of the shop's."""
        wanted = self._tap.config.get("language_id")
        default = self.settings.get("PS_LANG_DEFAULT") or "1"
        if wanted is None:
            return default
        ids = {str(r["id"]): str(r.get("iso_code")) for r in self.languages}
        if str(wanted) not in ids:
            listed = ", ".join(f"{i} ({iso})" for i, iso in ids.items()) or "none"
            raise ConfigurationError(
                f"language_id {wanted} is not a language of this shop; it has {listed} "
                f"(default {default}). Set language_id to one of them or leave it out.")
        return str(wanted)

    @cached_property
    def country(self) -> tuple[str, str]:
        """``(id, ISO code)`` of the country whose VAT applies."""
        iso = text(self._tap.config.get("vat_country_iso"))
        if iso:
            rows = self.lookup("countries", {"iso_code": f"[{iso.upper()}]"},
                               display="[id,iso_code]", paged=False)
            if not rows:
                raise ConfigurationError(f"vat_country_iso {iso!r} is not a country of this "
                                         "shop (International > Locations > Countries).")
            return str(rows[0]["id"]), iso.upper()
        cid = self.settings.get("PS_COUNTRY_DEFAULT")
        if not cid:
            raise ConfigurationError("The shop has no default country (PS_COUNTRY_DEFAULT); "
                                     "set vat_country_iso, e.g. PL.")
        rows = self.lookup("countries", {"id": f"[{cid}]"}, display="[id,iso_code]",
                           paged=False)
        return cid, str(rows[0].get("iso_code")) if rows else f"country {cid}"

    # -- the context every mapping needs ------------------------------------------------------
    @cached_property
    def context(self) -> mapping.ShopContext:
        """Everything mapping needs, resolved from the dictionaries."""
        settings = self.settings
        language = self.language_id
        default = settings.get("PS_LANG_DEFAULT") or language
        iso = next((str(r.get("iso_code")) for r in self.languages
                    if str(r.get("id")) == language), None)
        country_id, country_iso = self.country
        rules = self.lookup("tax_rules", {"id_country": f"[{country_id}]"})
        vat, problems = mapping.tax_rates(
            rules, self.lookup("taxes", display="[id,rate,active,deleted]"), country_id,
            country_iso, taxes_enabled=settings.get("PS_TAX", "1") != "0")
        if settings.get("PS_TAX") == "0":
            logger.warning("Taxes are switched off in this shop (PS_TAX=0): prices are sold "
                           "without VAT, every product is emitted at 0%%")
        categories, hidden = mapping.category_index(self.lookup("categories"), language, default)
        currency = None
        if settings.get("PS_CURRENCY_DEFAULT"):
            rows = self.lookup("currencies", {"id": f"[{settings['PS_CURRENCY_DEFAULT']}]"},
                               display="[id,iso_code]", paged=False)
            currency = text(rows[0].get("iso_code")) if rows else None
        try:
            zone = ZoneInfo(settings.get("PS_TIMEZONE") or DEFAULT_TIMEZONE)
        except (ZoneInfoNotFoundError, ValueError):
            logger.warning("unknown shop time zone %r; reading times as %s",
                           settings.get("PS_TIMEZONE"), DEFAULT_TIMEZONE)
            zone = ZoneInfo(DEFAULT_TIMEZONE)
        features = {str(r["id"]): mapping.translated(r.get("name"), language, default) or ""
                    for r in self.lookup("product_features")}
        context = mapping.ShopContext(
            shop_url=self._tap.shop_url, language_id=language, default_language_id=default,
            language_iso=iso or "pl", timezone=zone, currency=currency, vat=vat,
            vat_problems=problems,
            option_values=mapping.option_index(self.lookup("product_options"),
                                               self.lookup("product_option_values"),
                                               language, default),
            features=features, categories=categories, hidden_categories=hidden,
            stock_untracked=settings.get("PS_STOCK_MANAGEMENT", "1") == "0")
        logger.info("Shop dictionaries loaded: language %s (%s), VAT of %s, %d categories, "
                    "%d attribute values", language, context.language_iso, country_iso,
                    len(categories), len(context.option_values))
        for group, problem in problems.items():
            logger.warning("VAT: %s (products in group %s are skipped)", problem, group)
        return context

    # -- image bytes (image_source=api) -------------------------------------------------------
    def image_data(self, product_id: str, image_id: str) -> dict[str, Any] | None:
        """An image's bytes through the webservice, as a ``data:`` URI marked non-public;
        None (with a warning) when it cannot be read. One request per image."""
        url = f"{self._tap.shop_url}/api/images/products/{product_id}/{image_id}"
        where = f"product {product_id} image {image_id}"
        for attempt in range(1, IMAGE_TRIES + 1):
            try:
                response = self._tap.session.get(url, auth=self._tap.authenticator,
                                                  timeout=60, stream=True,
                                                  headers={"User-Agent": self._tap.user_agent})
            except requests.RequestException as exc:
                if attempt == IMAGE_TRIES:
                    logger.warning("%s could not be read (%s); left out", where,
                                   type(exc).__name__)
                    return None
                continue
            with response:
                if response.status_code == 401 and error_code(response) == RESOURCE_FORBIDDEN:
                    raise self._tap.errors.resource_forbidden(response)
                if response.status_code == 401:
                    raise self._tap.errors.key_refused(response)
                if response.status_code >= 500 and attempt < IMAGE_TRIES:
                    continue
                kind = response.headers.get("Content-Type", "").split(";")[0].strip()
                if response.status_code != 200 or not kind.startswith("image/"):
                    logger.warning("%s: the webservice answered %d with %s; left out", where,
                                   response.status_code, kind or "no content type")
                    return None
                body = bytearray()
                for chunk in response.iter_content(64 * 1024):
                    body += chunk
                    if len(body) > MAX_IMAGE_BYTES:
                        logger.warning("%s is larger than %d MB; left out", where,
                                       MAX_IMAGE_BYTES // 1024 // 1024)
                        return None
            encoded = base64.b64encode(bytes(body)).decode("ascii")
            return {"url": f"data:{kind};base64,{encoded}", "public": False}
        return None  # pragma: no cover - the loop returns

