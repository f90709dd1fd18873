"""One IdoSell product as either source shows it, before it becomes a contract record.

The Admin API (JSON) and the IOF feed (XML) describe the same thing with different names:
:func:`from_admin` and :mod:`tap_iai.iof` turn each into an :class:`Item`, and
:mod:`tap_iai.mapping` turns items into records once, so that both sources give the same
records by construction. Raw values (prices, quantities, VAT) stay as the platform sent
them; reading them (and refusing bad ones by name) is the mapping's job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from tapkit.readers import local_to_utc, sort_position, text

#: texts and names are keyed by IdoSell's three-letter language ids (``pol``, ``eng``)
LangTexts = dict[str, str]


@dataclass
class Size:
    """One size of a product: the sellable unit, with its own codes, price and stock."""

    id: str
    name: str | None = None
    code_external: str | None = None
    code_producer: str | None = None
    gross: Any = None  # None: the product's price
    net: Any = None  # the IOF feed's net (the Admin API has none)
    weight_g: Any = None
    #: warehouse id -> quantity as sent (``-1``: unlimited / not tracked)
    stocks: dict[str, Any] = field(default_factory=dict)
    #: IOF ``available="unavailable"`` (such sizes carry no ``<stock>``); None: not said
    unavailable: bool | None = None


@dataclass
class Parameter:
    """A descriptive parameter (``Materiał: Bawełna``); several values are possible."""

    names: LangTexts
    values: list[LangTexts]


@dataclass
class Item:
    """One IdoSell product (one version of a version group)."""

    id: str
    code: str | None = None
    names: LangTexts = field(default_factory=dict)
    short: LangTexts = field(default_factory=dict)
    long: LangTexts = field(default_factory=dict)
    vat: Any = None
    vat_free: bool = False
    gross: Any = None
    net: Any = None
    currency: str | None = None
    brand: str | None = None
    category_id: str | None = None
    category_name: str | None = None  # IdoSell's "A/B/C" path
    images: list[str] = field(default_factory=list)
    urls: LangTexts = field(default_factory=dict)  # storefront page per language
    visible: bool | None = None
    created_at: str | None = None  # UTC ISO 8601
    updated_at: str | None = None
    sizes: list[Size] = field(default_factory=list)
    #: the version group's key (the parent product's id); None: not in a group
    group: str | None = None
    members: list[str] = field(default_factory=list)  # the group's product ids (Admin API)
    axis: LangTexts = field(default_factory=dict)  # "Kolor"
    value: LangTexts = field(default_factory=dict)  # "Szary"
    parameters: list[Parameter] = field(default_factory=list)


def lang_list(rows: Any, key: str, *, lang_key: str = "langId") -> LangTexts:
    """``[{"langId": "pol", key: text}, ...]`` as ``{"pol": text}`` (empty texts dropped)."""
    result: LangTexts = {}
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, Mapping):
            value = text(row.get(key))
            lang = text(row.get(lang_key))
            if value is not None and lang is not None:
                result.setdefault(lang, value)
    return result


def _dig(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def from_admin(row: Mapping[str, Any], zone: ZoneInfo) -> Item:
    """An Admin API search result as an :class:`Item` (``productId`` must be there)."""
    pid = str(row["productId"])
    descriptions = row.get("productDescriptionsLangData")
    stocks: dict[str, dict[str, Any]] = {}
    for warehouse in _dig(row, "productStocksData", "productStocksQuantities") or []:
        if not isinstance(warehouse, Mapping):
            continue
        for size in warehouse.get("productSizesData") or []:
            if isinstance(size, Mapping) and text(size.get("sizeId")) is not None:
                stocks.setdefault(str(size["sizeId"]), {})[str(warehouse.get("stockId"))] = \
                    size.get("productSizeQuantity")
    attributes = row.get("productSizesAttributes") or row.get("productSizes") or []
    sizes = [Size(id=str(s["sizeId"]), name=text(s.get("sizePanelName")),
                  code_external=text(s.get("productSizeCodeExternal")),
                  code_producer=text(s.get("productSizeCodeProducer")),
                  gross=s.get("productRetailPrice"), weight_g=s.get("productSizeWeight"),
                  stocks=stocks.get(str(s["sizeId"]), {}))
             for s in attributes if isinstance(s, Mapping) and text(s.get("sizeId"))]
    images = sorted((i for i in row.get("productImages") or [] if isinstance(i, Mapping)),
                    key=lambda i: sort_position(i.get("productImagePriority")))
    times = [local_to_utc(row.get(k), zone) for k in
             ("productModificationTime", "productQuantityChangedTime",
              "productPriceChangedTime")]
    version = row.get("productVersion")
    group = None
    members: list[str] = []
    if isinstance(version, Mapping):
        members = [str(i) for i in version.get("versionProductsIds") or []]
        parent = text(version.get("versionParentId"))
        if parent is None and members:
            parent = min(members, key=sort_position)
        group = parent
    visible = text(row.get("productIsVisible"))
    return Item(
        id=pid, code=text(row.get("productDisplayedCode")),
        names=lang_list(descriptions, "productName"),
        short=lang_list(descriptions, "productDescription"),
        long=lang_list(descriptions, "productLongDescription"),
        vat=row.get("productVat"), vat_free=text(row.get("productVatFree")) == "y",
        gross=row.get("productRetailPrice"), currency=text(row.get("currencyId")),
        brand=text(row.get("producerName")),
        category_id=text(row.get("categoryId")), category_name=text(row.get("categoryName")),
        images=[u for i in images if (u := text(i.get("productImageLargeUrl")))],
        urls=lang_list(_dig(row, "productUrl", "productUrlsLangData"), "url"),
        visible=None if visible is None else visible == "y",
        created_at=local_to_utc(row.get("productAddingTime"), zone),
        updated_at=max((t for t in times if t), default=None),
        sizes=sizes, group=group, members=members,
        axis=lang_list(_dig(version, "versionGroupNames", "versionGroupNamesLangData"),
                       "versionGroupName"),
        value=lang_list(_dig(version, "versionNames", "versionNamesLangData"), "versionName"),
        parameters=[Parameter(
            lang_list(p.get("parameterDescriptionsLangData"), "parameterName"),
            [lang_list(v.get("parameterValueDescriptionsLangData"), "parameterValueName")
             for v in p.get("parameterValues") or [] if isinstance(v, Mapping)])
            for p in row.get("productParameters") or [] if isinstance(p, Mapping)],
    )

