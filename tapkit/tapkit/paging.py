"""Paging that stops: page counts that keep growing, cursors that come back, rows out of order.

A live shop changes while it is read: rows are added (the page count grows), deleted (rows
shift onto earlier pages and come twice, and the row that moved onto a page already read is
never seen), and some APIs echo a next-page token they already gave. Each guard here ends
such a sweep with a clear :class:`~tapkit.errors.PagingError`, or recovers without losing a
row, instead of looping forever or dropping rows silently. :class:`KeysetPaginator` avoids
the deletion loss altogether where the platform can filter on the key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import requests
from singer_sdk.pagination import BaseAPIPaginator, PageNumberPaginator

from tapkit.errors import PagingError

#: no sweep reads more pages than this (a million rows at 10 a page)
MAX_PAGES = 100_000
#: a page count may grow this many times during one sweep (rows added meanwhile)
MAX_GROWTH = 10


class PageCountPaginator(PageNumberPaginator):
    """Page numbers ``start..total`` inclusive, ``total`` read from each answer.

    ``total_pages(response)`` is the platform's page count (0 when absent). The requested
    page number is compared with it, not the echoed one, so that a shop echoing a wrong page
    cannot loop; an empty page in the middle (rows deleted meanwhile) does not end the sweep.
    The count may grow a little while paging (rows added); growing more than ``max_growth``
    times, or passing ``max_pages``, stops with :class:`PagingError`.
    """

    def __init__(self, start_value: int = 1, *, total_pages: Callable[[requests.Response], int],
                 what: str = "the list", max_pages: int = MAX_PAGES,
                 max_growth: int = MAX_GROWTH) -> None:
        super().__init__(start_value)
        self.total_pages = total_pages
        self.what = what
        self.max_pages = max_pages
        self.max_growth = max_growth
        self.first_total: int | None = None
        self.last_total = 0
        self.growths = 0

    def has_more(self, response: requests.Response) -> bool:
        """More pages while the page just requested is below the answer's page count."""
        total = self.total_pages(response)
        if self.first_total is None:
            self.first_total = self.last_total = total
        elif total > self.last_total:
            self.growths += 1
            self.last_total = total
            if self.growths > self.max_growth:
                raise PagingError(
                    f"the page count of {self.what} kept growing while it was read ("
                    f"{self.first_total} pages at first, {total} after {self.growths} "
                    "increases): rows are added faster than they can be read, or the paging "
                    "is broken. Stopped rather than page forever; try again later.")
        if self.current_value >= self.max_pages and self.current_value < total:
            raise PagingError(
                f"{self.what} claims {total} pages; stopped at page {self.current_value} "
                f"(at most {self.max_pages} are read in one sweep).")
        return self.current_value < total

    def continue_if_empty(self, response: requests.Response) -> bool:
        """A page emptied by rows deleted meanwhile is not the end if more pages follow."""
        return self.has_more(response)


class CursorGuardMixin:
    """Put before any SDK paginator class: a next-page token seen before in this sweep (not
    only the previous one, which the SDK already catches) stops with :class:`PagingError`;
    so does a sweep longer than ``max_pages``."""

    what: str = "the list"
    max_pages: int = MAX_PAGES

    def advance(self, response: requests.Response) -> None:
        """Advance, then refuse a token that came before."""
        seen: set[Hashable] = self.__dict__.setdefault("_tapkit_seen_tokens", set())
        if not seen:
            seen.add(_token_key(self.current_value))  # type: ignore[attr-defined]
        try:
            super().advance(response)  # type: ignore[misc]
        except RuntimeError as exc:  # the SDK's "Loop detected in pagination"
            raise PagingError(f"{self.what}: the next-page token did not advance; stopped "
                              "rather than read the same page forever.") from exc
        if self.finished:  # type: ignore[attr-defined]
            return
        key = _token_key(self.current_value)  # type: ignore[attr-defined]
        if key in seen:
            raise PagingError(f"{self.what}: page {len(seen) + 1} pointed back to an earlier "
                              "page; stopped rather than read the same pages forever.")
        if len(seen) >= self.max_pages:
            raise PagingError(f"{self.what}: more than {self.max_pages} pages; stopped.")
        seen.add(key)


