"""The webservice key: HTTP Basic first, the ``ws_key`` query parameter when the host drops it.

PrestaShop reads the key as the Basic user name (empty password). Hosts running PHP as CGI or
FastCGI (and the official Docker image) do not hand the ``Authorization`` header to PHP; the
shop then answers as if no key was sent: a plain-text ``401 Unauthorized`` (or code 17,
"Authentication key is empty"). The tap then switches, for the rest of the run, to the
``ws_key`` parameter PrestaShop's dispatcher also reads, and retries at once. A key that did
arrive and was refused (codes 18/20/21) is not retried either way.

The key in a URL is a secret in a URL: every message the tap writes names paths only, and the
key is registered with the process-wide redactor (``ContractTap`` does it for ``api_key``).
"""

from __future__ import annotations

import base64
import logging
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from requests.auth import AuthBase

logger = logging.getLogger("tap-prestashop.auth")

HEADER = "header"
QUERY = "query"


class WebserviceKeyAuth(AuthBase):
    """Adds the key to every request, as the header or as ``ws_key``; one per run.

    The SDK calls the authenticator on every send, retries included, with the same prepared
    request: a switch of mode rewrites that request (header removed, parameter added).
    """

    def __init__(self, key: str, *, mode: str = HEADER) -> None:
        self._key = key
        self.mode = mode
        self._basic = "Basic " + base64.b64encode(f"{key}:".encode()).decode("ascii")

    def __repr__(self) -> str:
        return f"WebserviceKeyAuth(mode={self.mode})"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """The key as the mode says, and only that way."""
        parts = urlsplit(request.url or "")
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                 if k != "ws_key"]
        if self.mode == QUERY:
            request.headers.pop("Authorization", None)
            query.append(("ws_key", self._key))
        else:
            request.headers["Authorization"] = self._basic
        request.url = urlunsplit(parts._replace(query=urlencode(query)))
        return request

    def fall_back_to_query(self) -> bool:
        """Switch to ``ws_key`` (True), or False when already using it."""
        if self.mode == QUERY:
            return False
        self.mode = QUERY
        logger.warning("PrestaShop received no key in the Authorization header (the host does "
                       "not pass it to PHP, as CGI/FastCGI hosts do); sending it as the ws_key "
                       "parameter from now on")
        return True
