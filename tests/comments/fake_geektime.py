"""A local fake of the GeekTime endpoints: real HTTP on 127.0.0.1 (port 0), scrubbed data.

The responses follow the shapes public clients rely on: the ``{code, data, error}`` envelope
(``error`` is ``[]`` on success), comments with ``replies[]`` (作者回复), ``root_list``
discussions, and the personal fields the tracker must drop (``ip_address``, ``uid``,
``user_header`` avatars). Faults are injected per request: HTTP statuses, an expired login,
malformed JSON, slow responses (client timeouts) and a stall that a test can use to kill a
client mid-run. Run it by hand with ``python tests/comments/fake_geektime.py``.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

COOKIE = "GCID=fake-gcid; GCESS=fake-session-3f9a"  # what the fake server accepts


@dataclass
class Discussion:
    id: int
    user_name: str
    content: str
    ctime: int
    children: list[Discussion] = field(default_factory=list)


@dataclass
class Comment:
    id: int
    aid: int
    user_name: str
    content: str
    ctime: int
    uid: int = 0
    like_count: int = 0
    replies: list[dict[str, Any]] = field(default_factory=list)  # {id, content, ctime}
    discussions: list[Discussion] = field(default_factory=list)

    @property
    def score(self) -> int:
        # Sort key, newest first; unique like the real one (time, then id).
        return self.ctime * 1000 + self.id % 1000

    def discussion_count(self) -> int:
        return sum(1 + len(d.children) for d in self.discussions)


@dataclass
class Fault:
    """Applies to requests to ``path`` whose JSON body contains ``match``: after ``skip`` of them,
    the next ``times`` get ``kind``: status | auth | malformed | delay | stall."""

    path: str
    kind: str
    times: int = 1
    match: dict[str, Any] = field(default_factory=dict)
    skip: int = 0
    status: int = 451
    delay_s: float = 0.0


@dataclass
class Request:
    path: str
    body: dict[str, Any]
    headers: dict[str, str]


class FakeGeekTime:
    def __init__(self) -> None:
        self.columns: dict[int, list[dict[str, Any]]] = {}  # cid -> [{id, title, ctime}]
        self.comments: dict[int, list[Comment]] = {}  # aid -> comments
        self.page_size = 20
        self.cookie = COOKIE
        self.expired = False  # True: every request answers "login expired" (-3050)
        self.disable_v4 = False  # True: /serv/v4/comment/list answers 404
        self.ignore_cursor = False  # True: every comment page request gets the first page
        self.faults: list[Fault] = []
        self.log: list[Request] = []
        self.served: list[Request] = []  # requests answered in full
        self.stalled = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeGeekTime:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)  # loopback only, any port
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def requests_to(self, path: str) -> list[Request]:
        return [r for r in self.log if r.path == path]

    # --- responses -----------------------------------------------------------------------------

    def respond(
        self, path: str, body: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, bytes, Fault | None]:
        with self.lock:
            self.log.append(Request(path, body, headers))
            fault = self._take_fault(path, body)
        if fault is not None and fault.kind == "status":
            return fault.status, b"<html>rate limited</html>", fault
        if fault is not None and fault.kind == "malformed":
            return 200, b'{"code":0,"data":{"list":[{"id":1,', fault
        if self.expired or (fault is not None and fault.kind == "auth"):
            return 200, _envelope(None, code=-1, error={"code": -3050, "msg": "登录已过期"}), fault
        if headers.get("cookie") != self.cookie:
            return 200, _envelope(None, code=-1, error={"code": -2000, "msg": "未登录"}), fault
        if path == "/serv/v4/comment/list" and self.disable_v4:
            return 404, b"not found", fault
        route = {
            "/serv/v1/column/articles": self._articles,
            "/serv/v1/article": self._article,
            "/serv/v4/comment/list": self._comments,
            "/serv/v1/comments": self._comments,
            "/serv/discussion/v1/root_list": self._discussions,
        }.get(path)
        if route is None:
            return 404, b"not found", fault
        return 200, _envelope(route(body)), fault

    def _take_fault(self, path: str, body: dict[str, Any]) -> Fault | None:
        for fault in self.faults:
            if fault.path != path or fault.times <= 0:
                continue
            if any(body.get(k) != v for k, v in fault.match.items()):
                continue
            if fault.skip > 0:
                fault.skip -= 1
                continue
            fault.times -= 1
            return fault
        return None

    def _articles(self, body: dict[str, Any]) -> dict[str, Any]:
        articles = sorted(self.columns.get(int(body["cid"]), []), key=lambda a: a["id"])
        prev, size = int(body.get("prev") or 0), int(body.get("size") or 20)
        rest = [a for a in articles if a["id"] > prev]
        page = rest[:size]
        items = [
            {
                "id": a["id"],
                "article_title": a["title"],
                "article_ctime": a["ctime"],
                "column_had_sub": True,
                "score": str(a["ctime"] * 1000),
                "audio_size": 0,
            }
            for a in page
        ]
        return {"list": items, "page": {"count": len(articles), "more": len(rest) > size}}

    def _article(self, body: dict[str, Any]) -> dict[str, Any]:
        aid = int(body["id"])
        for cid, articles in self.columns.items():
            for a in articles:
                if a["id"] == aid:
                    return {
                        "id": aid,
                        "cid": cid,
                        "article_title": a["title"],
                        "article_ctime": a["ctime"],
                        "article_content": "<p>…</p>",
                    }
        return {"id": aid, "cid": 0, "article_title": f"文章 {aid}", "article_ctime": 0}

    def _comments(self, body: dict[str, Any]) -> dict[str, Any]:
        ordered = sorted(self.comments.get(int(body["aid"]), []), key=lambda c: -c.score)
        prev = 0 if self.ignore_cursor else int(body.get("prev") or 0)
        rest = [c for c in ordered if prev == 0 or c.score < prev]
        page = rest[: self.page_size]
        return {
            "list": [_comment_json(c) for c in page],
            "page": {"count": len(ordered), "more": len(rest) > self.page_size},
        }

    def _discussions(self, body: dict[str, Any]) -> dict[str, Any]:
        target = int(body["target_id"])
        found = [c for cs in self.comments.values() for c in cs if c.id == target]
        entries = found[0].discussions if found else []
        page, size = int(body.get("prev") or 1), int(body.get("size") or 20)
        chunk = entries[(page - 1) * size : page * size]
        return {
            "list": [_discussion_json(d) for d in chunk],
            "page": {"more": page * size < len(entries)},
        }


def _envelope(data: Any, code: int = 0, error: Any = None) -> bytes:
    payload = {
        "code": code,
        "data": data if data is not None else [],
        "error": error if error is not None else [],
        "extra": {"cost": 0.01},
    }
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def _escape(text: str) -> str:
    # The real API HTML-escapes '/' and quotes in comment text.
    return text.replace("/", "&#47;").replace("'", "&#39;")


def _comment_json(c: Comment) -> dict[str, Any]:
    return {
        "id": c.id,
        "aid": c.aid,
        "uid": c.uid or 90000 + c.id,
        "user_name": c.user_name,
        "user_header": f"https://static001.geekbang.org/account/avatar/00/{c.uid or c.id:06d}/x.jpg",
        "comment_content": _escape(c.content),
        "comment_ctime": c.ctime,
        "comment_is_top": False,
        "like_count": c.like_count,
        "had_liked": False,
        "discussion_count": c.discussion_count(),
        "score": str(c.score),
        "ip_address": "广东",
        "product_type": "c1",
        "replies": [
            {
                "id": r["id"],
                "content": _escape(r["content"]),
                "ctime": r["ctime"],
                "user_name": "作者回复",
                "user_name_real": "编辑",
                "uid": 1,
                "utype": 2,
                "comment_id": c.id,
                "ip_address": "北京",
            }
            for r in c.replies
        ],
    }


def _discussion_json(d: Discussion) -> dict[str, Any]:
    return {
        "author": {
            "id": 80000 + d.id,
            "nickname": d.user_name,
            "user_type": 1,
            "avatar": f"https://static001.geekbang.org/account/avatar/00/{d.id:06d}/y.jpg",
        },
        "discussion": {
            "id": d.id,
            "discussion_content": _escape(d.content),
            "ctime": d.ctime,
            "ip_address": "上海",
            "likes_number": 0,
        },
        "child_discussions": [_discussion_json(child) for child in d.children],
    }


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGeekTime
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base class name
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            body = {}
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, payload, fault = self.fake.respond(self.path, body, headers)
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.delay_s)
        if fault is not None and fault.kind == "stall":
            self.fake.stalled.set()
            self.fake.release.wait(timeout=30)
        with contextlib.suppress(OSError):  # the client may have given up (timeout, kill)
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            self.wfile.flush()
            with self.fake.lock:
                self.fake.served.append(Request(self.path, body, headers))


if __name__ == "__main__":  # pragma: no cover - manual poking: serve the test scenario
    from geektime_scenario import build_week0

    fake = build_week0(FakeGeekTime()).start()
    print(f"fake GeekTime on {fake.url}; cookie: {COOKIE!r}; Ctrl-C to stop")
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()
    fake.stop()
