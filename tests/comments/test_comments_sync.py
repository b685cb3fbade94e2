"""Sync runs against the fake GeekTime server: paging, changes between syncs, faults, resume."""

from __future__ import annotations

import logging

from comments_harness import assert_consistent
from fake_geektime import COOKIE, Fault
from geektime_scenario import advance_week1, advance_week2, by_id, remove

V4 = "/serv/v4/comment/list"


def comment_requests(fake, aid):
    return [r for r in fake.requests_to(V4) if r.body["aid"] == aid]


def test_first_sync_reads_every_page_with_headers(harness, fake):
    result = harness.sync()
    assert result.status == "ok", result.message
    assert harness.count("SELECT COUNT(*) FROM articles") == 3
    assert harness.count("SELECT COUNT(*) FROM comments WHERE article_id='1001'") == 45
    assert harness.count("SELECT COUNT(*) FROM comments WHERE article_id='1002'") == 4
    # 45 comments in pages of 20: three requests, each prev the score of the page's last item.
    pages = comment_requests(fake, 1001)
    assert [r.body["prev"] for r in pages] == [0, by_id(fake, 5026).score, by_id(fake, 5006).score]
    assert harness.count("SELECT COUNT(*) FROM replies WHERE is_teacher=1") == 5
    assert harness.count("SELECT COUNT(*) FROM replies WHERE kind='discussion'") == 2
    assert len(fake.requests_to("/serv/discussion/v1/root_list")) == 1
    for request in fake.log:
        assert request.headers["origin"] == fake.url
        assert request.headers["referer"].startswith(fake.url + "/column/")
        assert request.headers["cookie"] == COOKIE
    # Every response kept, compressed, one per request.
    assert (
        harness.count("SELECT COUNT(*) FROM raw_responses")
        == len(fake.log)
        == result.counts["pages"]
    )
    assert result.counts["new_comments"] == 49
    assert_consistent(harness.db_path)


def test_new_comments_and_an_edit_between_syncs(harness, fake, clock):
    harness.sync()
    clock.advance(days=7)
    advance_week1(fake)
    result = harness.sync()
    assert result.status == "ok"
    assert (result.counts["new_comments"], result.counts["edits"]) == (3, 1)
    row = harness.store.conn.execute("SELECT * FROM comments WHERE id='5010'").fetchone()
    assert "已修改" in row["content"] and row["edited_at"] == "2024-01-08T06:00:00Z"
    old = harness.store.conn.execute(
        "SELECT content FROM revisions WHERE item_id='5010'"
    ).fetchone()
    assert "已修改" not in old["content"]
    # A third sync with nothing changed finds nothing new and edits nothing.
    result = harness.sync()
    assert (
        result.counts["new_comments"],
        result.counts["edits"],
        result.counts["new_replies"],
    ) == (0, 0, 0)
    assert_consistent(harness.db_path)


def test_teacher_reply_that_appears_a_week_later(harness, fake, clock):
    harness.sync()
    clock.advance(days=7)
    advance_week1(fake)
    harness.sync()
    clock.advance(days=7)
    advance_week2(fake)
    result = harness.sync()
    assert result.counts["new_teacher_replies"] == 1
    reply = harness.store.conn.execute("SELECT * FROM replies WHERE id='8002'").fetchone()
    assert reply["is_teacher"] == 1 and reply["comment_id"] == "6005"
    assert reply["first_seen_at"] == "2024-01-15T06:00:00Z"
    assert "https://example.com/regex/lazy" in reply["content"]  # &#47; unescaped
    comment = harness.store.conn.execute("SELECT * FROM comments WHERE id='6005'").fetchone()
    assert comment["edited_at"] is None  # a new reply is not an edit of the question
    # The changed discussion count made the tracker fetch that discussion again.
    assert harness.count("SELECT COUNT(*) FROM replies WHERE id='9003'") == 1
    assert_consistent(harness.db_path)


