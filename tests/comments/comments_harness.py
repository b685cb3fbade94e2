"""Test helpers for the comment tracker: an injectable clock, a harness, consistency checks.

Kept out of conftest.py so that test modules import them by a name no other suite uses.
"""

from __future__ import annotations

import json
import random
import sqlite3
import zlib
from datetime import datetime, timedelta
from pathlib import Path

from fake_geektime import COOKIE, FakeGeekTime
from geektime_scenario import COLUMN

from yomitori.comments.auth import Secret
from yomitori.comments.geektime import GeekTimeSource
from yomitori.comments.http import HttpClient, HttpConfig
from yomitori.comments.model import Target
from yomitori.comments.store import Store
from yomitori.comments.sync import SyncConfig, SyncResult, sync_all


class Clock:
    """``now`` for the store and the digest; tests move it by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


class Harness:
    """A database, a fake server and a way to run a sync against it, all in one process."""

    def __init__(self, tmp_path: Path, fake: FakeGeekTime, clock: Clock) -> None:
        self.db_path = tmp_path / "comments.sqlite3"
        self.fake, self.clock = fake, clock
        self.store = Store(self.db_path, clock=clock)
        self.store.add_follow(Target("geektime", "column", str(COLUMN)))

    def source(self, **http: object) -> GeekTimeSource:
        settings = {
            "base_url": self.fake.url,
            "pace_s": (0.0, 0.0),
            "timeout_s": 2.0,
            "max_retries": 2,
            "backoff_s": 0.0,
            **http,
        }
        client = HttpClient(HttpConfig(**settings), Secret(COOKIE), random.Random(0))
        return GeekTimeSource(client)

    def sync(self, source: GeekTimeSource | None = None, **config: int) -> SyncResult:
        source = source or self.source()
        return sync_all(
            self.store,
            source,
            SyncConfig(**config),
            request_count=lambda: source.client.requests_sent,
        )

    def count(self, sql: str, *args: object) -> int:
        return self.store.conn.execute(sql, args).fetchone()[0]


def assert_consistent(db_path: Path, allow_running: bool = False) -> None:
    """What must hold whatever happened to a sync: checked with a fresh connection."""
    db = sqlite3.connect(db_path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        orphans = db.execute(
            "SELECT COUNT(*) FROM replies r LEFT JOIN comments c ON c.source=r.source"
            " AND c.id=r.comment_id WHERE c.id IS NULL"
        ).fetchone()[0]
        assert orphans == 0
        orphans = db.execute(
            "SELECT COUNT(*) FROM comments c LEFT JOIN articles a ON a.source=c.source"
            " AND a.id=c.article_id WHERE a.id IS NULL"
        ).fetchone()[0]
        assert orphans == 0
        for (state,) in db.execute("SELECT scan_state FROM articles WHERE scan_state IS NOT NULL"):
            assert json.loads(state)["phase"] in ("pages", "discussions")
        for (body,) in db.execute("SELECT body FROM raw_responses"):
            zlib.decompress(body)
        if not allow_running:
            assert db.execute("SELECT COUNT(*) FROM runs WHERE status='running'").fetchone()[0] == 0
    finally:
        db.close()
