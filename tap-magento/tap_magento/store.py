"""The store's dictionaries, loaded once per run and only when a selected stream needs them.

- ``store/storeConfigs``, ``store/storeViews``, ``store/storeGroups``: the store view's
  language, currency, media and link base URLs, weight unit, and its root category;
- ``categories?rootCategoryId=``: the category tree under that root (one call);
- ``taxClasses/search``, ``taxRules/search``, ``taxRates/search``: VAT per product class;
- attribute metadata (labels, options) for the codes products use, fetched in bulk per page
  of products (``attribute_code in (...)`` OR ``attribute_id in (...)``) and kept;
- the child -> parents map of configurable products (one sweep of the parents, ids only);
- legacy stock: one paged sweep of ``stockItems/lowStock`` (every item, as the bulk read).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any

from singer_sdk.exceptions import ConfigurationError
from tapkit.errors import NotThePlatformError

from tap_magento import mapping
from tap_magento.client import Filter, MagentoResource, keyset_pages, row_id, search_params

if TYPE_CHECKING:
    from tap_magento.tap import TapMagento

logger = logging.getLogger("tap-magento.store")

#: the threshold of the legacy bulk stock read: every item has less
LOW_STOCK_THRESHOLD = 1_000_000_000
#: ids or SKUs per ``in`` filter (URL length stays well under proxies' limits)
IDS_PER_REQUEST = 100


def chunks(values: list[Any], size: int) -> Iterable[list[Any]]:
    """``values`` in slices of ``size``."""
    for start in range(0, len(values), size):
        yield values[start:start + size]


class StoreData:
    """Lazily loaded dictionaries of one store view, shared by all streams of a run."""

    def __init__(self, tap: TapMagento) -> None:
        self._tap = tap
        self._resources: dict[str, MagentoResource] = {}
        self.attributes: dict[str, mapping.Attribute] = {}
        self._attribute_ids_known: set[str] = set()
        self._codes_asked: set[str] = set()

    def resource(self, path: str) -> MagentoResource:
        """The (cached) reader of one API path."""
        if path not in self._resources:
            self._resources[path] = MagentoResource(self._tap, path)
        return self._resources[path]

    @property
    def page_size(self) -> int:
        """The configured page size (1..300)."""
        return self.resource("/products").page_size

    # -- the store view ----------------------------------------------------------------------
    @cached_property
    def config_row(self) -> dict[str, Any]:
        """This store view's ``storeConfigs`` row; also the connection test."""
        rows = self.resource("/store/storeConfigs").get()
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise NotThePlatformError(
                f"{self._tap.store_url} does not look like a Magento store: "
                "/V1/store/storeConfigs has no store views. Check store_url.")
        code = self._tap.store_code
        for row in rows:
            if row.get("code") == code:
                return row
        codes = ", ".join(str(r.get("code")) for r in rows)
        raise ConfigurationError(f"store_code {code!r} is not a store view of this store; it "
                                 f"has {codes}. Set store_code to one of them.")

    @cached_property
    def root_category_id(self) -> int:
        """The root category of the store view's store (group)."""
        views = self.resource("/store/storeViews").get() or []
        groups = self.resource("/store/storeGroups").get() or []
        view = next((v for v in views if isinstance(v, dict)
                     and v.get("code") == self._tap.store_code), {})
        group = next((g for g in groups if isinstance(g, dict)
                      and str(g.get("id")) == str(view.get("store_group_id"))), None)
        if group is None or not group.get("root_category_id"):
            logger.warning("store view %s: no store group with a root category; using the "
                           "default root category 2", self._tap.store_code)
            return 2
        return int(group["root_category_id"])

    @cached_property
    def categories(self) -> dict[str, dict[str, Any]]:
        """Every category under the store's root, with paths."""
        tree = self.resource("/categories").get({"rootCategoryId": self.root_category_id})
        if not isinstance(tree, dict):
            raise NotThePlatformError("Magento answered /V1/categories without a category "
                                      "tree; check store_url.")
        return mapping.category_index(tree)

    @cached_property
    def taxes(self) -> mapping.TaxTable:
        """VAT per product tax class for the configured country and customer class."""
        def every(path: str) -> list[dict[str, Any]]:
            return list(self.resource(path).items(
                search_params(page_size=MAX_LIST, page=1), MAX_LIST))

        rates = every("/taxRates/search")
        country = self._tap.vat_country
        countries = sorted({str(r.get("tax_country_id")) for r in rates})
        if country not in countries:
            raise ConfigurationError(
                f"vat_country_iso {country}: the store's tax rates have no rate for {country} "
                f"(they cover {', '.join(countries) or 'no country'}). Set vat_country_iso to "
                "the country whose VAT the shop charges, or add its rates in Stores > Tax "
                "Zones and Rates.")
        return mapping.tax_table(every("/taxRules/search"), rates, every("/taxClasses/search"),
                                 country=country,
                                 customer_class=str(self._tap.customer_tax_class_id))

    def context(self) -> mapping.StoreContext:
        """Everything mapping needs (attributes are added to as pages come)."""
        return mapping.store_context_from(
            self.config_row, url_suffix=self._tap.url_suffix,
            prices_include_tax=self._tap.prices_include_tax, taxes=self.taxes,
            categories=self.categories, attributes=self.attributes,
            ean_attribute=self._tap.ean_attribute, brand_attribute=self._tap.brand_attribute,
            root_category_id=str(self.root_category_id))

    @cached_property
    def store_context(self) -> mapping.StoreContext:
        """The context, built once (its ``attributes`` dict grows as pages come)."""
        context = self.context()
        logger.info("Store view %s loaded: language %s, currency %s, %d categories, VAT for %s "
                    "on %d product tax classes", self._tap.store_code, context.language,
                    context.currency, len(context.categories), self._tap.vat_country,
                    len(context.taxes.rates))
        return context

    # -- attributes --------------------------------------------------------------------------
    def ensure_attributes(self, items: Iterable[Mapping[str, Any]]) -> None:
        """Fetch metadata of attributes these products use that are not known yet: codes
        of their custom attributes and ids of their configurable options, in bulk."""
        codes: set[str] = set()
        ids: set[str] = set()
        for item in items:
            codes.update(mapping.custom_attributes(item))
            for option in mapping.extension(item).get("configurable_product_options") or []:
                if isinstance(option, dict) and option.get("attribute_id") is not None:
                    ids.add(str(option["attribute_id"]))
        codes -= self._codes_asked | set(mapping.OWN_ATTRIBUTES)
        ids -= self._attribute_ids_known
        if not codes and not ids:
            return
        self._codes_asked |= codes
        store_id = int(self.config_row.get("id") or 0)
        wanted_codes, wanted_ids = sorted(codes), sorted(ids)
        while wanted_codes or wanted_ids:
            group: list[Filter] = []
            if wanted_codes:
                group.append(("attribute_code", "in", wanted_codes[:IDS_PER_REQUEST]))
            if wanted_ids:
                group.append(("attribute_id", "in", wanted_ids[:IDS_PER_REQUEST]))
            wanted_codes, wanted_ids = (wanted_codes[IDS_PER_REQUEST:],
                                        wanted_ids[IDS_PER_REQUEST:])
            params = search_params([group], sort=[("attribute_id", "ASC")],
                                   page_size=self.page_size, page=1)
            for row in self.resource("/products/attributes").items(params, self.page_size):
                attribute = mapping.attribute_from(row, store_id)
                self.attributes[attribute.code] = attribute
                self._attribute_ids_known.add(attribute.attribute_id)
        self._attribute_ids_known |= ids  # unknown ids are not asked for again

    # -- products ----------------------------------------------------------------------------
    def fetch_products(self, filters: list[list[Filter]], page: int, *, fields: str,
                       by_updated_at: bool) -> dict[str, Any]:
        """One page of ``/V1/products`` sorted for a key cursor."""
        sort = ([("updated_at", "ASC")] if by_updated_at else []) + [("entity_id", "ASC")]
        params = search_params(filters, sort=sort, page_size=self.page_size, page=page,
                               fields=fields)
        body = self.resource("/products").get(params)
        if not isinstance(body, dict):
            raise NotThePlatformError("Magento answered /V1/products without a product list; "
                                      "check store_url.")
        return body

    def products_by_id(self, ids: Iterable[int], fields: str) -> list[dict[str, Any]]:
        """Products by entity id, ``entity_id in (...)`` in slices (never one per product)."""
        wanted = sorted(set(ids))
        found: list[dict[str, Any]] = []
        for part in chunks(wanted, min(IDS_PER_REQUEST, self.page_size)):
            params = search_params([[("entity_id", "in", part)]], sort=[("entity_id", "ASC")],
                                   page_size=self.page_size, page=1, fields=fields)
            found += [i for i in self.resource("/products").items(params, self.page_size)
                      if row_id(i) in set(part)]
        return found

    @cached_property
    def parents_of(self) -> dict[int, list[int]]:
        """child entity id -> the configurable parents listing it (one sweep of the parents,
        ids and links only)."""
        links: dict[int, list[int]] = {}
        fields = "items[id,updated_at,extension_attributes[configurable_product_links]]," \
                 "total_count"
        filters: list[list[Filter]] = [[("type_id", "eq", "configurable")]]
        for page in keyset_pages(
                lambda f, n: self.fetch_products(f, n, fields=fields, by_updated_at=False),
                filters, page_size=self.page_size, by_updated_at=False):
            for parent in page:
                for child in mapping.extension(parent).get("configurable_product_links") or []:
                    links.setdefault(int(str(child)), []).append(int(str(parent["id"])))
        return links

    # -- stock -------------------------------------------------------------------------------
    @cached_property
    def legacy_stock(self) -> dict[str, Decimal | None]:
        """product id -> quantity from every legacy stock item (one paged sweep)."""
        levels: dict[str, Decimal | None] = {}
        params = {"scopeId": 0, "qty": LOW_STOCK_THRESHOLD, "pageSize": self.page_size}
        resource = self.resource("/stockItems/lowStock")
        resource_pages = _LowStockPages(resource, params, self.page_size)
        for item in resource_pages:
            levels[str(item.get("product_id"))] = mapping.legacy_quantity(item)
        return levels

    def msi_stock(self, skus: Iterable[str]) -> dict[str, Decimal]:
        """SKU -> quantity over the configured sources, ``sku in (...)`` in slices."""
        wanted = sorted({s for s in skus if s})
        sources = self._tap.source_codes
        rows: list[dict[str, Any]] = []
        for part in chunks(wanted, IDS_PER_REQUEST):
            groups: list[list[Filter]] = [[("sku", "in", part)]]
            if sources:
                groups.append([("source_code", "in", sources)])
            params = search_params(groups, sort=[("sku", "ASC"), ("source_code", "ASC")],
                                   page_size=self.page_size, page=1)
            rows += list(self.resource("/inventory/source-items").items(params,
                                                                         self.page_size))
        return mapping.msi_quantities(rows, sources)

    def stock_levels(self, items: Iterable[Mapping[str, Any]]) -> dict[str, Decimal | None]:
        """entity id -> quantity for these simple products, by the inventory mode."""
        listed = list(items)
        if self._tap.inventory_mode == "msi":
            by_sku = self.msi_stock(str(i.get("sku") or "") for i in listed)
            return {str(i.get("id")): by_sku.get(str(i.get("sku"))) for i in listed}
        legacy = self.legacy_stock
        return {str(i.get("id")): legacy.get(str(i.get("id"))) for i in listed}


#: tax tables and the like are small: one request of this size reads them whole
MAX_LIST = 300


class _LowStockPages:
    """Every legacy stock item: ``lowStock`` pages by ``pageSize``/``currentPage`` and has
    ``total_count`` like other lists (and repeats its last page past the end like them)."""

    def __init__(self, resource: MagentoResource, params: dict[str, Any], size: int) -> None:
        self._resource, self._params, self._size = resource, params, size

    def __iter__(self) -> Any:
        page, read = 1, 0
        while True:
            body = self._resource.get({**self._params, "currentPage": page})
            items = [i for i in (body or {}).get("items") or [] if isinstance(i, dict)]
            total = int((body or {}).get("total_count") or 0)
            yield from items
            read += len(items)
            if not items or page * self._size >= total:
                return
            page += 1
