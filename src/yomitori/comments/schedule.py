"""Running the sync on a schedule: a cron line, a systemd timer, or a plain loop.

The printed command lines carry the database and cookie-file paths, never the cookie: cron and
systemd don't see the login shell's environment, so the 0600 cookie file is the way to go there.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class ScheduleSpec:
    every: timedelta
    command: list[str]  # the sync command, argv form
    minute: int = 17  # off the hour: everyone else's jobs start at :00
    hour: int = 6
    weekday: int = 1  # cron's day of the week: 0 = Sunday, 1 = Monday


def cron_line(spec: ScheduleSpec, log_path: str) -> str:
    """A crontab line. Weekly, daily and hourly intervals map onto cron; others round to days."""
    seconds = int(spec.every.total_seconds())
    # cron turns an unescaped % into a newline
    cmd = (shlex.join(spec.command) + f" >> {shlex.quote(log_path)} 2>&1").replace("%", "\\%")
    if seconds == 7 * 86400:
        when = f"{spec.minute} {spec.hour} * * {spec.weekday}"
    elif seconds >= 86400:  # cron can't count days across months; */N restarts each month
        days = round(seconds / 86400)
        day_field = f"*/{days}" if days > 1 else "*"
        when = f"{spec.minute} {spec.hour} {day_field} * *"
    else:
        hours = max(1, round(seconds / 3600))
        when = f"{spec.minute} */{hours} * * *" if hours > 1 else f"{spec.minute} * * * *"
    return f"{when} {cmd}"


def systemd_units(spec: ScheduleSpec, name: str = "yomitori-comments") -> dict[str, str]:
    """A oneshot service and its timer, for ``~/.config/systemd/user/``.

    Weekly and daily intervals use ``OnCalendar`` with ``Persistent=true`` (a run missed while
    the machine was off happens at the next boot); other intervals count from the last run.
    """
    seconds = int(spec.every.total_seconds())
    service = "\n".join(
        [
            "[Unit]",
            "Description=yomitori: sync followed course comments",
            "Wants=network-online.target",
            "After=network-online.target",
            "",
            "[Service]",
            "Type=oneshot",
            f"ExecStart={shlex.join(spec.command)}",
            "Nice=10",
            "",
        ]
    )
    at = f"{spec.hour:02d}:{spec.minute:02d}:00"
    days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    if seconds == 7 * 86400:
        when = [f"OnCalendar={days[spec.weekday % 7]} *-*-* {at}", "Persistent=true"]
    elif seconds == 86400:
        when = [f"OnCalendar=*-*-* {at}", "Persistent=true"]
    else:
        when = ["OnBootSec=15min", f"OnUnitActiveSec={seconds}s"]
    timer = "\n".join(
        [
            "[Unit]",
            f"Description=Run {name}.service every {_human(spec.every)}",
            "",
            "[Timer]",
            *when,
            "RandomizedDelaySec=30min",
            "",
            "[Install]",
            "WantedBy=timers.target",
            "",
        ]
    )
    return {f"{name}.service": service, f"{name}.timer": timer}


def _human(every: timedelta) -> str:
    seconds = int(every.total_seconds())
    for unit, size in (("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def run_loop(
    every: timedelta,
    run_once: Callable[[], bool],
    sleep: Callable[[float], None],
    max_runs: int | None = None,
) -> int:
    """Call ``run_once`` every ``every`` until it returns False or ``max_runs`` is reached.

    Returns the number of runs. ``run_once`` returns False to stop the loop (an expired login:
    repeating would not help and could get the account flagged).
    """
    runs = 0
    while max_runs is None or runs < max_runs:
        runs += 1
        if not run_once():
            break
        if max_runs is not None and runs >= max_runs:
            break
        sleep(every.total_seconds())
    return runs
