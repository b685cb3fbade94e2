"""Writers and assembly: golden JSON, text in reading order, Markdown tables, well-formed hOCR.

Regenerate the golden file after an intended change with
``YOMITORI_REGEN_GOLDEN=1 pytest tests/test_read_writers.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

from test_read_helpers import hline, region, sample_document, vline
from yomitori.document import Document, Page
from yomitori.pipeline.assemble import (
    assemble_page,
    cells_from_lines,
    join_lines,
    paragraphs,
    table_grid,
)
from yomitori.pipeline.hocr import to_hocr
from yomitori.pipeline.write import (
    md_table,
    page_text,
    to_json,
    to_markdown,
    to_text,
    write_document,
)
from yomitori.types import RegionClass

GOLDEN = Path(__file__).parent / "data" / "read" / "golden_document.json"
XHTML = "{http://www.w3.org/1999/xhtml}"


def assembled() -> Document:
    doc = sample_document()
    for page in doc.pages:
        assemble_page(page)
    return doc


def test_json_matches_golden_and_round_trips() -> None:
    text = to_json(assembled())
    if os.environ.get("YOMITORI_REGEN_GOLDEN"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8"), "JSON output changed; see the module docstring"
    assert "吾輩" in text and "\\u" not in text  # ensure_ascii=False
    data = json.loads(text)
    assert data["schema"] == "yomitori.document" and data["version"] == "1.0"
    assert data == assembled().to_dict()  # the streaming writer writes exactly to_dict()
    assert Document.from_dict(data).to_dict() == data


def test_text_is_in_reading_order_without_furigana() -> None:
    doc = assembled()
    text = to_text(doc)
    pages = text.split("\f")
    assert len(pages) == 2
    lines = [ln for ln in pages[0].splitlines() if ln]
    assert lines[:3] == ["第一章", "猫の話", "吾輩は猫である。名前はまだ無い。"]
    assert "わがはい" not in text  # furigana stays out of the running text
    assert "𠮟られた事だけは記憶している。" in lines
    assert lines[-2:] == ["た。", "す"]
    assert "品目\t数量\nりんご\t3" in pages[1]


def test_paragraphs_split_on_indent_and_gap() -> None:
    text_region = assembled().pages[1].regions[0]
    pars = paragraphs(text_region)
    assert [join_lines(p) for p in pars] == ["横書きの段落です。二行目が続く。", "新しい段落。"]
    vertical = assembled().pages[0].regions[2]
    # the third column starts one character lower: a new paragraph
    assert [len(p) for p in paragraphs(vertical)] == [2, 4]
    assert join_lines([hline("Hello", 0, 0), hline("world", 0, 50)]) == "Hello world"


def test_table_cells_and_captions() -> None:
    page = assembled().pages[1]
    table, figure = page.regions[1], page.regions[3]
    assert table_grid(table) == [["品目", "数量"], ["りんご", "3"]]
    assert table.caption == "表1 果物" and figure.caption == "図1 猫の写真"
    cells = cells_from_lines(region(RegionClass.TABLE, [hline("表", 0, 0), hline("題", 0, 10, 10),
                                                        hline("c", 100, 0)]))
    assert [(c.row, c.col, c.text) for c in cells] == [(0, 0, "表題"), (0, 1, "c")]


def test_layout_cells_get_the_text_of_their_lines() -> None:
    """Cells found from ruling lines arrive empty; each gets the lines it overlaps most, two lines
    in one cell are joined, and a line outside every cell goes to the nearest one."""
    from yomitori.document import TableCell
    from yomitori.types import BBox

    cells = [TableCell(0, 0, BBox(0, 0, 100, 50)), TableCell(0, 1, BBox(100, 0, 200, 50)),
             TableCell(1, 0, BBox(0, 50, 100, 100)), TableCell(1, 1, BBox(100, 50, 200, 100))]
    lines = [hline("品目", 5, 5, 20), hline("数量", 105, 5, 20), hline("りん", 5, 55, 20),
             hline("ご", 5, 76, 20), hline("3", 210, 60, 20)]
    page = Page(1, 200, 100, 72.0, regions=[region(RegionClass.TABLE, lines, cells=cells)])
    assemble_page(page)
    assert table_grid(page.regions[0]) == [["品目", "数量"], ["りんご", "3"]]
    assert "りんご" in to_text(Document("t.pdf", [page]))


def test_markdown_headings_tables_and_figures() -> None:
    doc = assembled()
    doc.pages[1].regions[3].image_path = "sample_figures/page-0002-figure-1.png"
    md = to_markdown(doc)
    assert "# 猫の話" in md
    assert "| 品目 | 数量 |\n|---|---|\n| りんご | 3 |" in md
    assert "![図1 猫の写真](sample_figures/page-0002-figure-1.png)" in md
    assert md.count("図1 猫の写真") == 2  # alt text and the caption line, not a third time
    assert "第一章" not in md and "わがはい" not in md  # running header and furigana
    assert "横書きの段落です。二行目が続く。\n\n新しい段落。" in md
    assert md_table([["a|b", "c"], ["1", ""]]) == "| a\\|b | c |\n|---|---|\n| 1 |   |"


def test_hocr_is_well_formed_with_char_boxes() -> None:
    root = ET.fromstring(to_hocr(assembled()).encode("utf-8"))
    pages = root.findall(f".//{XHTML}div[@class='ocr_page']")
    assert [p.get("title").split("; ")[1] for p in pages] == ["bbox 0 0 1240 1754"] * 2
    lines = root.findall(f".//{XHTML}span[@class='ocr_line']")
    assert "".join(lines[0].itertext()) == "第一章"  # the running header comes first
    first = lines[1]
    assert "x_direction vertical" in first.get("title")
    assert "".join(first.itertext()) == "吾輩は猫である。名前はまだ無い。"
    cinfo = first.findall(f".//{XHTML}span[@class='ocrx_cinfo']")
    assert cinfo[0].get("title").startswith("x_bboxes 1000 200 1040 240")
    assert root.findall(f".//{XHTML}div[@class='ocr_table']")
    assert root.findall(f".//{XHTML}span[@class='ocr_header']")  # title lines


def test_failed_page_in_every_format(tmp_path: Path) -> None:
    doc = Document("x.pdf", [Page(1, 100, 100, 72.0, [region(RegionClass.TEXT, [hline("一", 0, 0)])]),
                             Page(2, 0, 0, 72.0, error="RuntimeError: boom")])
    assert to_text(doc) == "一\n\f"
    assert "<!-- page 2 failed: RuntimeError: boom -->" in to_markdown(doc)
    assert json.loads(to_json(doc))["pages"][1]["error"] == "RuntimeError: boom"
    ET.fromstring(to_hocr(doc).encode())
    pdf = write_document(doc, tmp_path / "x.pdf")
    import pypdfium2 as pdfium

    assert len(pdfium.PdfDocument(pdf)) == 2


def test_page_text_of_vertical_lines() -> None:
    page = Page(1, 500, 500, 72.0, [region(RegionClass.TEXT, [vline("縦", 400, 0), vline("書き", 340, 0)])])
    assert page_text(page) == "縦\n書き\n"


def test_schema_doc_example_is_a_valid_document() -> None:
    doc_md = (Path(__file__).parents[1] / "docs" / "json-schema.md").read_text(encoding="utf-8")
    example = doc_md.split("```json\n", 1)[1].split("```", 1)[0]
    doc = Document.from_dict(json.loads(example))
    assert doc.pages[0].regions[2].image_path and doc.pages[1].error
    assert doc.to_dict() == json.loads(example)
