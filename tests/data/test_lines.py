"""Line rendering: no tofu, determinism, boxes that hold their ink, vertical typesetting."""

from __future__ import annotations

import numpy as np
import pytest
from datahelpers import MINIMAL_EVAL, MINIMAL_TRAIN, require_font
from PIL import Image
from torch.utils.data import DataLoader

from yomitori.data.fonts import renderable_chars
from yomitori.data.lines import LineConfig, LineStream, render_line
from yomitori.data.typeset import draw_line, layout_line

CFG = LineConfig(height_px=32, fonts=MINIMAL_TRAIN, text="random", max_chars=16)


def test_line_ground_truth_is_consistent() -> None:
    require_font("IPAGothic")
    for i in range(6):
        s = render_line(3, i, CFG)
        assert s.image.dtype == np.uint8 and s.image.shape[0] == 32
        assert len(s.char_boxes) == len(s.text) > 0
        assert s.text == s.text.strip()
        assert all(ch in renderable_chars_of(s) for ch in s.params["display"] if ch != " ")
        assert (s.image < 128).any()  # dark ink on light paper


def renderable_chars_of(sample) -> frozenset[str]:  # noqa: ANN001
    from yomitori.data.fonts import list_fonts

    font = next(f for f in list_fonts() if f.path == sample.params["font_path"]
                and f.index == sample.params["font_index"])
    from yomitori.charset import display_variants

    extra = {v for vs in display_variants().values() for v in vs}
    return renderable_chars(font) | renderable_chars(font, extra)


def test_no_tofu_and_no_blank_glyph() -> None:
    """A character is only drawn with a font that draws it, judged by its ink."""
    brush = require_font("AoyagiKouzanFontT")
    ok = renderable_chars(brush)
    assert "亜" in ok and not any(c in ok for c in "弌丐丕个")  # no level-2 kanji in this font
    for i in range(8):
        s = render_line(5, i, LineConfig(fonts=MINIMAL_TRAIN, text="random", max_chars=12))
        lay = layout_line(s.text, require_font(s.params["font"].rsplit(" ", 1)[0]),
                          s.params["size_px"], display=s.params["display"])
        for g in lay.glyphs:
            if g.label != " ":
                assert g.mask is not None and int(g.mask.max()) >= 128, (s.params["font"], g.label)


def test_same_seed_and_index_give_identical_bytes_whatever_the_workers() -> None:
    require_font("IPAGothic")
    cfg = LineConfig(fonts=MINIMAL_TRAIN, text="random", max_chars=10, vertical_prob=0.5)

    def collect(workers: int) -> dict[int, bytes]:
        loader = DataLoader(LineStream(11, 8, cfg), batch_size=None, num_workers=workers)
        return {s.params["index"]: s.image.tobytes() + s.text.encode() for s in loader}

    one, two = collect(0), collect(2)
    assert sorted(one) == list(range(8)) and one == two
    assert render_line(11, 3, cfg).image.tobytes() == one[3][: len(render_line(11, 3, cfg).image.tobytes())]


@pytest.mark.parametrize("vertical", [False, True])
def test_line_boxes_hold_their_ink_and_nothing_of_their_neighbours(vertical: bool) -> None:
    font = require_font("IPAGothic")
    texts = ["日本語のテキスト、行(1)。", "「縦書き」ー〜…UTF-8です", "gypjQ 12 ゃゅょっ！？"]
    page = Image.new("L", (700, 700), 255)
    drawn, alone = [], []
    pos = 10
    for k, text in enumerate(texts):
        jitter = list(np.random.default_rng(k).normal(0, 1.5, len(text)))
        rel = layout_line(text, font, 30, vertical=vertical, spacing_em=0.05,
                          jitter_px=jitter).bbox  # extent relative to the origin
        origin = (pos - rel[0], 10) if vertical else (10, pos - rel[1])
        d = draw_line(page, origin, text, font, 30, vertical=vertical, spacing_em=0.05,
                      jitter_px=jitter)
        single = Image.new("L", page.size, 255)
        draw_line(single, origin, text, font, 30, vertical=vertical, spacing_em=0.05,
                  jitter_px=jitter)
        drawn.append(d)
        alone.append(np.asarray(single) < 255)
        pos = (d.bbox[2] if vertical else d.bbox[3]) + 1
    ink = np.asarray(page) < 255
    for k, d in enumerate(drawn):
        x0, y0, x1, y1 = d.bbox
        inside = np.zeros_like(ink)
        inside[y0:y1, x0:x1] = True
        assert not (alone[k] & ~inside).any(), "ink outside its line box"
        others = np.logical_or.reduce([a for j, a in enumerate(alone) if j != k])
        assert not (others & inside).any(), "a neighbour's ink inside the line box"
        for ch, box in zip(d.text, d.char_boxes, strict=True):
            assert box[2] > box[0] and box[3] > box[1], ch


