"""What the state directory holds, whom it belongs to, and which of its files a person owns.

The Singer state in ``state.json`` is a bookmark into ONE source shop, written while syncing
into ONE Gateway shop. Handed to another shop's tap, its bookmarks would skip everything
("OK, 0 products"); kept for another Gateway shop, the new shop would never get the products
read before. So beside it, ``gateway-sync.json`` records whom the state belongs to:

```json
{"state_owner": {"gateway_shop_guid": "...", "tap": "tap-shoper",
                 "source": {"shop_url": "https://sklep.example.pl"}},
 "written": {"category-mapping.template.csv": "<sha256 of what the runner wrote>"}}
```

``source`` holds the tap's source settings (the tap may name them in its ``x-gateway-sync``
hint as ``"source": [...]``; else its required URL-like settings, else the given URL, host
and database settings), URLs normalised. A source setting the tap marks secret (a feed URL
carrying a token) is kept only as a SHA-256 fingerprint, never in clear.

``written`` keeps the hash of each file the runner wrote for a person to edit (the category
mapping template): a file whose content no longer has that hash was edited and is never
replaced.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

META_FILE = "gateway-sync.json"
STATE_FILE = "state.json"
FUTURE_TOLERANCE = dt.timedelta(days=1)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_SOURCE_NAMES = ("host", "instance", "database")


class StateDirError(Exception):
    """The state directory cannot be used as it is; the message says what to do."""


def save_text_atomically(path: Path, text: str) -> None:
    """Replace ``path`` in one step, so a crash never leaves half a file."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with partial.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


# -- the shape of state.json ----------------------------------------------------------------
def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false",
            type(None): "null"}.get(type(value), "a number")


def state_problem(state: Any, now: dt.datetime | None = None) -> str | None:
    """Why ``state`` is not a Singer state this runner may hand to a tap, or None.

    A Singer state is an object whose ``bookmarks`` (if any) map stream names to objects; a
    ``replication_key_value`` that is a time more than a day ahead of now would make the tap
    skip every change until then, silently.
    """
    if not isinstance(state, dict):
        return f"it holds {_kind(state)}, not a Singer state object ({{\"bookmarks\": {{...}}}})"
    bookmarks = state.get("bookmarks", {})
    if not isinstance(bookmarks, dict):
        return f"its \"bookmarks\" is {_kind(bookmarks)}, not an object of streams"
    limit = (now or dt.datetime.now(dt.timezone.utc)) + FUTURE_TOLERANCE
    for stream, bookmark in bookmarks.items():
        if not isinstance(bookmark, dict):
            return f"the bookmark of stream {stream!r} is {_kind(bookmark)}, not an object"
        partitions = bookmark.get("partitions", [])
        for entry in [bookmark, *(p for p in partitions if isinstance(p, dict))] \
                if isinstance(partitions, list) else [bookmark]:
            when = _as_time(entry.get("replication_key_value"))
            if when is not None and when > limit:
                return (f"the bookmark of stream {stream!r} is in the future "
                        f"({when.isoformat()}): the tap would skip every change until then")
    return None


def _as_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or len(value) < 10 or not value[:4].isdigit():
        return None
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def check_state_file(path: Path) -> None:
    """Refuse a ``state.json`` that is not JSON or not a Singer state, in one line."""
    if not path.exists():
        return
    problem: str | None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        problem = "it is not valid JSON"
    else:
        problem = state_problem(state)
    if problem:
        raise StateDirError(f"{path} cannot be used: {problem}. Fix or delete it, or run with "
                            "--reset-state (the next run then reads everything again).")


# -- whom the state belongs to --------------------------------------------------------------
def normalise_url(value: str) -> str:
    """``HTTPS://Sklep.Example.pl:443/`` -> ``https://sklep.example.pl``: one shop, one text."""
    text = value.strip()
    parts = urlsplit(text)
    if not parts.scheme or not parts.hostname:
        return text
    scheme = parts.scheme.lower()
    host = parts.hostname.lower().rstrip(".")
    if ":" in host:
        host = f"[{host}]"
    with contextlib.suppress(ValueError):
        if parts.port and parts.port != _DEFAULT_PORTS.get(scheme):
            host += f":{parts.port}"
    return urlunsplit((scheme, host, parts.path.rstrip("/"), parts.query, ""))


def source_settings(schema: Mapping[str, Any]) -> list[str]:
    """The tap settings that say which shop it reads."""
    props = schema.get("properties") or {}
    hint = schema.get("x-gateway-sync")
    if isinstance(hint, dict) and isinstance(hint.get("source"), list):
        return [str(n) for n in hint["source"] if n in props]
    url_like = [n for n in props if n == "url" or n.endswith("_url")]
    required = [n for n in url_like if n in (schema.get("required") or [])]
    return required or [*url_like, *(n for n in _SOURCE_NAMES if n in props)]


