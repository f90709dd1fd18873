"""How PrestaShop's webservice answers go wrong, and what the user is told to do about it.

PrestaShop's error body is ``{"errors": [{"code": 26, "message": "..."}]}`` in JSON, and
``<prestashop><errors><error><code>..</code><message>..</message></error></errors></prestashop>``
in XML, which many hosts answer whatever format was asked. XML is parsed with defusedxml only:
a body declaring a DTD or entities (XXE, an entity bomb) is refused unread. A missing key is a
plain-text ``401 Unauthorized``; a body that is none of these is not the webservice at all.

The codes that need their own words: 22 (webservice switched off), 17/18/20/21 (key empty,
malformed, unknown, disabled), 26 (the key may not read this resource: which checkbox to tick),
132 (the key is not allowed on this shop).
"""

from __future__ import annotations

import re
from typing import Any

import requests
from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import ParseError, fromstring
from singer_sdk.exceptions import FatalAPIError
from tapkit.errors import ApiErrors, CredentialsRefusedError, path_of

#: the longest error body read for its code and message (a real one is a few hundred bytes)
MAX_ERROR_BODY = 64 * 1024
#: codes meaning "this key is not a valid, active key"
KEY_REFUSED = {"18", "19", "20", "21"}
#: codes meaning "no key reached PHP" (with the plain-text 401 of a missing key)
KEY_MISSING = {"17", "16"}
WEBSERVICE_OFF = "22"
RESOURCE_FORBIDDEN = "26"
SHOP_FORBIDDEN = "132"

_XML_REFUSED = "an XML error body declaring a DTD or entities (refused unread)"


class WebserviceOffError(FatalAPIError):
    """The shop's webservice is switched off in the back office."""


class ResourceForbiddenError(FatalAPIError):
    """The key works, but may not GET this resource."""


def xml_error(content: bytes) -> tuple[str, str] | None:
    """``(code, message)`` of PrestaShop's XML error body; None when it is not one.

    defusedxml refuses DTDs, entity declarations and external references: such a body is
    reported as such, never expanded or followed.
    """
    try:
        root = fromstring(content[:MAX_ERROR_BODY], forbid_dtd=True, forbid_entities=True,
                          forbid_external=True)
    except (DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden):
        return "xml", _XML_REFUSED
    except (ParseError, ValueError):
        return None
    if root.tag != "prestashop":
        return None
    error = root.find("errors/error")
    if error is None:
        return None
    code = (error.findtext("code") or "").strip()
    message = " ".join((error.findtext("message") or "").split())
    return code or "error", message


def json_error(body: Any) -> tuple[str, str] | None:
    """``(code, message)`` of PrestaShop's JSON error body; None when it is not one."""
    if not isinstance(body, dict) or not isinstance(body.get("errors"), list) or not body["errors"]:
        return None
    first = body["errors"][0]
    if not isinstance(first, dict):
        return None
    return str(first.get("code", "error")), " ".join(str(first.get("message") or "").split())


def is_xml_error(response: requests.Response) -> bool:
    """True when the answer carries an XML body that looks like PrestaShop's (or claims to)."""
    kind = response.headers.get("Content-Type", "").lower()
    return "xml" in kind or response.content[:200].lstrip().startswith(b"<?xml")


class PrestaShopErrors(ApiErrors):
    """PrestaShop's error bodies and wording."""

    platform = "PrestaShop"
    url_hint = (" (the shop's address, with its sub-folder if it has one, e.g. "
                "https://example.com/sklep; not the /api address)")
    access_hint = ("Allow this key on the shop in Advanced Parameters > Webservice (multistore: "
                   "the key's shop association).")

    def platform_error(self, response: requests.Response) -> tuple[str, str | None] | None:
        """The ``errors`` body in JSON or XML; None when the answer has neither."""
        if is_xml_error(response):
            return xml_error(response.content)
        return json_error(self.json_body(response))

    def classify(self, response: requests.Response) -> Exception | None:
        """The kit's classification, plus PrestaShop's codes that deserve their own words."""
        error = self.platform_error(response) if response.status_code >= 400 else None
        code = error[0] if error else None
        where = path_of(response)
        if code == WEBSERVICE_OFF:
            return WebserviceOffError(
                f"PrestaShop's webservice is switched off ({self.describe(response)}): turn on "
                "\"Enable PrestaShop's webservice\" in the back office, Advanced Parameters > "
                "Webservice, then run again.")
        if code == "xml":
            return FatalAPIError(f"PrestaShop answered {where} with {response.status_code} and "
                                 f"{_XML_REFUSED}; the shop or a proxy in front of it is broken "
                                 "or hostile.")
        if code == SHOP_FORBIDDEN:
            return ResourceForbiddenError(
                f"PrestaShop refused {where} ({self.describe(response)}): the key is not "
                f"associated with this shop. {self.access_hint}")
        if response.status_code < 400 and is_xml_error(response) and "json" not in \
                response.headers.get("Content-Type", "").lower():
            return FatalAPIError(f"PrestaShop answered {where} with XML although JSON was asked "
                                 "(output_format=JSON); this webservice is too old or altered.")
        return super().classify(response)

    def resource_forbidden(self, response: requests.Response) -> ResourceForbiddenError:
        """401 code 26: name the resource and the checkbox."""
        resource = _resource_of(response)
        return ResourceForbiddenError(
            f"PrestaShop's webservice key may not read {resource} ({self.describe(response)}). "
            f"In the back office, Advanced Parameters > Webservice, edit the key and tick "
            f"GET (View) for \"{resource}\", then run again.")

    def key_refused(self, response: requests.Response) -> CredentialsRefusedError:
        """401 for the key itself."""
        return CredentialsRefusedError(
            f"PrestaShop refused the webservice key ({self.describe(response)}): check "
            f"api_key for {self.base_url}: it is the 32-character key listed in the back "
            "office, Advanced Parameters > Webservice, and must be enabled there.")

    def no_key_received(self, response: requests.Response) -> CredentialsRefusedError:
        """401 without a key reaching PHP, even as the ``ws_key`` parameter."""
        return CredentialsRefusedError(
            f"PrestaShop received no key ({self.describe(response)}) although it was sent as "
            "the Authorization header and as the ws_key parameter: something in front of the "
            f"shop strips both; check {self.base_url} with the host.")


def _resource_of(response: requests.Response) -> str:
    error = json_error(_safe_json(response)) if not is_xml_error(response) \
        else xml_error(response.content)
    if error:
        match = re.search(r'type "([a-z_]+)"', error[1])
        if match:
            return match.group(1)
    parts = path_of(response).split("/api/", 1)
    return parts[1].split("/")[0] if len(parts) == 2 else path_of(response)


def _safe_json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def error_code(response: requests.Response) -> str | None:
    """The PrestaShop error code of an answer, None when it has no error body."""
    error = PrestaShopErrors("").platform_error(response)
    return error[0] if error else None