def test_deleted_only_after_two_complete_scans_miss_it(harness, fake, clock):
    harness.sync()
    by_id_saved = by_id(fake, 5020)
    remove(fake, 5020)
    harness.sync()
    deleted = "SELECT deleted_at FROM comments WHERE id='5020'"
    assert harness.store.conn.execute(deleted).fetchone()[0] is None  # one miss: still there
    clock.advance(days=1)
    result = harness.sync()
    assert result.counts["deleted"] == 2  # the comment and the teacher's reply under it
    assert harness.store.conn.execute(deleted).fetchone()[0] == "2024-01-02T06:00:00Z"
    reply = "SELECT deleted_at FROM replies WHERE id='7020'"
    assert harness.store.conn.execute(reply).fetchone()[0] == "2024-01-02T06:00:00Z"
    # It comes back (a moderation mistake undone): no longer deleted.
    fake.comments[1001].append(by_id_saved)
    assert harness.sync().counts["deleted"] == 0
    assert harness.store.conn.execute(deleted).fetchone()[0] is None
    assert_consistent(harness.db_path)


def test_incomplete_scans_never_delete(harness, fake):
    harness.sync()
    fake.ignore_cursor = True  # the server ignores prev: the pager's no-new-ids guard stops it
    for _ in range(3):
        result = harness.sync()
        assert result.status == "ok"
    assert len(comment_requests(fake, 1001)) == 3 + 3 * 2  # first page, then its repeat
    assert harness.count("SELECT COUNT(*) FROM comments WHERE deleted_at IS NOT NULL") == 0
    assert_consistent(harness.db_path)


def test_page_cap_stops_paging_and_never_deletes(harness, fake):
    for _ in range(3):
        harness.sync(max_comment_pages=2)
    assert harness.count("SELECT COUNT(*) FROM comments WHERE article_id='1001'") == 40
    assert harness.count("SELECT COUNT(*) FROM comments WHERE deleted_at IS NOT NULL") == 0


def test_expired_cookie_stops_the_run(harness, fake):
    harness.sync()
    fake.expired = True
    before = len(fake.log)
    result = harness.sync()
    assert result.status == "auth_expired"
    assert "-3050" in result.message and "Cookie" in result.message
    assert len(fake.log) == before + 1  # nothing more asked after the first refusal
    failure = harness.store.conn.execute("SELECT * FROM failures").fetchone()
    assert failure["kind"] == "auth_expired"
    assert_consistent(harness.db_path)


def test_wrong_cookie_is_an_expired_login_too(harness, fake):
    fake.cookie = "GCESS=someone-else"
    result = harness.sync()
    assert result.status == "auth_expired" and "-2000" in result.message


def test_rate_limit_mid_run_then_resume(harness, fake):
    # The second page of article 1001 answers 451: stop politely, keep the cursor.
    fake.faults.append(Fault(V4, "status", status=451, match={"aid": 1001}, skip=1))
    result = harness.sync()
    assert result.status == "partial" and "rate limited" in result.message
    assert fake.log[-1].path == V4 and fake.log[-1].body["aid"] == 1001  # nothing after the 451
    saved = harness.store.scan_state("geektime", "1001")
    assert saved == {"phase": "pages", "cursor": by_id(fake, 5026).score}
    assert harness.count("SELECT COUNT(*) FROM comments") == 20
    assert_consistent(harness.db_path)

    before = len(fake.log)
    result = harness.sync()
    assert result.status == "ok", result.message
    resumed = [r for r in fake.log[before:] if r.path == V4]
    assert resumed[0].body == {"aid": 1001, "prev": saved["cursor"], "sort": 0}
    assert harness.count("SELECT COUNT(*) FROM comments") == 49
    assert harness.count("SELECT COUNT(DISTINCT id) FROM comments") == 49
    assert harness.store.scan_state("geektime", "1001") is None
    status = [
        r["status"] for r in harness.store.conn.execute("SELECT status FROM runs ORDER BY id")
    ]
    assert status == ["partial", "ok"]
    assert_consistent(harness.db_path)


def test_malformed_json_is_recorded_and_the_run_goes_on(harness, fake):
    fake.faults.append(Fault(V4, "malformed", match={"aid": 1002}))
    result = harness.sync()
    assert result.status == "partial"
    failure = harness.store.conn.execute("SELECT * FROM failures").fetchone()
    assert failure["target"] == "article 1002" and failure["kind"] == "bad_response"
    assert "malformed JSON" in failure["message"]
    assert harness.count("SELECT COUNT(*) FROM raw_responses WHERE parse_ok=0") == 1
    assert len(comment_requests(fake, 1002)) == 1  # not retried: only network errors and 5xx
    assert len(comment_requests(fake, 1003)) == 1  # the next article was still scanned
    assert harness.sync().status == "ok"
    assert harness.count("SELECT COUNT(*) FROM comments WHERE article_id='1002'") == 4
    assert_consistent(harness.db_path)