@pytest.mark.parametrize("family", ["IPAGothic", "SetoFont", "BIZ UDMincho"])
def test_vertical_punctuation_sits_where_japanese_typesetting_puts_it(family: str) -> None:
    font = require_font(family)
    size = 40
    lay = layout_line("あ。い、う「え」ーお", font, size, vertical=True)
    cells = {g.label: g for g in lay.glyphs}

    def ink_box(label: str) -> tuple[float, float, float, float, float, float]:
        g = cells[label]
        ys, xs = np.nonzero(g.mask >= 96)
        cx0, cy0 = g.box[0], g.box[1]
        cy = (g.y + ys.mean() - cy0) / size
        cx = (g.x + xs.mean() - cx0) / size
        return cx, cy, xs.max() - xs.min() + 1, ys.max() - ys.min() + 1, 0, 0

    for mark in "。、":  # upper right of the cell
        cx, cy, *_ = ink_box(mark)
        assert cx > 0.55 and cy < 0.45, (family, mark, cx, cy)
    _, _, w, h, *_ = ink_box("ー")
    assert h > 2 * w, (family, "ー must run down the column", w, h)
    _, _, w, h, *_ = ink_box("「")
    assert w > h, (family, "「 turns a quarter", w, h)
    # the cells follow one another down the column
    tops = [g.box[1] for g in lay.glyphs]
    assert tops == sorted(tops)


def test_eval_split_uses_eval_fonts_only() -> None:
    require_font("BIZ UDMincho")
    for i in range(4):
        s = render_line(1, i, LineConfig(split="eval", fonts=MINIMAL_EVAL, text="random"))
        assert s.params["split"] == "eval"
        assert any(s.params["font"].startswith(f) for f in MINIMAL_EVAL)


def test_same_bytes_in_fresh_processes_with_other_hash_seeds() -> None:
    """No set or dict order leaks into a sample: string hashing differs between processes."""
    import os
    import subprocess
    import sys

    require_font("IPAGothic")
    code = ("import hashlib; from yomitori.data.lines import LineConfig, render_line; "
            f"cfg = LineConfig(fonts={MINIMAL_TRAIN!r}, text='random', vertical_prob=0.5); "
            "print(hashlib.sha256(b''.join(render_line(9, i, cfg).image.tobytes() "
            "+ render_line(9, i, cfg).text.encode() for i in range(4))).hexdigest())")
    outs = set()
    for hs in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hs)
        r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                           check=True)
        outs.add(r.stdout.strip())
    assert len(outs) == 1


def test_cli_preview_writes_png_and_json(tmp_path) -> None:
    import json

    from yomitori.cli import main

    require_font("IPAGothic")
    out = tmp_path / "lines.png"
    assert main(["data", "preview", "lines-vertical", "--count", "3", "--text", "random",
                 "--out", str(out)]) == 0
    truth = json.loads(out.with_suffix(".json").read_text("utf-8"))
    assert out.stat().st_size > 0 and len(truth["samples"]) == 3
    assert all(s["vertical"] for s in truth["samples"])


def test_academic_punctuation_and_latin_font_change_only_their_lines() -> None:
    import dataclasses

    require_font("IPAGothic")
    base = CFG
    # probabilities 0 (the default) leave the stream exactly as it was
    off = dataclasses.replace(base, academic_prob=0.0, latin_font_prob=0.0)
    for i in range(4):
        assert np.array_equal(render_line(5, i, base).image, render_line(5, i, off).image)
    from yomitori.data.fonts import find_font
    from yomitori.data.lines import academic_punctuation

    font = find_font("IPAGothic")
    assert academic_punctuation("です。また、", "です。また、", font) == ("です.また,", "です．また，")
    assert academic_punctuation("abc", "abc", font) == ("abc", "abc")
    # a Latin font draws the ASCII of a line, and the label does not change
    latin = require_font("DejaVu Serif")
    a = layout_line("図A1の値", font, 40, display="図A1の値")
    b = layout_line("図A1の値", font, 40, display="図A1の値", latin_font=latin)
    assert a.text == b.text and len(b.glyphs) == 5
    assert np.array_equal(a.glyphs[0].mask, b.glyphs[0].mask)  # 図: the Japanese font
    assert not np.array_equal(a.glyphs[1].mask, b.glyphs[1].mask)  # A: DejaVu Serif
    on = dataclasses.replace(base, text="random", latin_font_prob=1.0, fonts=("IPAGothic",))
    got = [render_line(9, i, on) for i in range(12)]
    with_latin = [s for s in got if any("!" <= c <= "~" for c in s.params["display"])]
    assert with_latin and all(s.params.get("latin_font") for s in with_latin)


