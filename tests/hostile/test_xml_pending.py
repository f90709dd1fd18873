"""XML cases of issue #7 as PrestaShop error bodies: pending until tap-prestashop exists.
The same attacks against the XML the landed code does read (a bucket's S3 error answer) run
now in ``test_xml.py``. They are written out so that landing the tap means removing the
skip, not designing the cases; they are not counted among the corpus' passing cases.

What they must show: an error body with an external entity (XXE) is parsed without reading
the file or fetching the URL it names, and an entity bomb ("billion laughs") is refused
instead of expanding; both end with a clear error naming the resource, never a hang, a
crash or memory blown up. XML is parsed only with defusedxml (the team's rule).
"""

from __future__ import annotations

import pytest

PENDING = "tap-prestashop not built yet (its own issue, after #7)"

XXE_ERROR_BODY = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE prestashop [<!ENTITY xxe SYSTEM "file:///etc/passwd">
                      <!ENTITY remote SYSTEM "http://169.254.169.254/latest/meta-data/">]>
<prestashop xmlns:xlink="http://www.w3.org/1999/xlink">
  <errors><error><code><![CDATA[401]]></code><message>&xxe;&remote;</message></error></errors>
</prestashop>"""

ENTITY_BOMB_BODY = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<prestashop><errors><error><code>500</code><message>&lol9;</message></error></errors>
</prestashop>"""


@pytest.mark.skip(reason=PENDING)
def test_an_xml_error_with_external_entities_reads_no_file_and_fetches_nothing():
    """A PrestaShop emulator answers 401 with XXE_ERROR_BODY: tap-prestashop exits 1 with
    a clear message naming the resource; the message holds no line of /etc/passwd and no
    request reached 169.254.169.254 (point it at a local server and assert no hit)."""


@pytest.mark.skip(reason=PENDING)
def test_an_xml_entity_bomb_is_refused_not_expanded():
    """A PrestaShop emulator answers 500 with ENTITY_BOMB_BODY: tap-prestashop stops with a
    clear error (defusedxml's EntitiesForbidden), quickly and in bounded memory."""
