"""The IOF source: find the ``full`` file (directly, or through the Marketplace API), download
it once per run to a private temporary file with a size cap, and read it from there.

The Marketplace-API flow (the platform notes, section 8), as the earlier integration used it:

1. ``GET {shop_url}/marketplace-api/?gate=Products/getProductsFeed/5/json`` with the JSON body
   ``{"authenticate": {"userLogin": login, "authenticateKey": key}}`` where
   ``key = sha1(YYYYMMDD + sha1(password))`` for today's date in Warsaw (the key changes
   daily); the answer's ``results.url`` is the gateway file;
2. the gateway (``provider_description``) file lists the ``full`` and ``categories`` URLs;
3. the ``full`` file comes as an attachment, and only **once per export generation**: a
   second download answers an HTML page. That is a clear error (retry after the shop's next
   export), never an empty successful run.

``iof_url`` may point at a ``full`` file or at a gateway file (then its ``categories`` file
is read too). Files are fetched with a timeout and a size cap; their URLs carry access
tokens, so only their paths are ever named in messages.
"""

from __future__ import annotations

import atexit
import datetime as dt
import hashlib
import json
import logging
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit
from xml.etree.ElementTree import ParseError
from zoneinfo import ZoneInfo

from commerce_schema.redact import redact
from singer_sdk.exceptions import FatalAPIError
from tapkit.download import DownloadError, DownloadSettings, download
from tapkit.errors import CredentialsRefusedError

from tap_iai import iof
from tap_iai.client import fault
from tap_iai.items import Item

if TYPE_CHECKING:
    from tap_iai.tap import TapIAI

logger = logging.getLogger("tap-iai.feed")

WARSAW = ZoneInfo("Europe/Warsaw")
MARKETPLACE_GATE = "Products/getProductsFeed/5/json"
#: the largest ``full`` file read (IdoSell's biggest shops export a few hundred MB)
MAX_FEED_BYTES = 4 * 1024 ** 3
#: gateway, categories and Marketplace-API answers are small
MAX_SMALL_BYTES = 50 * 1024 ** 2
READ_TIMEOUT = 120.0
#: one file, retries included, never takes longer than this
DOWNLOAD_DEADLINE = 3600.0
REFUSED_HINT = "check the URL's token, or the marketplace login"
MISSING_HINT = "check the URL and that the export is on in the panel"


class FeedError(FatalAPIError):
    """The IOF file could not be had; the message says why and what to do."""


class FeedAlreadyTakenError(FeedError):
    """The ``full`` file of this generation was already downloaded (HTML instead of XML)."""


def marketplace_key(password: str, today: dt.date) -> str:
    """``sha1(YYYYMMDD + sha1(password))`` in lowercase hex (the legacy gates' daily key)."""
    inner = hashlib.sha1(password.encode()).hexdigest()  # noqa: S324 - IdoSell's formula
    return hashlib.sha1((today.strftime("%Y%m%d") + inner).encode()).hexdigest()  # noqa: S324


def path_of(url: str) -> str:
    """A URL without its query (the query holds the file's access token)."""
    parts = urlsplit(url)
    kind = parse_qs(parts.query).get("type", [""])[0]
    return parts.path + (f" (type={kind})" if kind else "")


def _register_url_secrets(url: str) -> None:
    """Mask the file's token (and the URL itself) in every log line."""
    redact.add(url, *(v for values in parse_qs(urlsplit(url).query).values() for v in values
                      if len(v) >= 12))


def _looks_like_html(head: bytes, content_type: str) -> bool:
    start = head.lstrip()[:256].lower()
    return "html" in content_type.lower() or start.startswith((b"<!doctype html", b"<html"))


@dataclass
class Files:
    """Where the ``full`` file was saved, and the categories file when there is one."""

    full: Path
    categories: Path | None


