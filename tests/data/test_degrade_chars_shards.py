"""Degradation ops, character samples (fonts and KanjiVG) and shard round trips."""

from __future__ import annotations

import json

import numpy as np
import pytest
from datahelpers import MINIMAL_TRAIN, require_font

from yomitori.data.degrade import GEOMETRIC, ORDER, apply_op, degrade


def _page() -> np.ndarray:
    img = np.full((60, 200), 240, np.uint8)
    img[20:40, 30:60] = 20
    return img


@pytest.mark.parametrize("op", ORDER)
def test_each_op_keeps_shape_and_changes_something(op: str) -> None:
    img = _page()
    boxes = np.array([[30, 20, 60, 40]])
    out, b = apply_op(op, img, np.random.default_rng(0), 0.8, boxes)
    assert out.shape == img.shape and out.dtype == np.uint8
    assert not np.array_equal(out, img), op
    ys, xs = np.nonzero(out < 128)
    if op in GEOMETRIC:  # boxes move with the ink
        assert b[0, 1] - 2 <= ys.min() and ys.max() <= b[0, 3] + 2
        assert b[0, 0] - 2 <= xs.min() and xs.max() <= b[0, 2] + 2


def test_degrade_is_reproducible_and_reports_ops() -> None:
    a = degrade(_page(), np.random.default_rng(1), 0.7)
    b = degrade(_page(), np.random.default_rng(1), 0.7)
    assert np.array_equal(a.image, b.image) and a.applied == b.applied
    assert degrade(_page(), np.random.default_rng(1), 0.0).applied == []


def test_chars_from_fonts_and_kanjivg() -> None:
    require_font("IPAGothic")
    from yomitori.data.chars import CharConfig, render_char
    from yomitori.data.kanjivg import available_chars

    cfg = CharConfig(fonts=MINIMAL_TRAIN, chars="漢字あア剝")
    seen = set()
    for i in range(20):
        s = render_char(2, i, cfg)
        assert s.image.shape == (64, 64) and s.label in "漢字あア剝"
        assert (s.image < 128).sum() > 20, s.params  # ink, not a blank glyph
        seen.add(s.params["source"])
        assert np.array_equal(s.image, render_char(2, i, cfg).image)
    if available_chars():
        assert "kanjivg" in seen
    ev = render_char(0, 0, CharConfig(split="eval", chars="漢", fonts=("BIZ UDMincho",)))
    assert ev.params["source"] != "kanjivg"


def test_shards_round_trip_and_do_not_depend_on_workers(tmp_path) -> None:
    require_font("IPAGothic")
    from yomitori.data.lines import LineConfig, render_line
    from yomitori.data.shards import ShardStream, write_shards

    cfg = LineConfig(fonts=MINIMAL_TRAIN, text="random", max_chars=8)
    a = write_shards("lines", render_line, cfg, 4, 6, tmp_path / "a", shard_size=4, progress=False)
    b = write_shards("lines", render_line, cfg, 4, 6, tmp_path / "b", shard_size=4, workers=2,
                     progress=False)
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    rows = list(ShardStream(tmp_path / "a"))
    assert [r["text"] for r in rows] == [render_line(4, i, cfg).text for i in range(6)]
    assert np.array_equal(rows[2]["image"], render_line(4, 2, cfg).image)
    assert json.loads((tmp_path / "a/index.json").read_text())["count"] == 6
    # two ranks read disjoint shards that cover everything
    r0 = list(ShardStream(tmp_path / "a", rank=0, world_size=2))
    r1 = list(ShardStream(tmp_path / "a", rank=1, world_size=2))
    assert sorted(r["key"] for r in r0 + r1) == sorted(r["key"] for r in rows)


