"""Pure pieces: cursor strategies and loop guards, envelope parsing, cookies, pacing, schedules."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path

import pytest

from yomitori.comments.auth import COOKIE_ENV, Secret, load_cookie, write_cookie_file
from yomitori.comments.geektime import GeekTimeSource, parse_comment_page, unwrap
from yomitori.comments.http import HttpClient, HttpConfig, check_base_url
from yomitori.comments.model import AuthExpired, BadResponse, CommentItem, Page, RawResponse
from yomitori.comments.paging import EndReason, LastItemCursor, PageNumberCursor, Pager
from yomitori.comments.schedule import ScheduleSpec, cron_line, run_loop, systemd_units
from yomitori.errors import UserError


def raw(payload, status: int = 200) -> RawResponse:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return RawResponse("/serv/v4/comment/list", {"aid": 1}, status, body)


def page(ids, more=True, scores=None) -> Page:
    items = tuple(
        CommentItem(str(i), "1", "u", "c", 0, 0, 0, score=str(s))
        for i, s in zip(ids, scores or [1000 - i for i in ids], strict=True)
    )
    return Page(items, more, raw({"code": 0}))


# --- paging -------------------------------------------------------------------------------------


def run_pager(pages_by_cursor, strategy, **kwargs):
    asked = []

    def fetch(cursor):
        asked.append(cursor)
        return pages_by_cursor(cursor)

    pager = Pager(fetch, strategy, **kwargs)
    yielded = list(pager)
    return pager, asked, yielded


def test_score_cursor_pages_to_the_end():
    pages = {
        0: page([1, 2], scores=[90, 80]),
        80: page([3, 4], scores=[70, 60]),
        60: page([5], more=False, scores=[50]),
    }
    pager, asked, yielded = run_pager(pages.__getitem__, LastItemCursor("score"))
    assert asked == [0, 80, 60]
    assert [nxt for _, nxt in yielded] == [80, 60, None]
    assert pager.end_reason is EndReason.NO_MORE and pager.complete


def test_id_and_page_number_cursors():
    pages = {0: page([1, 2]), 2: page([3], more=False)}
    _, asked, _ = run_pager(pages.__getitem__, LastItemCursor("id"))
    assert asked == [0, 2]
    pages = {1: page([1, 2]), 2: page([3, 4]), 3: page([], more=True)}
    pager, asked, _ = run_pager(pages.__getitem__, PageNumberCursor(1))
    assert asked == [1, 2, 3] and pager.end_reason is EndReason.EMPTY_PAGE and pager.complete


def test_guard_repeated_cursor():
    # Two different pages whose last items share a score: the next cursor would repeat.
    pages = {0: page([1, 2], scores=[90, 80]), 80: page([3, 4], scores=[85, 80])}
    pager, asked, yielded = run_pager(pages.__getitem__, LastItemCursor("score"))
    assert asked == [0, 80] and yielded[-1][1] is None
    assert pager.end_reason is EndReason.REPEATED_CURSOR and not pager.complete


def test_guard_no_new_ids():
    pager, asked, _ = run_pager(
        lambda c: page([1, 2], scores=[90, 80 - len(str(c))]), LastItemCursor("score")
    )
    assert len(asked) == 2 and pager.end_reason is EndReason.NO_NEW_IDS and not pager.complete


def test_guard_page_cap_and_missing_cursor():
    pager, asked, _ = run_pager(lambda c: page([c + 1]), PageNumberCursor(0), max_pages=5)
    assert asked == [0, 1, 2, 3, 4] and pager.end_reason is EndReason.PAGE_CAP
    no_score = Page((CommentItem("1", "1", "u", "c", 0, 0, 0),), True, raw({"code": 0}))
    pager, asked, _ = run_pager(lambda c: no_score, LastItemCursor("score"))
    assert asked == [0] and pager.end_reason is EndReason.NO_CURSOR


def test_resume_starts_at_the_given_cursor():
    pages = {70: page([5], more=False)}
    _, asked, _ = run_pager(pages.__getitem__, LastItemCursor("score"), start=70)
    assert asked == [70]


# --- envelopes ----------------------------------------------------------------------------------


def test_envelope_with_empty_error_list():
    assert unwrap(raw({"code": 0, "data": {"list": []}, "error": []})) == {"list": []}


@pytest.mark.parametrize(
    "envelope",
    [
        {"code": -1, "data": [], "error": {"code": -2000, "msg": "未登录"}},
        {"code": -3050, "data": [], "error": []},
        {"code": -1, "data": [], "error": {"code": -3050, "msg": "登录已过期"}},
    ],
)
def test_expired_login_codes(envelope):
    with pytest.raises(AuthExpired):
        unwrap(raw(envelope))


@pytest.mark.parametrize(
    "body",
    [b'{"code":0,"data":{"list":[{"id":1,', b"<html>", b"[1,2]", b"\xff\xfe", b'{"data": 1}'],
)
def test_malformed_bodies(body):
    with pytest.raises(BadResponse) as info:
        unwrap(raw(body))
    assert info.value.raw is not None  # kept for the database


def test_other_error_codes_and_items_without_ids():
    with pytest.raises(BadResponse, match="error code -1 no such"):
        unwrap(raw({"code": -1, "data": [], "error": {"code": -4000, "msg": "no such"}}))
    with pytest.raises(BadResponse, match="without id"):
        parse_comment_page(raw({"code": 0, "data": {"list": [{"comment_content": "x"}]}}), "1", 0)


def test_empty_data_is_an_empty_last_page():
    p = parse_comment_page(raw({"code": 0, "data": [], "error": []}), "1", 0)
    assert p.items == () and p.more is False


def test_parse_target():
    assert GeekTimeSource.parse_target(" 100017301 ").kind == "column"
    t = GeekTimeSource.parse_target("https://time.geekbang.org/column/intro/100017301?tab=catalog")
    assert (t.kind, t.ref) == ("column", "100017301")
    t = GeekTimeSource.parse_target("https://time.geekbang.org/column/article/245166")
    assert (t.kind, t.ref) == ("article", "245166")
    for bad in ("", "abc", "https://example.com/column/article/1", "ftp://time.geekbang.org/x"):
        with pytest.raises(ValueError):
            GeekTimeSource.parse_target(bad)


# --- cookies and the client -------------------------------------------------------------------------


def test_cookie_from_env_wins_and_is_cleaned(tmp_path: Path):
    secret = load_cookie({COOKIE_ENV: "Cookie: GCESS=abc \n"}, tmp_path / "none")
    assert secret.reveal() == "GCESS=abc"
    assert "abc" not in repr(secret) and "abc" not in str(secret) and "abc" not in f"{secret}"


def test_cookie_file_must_be_private(tmp_path: Path):
    path = tmp_path / "geektime.cookie"
    write_cookie_file(path, "GCESS=abc")
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_cookie({}, path).reveal() == "GCESS=abc"
    path.chmod(0o644)
    with pytest.raises(UserError, match="chmod 600"):
        load_cookie({}, path)
    with pytest.raises(UserError, match="no login cookie"):
        load_cookie({}, tmp_path / "missing")
    with pytest.raises(UserError, match="one line"):
        load_cookie({COOKIE_ENV: "a=1\nb=2"}, None)


def test_base_url_must_be_https_or_loopback():
    assert check_base_url("https://time.geekbang.org/") == "https://time.geekbang.org"
    assert check_base_url("http://127.0.0.1:8080") == "http://127.0.0.1:8080"
    for bad in (
        "http://time.geekbang.org",
        "http://10.0.0.1",
        "file:///etc/passwd",
        "time.geekbang.org",
    ):
        with pytest.raises(ValueError):
            check_base_url(bad)


def test_pacing_is_jittered_and_seeded():
    """Requests to a closed port fail fast; what matters is the sleeps between them."""

    def sleeps(seed):
        clock, slept = [0.0], []

        def sleep(s):
            slept.append(round(s, 6))
            clock[0] += s

        config = HttpConfig(
            base_url="http://127.0.0.1:9",
            pace_s=(3.0, 5.0),
            timeout_s=0.2,
            max_retries=2,
            backoff_s=1.0,
        )
        client = HttpClient(
            config, Secret("x"), random.Random(seed), sleep=sleep, monotonic=lambda: clock[0]
        )
        with pytest.raises(Exception, match="after 3 attempts"):
            client.post_json("/serv/v4/comment/list", {"aid": 1}, "http://127.0.0.1:9/")
        return slept

    first = sleeps(7)
    assert first == sleeps(7) and first != sleeps(8)
    # backoff 1 s then 2 s (+ up to 50 % jitter), then the pacing gap of 3-5 s minus the backoff
    assert 1.0 <= first[0] <= 1.5 and 2.0 <= first[2] <= 3.0
    assert all(0 <= s <= 5.0 for s in first[1::2])
    assert "x" not in repr(HttpClient(HttpConfig(), Secret("x"), random.Random(0)))


# --- schedules ----------------------------------------------------------------------------------------


def test_cron_line_and_systemd_units():
    spec = ScheduleSpec(
        timedelta(days=7),
        ["/venv/bin/yomitori", "comments", "sync", "--db", "/home/me/my db.sqlite3"],
    )
    line = cron_line(spec, "/home/me/sync.log")
    assert line.startswith(
        "17 6 * * 1 /venv/bin/yomitori comments sync --db '/home/me/my db.sqlite3'"
    )
    assert line.endswith(">> /home/me/sync.log 2>&1")
    assert cron_line(ScheduleSpec(timedelta(days=1), ["y"]), "l").startswith("17 6 * * * y")
    assert cron_line(ScheduleSpec(timedelta(hours=6), ["y"]), "l").startswith("17 */6 * * * y")
    units = systemd_units(spec)
    assert "OnCalendar=Mon *-*-* 06:17:00" in units["yomitori-comments.timer"]
    assert "Persistent=true" in units["yomitori-comments.timer"]
    assert "Type=oneshot" in units["yomitori-comments.service"]
    assert (
        "ExecStart=/venv/bin/yomitori comments sync --db '/home/me/my db.sqlite3'"
        in (units["yomitori-comments.service"])
    )
    timer = systemd_units(ScheduleSpec(timedelta(days=3), ["y"]))["yomitori-comments.timer"]
    assert "OnUnitActiveSec=259200s" in timer and "Persistent" not in timer
    assert cron_line(ScheduleSpec(timedelta(days=1), ["y", "50%"]), "l").endswith(
        "y 50\\% >> l 2>&1"
    )


def test_run_loop_stops_on_false_and_on_max_runs():
    slept = []
    assert run_loop(timedelta(days=7), lambda: True, slept.append, max_runs=3) == 3
    assert slept == [604800.0, 604800.0]
    results = iter([True, False, True])
    assert run_loop(timedelta(hours=1), lambda: next(results), slept.append, max_runs=10) == 2