class FeedSource:
    """One run's IOF files: found, downloaded (once) and read from local copies."""

    def __init__(self, tap: TapIAI) -> None:
        self.tap = tap
        self._folder: str | None = None

    # -- downloads --------------------------------------------------------------------------
    def _get(self, url: str, name: str, *, cap: int, what: str,
             body: dict[str, Any] | None = None) -> tuple[Path, str]:
        """GET ``url`` into the run's folder as ``name`` through the kit's address-checked,
        capped downloader (5xx and broken connections retried a few times); returns the
        file and its Content-Type."""
        settings = DownloadSettings(
            url=url, timeout=READ_TIMEOUT, deadline=DOWNLOAD_DEADLINE, max_bytes=cap,
            user_agent=self.tap.user_agent,
            allow_loopback=bool(self.tap.config.get("allow_loopback_feed")), what=what,
            size_setting=None, refused_hint=REFUSED_HINT, missing_hint=MISSING_HINT,
            accept_gzip=False, json_body=body, prefix="tap-iai-")
        try:
            got = download(settings, workdir=self._folder_path())
        except DownloadError as exc:
            raise FeedError(f"could not download the {what}: {exc}.") from None
        if got.path is None:  # pragma: no cover - no validator is ever sent
            raise FeedError(f"the {what} answered 304 Not Modified to an unconditional GET")
        path = self._folder_path() / name
        got.path.replace(path)
        return path, got.content_type

    def _folder_path(self) -> Path:
        if self._folder is None:
            self._folder = tempfile.mkdtemp(prefix="tap-iai-")
            atexit.register(shutil.rmtree, self._folder, True)
        return Path(self._folder)

    def work_file(self, name: str) -> Path:
        """A path in the run's private temporary folder (deleted by :meth:`close`)."""
        return self._folder_path() / name

    def close(self) -> None:
        """Delete the downloaded files."""
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def _download(self, url: str, name: str, *, cap: int, what: str) -> tuple[Path, str]:
        """Save one IOF file; refuse an HTML page by name."""
        path, content_type = self._get(url, name, cap=cap, what=what)
        with path.open("rb") as handle:
            head = handle.read(512)
        if _looks_like_html(head, content_type):
            raise FeedAlreadyTakenError(
                f"IdoSell answered the {what} ({path_of(url)}) with a web page instead of the "
                "file: the file of this export generation was already downloaded (IdoSell "
                "hands each generation out once). Retry after the shop's next export; nothing "
                "was synced.")
        return path, head.decode("utf-8", "replace")

    # -- the Marketplace API ------------------------------------------------------------------
    def marketplace_gateway_url(self) -> str:
        """Step 1: the gateway file's URL for today's key."""
        login = str(self.tap.config.get("marketplace_login") or "")
        password = str(self.tap.config.get("marketplace_password") or "")
        key = marketplace_key(password, dt.datetime.now(WARSAW).date())
        redact.add(key)
        url = f"{self.tap.shop_url}/marketplace-api/?gate={MARKETPLACE_GATE}"
        path, _ = self._get(url, "marketplace.json", cap=MAX_SMALL_BYTES,
                            what="Marketplace API",
                            body={"authenticate": {"userLogin": login, "authenticateKey": key}})
        try:
            body = json.loads(path.read_bytes())
        except ValueError:
            raise FeedError(f"{self.tap.shop_url}/marketplace-api/ answered without IdoSell's "
                            "JSON; check shop_url.") from None
        found = fault(body)
        if found is not None and found[0] != 0:
            raise CredentialsRefusedError(redact(
                f"IdoSell refused the Marketplace-API login (faultCode {found[0]}: "
                f"{found[1][:200]}): check marketplace_login and marketplace_password (the "
                "service account under Marketing i integracje > Marketplaces > Pozostałe)."))
        results = body.get("results") if isinstance(body, dict) else None
        gateway = results.get("url") if isinstance(results, dict) else None
        if not isinstance(gateway, str) or not gateway.startswith(("http://", "https://")):
            raise FeedError("the Marketplace API answered without the feed's URL; try again "
                            "later.")
        _register_url_secrets(gateway)
        return gateway

    # -- the files ----------------------------------------------------------------------------
    @cached_property
    def files(self) -> Files:
        """The ``full`` file (and categories file) of this run, downloaded once."""
        url = self.tap.config.get("iof_url")
        if url:
            _register_url_secrets(str(url))
        else:
            url = self.marketplace_gateway_url()
        path, head = self._download(str(url), "first.xml", cap=MAX_FEED_BYTES,
                                    what="IOF file")
        if "<provider_description" not in head:
            return Files(path, None)
        with path.open("rb") as handle:
            try:
                gateway = iof.read_gateway(handle, WARSAW)
            except (ParseError, iof.FeedError) as exc:
                raise FeedError(f"the IOF gateway file is not readable XML ({exc}).") from None
        if gateway.full is None:
            raise FeedError("the IOF gateway file lists no full offer file; turn the full "
                            "export on in the panel.")
        for listed in (gateway.full, gateway.categories):
            if listed:
                _register_url_secrets(listed)
        full, _ = self._download(gateway.full, "full.xml", cap=MAX_FEED_BYTES,
                                 what="IOF full file")
        categories = None
        if gateway.categories:
            categories, _ = self._download(gateway.categories, "categories.xml",
                                           cap=MAX_SMALL_BYTES, what="IOF categories file")
        return Files(full, categories)

    def items(self) -> Iterator[Item]:
        """Every product of the ``full`` file, streamed from the local copy."""
        with self.files.full.open("rb") as handle:
            try:
                for _offer, item in iof.iter_items(handle, WARSAW):
                    yield item
            except ParseError as exc:
                raise FeedError(f"the IOF full file is not well-formed XML ({exc}); it may "
                                "have been cut off. Try again after the next export.") from None
            except iof.FeedError as exc:
                raise FeedError(f"the IOF full file is not usable: {exc}.") from None

    def categories(self, language: str) -> list[dict[str, Any]] | None:
        """The categories file's tree, or None when only a full file was given."""
        if self.files.categories is None:
            return None
        with self.files.categories.open("rb") as handle:
            try:
                return iof.categories_from_file(handle, language)
            except (ParseError, iof.FeedError) as exc:
                raise FeedError(f"the IOF categories file is not usable ({exc}).") from None
