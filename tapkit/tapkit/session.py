"""One HTTP session per tap run, paced: every stream and the authenticator share it.

A platform's rate limit is per shop, not per stream, so the calls of every stream (and of a
token exchange) go through one pacer; one session also reuses connections. What a pacer
knows (a leaky bucket from headers, a fixed rate) is the platform's, see e.g.
``tap_shoper.ratelimit``.
"""

from __future__ import annotations

from typing import Any, Protocol

import requests


class Pacer(Protocol):
    """Waits before a call when the platform's limit would be exceeded."""

    def wait(self) -> None:
        """Sleep as long as needed before the next call."""

    def observe(self, response: requests.Response) -> None:
        """Learn from an answer (its rate-limit headers), any status."""


class PacedSession(requests.Session):
    """A ``requests.Session`` that paces every call through one :class:`Pacer`."""

    def __init__(self, pacer: Pacer) -> None:
        super().__init__()
        self.pacer = pacer

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """Wait for the pacer, send, show it the answer."""
        self.pacer.wait()
        response = super().send(request, **kwargs)
        self.pacer.observe(response)
        return response
