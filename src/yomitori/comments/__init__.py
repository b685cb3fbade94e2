"""The course-comment tracker: follow the comments and teacher replies under course articles.

It stands apart from the OCR side and imports nothing of torch. The layers, one way::

    auth (cookie) ─▶ http (polite client) ─▶ source (GeekTime: fetch + parse pages)
        ─▶ paging (cursor strategy + loop guards) ─▶ sync (one run) ─▶ store (SQLite)
        ─▶ digest (Markdown / HTML) · status · schedule

A platform other than GeekTime implements :class:`yomitori.comments.model.CommentSource` and is
added to :data:`SOURCES`.
"""

from __future__ import annotations

from yomitori.comments.geektime import GeekTimeSource

SOURCES: dict[str, type] = {GeekTimeSource.name: GeekTimeSource}

__all__ = ["SOURCES", "GeekTimeSource"]
