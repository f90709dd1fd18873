"""Downloading a feed: the kit's address-checked, capped downloader (``tapkit.download``) with
the feed's words, and the local file's stand-in for an ETag.

Nothing here logs or raises the feed URL itself: it may carry a token (Comarch feeds do).
Messages name the host only.
"""

from __future__ import annotations

from pathlib import Path

from tapkit.download import DownloadSettings

FEED_ACCEPT = "application/xml, text/xml, application/rss+xml, */*"


def feed_settings(url: str, *, username: str | None, password: str | None, timeout: float,
                  deadline: float, max_bytes: int, user_agent: str,
                  allow_loopback: bool) -> DownloadSettings:
    """How to download a feed, and what its messages say to check."""
    return DownloadSettings(
        url=url, username=username, password=password, timeout=timeout, deadline=deadline,
        max_bytes=max_bytes, user_agent=user_agent, allow_loopback=allow_loopback,
        what="feed", size_setting="max_bytes",
        refused_hint="check username and password, or whether the feed needs them",
        missing_hint="check feed_url in the shop's admin", accept=FEED_ACCEPT,
        prefix="tap-feed-", suffix=".xml")


def local_validator(path: Path) -> str:
    """A local file's stand-in for an ETag: size and modification time."""
    info = path.stat()
    return f"file:{info.st_size}:{info.st_mtime_ns}"
