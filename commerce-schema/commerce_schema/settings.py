"""Unknown setting names, each named with the setting it probably meant.

A typo in a setting's name is silent by default: JSON schemas allow extra properties, so a
``dryrun: true`` meant as ``dry_run`` wrote for real, and ``shop_ur`` left the shop URL
unset. Every tap, the target and the runner check the names they were given against the
names they know with :func:`unknown_setting_problems`, one sentence per unknown name:
``"dryrun: unknown setting; did you mean dry_run?"``. Dependency-free on purpose, so that
any component can use it before anything else is loaded.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

#: names starting with these are tool-private extras (Meltano's ``_select``...), never ours
IGNORED_PREFIXES = ("_",)


def _folded(name: str) -> str:
    """``Dry-Run`` and ``dryrun`` both as ``dryrun``: case and separators are the usual
    slips."""
    return "".join(ch for ch in name.lower() if ch.isalnum())


def suggestion(name: str, known: Iterable[str]) -> str | None:
    """The known name ``name`` was probably meant to be, or None."""
    names = sorted(set(known))
    folded = _folded(name)
    same = [n for n in names if _folded(n) == folded]
    if same:
        return same[0]
    close = difflib.get_close_matches(name.lower(), names, n=1, cutoff=0.75)
    if close:
        return close[0]
    started = [n for n in names if len(folded) >= 4 and _folded(n).startswith(folded)]
    if len(started) == 1:  # "user" for "username", "lang" for "language"
        return started[0]
    by_fold = {_folded(n): n for n in names}
    close = difflib.get_close_matches(folded, list(by_fold), n=1, cutoff=0.75)
    return by_fold[close[0]] if close else None


def unknown_setting_problems(given: Iterable[str], known: Iterable[str], *,
                             ignore_prefixes: tuple[str, ...] = IGNORED_PREFIXES) -> list[str]:
    """One sentence per name in ``given`` that is not in ``known``, in the order given:
    ``"shop_ur: unknown setting; did you mean shop_url?"`` or
    ``"colour: unknown setting."`` when nothing is close. Names starting with one of
    ``ignore_prefixes`` are left alone."""
    known_names = set(known)
    problems = []
    for name in given:
        if name in known_names or name.startswith(ignore_prefixes):
            continue
        meant = suggestion(name, known_names)
        problems.append(f"{name}: unknown setting; did you mean {meant}?" if meant
                        else f"{name}: unknown setting.")
    return problems
