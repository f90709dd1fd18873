"""Hostile XML (issue #7): the one place the landed code reads XML is an S3 bucket's error
answer to a failed image upload. A bucket (or anything posing as one) that answers with an
external-entity (XXE) or entity-expansion body must get a clear, short error back: no file
read, no URL fetched, no entity expanded, the rest of the run unaffected.

The same bodies as PrestaShop error answers are in ``test_xml_prestashop.py``.
"""

from __future__ import annotations

import pytest
from sandbox.catalog import tiny_png
from sandbox.server import Emulator, Response, route
from target_gateway.gateway import GatewayClient, GatewayError

SHOP = "0d9a3c52-7c1e-4e9b-a0f4-3b5c6d7e8f90"


class HostileBucket(Emulator):
    """A Gateway whose presigned uploads land in a bucket that answers ``body`` with 400."""

    name = "hostile-bucket"

    def __init__(self, body: str) -> None:
        super().__init__()
        self.body = body

    @route("POST", r"/uploads/")
    def presign(self, request):
        return Response.json({"url": f"{self.url}/bucket/", "fields": {"key": f"{SHOP}/a.png"}})

    @route("POST", r"/bucket/")
    def bucket(self, request):
        return Response(400, self.body.replace("{url}", self.url).encode(),
                        content_type="application/xml")

    @route("GET", r"/leak.*")
    def leak(self, request):
        return Response(200, b"LEAKED-CONTENT", content_type="text/plain")


def upload_error(body: str) -> tuple[str, HostileBucket]:
    with HostileBucket(body) as bucket:
        client = GatewayClient(bucket.url, SHOP, b"k" * 32, max_retries=0)
        with pytest.raises(GatewayError) as caught:
            client.upload_image("a.png", "image/png", tiny_png((1, 2, 3)))
        return str(caught.value), bucket


def test_an_s3_error_is_reported_as_code_and_message():
    message, _ = upload_error(
        '<?xml version="1.0" encoding="UTF-8"?><Error><Code>EntityTooLarge</Code>'
        "<Message>Your proposed upload exceeds the maximum allowed size</Message>"
        "<RequestId>4442587FB7D0A2F9</RequestId></Error>")
    assert message == ("POST /bucket/ answered 400: EntityTooLarge: Your proposed upload "
                       "exceeds the maximum allowed size")


def test_external_entities_are_not_resolved():
    message, bucket = upload_error(
        '<?xml version="1.0"?><!DOCTYPE Error [<!ENTITY xxe SYSTEM "file:///etc/passwd">'
        '<!ENTITY remote SYSTEM "{url}/leak">]>'
        "<Error><Code>AccessDenied</Code><Message>&xxe;&remote;</Message></Error>")
    assert message.endswith("an XML error body declaring a DTD or entities (refused unread)")
    assert "root:" not in message
    assert "LEAKED" not in message
    assert bucket.requests_to("GET", r"/leak") == []


def test_an_entity_bomb_is_refused_not_expanded():
    lol = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    message, _ = upload_error(
        f'<?xml version="1.0"?><!DOCTYPE Error [<!ENTITY l0 "lol">{lol}]>'
        "<Error><Code>x</Code><Message>&l9;</Message></Error>")
    assert message.endswith("(refused unread)")
    assert len(message) < 300  # a billion laughs, expanded, would be 3 GB of "lol"


def test_malformed_xml_is_named_as_such():
    message, _ = upload_error("<?xml version='1.0'?><Error><Code>Oops</Code>")
    assert message.endswith("a malformed XML error body")
