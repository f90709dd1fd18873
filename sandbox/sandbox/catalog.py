"""A deterministic, seeded catalog of a Polish shop: the one truth every emulator renders.

``generate_catalog(n, seed)`` gives the same shop for the same arguments, every time: a 3-level
category tree, products with Polish names and HTML descriptions, a realistic mix of simple
products and products with 2-12 size/colour variants, VAT 23/8/5/0, gross prices, EANs with
valid check digits, stock (some zero, some untracked) and images. Each platform emulator shows
this same catalog in its own API's shape, so one set of expectations (``to_records``) checks
every tap.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from commerce_schema.money import net_from_gross

CATEGORY_TREE: dict[str, dict[str, list[str]]] = {
    "Odzież": {
        "Odzież damska": ["Sukienki", "Bluzki i koszule", "Spódnice"],
        "Odzież męska": ["Koszulki", "Kurtki", "Spodnie"],
        "Odzież dziecięca": ["Body niemowlęce", "Piżamy"],
    },
    "Obuwie": {
        "Obuwie damskie": ["Botki", "Sandały"],
        "Obuwie męskie": ["Półbuty", "Buty trekkingowe"],
    },
    "Dom i ogród": {
        "Kuchnia": ["Kubki i filiżanki", "Garnki", "Noże"],
        "Dekoracje": ["Świece", "Poduszki dekoracyjne"],
        "Ogród": ["Doniczki", "Narzędzia ogrodnicze"],
    },
    "Zdrowie i uroda": {
        "Pielęgnacja": ["Kremy do twarzy", "Mydła naturalne"],
        "Suplementy": ["Witaminy", "Zioła i herbaty"],
    },
    "Książki i multimedia": {
        "Książki": ["Literatura piękna", "Poradniki"],
        "Gry planszowe": ["Gry rodzinne", "Łamigłówki"],
    },
}

# leaf category -> (nouns, adjectives, material, variant kind, VAT rate, price range)
_LEAF_KIND: dict[str, tuple[str, int, tuple[int, int]]] = {
    "Sukienki": ("clothes", 23, (89, 399)), "Bluzki i koszule": ("clothes", 23, (59, 249)),
    "Spódnice": ("clothes", 23, (69, 199)), "Koszulki": ("clothes", 23, (29, 129)),
    "Kurtki": ("clothes", 23, (199, 899)), "Spodnie": ("clothes", 23, (99, 349)),
    "Body niemowlęce": ("kids", 23, (19, 79)), "Piżamy": ("kids", 23, (39, 129)),
    "Botki": ("shoes", 23, (149, 599)), "Sandały": ("shoes", 23, (79, 299)),
    "Półbuty": ("shoes", 23, (179, 549)), "Buty trekkingowe": ("shoes", 23, (259, 899)),
    "Kubki i filiżanki": ("colour", 23, (19, 89)), "Garnki": ("simple", 23, (89, 599)),
    "Noże": ("simple", 23, (39, 459)), "Świece": ("colour", 23, (25, 119)),
    "Poduszki dekoracyjne": ("colour", 23, (39, 149)), "Doniczki": ("colour", 23, (15, 199)),
    "Narzędzia ogrodnicze": ("simple", 23, (29, 259)), "Kremy do twarzy": ("simple", 23, (29, 189)),
    "Mydła naturalne": ("simple", 23, (12, 39)), "Witaminy": ("simple", 8, (19, 99)),
    "Zioła i herbaty": ("simple", 5, (9, 59)), "Literatura piękna": ("simple", 5, (29, 79)),
    "Poradniki": ("simple", 5, (24, 69)), "Gry rodzinne": ("simple", 23, (59, 249)),
    "Łamigłówki": ("simple", 0, (9, 49)),
}

_NOUNS: dict[str, list[str]] = {
    "Sukienki": ["Sukienka"], "Bluzki i koszule": ["Bluzka", "Koszula"], "Spódnice": ["Spódnica"],
    "Koszulki": ["Koszulka", "T-shirt"], "Kurtki": ["Kurtka", "Parka"],
    "Spodnie": ["Spodnie", "Chinosy"], "Body niemowlęce": ["Body"], "Piżamy": ["Piżama"],
    "Botki": ["Botki"], "Sandały": ["Sandały"], "Półbuty": ["Półbuty"],
    "Buty trekkingowe": ["Buty trekkingowe"], "Kubki i filiżanki": ["Kubek", "Filiżanka"],
    "Garnki": ["Garnek", "Rondel"], "Noże": ["Nóż szefa kuchni", "Nóż do chleba"],
    "Świece": ["Świeca sojowa", "Świeca zapachowa"], "Poduszki dekoracyjne": ["Poduszka"],
    "Doniczki": ["Doniczka"], "Narzędzia ogrodnicze": ["Sekator", "Łopatka", "Grabie"],
    "Kremy do twarzy": ["Krem nawilżający", "Krem na noc"],
    "Mydła naturalne": ["Mydło glicerynowe", "Mydło oliwkowe"],
    "Witaminy": ["Witamina D3", "Witamina C", "Magnez z B6"],
    "Zioła i herbaty": ["Herbata zielona", "Mięta pieprzowa", "Rumianek"],
    "Literatura piękna": ["Powieść", "Zbiór opowiadań"], "Poradniki": ["Poradnik ogrodnika",
                                                                       "Książka kucharska"],
    "Gry rodzinne": ["Gra planszowa"], "Łamigłówki": ["Łamigłówka", "Krzyżówki"],
}
_ADJECTIVES = ["bawełniana", "lniana", "wełniana", "klasyczna", "żakardowa", "ręcznie robiona",
               "ekologiczna", "góralska", "mazurska", "śląska", "łowicka", "kaszubska",
               "pastelowa", "zimowa", "letnia", "wiosenna", "jesienna", "świąteczna"]
_NAME_TAILS = ["Zorza", "Mazury", "Tatry", "Wisła", "Bałtyk", "Żubr", "Jaśmin", "Bursztyn",
               "Kraków", "Łódź", "Gdańsk", "Poznań", "Wrocław", "Źródło", "Ćma", "Sosna",
               "Dąb", "Lipa", "Wrzos", "Głóg"]
_BRANDS = ["Łódzka Manufaktura", "Krakowskie Wzory", "Gdańskie Szkło", "Polska Marka",
           "Zakłady Żyrardowskie", "Ceramika Bolesławiec", "Świętokrzyskie Zioła"]
_COLOURS = ["czarny", "biały", "czerwony", "zielony", "niebieski", "żółty", "różowy", "beżowy",
            "granatowy", "szary", "brązowy", "pomarańczowy"]
_SIZES = ["XS", "S", "M", "L", "XL", "XXL"]
_KID_SIZES = ["56", "62", "68", "74", "80", "86", "92"]
_SHOE_SIZES = [str(s) for s in range(36, 47)]
_MATERIALS = ["Bawełna", "Len", "Wełna", "Poliester", "Skóra naturalna", "Ceramika", "Szkło",
              "Wosk sojowy", "Stal nierdzewna", "Drewno bukowe"]

SIZE = "Rozmiar"
COLOUR = "Kolor"
EPOCH = dt.datetime(2024, 1, 2, 8, 0, tzinfo=dt.timezone.utc)


def ean13(body12: str) -> str:
    """Append the GS1 check digit to 12 digits."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body12))
    return body12 + str((10 - total % 10) % 10)


