"""The digest: what appeared or changed in a time window, grouped by article.

Per article: the teacher's replies first (highlighted), then new comments, new replies from
others and edits. "New" means first seen by a sync in the window (not the comment's own date),
so a reply the teacher wrote to an old question shows up the week it appears. IP regions, user
ids and avatar URLs are never stored outside the raw responses, and never shown.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

from yomitori.comments.store import Store, format_time

_DURATION = re.compile(r"^(\d+)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
QUOTE_CHARS = 200


def parse_duration(text: str) -> timedelta:
    """``30m``, ``12h``, ``7d``, ``2w``."""
    m = _DURATION.match(text.strip().lower())
    if not m or int(m.group(1)) == 0:
        raise ValueError(f"not a duration: {text!r} (expected e.g. 12h, 7d, 2w)")
    return timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})


@dataclass(frozen=True)
class Entry:
    user_name: str
    content: str
    ctime: int | None
    edited: bool = False  # edited within the window
    previous: str | None = None  # the text before the first edit in the window
    parent_user: str | None = None  # for replies: the comment they answer
    parent_content: str | None = None
    parent_ctime: int | None = None


@dataclass(frozen=True)
class ArticleDigest:
    article_id: str
    title: str
    url: str
    teacher_replies: tuple[Entry, ...] = ()
    new_comments: tuple[Entry, ...] = ()
    new_replies: tuple[Entry, ...] = ()
    edits: tuple[Entry, ...] = ()


@dataclass(frozen=True)
class Digest:
    since: datetime
    until: datetime
    articles: tuple[ArticleDigest, ...] = field(default_factory=tuple)

    def totals(self) -> dict[str, int]:
        names = ("teacher_replies", "new_comments", "new_replies", "edits")
        return {n: sum(len(getattr(a, n)) for a in self.articles) for n in names}


def _within(column: str) -> str:
    # Half-open (since, until]: what a sync saw at the very instant ``since`` belongs to the
    # previous digest, whose ``until`` that was.
    return f"({column} > :lo AND {column} <= :hi)"


def build_digest(
    store: Store,
    source: str,
    since: datetime,
    until: datetime,
    article_url: Callable[[str], str],
) -> Digest:
    lo, hi = format_time(since), format_time(until)
    db = store.conn
    args = {"s": source, "lo": lo, "hi": hi}
    changed = f"({_within('first_seen_at')} OR {_within('edited_at')})"
    articles = db.execute(
        "SELECT id, title FROM articles WHERE source=:s AND id IN ("
        f" SELECT article_id FROM comments WHERE source=:s AND {changed}"
        f" UNION SELECT article_id FROM replies WHERE source=:s AND {changed})"
        " ORDER BY column_id, ctime, CAST(id AS INTEGER), id",
        args,
    ).fetchall()
    reply_sql = (
        "SELECT r.*, c.user_name AS p_user, c.content AS p_content, c.ctime AS p_ctime"
        " FROM replies r JOIN comments c ON c.source=r.source AND c.id=r.comment_id"
        " WHERE r.source=:s AND r.article_id=:a AND r.deleted_at IS NULL AND {}"
        " ORDER BY r.ctime, CAST(r.id AS INTEGER), r.id"
    )
    comment_sql = (
        "SELECT * FROM comments WHERE source=:s AND article_id=:a AND deleted_at IS NULL"
        " AND {} ORDER BY ctime, CAST(id AS INTEGER), id"
    )
    edited_before = f"{_within('edited_at')} AND first_seen_at <= :lo"

    def entry(row, item_type: str, parent: bool) -> Entry:  # noqa: ANN001 - a sqlite3.Row
        edited = bool(
            row["edited_at"] and lo < row["edited_at"] <= hi and row["first_seen_at"] <= lo
        )
        previous = None
        if edited:
            prev = db.execute(
                "SELECT content FROM revisions WHERE source=? AND item_type=? AND item_id=?"
                " AND replaced_at > ? ORDER BY id LIMIT 1",
                (source, item_type, row["id"], lo),
            ).fetchone()
            previous = prev["content"] if prev else None
        return Entry(
            row["user_name"],
            row["content"],
            row["ctime"],
            edited,
            previous,
            row["p_user"] if parent else None,
            row["p_content"] if parent else None,
            row["p_ctime"] if parent else None,
        )

    result = []
    for art in articles:
        a = {**args, "a": art["id"]}
        teacher = db.execute(
            reply_sql.format(
                f"r.is_teacher=1 AND ({_within('r.first_seen_at')} OR {_within('r.edited_at')})"
            ),
            a,
        )
        replies = db.execute(
            reply_sql.format(f"r.is_teacher=0 AND {_within('r.first_seen_at')}"), a
        )
        edited_replies = db.execute(
            reply_sql.format(
                f"r.is_teacher=0 AND {_within('r.edited_at')} AND r.first_seen_at <= :lo"
            ),
            a,
        )
        comments = db.execute(comment_sql.format(_within("first_seen_at")), a)
        edited_comments = db.execute(comment_sql.format(edited_before), a)
        digest = ArticleDigest(
            article_id=art["id"],
            title=art["title"] or f"article {art['id']}",
            url=article_url(art["id"]),
            teacher_replies=tuple(entry(r, f"{r['kind']}-reply", True) for r in teacher),
            new_comments=tuple(entry(r, "comment", False) for r in comments),
            new_replies=tuple(entry(r, f"{r['kind']}-reply", True) for r in replies),
            edits=tuple(entry(r, "comment", False) for r in edited_comments)
            + tuple(entry(r, f"{r['kind']}-reply", True) for r in edited_replies),
        )
        if digest.teacher_replies or digest.new_comments or digest.new_replies or digest.edits:
            result.append(digest)
    return Digest(since, until, tuple(result))


# --- rendering ----------------------------------------------------------------------------------


def _when(epoch: int | None, tz: tzinfo) -> str:
    if epoch is None:
        return "date unknown"
    return datetime.fromtimestamp(epoch, UTC).astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _tz_name(moment: datetime) -> str:
    offset = moment.utcoffset() or timedelta(0)
    if not offset:
        return "UTC"
    sign, minutes = ("+" if offset >= timedelta(0) else "-"), int(abs(offset).total_seconds() // 60)
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= QUOTE_CHARS else flat[: QUOTE_CHARS - 1] + "…"


def _summary(d: Digest) -> str:
    t = d.totals()
    parts = [
        f"{t['teacher_replies']} teacher repl{'y' if t['teacher_replies'] == 1 else 'ies'}",
        f"{t['new_comments']} new comment{'s' * (t['new_comments'] != 1)}",
        f"{t['new_replies']} new repl{'y' if t['new_replies'] == 1 else 'ies'}",
        f"{t['edits']} edit{'s' * (t['edits'] != 1)}",
    ]
    return " · ".join(parts)


def _md_quote(text: str, prefix: str = "> ") -> list[str]:
    # '<' escaped so that comment text can't inject HTML into a rendered digest.
    lines = text.replace("<", "&lt;").splitlines() or [""]
    return [(prefix + line).rstrip() for line in lines]


def render_markdown(d: Digest, tz: tzinfo = UTC) -> str:
    since, until = d.since.astimezone(tz), d.until.astimezone(tz)
    out = [
        "# Course comments: what's new",
        "",
        f"{since:%Y-%m-%d %H:%M} → {until:%Y-%m-%d %H:%M} ({_tz_name(until)}) · {_summary(d)}",
    ]
    if not d.articles:
        out += ["", "Nothing new in this window."]
    for art in d.articles:
        out += ["", f"## {art.title}", "", f"<{art.url}>"]
        if art.teacher_replies:
            out += ["", "### ★ Teacher replies (作者回复)"]
            for e in art.teacher_replies:
                edited = " · edited" if e.edited else ""
                out += ["", f"> **★ {e.user_name}** · {_when(e.ctime, tz)}{edited}", ">"]
                out += _md_quote(e.content)
                out += [
                    ">",
                    f"> *In answer to {e.parent_user} ({_when(e.parent_ctime, tz)}):*"
                    f" {_short(e.parent_content or '').replace('<', '&lt;')}",
                ]
        for heading, entries in (
            ("New comments", art.new_comments),
            ("New replies", art.new_replies),
        ):
            if entries:
                out += ["", f"### {heading}"]
            for e in entries:
                to = f" → {e.parent_user}" if e.parent_user else ""
                out += ["", f"**{e.user_name}**{to} · {_when(e.ctime, tz)}", ""]
                out += _md_quote(e.content)
        if art.edits:
            out += ["", "### Edits"]
            for e in art.edits:
                out += ["", f"**{e.user_name}** · {_when(e.ctime, tz)} · edited", ""]
                out += _md_quote(e.content)
                if e.previous is not None:
                    out += ["", "Before:", ""] + _md_quote(e.previous)
    return "\n".join(out) + "\n"


_CSS = (
    "body{font-family:system-ui,'Noto Sans CJK JP','PingFang SC',sans-serif;max-width:46em;"
    "margin:2em auto;padding:0 1em;line-height:1.6}"
    ".teacher{background:#fff6d6;border-left:4px solid #e0a800;padding:.5em 1em;margin:1em 0}"
    ".entry{margin:1em 0}.meta{color:#666;font-size:.9em}.quote{color:#555;font-size:.9em}"
    "blockquote{margin:.3em 0 .3em 1em;white-space:pre-wrap}"
)


def _h(text: str) -> str:
    return html.escape(text, quote=True)


def render_html(d: Digest, tz: tzinfo = UTC) -> str:
    since, until = d.since.astimezone(tz), d.until.astimezone(tz)
    out = [
        "<!DOCTYPE html>",
        '<html lang="zh">',
        "<head>",
        '<meta charset="utf-8">',
        "<title>Course comments: what's new</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<h1>Course comments: what's new</h1>",
        f'<p class="meta">{since:%Y-%m-%d %H:%M} → {until:%Y-%m-%d %H:%M} ({_tz_name(until)})'
        f" · {_h(_summary(d))}</p>",
    ]
    if not d.articles:
        out.append("<p>Nothing new in this window.</p>")
    for art in d.articles:
        out.append(f'<h2><a href="{_h(art.url)}">{_h(art.title)}</a></h2>')
        if art.teacher_replies:
            out.append("<h3>★ Teacher replies (作者回复)</h3>")
        for e in art.teacher_replies:
            edited = " · edited" if e.edited else ""
            out.append(
                f'<div class="teacher"><div class="meta"><strong>★ {_h(e.user_name)}</strong> · '
                f"{_when(e.ctime, tz)}{edited}</div><blockquote>{_h(e.content)}</blockquote>"
                f'<div class="quote">In answer to {_h(e.parent_user or "")} '
                f"({_when(e.parent_ctime, tz)}): {_h(_short(e.parent_content or ''))}</div></div>"
            )
        sections = (
            ("New comments", art.new_comments),
            ("New replies", art.new_replies),
            ("Edits", art.edits),
        )
        for heading, entries in sections:
            if entries:
                out.append(f"<h3>{heading}</h3>")
            for e in entries:
                to = f" → {_h(e.parent_user)}" if e.parent_user else ""
                edited = " · edited" if e.edited else ""
                before = (
                    f'<div class="quote">Before:</div><blockquote class="quote">'
                    f"{_h(e.previous)}</blockquote>"
                    if e.previous is not None
                    else ""
                )
                out.append(
                    f'<div class="entry"><div class="meta"><strong>{_h(e.user_name)}</strong>{to} · '
                    f"{_when(e.ctime, tz)}{edited}</div><blockquote>{_h(e.content)}</blockquote>"
                    f"{before}</div>"
                )
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"
