"""Typed values that pass between a comment source, the pager, the sync and the store.

A source turns one HTTP response into a :class:`Page` of frozen items; the sync hands pages to
the store. Nothing here knows about a particular platform or about SQLite.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar

TargetKind = Literal["column", "article"]
ReplyKind = Literal["author", "discussion"]


@dataclass(frozen=True)
class Target:
    """Something the user follows: a whole column (course) or one article."""

    source: str
    kind: TargetKind
    ref: str


@dataclass(frozen=True)
class RawResponse:
    """One HTTP exchange as the store keeps it. ``request`` is the JSON body only, never headers."""

    endpoint: str
    request: Mapping[str, Any]
    http_status: int
    body: bytes

    def request_json(self) -> str:
        return json.dumps(dict(self.request), ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True)
class ArticleItem:
    id: str
    title: str
    column_id: str | None
    ctime: int | None  # seconds since the epoch
    score: str | None = None


@dataclass(frozen=True)
class ReplyItem:
    """A reply under a comment: the teacher's 作者回复 (``kind='author'``) or a discussion entry."""

    id: str
    comment_id: str
    kind: ReplyKind
    user_name: str
    content: str
    ctime: int | None
    is_teacher: bool
    score: str | None = None


@dataclass(frozen=True)
class CommentItem:
    id: str
    article_id: str
    user_name: str
    content: str
    ctime: int | None
    like_count: int
    discussion_count: int
    replies: tuple[ReplyItem, ...] = ()
    score: str | None = None


T = TypeVar("T", ArticleItem, CommentItem, ReplyItem)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of items, whether the server says more follow, and the response it came from."""

    items: tuple[T, ...]
    more: bool
    raw: RawResponse
    cursor: Any = None  # the cursor this page was requested with
    extra: Mapping[str, Any] = field(default_factory=dict)


class CursorStrategy(Protocol):
    """How ``prev`` advances from one page to the next (public clients disagree, so it's pluggable)."""

    name: str

    def first(self) -> Any: ...

    def next(self, cursor: Any, page: Page) -> Any | None:
        """The cursor for the page after ``page``, or None when it cannot be computed."""


class CommentSource(Protocol):
    """A course platform. GeekTime is the first; another platform implements the same methods."""

    name: str
    article_cursor: CursorStrategy
    comment_cursor: CursorStrategy
    discussion_cursor: CursorStrategy

    def parse_target(self, ref: str) -> Target: ...

    def article_url(self, article_id: str) -> str: ...

    def fetch_article_page(self, column_id: str, cursor: Any) -> Page[ArticleItem]: ...

    def fetch_article_info(self, article_id: str) -> Page[ArticleItem]: ...

    def fetch_comment_page(self, article_id: str, cursor: Any) -> Page[CommentItem]: ...

    def fetch_discussion_page(
        self, article_id: str, comment_id: str, cursor: Any
    ) -> Page[ReplyItem]: ...


# --- errors a source raises; the sync decides what each means for the run -------------------


class SourceError(Exception):
    """Base class. ``raw`` is the response that caused it, when there was one (kept for re-processing)."""

    def __init__(self, message: str, raw: RawResponse | None = None) -> None:
        super().__init__(message)
        self.raw = raw


class AuthExpired(SourceError):
    """The login cookie is missing, wrong or expired: stop the run and tell the user."""


class RateLimited(SourceError):
    """The server asked us to slow down (HTTP 451/452) or the run's request budget is spent."""


class FetchFailed(SourceError):
    """Network errors or 5xx responses that outlasted every retry."""


class BadResponse(SourceError):
    """A response that can't be used: malformed JSON, an unknown error code, an unexpected 4xx."""


class NotFound(BadResponse):
    """HTTP 404: the endpoint (or the item) is not there."""
