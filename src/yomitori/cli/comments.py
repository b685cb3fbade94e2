"""``yomitori comments``: follow course comments and teacher replies (GeekTime first).

Examples::

    yomitori comments add 100017301                      # a column (course) id
    yomitori comments add https://time.geekbang.org/column/article/245166
    yomitori comments set-cookie < cookie.txt            # saved with mode 0600
    yomitori comments sync
    yomitori comments digest --since 7d --format md --out digest.md
    yomitori comments status
    yomitori comments schedule --every 7d                # prints a cron line and systemd units
    yomitori comments schedule --every 7d --loop         # or just keep running

This module reads the environment and the flags, and hands plain values to
``yomitori.comments``; it imports nothing of torch.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
from datetime import datetime
from pathlib import Path

from yomitori.atomic import atomic_write_text
from yomitori.errors import UserError

HELP = "follow course comments and teacher replies"
DESCRIPTION = __doc__.replace("``", "").split("\n\nThis module")[0]
DB_ENV = "YOMITORI_COMMENTS_DB"


def default_db(env: dict[str, str]) -> Path:
    if env.get(DB_ENV):
        return Path(env[DB_ENV])
    base = env.get("XDG_DATA_HOME") or str(
        Path(env.get("HOME", "~")).expanduser() / ".local" / "share"
    )
    return Path(base) / "yomitori" / "comments.sqlite3"


def _pace(text: str) -> tuple[float, float]:
    try:
        low, _, high = text.partition("-")
        pace = (float(low), float(high or low))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds like 3-5 or 0, not {text!r}") from None
    if pace[0] < 0 or pace[1] < pace[0]:
        raise argparse.ArgumentTypeError(f"expected MIN-MAX seconds with 0 <= MIN <= MAX: {text!r}")
    return pace


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db",
        type=Path,
        help=f"database (default ${DB_ENV} or ~/.local/share/yomitori/comments.sqlite3)",
    )
    common.add_argument("--source", default="geektime", choices=["geektime"], help="platform")

    net = argparse.ArgumentParser(add_help=False)
    net.add_argument(
        "--cookie-file",
        type=Path,
        help="file holding the Cookie header, mode 0600 (default "
        "~/.config/yomitori/geektime.cookie; $YOMITORI_GEEKTIME_COOKIE wins)",
    )
    net.add_argument(
        "--pace",
        type=_pace,
        default=(3.0, 5.0),
        metavar="MIN-MAX",
        help="seconds between requests, with jitter (default 3-5)",
    )
    net.add_argument("--timeout", type=float, default=20.0, help="seconds per request (default 20)")
    net.add_argument("--retries", type=int, default=3, help="retries on network errors and 5xx")
    net.add_argument("--backoff", type=float, default=5.0, help="first retry wait, doubling (s)")
    net.add_argument("--max-requests", type=int, default=5000, help="per run; then resume later")
    net.add_argument("--max-pages", type=int, default=200, help="comment pages per article")
    net.add_argument(
        "--cursor",
        default="score",
        choices=["score", "id", "page"],
        help="how the comment list's prev advances (default score)",
    )
    net.add_argument(
        "--comments-api",
        default="v4",
        choices=["v4", "v1"],
        help="comment endpoint; v4 falls back to v1 on 404",
    )
    net.add_argument("--seed", type=int, help="seed of the pacing jitter (reproducible runs)")
    net.add_argument("--base-url", default="https://time.geekbang.org", help=argparse.SUPPRESS)
    net.add_argument("-v", "--verbose", action="store_true", help="log each step to stderr")

    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = sub.add_parser("add", parents=[common], help="follow a column id or an article URL")
    p.add_argument("refs", nargs="+", metavar="COLUMN_ID_OR_URL")
    p = sub.add_parser("remove", parents=[common], help="stop following (the data stays)")
    p.add_argument("refs", nargs="+", metavar="COLUMN_ID_OR_URL")
    p = sub.add_parser(
        "set-cookie",
        parents=[common],
        help="read the Cookie header from stdin into the 0600 cookie file",
    )
    p.add_argument("--cookie-file", type=Path, help="where to save it")
    sub.add_parser("sync", parents=[common, net], help="fetch new and changed comments")
    p = sub.add_parser("digest", parents=[common], help="what is new: Markdown or HTML")
    p.add_argument("--since", default="7d", help="window, e.g. 24h, 7d, 2w (default 7d)")
    p.add_argument("--format", default="md", choices=["md", "html"])
    p.add_argument("--out", type=Path, help="write here (atomically) instead of stdout")
    p.add_argument("--now", help=argparse.SUPPRESS)  # ISO time, for reproducible digests
    sub.add_parser("status", parents=[common], help="last good run, failures, counts")
    p = sub.add_parser(
        "schedule", parents=[common, net], help="print a cron line and systemd timer, or --loop"
    )
    p.add_argument("--every", default="7d", help="interval, e.g. 1d, 7d (default 7d)")
    p.add_argument("--at", default="06:17", help="time of day HH:MM for cron (default 06:17)")
    p.add_argument("--loop", action="store_true", help="run sync now and then every interval")
    p.add_argument("--max-runs", type=int, help=argparse.SUPPRESS)
    p.add_argument("--digest-dir", type=Path, help="with --loop: write a digest after each sync")


def run(args: argparse.Namespace) -> int:
    env = dict(os.environ)
    db_path = args.db or default_db(env)
    action = args.action.replace("-", "_")
    return int(globals()[f"_cmd_{action}"](args, env, db_path) or 0)


def _source_class(args: argparse.Namespace) -> type:
    from yomitori.comments import SOURCES

    return SOURCES[args.source]


def _open_store(db_path: Path):  # noqa: ANN202 - Store, imported lazily
    from yomitori.comments.store import Store

    return Store(db_path)


def _cmd_add(args: argparse.Namespace, env: dict, db_path: Path) -> int:
    cls = _source_class(args)
    for ref in args.refs:
        try:
            target = cls.parse_target(ref)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        with _open_store(db_path) as store:
            added = store.add_follow(target)
        print(
            f"{'following' if added else 'already following'} {target.source} "
            f"{target.kind} {target.ref}"
        )
    return 0


def _cmd_remove(args: argparse.Namespace, env: dict, db_path: Path) -> int:
    cls = _source_class(args)
    for ref in args.refs:
        try:
            target = cls.parse_target(ref)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        with _open_store(db_path) as store:
            removed = store.remove_follow(target)
        print(
            f"{'stopped following' if removed else 'was not following'} {target.kind} {target.ref}"
        )
    return 0


def _cmd_set_cookie(args: argparse.Namespace, env: dict, db_path: Path) -> int:
    from yomitori.comments.auth import default_cookie_file, write_cookie_file

    path = args.cookie_file or default_cookie_file(env)
    if sys.stdin.isatty():
        print("paste the Cookie header value, then Ctrl-D:", file=sys.stderr)
    value = sys.stdin.read().strip()
    if not value:
        raise UserError("no cookie on stdin")
    write_cookie_file(path, value)
    print(f"saved the cookie to {path} (mode 600)")
    return 0


def _build_source(args: argparse.Namespace, env: dict):  # noqa: ANN202 - a CommentSource
    from yomitori.comments.auth import load_cookie
    from yomitori.comments.http import HttpClient, HttpConfig

    cookie = load_cookie(env, args.cookie_file)
    config = HttpConfig(
        base_url=args.base_url,
        pace_s=args.pace,
        timeout_s=args.timeout,
        max_retries=max(0, args.retries),
        backoff_s=args.backoff,
        max_requests=args.max_requests,
    )
    rng = random.Random(args.seed)
    try:
        client = HttpClient(config, cookie, rng)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    return _source_class(args)(client, comment_cursor=args.cursor, comments_api=args.comments_api)


def _sync_once(args: argparse.Namespace, env: dict, db_path: Path) -> str:
    import logging

    from yomitori.comments.sync import SyncConfig, sync_all

    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    source = _build_source(args, env)
    with _open_store(db_path) as store:
        if not store.follows(source.name):
            raise UserError("nothing followed yet: yomitori comments add COLUMN_ID_OR_ARTICLE_URL")
        result = sync_all(
            store,
            source,
            SyncConfig(max_comment_pages=args.max_pages),
            request_count=lambda: source.client.requests_sent,
        )
    print(result.summary())
    if result.status == "auth_expired":
        raise UserError(result.message)
    return result.status


def _cmd_sync(args: argparse.Namespace, env: dict, db_path: Path) -> int:
    status = _sync_once(args, env, db_path)
    return 1 if status == "failed" else 0


def _parse_now(text: str | None) -> datetime:
    from yomitori.comments.store import utc_now

    if not text:
        return utc_now()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UserError(f"--now: not an ISO time: {text!r}") from None
    return moment if moment.tzinfo else moment.astimezone()


def _render_digest(
    args: argparse.Namespace, store, since_text: str, fmt: str, now: datetime
) -> str:  # noqa: ANN001
    from yomitori.comments.digest import build_digest, parse_duration, render_html, render_markdown

    try:
        window = parse_duration(since_text)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    cls = _source_class(args)
    digest = build_digest(store, cls.name, now - window, now, cls.article_url)
    local_tz = datetime.now().astimezone().tzinfo
    return (render_html if fmt == "html" else render_markdown)(digest, local_tz)


def _cmd_digest(args: argparse.Namespace, env: dict, db_path: Path) -> int:
    if not db_path.exists():
        raise UserError(f"no database at {db_path}: run 'yomitori comments add' and 'sync' first")
    with _open_store(db_path) as store:
        text = _render_digest(args, store, args.since, args.format, _parse_now(args.now))
    if args.out:
        atomic_write_text(args.out, text)
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _cmd_status(args: argparse.Namespace, env: dict, db_path: Path) -> int:
    from yomitori.comments.status import status_report

    if not db_path.exists():
        raise UserError(f"no database at {db_path}: run 'yomitori comments add' first")
    with _open_store(db_path) as store:
        print(status_report(store, _source_class(args).name))
    return 0


def _yomitori_argv() -> list[str]:
    # The console script beside this interpreter (a venv need not be on cron's PATH).
    beside = Path(sys.executable).with_name("yomitori")
    exe = str(beside) if beside.exists() else shutil.which("yomitori")
    return [exe, "comments"] if exe else [sys.executable, "-m", "yomitori.cli.comments"]


def _cmd_schedule(args: argparse.Namespace, env: dict, db_path: Path) -> int:
    from yomitori.comments.digest import parse_duration
    from yomitori.comments.schedule import ScheduleSpec, cron_line, run_loop, systemd_units

    try:
        every = parse_duration(args.every)
        hour, minute = (int(x) for x in args.at.split(":"))
    except ValueError as exc:
        raise UserError(f"--every/--at: {exc}") from None
    if args.loop:

        def once() -> bool:
            try:
                _sync_once(args, env, db_path)
            except UserError as exc:  # expired login: stop, repeating won't help
                print(f"yomitori: error: {exc}", file=sys.stderr)
                return False
            if args.digest_dir:
                from yomitori.comments.store import utc_now

                now = utc_now()
                with _open_store(db_path) as store:
                    text = _render_digest(args, store, args.every, "md", now)
                args.digest_dir.mkdir(parents=True, exist_ok=True)
                atomic_write_text(args.digest_dir / f"digest-{now:%Y%m%d-%H%M}.md", text)
            return True

        import time

        runs = run_loop(every, once, time.sleep, args.max_runs)
        return 0 if runs else 1
    from yomitori.comments.auth import default_cookie_file

    cookie_file = (args.cookie_file or default_cookie_file(env)).absolute()
    command = _yomitori_argv() + [
        "sync",
        "--db",
        str(db_path.absolute()),
        "--cookie-file",
        str(cookie_file),
    ]
    spec = ScheduleSpec(every=every, command=command, minute=minute, hour=hour)
    log_path = str(db_path.absolute().with_name("comments-sync.log"))
    print("# cron (crontab -e), the cookie in its 0600 file, not in the crontab:")
    print(cron_line(spec, log_path))
    for name, text in systemd_units(spec).items():
        print(f"\n# systemd: save as ~/.config/systemd/user/{name}")
        print(text, end="")
    print(
        "\n# then: systemctl --user daemon-reload && "
        "systemctl --user enable --now yomitori-comments.timer"
    )
    return 0


if (
    __name__ == "__main__"
):  # ``python -m yomitori.cli.comments ...`` where no console script is installed
    from yomitori.cli import main

    sys.exit(main(["comments", *sys.argv[1:]]))
