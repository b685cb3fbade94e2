"""The synthetic page renderer: exact line boxes, reading order, determinism, digit fields."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from yomitori.data.pages import PageConfig, preview_pages, render_page
from yomitori.types import Direction, RegionClass

KINDS = ("vertical", "horizontal", "mixed", "form")


def _cfg(kind: str, **kw) -> PageConfig:
    # low dpi keeps the pages small and the test fast; the geometry is the same at any dpi
    return PageConfig(kinds=((kind, 1.0),), dpi=(72, 90), track_ink=True, **kw)


@pytest.fixture(scope="module", params=KINDS)
def page(request, tiny_mnist_dir):
    return render_page(11, KINDS.index(request.param), _cfg(request.param, mnist_dir=tiny_mnist_dir))


def test_every_line_box_holds_its_ink_and_nothing_of_its_neighbours(page):
    owner = page.ink_owner
    assert owner is not None and owner.shape == page.image.shape
    assert page.lines
    for k, ln in enumerate(page.lines):
        x0, y0, x1, y1 = ln.bbox
        ys, xs = np.nonzero(owner == k)
        assert len(xs), f"line {k} drew no ink"
        assert xs.min() >= x0 and xs.max() < x1 and ys.min() >= y0 and ys.max() < y1, (k, ln.text)
        inside = owner[y0:y1, x0:x1]
        others = np.unique(inside[(inside >= 0) & (inside != k)])
        assert others.size == 0, (k, ln.text, [page.lines[o].text for o in others])
        # the ink is really on the page
        assert page.image[ys, xs].min() < 200


def test_reading_order_is_a_permutation_and_regions_are_consistent(page):
    order = page.reading_order
    assert sorted(order) == list(range(len(page.lines)))
    for r_idx, r in enumerate(page.regions):
        for i in r.lines:
            assert page.lines[i].region == r_idx
        if r.cls == RegionClass.FIGURE:
            assert not r.lines
        elif r.lines:
            x0, y0, x1, y1 = r.bbox
            for i in r.lines:
                b = page.lines[i].bbox
                assert x0 <= b[0] and y0 <= b[1] and b[2] <= x1 and b[3] <= y1


def test_kinds_have_their_structure():
    v = render_page(11, 0, _cfg("vertical"))
    dirs = [ln.direction for ln in v.lines if v.regions[ln.region].cls == RegionClass.TEXT]
    assert dirs.count(Direction.VERTICAL) > 0.9 * len(dirs)
    body = [r for r in v.regions if r.cls == RegionClass.TEXT][0]
    xs = [v.lines[i].bbox[0] for i in body.lines]
    assert xs == sorted(xs, reverse=True)  # columns right to left
    h = render_page(11, 1, _cfg("horizontal"))
    assert {RegionClass.TEXT} <= {r.cls for r in h.regions}
    assert all(ln.direction == Direction.HORIZONTAL for ln in h.lines
               if h.regions[ln.region].cls == RegionClass.TEXT)


def test_same_seed_and_index_give_identical_bytes():
    cfg = PageConfig(kinds=(("mixed", 1.0),), dpi=(72, 90), degrade_prob=1.0)
    a, b = render_page(5, 3, cfg), render_page(5, 3, cfg)
    assert a.image.tobytes() == b.image.tobytes() and a.to_dict() == b.to_dict()
    c = render_page(5, 4, cfg)
    assert c.image.tobytes() != a.image.tobytes()


def test_digit_fields_use_mnist_and_are_skipped_without_it(tiny_mnist_dir, tmp_path):
    found = None
    for i in range(6):
        s = render_page(2, i, _cfg("form", mnist_dir=tiny_mnist_dir))
        digits = [r for r in s.regions if r.cls == RegionClass.DIGITS]
        if digits:
            found = (s, digits[0])
            break
    assert found is not None, "no digit field on six forms"
    s, region = found
    text = s.lines[region.lines[0]].text
    assert text.isdigit() and len(text) >= 2
    empty = tmp_path / "no_mnist"
    empty.mkdir()
    for i in range(3):
        s = render_page(2, i, _cfg("form", mnist_dir=str(empty)))
        assert not [r for r in s.regions if r.cls == RegionClass.DIGITS]
        assert s.params["digits"] is False


def test_eval_split_uses_held_out_fonts():
    s = render_page(1, 0, dataclasses.replace(_cfg("horizontal"), split="eval"))
    from yomitori.data.fonts import list_fonts

    names = {f.name for f in list_fonts("eval")}
    assert s.params["body_font"] in names


def test_preview_pages_writes_a_picture(tmp_path):
    out = preview_pages(tmp_path / "pages.png", n=2, seed=0, cfg=PageConfig(dpi=(60, 60)), long_side=200)
    from PIL import Image

    im = Image.open(out)
    assert im.width > 200 and im.mode == "RGB"
