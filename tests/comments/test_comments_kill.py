"""SIGKILL a real ``yomitori comments sync`` process mid-run; nothing fetched may be lost.

The fake server stalls on the third comment page of article 1001; once the client is waiting
on it, the test kills the process. Every page the server answered before that must be in the
database (committed page by page), the database must pass integrity checks, and a second
sync must mark the dead run ``interrupted`` and resume at the saved cursor.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys

import pytest
from comments_harness import assert_consistent
from fake_geektime import COOKIE, Fault
from geektime_scenario import COLUMN, by_id

V4 = "/serv/v4/comment/list"

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")


def sync_command(db, fake) -> list[str]:
    return [
        sys.executable,
        "-m",
        "yomitori.cli.comments",
        "sync",
        "--db",
        str(db),
        "--base-url",
        fake.url,
        "--pace",
        "0",
        "--timeout",
        "30",
        "--backoff",
        "0",
        "--seed",
        "0",
    ]


def test_kill_mid_sync_loses_nothing_and_resumes(tmp_path, fake):
    db = tmp_path / "comments.sqlite3"
    env = {**os.environ, "YOMITORI_GEEKTIME_COOKIE": COOKIE, "HOME": str(tmp_path)}
    subprocess.run(
        [sys.executable, "-m", "yomitori.cli.comments", "add", str(COLUMN), "--db", str(db)],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    fake.faults.append(Fault(V4, "stall", match={"aid": 1001}, skip=2))
    proc = subprocess.Popen(
        sync_command(db, fake), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert fake.stalled.wait(timeout=60), "the client never reached the stalled page"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None and not fake.stalled.is_set():
            proc.kill()
        proc.communicate(timeout=30)  # reaps it and closes the pipes
    answered = list(fake.served)  # before the stalled handler is released
    fake.release.set()
    assert proc.returncode == -signal.SIGKILL

    assert_consistent(db, allow_running=True)
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    # Every page answered before the kill is committed: the article list and two comment pages.
    assert [r.path for r in answered] == ["/serv/v1/column/articles", V4, V4]
    assert con.execute("SELECT COUNT(*) FROM raw_responses").fetchone()[0] == len(answered)
    assert con.execute("SELECT COUNT(*) FROM comments").fetchone()[0] == 40
    assert con.execute("SELECT status FROM runs").fetchall()[0]["status"] == "running"
    cursor = by_id(fake, 5006).score  # the last item of page two
    state = con.execute("SELECT scan_state FROM articles WHERE id='1001'").fetchone()[0]
    assert f'"cursor": {cursor}' in state
    con.close()

    before = len(fake.log)
    done = subprocess.run(
        sync_command(db, fake), env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "run 2 ok" in done.stdout
    resumed = [r for r in fake.log[before:] if r.path == V4]
    assert resumed[0].body == {"aid": 1001, "prev": cursor, "sort": 0}

    assert_consistent(db)
    con = sqlite3.connect(db)
    assert [r[0] for r in con.execute("SELECT status FROM runs ORDER BY id")] == [
        "interrupted",
        "ok",
    ]
    assert con.execute("SELECT COUNT(*) FROM comments").fetchone()[0] == 49
    assert (
        con.execute("SELECT COUNT(*) FROM articles WHERE scan_state IS NOT NULL").fetchone()[0] == 0
    )
    con.close()
