"""Searchable PDF: each page image with an invisible text layer placed line by line.

The text layer is drawn in rendering mode 3 (invisible) with a glyphless TrueType font built
here with fontTools (two glyphs, both empty), embedded as a ``CIDFontType2`` behind two ``Type0``
fonts: ``Identity-H`` for horizontal lines and ``Identity-V`` for vertical ones. Character codes
are CIDs given out per document (first use first), and the ``ToUnicode`` CMap maps each back to
its character, as UTF-16 (so 𠮟, outside the BMP, is one code that extracts as one character).

Every character of a line gets the same advance, line length / number of characters, through
the text matrix (horizontal: ``[w/n 0 0 h x y]``; vertical: ``[w 0 0 h/n x y]``, the font's
vertical displacement being one em). Glyphs therefore touch and never overlap, and extractors
(PDFium, poppler's pdftotext) see no gap in which to insert a space. Lines are written in reading
order, the same lines the text output writes (:func:`yomitori.pipeline.assemble.text_lines`), so
the PDF's text and ``--format txt`` cannot drift apart.

The writer is streaming: pages go to the file as they come and the font (whose character map is
known only at the end) is written last.
"""

from __future__ import annotations

import functools
import io
import struct
import unicodedata
import zlib
from typing import IO

import numpy as np

from yomitori import __version__
from yomitori.document import Document, Page
from yomitori.pipeline.assemble import text_lines
from yomitori.types import BBox, Direction

UNITS_PER_EM = 1000
ASCENT, DESCENT = 880, -120  # glyph box relative to the baseline, in font units
A4_PT = (595.0, 842.0)


@functools.cache
def glyphless_font() -> bytes:
    """A TrueType font whose glyphs are all empty, one em wide and one em tall (vertical)."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    fb = FontBuilder(UNITS_PER_EM, isTTF=True)
    order = [".notdef", "blank"]
    fb.setupGlyphOrder(order)
    fb.setupCharacterMap({0x20: "blank"})
    pen = TTGlyphPen(None)
    pen.moveTo((0, DESCENT))
    pen.lineTo((0, ASCENT))
    pen.lineTo((UNITS_PER_EM, ASCENT))
    pen.lineTo((UNITS_PER_EM, DESCENT))
    pen.closePath()
    fb.setupGlyf({".notdef": TTGlyphPen(None).glyph(), "blank": pen.glyph()})
    fb.setupHorizontalMetrics({name: (UNITS_PER_EM, 0) for name in order})
    fb.setupHorizontalHeader(ascent=ASCENT, descent=DESCENT)
    fb.setupVerticalMetrics({name: (UNITS_PER_EM, 0) for name in order})
    fb.setupVerticalHeader(ascent=UNITS_PER_EM // 2, descent=-(UNITS_PER_EM // 2))
    fb.setupNameTable({"familyName": "YomitoriGlyphless", "styleName": "Regular"})
    fb.setupOS2(sTypoAscender=ASCENT, sTypoDescender=DESCENT, usWinAscent=ASCENT,
                usWinDescent=-DESCENT)
    fb.setupPost()
    buf = io.BytesIO()
    fb.save(buf)
    return buf.getvalue()


def _pdf_string(text: str) -> bytes:
    """A PDF text string: UTF-16BE with BOM, hex-encoded (any character, no escaping rules)."""
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode() + b">"


class _PdfFile:
    """The few primitives of a PDF file: numbered objects, streams, cross-reference table."""

    def __init__(self, fh: IO[bytes]):
        self.fh = fh
        self.offsets: dict[int, int] = {}
        self.count = 0
        self.pos = 0
        self._write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")

    def _write(self, data: bytes) -> None:
        self.fh.write(data)
        self.pos += len(data)

    def reserve(self) -> int:
        self.count += 1
        return self.count

    def put(self, num: int, body: bytes) -> None:
        self.offsets[num] = self.pos
        self._write(b"%d 0 obj\n" % num + body + b"\nendobj\n")

    def put_stream(self, num: int, entries: bytes, data: bytes, *, compress: bool = True) -> None:
        if compress:
            data = zlib.compress(data, 6)
            entries += b" /Filter /FlateDecode"
        self.put(num, b"<< %s /Length %d >>\nstream\n" % (entries, len(data)) + data + b"\nendstream")

    def finish(self, root: int, info: int) -> None:
        xref = self.pos
        lines = [b"xref\n0 %d\n" % (self.count + 1), b"0000000000 65535 f \n"]
        lines += [b"%010d 00000 n \n" % self.offsets[n] for n in range(1, self.count + 1)]
        self._write(b"".join(lines))
        self._write(b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
                    % (self.count + 1, root, info, xref))


def _png_gray8_idat(png: bytes) -> tuple[int, int, bytes] | None:
    """(width, height, zlib data) of an 8-bit grayscale non-interlaced PNG, else None.

    Such a PNG's IDAT stream is exactly a PDF FlateDecode stream with PNG predictors, so the
    page image goes into the PDF without being decoded (as img2pdf does).
    """
    if not png.startswith(b"\x89PNG\r\n\x1a\n"):
        return None
    pos, idat, size = 8, [], None
    while pos + 8 <= len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        body = png[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            w, h, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body[:13])
            if depth != 8 or color != 0 or interlace != 0:
                return None
            size = (w, h)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    return (size[0], size[1], b"".join(idat)) if size and idat else None


def encode_page_png(pixels: np.ndarray) -> bytes:
    """(H, W) uint8 pixels as an 8-bit grayscale PNG: what workers send to the PDF writer (its
    data goes into the PDF as is), and the format of figure crops."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels, dtype=np.uint8)).save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def _fmt(v: float) -> bytes:
    return (b"%.3f" % v).rstrip(b"0").rstrip(b".") or b"0"


