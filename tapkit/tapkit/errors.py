"""How a platform's answers go wrong, and the exception (and wording) each one deserves.

The rules are the same on every platform: a JSON answer is fine; a JSON content type with a
body that does not parse is a broken answer (fatal, the bookmark must not move); HTML, or a
4xx without the platform's own error body, means the URL is not the platform's API at all
(the user typed a wrong shop URL and must be told exactly that); 429 is throttling; 5xx is
worth retrying; 403 is a missing right. Only the platform's error body differs, so a tap
subclasses :class:`ApiErrors` and supplies :meth:`ApiErrors.platform_error` and its wording.

Messages name the status, the path and the platform's short error text only: never a query
string, a header or a body, which could echo a credential back. What remains is masked
through ``commerce_schema.redact`` and against the credentials the request itself carried.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from commerce_schema.redact import redact
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError

#: the platform's error text is cut here: enough to act on, too short to carry a page
MAX_DESCRIPTION = 300
#: form fields of a request body that carry credentials (masked if an answer echoes them)
SECRET_FORM_FIELDS = ("client_secret", "password", "access_token", "refresh_token",
                      "api_key", "key", "token")
#: headers that carry credentials
SECRET_HEADERS = ("Authorization", "X-Api-Key", "X-Auth-Token")


class NotThePlatformError(FatalAPIError):
    """The host answered, but not like the platform's API (a wrong shop URL)."""


class CredentialsRefusedError(FatalAPIError):
    """The platform refused the token, key or login."""


class AccessDeniedError(FatalAPIError):
    """The credentials work but lack the right (scope, area) this resource needs."""


class PagingError(FatalAPIError):
    """Paging that would never end or would lose rows: a page count that keeps growing, a
    next-page token seen before."""


class DeadlineExceededError(FatalAPIError):
    """One request, retries included, took longer than its deadline."""


class ThrottledError(RetriableAPIError):
    """429: the platform's rate limit is full; wait ``Retry-After`` and try again."""


class RetryNowError(RetriableAPIError):
    """Retry at once without a wait (e.g. a token was just renewed after a 401)."""


def status_text(response: requests.Response) -> str:
    """``"503 Service Unavailable"`` (the bare number for a status HTTP does not name)."""
    try:
        return f"{response.status_code} {HTTPStatus(response.status_code).phrase}"
    except ValueError:
        return str(response.status_code)


def json_body(response: requests.Response) -> Any:
    """The parsed body when the answer says it is JSON and it parses; else None."""
    if "json" not in response.headers.get("Content-Type", "").lower():
        return None
    try:
        return response.json()
    except ValueError:
        return None


def is_json(response: requests.Response) -> bool:
    """True when the body claims to be JSON and parses."""
    if "json" not in response.headers.get("Content-Type", "").lower():
        return False
    try:
        response.json()
    except ValueError:
        return False
    return True


def path_of(response: requests.Response) -> str:
    """The request path without the query (which may hold filters or a key)."""
    return urlsplit(response.url or "").path or "/"


def sent_secrets(response: requests.Response) -> list[str]:
    """The credentials the request carried: header values, secret form fields."""
    request = response.request
    if request is None:
        return []
    found = []
    for name in SECRET_HEADERS:
        value = str(request.headers.get(name, "")).strip()
        scheme, _, credential = value.partition(" ")  # "Bearer <token>": mask the token
        found.append(credential.strip() or scheme)
    body = request.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        form = parse_qs(body)
        for name in SECRET_FORM_FIELDS:
            found += form.get(name, [])
    return sorted({s for s in found if len(s) >= 4}, key=len, reverse=True)


class ApiErrors:
    """Classifies one platform's answers; a tap subclasses it with its wording.

    ``base_url`` is what the user configured (it is named in "does not look like" messages).
    """

    #: the platform's name, as users know it
    platform = "the platform"
    #: the setting a wrong URL is fixed in
    url_setting = "shop_url"
    #: appended to "Check shop_url", e.g. " (e.g. https://yourshop.shoparena.pl)"
    url_hint = ""
    #: what to do about a 403
    access_hint = "Grant the credentials read access to this resource."

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    # -- the platform's hook -------------------------------------------------------------
    def platform_error(self, response: requests.Response) -> tuple[str, str | None] | None:
        """``(code, description)`` from the platform's JSON error body; None when the body is
        not the platform's error JSON. Platforms override this; by default no body is."""
        return None

    # -- shared wording ----------------------------------------------------------------------
    json_body = staticmethod(json_body)
    path_of = staticmethod(path_of)

    def describe(self, response: requests.Response) -> str:
        """``401 Unauthorized invalid_token: Token expired``: status and the platform's short
        error text, with anything the request sent and every registered secret masked. A
        platform whose errors have no code (``platform_error`` gives ``""``) reads
        ``401 Unauthorized: The signature is invalid``."""
        error = self.platform_error(response)
        status = status_text(response)
        if error is None:
            return status
        code, description = error
        text = f"{code or ''}: {description or ''}"
        for secret in sent_secrets(response):
            text = text.replace(secret, "***")
        code, _, description = redact(text).partition(": ")
        head = f"{status} {code}" if code else status
        return head + (f": {description[:MAX_DESCRIPTION]}" if description else "")

    def not_the_platform(self, response: requests.Response) -> NotThePlatformError:
        """The error for an answer that cannot come from the platform's API."""
        kind = response.headers.get("Content-Type", "no content type").split(";")[0]
        return NotThePlatformError(
            f"{self.base_url} does not look like a {self.platform} shop: {path_of(response)} "
            f"answered {response.status_code} with {kind} instead of {self.platform}'s JSON "
            f"API. Check {self.url_setting}{self.url_hint}.")

    def classify(self, response: requests.Response) -> Exception | None:
        """The exception for a failed or foreign answer; None when it is fine.

        401 is left to the caller: whether a retry makes sense depends on its credentials.
        """
        status = response.status_code
        where = path_of(response)
        if status < HTTPStatus.BAD_REQUEST:
            if is_json(response):
                return None
            if "json" in response.headers.get("Content-Type", "").lower():
                return FatalAPIError(
                    f"{self.platform} answered {where} with {status} and a body that is not "
                    f"valid JSON ({len(response.content)} bytes; truncated or malformed). Try "
                    "again later; if it persists, the shop's API is broken on this resource.")
            return self.not_the_platform(response)
        if status == HTTPStatus.TOO_MANY_REQUESTS:
            return ThrottledError(f"{self.platform} throttled {where}: {self.describe(response)}",
                                  response)
        if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            return RetriableAPIError(
                f"{self.platform} failed on {where}: {self.describe(response)}", response)
        if self.platform_error(response) is None:
            return self.not_the_platform(response)
        if status == HTTPStatus.FORBIDDEN:
            return AccessDeniedError(
                f"{self.platform} denied access to {where} ({self.describe(response)}). "
                f"{self.access_hint}")
        return FatalAPIError(f"{self.platform} answered {where} with {self.describe(response)}")

    def credentials_refused(self, response: requests.Response, settings: str
                            ) -> CredentialsRefusedError:
        """401: ``settings`` names what to check, e.g. ``"access_token"``."""
        return CredentialsRefusedError(
            f"{self.platform} refused the credentials ({self.describe(response)}): check the "
            f"{settings} configured for {self.base_url}.")
