"""How Shoper answers go wrong, and the exception (and wording) each one deserves.

Shoper errors are OAuth-style JSON, ``{"error": code, "error_description": text}``. A 404
*with* that JSON is a missing object; a 404 (or any HTML page) *without* it means the URL is
not a Shoper shop at all: a user who typed the wrong ``shop_url`` must be told exactly that.
Messages name the path only: never query strings, headers or bodies that could carry a token.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError

MAX_DESCRIPTION = 300


class NotAShoperShopError(FatalAPIError):
    """The host answered, but not like Shoper's REST API."""


class CredentialsRefusedError(FatalAPIError):
    """Shoper refused the token or the username/password."""


class AccessDeniedError(FatalAPIError):
    """The token works but lacks the area (scope) this resource needs."""


class ThrottledError(RetriableAPIError):
    """429: the shop's leaky bucket is full; wait ``Retry-After`` and try again."""


class TokenRejectedError(RetriableAPIError):
    """401 on a token from ``/auth``: exchange the login again and retry once."""


def shoper_error(response: requests.Response) -> dict[str, Any] | None:
    """The ``{"error", "error_description"}`` body, or None when it is not Shoper's JSON."""
    if "json" not in response.headers.get("Content-Type", "").lower():
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return body
    return None


def sent_secrets(response: requests.Response) -> list[str]:
    """The credentials the request carried: its bearer token, the login's password."""
    request = response.request
    if request is None:
        return []
    found = [request.headers.get("Authorization", "").partition(" ")[2].strip()]
    body = request.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        found += parse_qs(body).get("client_secret", [])
    return [s for s in found if len(s) >= 4]


def describe(response: requests.Response) -> str:
    """``401 unauthorized_client: Provided access token is invalid`` (path-safe, short).

    A shop (or a proxy in front of it) that echoes the token or password back in its error
    must not get it into a log: what the request sent is blanked out before truncating.
    """
    error = shoper_error(response)
    status = f"{response.status_code} {HTTPStatus(response.status_code).phrase}" \
        if response.status_code in HTTPStatus._value2member_map_ else str(response.status_code)
    if error is None:
        return status
    text = f"{error['error']}: {error.get('error_description') or ''}"
    for secret in sent_secrets(response):
        text = text.replace(secret, "***")
    code, _, description = text.partition(": ")
    return f"{status} {code}" + (f": {description[:MAX_DESCRIPTION]}" if description else "")


def path_of(response: requests.Response) -> str:
    """The request path without the query (which may hold filters, never secrets, but long)."""
    return urlsplit(response.url).path or "/"


def is_json(response: requests.Response) -> bool:
    """True when the body claims to be JSON and parses."""
    if "json" not in response.headers.get("Content-Type", "").lower():
        return False
    try:
        response.json()
    except ValueError:
        return False
    return True


def not_a_shop(shop_url: str, response: requests.Response) -> NotAShoperShopError:
    """The error for an answer that cannot come from Shoper's API."""
    kind = response.headers.get("Content-Type", "no content type").split(";")[0]
    return NotAShoperShopError(
        f"{shop_url} does not look like a Shoper shop: {path_of(response)} answered "
        f"{response.status_code} with {kind} instead of Shoper's JSON API. Check shop_url "
        "(e.g. https://yourshop.shoparena.pl or the shop's own domain).")


def classify(response: requests.Response, shop_url: str) -> Exception | None:
    """The exception for a non-successful or non-Shoper answer; None when it is fine.

    401 is left to the caller (it depends on whether a re-exchange is possible).
    """
    status = response.status_code
    where = path_of(response)
    if status < HTTPStatus.BAD_REQUEST:
        if is_json(response):
            return None
        if "json" in response.headers.get("Content-Type", "").lower():
            # the shop answered as its API does, but the body is cut off or garbled
            return FatalAPIError(
                f"Shoper answered {where} with {status} and a body that is not valid JSON "
                f"({len(response.content)} bytes; truncated or malformed). Try again later; if "
                "it persists, the shop's API is broken on this resource.")
        return not_a_shop(shop_url, response)
    if status == HTTPStatus.TOO_MANY_REQUESTS:
        return ThrottledError(f"Shoper throttled {where}: {describe(response)}", response)
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        return RetriableAPIError(f"Shoper failed on {where}: {describe(response)}", response)
    if shoper_error(response) is None:
        return not_a_shop(shop_url, response)
    if status == HTTPStatus.FORBIDDEN:
        return AccessDeniedError(
            f"Shoper denied access to {where} ({describe(response)}). Grant the token's "
            "user or integration read access to this area in the shop's admin panel.")
    return FatalAPIError(f"Shoper answered {where} with {describe(response)}")
