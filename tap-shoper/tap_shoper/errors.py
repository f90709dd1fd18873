"""How Shoper answers go wrong: its error body and its wording; the rules are the kit's.

Shoper errors are OAuth-style JSON, ``{"error": code, "error_description": text}``. A 404
*with* that JSON is a missing object; a 404 (or any HTML page) *without* it means the URL is
not a Shoper shop at all (``tapkit.errors.ApiErrors.classify`` says so).
"""

from __future__ import annotations

from typing import Any

import requests
from tapkit.errors import (
    AccessDeniedError,
    ApiErrors,
    CredentialsRefusedError,
    NotThePlatformError,
    RetryNowError,
    ThrottledError,
    json_body,
)

__all__ = ["AccessDeniedError", "CredentialsRefusedError", "NotAShoperShopError",
           "ShoperErrors", "ThrottledError", "TokenRejectedError", "shoper_error"]

#: the kit's "does not look like a Shoper shop" error, under the name tap-shoper always used
NotAShoperShopError = NotThePlatformError


class TokenRejectedError(RetryNowError):
    """401 on a token from ``/auth``: exchange the login again and retry at once."""


def shoper_error(response: requests.Response) -> dict[str, Any] | None:
    """The ``{"error", "error_description"}`` body, or None when it is not Shoper's JSON."""
    body = json_body(response)
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return body
    return None


class ShoperErrors(ApiErrors):
    """Shoper's error body and wording."""

    platform = "Shoper"
    url_hint = " (e.g. https://yourshop.shoparena.pl or the shop's own domain)"
    access_hint = ("Grant the token's user or integration read access to this area in the "
                   "shop's admin panel.")

    def platform_error(self, response: requests.Response) -> tuple[str, str | None] | None:
        """``(error, error_description)`` of Shoper's OAuth-style error JSON."""
        body = shoper_error(response)
        if body is None:
            return None
        return body["error"], body.get("error_description") or None
