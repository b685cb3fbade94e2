"""Fixtures for the comment-tracker tests: the fake server, an injectable clock, a harness."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # fake_geektime, geektime_scenario, comments_harness

from comments_harness import Clock, Harness  # noqa: E402
from fake_geektime import FakeGeekTime  # noqa: E402
from geektime_scenario import T0, build_week0  # noqa: E402


@pytest.fixture
def fake():
    server = build_week0(FakeGeekTime()).start()
    yield server
    server.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def harness(tmp_path: Path, fake: FakeGeekTime, clock: Clock):
    h = Harness(tmp_path, fake, clock)
    yield h
    h.store.close()
