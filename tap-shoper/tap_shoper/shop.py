"""The shop's dictionaries, loaded once per run and only when a selected stream needs them.

``application-config`` (default language, timezone, currency), ``languages``, ``taxes``,
``producers``, ``options``, ``option-values``, ``attributes``, ``categories`` and
``categories-tree`` are a few paged requests each; products then resolve ids against them
without further calls. Variants and images are fetched per products page (see
``streams.ProductsStream``), through :meth:`ShopData.fetch`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import cached_property
from typing import TYPE_CHECKING, Any

from singer_sdk.exceptions import ConfigurationError

from tap_shoper.client import ShoperResource
from tap_shoper.errors import NotAShoperShopError
from tap_shoper.mapping import ShopContext

if TYPE_CHECKING:
    from tap_shoper.tap import TapShoper

logger = logging.getLogger("tap-shoper.shop")

#: path -> the key Shoper sorts it by
ORDER_KEYS = {
    "/languages": "lang_id", "/taxes": "tax_id", "/producers": "producer_id",
    "/options": "option_id", "/option-values": "ovalue_id", "/attributes": "attribute_id",
    "/categories": "category_id", "/product-stocks": "stock_id",
    "/product-images": "gfx_id",
}


class ShopData:
    """Lazily loaded dictionaries of one shop, shared by all streams of a run."""

    def __init__(self, tap: TapShoper) -> None:
        self._tap = tap
        self._resources: dict[str, ShoperResource] = {}

    def fetch(self, path: str, filters: dict[str, Any] | None = None
              ) -> Iterable[dict[str, Any]]:
        """Every row of a list resource (all pages), ordered by its key, ``filters`` applied."""
        if path not in self._resources:
            self._resources[path] = ShoperResource(self._tap, path, order_by=ORDER_KEYS.get(path))
        return self._resources[path].fetch(filters)

    @cached_property
    def config(self) -> dict[str, Any]:
        """``application-config``: also the connection test (401 / not-a-shop show here)."""
        rows = list(ShoperResource(self._tap, "/application-config", order_by=None,
                                   paged=False).fetch())
        if not rows or not isinstance(rows[0], dict) or "default_language_name" not in rows[0]:
            raise NotAShoperShopError(f"{self._tap.shop_url} does not look like a Shoper shop: "
                                 "/webapi/rest/application-config has no shop settings")
        return rows[0]

    @cached_property
    def language(self) -> str:
        """The locale texts are read in: the ``language`` setting or the shop's default.

        A setting that is not one of the shop's locales stops the run with the list of
        those that are (``pl`` is accepted for ``pl_PL`` when unambiguous).
        """
        default = str(self.config.get("default_language_name") or "pl_PL")
        wanted = self._tap.config.get("language")
        if not wanted:
            return default
        locales = [str(r.get("locale")) for r in self.fetch("/languages") if r.get("locale")]
        if wanted in locales:
            return wanted
        prefixed = [loc for loc in locales if loc.split("_")[0].lower() == wanted.lower()]
        if len(prefixed) == 1:
            return prefixed[0]
        raise ConfigurationError(
            f"language {wanted!r} is not a language of this shop; it has "
            f"{', '.join(locales) or 'none'} (default {default}). Set language to one of them "
            "or leave it out for the default.")

    @cached_property
    def context(self) -> ShopContext:
        """Everything mapping needs, resolved from the dictionaries."""
        context = ShopContext.build(
            shop_url=self._tap.shop_url, language=self.language, config=self.config,
            taxes=self.fetch("/taxes"), producers=self.fetch("/producers"),
            options=self.fetch("/options"), option_values=self.fetch("/option-values"),
            attributes=self.fetch("/attributes"), categories=self.fetch("/categories"),
            tree=list(ShoperResource(self._tap, "/categories-tree", order_by=None,
                                     paged=False).fetch()),
        )
        logger.info("Shop dictionaries loaded: language %s, %d taxes, %d producers, "
                    "%d options, %d categories", self.language, len(context.taxes),
                    len(context.producers), len(context.options), len(context.categories))
        return context