def _fmt_all(values: tuple[float, ...]) -> bytes:
    return b" ".join(_fmt(v) for v in values)


def _advance(ch: str) -> int:
    """Horizontal advance in font units: full-width characters one em, spaces a quarter (so
    extractors see an ordinary word space, not a column gap), other characters half an em."""
    if ch == " ":
        return UNITS_PER_EM // 4
    return UNITS_PER_EM if unicodedata.east_asian_width(ch) in "WF" else UNITS_PER_EM // 2


class PdfWriter:
    """Streaming searchable-PDF writer: ``begin(doc)``, ``add_page(page, png)``..., ``end()``."""

    binary = True

    def __init__(self, fh: IO[bytes]):
        self.pdf = _PdfFile(fh)
        self.cids: dict[str, int] = {}  # character -> CID, first use first
        self.page_nums: list[int] = []
        self.pages_num = self.pdf.reserve()
        self.font_h = self.pdf.reserve()
        self.font_v = self.pdf.reserve()
        self.title = ""
        self.last_origin_y = float("nan")  # of the last text object written

    def begin(self, doc: Document) -> None:
        self.title = doc.source

    def _codes(self, text: str) -> bytes:
        out = []
        for ch in text:
            cid = self.cids.get(ch)
            if cid is None:
                if len(self.cids) >= 0xFFFE:  # two-byte codes: past 65,534 characters, U+FFFD
                    ch = "\ufffd"
                cid = self.cids.setdefault(ch, len(self.cids) + 1)
            out.append(b"%04X" % cid)
        return b"<" + b"".join(out) + b">"

    def _line_ops(self, text: str, bbox: BBox, vertical: bool, scale: float, height_pt: float) -> bytes:
        x0, x1 = bbox.x0 * scale, bbox.x1 * scale
        top, bottom = height_pt - bbox.y0 * scale, height_pt - bbox.y1 * scale
        w, h = max(x1 - x0, 0.01), max(top - bottom, 0.01)
        if vertical:
            # The vertical origin (top of the column) sits at the left edge: the vertical font's
            # horizontal width is 1 unit, so its default position vector (w0/2, 880) puts the
            # glyph box from x0 to x1. Each glyph moves down one em = h / n.
            em = h / len(text)
            if abs(top - self.last_origin_y) < 0.05:
                # PDFium sorts consecutive text objects whose origins are at the same height
                # (within a quarter of a character's width, tiny in this font) left to right:
                # a vertical page's columns all start at the top and would come out in the wrong
                # order. A tenth of a point lower is invisible and keeps them in reading order.
                top -= 0.1
            self.last_origin_y = top
            codes = self._codes(text)
            if len(text) == 1:
                # PDFium takes the writing direction of a one-character text object from the
                # whole page, which it often judges horizontal, and then joins the line to the
                # previous column with a space. CID 0 after it (no Unicode, empty glyph, not
                # extracted by PDFium or poppler) makes two characters, read as vertical.
                codes = codes[:-1] + b"0000>"
            matrix = (w, 0.0, 0.0, em, x0, top)
            return b"/FV 1 Tf %s Tm " % _fmt_all(matrix) + codes + b" Tj"
        # baseline above the bottom by the descent; advances scaled to fill the line's width
        em = w / (sum(_advance(ch) for ch in text) / UNITS_PER_EM)
        self.last_origin_y = bottom - DESCENT / UNITS_PER_EM * h
        matrix = (em, 0.0, 0.0, h, x0, self.last_origin_y)
        return b"/FH 1 Tf %s Tm " % _fmt_all(matrix) + self._codes(text) + b" Tj"

    def _text_layer(self, page: Page, scale: float, height_pt: float) -> bytes:
        ops = []
        for _region, line in text_lines(page):
            text = line.text.replace("\n", "")
            if text:
                vertical = line.direction == Direction.VERTICAL
                ops.append(self._line_ops(text, line.bbox, vertical, scale, height_pt))
        return b"BT 3 Tr\n" + b"\n".join(ops) + b"\nET\n" if ops else b""

    def add_page(self, page: Page, image_png: bytes | None = None) -> None:
        scale = 72.0 / page.dpi if page.dpi > 0 else 1.0
        if page.width_px > 0 and page.height_px > 0:
            width_pt, height_pt = page.width_px * scale, page.height_px * scale
        else:  # a page that failed before rendering: a blank A4 page keeps the numbering
            width_pt, height_pt = A4_PT
        pdf = self.pdf
        page_num, content_num = pdf.reserve(), pdf.reserve()
        xobjects = b""
        content = b""
        if image_png is not None:
            image = _png_gray8_idat(image_png)
            if image is None:  # any other PNG: re-encode as 8-bit gray
                from PIL import Image

                gray = Image.open(io.BytesIO(image_png)).convert("L")
                image = _png_gray8_idat(encode_page_png(np.asarray(gray)))
            w_px, h_px, data = image
            image_num = pdf.reserve()
            pdf.put_stream(image_num, b"/Type /XObject /Subtype /Image /Width %d /Height %d "
                           b"/ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode "
                           b"/DecodeParms << /Predictor 15 /Colors 1 /BitsPerComponent 8 "
                           b"/Columns %d >>" % (w_px, h_px, w_px), data, compress=False)
            xobjects = b" /XObject << /Im0 %d 0 R >>" % image_num
            content = b"q %s 0 0 %s 0 0 cm /Im0 Do Q\n" % (_fmt(width_pt), _fmt(height_pt))
        content += self._text_layer(page, scale, height_pt)
        pdf.put_stream(content_num, b"", content)
        pdf.put(page_num, b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %s %s] /Contents %d 0 R "
                b"/Resources << /Font << /FH %d 0 R /FV %d 0 R >>%s >> >>"
                % (self.pages_num, _fmt(width_pt), _fmt(height_pt), content_num, self.font_h,
                   self.font_v, xobjects))
        self.page_nums.append(page_num)

    def _to_unicode(self) -> bytes:
        entries = [b"<%04X> <%s>" % (cid, ch.encode("utf-16-be").hex().upper().encode())
                   for ch, cid in self.cids.items()]
        blocks = [b"%d beginbfchar\n" % len(entries[i:i + 100]) + b"\n".join(entries[i:i + 100])
                  + b"\nendbfchar" for i in range(0, len(entries), 100)]
        return (b"/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
                b"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
                b"/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
                b"1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
                + b"\n".join(blocks)
                + b"\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n")

    def end(self) -> None:
        pdf = self.pdf
        if not self.page_nums:  # a PDF needs at least one page to open anywhere
            self.add_page(Page(1, 0, 0, 72.0))
        cid_font_h, cid_font_v, descriptor, font_file, to_unicode, cid_map = (
            pdf.reserve() for _ in range(6))
        font = glyphless_font()
        pdf.put_stream(font_file, b"/Length1 %d" % len(font), font)
        pdf.put(descriptor, b"<< /Type /FontDescriptor /FontName /YomitoriGlyphless /Flags 4 "
                b"/FontBBox [0 %d %d %d] /ItalicAngle 0 /Ascent %d /Descent %d /CapHeight %d "
                b"/StemV 80 /FontFile2 %d 0 R >>"
                % (DESCENT, UNITS_PER_EM, ASCENT, ASCENT, DESCENT, ASCENT, font_file))
        # every CID draws glyph 1 (empty); CID 0 stays .notdef
        pdf.put_stream(cid_map, b"", b"\x00\x00" + b"\x00\x01" * len(self.cids))
        pdf.put_stream(to_unicode, b"", self._to_unicode())
        # horizontal: per-character advances (W); vertical: one em each way for every glyph
        widths = b" ".join(b"%d [%d]" % (cid, _advance(ch)) for ch, cid in self.cids.items())
        vertical = b"/DW 1 /DW2 [%d -%d]" % (ASCENT, UNITS_PER_EM)
        for num, metrics in ((cid_font_h, b"/DW %d /W [%s]" % (UNITS_PER_EM, widths)),
                             (cid_font_v, vertical)):
            pdf.put(num, b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /YomitoriGlyphless "
                    b"/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> "
                    b"/FontDescriptor %d 0 R %s /CIDToGIDMap %d 0 R >>"
                    % (descriptor, metrics, cid_map))
        for num, encoding, cid_font in ((self.font_h, b"Identity-H", cid_font_h),
                                        (self.font_v, b"Identity-V", cid_font_v)):
            pdf.put(num, b"<< /Type /Font /Subtype /Type0 /BaseFont /YomitoriGlyphless-%s "
                    b"/Encoding /%s /DescendantFonts [%d 0 R] /ToUnicode %d 0 R >>"
                    % (encoding, encoding, cid_font, to_unicode))
        pdf.put(self.pages_num, b"<< /Type /Pages /Count %d /Kids [%s] >>"
                % (len(self.page_nums), b" ".join(b"%d 0 R" % n for n in self.page_nums)))
        info, root = pdf.reserve(), pdf.reserve()
        pdf.put(info, b"<< /Producer %s /Title %s >>"
                % (_pdf_string(f"yomitori {__version__}"), _pdf_string(self.title)))
        pdf.put(root, b"<< /Type /Catalog /Pages %d 0 R /Lang (ja) >>" % self.pages_num)
        pdf.finish(root, info)
