"""``yomitori comments status``: what is followed, the last good run, failures, counts."""

from __future__ import annotations

from yomitori.comments.store import Store


def _run_line(row) -> str:  # noqa: ANN001 - a sqlite3.Row from the runs table
    text = (
        f"#{row['id']} {row['started_at']} {row['status']}: {row['pages']} pages, "
        f"{row['requests']} requests, {row['new_comments']} new comments, "
        f"{row['new_replies']} new replies ({row['new_teacher_replies']} from the teacher), "
        f"{row['edits']} edits, {row['deleted']} deleted, {row['failures']} failures"
    )
    return f"{text}; {row['message']}" if row["message"] else text


def status_report(store: Store, source: str, failures_shown: int = 10) -> str:
    db = store.conn
    out = [f"database: {store.path}"]
    follows = store.follows(source)
    if not follows:
        out.append("following: nothing yet (yomitori comments add COLUMN_ID_OR_ARTICLE_URL)")
    for target in follows:
        if target.kind == "column":
            n = db.execute(
                "SELECT COUNT(*) FROM articles WHERE source=? AND column_id=?", (source, target.ref)
            ).fetchone()[0]
            out.append(f"following: {source} column {target.ref} ({n} articles known)")
        else:
            out.append(f"following: {source} article {target.ref}")
    good = db.execute(
        "SELECT * FROM runs WHERE source=? AND status='ok' ORDER BY id DESC LIMIT 1", (source,)
    ).fetchone()
    last = db.execute(
        "SELECT * FROM runs WHERE source=? ORDER BY id DESC LIMIT 1", (source,)
    ).fetchone()
    out.append("last good run: " + (_run_line(good) if good else "none yet"))
    if last is not None and (good is None or last["id"] != good["id"]):
        out.append("last run: " + _run_line(last))
    pending = db.execute(
        "SELECT COUNT(*) FROM articles WHERE source=? AND scan_state IS NOT NULL", (source,)
    ).fetchone()[0]
    if pending:
        out.append(
            f"to resume: {pending} article scan(s) stopped midway; the next sync continues them"
        )
    failures = db.execute(
        "SELECT f.* FROM failures f JOIN runs r ON r.id=f.run_id WHERE r.source=?"
        " ORDER BY f.id DESC LIMIT ?",
        (source, failures_shown),
    ).fetchall()
    if failures:
        out.append("recent failures:")
        out += [
            f"  {f['at']} run #{f['run_id']} {f['target']}: {f['kind']}: {f['message']}"
            for f in failures
        ]
    c = db.execute(
        "SELECT (SELECT COUNT(*) FROM articles WHERE source=:s) AS articles,"
        " (SELECT COUNT(*) FROM comments WHERE source=:s) AS comments,"
        " (SELECT COUNT(*) FROM comments WHERE source=:s AND deleted_at IS NOT NULL) AS del_c,"
        " (SELECT COUNT(*) FROM replies WHERE source=:s) AS replies,"
        " (SELECT COUNT(*) FROM replies WHERE source=:s AND is_teacher=1) AS teacher,"
        " (SELECT COUNT(*) FROM replies WHERE source=:s AND deleted_at IS NOT NULL) AS del_r,"
        " (SELECT COUNT(*) FROM raw_responses WHERE source=:s) AS raw,"
        " (SELECT COALESCE(SUM(LENGTH(body)), 0) FROM raw_responses WHERE source=:s) AS raw_bytes,"
        " (SELECT COUNT(*) FROM runs WHERE source=:s) AS runs",
        {"s": source},
    ).fetchone()
    out.append(
        f"counts: {c['articles']} articles, {c['comments']} comments ({c['del_c']} deleted), "
        f"{c['replies']} replies ({c['teacher']} from the teacher, {c['del_r']} deleted), "
        f"{c['runs']} runs, {c['raw']} raw responses ({c['raw_bytes'] / 1e6:.1f} MB compressed)"
    )
    return "\n".join(out)