def test_timeouts_are_retried_then_recorded(harness, fake):
    source = harness.source(timeout_s=0.25)
    fake.faults.append(Fault(V4, "delay", delay_s=0.6, match={"aid": 1002}))
    fake.faults.append(Fault(V4, "delay", delay_s=0.6, times=3, match={"aid": 1003}))
    result = harness.sync(source)
    assert result.status == "partial"
    assert len(comment_requests(fake, 1002)) == 2  # timed out once, then answered
    assert harness.count("SELECT COUNT(*) FROM comments WHERE article_id='1002'") == 4
    assert len(comment_requests(fake, 1003)) == 3  # 1 + 2 retries, then given up
    failure = harness.store.conn.execute("SELECT * FROM failures").fetchone()
    assert failure["target"] == "article 1003" and failure["kind"] == "network"
    assert_consistent(harness.db_path)


def test_5xx_retried_4xx_not(harness, fake):
    fake.faults.append(Fault(V4, "status", status=502, match={"aid": 1001}))
    fake.faults.append(Fault(V4, "status", status=403, match={"aid": 1002}))
    result = harness.sync()
    assert result.status == "partial"
    assert harness.count("SELECT COUNT(*) FROM comments WHERE article_id='1001'") == 45
    assert len(comment_requests(fake, 1002)) == 1
    assert "HTTP 403" in harness.store.conn.execute("SELECT message FROM failures").fetchone()[0]


def test_network_down_fails_the_run_after_three_items(harness, fake):
    harness.sync()
    fake.stop()
    result = harness.sync()
    assert result.status == "failed" and "3 failures in a row" in result.message
    assert harness.count("SELECT COUNT(*) FROM failures") == 3  # the column, 1001, 1002
    assert_consistent(harness.db_path)


def test_old_comment_endpoint_when_v4_is_gone(harness, fake):
    fake.disable_v4 = True
    result = harness.sync()
    assert result.status == "ok"
    assert len(fake.requests_to(V4)) == 1
    assert len(fake.requests_to("/serv/v1/comments")) == 3 + 1 + 1
    assert harness.count("SELECT COUNT(*) FROM comments") == 49


def test_request_budget_ends_the_run_as_partial(harness, fake):
    result = harness.sync(harness.source(max_requests=3))
    assert result.status == "partial" and "budget" in result.message
    assert len(fake.log) == 3
    assert harness.sync().status == "ok"
    assert harness.count("SELECT COUNT(*) FROM comments") == 49


def test_cookie_is_never_stored_or_logged(harness, fake, caplog):
    caplog.set_level(logging.DEBUG, logger="yomitori.comments")
    fake.faults.append(Fault(V4, "status", status=500, match={"aid": 1002}))
    harness.sync()
    harness.store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    secret = "fake-session-3f9a"
    for path in harness.db_path.parent.iterdir():
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    for raw in harness.store.iter_raw():
        assert secret not in raw.request_json()
    assert secret not in caplog.text
    assert "POST /serv/v4/comment/list" in caplog.text  # the log does describe the requests


def test_raw_responses_can_be_reprocessed(harness, fake):
    from yomitori.comments.geektime import parse_comment_page

    harness.sync()
    ids = set()
    for raw in harness.store.iter_raw(V4):
        ids |= {c.id for c in parse_comment_page(raw, str(raw.request["aid"]), None).items}
    stored = {r[0] for r in harness.store.conn.execute("SELECT id FROM comments")}
    assert ids == stored


def test_an_article_followed_on_its_own(harness, fake):
    from yomitori.comments.model import Target

    harness.store.remove_follow(Target("geektime", "column", "100001"))
    harness.store.add_follow(Target("geektime", "article", "1002"))
    assert harness.sync().status == "ok"
    assert len(fake.requests_to("/serv/v1/column/articles")) == 0
    assert [r.body["id"] for r in fake.requests_to("/serv/v1/article")] == ["1002"]
    row = harness.store.conn.execute("SELECT * FROM articles WHERE id='1002'").fetchone()
    assert (row["title"], row["column_id"]) == ("02 | 基础篇：元字符与量词", "100001")
    assert harness.count("SELECT COUNT(*) FROM comments") == 4
    harness.sync()
    assert len(fake.requests_to("/serv/v1/article")) == 1  # the title is asked for once