def test_tex_snippets_keep_labels_and_draw_the_logos_as_tex_does() -> None:
    import dataclasses

    from yomitori.data.fonts import find_font
    from yomitori.data.tex import CHARS, LOGOS, add_tex

    require_font("IPAGothic")
    # tex_prob 0 (the default) leaves the stream as it was
    off = dataclasses.replace(CFG, tex_prob=0.0)
    for i in range(3):
        assert np.array_equal(render_line(5, i, CFG).image, render_line(5, i, off).image)
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(60):
        got = add_tex(rng, "日本語の文書です", "日本語の文書です", CHARS)
        assert len(got.text) == len(got.display) == len(got.source)
        assert "".join(c for c, s in zip(got.text, got.source, strict=True) if s >= 0) == "日本語の文書です"
        assert "".join(c for c, s in zip(got.text, got.source, strict=True) if s < 0) == got.added
        seen.add("logo" if got.added in LOGOS else "quote" if got.added in ("“”", "‘’") else "macro")
    assert seen == {"logo", "macro", "quote"}
    assert add_tex(np.random.default_rng(0), "日本語", "日本語", frozenset()).added == ""  # nothing drawable
    # BibTeX's small capitals: the label keeps "i", "b"; they are drawn as capitals at 0.78
    for seed in range(500):
        got = add_tex(np.random.default_rng(seed), "和文", "和文", CHARS)
        if got.added == "BibTEX":
            break
    at = got.text.index("BibTEX")
    assert got.display[at:at + 6] == "BIBTEX" and got.shape[at + 1][2] < 0.9 and got.shape[at][2] == 1.0
    # \TeX: the E is lowered by half an ex, and kerned into its neighbours
    font = find_font("IPAGothic")
    shape = LOGOS["TEX"][0]
    plain = layout_line("TEX", font, 40)
    logo = layout_line("TEX", font, 40, shape=shape)
    assert logo.glyphs[1].y - plain.glyphs[1].y == round(0.215 * 40)  # the mask top, moved down
    assert logo.glyphs[2].x < plain.glyphs[2].x and logo.text == "TEX"
    with pytest.raises(ValueError):
        layout_line("TEX", font, 40, vertical=True, shape=shape)
    on = dataclasses.replace(CFG, tex_prob=1.0, fonts=("IPAGothic",))
    lines = [render_line(9, i, on) for i in range(8)]
    assert any(s.params.get("tex") for s in lines)
    for s in lines:
        assert len(s.char_boxes) == len(s.text) and (not s.params.get("tex") or s.params["tex"] in s.text
                                                     or s.params["tex"] in ("“”", "‘’"))


def test_small_caps_keep_the_lower_case_label_and_draw_capitals_smaller() -> None:
    import dataclasses

    from yomitori.data.tex import SMALL_CAPS_CHARS, SMALL_CAPS_WORDS, TexSnippet, add_small_caps

    line = TexSnippet("和文です", "和文です", None, [0, 1, 2, 3], "")
    got = add_small_caps(np.random.default_rng(1), line, SMALL_CAPS_CHARS)
    word = got.added
    assert word in SMALL_CAPS_WORDS and word in got.text and word.upper() in got.display
    at = got.text.index(word)
    for k, c in enumerate(word):
        assert (got.shape[at + k][2] < 0.9) == c.islower()
    assert "".join(c for c, s in zip(got.text, got.source, strict=True) if s >= 0) == "和文です"
    require_font("IPAGothic")
    on = dataclasses.replace(CFG, smallcaps_prob=1.0, fonts=("IPAGothic",))
    lines = [render_line(9, i, on) for i in range(4)]
    assert all(s.params.get("tex") in s.text for s in lines if s.params.get("tex"))
    assert any(s.params.get("tex") for s in lines)


def test_hand_drawn_lines_redraw_kana_and_kanji_only_and_keep_labels_and_boxes() -> None:
    import dataclasses

    from yomitori.data.kanjivg import available_chars

    if not {"日", "の"} <= available_chars():
        pytest.skip("kanjivg package not installed")
    require_font("IPAGothic")
    # probability 0 (the default) leaves every line exactly as it was
    off = dataclasses.replace(CFG, hand_prob=0.0)
    for i in range(3):
        assert np.array_equal(render_line(5, i, CFG).image, render_line(5, i, off).image)
    font = require_font("IPAGothic")
    for vertical in (False, True):
        text = "日本語の文字、ABC12。"
        plain = layout_line(text, font, 40, vertical=vertical)
        hand = layout_line(text, font, 40, vertical=vertical)
        from yomitori.data.lines import hand_drawn

        got = hand_drawn(hand, np.random.default_rng([1, 2]))
        assert got is not None and got["chars"] >= 1
        assert [g.label for g in hand.glyphs] == list(text)
        changed = {g.label for g, p in zip(hand.glyphs, plain.glyphs, strict=True)
                   if not (p.mask is None and g.mask is None) and not np.array_equal(g.mask, p.mask)}
        assert changed and changed <= set("日本語の文字"), changed  # never Latin, digits, 、。
        for g in hand.glyphs:
            if g.label in changed:  # a redrawn character's ink lies inside its box
                ys, xs = np.nonzero(g.mask)
                assert g.box[0] <= g.x + xs.min() and g.x + xs.max() < g.box[2], g.label
                assert g.box[1] <= g.y + ys.min() and g.y + ys.max() < g.box[3], g.label
    on = dataclasses.replace(CFG, hand_prob=1.0, fonts=("IPAGothic",))
    a, b = render_line(7, 1, on), render_line(7, 1, on)
    assert a.text == render_line(7, 1, dataclasses.replace(on, hand_prob=0.0)).text  # labels untouched
    assert np.array_equal(a.image, b.image) and a.params["hand"] == b.params["hand"]
