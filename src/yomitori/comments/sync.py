"""One sync run: article lists of followed columns, then every followed article's comments.

Read top to bottom, a run is::

    lock the database; close runs a killed process left 'running'; start a run
    for each followed column: page through its articles          (one commit per page)
    for each followed article, interrupted scans first:
        page through its comments, saving page + cursor together   (one commit per page)
        fetch the discussion of each comment whose count changed   (one commit per page)
        close the scan (a full scan counts misses for deletion)
    finish the run: ok, partial, auth_expired or failed

What stops a run: an expired login (``auth_expired``: nothing more can succeed), rate limiting
(``partial``: stop politely; the saved cursors make the next run resume where this one
stopped), or too many failures in a row (``failed``). A single article that fails (network
errors after retries, malformed JSON) is recorded and skipped; the run ends ``partial``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from yomitori.comments.model import (
    AuthExpired,
    BadResponse,
    CommentSource,
    FetchFailed,
    RateLimited,
    SourceError,
)
from yomitori.comments.paging import Pager
from yomitori.comments.store import COUNTERS, Store

log = logging.getLogger("yomitori.comments")


@dataclass(frozen=True)
class SyncConfig:
    max_comment_pages: int = 200  # per article: 200 pages of ~20 comments
    max_article_pages: int = 50  # per column
    max_discussion_pages: int = 20  # per comment
    max_consecutive_failures: int = 3  # then the network is probably down: stop


@dataclass(frozen=True)
class SyncResult:
    run_id: int
    status: str  # ok | partial | auth_expired | failed
    message: str
    counts: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        c = self.counts
        text = (
            f"run {self.run_id} {self.status}: {c.get('pages', 0)} pages, "
            f"{c.get('new_comments', 0)} new comments, {c.get('new_replies', 0)} new replies "
            f"({c.get('new_teacher_replies', 0)} from the teacher), {c.get('edits', 0)} edits, "
            f"{c.get('deleted', 0)} deleted, {c.get('failures', 0)} failures"
        )
        return f"{text}; {self.message}" if self.message else text


class _TooManyFailures(Exception):
    pass


def sync_all(
    store: Store,
    source: CommentSource,
    config: SyncConfig = SyncConfig(),
    request_count: Callable[[], int] = lambda: 0,
) -> SyncResult:
    """Fetch new and changed comments of everything followed. Never raises for network trouble:
    the outcome is in the returned status (and in the ``runs`` table)."""
    with store.sync_lock():
        interrupted = store.close_interrupted_runs()
        if interrupted:
            log.info(
                "%d earlier run(s) ended mid-run; resuming from their last saved page", interrupted
            )
        run_id = store.start_run(source.name)
        run = _Run(store, source, config, run_id)
        try:
            status, message = run.execute()
        except BaseException as exc:  # a bug or Ctrl-C: record it, then let it propagate
            store.finish_run(
                run_id, "failed", f"{type(exc).__name__}: {exc}"[:500], request_count()
            )
            raise
        store.finish_run(run_id, status, message, request_count())
        row = store.run(run_id)
        return SyncResult(run_id, status, message, {name: row[name] for name in COUNTERS})


class _Run:
    def __init__(self, store: Store, source: CommentSource, config: SyncConfig, run_id: int):
        self.store, self.source, self.config, self.run_id = store, source, config, run_id
        self.consecutive_failures = 0

    def execute(self) -> tuple[str, str]:
        name = self.source.name
        try:
            for target in self.store.follows(name):
                if target.kind == "column":
                    self._guarded(f"column {target.ref}", self._sync_column, target.ref)
            for article_id in self.store.untitled_followed_articles(name):
                self._guarded(f"article {article_id} info", self._fetch_info, article_id)
            for article_id in self.store.articles_to_scan(name):
                self._guarded(f"article {article_id}", self._scan_article, article_id)
        except AuthExpired as exc:
            self._fail("login", "auth_expired", exc)
            return "auth_expired", str(exc)
        except RateLimited as exc:
            self._fail("server", "rate_limited", exc)
            return "partial", f"{exc}; stopped politely, the next sync resumes here"
        except _TooManyFailures as exc:
            return "failed", str(exc)
        failures = self.store.run(self.run_id)["failures"]
        if failures:
            return "partial", f"{failures} item(s) failed; see 'yomitori comments status'"
        return "ok", ""

    def _fail(self, target: str, kind: str, exc: SourceError) -> None:
        # Run-ending errors are reported by the caller; an item's failure is worth a warning.
        level = logging.INFO if kind in ("auth_expired", "rate_limited") else logging.WARNING
        log.log(level, "%s: %s", target, exc)
        self.store.record_failure(self.run_id, target, kind, str(exc), exc.raw, self.source.name)

    def _guarded(self, target: str, step: Callable[[str], None], ref: str) -> None:
        """Run one step; a failure of this item is recorded and the run goes on to the next."""
        try:
            step(ref)
        except (FetchFailed, BadResponse) as exc:
            kind = "network" if isinstance(exc, FetchFailed) else "bad_response"
            self._fail(target, kind, exc)
            self.consecutive_failures += 1
            if self.consecutive_failures >= self.config.max_consecutive_failures:
                raise _TooManyFailures(
                    f"{self.consecutive_failures} failures in a row, the last: {exc}"
                ) from None
        else:
            self.consecutive_failures = 0

    def _sync_column(self, column_id: str) -> None:
        pager = Pager(
            functools.partial(self.source.fetch_article_page, column_id),
            self.source.article_cursor,
            max_pages=self.config.max_article_pages,
            label=f"column {column_id}",
        )
        for page, _ in pager:
            self.store.save_article_page(self.run_id, self.source.name, page)

    def _fetch_info(self, article_id: str) -> None:
        page = self.source.fetch_article_info(article_id)
        self.store.save_article_page(self.run_id, self.source.name, page)

    def _scan_article(self, article_id: str) -> None:
        name, store = self.source.name, self.store
        token = f"{self.run_id}:{article_id}"
        state: dict[str, Any] | None = store.scan_state(name, article_id)
        # Only a scan done start to end in one go may count misses towards deletion.
        full = state is None
        if state is None or state.get("phase") == "pages":
            start = state.get("cursor") if state else None
            if state:
                log.info("article %s: resuming comments at cursor %r", article_id, start)
            pager = Pager(
                functools.partial(self.source.fetch_comment_page, article_id),
                self.source.comment_cursor,
                start=start,
                max_pages=self.config.max_comment_pages,
                label=f"article {article_id}",
            )
            for page, next_cursor in pager:
                next_state = (
                    {"phase": "pages", "cursor": next_cursor}
                    if next_cursor is not None
                    else {"phase": "discussions"}
                )
                store.save_comment_page(self.run_id, name, article_id, page, token, next_state)
            full = full and pager.complete
        for comment_id, count in store.pending_discussions(name, article_id):
            self._fetch_discussion(article_id, comment_id, count, token)
        deleted = store.complete_scan(self.run_id, name, article_id, token, full)
        if deleted:
            log.info(
                "article %s: %d item(s) missing from two complete scans, marked deleted",
                article_id,
                deleted,
            )

    def _fetch_discussion(self, article_id: str, comment_id: str, count: int, token: str) -> None:
        pager = Pager(
            functools.partial(self.source.fetch_discussion_page, article_id, comment_id),
            self.source.discussion_cursor,
            max_pages=self.config.max_discussion_pages,
            label=f"comment {comment_id}",
        )
        for page, _ in pager:
            self.store.save_discussion_page(self.run_id, self.source.name, article_id, page, token)
        self.store.mark_discussion_synced(
            self.source.name, comment_id, count, token if pager.complete else None
        )
