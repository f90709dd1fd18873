"""Focused mapping tests on feed fragments shaped like real exports (Shoper's Ceneo exporter,
the PrestaShop Ceneo module, Google RSS with item_group_id, Atom with the options in the
title): XML -> items (``parse``) -> offers -> products (``mapping``)."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from tap_feed import mapping, parse
from tap_feed.mapping import Grouping, ItemError, Settings

CENEO_SHOPER = """<?xml version="1.0" encoding="UTF-8"?>
<offers xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="1">
 <group name="other">
  <o id="123" url="https://sklep.pl/garnek-5-l" price="199.99" avail="1" stock="5"
     weight="0.5" set="0" basket="1">
   <cat><![CDATA[Dom/Kuchnia/Garnki]]></cat><name><![CDATA[Garnek 5 l]]></name>
   <imgs><main url="https://sklep.pl/1.jpg"/><i url="https://sklep.pl/2.jpg"/></imgs>
   <desc><![CDATA[<p>Garnek <b>stalowy</b></p>]]></desc>
   <attrs><a name="Producent"><![CDATA[Zelmer]]></a><a name="Kod_producenta"><![CDATA[AB-1]]></a>
          <a name="EAN"><![CDATA[5901234123457]]></a>
          <a name="Pojemność"><![CDATA[5 l]]></a></attrs>
  </o>
 </group>
 <group name="clothes">
  <o id="7_70" url="https://sklep.pl/koszulka" price="49,00" avail="14" stock="0">
   <cat><![CDATA[Odzież/Koszulki]]></cat><name><![CDATA[Koszulka Tatry M]]></name>
   <imgs><main url="https://sklep.pl/k.jpg"/></imgs>
   <attrs><a name="Rozmiar">M</a><a name="Kolor">czarny</a>
          <a name="ProductSetId">7</a></attrs>
  </o>
  <o id="7_71" url="https://sklep.pl/koszulka" price="59.00" avail="99">
   <cat><![CDATA[Odzież/Koszulki]]></cat><name><![CDATA[Koszulka Tatry XL]]></name>
   <imgs><main url="https://sklep.pl/k.jpg"/><i url="https://sklep.pl/k-xl.jpg"/></imgs>
   <attrs><a name="Rozmiar">XL</a><a name="Kolor">czarny</a>
          <a name="ProductSetId">7</a></attrs>
  </o>
 </group>
</offers>"""

GOOGLE_RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0"><channel><title>Sklep</title>
<item><g:id>K-M-BLK</g:id><title>Koszulka Tatry</title><link>https://sklep.pl/k</link>
 <description>Miękka koszulka.
Bawełna 100%.</description>
 <g:image_link>https://sklep.pl/k.jpg</g:image_link><g:availability>in stock</g:availability>
 <g:price>49.00 PLN</g:price><g:brand>Tatry</g:brand><brand>Tatry</brand>
 <g:gtin>5901234123457</g:gtin><g:mpn>K-M-BLK</g:mpn><g:item_group_id>K1</g:item_group_id>
 <g:size>M</g:size><g:color>czarny</g:color>
 <g:product_type>Odzież &gt; Koszulki</g:product_type><g:shipping_weight>900 g</g:shipping_weight>
 <g:product_detail><g:attribute_name>Materiał</g:attribute_name>
   <g:attribute_value>Bawełna</g:attribute_value></g:product_detail></item>
<item><g:id>K-L-BLK</g:id><g:title>Koszulka Tatry</g:title><link>https://sklep.pl/k</link>
 <g:image_link>https://sklep.pl/k.jpg</g:image_link><g:availability>out_of_stock</g:availability>
 <g:price>49.00 PLN</g:price><g:sale_price>39.90 PLN</g:sale_price><g:brand>Tatry</g:brand>
 <g:item_group_id>K1</g:item_group_id><g:size>L</g:size><g:color>czarny</g:color>
 <g:product_type>Odzież &gt; Koszulki</g:product_type></item>
<item><g:id>MUG-1</g:id><title>Kubek</title><link>/kubek</link>
 <g:availability>preorder</g:availability><g:price>19.99 PLN</g:price></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:g="http://base.google.com/ns/1.0">
<title>Sklep</title>
<entry><id>https://sklep.pl/item/1</id><g:id>98534234-1</g:id>
 <title>Plakat (A4 20x30cm, Preto)</title><link href="https://sklep.pl/plakat"/>
 <summary>Plakat</summary><g:price>10.00 PLN</g:price><g:availability>in_stock</g:availability>
 <g:item_group_id>98534234</g:item_group_id><g:size>A4 20x30cm</g:size><g:color>Preto</g:color>
</entry>
<entry><id>https://sklep.pl/item/2</id><g:id>98534234-2</g:id>
 <title>Plakat (A3 30x40cm, Preto)</title><link href="https://sklep.pl/plakat"/>
 <g:price>15.00 PLN</g:price><g:availability>in_stock</g:availability>
 <g:item_group_id>98534234</g:item_group_id><g:size>A3 30x40cm</g:size><g:color>Preto</g:color>
</entry>
</feed>"""