def test_build_style_weights_parse_and_reach_the_shards(tmp_path) -> None:
    from yomitori.cli import main
    from yomitori.cli.data import parse_weights
    from yomitori.errors import UserError

    assert parse_weights("printed:0.6, brush:0.4", ("printed", "brush")) == (("printed", 0.6), ("brush", 0.4))
    for bad in ("printed", "printed:x", "paint:1", "printed:-1", "printed:0", ""):
        with pytest.raises(UserError, match="--style-weights"):
            parse_weights(bad, ("printed", "brush"))
    # brush only: every line of the shard is drawn in a brush font of the training split
    require_font("IPAGothic")
    from yomitori.data.fonts import list_fonts

    if not list_fonts("train", "brush"):
        pytest.skip("no training brush font installed")
    out = tmp_path / "brush"
    assert main(["data", "build", "lines", "--count", "3", "--out", str(out), "--seed", "1",
                 "--style-weights", "brush:1", "--shard-size", "3"]) == 0
    from yomitori.data.shards import ShardStream

    assert {r["params"]["style"] for r in ShardStream(out)} == {"brush"}
    assert main(["data", "build", "lines", "--count", "3", "--out", str(tmp_path / "x"),
                 "--style-weights", "ink:1"]) != 0


def test_build_lines_with_random_text(tmp_path) -> None:
    """--text random: the shard records say so and hold the random source's lines, not the corpus's."""
    require_font("IPAGothic")
    from yomitori.cli import main
    from yomitori.data.lines import LineConfig, render_line
    from yomitori.data.shards import ShardStream

    out = tmp_path / "random"
    assert main(["data", "build", "lines", "--count", "3", "--out", str(out), "--seed", "4",
                 "--text", "random", "--shard-size", "3"]) == 0
    texts = [r["text"] for r in ShardStream(out)]
    assert texts == [render_line(4, i, LineConfig(text="random")).text for i in range(3)]
    assert '"text": "random"' in (out / "index.json").read_text(encoding="utf-8")


def test_an_interrupted_build_resumes_and_another_build_is_refused(tmp_path) -> None:
    require_font("IPAGothic")
    from yomitori.data.lines import LineConfig, render_line
    from yomitori.data.shards import write_shards
    from yomitori.errors import UserError

    cfg = LineConfig(fonts=MINIMAL_TRAIN, text="random", max_chars=6)
    out = tmp_path / "s"
    full = [p.read_bytes() for p in write_shards("lines", render_line, cfg, 2, 6, out, shard_size=2, progress=False)]
    # as if killed while rendering the last shard: no index, last shard missing, first one kept
    (out / "index.json").unlink()
    last = sorted(out.glob("*.tar"))[-1]
    last.unlink()
    first = sorted(out.glob("*.tar"))[0]
    stamp = first.stat().st_mtime_ns
    again = write_shards("lines", render_line, cfg, 2, 6, out, shard_size=2, progress=False)
    assert [p.read_bytes() for p in again] == full and (out / "index.json").exists()
    assert first.stat().st_mtime_ns == stamp  # kept, not rendered again
    with pytest.raises(UserError, match="another build"):
        write_shards("lines", render_line, cfg, 3, 6, out, shard_size=2, progress=False)


def test_a_build_can_be_cut_short_or_extended(tmp_path) -> None:
    require_font("IPAGothic")
    from yomitori.data.lines import LineConfig, render_line
    from yomitori.data.shards import ShardStream, write_shards

    cfg = LineConfig(fonts=MINIMAL_TRAIN, text="random", max_chars=6)
    out, ref = tmp_path / "s", tmp_path / "ref"
    write_shards("lines", render_line, cfg, 3, 5, out, shard_size=2, progress=False)  # 2 + 2 + 1
    first = sorted(out.glob("*.tar"))[0]
    stamp = first.stat().st_mtime_ns
    # extended to 6: the partial last shard covers another range and is rendered again
    write_shards("lines", render_line, cfg, 3, 6, out, shard_size=2, progress=False)
    write_shards("lines", render_line, cfg, 3, 6, ref, shard_size=2, progress=False)
    assert [r["key"] for r in ShardStream(out)] == [r["key"] for r in ShardStream(ref)]
    assert [p.read_bytes() for p in sorted(out.glob("*.tar"))] == [p.read_bytes() for p in sorted(ref.glob("*.tar"))]
    assert first.stat().st_mtime_ns == stamp
    # cut short to 4: the finished shards are kept and the index lists only those in range
    write_shards("lines", render_line, cfg, 3, 4, out, shard_size=2, progress=False)
    assert len(list(ShardStream(out))) == 4 and first.stat().st_mtime_ns == stamp
