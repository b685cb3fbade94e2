"""Helpers for the reading-pipeline tests (no tests here): files made on the fly, never downloaded.

- :func:`build_pdf` writes a PDF from raw objects with a correct cross-reference table;
- :func:`encrypted_pdf` one encrypted with the standard security handler (RC4, 40-bit, R2);
- :func:`image_pdf` / :func:`tiff` / :func:`png_header_only` images and PDFs of images;
- :func:`sample_document` a two-page Japanese document (vertical and horizontal text, a table,
  a figure with its caption, furigana, a running header) at a given dpi.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from yomitori.document import Char, Document, Line, Page, Region
from yomitori.types import BBox, Direction, RegionClass

H, V = Direction.HORIZONTAL, Direction.VERTICAL


def build_pdf(objects: list[bytes], trailer_extra: bytes = b"") -> bytes:
    """A PDF whose object i+1 is ``objects[i]`` (object 1 must be the catalog)."""
    out = b"%PDF-1.4\n"
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (i, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, trailer_extra, xref)
    return out


def zero_page_pdf() -> bytes:
    return build_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"])


_PAD = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")


def _rc4(key: bytes, data: bytes) -> bytes:
    s, j = list(range(256)), 0
    for i in range(256):
        j = (j + s[i] + key[i % len(key)]) % 256
        s[i], s[j] = s[j], s[i]
    i = j = 0
    out = bytearray()
    for b in data:
        i = (i + 1) % 256
        j = (j + s[i]) % 256
        s[i], s[j] = s[j], s[i]
        out.append(b ^ s[(s[i] + s[j]) % 256])
    return bytes(out)


def encrypted_pdf(user_password: str = "secret", owner_password: str = "owner") -> bytes:
    """A one-page PDF encrypted with the standard handler, revision 2 (PDF 1.7, 7.6.3)."""
    pu = (user_password.encode() + _PAD)[:32]
    po = (owner_password.encode() + _PAD)[:32]
    o_entry = _rc4(hashlib.md5(po).digest()[:5], pu)
    perms, file_id = -4, b"yomitori-test-id"
    key = hashlib.md5(pu + o_entry + struct.pack("<i", perms) + file_id).digest()[:5]
    u_entry = _rc4(key, _PAD)
    return build_pdf(
        [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
         b"<< /Filter /Standard /V 1 /R 2 /O <%s> /U <%s> /P %d >>"
         % (o_entry.hex().encode(), u_entry.hex().encode(), perms),
         b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] >>"],
        b"/Encrypt 3 0 R /ID [<%s> <%s>]" % (file_id.hex().encode(), file_id.hex().encode()))


def page_pixels(seed: int, height: int = 160, width: int = 120) -> np.ndarray:
    """A page-like grayscale image: white paper, a few dark bars (lines of 'text')."""
    rng = np.random.default_rng(seed)
    img = np.full((height, width), 245, np.uint8)
    for k in range(4):
        y = 20 + 30 * k
        img[y:y + 10, 10:10 + int(rng.integers(40, width - 20))] = 30
    return img


def image_pdf(path: Path, n_pages: int = 3, dpi: float = 72.0) -> Path:
    """A PDF of ``n_pages`` page images (Pillow's PDF writer), each page_pixels(page)."""
    images = [Image.fromarray(page_pixels(i)) for i in range(n_pages)]
    images[0].save(path, format="PDF", save_all=True, append_images=images[1:], resolution=dpi)
    return path


def tiff(path: Path, n_frames: int = 3, dpi: float = 150.0) -> Path:
    frames = [Image.fromarray(page_pixels(10 + i)) for i in range(n_frames)]
    frames[0].save(path, format="TIFF", save_all=True, append_images=frames[1:], dpi=(dpi, dpi))
    return path


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims ``width`` × ``height`` but holds a few bytes (a decompression bomb)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + _chunk(b"IEND", b""))


# -- a document to write ----------------------------------------------------------------------
def vline(text: str, x: float, y: float, size: float = 40, conf: float = 0.9) -> Line:
    chars = [Char(ch, BBox(x, y + i * size, x + size, y + (i + 1) * size), conf) for i, ch in enumerate(text)]
    return Line(text, BBox(x, y, x + size, y + size * len(text)), V, conf, chars)


def hline(text: str, x: float, y: float, size: float = 40, conf: float = 0.9) -> Line:
    chars = [Char(ch, BBox(x + i * size, y, x + (i + 1) * size, y + size), conf) for i, ch in enumerate(text)]
    return Line(text, BBox(x, y, x + size * len(text), y + size), H, conf, chars)


def box_of(lines: list[Line]) -> BBox:
    box = lines[0].bbox
    for line in lines[1:]:
        box = box.union(line.bbox)
    return box


def region(cls: RegionClass, lines: list[Line], direction: Direction | None = None, **kw) -> Region:
    direction = direction or (lines[0].direction if lines else H)
    return Region(cls, kw.pop("bbox", None) or box_of(lines), direction, lines, **kw)


VERTICAL_COLUMNS = ["吾輩は猫である。名前はまだ無い。", "どこで生れたかとんと見当がつかぬ。",
                    "何でも薄暗いじめじめした所で", "𠮟られた事だけは記憶している。", "た。"]


def sample_pages() -> list[Page]:
    """Page 1: a vertical page (title, columns incl. a non-BMP character and a one-character
    column, furigana, a running header). Page 2: horizontal text, a table, a figure + caption."""
    cols = [vline(t, 1000 - 60 * i, 200 + (40 if i == 2 else 0)) for i, t in enumerate(VERTICAL_COLUMNS)]
    cols.append(vline("す", 1000 - 60 * len(VERTICAL_COLUMNS), 200))
    p1 = [
        region(RegionClass.HEADER, [hline("第一章", 80, 40, 30)]),
        region(RegionClass.TITLE, [vline("猫の話", 1090, 200, 50)]),
        region(RegionClass.TEXT, cols),
        region(RegionClass.FURIGANA, [vline("わがはい", 1042, 200, 10)]),
    ]
    table = [hline("品目", 100, 700), hline("数量", 400, 700), hline("りんご", 100, 760), hline("3", 400, 760)]
    p2 = [
        region(RegionClass.TEXT, [hline("横書きの段落です。", 100, 100), hline("二行目が続く。", 100, 150),
                                  hline("新しい段落。", 140, 260)]),
        region(RegionClass.TABLE, table, bbox=BBox(90, 690, 600, 810)),
        region(RegionClass.CAPTION, [hline("表1 果物", 100, 830, 30)]),
        Region(RegionClass.FIGURE, BBox(100, 900, 500, 1200), H),
        region(RegionClass.CAPTION, [hline("図1 猫の写真", 100, 1210, 30)]),
    ]
    return [Page(1, 1240, 1754, 150.0, p1), Page(2, 1240, 1754, 150.0, p2)]


def sample_document() -> Document:
    return Document("sample.pdf", sample_pages(), {"engine": "fixed"})
