"""The database schema of the comment tracker (SQLite), with the reasons for its columns.

- ``raw_responses``: every response body, zlib-compressed, with the request's JSON body (never
  its headers, so never the cookie), for re-processing when the parser improves.
- ``articles.scan_state``: JSON ``{"phase": "pages", "cursor": ...}`` or ``{"phase":
  "discussions"}`` while a scan is in progress; NULL when none is. A run resumes from it.
- ``comments`` / ``replies``: ``content_hash`` detects edits (old text goes to ``revisions``);
  ``scan_token`` says which scan last saw the item; ``missed_scans`` counts complete scans that
  didn't, and reaching 2 sets ``deleted_at``. ``first_seen_at`` drives the digest.
- ``replies.kind``: ``author`` for a comment's ``replies[]`` (the teacher's 作者回复),
  ``discussion`` for the entries of the discussion under a comment.
- ``comments.discussion_synced``: the discussion count when its discussion was last read in
  full; a different current count means: fetch it again.
"""

from __future__ import annotations

SCHEMA_VERSION = 1
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
DELETE_AFTER_MISSES = 2

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS follows (
  source TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('column', 'article')),
  ref TEXT NOT NULL, added_at TEXT NOT NULL, PRIMARY KEY (source, kind, ref));
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY, source TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,
  status TEXT NOT NULL, message TEXT NOT NULL DEFAULT '',
  requests INTEGER NOT NULL DEFAULT 0, pages INTEGER NOT NULL DEFAULT 0,
  new_comments INTEGER NOT NULL DEFAULT 0, new_replies INTEGER NOT NULL DEFAULT 0,
  new_teacher_replies INTEGER NOT NULL DEFAULT 0, edits INTEGER NOT NULL DEFAULT 0,
  deleted INTEGER NOT NULL DEFAULT 0, failures INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS failures (
  id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id), at TEXT NOT NULL,
  target TEXT NOT NULL, kind TEXT NOT NULL, message TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS raw_responses (
  id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id), fetched_at TEXT NOT NULL,
  source TEXT NOT NULL, endpoint TEXT NOT NULL, request TEXT NOT NULL,
  http_status INTEGER NOT NULL, parse_ok INTEGER NOT NULL, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
  source TEXT NOT NULL, id TEXT NOT NULL, column_id TEXT, title TEXT, ctime INTEGER,
  first_seen_at TEXT NOT NULL, scans_completed INTEGER NOT NULL DEFAULT 0, last_scan_at TEXT,
  scan_state TEXT, PRIMARY KEY (source, id));
CREATE TABLE IF NOT EXISTS comments (
  source TEXT NOT NULL, id TEXT NOT NULL, article_id TEXT NOT NULL,
  user_name TEXT NOT NULL, content TEXT NOT NULL, content_hash TEXT NOT NULL, ctime INTEGER,
  like_count INTEGER NOT NULL DEFAULT 0, discussion_count INTEGER NOT NULL DEFAULT 0,
  discussion_synced INTEGER, discussion_token TEXT,
  first_seen_at TEXT NOT NULL, first_seen_run INTEGER NOT NULL, last_seen_at TEXT NOT NULL,
  edited_at TEXT, scan_token TEXT, missed_scans INTEGER NOT NULL DEFAULT 0, deleted_at TEXT,
  PRIMARY KEY (source, id), FOREIGN KEY (source, article_id) REFERENCES articles(source, id));
CREATE TABLE IF NOT EXISTS replies (
  source TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('author', 'discussion')),
  id TEXT NOT NULL, comment_id TEXT NOT NULL, article_id TEXT NOT NULL,
  is_teacher INTEGER NOT NULL, user_name TEXT NOT NULL, content TEXT NOT NULL,
  content_hash TEXT NOT NULL, ctime INTEGER,
  first_seen_at TEXT NOT NULL, first_seen_run INTEGER NOT NULL, last_seen_at TEXT NOT NULL,
  edited_at TEXT, scan_token TEXT, missed_scans INTEGER NOT NULL DEFAULT 0, deleted_at TEXT,
  PRIMARY KEY (source, kind, id), FOREIGN KEY (source, comment_id) REFERENCES comments(source, id));
CREATE TABLE IF NOT EXISTS revisions (
  id INTEGER PRIMARY KEY, source TEXT NOT NULL, item_type TEXT NOT NULL, item_id TEXT NOT NULL,
  content TEXT NOT NULL, content_hash TEXT NOT NULL, replaced_at TEXT NOT NULL, run_id INTEGER);
CREATE INDEX IF NOT EXISTS comments_article ON comments(source, article_id);
CREATE INDEX IF NOT EXISTS replies_comment ON replies(source, comment_id);
CREATE INDEX IF NOT EXISTS replies_article ON replies(source, article_id);
"""
