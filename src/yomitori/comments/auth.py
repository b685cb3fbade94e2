"""The login cookie: read from an environment variable or a file only its owner can read.

The cookie is wrapped in :class:`Secret`, whose ``repr``/``str`` never show the value, so that a
log line, a traceback or an error message can't leak it. It is sent in the ``Cookie`` header and
nowhere else: not logged, not stored in the database.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from yomitori.errors import UserError

COOKIE_ENV = "YOMITORI_GEEKTIME_COOKIE"


class Secret:
    """A string that refuses to print itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


def default_cookie_file(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".config")
    return Path(base) / "yomitori" / "geektime.cookie"


def clean_cookie(text: str) -> str:
    """Accept what people paste: a bare value, or a whole ``Cookie: ...`` line."""
    value = text.strip()
    if value.lower().startswith("cookie:"):
        value = value[len("cookie:") :].strip()
    if "\n" in value or "\r" in value:
        raise UserError("the cookie must be one line (copy the Cookie request header's value)")
    return value


def check_private(path: Path) -> None:
    """Refuse a cookie file that others can read: it is as good as the user's password."""
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise UserError(
            f"{path} is readable by others (mode {stat.S_IMODE(mode):o}); run: chmod 600 {path}"
        )


def load_cookie(env: Mapping[str, str], cookie_file: Path | None) -> Secret:
    """The cookie from ``$YOMITORI_GEEKTIME_COOKIE``, else from ``cookie_file`` (mode 0600)."""
    if env.get(COOKIE_ENV):
        return Secret(clean_cookie(env[COOKIE_ENV]))
    path = cookie_file or default_cookie_file(env)
    if not path.exists():
        raise UserError(
            f"no login cookie: set {COOKIE_ENV} or save it to {path} (chmod 600); "
            "see docs/comments.md"
        )
    check_private(path)
    value = clean_cookie(path.read_text(encoding="utf-8"))
    if not value:
        raise UserError(f"{path} is empty: paste the Cookie header of a logged-in browser tab")
    return Secret(value)


def write_cookie_file(path: Path, value: str) -> None:
    """Create ``path`` with mode 0600 from the start (never world-readable, not even briefly)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(clean_cookie(value) + "\n")
    os.replace(tmp, path)
