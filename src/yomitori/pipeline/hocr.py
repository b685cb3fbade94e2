"""hOCR 1.2 output: XHTML with the page, areas, paragraphs, lines, and characters with boxes.

- ``ocr_page`` (``bbox``, ``ppageno`` from 0, ``scan_res``, ``image`` = the source), then per
  region an area: ``ocr_carea`` for text, ``ocr_table`` for tables, ``ocr_photo`` for figures,
  ``ocr_textfloat`` for running headers, footers and page numbers;
- ``ocr_par`` per paragraph; lines are ``ocr_line``, ``ocr_header`` in titles and
  ``ocr_caption`` in captions;
- each line holds one ``ocrx_word`` (Japanese has no spaces to split words at) whose
  characters are ``ocrx_cinfo`` spans with ``x_bboxes`` and ``x_conf``;
- confidences are ``x_wconf`` / ``x_conf`` in 0–100; the writing direction of vertical areas
  and lines is the engine-specific property ``x_direction vertical``.

Boxes are integers in page pixels, top-left origin (the BBox convention, rounded outward).
"""

from __future__ import annotations

import math
from html import escape
from typing import IO

from yomitori import __version__
from yomitori.document import Document, Line, Page, Region
from yomitori.pipeline.assemble import paragraphs
from yomitori.types import BBox, Direction, RegionClass

_AREA = {RegionClass.TABLE: "ocr_table", RegionClass.FIGURE: "ocr_photo",
         RegionClass.HEADER: "ocr_textfloat"}
_LINE = {RegionClass.TITLE: "ocr_header", RegionClass.CAPTION: "ocr_caption"}


def _bbox(b: BBox) -> str:
    return f"bbox {math.floor(b.x0)} {math.floor(b.y0)} {math.ceil(b.x1)} {math.ceil(b.y1)}"


def _title(*parts: str) -> str:
    return escape("; ".join(p for p in parts if p), quote=True)


def _direction(d: Direction) -> str:
    return "x_direction vertical" if d == Direction.VERTICAL else ""


class HocrWriter:
    binary = False

    def __init__(self, fh: IO[str]):
        self.fh = fh
        self.source = ""
        self.ids = {"par": 0, "line": 0, "word": 0, "area": 0}

    def _id(self, kind: str) -> str:
        self.ids[kind] += 1
        return f"{kind}_{self.ids[kind]}"

    def begin(self, doc: Document) -> None:
        self.source = doc.source
        self.fh.write(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"\n'
            '    "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
            '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="ja" lang="ja">\n<head>\n'
            f"<title>{escape(doc.source)}</title>\n"
            '<meta http-equiv="Content-Type" content="text/html; charset=utf-8" />\n'
            f'<meta name="ocr-system" content="yomitori {__version__}" />\n'
            '<meta name="ocr-capabilities" content="ocr_page ocr_carea ocr_par ocr_line '
            'ocrx_word ocrx_cinfo ocr_table ocr_photo ocr_textfloat ocr_header ocr_caption" />\n'
            "</head>\n<body>\n")

    def _line(self, line: Line, cls: str) -> str:
        conf = f"x_wconf {round(100 * line.confidence)}"
        title = _title(_bbox(line.bbox), _direction(line.direction), conf)
        if line.chars:
            inner = "".join(
                f'<span class="ocrx_cinfo" title="{_title("x_bboxes " + _bbox(c.bbox)[5:], f"x_conf {100 * c.confidence:.1f}")}">'
                f"{escape(c.text)}</span>" for c in line.chars)
        else:
            inner = escape(line.text)
        word = (f'<span class="ocrx_word" id="{self._id("word")}" '
                f'title="{_title(_bbox(line.bbox), conf)}">{inner}</span>')
        return f'    <span class="{cls}" id="{self._id("line")}" title="{title}">{word}</span>\n'

    def _region(self, region: Region) -> str:
        area = _AREA.get(region.cls, "ocr_carea")
        parts = [_bbox(region.bbox), _direction(region.direction)]
        if region.image_path:
            parts.append(f'image "{region.image_path}"')
        head = (f'  <div class="{area}" id="{self._id("area")}" title="{_title(*parts)}" '
                f'data-class="{region.cls.value}">\n')
        line_cls = _LINE.get(region.cls, "ocr_line")
        body = []
        for par in paragraphs(region) if region.lines else []:
            box = par[0].bbox
            for line in par[1:]:
                box = box.union(line.bbox)
            lines = "".join(self._line(line, line_cls) for line in par)
            body.append(f'   <p class="ocr_par" id="{self._id("par")}" lang="ja" '
                        f'title="{_title(_bbox(box))}">\n{lines}   </p>\n')
        return head + "".join(body) + "  </div>\n"

    def add_page(self, page: Page, image_png: bytes | None = None) -> None:
        parts = [f'image "{self.source}"', f"bbox 0 0 {page.width_px} {page.height_px}",
                 f"ppageno {page.number - 1}", f"scan_res {round(page.dpi)} {round(page.dpi)}"]
        if page.error:
            parts.append("x_error " + page.error.replace(";", ",").replace('"', "'"))
        self.fh.write(f' <div class="ocr_page" id="page_{page.number}" title="{_title(*parts)}">\n')
        self.fh.write("".join(self._region(r) for r in page.regions))
        self.fh.write(" </div>\n")

    def end(self) -> None:
        self.fh.write("</body>\n</html>\n")
        self.fh.flush()


def to_hocr(doc: Document) -> str:
    from yomitori.pipeline.write import render_document

    return render_document(doc, "hocr")
