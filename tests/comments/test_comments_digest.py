"""The digest after three weekly syncs equals the golden Markdown file.

Regenerate the golden file after an intended change of the format, then review the diff::

    YOMITORI_REGEN_GOLDEN=1 .venv/bin/python -m pytest tests/comments/test_comments_digest.py
"""

from __future__ import annotations

import os
from datetime import timedelta, timezone
from pathlib import Path

import pytest
from comments_harness import assert_consistent
from geektime_scenario import advance_week1, advance_week2

from yomitori.atomic import atomic_write_text
from yomitori.comments.digest import build_digest, parse_duration, render_html, render_markdown
from yomitori.comments.geektime import GeekTimeSource

GOLDEN = Path(__file__).parent / "golden" / "digest_week2.md"
BEIJING = timezone(timedelta(hours=8))


@pytest.fixture
def three_weeks(harness, fake, clock):
    """Syncs at T0, T0 + 7 d and T0 + 14 d; the clock stays at T0 + 14 d."""
    assert harness.sync().status == "ok"
    clock.advance(days=7)
    advance_week1(fake)
    assert harness.sync().status == "ok"
    clock.advance(days=7)
    advance_week2(fake)
    assert harness.sync().status == "ok"
    assert_consistent(harness.db_path)
    return harness


def weekly_digest(harness):
    now = harness.clock()
    return build_digest(
        harness.store, "geektime", now - parse_duration("7d"), now, GeekTimeSource.article_url
    )


def test_digest_equals_golden_markdown(three_weeks):
    text = render_markdown(weekly_digest(three_weeks), BEIJING)
    if os.environ.get("YOMITORI_REGEN_GOLDEN"):
        atomic_write_text(GOLDEN, text)
    assert text == GOLDEN.read_text(encoding="utf-8")


def test_digest_puts_teacher_replies_first(three_weeks):
    digest = weekly_digest(three_weeks)
    [art] = [a for a in digest.articles if a.article_id == "1002"]
    assert [e.content[:3] for e in art.teacher_replies] == ["可以，", "有区别"]
    assert art.teacher_replies[0].edited and "合法" not in art.teacher_replies[0].previous
    assert art.teacher_replies[1].parent_user == "Kenji"
    section = render_markdown(digest, BEIJING).split("## 02 |")[1]
    assert section.index("★ Teacher replies") < section.index("### New comments")
    assert section.index("### New comments") < section.index("### Edits")
    assert digest.totals() == {
        "teacher_replies": 2,
        "new_comments": 1,
        "new_replies": 1,
        "edits": 1,
    }


def test_digest_leaves_out_personal_fields(three_weeks, fake):
    digest = weekly_digest(three_weeks)
    for text in (render_markdown(digest, BEIJING), render_html(digest, BEIJING)):
        for region in ("广东", "北京", "上海"):  # ip_address of comments, replies, discussions
            assert region not in text
        assert "avatar" not in text and "static001" not in text
        uids = [str(90000 + c.id) for cs in fake.comments.values() for c in cs]
        assert not any(uid in text for uid in uids)


def test_html_digest_escapes_and_highlights(three_weeks):
    page = render_html(weekly_digest(three_weeks), BEIJING)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count('class="teacher"') == 2
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")


def test_an_empty_window_says_so(harness, clock):
    harness.sync()
    clock.advance(days=30)
    text = render_markdown(weekly_digest(harness))
    assert "Nothing new in this window." in text and "0 teacher replies" in text


def test_first_digest_lists_everything(harness):
    harness.sync()
    digest = weekly_digest(harness)
    assert digest.totals()["new_comments"] == 49 and digest.totals()["teacher_replies"] == 5


@pytest.mark.parametrize(("text", "hours"), [("30m", 0.5), ("12h", 12), ("7d", 168), ("2w", 336)])
def test_parse_duration(text, hours):
    assert parse_duration(text) == timedelta(hours=hours)


@pytest.mark.parametrize("text", ["", "7", "0d", "7y", "-1d"])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError):
        parse_duration(text)