def offers(xml: str, settings: Settings | None = None) -> list[mapping.Offer]:
    result = []
    for item in parse.iter_items(io.BytesIO(xml.encode())):
        chosen = settings or Settings(grouping=Grouping.parse("auto", item.format))
        build = mapping.ceneo_offer if item.format == "ceneo" else mapping.google_offer
        result.append(build(item.raw, chosen))
    return result


def products(found: list[mapping.Offer], settings: Settings) -> dict[str, dict]:
    groups: dict[str, list[mapping.Offer]] = {}
    for offer in found:
        groups.setdefault(offer.product_id, []).append(offer)
    return {pid: mapping.product_record(group, settings,
                                        mapping.choose_vat(pid, group, settings))
            for pid, group in groups.items()}


# -- Ceneo ---------------------------------------------------------------------------------------
def test_ceneo_without_grouping_every_offer_is_a_simple_product():
    settings = Settings()
    found = products(offers(CENEO_SHOPER, settings), settings)
    assert set(found) == {"123", "7_70", "7_71"}
    pot = found["123"]
    assert pot["name"] == "Garnek 5 l"
    assert pot["brand"] == "Zelmer"
    assert pot["sku"] == "AB-1"
    assert pot["attributes"] == {"Pojemność": "5 l"}
    assert pot["categories"] == [{"id": "Dom > Kuchnia > Garnki", "name": "Garnki",
                                  "path": ["Dom", "Kuchnia", "Garnki"]}]
    assert [i["url"] for i in pot["images"]] == ["https://sklep.pl/1.jpg",
                                                 "https://sklep.pl/2.jpg"]
    assert pot["description_html"] == "<p>Garnek <b>stalowy</b></p>"
    [variant] = pot["variants"]
    assert variant == {"id": "123", "sku": "AB-1", "ean": "5901234123457", "options": [],
                       "price_net": Decimal("162.59"), "price_gross": Decimal("199.99"),
                       "stock": Decimal(5), "active": True, "images": [],
                       "weight_kg": Decimal("0.5")}
    # not grouped: the size stays a feature, the name keeps its suffix
    assert found["7_70"]["name"] == "Koszulka Tatry M"
    assert found["7_70"]["variants"][0]["options"] == []


@pytest.mark.parametrize("grouping", [r"id_prefix:^(?P<product>\d+)_", "attribute:ProductSetId"])
def test_ceneo_opt_in_grouping_makes_one_product_with_options(grouping):
    settings = Settings(grouping=Grouping.parse(grouping, "ceneo"))
    found = products(offers(CENEO_SHOPER, settings), settings)
    assert set(found) == {"123", "7"}
    shirt = found["7"]
    assert shirt["name"] == "Koszulka Tatry"  # option values stripped from the titles
    assert shirt["sku"] is None
    assert [v["id"] for v in shirt["variants"]] == ["7_70", "7_71"]
    assert [v["options"] for v in shirt["variants"]] == [
        [{"name": "Rozmiar", "value": "M"}, {"name": "Kolor", "value": "czarny"}],
        [{"name": "Rozmiar", "value": "XL"}, {"name": "Kolor", "value": "czarny"}]]
    assert [v["price_gross"] for v in shirt["variants"]] == [Decimal("49.00"), Decimal("59.00")]
    # avail 14 is for sale, 99 is not; a missing stock is null, never invented
    assert [(v["stock"], v["active"]) for v in shirt["variants"]] == [(0, True), (None, False)]
    assert shirt["active"] is True
    # the image every variant shows is the product's; the rest is the variant's own
    assert [i["url"] for i in shirt["images"]] == ["https://sklep.pl/k.jpg"]
    assert [i["url"] for i in shirt["variants"][1]["images"]] == ["https://sklep.pl/k-xl.jpg"]
    assert shirt["attributes"] == {}