def source_identity(schema: Mapping[str, Any], values: Mapping[str, Any],
                    secret: Sequence[str]) -> dict[str, str]:
    """The given source settings, normalised; secret ones as a fingerprint only."""
    identity = {}
    for name in source_settings(schema):
        value = values.get(name)
        if value in (None, ""):
            continue
        text = normalise_url(str(value))
        if name in ("host", "instance", "database"):
            text = text.lower()
        if name in secret:
            text = "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
        identity[name] = text
    return identity


class StateDir:
    """The state directory's bookkeeping file (:data:`META_FILE`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.meta_path = path / META_FILE
        self.meta = self._read_meta()

    def _read_meta(self) -> dict[str, Any]:
        try:
            meta = json.loads(self.meta_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            raise StateDirError(f"{self.meta_path} is not valid JSON: fix or delete it (it "
                                "records which shops state.json belongs to)") from None
        if not isinstance(meta, dict):
            raise StateDirError(f"{self.meta_path} must hold a JSON object: fix or delete it")
        return meta

    def _save_meta(self) -> None:
        save_text_atomically(self.meta_path,
                             json.dumps(self.meta, ensure_ascii=False, indent=2) + "\n")

    @property
    def state_file(self) -> Path:
        """``state.json``."""
        return self.path / STATE_FILE

    def check_owner(self, owner: Mapping[str, Any]) -> None:
        """Refuse a state written for another Gateway shop or another source shop."""
        recorded = self.meta.get("state_owner")
        if not self.state_file.exists() or not isinstance(recorded, dict):
            return
        differences = []
        if recorded.get("gateway_shop_guid") != owner["gateway_shop_guid"]:
            differences.append(f"Gateway shop guid {recorded.get('gateway_shop_guid')} "
                               f"(this run: {owner['gateway_shop_guid']})")
        if recorded.get("tap") != owner["tap"]:
            differences.append(f"tap {recorded.get('tap')} (this run: {owner['tap']})")
        else:
            source = recorded.get("source")
            before: dict[str, Any] = source if isinstance(source, dict) else {}
            for name in sorted(set(before) | set(owner["source"])):
                was, now = before.get(name), owner["source"].get(name)
                if was == now:
                    continue
                if str(was).startswith("sha256:") or str(now).startswith("sha256:"):
                    differences.append(f"another {name} (a secret: only its fingerprint is "
                                       "kept, and it differs)")
                else:
                    differences.append(f"{name} {was or '(not set)'} "
                                       f"(this run: {now or '(not set)'})")
        if differences:
            raise StateDirError(
                f"{self.state_file} belongs to another shop: it was written for "
                + "; ".join(differences) + ". Its bookmarks would skip what this shop has "
                "not synced yet. Use a state directory of this shop's own, or run with "
                "--reset-state to start this directory over with a full sync.")

    def record_owner(self, owner: Mapping[str, Any]) -> None:
        """Say whom the state now in the directory belongs to."""
        if self.meta.get("state_owner") != owner:
            self.meta["state_owner"] = dict(owner)
            self._save_meta()

    def reset(self, owner: Mapping[str, Any]) -> Path | None:
        """Set the old state aside (``state.json.old``) for a full sync; where it went."""
        kept = None
        if self.state_file.exists():
            kept = self.state_file.with_name(STATE_FILE + ".old")
            self.state_file.replace(kept)
        self.meta["state_owner"] = dict(owner)
        self._save_meta()
        return kept

    # -- files written for a person to edit ---------------------------------------------
    def edited(self, name: str) -> bool:
        """Whether ``name`` exists with content the runner did not write (a person's)."""
        path = self.path / name
        if not path.exists():
            return False
        written = self.meta.get("written")
        recorded = written.get(name) if isinstance(written, dict) else None
        return recorded != _sha256(path)

    def install(self, source: Path, name: str) -> Path:
        """Put the runner-made ``source`` at ``name`` unless a person edited the file there;
        then beside it as ``<stem>.new<suffix>``. Where it went."""
        target = self.path / name
        if self.edited(name):
            target = target.with_name(f"{target.stem}.new{target.suffix}")
        save_text_atomically(target, source.read_text(encoding="utf-8"))
        if target.name == name:
            written = self.meta.setdefault("written", {})
            if isinstance(written, dict):
                written[name] = _sha256(target)
                self._save_meta()
        return target


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
