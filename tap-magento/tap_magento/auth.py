"""The three ways Magento lets an integration in, as ``requests`` auth objects.

singer-sdk applies a stream's ``authenticator`` to the prepared request on every try
(``RESTStream._request`` calls it inside the retry decorator), so each of these re-applies
its credentials from scratch each time:

- :class:`OAuth1Auth`: Magento 2.4.4+ accepts integration keys only as OAuth 1.0a. Every try
  is signed anew by ``requests-oauthlib`` (HMAC-SHA256 over method, the exact encoded URL with
  its query, and the ``oauth_*`` parameters), so a retry carries a fresh nonce and timestamp
  (Magento refuses a reused nonce with 401).
- :class:`BearerAuth`: the integration access token as a bearer (2.4.3 and earlier, or a
  store that switched on "Allow OAuth Access Tokens to be used as standalone Bearer tokens").
- :class:`AdminTokenAuth`: an admin user's login exchanged at
  ``POST /rest/V1/integration/admin/token`` for a token that lives 4 hours; renewed before
  that, and when Magento answers 401 to it (:meth:`AdminTokenAuth.renew`).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import requests
from commerce_schema.redact import redact
from oauthlib.oauth1 import (  # type: ignore[import-untyped]
    SIGNATURE_HMAC_SHA256,
    SIGNATURE_TYPE_AUTH_HEADER,
)
from requests.auth import AuthBase
from requests_oauthlib import OAuth1  # type: ignore[import-untyped]
from tapkit.errors import CredentialsRefusedError, NotThePlatformError

#: renew an admin token this long after it was issued (Magento's default life is 4 hours)
ADMIN_TOKEN_RENEW_AFTER = 3.5 * 3600
#: a 401 on a token younger than this is a refusal, not an expiry
ADMIN_TOKEN_FRESH = 10.0


class MagentoAuth(AuthBase):
    """Base: what a refused request should tell the user to check."""

    #: the settings a 401 points at
    settings = "credentials"
    hint = ""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Strip whatever an earlier try put there, then authenticate this try."""
        request.headers.pop("Authorization", None)
        return self.apply(request)

    def apply(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Add this try's credentials."""
        raise NotImplementedError

    def renew(self, response: requests.Response) -> bool:
        """After a 401: True when new credentials were obtained and the call is worth one more
        try (only an admin token can be renewed)."""
        return False


class OAuth1Auth(MagentoAuth):
    """An integration's four OAuth 1.0a values; every try signed with a new nonce."""

    settings = "consumer_key, consumer_secret, access_token and access_token_secret"
    hint = (" (System > Extensions > Integrations > the integration's Integration Details; "
            "the integration must be active and allowed the Catalog and Stores resources)")

    def __init__(self, consumer_key: str, consumer_secret: str, access_token: str,
                 access_token_secret: str) -> None:
        self._values = (consumer_key, consumer_secret, access_token, access_token_secret)

    def apply(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Sign this exact request (a new ``OAuth1`` each time: new nonce, new timestamp)."""
        key, secret, token, token_secret = self._values
        signer = OAuth1(key, client_secret=secret, resource_owner_key=token,
                        resource_owner_secret=token_secret,
                        signature_method=SIGNATURE_HMAC_SHA256,
                        signature_type=SIGNATURE_TYPE_AUTH_HEADER)
        return signer(request)


class BearerAuth(MagentoAuth):
    """The integration access token sent as a bearer token."""

    settings = "access_token"
    hint = (". Magento 2.4.4 and later refuse integration tokens as bearer tokens unless "
            "Stores > Configuration > Services > OAuth > Consumer Settings > \"Allow OAuth "
            "Access Tokens to be used as standalone Bearer tokens\" is Yes; or use auth_type "
            "oauth1 with the integration's four values")

    def __init__(self, access_token: str) -> None:
        self._token = access_token

    def apply(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """``Authorization: Bearer <token>``."""
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request


class AdminTokenAuth(MagentoAuth):
    """An admin user's 4-hour token, obtained on first use and renewed as needed."""

    settings = "admin_username and admin_password"
    hint = (" (an admin user under System > Permissions > All Users whose role allows the "
            "Catalog and Stores resources; with two-factor authentication on, Magento gives "
            "admin tokens only through the 2FA endpoints: use auth_type oauth1 instead)")

    def __init__(self, store_url: str, username: str, password: str, session: requests.Session,
                 timeout: float = 60.0) -> None:
        self._url = f"{store_url}/rest/V1/integration/admin/token"
        self._login = {"username": username, "password": password}
        self._session = session
        self._timeout = timeout
        self._token: str | None = None
        self._issued = 0.0
        self._lock = threading.RLock()
        self.issued = 0

    def apply(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """``Authorization: Bearer <admin token>``, fetching or renewing it first."""
        with self._lock:
            if self._token is None or time.monotonic() - self._issued > ADMIN_TOKEN_RENEW_AFTER:
                self._fetch()
            token = self._token
        request.headers["Authorization"] = f"Bearer {token}"
        return request

    def renew(self, response: requests.Response) -> bool:
        """A 401 on a token that is not brand new: get a new one (it expired or was
        revoked). A 401 on a fresh token is a refusal: no loop of renewals."""
        with self._lock:
            if self._token is None or time.monotonic() - self._issued < ADMIN_TOKEN_FRESH:
                return False
            self._fetch()
            return True

    def _fetch(self) -> None:
        # the session's own auth is this object (the SDK sets it): the login goes without
        answer = self._session.post(self._url, json=self._login, timeout=self._timeout,
                                    headers={"Accept": "application/json"}, auth=_no_auth)
        body: Any = None
        try:
            body = answer.json()
        except ValueError:
            body = None
        if answer.status_code == 200 and isinstance(body, str) and body.strip():
            self._token = body.strip()
            redact.add(self._token)
            self._issued = time.monotonic()
            self.issued += 1
            return
        message = body.get("message") if isinstance(body, dict) else None
        if message is None and answer.status_code not in (400, 401, 403):
            kind = answer.headers.get("Content-Type", "no content type").split(";")[0]
            raise NotThePlatformError(
                f"{self._url.rsplit('/rest/', 1)[0]} does not look like a Magento store: "
                f"/rest/V1/integration/admin/token answered {answer.status_code} with {kind}. "
                "Check store_url (the store's base address, e.g. https://shop.example.com).")
        text = redact(str(message or answer.reason))
        for secret in self._login.values():
            text = text.replace(secret, "***")
        raise CredentialsRefusedError(
            f"Magento refused the admin login at /rest/V1/integration/admin/token "
            f"({answer.status_code}: {text[:300]}): check the {self.settings}{self.hint}.")


def _no_auth(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """No credentials: the token exchange itself sends only the login."""
    request.headers.pop("Authorization", None)
    return request
