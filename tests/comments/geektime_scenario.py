"""The scrubbed course the tests follow, and how it changes week by week.

Week 0 (first sync): column 100001 with three articles; article 1001 has 45 comments (three
pages of 20), some with teacher replies and one with a discussion; article 1002 has four.
Week 1: two new comments on 1001, one on 1002, an edit.
Week 2: the teacher answers week 1's question on 1002 (a reply that appears a week later), edits
an older reply, a new comment with markup in it, a new discussion entry, an edit, a deletion.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fake_geektime import Comment, Discussion, FakeGeekTime

T0 = datetime(2024, 1, 1, 6, 0, tzinfo=UTC)  # the first sync
DAY = 86400
E0 = int(T0.timestamp())
COLUMN = 100001


def build_week0(fake: FakeGeekTime) -> FakeGeekTime:
    fake.columns[COLUMN] = [
        {"id": 1001, "title": "01 | 开篇词：为什么要学正则？", "ctime": E0 - 30 * DAY},
        {"id": 1002, "title": "02 | 基础篇：元字符与量词", "ctime": E0 - 29 * DAY},
        {"id": 1003, "title": "03 | 加餐：常见问题答疑", "ctime": E0 - 28 * DAY},
    ]
    first = []
    for n in range(1, 46):
        c = Comment(
            5000 + n,
            1001,
            f"学员{n:02d}",
            f"第{n}条留言：打卡，学习了正则的第{n}个要点。",
            E0 - 7 * DAY + n * 3600,
            like_count=n % 5,
        )
        if n % 10 == 0:
            c.replies.append(
                {"id": 7000 + n, "content": f"谢谢第{n}位同学，继续加油。", "ctime": c.ctime + 1800}
            )
        first.append(c)
    first[2].discussions = [
        Discussion(
            9001,
            "学员10",
            "我也有同样的疑问。",
            E0 - 6 * DAY,
            children=[Discussion(9002, "学员03", "后来看了第二讲就明白了。", E0 - 5 * DAY)],
        ),
    ]
    fake.comments[1001] = first
    fake.comments[1002] = [
        Comment(6001, 1002, "小林", "\\d 和 [0-9] 在 Python 3 里完全一样吗？", E0 - 3 * DAY),
        Comment(
            6002,
            1002,
            "Kenji",
            "量词 {m,n} 的 n 可以省略吗？",
            E0 - 3 * DAY + 600,
            replies=[
                {"id": 8001, "content": "可以，写成 {m,} 表示至少 m 次。", "ctime": E0 - 2 * DAY}
            ],
        ),
        Comment(6003, 1002, "阿杰", "打卡。", E0 - 2 * DAY),
        Comment(6004, 1002, "Mia", "点号默认不匹配换行，这点要注意。", E0 - DAY),
    ]
    fake.comments[1003] = []
    return fake


def advance_week1(fake: FakeGeekTime) -> None:
    """Changes a sync at T0 + 7 days picks up."""
    fake.comments[1001] += [
        Comment(5046, 1001, "学员46", "第46条留言：二刷。", E0 + 2 * DAY),
        Comment(5047, 1001, "学员47", "第47条留言：三刷。", E0 + 3 * DAY),
    ]
    by_id(fake, 5010).content = "第10条留言（已修改）：打卡，学习了正则的第10个要点。"
    fake.comments[1002].append(
        Comment(6005, 1002, "Kenji", "老师，贪婪和非贪婪匹配\n在性能上有区别吗？", E0 + 4 * DAY)
    )


def advance_week2(fake: FakeGeekTime) -> None:
    """Changes a sync at T0 + 14 days picks up: these make the golden digest."""
    by_id(fake, 6005).replies.append(
        {
            "id": 8002,
            "content": "有区别。非贪婪会一步一步地扩展，\n回溯多的时候要小心，详见 https://example.com/regex/lazy 。",
            "ctime": E0 + 10 * DAY,
        }
    )
    by_id(fake, 6002).replies[0]["content"] = "可以，写成 {m,} 表示至少 m 次；{,n} 则不是合法写法。"
    fake.comments[1002].append(
        Comment(
            6006,
            1002,
            "ゆき",
            "<script>alert(1)</script> 这样的输入\n要怎么转义？",
            E0 + 11 * DAY,
        )
    )
    by_id(fake, 5003).discussions.append(
        Discussion(9003, "学员20", "补充：可以用 re.DEBUG 看编译结果。", E0 + 12 * DAY)
    )
    by_id(fake, 6001).content = "\\d 和 [0-9] 在 Python 3 里完全一样吗？（补充：str 模式下）"
    remove(fake, 5020)


def by_id(fake: FakeGeekTime, comment_id: int) -> Comment:
    return next(c for cs in fake.comments.values() for c in cs if c.id == comment_id)


def remove(fake: FakeGeekTime, comment_id: int) -> None:
    for aid, comments in fake.comments.items():
        fake.comments[aid] = [c for c in comments if c.id != comment_id]
