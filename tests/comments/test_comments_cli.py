"""``yomitori comments ...`` through the real dispatcher, against the fake server."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fake_geektime import COOKIE

from yomitori.cli import main


@pytest.fixture
def cli(tmp_path: Path, fake, monkeypatch):
    """Runs ``yomitori comments ARGS`` with a temporary database; returns (rc, out, err)."""
    db = tmp_path / "c.sqlite3"
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("YOMITORI_COMMENTS_DB", raising=False)
    monkeypatch.setenv("YOMITORI_GEEKTIME_COOKIE", COOKIE)

    def run(*args: str, capsys=None) -> tuple[int, str, str]:
        net = ["--base-url", fake.url, "--pace", "0", "--backoff", "0", "--seed", "1"]
        argv = ["comments", args[0], "--db", str(db), *args[1:]]
        if args[0] in ("sync", "schedule"):
            argv += net
        return main(argv)

    run.db = db
    return run


def test_add_sync_status_digest(cli, capsys, tmp_path):
    assert cli("add", "100001", "https://time.geekbang.org/column/article/1002") == 0
    assert cli("add", "100001") == 0
    out = capsys.readouterr().out
    assert "following geektime column 100001" in out and "already following" in out
    assert cli("sync") == 0
    assert "run 1 ok" in capsys.readouterr().out
    assert cli("status") == 0
    status = capsys.readouterr().out
    assert "last good run: #1" in status and "49 comments" in status
    assert "following: geektime article 1002" in status
    out_file = tmp_path / "digest.html"
    assert cli("digest", "--since", "7d", "--format", "html", "--out", str(out_file)) == 0
    assert "02 | 基础篇：元字符与量词" in out_file.read_text(encoding="utf-8")
    assert cli("digest") == 0
    assert "## 02 | 基础篇：元字符与量词" in capsys.readouterr().out
    # The sync ran at the real "now"; a digest of an earlier week is empty.
    assert cli("digest", "--now", "2024-01-01T06:00:00Z") == 0
    assert "Nothing new in this window." in capsys.readouterr().out
    assert cli("remove", "https://time.geekbang.org/column/article/1002") == 0


def test_user_errors_are_one_line_exit_2(cli, capsys, monkeypatch, fake):
    assert cli("add", "not-a-course") == 2
    assert "not a GeekTime column id" in capsys.readouterr().err
    assert cli("sync") == 2
    assert "nothing followed yet" in capsys.readouterr().err
    cli("add", "100001")
    fake.expired = True
    assert cli("sync") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "login expired (code -3050)" in err
    assert cli("status") == 0
    assert "auth_expired" in capsys.readouterr().out
    assert cli("digest", "--since", "7x") == 2


def test_cookie_file_set_up(cli, capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("YOMITORI_GEEKTIME_COOKIE")
    cli("add", "100001")
    assert cli("sync") == 2
    assert "no login cookie" in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"Cookie: {COOKIE}\n"))
    assert cli("set-cookie") == 0
    cookie_file = tmp_path / ".config" / "yomitori" / "geektime.cookie"
    assert cookie_file.stat().st_mode & 0o777 == 0o600
    assert cli("sync") == 0
    cookie_file.chmod(0o640)
    assert cli("sync") == 2
    assert "chmod 600" in capsys.readouterr().err


def test_schedule_prints_cron_and_systemd_without_the_cookie(cli, capsys):
    assert cli("schedule", "--every", "7d", "--at", "05:30") == 0
    out = capsys.readouterr().out
    assert "\n30 5 * * 1 " in out and "comments sync --db" in out and "--cookie-file" in out
    assert "[Timer]" in out and "OnCalendar=Mon *-*-* 05:30:00" in out and "ExecStart=" in out
    assert COOKIE not in out and "GCESS" not in out


def test_schedule_loop_runs_sync_and_writes_a_digest(cli, capsys, tmp_path):
    cli("add", "100001")
    digests = tmp_path / "digests"
    assert (
        cli("schedule", "--loop", "--every", "7d", "--max-runs", "1", "--digest-dir", str(digests))
        == 0
    )
    [written] = list(digests.iterdir())
    assert "开篇词" in written.read_text(encoding="utf-8")


def test_comments_command_never_imports_torch(tmp_path):
    code = (
        "import sys\n"
        "from yomitori.cli import main\n"
        f"main(['comments', 'add', '100001', '--db', {str(tmp_path / 'x.db')!r}])\n"
        f"main(['comments', 'status', '--db', {str(tmp_path / 'x.db')!r}])\n"
        "import yomitori.comments.sync, yomitori.comments.digest, yomitori.comments.schedule\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