class KeysetPaginator(CursorGuardMixin, BaseAPIPaginator[Any]):
    """Keyset ("seek") paging: the next page asks for the keys above the highest of this one.

    Page numbers and offsets lose rows on a live table: when a row on a page already read is
    deleted, every later row moves one place back, the first row of the next page lands on
    the page already read and is never seen in this run, and a bookmark then passes it. A
    sweep that asks "key > the highest key seen, ascending, ``page_size`` rows" cannot skip a
    row that exists from start to end of the sweep, whatever is deleted meanwhile.

    The token is the highest key seen (``start``, normally None, for the first page); the
    stream sends it as its platform's ``key > token`` filter with the ascending order and
    always the first page. ``keys(response)`` are the keys of every row of the answer (before
    the stream leaves any out), as comparable values, never 0 or empty (ids count from 1).
    The sweep ends at a page with fewer rows than ``page_size``, or when ``is_last(response)``
    says so (e.g. a page count of 1: the filtered rest fitted in this page). A full page whose
    highest key does not pass the token means the filter was ignored: :class:`PagingError`
    rather than read the same page forever (or stop early and lose the rest).
    """

    def __init__(self, *, keys: Callable[[requests.Response], Sequence[Any]],
                 page_size: int, what: str = "the list", start: Any = None,
                 is_last: Callable[[requests.Response], bool] | None = None,
                 max_pages: int = MAX_PAGES) -> None:
        super().__init__(start)
        self.keys = keys
        self.page_size = page_size
        self.what = what
        self.is_last = is_last
        self.max_pages = max_pages
        self._keys_of: tuple[requests.Response, Sequence[Any]] | None = None

    def _keys(self, response: requests.Response) -> Sequence[Any]:
        """``keys(response)``, computed once per answer (both checks below read them)."""
        if self._keys_of is None or self._keys_of[0] is not response:
            self._keys_of = (response, self.keys(response))
        return self._keys_of[1]

    def has_more(self, response: requests.Response) -> bool:
        """A full page may be followed by more; a short one (or ``is_last``) is the end."""
        if len(self._keys(response)) < self.page_size:
            return False
        return not (self.is_last is not None and self.is_last(response))

    def get_next(self, response: requests.Response) -> Any:
        """The highest key of the page (not the last row's: a page may come unsorted)."""
        highest = max(self._keys(response))
        if not highest or (self.current_value is not None
                           and not highest > self.current_value):
            raise PagingError(
                f"{self.what}: the page asked for keys above {self.current_value} came back "
                f"with none above it (highest {highest!r}): the shop ignored the filter or "
                "the order. Stopped rather than read the same page again or lose the rest.")
        return highest

    def continue_if_empty(self, response: requests.Response) -> bool:
        """A full page the stream left wholly out (repeats) is not the end of the list."""
        return self.has_more(response)


def _token_key(token: Any) -> Hashable:
    return token if isinstance(token, Hashable) else repr(token)


class OrderGuard:
    """Rows requested in ascending ``key`` order: admit each once, lose none.

    - a row whose key was already admitted (shifted onto a later page by a deletion) is a
      repeat: :meth:`admit` says False (leave it out);
    - a row with a lower key that was never admitted is out of order: it is admitted (never
      dropped), with one WARNING per guard, and :attr:`unsorted` becomes True so that a
      stream relying on the order (``is_sorted``) stops doing so.

    Memory: the set of admitted keys of one sweep (a few MB at a million integer ids).
    """

    def __init__(self, what: str, key: str, logger: logging.Logger | None = None) -> None:
        self.what = what
        self.key = key
        self.logger = logger or logging.getLogger("tapkit.paging")
        self.last: Any = None
        self.seen: set[Any] = set()
        self.unsorted = False
        self.repeats = 0

    def reset(self) -> None:
        """Start a new sweep (``unsorted`` stays: it describes the run)."""
        self.last = None
        self.seen.clear()

    def admit(self, value: Any) -> bool:
        """True: emit the row with this key value; False: a repeat, leave it out."""
        if value in self.seen:
            self.repeats += 1
            return False
        if self.last is not None and value < self.last:
            if not self.unsorted:
                self.logger.warning(
                    "%s: %s %s came after %s although ascending %s was requested; emitted "
                    "anyway, and the stream is treated as unsorted from now on", self.what,
                    self.key, value, self.last, self.key)
            self.unsorted = True
        else:
            self.last = value
        self.seen.add(value)
        return True
