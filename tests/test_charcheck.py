"""The kanji second opinion (yomitori.pipeline.charcheck): which characters are checked, what may
replace them, and the shipped classifier correcting a rare kanji on a rendered page."""

from __future__ import annotations

import numpy as np
import pytest

from yomitori.document import Char, Line, Region
from yomitori.pipeline.charcheck import CharChecker, is_kanji, load_char_checker
from yomitori.types import BBox, Direction, PageImage, RegionClass

LABELS = ["a", "注", "註", "ア", "。"]


class FakeClassifier:
    """Logits that favour one label for every picture; records how many pictures it saw."""

    def __init__(self, favour: str, margin: float = 6.0) -> None:
        self.meta = {"labels": LABELS, "temperature": 1.0}
        self.favour, self.margin, self.seen = favour, margin, 0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.seen += len(x)
        out = np.zeros((len(x), len(LABELS)), np.float32)
        out[:, LABELS.index(self.favour)] = self.margin
        return out


def _page_and_line(texts: str, confidences: list[float]) -> tuple[PageImage, list[Region]]:
    pixels = np.full((80, 40 * len(texts) + 20), 250, np.uint8)
    chars = []
    for i, (t, c) in enumerate(zip(texts, confidences, strict=True)):
        pixels[20:60, 12 + 40 * i:48 + 40 * i] = 30  # some ink in every box
        chars.append(Char(t, BBox(10 + 40 * i, 15, 50 + 40 * i, 65), c))
    line = Line(texts, BBox(10, 15, 10 + 40 * len(texts), 65), Direction.HORIZONTAL, 0.5, chars)
    return PageImage(pixels, 300.0, 1), [Region(RegionClass.TEXT, line.bbox, Direction.HORIZONTAL, [line])]


def test_is_kanji():
    assert is_kanji("註") and is_kanji("㐀") and not any(is_kanji(c) for c in "あア々。A１")


def test_only_doubtful_kanji_are_checked_and_only_kanji_replace_them():
    page, regions = _page_and_line("注ア注", [0.3, 0.1, 0.95])
    fake = FakeClassifier("註")
    assert CharChecker(fake).check(page, regions) == 1
    line = regions[0].lines[0]
    assert line.text == "註ア注" and [c.text for c in line.chars] == list("註ア注")
    assert fake.seen == 1  # the kana and the confident kanji were not looked at
    assert line.chars[0].confidence > 0.99

    page, regions = _page_and_line("注", [0.3])
    assert CharChecker(FakeClassifier("ア")).check(page, regions) == 0  # a kana never replaces a kanji
    assert CharChecker(FakeClassifier("註", margin=1.0)).check(page, regions) == 0  # not sure enough
    assert regions[0].lines[0].text == "注"


def test_blank_boxes_are_left_alone():
    page, regions = _page_and_line("注", [0.3])
    page.pixels[:] = 250
    assert CharChecker(FakeClassifier("註")).check(page, regions) == 0


def test_weights_without_labels_are_refused():
    fake = FakeClassifier("註")
    fake.meta = {}
    with pytest.raises(ValueError, match="labels"):
        CharChecker(fake)


def test_shipped_classifier_corrects_a_rare_kanji_on_a_page():
    """註 misread as 証 (as the line recognizer does on real PDFs) is put right from the pixels."""
    from PIL import Image, ImageDraw

    from yomitori.data.fonts import list_fonts
    from yomitori.runtime import get_backend

    fonts = [f for f in list_fonts("eval", "printed") if f.family == "BIZ UDMincho"]
    if not fonts:
        pytest.skip("fonts missing: run 'bash scripts/install_fonts.sh minimal'")
    checker = load_char_checker(get_backend("torch"), threads=1)
    assert checker is not None, "shipped character classifier missing"
    from yomitori.data.fonts import _load_font

    text, size = "後註生成", 40
    image = Image.new("L", (40 + size * len(text), 2 * size), 250)
    ImageDraw.Draw(image).text((20, size // 2), text, font=_load_font(fonts[0].path, fonts[0].index, size), fill=20)
    chars = [Char(c, BBox(20 + size * i, size // 2 - 4, 20 + size * (i + 1), size // 2 + size + 4), 0.2)
             for i, c in enumerate("後証生成")]
    line = Line("後証生成", BBox(20, size // 2 - 4, 20 + size * 4, size // 2 + size + 4), Direction.HORIZONTAL, 0.2,
                chars)
    regions = [Region(RegionClass.TEXT, line.bbox, Direction.HORIZONTAL, [line])]
    checker.check(PageImage(np.asarray(image), 300.0, 1), regions)
    assert regions[0].lines[0].text == "後註生成"


def test_read_loads_the_checker_unless_turned_off():
    import argparse

    from yomitori.cli.read import add_arguments
    from yomitori.pipeline.engine import ModelEngine

    on = ModelEngine("onnxruntime", threads=1)
    assert on.load().recognizer.char_checker is not None and "char_check" in on.info
    off = ModelEngine("onnxruntime", threads=1, decode={"char_check": False})
    assert off.load().recognizer.char_checker is None and "char_check" not in off.info
    p = argparse.ArgumentParser()
    add_arguments(p)
    assert p.parse_args(["x.pdf", "--no-char-check"]).char_check is False
    assert p.parse_args(["x.pdf"]).char_check is True
