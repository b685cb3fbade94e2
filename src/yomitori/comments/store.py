"""SQLite storage for followed courses, their comments and replies, runs and raw responses.

Crash safety: WAL journal, ``synchronous=FULL``, and one short transaction per fetched page
(the raw response, the items it carries, the run's counters and the scan cursor together), so a
crash or a kill loses at most the page in flight, and the next sync resumes after the last
committed page.

Change detection: each comment and reply keeps a SHA-256 of its text; a different hash on a
later scan is an edit (the old text goes to ``revisions``). Deletion: an item is marked deleted
only after two *complete* scans of its article missed it (``missed_scans`` >= 2); a scan that
was resumed or cut short by a paging guard never counts. The cookie is never stored here.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from yomitori.comments.model import ArticleItem, CommentItem, Page, RawResponse, ReplyItem, Target
from yomitori.comments.schema import DELETE_AFTER_MISSES, SCHEMA, SCHEMA_VERSION, TIME_FORMAT
from yomitori.errors import UserError

COUNTERS = (
    "requests",
    "pages",
    "new_comments",
    "new_replies",
    "new_teacher_replies",
    "edits",
    "deleted",
    "failures",
)


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Store:
    """One SQLite database. Use :meth:`transaction` around every write."""

    def __init__(self, path: str | os.PathLike, clock: Callable[[], datetime] = utc_now) -> None:
        self.path = Path(path)
        self.clock = clock
        self.path.parent.mkdir(parents=True, exist_ok=True)
        created = not self.path.exists()
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, one transaction per page.
        self.conn = sqlite3.connect(self.path, isolation_level=None, timeout=10.0)
        self.conn.row_factory = sqlite3.Row
        if created:
            os.chmod(self.path, 0o600)  # course content is the user's own business
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        # executescript commits on its own, so the transaction is spelled out in the script.
        self.conn.executescript(
            f"BEGIN IMMEDIATE;{SCHEMA}INSERT OR IGNORE INTO meta VALUES"
            f" ('schema_version', '{SCHEMA_VERSION}');COMMIT;"
        )

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def sync_lock(self) -> Iterator[None]:
        """One sync at a time per database. The OS drops the lock when its process dies."""
        import fcntl  # POSIX only; imported here so that reading the database works anywhere

        lock_path = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise UserError(f"another sync is running on {self.path}") from None
            yield
        finally:
            os.close(fd)

    def now(self) -> str:
        return format_time(self.clock())

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # --- follows -----------------------------------------------------------------------------

    def add_follow(self, target: Target) -> bool:
        with self.transaction() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO follows VALUES (?, ?, ?, ?)",
                (target.source, target.kind, target.ref, self.now()),
            )
            if target.kind == "article":
                self._ensure_article(target.source, target.ref)
        return cur.rowcount == 1

    def remove_follow(self, target: Target) -> bool:
        with self.transaction() as db:
            cur = db.execute(
                "DELETE FROM follows WHERE source=? AND kind=? AND ref=?",
                (target.source, target.kind, target.ref),
            )
        return cur.rowcount == 1

    def follows(self, source: str) -> list[Target]:
        rows = self.conn.execute(
            "SELECT kind, ref FROM follows WHERE source=? ORDER BY kind, added_at, ref", (source,)
        )
        return [Target(source, row["kind"], row["ref"]) for row in rows]

    # --- runs ----------------------------------------------------------------------------------

    def close_interrupted_runs(self) -> int:
        """Runs still 'running' when we hold the sync lock died (killed, crashed): say so."""
        with self.transaction() as db:
            cur = db.execute(
                "UPDATE runs SET status='interrupted', message='the process ended mid-run' "
                "WHERE status='running'"
            )
        return cur.rowcount

    def start_run(self, source: str) -> int:
        with self.transaction() as db:
            cur = db.execute(
                "INSERT INTO runs (source, started_at, status) VALUES (?, ?, 'running')",
                (source, self.now()),
            )
        return int(cur.lastrowid)

    def finish_run(self, run_id: int, status: str, message: str = "", requests: int = 0) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE runs SET status=?, message=?, finished_at=?, requests=requests+? WHERE id=?",
                (status, message, self.now(), requests, run_id),
            )

    def count(self, run_id: int, **deltas: int) -> None:
        """Add to a run's counters; call inside the page's transaction."""
        for name, delta in deltas.items():
            if name not in COUNTERS:
                raise ValueError(f"unknown run counter {name!r}")
            if delta:
                self.conn.execute(f"UPDATE runs SET {name}={name}+? WHERE id=?", (delta, run_id))

    def record_failure(
        self,
        run_id: int,
        target: str,
        kind: str,
        message: str,
        raw: RawResponse | None,
        source: str,
    ) -> None:
        with self.transaction() as db:
            if raw is not None:
                self.save_raw(run_id, source, raw, parse_ok=False)
            db.execute(
                "INSERT INTO failures (run_id, at, target, kind, message) VALUES (?, ?, ?, ?, ?)",
                (run_id, self.now(), target, kind, message[:500]),
            )
            self.count(run_id, failures=1)

    def run(self, run_id: int) -> sqlite3.Row:
        return self.conn.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()

    # --- raw responses ---------------------------------------------------------------------------

    def save_raw(self, run_id: int, source: str, raw: RawResponse, parse_ok: bool) -> int:
        cur = self.conn.execute(
            "INSERT INTO raw_responses (run_id, fetched_at, source, endpoint, request, http_status,"
            " parse_ok, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run_id,
                self.now(),
                source,
                raw.endpoint,
                raw.request_json(),
                raw.http_status,
                int(parse_ok),
                zlib.compress(raw.body, 6),
            ),
        )
        return int(cur.lastrowid)

    def iter_raw(self, endpoint: str | None = None) -> Iterator[RawResponse]:
        """The kept responses, decompressed, oldest first: the input for re-processing."""
        sql = "SELECT endpoint, request, http_status, body FROM raw_responses"
        args: tuple[Any, ...] = ()
        if endpoint is not None:
            sql, args = sql + " WHERE endpoint=?", (endpoint,)
        for row in self.conn.execute(sql + " ORDER BY id", args):
            yield RawResponse(
                row["endpoint"],
                json.loads(row["request"]),
                row["http_status"],
                zlib.decompress(row["body"]),
            )

    # --- articles and scan state ----------------------------------------------------------------

    def _ensure_article(self, source: str, article_id: str) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO articles (source, id, first_seen_at) VALUES (?, ?, ?)",
            (source, article_id, self.now()),
        )

    def save_article_page(self, run_id: int, source: str, page: Page[ArticleItem]) -> None:
        with self.transaction() as db:
            self.save_raw(run_id, source, page.raw, parse_ok=True)
            for item in page.items:
                self._ensure_article(source, item.id)
                db.execute(
                    "UPDATE articles SET title=?, ctime=COALESCE(?, ctime),"
                    " column_id=COALESCE(?, column_id) WHERE source=? AND id=?",
                    (item.title, item.ctime, item.column_id, source, item.id),
                )
            self.count(run_id, pages=1)

    def articles_to_scan(self, source: str) -> list[str]:
        """Followed articles: an interrupted scan first, then never scanned, then least recent."""
        rows = self.conn.execute(
            "SELECT id FROM articles WHERE source=:s AND ("
            " column_id IN (SELECT ref FROM follows WHERE source=:s AND kind='column')"
            " OR id IN (SELECT ref FROM follows WHERE source=:s AND kind='article'))"
            " ORDER BY scan_state IS NULL, last_scan_at IS NOT NULL, last_scan_at,"
            " ctime, CAST(id AS INTEGER), id",
            {"s": source},
        )
        return [row["id"] for row in rows]

    def untitled_followed_articles(self, source: str) -> list[str]:
        rows = self.conn.execute(
            "SELECT a.id FROM articles a JOIN follows f ON f.source=a.source AND f.kind='article'"
            " AND f.ref=a.id WHERE a.source=? AND a.title IS NULL ORDER BY a.id",
            (source,),
        )
        return [row["id"] for row in rows]

    def scan_state(self, source: str, article_id: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            "SELECT scan_state FROM articles WHERE source=? AND id=?", (source, article_id)
        ).fetchone()
        return json.loads(row["scan_state"]) if row and row["scan_state"] else None

    def set_scan_state(self, source: str, article_id: str, state: dict[str, Any] | None) -> None:
        self.conn.execute(
            "UPDATE articles SET scan_state=? WHERE source=? AND id=?",
            (json.dumps(state, sort_keys=True) if state is not None else None, source, article_id),
        )

    # --- comments and replies -------------------------------------------------------------------

    def save_comment_page(
        self,
        run_id: int,
        source: str,
        article_id: str,
        page: Page[CommentItem],
        token: str,
        next_state: dict[str, Any] | None,
    ) -> None:
        """The page, its raw response, the run's counters and the scan cursor: one transaction."""
        with self.transaction():
            self.save_raw(run_id, source, page.raw, parse_ok=True)
            self._ensure_article(source, article_id)
            for comment in page.items:
                self._upsert_comment(run_id, source, comment, token)
                for reply in comment.replies:
                    self._upsert_reply(run_id, source, article_id, reply, token)
            self.set_scan_state(source, article_id, next_state)
            self.count(run_id, pages=1)

    def save_scan_state(self, source: str, article_id: str, state: dict[str, Any] | None) -> None:
        with self.transaction():
            self.set_scan_state(source, article_id, state)

    def _upsert_comment(self, run_id: int, source: str, c: CommentItem, token: str) -> None:
        now, digest = self.now(), content_hash(c.content)
        old = self.conn.execute(
            "SELECT content, content_hash FROM comments WHERE source=? AND id=?", (source, c.id)
        ).fetchone()
        if old is None:
            self.conn.execute(
                "INSERT INTO comments (source, id, article_id, user_name, content, content_hash,"
                " ctime, like_count, discussion_count, first_seen_at, first_seen_run,"
                " last_seen_at, scan_token) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    source,
                    c.id,
                    c.article_id,
                    c.user_name,
                    c.content,
                    digest,
                    c.ctime,
                    c.like_count,
                    c.discussion_count,
                    now,
                    run_id,
                    now,
                    token,
                ),
            )
            self.count(run_id, new_comments=1)
            return
        if old["content_hash"] != digest:
            self._keep_revision(
                run_id, source, "comment", c.id, old["content"], old["content_hash"]
            )
            self.conn.execute(
                "UPDATE comments SET content=?, content_hash=?, edited_at=? WHERE source=? AND id=?",
                (c.content, digest, now, source, c.id),
            )
            self.count(run_id, edits=1)
        self.conn.execute(
            "UPDATE comments SET user_name=?, like_count=?, discussion_count=?, last_seen_at=?,"
            " scan_token=?, missed_scans=0, deleted_at=NULL WHERE source=? AND id=?",
            (c.user_name, c.like_count, c.discussion_count, now, token, source, c.id),
        )

    def _upsert_reply(
        self, run_id: int, source: str, article_id: str, r: ReplyItem, token: str
    ) -> None:
        now, digest = self.now(), content_hash(r.content)
        key = (source, r.kind, r.id)
        old = self.conn.execute(
            "SELECT content, content_hash FROM replies WHERE source=? AND kind=? AND id=?", key
        ).fetchone()
        if old is None:
            self.conn.execute(
                "INSERT INTO replies (source, kind, id, comment_id, article_id, is_teacher,"
                " user_name, content, content_hash, ctime, first_seen_at, first_seen_run,"
                " last_seen_at, scan_token) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    *key,
                    r.comment_id,
                    article_id,
                    int(r.is_teacher),
                    r.user_name,
                    r.content,
                    digest,
                    r.ctime,
                    now,
                    run_id,
                    now,
                    token,
                ),
            )
            self.count(run_id, new_replies=1, new_teacher_replies=int(r.is_teacher))
            return
        if old["content_hash"] != digest:
            self._keep_revision(
                run_id, source, f"{r.kind}-reply", r.id, old["content"], old["content_hash"]
            )
            self.conn.execute(
                "UPDATE replies SET content=?, content_hash=?, edited_at=?"
                " WHERE source=? AND kind=? AND id=?",
                (r.content, digest, now, *key),
            )
            self.count(run_id, edits=1)
        self.conn.execute(
            "UPDATE replies SET user_name=?, is_teacher=?, last_seen_at=?, scan_token=?,"
            " missed_scans=0, deleted_at=NULL WHERE source=? AND kind=? AND id=?",
            (r.user_name, int(r.is_teacher), now, token, *key),
        )

    def _keep_revision(
        self, run_id: int, source: str, item_type: str, item_id: str, content: str, digest: str
    ) -> None:
        self.conn.execute(
            "INSERT INTO revisions (source, item_type, item_id, content, content_hash, replaced_at,"
            " run_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (source, item_type, item_id, content, digest, self.now(), run_id),
        )

    def pending_discussions(self, source: str, article_id: str) -> list[tuple[str, int]]:
        """Comments whose discussion count changed since their discussion was last fetched."""
        rows = self.conn.execute(
            "SELECT id, discussion_count FROM comments WHERE source=? AND article_id=?"
            " AND deleted_at IS NULL AND discussion_count > 0"
            " AND discussion_count IS NOT discussion_synced ORDER BY ctime, id",
            (source, article_id),
        )
        return [(row["id"], row["discussion_count"]) for row in rows]

    def save_discussion_page(
        self, run_id: int, source: str, article_id: str, page: Page[ReplyItem], token: str
    ) -> None:
        with self.transaction():
            self.save_raw(run_id, source, page.raw, parse_ok=True)
            for reply in page.items:
                self._upsert_reply(run_id, source, article_id, reply, token)
            self.count(run_id, pages=1)

    def mark_discussion_synced(
        self, source: str, comment_id: str, count: int, token: str | None
    ) -> None:
        """``token`` only when the discussion was read to its end (then misses count)."""
        with self.transaction() as db:
            db.execute(
                "UPDATE comments SET discussion_synced=?, discussion_token=? WHERE source=? AND id=?",
                (count, token, source, comment_id),
            )

    def complete_scan(
        self, run_id: int, source: str, article_id: str, token: str, full: bool
    ) -> int:
        """Close an article's scan; for a full scan, count misses and mark twice-missed deleted."""
        now, deleted = self.now(), 0
        with self.transaction() as db:
            if full:
                db.execute(
                    "UPDATE comments SET missed_scans=missed_scans+1 WHERE source=? AND article_id=?"
                    " AND deleted_at IS NULL AND scan_token IS NOT ?",
                    (source, article_id, token),
                )
                db.execute(
                    "UPDATE replies SET missed_scans=missed_scans+1 WHERE source=? AND article_id=?"
                    " AND deleted_at IS NULL AND scan_token IS NOT ? AND (kind='author' OR"
                    " comment_id IN (SELECT id FROM comments WHERE source=? AND discussion_token=?))",
                    (source, article_id, token, source, token),
                )
                for table in ("comments", "replies"):
                    cur = db.execute(
                        f"UPDATE {table} SET deleted_at=? WHERE source=? AND article_id=?"
                        " AND deleted_at IS NULL AND missed_scans >= ?",
                        (now, source, article_id, DELETE_AFTER_MISSES),
                    )
                    deleted += cur.rowcount
                db.execute(
                    "UPDATE articles SET scans_completed=scans_completed+1 WHERE source=? AND id=?",
                    (source, article_id),
                )
            db.execute(
                "UPDATE articles SET last_scan_at=?, scan_state=NULL WHERE source=? AND id=?",
                (now, source, article_id),
            )
            self.count(run_id, deleted=deleted)
        return deleted
