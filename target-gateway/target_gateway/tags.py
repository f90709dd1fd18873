"""The variant-tag registry: which shop tags group a product's variants, and who owns each.

The Gateway has no product-with-variants: each source variant is a Gateway product, and the
variants of one source product are grouped by a shop tag of type ``variant``. Tag names are
unique per shop, so two source products called "Kubek" must not end up sharing one group.
This registry knows, for the run:

- which shop tags are variant tags, and the guid of every tag name (from the start-up read);
- which variant group(s) each variant tag already holds (``owners``, from the products read);
- which names this run has claimed for which group (``claimed``), so two new groups never
  pick the same name, even in parallel.

A group reuses its tag from earlier runs; otherwise :meth:`VariantTags.claim` gives the
first free name of "<name>", "<name> (<sku>)", "<name> (<product id>)", "<name> (<id>-2)"...
and :meth:`VariantTags.settle` decides whether a tag the Gateway answered with (new, or an
existing one on 409) may be used by the group. Pure bookkeeping behind one lock; the calls
to the Gateway are the executor's.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from target_gateway.gateway import GatewayError

Group = tuple[str, str]  # (platform, product_id): one variant group
#: how many numbered names are tried before a group is given up on
MAX_NAME_CANDIDATES = 100


class VariantTags:
    """The registry described in the module docstring. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.variant_guids: set[str] = set()
        self.by_name: dict[str, str] = {}
        self.owners: dict[str, set[Group]] = {}
        self.claimed: dict[str, Group] = {}

    @property
    def variant_count(self) -> int:
        """How many variant tags the shop has."""
        return len(self.variant_guids)

    def load(self, tags: Iterable[dict[str, Any]]) -> None:
        """The shop's tags as the Gateway lists them."""
        with self._lock:
            for tag in tags:
                guid, name = str(tag.get("guid")), str(tag.get("name"))
                self.by_name.setdefault(name, guid)
                if tag.get("type") == "variant":
                    self.variant_guids.add(guid)

    def note_product(self, owner: Group, tag_guids: Iterable[str]) -> None:
        """A product the shop has: its variant tags are held by its group."""
        with self._lock:
            for guid in tag_guids:
                if guid in self.variant_guids:
                    self.owners.setdefault(guid, set()).add(owner)

    def existing(self, sibling_tags: Iterable[tuple[str, ...]]) -> str | None:
        """The first variant tag among the tags of a group's known variants."""
        for tags in sibling_tags:
            for guid in tags:
                if guid in self.variant_guids:
                    return guid
        return None

    def claim(self, group: Group, name: str, sku: str | None) -> str:
        """The first candidate name free for this group (see the module docstring)."""
        pid = group[1]
        candidates = [name]
        if sku:
            candidates.append(f"{name} ({sku})")
        candidates.append(f"{name} ({pid})")
        candidates += [f"{name} ({pid}-{n})" for n in range(2, MAX_NAME_CANDIDATES)]
        with self._lock:
            for candidate in candidates:
                owner = self.claimed.get(candidate)
                guid = self.by_name.get(candidate)
                others = (self.owners.get(guid, set()) - {group}) if guid else set()
                if (owner is None or owner == group) and not others:
                    self.claimed[candidate] = group
                    return candidate
        raise GatewayError(f"no free variant tag name for product {pid}")

    def settle(self, name: str, group: Group, guid: str, created: bool) -> bool:
        """The Gateway answered ``guid`` for ``name``: True when the group may use it (new, or
        an existing tag no other group uses); False when it belongs to another group (the
        name is then taken, and :meth:`claim` moves on to the next)."""
        with self._lock:
            others = self.owners.get(guid, set()) - {group}
            self.by_name[name] = guid
            if created or not others:
                self.owners.setdefault(guid, set()).add(group)
                self.variant_guids.add(guid)
                return True
            return False
