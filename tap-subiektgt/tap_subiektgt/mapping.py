"""Subiekt GT rows onto the record contract: pure functions, no database.

A Subiekt product card (``tw__Towar``) is one sellable thing with one symbol, one price row
and its own stock. Shops group cards into one product with variants; Subiekt's closest
thing is the model (``sl_ModelTw``): the model is the product, each member card a variant.
A :class:`Group` is such a set of cards (one card for a standalone product), with what the
side tables hold for them; :func:`product_record` turns it into one ``products`` record.

What a card gives a variant: symbol, EAN (the main code when it is a valid GTIN, else the
first valid extra barcode), the price at the chosen level as stored (net and gross), the
stock to sell (on hand minus reserved, summed over the chosen warehouses, never below 0),
the weight, its own photos, and its options: from features that belong to a property
("Rozmiar" -> "XL"), else from its name with the model's name stripped ("Koszulka Zorza XL"
in model "Koszulka Zorza" -> "XL"), labelled by ``variant_option_names``.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from commerce_schema.money import MoneyError, parse_decimal, round_money, vat_rate
from tapkit.streams import MappingError

PLATFORM = "subiektgt"
#: the option label when the option values come from names and no label is configured
DEFAULT_OPTION_NAME = "Wariant"
#: the largest photo passed on; the Gateway's upload refuses bigger ones anyway
MAX_IMAGE_BYTES = 20 * 1024 * 1024
_QUANTITY = Decimal("0.001")
_HTML_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(\s[^<>]*)?/?>")
_NAME_SEPARATORS = " \t-–—,;:/|"
_VAT_ZERO_SYMBOLS = {"zw", "zw.", "np", "np.", "oo"}


Row = Mapping[str, Any]


@dataclass
class Group:
    """The cards that make one product, and what the side tables say about them.

    ``key`` is the grouping key (model id, custom-field value) or None for a standalone
    card; ``name`` the model's name (or the custom field's raw value).
    """

    key: Any
    name: str | None
    cards: list[Row]
    barcodes: dict[int, list[str]] = field(default_factory=dict)
    features: dict[int, list[tuple[str, str | None]]] = field(default_factory=dict)
    #: card id -> [(image id, crc)], main photo first
    images: dict[int, list[tuple[int, int | None]]] = field(default_factory=dict)


@dataclass(frozen=True)
class RunContext:
    """Run-wide settings and dictionaries the mapping needs."""

    price_level: int = 1
    grouping: str = "model"
    group_field: int = 0
    option_names: tuple[str, ...] = ()
    #: custom field number -> its label (tw_Parametr.twp_Nazwa1..8), labelled ones only
    field_labels: Mapping[int, str] = field(default_factory=dict)
    #: manufacturer id -> name
    makers: Mapping[int, str] = field(default_factory=dict)
    include_images: bool = True


# -- small readers ---------------------------------------------------------------------------
def clean(value: Any) -> str | None:
    """A text column, stripped (Subiekt pads ``char`` columns); empty -> None."""
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("cp1250", "replace")
    text = str(value).strip()
    return text or None


def valid_gtin(code: str | None) -> bool:
    """An EAN-8/UPC-A/EAN-13/GTIN-14 with a correct check digit (not an internal code)."""
    if not code or not code.isdigit() or len(code) not in (8, 12, 13, 14):
        return False
    digits = [int(d) for d in code]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits[:-1])))
    return (10 - total % 10) % 10 == digits[-1]


def ean_of(main_code: Any, extra_codes: Iterable[str] = ()) -> str | None:
    """The main barcode when it is a GTIN, else the first extra barcode that is one."""
    for code in (clean(main_code), *(clean(c) for c in extra_codes)):
        if code and valid_gtin(code):
            return code
    return None


def vat_of(row: Row) -> int:
    """Whole percent from ``sl_StawkaVAT``: "zw."/"np." are 0 %, told apart by symbol."""
    symbol = (clean(row.get("vat_symbol")) or "").lower()
    if symbol in _VAT_ZERO_SYMBOLS:
        return 0
    if row.get("vat_percent") is None:
        raise MappingError("has no sales VAT rate (tw_IdVatSp is empty)")
    try:
        return vat_rate(row["vat_percent"], field="VAT rate")
    except MoneyError as exc:
        raise MappingError(str(exc)) from None


def prices_of(row: Row, level: int) -> tuple[Decimal, Decimal]:
    """(net, gross) at the price level, as stored, to the grosz."""
    values = []
    for name, column in (("net", "price_net"), ("gross", "price_gross")):
        raw = row.get(column)
        if raw is None:
            raise MappingError(f"has no {name} price at price level {level}")
        try:
            amount = round_money(raw, field=f"{name} price at level {level}")
        except MoneyError as exc:
            raise MappingError(str(exc)) from None
        if amount < 0:
            raise MappingError(f"{name} price at level {level} is negative ({amount})")
        values.append(amount)
    return values[0], values[1]


def available(row: Row) -> Decimal:
    """Stock to sell: on hand minus reserved, never below 0 (an order over-reserved it)."""
    try:
        on_hand = parse_decimal(row.get("on_hand") or 0, field="stock")
        reserved = parse_decimal(row.get("reserved") or 0, field="reserved stock")
    except MoneyError as exc:
        raise MappingError(str(exc)) from None
    amount = max(on_hand - reserved, Decimal(0))
    return amount.quantize(_QUANTITY).normalize() + 0  # "+ 0": no "-0", no "4E+1"


def weight_of(row: Row) -> Decimal | None:
    """``tw_Masa`` in kg; absent or unreadable -> None."""
    value = row.get("weight")
    if value is None:
        return None
    try:
        amount = parse_decimal(value, field="weight")
    except MoneyError:
        return None
    return amount.quantize(_QUANTITY).normalize() + 0 if amount > 0 else None


def html_of(value: Any) -> str | None:
    """``tw_Charakter``/``tw_Opis`` as HTML: kept when it already is, else escaped, one
    ``<p>`` per paragraph and ``<br>`` per line break (Polish letters kept as they are)."""
    text = clean(value)
    if text is None:
        return None
    if _HTML_TAG.search(text):
        return text
    paragraphs = [p for p in re.split(r"\r?\n\s*\r?\n", text) if p.strip()]
    return "".join("<p>" + html.escape(p.strip(), quote=False).replace("\r\n", "<br>")
                   .replace("\n", "<br>") + "</p>" for p in paragraphs)


_SIGNATURES = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"),
               (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif"), (b"BM", "image/bmp"))


def sniff_image(data: bytes) -> str | None:
    """The image type by its first bytes (Subiekt stores no type), None: not an image."""
    for magic, mime in _SIGNATURES:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def data_uri(data: bytes) -> str:
    """A ``data:`` URI for a photo (the target uploads it through the presigned flow)."""
    mime = sniff_image(data)
    if mime is None:
        raise MappingError("is not a JPEG, PNG, GIF, BMP or WebP image")
    if len(data) > MAX_IMAGE_BYTES:
        raise MappingError(f"is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB")
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


# -- grouping --------------------------------------------------------------------------------
def product_id(grouping: str, group_field: int, key: Any, first_card: Any) -> str:
    """The record id: the card id for a standalone card, ``model-<id>`` for a model,
    ``pole<N>-<value>`` for a custom-field group (kept stable across runs)."""
    if key is None or grouping == "none":
        return str(first_card)
    if grouping == "model":
        return f"model-{key}"
    return f"pole{group_field}-{key}"


def shared_images(group: Group) -> list[int]:
    """The product's own photos: those every member card carries (same CRC), in the first
    card's order; for a standalone card, all its photos."""
    cards = [int(c["card_id"]) for c in group.cards]
    first = group.images.get(cards[0], [])
    if len(cards) == 1:
        return [image_id for image_id, _ in first]
    common = None
    for card in cards[1:]:
        crcs = {crc for _, crc in group.images.get(card, []) if crc is not None}
        common = crcs if common is None else common & crcs
    return [image_id for image_id, crc in first if crc is not None and crc in (common or set())]


