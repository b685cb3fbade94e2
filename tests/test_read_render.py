"""Render: PDFs and images made on the fly, multi-page TIFF, page ranges, limits, clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from test_read_helpers import (
    encrypted_pdf,
    image_pdf,
    page_pixels,
    png_header_only,
    tiff,
    zero_page_pdf,
)
from yomitori.errors import InputImageError, UserError
from yomitori.pipeline.render import (
    PageRenderer,
    count_pages,
    inspect_source,
    parse_page_spec,
    render_pages,
    select_pages,
)


def test_page_ranges() -> None:
    assert parse_page_spec("1-5,8, 10-") == [(1, 5), (8, 8), (10, None)]
    assert select_pages("1-3,2,9-", 10) == [1, 2, 3, 9, 10]
    assert select_pages("2-99", 4) == [2, 3, 4]
    assert select_pages(None, 3) == [1, 2, 3]
    assert select_pages([3, 1], 3) == [1, 3]
    for bad in ("0", "3-1", "a", "1-2-3", "", "-4"):
        with pytest.raises(UserError, match="--pages"):
            parse_page_spec(bad)
    with pytest.raises(UserError, match="page 5 is out of range .the document has 4"):
        select_pages("5", 4, "x.pdf")


def test_pdf_pages_render_at_the_dpi(tmp_path: Path) -> None:
    pdf = image_pdf(tmp_path / "three.pdf", 3, dpi=72.0)  # 120 × 160 pt pages
    assert count_pages(pdf) == 3
    info = inspect_source(pdf)
    assert (info.kind, info.format, info.page_count) == ("pdf", "PDF", 3)
    pages = list(render_pages(pdf, "2-3", dpi=144))
    assert [p.page_number for p in pages] == [2, 3]
    first = pages[0]
    assert first.pixels.shape == (320, 240) and first.pixels.dtype == np.uint8 and first.dpi == 144
    # the page content is the image we put there (downscaled back to 72 dpi, it matches)
    small = np.asarray(Image.fromarray(first.pixels).resize((120, 160), Image.BILINEAR), dtype=int)
    assert np.abs(small - page_pixels(1)).mean() < 12


def test_multipage_tiff_and_png(tmp_path: Path) -> None:
    path = tiff(tmp_path / "scan.tif", 3, dpi=200)
    pages = list(render_pages(path))
    assert [p.page_number for p in pages] == [1, 2, 3]
    assert all(p.dpi == 200 for p in pages)
    assert np.array_equal(pages[2].pixels, page_pixels(12))
    rgba = np.zeros((20, 30, 4), np.uint8)  # fully transparent: white paper
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    (page,) = render_pages(tmp_path / "a.png", dpi=123)
    assert page.dpi == 123 and page.pixels.shape == (20, 30) and (page.pixels == 255).all()
    Image.fromarray(np.full((10, 10), 4000, np.uint16)).save(tmp_path / "deep.png")
    (page,) = render_pages(tmp_path / "deep.png")
    assert page.pixels.dtype == np.uint8 and page.pixels.max() == 255


def test_renderer_streams_one_page_at_a_time(tmp_path: Path) -> None:
    pdf = image_pdf(tmp_path / "p.pdf", 3)
    with PageRenderer(pdf, dpi=72) as renderer:
        assert renderer.page_count == 3
        assert renderer.render(3).page_number == 3
        with pytest.raises(InputImageError, match="page 4 is out of range"):
            renderer.render(4)


@pytest.mark.parametrize("make, password, message", [
    (lambda p: p.write_bytes(b"hello, not a pdf"), None, "not a PDF or a supported image"),
    (lambda p: p.write_bytes(image_pdf(p.with_suffix(".full"), 2).read_bytes()[:700]), None, "truncated PDF"),
    (lambda p: p.write_bytes(encrypted_pdf()), None, "encrypted; give its password with --password"),
    (lambda p: p.write_bytes(encrypted_pdf()), "nope", "wrong password"),
    (lambda p: p.write_bytes(zero_page_pdf()), None, "has no pages"),
    (lambda p: p.write_bytes(png_header_only(20_000, 20_000)), None, "400,000,000 pixels, over the limit of 100,000,000"),
    (lambda p: p.write_bytes(b""), None, "empty file"),
    (lambda p: p.mkdir(), None, "is a directory"),
    (lambda p: None, None, "no such file"),
])
def test_bad_inputs_name_the_file_and_the_problem(tmp_path: Path, make, password, message) -> None:  # noqa: ANN001
    path = tmp_path / "input.pdf"
    make(path)
    with pytest.raises(InputImageError, match=message) as err:
        count_pages(path, password)
    assert str(err.value).startswith(str(path)) and "\n" not in str(err.value)


def test_encrypted_pdf_opens_with_its_password(tmp_path: Path) -> None:
    path = tmp_path / "enc.pdf"
    path.write_bytes(encrypted_pdf("secret"))
    (page,) = render_pages(path, dpi=72, password="secret")
    assert page.pixels.shape == (100, 200)


def test_page_over_the_pixel_limit_fails_alone(tmp_path: Path) -> None:
    pdf = image_pdf(tmp_path / "p.pdf", 2)
    with PageRenderer(pdf, dpi=300, max_pixels=100_000) as renderer:  # 500 × 667 px > 100,000
        with pytest.raises(InputImageError, match=r"page 1: at 300 dpi it would be 500 × 667 pixels"):
            renderer.render(1)
    with PageRenderer(pdf, dpi=72, max_pixels=100_000) as renderer:
        assert renderer.render(2).pixels.shape == (160, 120)