def tiny_png(colour: tuple[int, int, int], size: int = 8) -> bytes:
    """A valid ``size``x``size`` PNG of one colour, so image copies move real image bytes."""
    raw = b"".join(b"\x00" + bytes(colour) * size for _ in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


@dataclass
class Category:
    """A shop category; ``path`` is the list of names from the root down."""

    id: int
    name: str
    parent_id: int | None
    path: list[str]


@dataclass
class Image:
    """An image file of the shop; ``key`` is stable and unique, ``filename`` ends in .png."""

    key: str
    alt: str
    colour: tuple[int, int, int]
    content_type: str = "image/png"

    @property
    def filename(self) -> str:
        """The file name platforms would store it under."""
        return f"{self.key}.png"

    @property
    def content(self) -> bytes:
        """The image bytes (made on demand; the catalog holds no image data)."""
        return tiny_png(self.colour)


@dataclass
class Variant:
    """One sellable variant; ``options`` is ``[(name, value), ...]``, empty for a simple one."""

    id: int
    sku: str
    ean: str | None
    options: list[tuple[str, str]]
    price_gross: Decimal
    stock: Decimal | None
    active: bool
    weight_kg: Decimal | None
    image: Image | None = None


@dataclass
class Product:
    """A product as the shop shows it, with every sellable variant."""

    id: int
    sku: str
    name: str
    slug: str
    description_html: str
    short_description_html: str
    brand: str | None
    category_ids: list[int]
    vat_rate: int
    price_gross: Decimal
    images: list[Image]
    active: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    attributes: dict[str, str]
    variants: list[Variant]
    option_names: list[str] = field(default_factory=list)

    @property
    def is_simple(self) -> bool:
        """True when it has exactly one variant with no options."""
        return len(self.variants) == 1 and not self.variants[0].options


@dataclass
class Catalog:
    """Categories, products and the option dictionary of one generated shop."""

    seed: int
    categories: list[Category]
    products: list[Product]
    options: dict[str, list[str]]
    brands: list[str]

    def category(self, category_id: int) -> Category:
        """A category by id."""
        return self._categories_by_id()[category_id]

    def _categories_by_id(self) -> dict[int, Category]:
        return {c.id: c for c in self.categories}

    def variant_count(self) -> int:
        """How many sellable variants the shop has (= Gateway products after a sync)."""
        return sum(len(p.variants) for p in self.products)

    def images(self) -> Iterator[Image]:
        """Every image file, product images first then variant images."""
        for product in self.products:
            yield from product.images
            for variant in product.variants:
                if variant.image is not None:
                    yield variant.image

    def mutate(self, fraction: float, seed: int = 1, now: dt.datetime | None = None
               ) -> list[int]:
        """Change price and stock of ``fraction`` of the products (benchmarks' 1% re-run).

        Returns the ids of the changed products. Their ``updated_at`` becomes ``now`` when
        given (as a real edit does, so an incremental tap sees it after its bookmark), else
        moves forward a day.
        """
        rng = random.Random(f"mutate:{self.seed}:{seed}")
        count = max(1, round(len(self.products) * fraction))
        changed = rng.sample(self.products, count)
        for product in changed:
            product.updated_at = (now if now is not None
                                  else product.updated_at + dt.timedelta(days=1))
            for variant in product.variants:
                variant.price_gross += Decimal("1.00")
                if variant.stock is not None:
                    variant.stock += 1
        return [p.id for p in changed]

    # -- the contract view -----------------------------------------------------------------
    def category_records(self) -> list[dict[str, Any]]:
        """The ``categories`` stream a correct tap emits for this shop."""
        return [{"id": str(c.id), "name": c.name,
                 "parent_id": None if c.parent_id is None else str(c.parent_id),
                 "path": list(c.path)} for c in self.categories]

    def product_records(self, image_url: str = "https://shop.example/images",
                        platform: str = "sandbox",
                        platform_language: str = "pl", currency: str = "PLN",
                        product_url: str = "https://shop.example/p") -> Iterator[dict[str, Any]]:
        """The ``products`` stream a correct tap emits; images at ``{image_url}/{filename}``."""
        by_id = self._categories_by_id()
        for p in self.products:
            yield {
                "id": str(p.id), "platform": platform, "sku": p.sku, "name": p.name,
                "description_html": p.description_html,
                "short_description_html": p.short_description_html,
                "language": platform_language, "url": f"{product_url}/{p.slug}",
                "brand": p.brand,
                "categories": [{"id": str(c), "name": by_id[c].name, "path": by_id[c].path}
                               for c in p.category_ids],
                "images": [{"url": f"{image_url}/{img.filename}", "position": i,
                            "public": True} for i, img in enumerate(p.images, start=1)],
                "vat_rate": p.vat_rate, "currency": currency, "active": p.active,
                "attributes": dict(p.attributes),
                "created_at": p.created_at.isoformat(), "updated_at": p.updated_at.isoformat(),
                "variants": [self._variant_record(p, v, image_url) for v in p.variants],
            }

    @staticmethod
    def _variant_record(product: Product, v: Variant, image_url: str) -> dict[str, Any]:
        return {
            "id": str(v.id), "sku": v.sku, "ean": v.ean,
            "options": [{"name": n, "value": val} for n, val in v.options],
            "price_net": net_from_gross(v.price_gross, product.vat_rate),
            "price_gross": v.price_gross, "stock": v.stock, "active": v.active,
            "images": ([{"url": f"{image_url}/{v.image.filename}", "position": 1,
                         "public": True}] if v.image else []),
            "weight_kg": v.weight_kg,
        }


def _slug(text: str) -> str:
    table = str.maketrans("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ", "acelnoszzACELNOSZZ")
    return "-".join("".join(ch if ch.isalnum() else " " for ch in text.translate(table)).split())


def _price(rng: random.Random, low: int, high: int) -> Decimal:
    whole = rng.randint(low, high)
    cents = rng.choice(["00", "00", "99", "49", "90"])
    return Decimal(f"{whole}.{cents}")


def _categories() -> list[Category]:
    categories: list[Category] = []
    next_id = 10
    for root, children in CATEGORY_TREE.items():
        root_cat = Category(next_id, root, None, [root])
        categories.append(root_cat)
        next_id += 1
        for child, leaves in children.items():
            child_cat = Category(next_id, child, root_cat.id, [root, child])
            categories.append(child_cat)
            next_id += 1
            for leaf in leaves:
                categories.append(Category(next_id, leaf, child_cat.id, [root, child, leaf]))
                next_id += 1
    return categories


def _description(rng: random.Random, name: str, material: str, leaf: str) -> str:
    extra = rng.choice([
        "Zażółć gęślą jaźń – idealny prezent na każdą okazję.",
        "Produkt wykonany w Polsce,&nbsp;z dbałością o każdy szczegół.",
        "Łączy tradycję z nowoczesnością; świetnie sprawdza się na co dzień.",
        "Źródło inspiracji dla całej rodziny – sprawdź też inne produkty z kategorii.",
    ])
    return (f'<p><strong>{name}</strong> z kategorii „{leaf}”.</p>'
            f'<p style="text-align: justify;">{extra}</p>'
            f"<ul><li>Materiał: {material}</li><li>Pielęgnacja: pranie w 30°C</li></ul>")


def generate_catalog(n_products: int = 60, seed: int = 42) -> Catalog:
    """Generate the shop: same ``(n_products, seed)``, same catalog, byte for byte."""
    rng = random.Random(f"catalog:{seed}")
    categories = _categories()
    leaves = [c for c in categories if c.name in _LEAF_KIND]
    products: list[Product] = []
    variant_id = 1_000_000  # never collides with a product id (simple variants use those)
    used_names: list[str] = []
    for index in range(n_products):
        product_id = index + 1
        leaf = leaves[rng.randrange(len(leaves))]
        kind, vat, (low, high) = _LEAF_KIND[leaf.name]
        material = rng.choice(_MATERIALS)
        if used_names and rng.random() < 0.03:
            name = rng.choice(used_names)  # two products with the same name: it happens
        else:
            name = (f"{rng.choice(_NOUNS[leaf.name])} {rng.choice(_ADJECTIVES)} "
                    f"{rng.choice(_NAME_TAILS)}")
            used_names.append(name)
        sku = f"PRD-{product_id:05d}"
        base_price = _price(rng, low, high)
        created = EPOCH + dt.timedelta(hours=rng.randint(0, 24 * 300), minutes=product_id % 60)
        updated = created + dt.timedelta(hours=rng.randint(0, 24 * 30))
        colour = tuple(rng.randrange(256) for _ in range(3))
        images = [Image(f"p{product_id}-{i}", f"{name} {i}",
                        (colour[0], colour[1], (colour[2] + 37 * i) % 256))
                  for i in range(1, rng.choice([1, 1, 2, 3, 4]) + 1)]
        category_ids = [leaf.id]
        if rng.random() < 0.15:
            other = leaves[rng.randrange(len(leaves))]
            if other.id != leaf.id:
                category_ids.append(other.id)
        variants, option_names = _variants(rng, kind, sku, base_price, variant_id, product_id)
        variant_id += len(variants) + 1
        products.append(Product(
            id=product_id, sku=sku, name=name, slug=f"{_slug(name)}-{product_id}",
            description_html=_description(rng, name, material, leaf.name),
            short_description_html=f"<p>{name} – {material.lower()}.</p>",
            brand=rng.choice([*_BRANDS, None]), category_ids=category_ids, vat_rate=vat,
            price_gross=base_price, images=images, active=rng.random() > 0.05,
            created_at=created, updated_at=updated,
            attributes={"Materiał": material}, variants=variants, option_names=option_names,
        ))
    options = {SIZE: [*_SIZES, *_KID_SIZES, *_SHOE_SIZES], COLOUR: list(_COLOURS)}
    return Catalog(seed, categories, products, options, list(_BRANDS))


def _variants(rng: random.Random, kind: str, sku: str, base_price: Decimal, first_id: int,
              product_id: int) -> tuple[list[Variant], list[str]]:
    """Variants of one product: simple ones get one, others 2-12 over size and/or colour."""
    weight = Decimal(rng.randint(1, 40)) / 10

    def stock() -> Decimal | None:
        roll = rng.random()
        if roll < 0.05:
            return None  # not tracked
        if roll < 0.20:
            return Decimal(0)
        return Decimal(rng.randint(1, 200))

    def ean() -> str | None:
        return None if rng.random() < 0.1 else ean13(f"590{rng.randrange(10**9):09d}")

    if kind == "simple" or rng.random() < 0.1:
        return [Variant(product_id, sku, ean(), [], base_price, stock(), True, weight)], []
    sizes = {"clothes": _SIZES, "kids": _KID_SIZES, "shoes": _SHOE_SIZES}.get(kind)
    combos: list[list[tuple[str, str]]]
    if sizes is None:
        colours = rng.sample(_COLOURS, rng.randint(2, 6))
        combos = [[(COLOUR, c)] for c in colours]
        names = [COLOUR]
    elif rng.random() < 0.5:
        start = rng.randrange(len(sizes) - 1)
        picked = sizes[start:start + rng.randint(2, 6)]
        combos = [[(SIZE, s)] for s in picked]
        names = [SIZE]
    else:
        picked = sizes[: rng.randint(2, 4)]
        colours = rng.sample(_COLOURS, rng.randint(1, 3))
        combos = [[(SIZE, s), (COLOUR, c)] for c in colours for s in picked][:12]
        names = [SIZE, COLOUR]
    variants = []
    for i, options in enumerate(combos):
        size_value = dict(options).get(SIZE)
        price = base_price + (Decimal("10.00") if size_value in ("XL", "XXL", "46") else 0)
        image = None
        if rng.random() < 0.3:
            digest = hashlib.sha1(f"{product_id}:{i}".encode()).digest()  # noqa: S324
            image = Image(f"v{first_id + i}", f"wariant {i + 1}", (digest[0], digest[1],
                                                                    digest[2]))
        variants.append(Variant(
            id=first_id + i,
            sku=f"{sku}-{'-'.join(_slug(v).upper() for _, v in options)}",
            ean=ean(), options=options, price_gross=price, stock=stock(),
            active=rng.random() > 0.05, weight_kg=weight, image=image))
    return variants, names
