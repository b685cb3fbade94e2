"""GeekTime (极客时间, time.geekbang.org): the first :class:`CommentSource`.

The endpoints are undocumented; their shapes come from what public clients have
reverse-engineered, and may change without notice:

- ``POST /serv/v1/column/articles`` ``{cid, size, prev, order}``: the articles of a column;
- ``POST /serv/v4/comment/list`` ``{aid, prev, sort}`` (older: ``/serv/v1/comments``
  ``{aid, prev}``): the comments of an article, each with ``replies[]``, the author's replies
  (作者回复 on the site);
- ``POST /serv/discussion/v1/root_list``: the discussion under one comment;
- ``POST /serv/v1/article`` ``{id}``: one article's title, for articles followed on their own.

Every response is an envelope ``{code, data, error}``; ``error`` may be ``[]`` or an object with
its own ``code``. Codes -2000 and -3050 mean the login expired.
"""

from __future__ import annotations

import html
import json
import re
import urllib.parse
from collections.abc import Mapping
from typing import Any

from yomitori.comments.http import HttpClient
from yomitori.comments.model import (
    ArticleItem,
    AuthExpired,
    BadResponse,
    CommentItem,
    NotFound,
    Page,
    RawResponse,
    ReplyItem,
    Target,
)
from yomitori.comments.paging import make_cursor

NAME = "geektime"
SITE = "https://time.geekbang.org"
AUTH_EXPIRED_CODES = frozenset({-2000, -3050})

ARTICLES_PATH = "/serv/v1/column/articles"
ARTICLE_PATH = "/serv/v1/article"
COMMENTS_V4_PATH = "/serv/v4/comment/list"
COMMENTS_V1_PATH = "/serv/v1/comments"
DISCUSSION_PATH = "/serv/discussion/v1/root_list"

_COLUMN_URL = re.compile(r"/column/intro/(\d+)")
_ARTICLE_URL = re.compile(r"/column/article/(\d+)")


class GeekTimeSource:
    """Fetches and parses GeekTime pages. Parsing is separate from fetching (``parse_*``) so the
    raw responses kept in the database can be re-processed without the network."""

    name = NAME

    def __init__(
        self,
        client: HttpClient,
        *,
        comment_cursor: str = "score",
        comments_api: str = "v4",
        article_page_size: int = 100,
        discussion_page_size: int = 20,
    ) -> None:
        if comments_api not in ("v4", "v1"):
            raise ValueError(f"comments_api must be v4 or v1, not {comments_api!r}")
        self.client = client
        self.comments_api = comments_api
        self.article_page_size = article_page_size
        self.discussion_page_size = discussion_page_size
        self.article_cursor = make_cursor("id")
        self.comment_cursor = make_cursor(comment_cursor)
        self.discussion_cursor = make_cursor("page")

    # --- targets and links -------------------------------------------------------------------

    @staticmethod
    def parse_target(ref: str) -> Target:
        """A column id (``100017301``), a column URL (``/column/intro/ID``) or an article URL."""
        ref = ref.strip()
        if ref.isdigit():
            return Target(NAME, "column", ref)
        parts = urllib.parse.urlsplit(ref)
        if parts.scheme in ("http", "https") and parts.hostname and "geekbang" in parts.hostname:
            if m := _COLUMN_URL.search(parts.path):
                return Target(NAME, "column", m.group(1))
            if m := _ARTICLE_URL.search(parts.path):
                return Target(NAME, "article", m.group(1))
        raise ValueError(
            f"not a GeekTime column id or article URL: {ref!r} (expected e.g. 100017301, "
            f"{SITE}/column/intro/100017301 or {SITE}/column/article/245166)"
        )

    @staticmethod
    def article_url(article_id: str) -> str:
        return f"{SITE}/column/article/{article_id}"

    def _referer(self, path: str) -> str:
        return self.client.base_url + path

    # --- fetching ----------------------------------------------------------------------------

    def fetch_article_page(self, column_id: str, cursor: Any) -> Page[ArticleItem]:
        payload = {
            "cid": str(column_id),
            "size": self.article_page_size,
            "prev": cursor,
            "order": "earliest",
            "sample": False,
        }
        raw = self.client.post_json(
            ARTICLES_PATH, payload, self._referer(f"/column/intro/{column_id}")
        )
        return parse_article_page(raw, column_id, cursor)

    def fetch_article_info(self, article_id: str) -> Page[ArticleItem]:
        payload = {"id": str(article_id), "include_neighbors": False, "is_freelyread": True}
        raw = self.client.post_json(
            ARTICLE_PATH, payload, self._referer(f"/column/article/{article_id}")
        )
        return parse_article_info(raw)

    def fetch_comment_page(self, article_id: str, cursor: Any) -> Page[CommentItem]:
        referer = self._referer(f"/column/article/{article_id}")
        if self.comments_api == "v4":
            payload = {"aid": int(article_id), "prev": cursor, "sort": 0}
            try:
                raw = self.client.post_json(COMMENTS_V4_PATH, payload, referer)
            except NotFound:
                # The older endpoint still answers where v4 is gone; stay on it for this session.
                self.comments_api = "v1"
                return self.fetch_comment_page(article_id, cursor)
        else:
            raw = self.client.post_json(
                COMMENTS_V1_PATH, {"aid": int(article_id), "prev": cursor}, referer
            )
        return parse_comment_page(raw, article_id, cursor)

    def fetch_discussion_page(
        self, article_id: str, comment_id: str, cursor: Any
    ) -> Page[ReplyItem]:
        payload = {
            "use_likes_order": False,
            "target_id": int(comment_id),
            "target_type": 1,
            "page_type": 1,
            "prev": cursor,
            "size": self.discussion_page_size,
        }
        raw = self.client.post_json(
            DISCUSSION_PATH, payload, self._referer(f"/column/article/{article_id}")
        )
        return parse_discussion_page(raw, comment_id, cursor)


