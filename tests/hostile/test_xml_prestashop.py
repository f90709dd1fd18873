"""Hostile XML (issue #7) as PrestaShop error bodies: the tap reads PrestaShop's XML errors
(many hosts answer them in XML whatever format was asked), with defusedxml only.

An error body with an external entity (XXE) is parsed without reading the file or fetching
the URL it names, and an entity bomb ("billion laughs") is refused instead of expanded; both
end the real ``tap-prestashop`` process at once with a clear error naming the resource, never
a hang, a crash or memory blown up. A well-formed XML error is read for its code and message.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sandbox.prestashop import DEMO_API_KEY, PrestaShopEmulator
from sandbox.server import Emulator, Request, Response, route

TAP = str(Path(sys.executable).parent / "tap-prestashop")

XXE_ERROR_BODY = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE prestashop [<!ENTITY xxe SYSTEM "file:///etc/passwd">
                      <!ENTITY remote SYSTEM "{leak}/latest/meta-data/">]>
<prestashop xmlns:xlink="http://www.w3.org/1999/xlink">
  <errors><error><code><![CDATA[20]]></code><message>&xxe;&remote;</message></error></errors>
</prestashop>"""

ENTITY_BOMB_BODY = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<prestashop><errors><error><code>500</code><message>&lol9;</message></error></errors>
</prestashop>"""


class Answering(PrestaShopEmulator):
    """The emulator answering every webservice call with ``status`` and ``body`` (XML)."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(n_products=2)
        self.status, self.body = status, body

    def before_request(self, request: Request) -> Response | None:
        if request.path.startswith("/api/"):
            return Response(self.status, self.body.encode(), content_type="text/xml")
        return super().before_request(request)


class Leak(Emulator):
    """What an external entity would fetch: any hit is a failure."""

    name = "leak"

    @route("GET", r"/.*")
    def anything(self, request: Request) -> Response:
        return Response(200, b"LEAKED-METADATA", content_type="text/plain")


def run(shop: PrestaShopEmulator, folder: Path) -> subprocess.CompletedProcess:
    config = folder / "xml-tap.json"
    config.write_text(json.dumps({"shop_url": shop.url, "api_key": DEMO_API_KEY}))
    return subprocess.run([TAP, "--config", str(config)], capture_output=True, text=True,
                          timeout=120, check=False)


def test_an_xml_error_with_external_entities_reads_no_file_and_fetches_nothing(tmp_path):
    with Leak() as leak, Answering(401, XXE_ERROR_BODY.replace("{leak}", leak.url)) as shop:
        done = run(shop, tmp_path)
        calls = len(shop.requests_to())
        assert leak.requests_to() == []
    assert done.returncode == 1
    assert ("PrestaShop answered /api/configurations with 401 and an XML error body declaring "
            "a DTD or entities (refused unread)") in done.stderr
    assert "root:" not in done.stderr
    assert "LEAKED" not in done.stderr
    assert "Traceback" not in done.stderr
    assert calls == 1  # not retried, not tried again as ws_key


def test_an_xml_entity_bomb_is_refused_not_expanded(tmp_path):
    with Answering(500, ENTITY_BOMB_BODY) as shop:
        done = run(shop, tmp_path)
        calls = len(shop.requests_to())
    assert done.returncode == 1
    assert "/api/configurations with 500 and an XML error body declaring a DTD" in done.stderr
    assert "lollol" not in done.stderr
    assert len(done.stderr) < 20_000  # a billion laughs, expanded, would be 3 GB of "lol"
    assert calls == 1  # a hostile body is not worth retrying


def test_a_plain_xml_error_is_read_for_its_code_and_message(tmp_path):
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n<prestashop xmlns:xlink="http://www.w3.org'
            '/1999/xlink">\n<errors>\n<error>\n<code><![CDATA[26]]></code>\n<message><![CDATA['
            'Resource of type "configurations" is not allowed with this authentication key]]>'
            '</message>\n</error>\n</errors>\n</prestashop>\n')
    with Answering(401, body) as shop:
        done = run(shop, tmp_path)
    assert done.returncode == 1
    assert ("PrestaShop's webservice key may not read configurations (401 Unauthorized 26: "
            'Resource of type "configurations" is not allowed') in done.stderr
