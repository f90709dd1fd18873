"""IOF 3.0 files (IdoSell's XML feeds) read as a stream: one ``<product>`` in memory at a time.

``full`` offers can be hundreds of megabytes: :func:`iter_items` walks the file with
defusedxml's ``iterparse`` (no DTDs, no entities, no network), turns each finished
``<product>`` into an :class:`~tap_iai.items.Item` and clears it, so memory stays flat
however large the file. :func:`read_gateway` reads the ``provider_description`` file that
lists the other files' URLs; :func:`iter_categories` the nested ``categories`` file.

Element tests use ``is not None`` (an element with no children is falsy: the mistake the
earlier integration made with ``<group>`` and ``<short_desc>``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any
from xml.etree.ElementTree import Element
from zoneinfo import ZoneInfo

from defusedxml.ElementTree import iterparse, parse
from tapkit.readers import local_to_utc, sort_position, text

from tap_iai.items import Item, LangTexts, Parameter, Size

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
IAIEXT = "{http://www.iai-shop.com/developers/iof/extensions.phtml}"


class FeedError(ValueError):
    """The file is not the IOF file it should be; the message says what it is instead."""


@dataclass
class Offer:
    """The ``<offer>``/``<products>`` attributes: when the file was generated, its language."""

    generated: str | None = None  # UTC ISO 8601
    language: str = "pol"
    currency: str | None = None


@dataclass
class Gateway:
    """The URLs a ``provider_description`` file lists."""

    full: str | None
    categories: str | None
    generated: str | None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _langs(parent: Element | None, tag: str, default: str) -> LangTexts:
    result: LangTexts = {}
    if parent is None:
        return result
    for child in parent.findall(tag):
        value = text(child.text)
        if value is not None:
            result.setdefault(child.get(XML_LANG) or default, value)
    return result


def product_item(element: Element, offer: Offer) -> Item:
    """One ``<product>`` element as an :class:`Item`."""
    lang = offer.language
    pid = text(element.get("id"))
    if pid is None:
        raise FeedError("a <product> without an id")
    description = element.find("description")
    producer = element.find("producer")
    category = element.find("category")
    card = element.find("card")
    price = element.find("price")
    sizes = []
    sizes_element = element.find("sizes")
    for size in sizes_element.findall("size") if sizes_element is not None else []:
        size_price = size.find("price")
        sizes.append(Size(
            id=text(size.get("id")) or "",
            name=text(size.get("name")) or text(size.get("panel_name")),
            code_external=text(size.get(f"{IAIEXT}code_external")),
            code_producer=text(size.get("code_producer")),
            gross=size_price.get("gross") if size_price is not None else None,
            net=size_price.get("net") if size_price is not None else None,
            weight_g=size.get("weight"),
            stocks={str(s.get("id")): s.get("quantity") for s in size.findall("stock")},
            unavailable=size.get("available") == "unavailable"))
    large = element.find("images/large")
    pictures = list(large.findall("image")) if large is not None else []
    ordered = sorted(enumerate(pictures),
                     key=lambda pair: (sort_position(pair[1].get(f"{IAIEXT}priority")), pair[0]))
    urls = [u for _, image in ordered if (u := text(image.get("url")))]
    group = element.find("group")
    axis: LangTexts = {}
    value: LangTexts = {}
    group_key = None
    if group is not None:
        group_key = text(group.get("first_product_id")) or text(group.get("id"))
        by = group.find("group_by_parameter")
        if by is not None:
            axis = _langs(by, "name", lang)
            value = _langs(by.find("product_value"), "name", lang)
    parameters = []
    params_element = element.find("parameters")
    for parameter in params_element.findall("parameter") if params_element is not None else []:
        name = text(parameter.get("name"))
        if parameter.get("type", "parameter") != "parameter" or name is None:
            continue
        values = [{lang: v} for value_element in parameter.findall("value")
                  if (v := text(value_element.get("name")))]
        parameters.append(Parameter({lang: name}, values))
    card_url = text(card.get("url")) if card is not None else None
    return Item(
        id=pid, code=text(element.get("code_on_card")),
        names=_langs(description, "name", lang),
        short=_langs(description, "short_desc", lang),
        long=_langs(description, "long_desc", lang),
        vat=element.get("vat"), vat_free=False,
        gross=price.get("gross") if price is not None else None,
        net=price.get("net") if price is not None else None,
        currency=text(element.get("currency")) or offer.currency,
        brand=text(producer.get("name")) if producer is not None else None,
        category_id=text(category.get("id")) if category is not None else None,
        category_name=text(category.get("name")) if category is not None else None,
        images=urls, urls={lang: card_url} if card_url else {},
        visible=None, created_at=None, updated_at=offer.generated,
        sizes=sizes, group=group_key, axis=axis, value=value, parameters=parameters)


def _root_check(tag: str, wanted: str) -> None:
    if _local(tag) != wanted:
        raise FeedError(f"the file is a <{_local(tag)}> document, not an IOF <{wanted}> file")


def iter_items(source: IO[bytes], zone: ZoneInfo) -> Iterator[tuple[Offer, Item]]:
    """Every ``<product>`` of a ``full`` offer file, in file order, with the offer's data.

    Memory: the finished product is cleared and detached from ``<products>`` before the
    next is read. Broken XML raises ``xml.etree.ElementTree.ParseError``.
    """
    offer = Offer()
    products: Element | None = None
    depth = 0
    for event, element in iterparse(source, events=("start", "end")):
        if event == "start":
            depth += 1
            if depth == 1:
                _root_check(element.tag, "offer")
                offer.generated = local_to_utc(element.get("generated"), zone)
            elif depth == 2 and _local(element.tag) == "products":
                products = element
                offer.language = element.get("language") or offer.language
                offer.currency = element.get("currency")
            continue
        depth -= 1
        if depth == 2 and _local(element.tag) == "product" and products is not None:
            try:
                yield offer, product_item(element, offer)
            finally:
                element.clear()
                products.remove(element)


def read_gateway(source: IO[bytes], zone: ZoneInfo) -> Gateway:
    """The ``provider_description`` file: the ``full`` and ``categories`` URLs."""
    full = categories = generated = None
    depth = 0
    for event, element in iterparse(source, events=("start", "end")):
        if event == "start":
            depth += 1
            if depth == 1:
                _root_check(element.tag, "provider_description")
                generated = local_to_utc(element.get("generated"), zone)
            continue
        depth -= 1
        if depth == 1 and _local(element.tag) == "full":
            full = text(element.get("url"))
        elif depth == 1 and _local(element.tag) == "categories":
            categories = text(element.get("url"))
        if depth == 1:
            element.clear()
    return Gateway(full, categories, generated)


def categories_from_file(source: IO[bytes], language: str) -> list[dict[str, Any]]:
    """The nested ``categories`` file as records ``{id, name, parent_id, path}``, parents
    before children. The file is small (one element per category), so it is read whole,
    still through defusedxml."""
    root = parse(source).getroot()
    _root_check(root.tag, "categories")
    records: list[dict[str, Any]] = []

    def walk(parent: Element, parent_id: str | None, path: list[str]) -> None:
        for element in parent.findall("category"):
            cid = text(element.get("id"))
            if cid is None or cid == "0":  # "*Kategoria tymczasowa": the panel's bin
                continue
            names = _langs(element, "name", language)
            name = (names.get(language) or text(element.get("name"))
                    or next(iter(names.values()), None) or f"#{cid}")
            records.append({"id": cid, "name": name, "parent_id": parent_id,
                            "path": [*path, name]})
            walk(element, cid, [*path, name])

    walk(root, None, [])
    return records



def now_utc() -> str:
    """The current time as UTC ISO 8601 (a file without ``generated``)."""
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
