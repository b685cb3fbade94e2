"""Searchable PDF round trip: the text layer extracts (PDFium and poppler's pdftotext) exactly as
the recognized text — vertical columns in reading order, 𠮟 outside the BMP intact, no spurious
spaces — and the page image is the page."""

from __future__ import annotations

import io
import random
import shutil
import subprocess

import numpy as np
import pypdfium2 as pdfium
import pytest

from test_read_helpers import hline, page_pixels, region, sample_document, vline
from yomitori.document import Document, Page
from yomitori.pipeline.assemble import assemble_page, text_lines
from yomitori.pipeline.pdf import PdfWriter, encode_page_png, glyphless_font
from yomitori.pipeline.write import render_document
from yomitori.types import RegionClass

needs_pdftotext = pytest.mark.skipif(shutil.which("pdftotext") is None,
                                     reason="pdftotext (poppler-utils) not installed; see scripts/setup.sh")


def expected_lines(page: Page) -> list[str]:
    return [line.text for _, line in text_lines(page)]


def pdfium_lines(data: bytes) -> list[list[str]]:
    pdf = pdfium.PdfDocument(data)
    return [[ln for ln in pdf[i].get_textpage().get_text_range().split("\r\n") if ln] for i in range(len(pdf))]


def pdftotext_lines(data: bytes) -> list[list[str]]:
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True,
                         check=True, timeout=60).stdout.decode("utf-8")
    return [[ln for ln in page.split("\n") if ln] for page in out.split("\f")[:-1]]


def sample_pdf() -> tuple[Document, bytes]:
    doc = sample_document()
    for page in doc.pages:
        assemble_page(page)
    return doc, render_document(doc, "pdf")


def same_tokens(got: list[str], want: list[str]) -> bool:
    """Every line whole (a spurious space would split one), whatever the order of table cells."""
    return sorted(" ".join(got).split()) == sorted(" ".join(want).split())


def test_pdfium_extracts_the_recognized_text() -> None:
    doc, data = sample_pdf()
    got = pdfium_lines(data)
    want = [expected_lines(p) for p in doc.pages]
    assert got[0] == want[0]  # the vertical page: columns right to left, one per line
    # a table row's cells come out on one line, separated by the (real) gap between them
    assert got[1][:3] == want[1][:3] and "品目 数量" in got[1]
    assert same_tokens(got[1], want[1])


@needs_pdftotext
def test_pdftotext_extracts_the_recognized_text() -> None:
    doc, data = sample_pdf()
    got = pdftotext_lines(data)
    want = [expected_lines(p) for p in doc.pages]
    assert got[0] == want[0]  # the vertical page: columns right to left, one per line
    # poppler lays out page 2 by its own reading of the geometry (the table's cells side by
    # side); every line is there, whole, with no space added
    assert same_tokens(got[1], want[1])
    assert "𠮟られた事だけは記憶している。" in got[0]


def random_vertical_page(rng: random.Random) -> Page:
    """Columns right to left, tops aligned, some indented one character (paragraph starts),
    short last lines and one-character lines; then horizontal lines below."""
    alphabet = "あいうえおかきくけこ漢字読取日本語文章。、「」ー々𠮟ABC123"
    cols, x = [], 1150
    for _ in range(rng.randint(1, 22)):
        text = "".join(rng.choice(alphabet) for _ in range(rng.choice([1, 2, 3, 10, 20])))
        cols.append(vline(text, x, 100 + 36 * rng.choice([0, 0, 0, 1]), 36))
        x -= 46
    regions = [region(RegionClass.TEXT, cols)]
    rows = [hline("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 25))), 100 + 36 * rng.choice([0, 1]),
                  1300 + 46 * j, 36) for j in range(rng.randint(0, 4))]
    if rows:
        regions.append(region(RegionClass.TEXT, rows))
    return Page(1, 1240, 1754, 150.0, regions)


def test_random_vertical_pages_round_trip() -> None:
    rng = random.Random(20240607)
    have_poppler = shutil.which("pdftotext") is not None
    for _ in range(25):
        page = random_vertical_page(rng)
        data = render_document(Document("r.pdf", [page]), "pdf")
        want = expected_lines(page)
        assert pdfium_lines(data) == [want]
        if have_poppler:
            assert pdftotext_lines(data) == [want]


def test_latin_words_keep_single_spaces() -> None:
    page = Page(1, 1240, 400, 150.0, [region(RegionClass.TEXT, [hline("Hello world 123", 100, 100, 30),
                                                                hline("和文と English の混在", 100, 160, 30)])])
    data = render_document(Document("l.pdf", [page]), "pdf")
    assert pdfium_lines(data) == [["Hello world 123", "和文と English の混在"]]
    if shutil.which("pdftotext"):
        assert pdftotext_lines(data) == [["Hello world 123", "和文と English の混在"]]


def test_page_image_and_geometry() -> None:
    pixels = page_pixels(3, 300, 200)
    page = Page(1, 200, 300, 100.0, [region(RegionClass.TEXT, [hline("画像", 10, 20, 10)])])
    buf = io.BytesIO()
    writer = PdfWriter(buf)
    writer.begin(Document("i.pdf"))
    writer.add_page(page, encode_page_png(pixels))
    writer.end()
    pdf = pdfium.PdfDocument(buf.getvalue())
    assert pdf[0].get_size() == pytest.approx((200 * 72 / 100, 300 * 72 / 100))
    rendered = pdf[0].render(scale=100 / 72, grayscale=True).to_numpy().reshape(pixels.shape)
    assert rendered.shape == pixels.shape
    assert np.abs(rendered.astype(int) - pixels).mean() < 2  # invisible text draws nothing
    box = pdf[0].get_textpage().get_charbox(0)  # 画: (10, 20)-(20, 30) px at 100 dpi
    assert box == pytest.approx((10 * 0.72, (300 - 30) * 0.72, 20 * 0.72, (300 - 20) * 0.72), abs=0.6)


def test_glyphless_font_is_small_and_valid() -> None:
    from fontTools.ttLib import TTFont

    data = glyphless_font()
    font = TTFont(io.BytesIO(data))
    assert font.getGlyphOrder() == [".notdef", "blank"] and len(data) < 2000
