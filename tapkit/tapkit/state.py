"""The Singer state a tap starts from: whose it is, and whether it can be trusted.

A state file is only meaningful for the shop it was written for. Handed another shop's state
(a copied folder, a renamed Meltano plugin, a second vendor on the same state id), a tap
would skip everything edited before the other shop's bookmark and end "OK" with 0 products.
So every kit tap writes the identity of its source into the state it emits,
``"source": {"tap": "tap-shoper", "id": "sha256:..."}`` (a hash of the normalised shop URL,
never the URL itself: a feed URL may carry a key), and refuses at start a state whose
identity differs (:class:`StateProblemError`, exit 2, nothing run). A state without an
identity (written before the kit did this) is accepted and gets one from now on.

A state that is valid JSON but cannot be trusted (bookmarks that are not objects, a bookmark
that is not a time, one in the future) is not a reason to stop a scheduled run forever, nor
to skip silently: the untrusted part is dropped with ONE WARNING line saying so, and that
stream syncs fully (the target skips what is unchanged, so a full sync costs requests, not
writes).
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from commerce_schema.contract import STREAM_KEYS
from singer_sdk.exceptions import ConfigurationError

#: the state's key holding the source identity
SOURCE_KEY = "source"
#: a bookmark may lie this far ahead of this machine's clock (another machine's clock, a shop
#: clock running ahead); further is a bookmark that would hide every edit until then
BOOKMARK_SLACK = dt.timedelta(hours=1)
_DEFAULT_PORTS = {"http": 80, "https": 443}


class StateProblemError(ConfigurationError):
    """The state belongs to another source (or another tap): nothing is run."""


def normalise_url(value: str) -> str:
    """A URL as an identity: NFKC, host lower-cased, scheme, user info, default port,
    fragment and trailing slashes left out (``HTTPS://Sklep.PL:443/`` is ``sklep.pl``); the
    path and query stay (they may name the feed)."""
    text = unicodedata.normalize("NFKC", value).strip()
    parts = urlsplit(text if "://" in text else f"//{text}")
    host = (parts.hostname or "").rstrip(".")
    try:
        port = parts.port
    except ValueError:
        port = None
    shown = host if port in (None, _DEFAULT_PORTS.get(parts.scheme.lower())) else f"{host}:{port}"
    path = parts.path.rstrip("/")
    return shown + path + (f"?{parts.query}" if parts.query else "")


def source_identity(parts: Iterable[str]) -> str | None:
    """``sha256:<16 hex>`` of the identifying values, or None when there are none."""
    values = [p for p in parts if p]
    if not values:
        return None
    digest = hashlib.sha256("\n".join(values).encode("utf-8", "surrogatepass")).hexdigest()
    return f"sha256:{digest[:16]}"


def _moment(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def check_state(state: Mapping[str, Any], *, tap: str, identity: str | None, where: str,
                now: dt.datetime | None = None) -> tuple[dict[str, Any], list[str]]:
    """The part of ``state`` that can be trusted, and one warning per part dropped.

    Raises :class:`StateProblemError` when the state names another tap or another source
    (``where`` is what the user configured, e.g. the shop URL, for the message).
    """
    source = state.get(SOURCE_KEY)
    if isinstance(source, Mapping):
        if source.get("tap") not in (None, tap):
            raise StateProblemError(
                f"The state was written by {source.get('tap')}, not {tap}: its bookmarks "
                "mean nothing here; nothing was run. Give this tap its own state, or none "
                "for a full sync.")
        if identity and source.get("id") not in (None, identity):
            raise StateProblemError(
                f"The state was written for another shop than {where} (its source id is "
                f"{source.get('id')}, this shop's is {identity}); with it, products edited "
                "before the other shop's bookmark would be skipped. Nothing was run. Give "
                "this shop its own state file, or none for a full sync.")
    warnings: list[str] = []
    bookmarks = state.get("bookmarks", {})
    if not isinstance(bookmarks, Mapping):
        return {}, [f"The state's bookmarks are a JSON {type(bookmarks).__name__}, not an "
                    "object; ignored: every stream syncs in full."]
    now = now or dt.datetime.now(dt.timezone.utc)
    kept: dict[str, Any] = {}
    for name, entry in bookmarks.items():
        problem = _bookmark_problem(str(name), entry, now)
        if problem:
            warnings.append(f"The state's bookmark of {name} {problem}; ignored: {name} "
                            "syncs in full.")
        else:
            kept[str(name)] = copy.deepcopy(entry)
    return {"bookmarks": kept}, warnings


def _bookmark_problem(name: str, entry: Any, now: dt.datetime) -> str | None:
    """What makes one stream's bookmark untrustworthy, or None."""
    if not isinstance(entry, Mapping):
        return f"is a JSON {type(entry).__name__}, not an object"
    for key in ("progress_markers", "signpost"):
        if key in entry and entry[key] is not None and not isinstance(entry[key], (Mapping, str)):
            return f"has a broken {key}"
    partitions = entry.get("partitions")
    if partitions is not None and not (isinstance(partitions, list)
                                       and all(isinstance(p, Mapping) for p in partitions)):
        return "has partitions that are not a list of objects"
    _keys, replication_key = STREAM_KEYS.get(name, ([], None))
    if replication_key is None:
        return None
    given_key = entry.get("replication_key")
    if given_key not in (None, replication_key):
        return f"is on {given_key!r}, not on {replication_key}"
    for scope in (entry, *(partitions or [])):
        value = scope.get("replication_key_value")
        if value is None:
            continue
        moment = _moment(value)
        if moment is None:
            return f"{value!r} is not a date and time"
        if moment > now + BOOKMARK_SLACK:
            return f"{value} is in the future (this machine's clock says {now:%Y-%m-%dT%H:%M}Z)"
    return None