def test_an_id_pattern_with_a_variant_group_names_the_variant():
    settings = Settings(grouping=Grouping.parse(r"id_prefix:^(?P<product>\d+)_(?P<variant>\d+)$",
                                                "ceneo"))
    found = products(offers(CENEO_SHOPER, settings), settings)
    assert [v["id"] for v in found["7"]["variants"]] == ["70", "71"]


def test_ceneo_stock_as_a_flag_is_not_a_quantity():
    settings = Settings(stock_is_flag=True)
    found = {o.id: o for o in offers(CENEO_SHOPER.replace('stock="5"', 'stock="1"'), settings)}
    assert found["123"].stock is None
    assert found["123"].active is True
    assert found["7_70"].stock == 0


# -- Google --------------------------------------------------------------------------------------
def test_google_variants_are_grouped_by_item_group_id_with_size_and_colour():
    settings = Settings(grouping=Grouping.parse("auto", "google"), shop_url="https://sklep.pl")
    found = products(offers(GOOGLE_RSS, settings), settings)
    assert set(found) == {"K1", "MUG-1"}
    shirt = found["K1"]
    assert shirt["name"] == "Koszulka Tatry"
    assert shirt["brand"] == "Tatry"
    assert shirt["currency"] == "PLN"
    assert shirt["attributes"] == {"Materiał": "Bawełna"}
    assert shirt["categories"][0]["path"] == ["Odzież", "Koszulki"]
    assert shirt["description_html"] == "<p>Miękka koszulka.<br>Bawełna 100%.</p>"
    first, second = shirt["variants"]
    assert first["options"] == [{"name": "Rozmiar", "value": "M"},
                                {"name": "Kolor", "value": "czarny"}]
    assert (first["id"], first["sku"], first["ean"]) == ("K-M-BLK", "K-M-BLK", "5901234123457")
    assert first["weight_kg"] == Decimal("0.9")
    # Google has availability only: stock is null, availability decides `active`
    assert (first["stock"], first["active"]) == (None, True)  # "in stock", the old spelling
    assert (second["stock"], second["active"]) == (None, False)
    # a sale price is what the customer pays
    assert second["price_gross"] == Decimal("39.90")
    assert second["price_net"] == Decimal("32.44")


def test_a_relative_link_needs_the_shop_url():
    with pytest.raises(ItemError, match="set shop_url"):
        offers(GOOGLE_RSS)
    settings = Settings(grouping=Grouping.parse("auto", "google"), shop_url="https://sklep.pl")
    mug = {o.id: o for o in offers(GOOGLE_RSS, settings)}["MUG-1"]
    assert mug.url == "https://sklep.pl/kubek"
    assert mug.active is False  # preorder is not for sale unless the map says so
    mapped = Settings(grouping=Grouping.parse("auto", "google"), shop_url="https://sklep.pl",
                      availability={**mapping.DEFAULT_AVAILABILITY, "preorder": True})
    assert {o.id: o for o in offers(GOOGLE_RSS, mapped)}["MUG-1"].active is True


def test_atom_entries_use_g_id_not_the_atom_id_and_titles_lose_their_option_suffix():
    settings = Settings(grouping=Grouping.parse("auto", "google"))
    found = products(offers(ATOM, settings), settings)
    poster = found["98534234"]
    assert poster["name"] == "Plakat"
    assert [v["id"] for v in poster["variants"]] == ["98534234-1", "98534234-2"]
    assert poster["url"] == "https://sklep.pl/plakat"
    assert [v["price_gross"] for v in poster["variants"]] == [Decimal("10.00"),
                                                              Decimal("15.00")]


# -- VAT -----------------------------------------------------------------------------------------
RULES = [{"category": "Książki", "rate": 5}, {"brand": "Vitamin Co", "rate": 8},
         {"id": r"ZW-\d+", "rate": 0}, {"category": "Książki > Poradniki", "rate": 23}]