# --- parsing (pure functions of a raw response) ---------------------------------------------


def unwrap(raw: RawResponse) -> Any:
    """The ``data`` of a ``{code, data, error}`` envelope; raises on a bad body or error code."""
    try:
        envelope = json.loads(raw.body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadResponse(f"{raw.endpoint}: malformed JSON ({exc})", raw) from None
    if not isinstance(envelope, dict) or "code" not in envelope:
        raise BadResponse(f"{raw.endpoint}: not a {{code, data, error}} envelope", raw)
    error = envelope.get("error")
    error = error if isinstance(error, Mapping) else {}
    codes = {_as_int(envelope.get("code")), _as_int(error.get("code"))}
    if codes & AUTH_EXPIRED_CODES:
        code = sorted(codes & AUTH_EXPIRED_CODES)[0]
        raise AuthExpired(
            f"GeekTime says the login expired (code {code}): copy a fresh Cookie header from a "
            "logged-in browser tab into the cookie file or the environment variable",
            raw,
        )
    if _as_int(envelope.get("code")) != 0:
        msg = str(error.get("msg") or "")[:200]
        raise BadResponse(f"{raw.endpoint}: error code {envelope.get('code')} {msg}".rstrip(), raw)
    return envelope.get("data")


def _list_and_more(raw: RawResponse) -> tuple[list[Mapping[str, Any]], bool, Mapping[str, Any]]:
    data = unwrap(raw)
    if data in ([], None, {}):
        return [], False, {}
    if not isinstance(data, Mapping) or not isinstance(data.get("list", []), list):
        raise BadResponse(f"{raw.endpoint}: data has no list", raw)
    page = data.get("page") if isinstance(data.get("page"), Mapping) else {}
    items = [item for item in data.get("list") or [] if isinstance(item, Mapping)]
    return items, bool(page.get("more")), data


def parse_article_page(raw: RawResponse, column_id: str, cursor: Any) -> Page[ArticleItem]:
    items, more, _ = _list_and_more(raw)
    articles = tuple(_article(item, column_id, raw) for item in items)
    return Page(articles, more, raw, cursor)


def parse_article_info(raw: RawResponse) -> Page[ArticleItem]:
    data = unwrap(raw)
    if not isinstance(data, Mapping) or "id" not in data:
        raise BadResponse(f"{raw.endpoint}: article without id", raw)
    column = data.get("cid") or data.get("column_id")
    return Page((_article(data, str(column) if column else None, raw),), False, raw)


def parse_comment_page(raw: RawResponse, article_id: str, cursor: Any) -> Page[CommentItem]:
    items, more, _ = _list_and_more(raw)
    comments = []
    for item in items:
        cid = _required_id(item, "id", raw)
        replies = tuple(
            ReplyItem(
                id=_required_id(reply, "id", raw),
                comment_id=cid,
                kind="author",
                user_name=str(reply.get("user_name") or "作者"),
                content=_text(reply.get("content")),
                ctime=_as_int(reply.get("ctime")),
                is_teacher=True,
            )
            for reply in item.get("replies") or []
            if isinstance(reply, Mapping)
        )
        comments.append(
            CommentItem(
                id=cid,
                article_id=str(article_id),
                user_name=str(item.get("user_name") or ""),
                content=_text(item.get("comment_content")),
                ctime=_as_int(item.get("comment_ctime")),
                like_count=_as_int(item.get("like_count")) or 0,
                discussion_count=_as_int(item.get("discussion_count")) or 0,
                replies=replies,
                score=_opt_str(item.get("score")),
            )
        )
    return Page(tuple(comments), more, raw, cursor)


def parse_discussion_page(raw: RawResponse, comment_id: str, cursor: Any) -> Page[ReplyItem]:
    items, more, _ = _list_and_more(raw)
    replies: list[ReplyItem] = []
    for item in items:
        # Each entry is {author, discussion, child_discussions[]}; flatten one level of children.
        for entry in [
            item,
            *[c for c in item.get("child_discussions") or [] if isinstance(c, Mapping)],
        ]:
            discussion = entry.get("discussion")
            author = entry.get("author") if isinstance(entry.get("author"), Mapping) else {}
            if not isinstance(discussion, Mapping):
                raise BadResponse(f"{raw.endpoint}: discussion entry without discussion", raw)
            replies.append(
                ReplyItem(
                    id=_required_id(discussion, "id", raw),
                    comment_id=str(comment_id),
                    kind="discussion",
                    user_name=str(author.get("nickname") or ""),
                    content=_text(discussion.get("discussion_content")),
                    ctime=_as_int(discussion.get("ctime")),
                    is_teacher=False,
                )
            )
    return Page(tuple(replies), more, raw, cursor)


def _article(item: Mapping[str, Any], column_id: str | None, raw: RawResponse) -> ArticleItem:
    return ArticleItem(
        id=_required_id(item, "id", raw),
        title=_text(item.get("article_title") or item.get("title")),
        column_id=str(column_id) if column_id else None,
        ctime=_as_int(item.get("article_ctime") or item.get("ctime")),
        score=_opt_str(item.get("score")),
    )


def _required_id(item: Mapping[str, Any], key: str, raw: RawResponse) -> str:
    value = item.get(key)
    if value is None or str(value).strip() == "":
        raise BadResponse(f"{raw.endpoint}: item without {key}", raw)
    return str(value)


def _text(value: Any) -> str:
    # The API HTML-escapes some characters (&#47; for /); store the plain text.
    return html.unescape(str(value or "")).replace("\r\n", "\n").strip()


def _opt_str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
