"""Cursor strategies and a pager with loop guards.

Public GeekTime clients disagree on how ``prev`` advances: some send the last item's ``score``,
some its ``id``, the discussion endpoint takes a page number. The strategy is pluggable, and
whichever is used, the pager stops on any of these guards:

- the server says there is no more (``more`` false) or sends an empty page: a complete scan;
- a cursor repeats (the server ignored it, or the strategy is wrong for this endpoint);
- a page brings no id not already seen in this scan;
- the page cap is reached.

Only the first kind of ending counts as a *complete* scan, which is what deletion needs.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from yomitori.comments.model import Page

log = logging.getLogger("yomitori.comments")


@dataclass(frozen=True)
class LastItemCursor:
    """``prev`` = an attribute (``score`` or ``id``) of the last item of the page."""

    attribute: str
    start: Any = 0

    @property
    def name(self) -> str:
        return self.attribute

    def first(self) -> Any:
        return self.start

    def next(self, cursor: Any, page: Page) -> Any | None:
        if not page.items:
            return None
        value = getattr(page.items[-1], self.attribute, None)
        if value is None or value == "":
            return None
        # GeekTime ids and scores are integers; send them as numbers, as the web client does.
        try:
            return int(value)
        except (TypeError, ValueError):
            return value


@dataclass(frozen=True)
class PageNumberCursor:
    """``prev`` = the page number: start, start + 1, ..."""

    start: int = 1
    name: str = "page"

    def first(self) -> Any:
        return self.start

    def next(self, cursor: Any, page: Page) -> Any | None:
        return int(cursor) + 1


CURSORS: dict[str, Callable[[], Any]] = {
    "score": lambda: LastItemCursor("score"),
    "id": lambda: LastItemCursor("id"),
    "page": lambda: PageNumberCursor(1),
}


def make_cursor(name: str) -> Any:
    try:
        return CURSORS[name]()
    except KeyError:
        raise ValueError(
            f"unknown cursor strategy {name!r} (choose from {sorted(CURSORS)})"
        ) from None


class EndReason(enum.StrEnum):
    NO_MORE = "no-more"
    EMPTY_PAGE = "empty-page"
    REPEATED_CURSOR = "repeated-cursor"
    NO_NEW_IDS = "no-new-ids"
    NO_CURSOR = "no-cursor"
    PAGE_CAP = "page-cap"

    @property
    def complete(self) -> bool:
        return self in (EndReason.NO_MORE, EndReason.EMPTY_PAGE)


class Pager:
    """Iterate pages as ``(page, next_cursor)``; ``next_cursor`` is None on the last page.

    The caller commits each page together with ``next_cursor`` before asking for the next one,
    so a resumed scan starts exactly after the last committed page. ``end_reason`` is set once the
    iteration has finished.
    """

    def __init__(
        self,
        fetch: Callable[[Any], Page],
        strategy: Any,
        *,
        start: Any = None,
        max_pages: int = 200,
        label: str = "",
    ) -> None:
        self._fetch = fetch
        self._strategy = strategy
        self._start = strategy.first() if start is None else start
        self._max_pages = max_pages
        self._label = label
        self.end_reason: EndReason | None = None
        self.pages = 0

    @property
    def complete(self) -> bool:
        return self.end_reason is not None and self.end_reason.complete

    def __iter__(self) -> Iterator[tuple[Page, Any | None]]:
        cursor = self._start
        used = {_key(cursor)}
        seen_ids: set[str] = set()
        while True:
            page = self._fetch(cursor)
            self.pages += 1
            ids = {str(item.id) for item in page.items}
            new_ids = ids - seen_ids
            seen_ids |= ids
            reason = self._stop_reason(page, new_ids)
            next_cursor = None
            if reason is None:
                next_cursor = self._strategy.next(cursor, page)
                if next_cursor is None:
                    reason = EndReason.NO_CURSOR
                elif _key(next_cursor) in used:
                    reason = EndReason.REPEATED_CURSOR
            if reason is not None:
                self.end_reason = reason
                if not reason.complete:
                    log.warning("%s: paging stopped early (%s)", self._label, reason.value)
                yield page, None
                return
            used.add(_key(next_cursor))
            yield page, next_cursor
            cursor = next_cursor

    def _stop_reason(self, page: Page, new_ids: set[str]) -> EndReason | None:
        if not page.items:
            return EndReason.EMPTY_PAGE
        if not new_ids:
            return EndReason.NO_NEW_IDS
        if not page.more:
            return EndReason.NO_MORE
        if self.pages >= self._max_pages:
            return EndReason.PAGE_CAP
        return None


def _key(cursor: Any) -> str:
    return repr(cursor)