def vat_of(product_id: str, brand: str | None, category: str | None) -> mapping.VatChoice:
    settings = Settings(default_vat_rate=23,
                        vat_rules=[mapping.parse_vat_rule(r) for r in RULES])
    offer = mapping.Offer(id=product_id, group=None, variant_id=product_id, name="x",
                          price_gross=Decimal("10.00"), currency="PLN", brand=brand,
                          categories=[mapping.split_path(category, None)] if category else [])
    return mapping.choose_vat(product_id, [offer], settings)


@pytest.mark.parametrize(("pid", "brand", "category", "rate", "source"), [
    ("1", None, "Dom/Kuchnia", 23, "default"),
    ("2", None, "Książki > Poradniki > Kuchnia", 5, "rule"),  # the first match wins
    ("3", "vitamin co", "Zdrowie", 8, "rule"),  # brands compare without case
    ("ZW-17", None, None, 0, "rule"),
    ("XZW-17", None, None, 23, "default"),  # the id pattern must match in full
    ("4", None, "Książkowe prezenty", 23, "default"),  # a prefix of levels, not of letters
])
def test_vat_rules_by_category_brand_and_id(pid, brand, category, rate, source):
    assert vat_of(pid, brand, category) == mapping.VatChoice(rate, source)


def test_a_vat_field_in_the_feed_wins_and_net_follows_it():
    xml = CENEO_SHOPER.replace('price="199.99"', 'price="199.99" vat="8"')
    settings = Settings(vat_field="vat", vat_rules=[mapping.parse_vat_rule(RULES[0])])
    found = products(offers(xml, settings), settings)
    assert found["123"]["vat_rate"] == 8
    assert found["123"]["variants"][0]["price_net"] == Decimal("185.18")


@pytest.mark.parametrize("rule", [{"rate": 5}, {"category": "A", "brand": "B", "rate": 5},
                                  {"category": "A", "rate": 7}, {"id": "(", "rate": 5}])
def test_unusable_vat_rules_are_refused_in_words(rule):
    with pytest.raises(ValueError, match="vat_rules entry"):
        mapping.parse_vat_rule(rule)


# -- per-item problems -----------------------------------------------------------------------------
@pytest.mark.parametrize(("change", "message"), [
    (('id="123" ', ""), "item has no id"),
    (("<name><![CDATA[Garnek 5 l]]></name>", ""), "item has no name"),
    (('price="199.99"', 'price="0.00"'), "'0.00' is not above zero"),
    (('price="199.99"', 'price="-5"'), "is not above zero"),
    (('price="199.99"', 'price="abc"'), "'abc' is not a price"),
    (('url="https://sklep.pl/garnek-5-l"', 'url="javascript:alert(1)"'), r"not an http\(s\) URL"),
    (("5901234123457", "5901234123458"), "wrong check digit"),
])
def test_a_bad_item_is_refused_with_its_reason(change, message):
    xml = CENEO_SHOPER.replace(*change)
    with pytest.raises(ItemError, match=message):
        offers(xml.split('<group name="clothes">')[0] + "</offers>")


def test_prices_keep_every_grosz():
    assert mapping.price("1 259,99 zł") == (Decimal("1259.99"), "PLN")
    assert mapping.price("15.00 PLN") == (Decimal("15.00"), "PLN")
    assert mapping.price("0.1") == (Decimal("0.10"), None)
    assert mapping.price("19.995") == (Decimal("20.00"), None)


def test_gtin_check_digits():
    assert mapping.valid_gtin("5901234123457")
    assert mapping.valid_gtin("96385074")
    assert not mapping.valid_gtin("5901234123458")
    assert not mapping.valid_gtin("12345")


def test_categories_become_every_level_once_with_parents():
    assert mapping.category_records(["Dom", "Kuchnia", "Garnki"]) == [
        {"id": "Dom", "name": "Dom", "parent_id": None, "path": ["Dom"]},
        {"id": "Dom > Kuchnia", "name": "Kuchnia", "parent_id": "Dom",
         "path": ["Dom", "Kuchnia"]},
        {"id": "Dom > Kuchnia > Garnki", "name": "Garnki", "parent_id": "Dom > Kuchnia",
         "path": ["Dom", "Kuchnia", "Garnki"]}]
