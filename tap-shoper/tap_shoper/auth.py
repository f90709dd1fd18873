"""Shoper authentication: a static integration token, or an admin login exchanged for one.

- ``access_token`` (the admin panel's "Token API" of an integration) is sent as is.
- ``username`` + ``password`` are exchanged at ``POST /webapi/rest/auth`` (form body
  ``client_id``/``client_secret``, as the official PHP library does) for a bearer token with
  ``expires_in``. The token is exchanged again shortly before it expires, and once more when
  Shoper answers 401 to it (a token revoked or expired early); a second 401 in a row means the
  login itself is refused, and the run stops saying so.

One instance per tap, shared by every stream (see ``TapShoper.authenticator``). Tokens and
passwords never appear in logs or error messages.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import backoff
import requests
from requests.auth import AuthBase
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from tapkit.errors import CredentialsRefusedError, ThrottledError
from tapkit.retry import THROTTLE_PATIENCE_SECONDS, throttle_waits

from tap_shoper.errors import ShoperErrors, shoper_error

logger = logging.getLogger("tap-shoper.auth")

#: exchange again this long before ``expires_in`` runs out (capped at a tenth of the life)
EXPIRY_MARGIN_SECONDS = 300
AUTH_TIMEOUT_SECONDS = 60
#: tries of the token exchange on 5xx / network errors (429 waits as long as the shop asks)
AUTH_MAX_TRIES = 5


def _no_auth(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """The token request itself carries no bearer header."""
    return request


class ShoperAuthenticator(AuthBase):
    """Adds ``Authorization: Bearer`` to every request, exchanging the login when needed."""

    def __init__(self, *, shop_url: str, session: requests.Session,
                 access_token: str | None = None, username: str | None = None,
                 password: str | None = None, user_agent: str | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not access_token and not (username and password):
            raise ValueError("either access_token or username and password are needed")
        self.shop_url = shop_url.rstrip("/")
        self.auth_url = f"{self.shop_url}/webapi/rest/auth"
        self.errors = ShoperErrors(self.shop_url)
        self._session = session
        self._static = access_token
        self._username = username
        self._password = password
        self._user_agent = user_agent
        self._clock = clock
        self._token: str | None = access_token
        self._expires_at: float | None = None
        self._renewed_after_401 = False
        self.exchanges = 0
        # The SDK applies the authenticator both when preparing a request and when sending
        # it, so the exchange cannot rely on the stream's retries: it carries its own.
        patient = backoff.on_exception(throttle_waits, ThrottledError, jitter=None,
                                       max_time=THROTTLE_PATIENCE_SECONDS, logger=None)
        retried = backoff.on_exception(
            backoff.expo, (RetriableAPIError, requests.ConnectionError, requests.Timeout),
            max_tries=AUTH_MAX_TRIES, jitter=None, logger=None,
            on_backoff=lambda d: logger.warning("Token exchange failed (%s); retrying in "
                                                "%.0f s", type(d.get("exception")).__name__,
                                                d.get("wait") or 0))
        self._exchange = retried(patient(self._exchange_once))

    def __repr__(self) -> str:
        mode = "access_token" if self._static else "username/password"
        return f"ShoperAuthenticator({self.shop_url}, {mode})"

    @property
    def can_exchange(self) -> bool:
        """True when a new token can be obtained (login given, not a static token)."""
        return self._static is None

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Attach the current token (exchanging first if there is none or it expires)."""
        request.headers["Authorization"] = f"Bearer {self.token()}"
        request.register_hook("response", self._on_response)
        return request

    def token(self) -> str:
        """A token believed valid now."""
        if self._static is not None:
            return self._static
        if (self._token is None or self._expires_at is None
                or self._clock() >= self._expires_at):
            self._exchange()
        assert self._token is not None
        return self._token

    def _on_response(self, response: requests.Response, **_: Any) -> requests.Response:
        if response.status_code != 401:
            self._renewed_after_401 = False
        return response

    def handle_unauthorized(self, response: requests.Response) -> bool:
        """A 401 came back: True if retrying with a fresh token makes sense."""
        if not self.can_exchange:
            return False
        sent = response.request.headers.get("Authorization", "") if response.request else ""
        if self._token is not None and sent != f"Bearer {self._token}":
            return True  # already exchanged since that request left
        if self._renewed_after_401:
            return False  # the token we just got was refused too: the login is the problem
        logger.info("Shoper refused the token (%s); exchanging the login again",
                    self.errors.describe(response))
        self._token = None
        self._renewed_after_401 = True
        return True

    def _exchange_once(self) -> None:
        """``POST /webapi/rest/auth`` with the login; raise a clear error if refused."""
        headers = {"Accept": "application/json"}
        if self._user_agent:
            headers["User-Agent"] = self._user_agent
        response = self._session.post(
            self.auth_url, data={"client_id": self._username, "client_secret": self._password},
            headers=headers, timeout=AUTH_TIMEOUT_SECONDS, auth=_no_auth)
        if response.status_code in (400, 401, 403) and shoper_error(response) is not None:
            raise CredentialsRefusedError(
                f"Shoper refused the username and password at /webapi/rest/auth "
                f"({self.errors.describe(response)}). Check the user's login and that its "
                "group has WebAPI access in the shop's admin panel.")
        problem = self.errors.classify(response)
        if problem is not None:
            raise problem
        try:
            body = response.json()
            token = str(body["access_token"])
            lifetime = float(body.get("expires_in") or 3600)
        except (ValueError, KeyError, TypeError) as exc:
            raise self.errors.not_the_platform(response) from exc
        if not token:
            raise FatalAPIError("Shoper's /webapi/rest/auth answered without an access_token")
        margin = min(EXPIRY_MARGIN_SECONDS, lifetime / 10)
        self._token = token
        self._expires_at = self._clock() + max(0.0, lifetime - margin)
        self.exchanges += 1
        logger.info("Obtained a Shoper API token valid for %d s", int(lifetime))