def own_images(group: Group, card_id: int) -> list[int]:
    """A member card's photos that are not the product's shared ones."""
    if len(group.cards) == 1:
        return []
    shared_crcs = {crc for image_id, crc in group.images.get(int(group.cards[0]["card_id"]), [])
                   if image_id in set(shared_images(group))}
    return [image_id for image_id, crc in group.images.get(card_id, [])
            if crc is None or crc not in shared_crcs]


def common_name(names: Sequence[str]) -> str:
    """The words all names start with ("Koszulka Zorza S", "Koszulka Zorza M" -> "Koszulka
    Zorza"); the first name when they share none."""
    if not names:
        return ""
    split = [n.split() for n in names]
    common: list[str] = []
    for words in zip(*split, strict=False):
        if any(w.casefold() != words[0].casefold() for w in words):
            break
        common.append(words[0])
    if len(names) > 1 and common and all(len(s) == len(common) for s in split):
        return " ".join(common)
    return " ".join(common) if common else names[0]


def options_of(card_name: str | None, features: Sequence[tuple[str, str | None]],
               group_name: str | None, option_names: Sequence[str]) -> list[dict[str, str]]:
    """A member's options: features that belong to a property first; else the member's
    name with the group's name stripped, labelled by ``option_names`` (one label per word
    when the counts match, else the first label, else "Wariant" for the whole rest)."""
    from_features = [{"name": prop, "value": value} for value, prop in features
                     if prop and value]
    if from_features:
        return from_features
    name = card_name or ""
    if group_name and name.casefold().startswith(group_name.casefold()):
        rest = name[len(group_name):].strip(_NAME_SEPARATORS)
    else:
        rest = ""
    if not rest:
        return []
    words = rest.split()
    if len(option_names) > 1 and len(words) == len(option_names):
        return [{"name": n, "value": w} for n, w in zip(option_names, words, strict=False)]
    return [{"name": option_names[0] if option_names else DEFAULT_OPTION_NAME, "value": rest}]


# -- records ---------------------------------------------------------------------------------
def category_record(row: Row) -> dict[str, Any]:
    """A product group (``sl_GrupaTw``): groups are flat, so the path is the name alone."""
    name = clean(row.get("name")) or f"Grupa {row['group_id']}"
    return {"id": str(row["group_id"]), "name": name, "parent_id": None, "path": [name]}


def variant_record(group: Group, card: Row, ctx: RunContext,
                   images: Mapping[int, str]) -> dict[str, Any]:
    """One member card as a variant (raises :class:`MappingError` for a card without a
    usable price)."""
    card_id = int(card["card_id"])
    net, gross = prices_of(card, ctx.price_level)
    multi = len(group.cards) > 1 or group.key is not None
    group_name = group.name if ctx.grouping == "model" else _group_title(group)
    options = (options_of(clean(card.get("name")), group.features.get(card_id, []),
                          group_name, ctx.option_names) if multi else [])
    return {
        "id": str(card_id), "sku": clean(card.get("sku")),
        "ean": ean_of(card.get("main_code"), group.barcodes.get(card_id, [])),
        "options": options, "price_net": net, "price_gross": gross,
        "stock": available(card), "active": True,
        "images": [{"url": images[i], "position": n, "public": False}
                   for n, i in enumerate((i for i in own_images(group, card_id)
                                          if i in images), start=1)],
        "weight_kg": weight_of(card),
    }


def _group_title(group: Group) -> str:
    if group.key is None or (len(group.cards) == 1 and group.name is None):
        return clean(group.cards[0].get("name")) or ""
    return common_name([clean(c.get("name")) or "" for c in group.cards])


def product_record(group: Group, ctx: RunContext, images: Mapping[int, str],
                   ) -> tuple[dict[str, Any] | None, list[tuple[str, str]]]:
    """The group as one ``products`` record, and the cards left out as (card, reason).

    A card without a usable price is left out (named, with the reason); the product goes on
    with its other cards. A product whose every card is left out is None. ``images`` maps
    photo ids to ``data:`` URIs (only those that could be read).
    """
    first = group.cards[0]
    pid = product_id(ctx.grouping, ctx.group_field, group.key, first["card_id"])
    try:
        rate = vat_of(first)
    except MappingError as exc:
        return None, [(_card_label(c), str(exc)) for c in group.cards]
    variants, skipped = [], []
    for card in group.cards:
        try:
            if vat_of(card) != rate:
                raise MappingError(f"has VAT {vat_of(card)} % but its product has {rate} %")
            variants.append(variant_record(group, card, ctx, images))
        except MappingError as exc:
            skipped.append((_card_label(card), str(exc)))
    if not variants:
        return None, skipped
    if ctx.grouping == "model" and group.key is not None:
        name = clean(group.name) or _group_title(group)
    else:
        name = _group_title(group)
    attributes = {label: value for n, label in sorted(ctx.field_labels.items())
                  if (value := clean(first.get(f"field{n}")))
                  and not (ctx.grouping == "field" and n == ctx.group_field)}
    category_id = first.get("category_id")
    categories = [] if category_id is None else [{
        "id": str(category_id),
        "name": clean(first.get("category_name")) or f"Grupa {category_id}",
        "path": [clean(first.get("category_name")) or f"Grupa {category_id}"]}]
    maker = first.get("maker_id")
    record = {
        "id": pid, "platform": PLATFORM,
        "sku": (clean(first.get("sku")) if group.key is None
                else clean(group.name) if ctx.grouping == "field" else None),
        "name": name or clean(first.get("sku")) or pid,
        "description_html": html_of(first.get("description")),
        "short_description_html": html_of(first.get("short_description")),
        "language": "pl", "url": None,
        "brand": ctx.makers.get(int(maker)) if maker is not None else None,
        "categories": categories,
        "images": [{"url": images[i], "position": n, "public": False}
                   for n, i in enumerate((i for i in shared_images(group) if i in images),
                                         start=1)],
        "vat_rate": rate, "currency": clean(first.get("currency")) or "PLN", "active": True,
        "attributes": attributes, "created_at": None, "updated_at": None,
        "variants": variants,
    }
    return record, skipped


def wanted_images(group: Group) -> list[int]:
    """The photo ids whose bytes the record needs: shared ones once, then each card's own."""
    wanted = list(shared_images(group))
    for card in group.cards:
        wanted += own_images(group, int(card["card_id"]))
    return wanted


def stock_record(row: Row, grouping: str, group_field: int, observed_at: str,
                 extra_codes: Iterable[str] = ()) -> dict[str, Any]:
    """A ``stock`` record of one card (Subiekt keeps no change time: ``updated_at`` is
    when the sweep read it)."""
    card = row["card_id"]
    return {
        "product_id": product_id(grouping, group_field, row.get("group_key"), card),
        "variant_id": str(card), "sku": clean(row.get("sku")),
        "ean": ean_of(row.get("main_code"), extra_codes),
        "quantity": available(row), "updated_at": observed_at,
    }


def _card_label(card: Row) -> str:
    sku = clean(card.get("sku"))
    return f"{card['card_id']} ({sku})" if sku else str(card["card_id"])
