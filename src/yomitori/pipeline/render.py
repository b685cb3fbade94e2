"""Render: PDF pages and image files to :class:`PageImage` (grayscale uint8), one page at a time.

PDFs go through PDFium (pypdfium2) at a chosen dpi; PNG, JPEG and TIFF (multi-page TIFFs give
one page per frame) through Pillow, at their own resolution (``dpi`` is assumed when the file
does not record one). Every problem is an :class:`~yomitori.errors.InputImageError` whose
message names the file (and page) and says what is wrong: not a PDF or image, damaged or
truncated, encrypted without the right password, no pages, too many pages, a page too large.

Limits: :data:`MAX_PAGES` pages per file, :data:`MAX_PIXELS` pixels per rendered page (checked
from the page size or the image header, before any pixel is decoded).

Streaming: :class:`PageRenderer` keeps the file open and renders the page asked for, so a
500-page PDF is never held in memory; workers open their own renderer and render by number.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from yomitori.errors import InputImageError, UserError
from yomitori.imageio import MAX_PIXELS
from yomitori.types import PageImage

MAX_PAGES = 10_000
DEFAULT_DPI = 300.0
MIN_DPI, MAX_DPI = 50.0, 1200.0
IMAGE_FORMATS = ("PNG", "JPEG", "MPO", "TIFF")  # Pillow's names; MPO is a JPEG with extras
_SNIFF_BYTES = 1024


@dataclass(frozen=True)
class SourceInfo:
    path: str
    kind: str  # "pdf" | "image"
    format: str  # "PDF", "PNG", "JPEG", "TIFF"
    page_count: int


def parse_page_spec(spec: str) -> list[tuple[int, int | None]]:
    """``"1-5,8,10-"`` → ``[(1, 5), (8, 8), (10, None)]`` (1-based, inclusive, None = last)."""
    ranges: list[tuple[int, int | None]] = []
    for part in spec.replace(" ", "").split(","):
        m = re.fullmatch(r"(\d+)(?:(-)(\d*))?", part)
        if not m:
            raise UserError(f"--pages: {part!r} is not a page or a range like 1-5 or 8- (in {spec!r})")
        first = int(m.group(1))
        last = first if not m.group(2) else (int(m.group(3)) if m.group(3) else None)
        if first < 1 or (last is not None and last < first):
            raise UserError(f"--pages: {part!r} is not a valid range (pages count from 1)")
        ranges.append((first, last))
    return ranges


def select_pages(spec: str | Iterable[int] | None, page_count: int, source: str = "") -> list[int]:
    """The sorted page numbers that ``spec`` names in a document of ``page_count`` pages."""
    if spec is None or spec == "":
        return list(range(1, page_count + 1))
    where = f"{source}: " if source else ""
    if isinstance(spec, str):
        numbers: set[int] = set()
        for first, last in parse_page_spec(spec):
            if first > page_count:
                raise UserError(f"{where}page {first} is out of range (the document has {page_count})")
            numbers.update(range(first, min(last or page_count, page_count) + 1))
    else:
        numbers = set(spec)
        bad = sorted(n for n in numbers if not 1 <= n <= page_count)
        if bad:
            raise UserError(f"{where}page {bad[0]} is out of range (the document has {page_count})")
    return sorted(numbers)


def check_dpi(dpi: float) -> float:
    if not MIN_DPI <= dpi <= MAX_DPI:
        raise UserError(f"--dpi {dpi:g} is outside {MIN_DPI:g}–{MAX_DPI:g}")
    return float(dpi)


def _check_path(path: Path) -> bytes:
    """The file's first bytes, or InputImageError for a missing, unreadable or empty file."""
    if not path.exists():
        raise InputImageError(f"{path}: no such file")
    if path.is_dir():
        raise InputImageError(f"{path}: is a directory, not a PDF or an image")
    try:
        with open(path, "rb") as fh:
            head = fh.read(_SNIFF_BYTES)
    except OSError as exc:
        raise InputImageError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not head:
        raise InputImageError(f"{path}: empty file")
    return head


def _tail(path: Path, n: int = 2048) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        fh.seek(max(fh.tell() - n, 0))
        return fh.read()


class PageRenderer:
    """An open PDF or image file that renders its pages by number (1-based)."""

    def __init__(self, path: str | os.PathLike, *, dpi: float = DEFAULT_DPI,
                 password: str | None = None, max_pixels: int = MAX_PIXELS,
                 max_pages: int = MAX_PAGES):
        self.path = Path(path)
        self.dpi = check_dpi(dpi)
        self.max_pixels = max_pixels
        self._pdf = None
        self._image = None
        head = _check_path(self.path)
        if b"%PDF-" in head:
            self._open_pdf(password)
            fmt, kind = "PDF", "pdf"
        else:
            self._open_image()
            fmt, kind = ("JPEG" if self._image.format == "MPO" else self._image.format), "image"
        if self.page_count > max_pages:
            self.close()
            raise InputImageError(f"{self.path}: {self.page_count:,} pages, over the limit of {max_pages:,}")
        self.info = SourceInfo(str(self.path), kind, fmt, self.page_count)

    # -- opening -----------------------------------------------------------------------------
    def _open_pdf(self, password: str | None) -> None:
        import pypdfium2 as pdfium
        import pypdfium2.raw as pdfium_c

        # the raw call, because PDFium's last-error code is stale after a document that loads
        # with no pages (pypdfium2 would report the previous file's error)
        pw = None if password is None else password.encode("utf-8")
        handle = pdfium_c.FPDF_LoadDocument(str(self.path.resolve()).encode("utf-8"), pw)
        if not handle:
            code = pdfium_c.FPDF_GetLastError()
            if code == pdfium_c.FPDF_ERR_PASSWORD:
                if password:
                    raise InputImageError(f"{self.path}: wrong password for this encrypted PDF")
                raise InputImageError(f"{self.path}: the PDF is encrypted; give its password with --password")
            if code == pdfium_c.FPDF_ERR_SECURITY:
                raise InputImageError(f"{self.path}: the PDF uses an unsupported security handler")
            if code == pdfium_c.FPDF_ERR_FILE:
                raise InputImageError(f"{self.path}: cannot read the file")
            if b"%%EOF" not in _tail(self.path):
                raise InputImageError(f"{self.path}: truncated PDF (no end-of-file marker); "
                                      "the file was cut short")
            raise InputImageError(f"{self.path}: damaged PDF that cannot be opened "
                                  f"(PDFium error {code})")
        self.page_count = pdfium_c.FPDF_GetPageCount(handle)
        if self.page_count < 1:
            pdfium_c.FPDF_CloseDocument(handle)
            raise InputImageError(f"{self.path}: the PDF has no pages")
        self._pdf = pdfium.PdfDocument(handle)

    def _open_image(self) -> None:
        from PIL import Image, UnidentifiedImageError

        try:
            Image.init()  # registers every plugin, so the format list below resolves
            formats = [f for f in IMAGE_FORMATS if f in Image.OPEN]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # damaged metadata that Pillow skips
                self._image = Image.open(self.path, formats=formats)
                self.page_count = int(getattr(self._image, "n_frames", 1) or 1)
        except UnidentifiedImageError:
            raise InputImageError(f"{self.path}: not a PDF or a supported image "
                                  f"(PNG, JPEG, TIFF)") from None
        except Image.DecompressionBombError as exc:  # over twice Pillow's own limit
            m = re.search(r"\((\d+) pixels\)", str(exc))
            size = f"{int(m.group(1)):,} pixels" if m else "too many pixels"
            raise InputImageError(f"{self.path}: image is {size}, over the limit of "
                                  f"{self.max_pixels:,}") from None
        except Exception as exc:  # noqa: BLE001 - Pillow raises many types on damaged headers
            self.close()
            raise InputImageError(f"{self.path}: damaged image ({type(exc).__name__}: {exc})") from None
        w, h = self._image.size
        if w * h > self.max_pixels:
            self.close()
            raise InputImageError(f"{self.path}: image is {w:,} × {h:,} pixels, over the limit of "
                                  f"{self.max_pixels:,}")
        if w < 1 or h < 1:
            self.close()
            raise InputImageError(f"{self.path}: image has no pixels ({w} × {h})")

    # -- rendering ---------------------------------------------------------------------------
    def render(self, number: int) -> PageImage:
        """Page ``number`` (1-based) as a grayscale PageImage; InputImageError if it can't be."""
        if not 1 <= number <= self.page_count:
            raise InputImageError(f"{self.path}: page {number} is out of range "
                                  f"(the document has {self.page_count})")
        if self._pdf is not None:
            return self._render_pdf(number)
        return self._render_image(number)

    def _render_pdf(self, number: int) -> PageImage:
        where = f"{self.path}: page {number}"
        try:
            page = self._pdf[number - 1]
            w_pt, h_pt = page.get_size()
            scale = self.dpi / 72.0
            w_px, h_px = round(w_pt * scale), round(h_pt * scale)
            if w_px * h_px > self.max_pixels:
                raise InputImageError(f"{where}: at {self.dpi:g} dpi it would be {w_px:,} × {h_px:,} "
                                      f"pixels, over the limit of {self.max_pixels:,}; lower --dpi")
            if w_px < 1 or h_px < 1:
                raise InputImageError(f"{where}: the page has no area ({w_pt:g} × {h_pt:g} pt)")
            bitmap = page.render(scale=scale, grayscale=True, may_draw_forms=False)
            pixels = np.array(bitmap.to_numpy(), dtype=np.uint8, copy=True)
            page.close()
        except InputImageError:
            raise
        except Exception as exc:  # noqa: BLE001 - PDFium errors vary by damage
            raise InputImageError(f"{where}: cannot be rendered ({type(exc).__name__}: {exc})") from None
        if pixels.ndim == 3:
            pixels = pixels[:, :, 0]
        return PageImage(np.ascontiguousarray(pixels), self.dpi, number, str(self.path))

    def _render_image(self, number: int) -> PageImage:
        from PIL import Image

        where = f"{self.path}" if self.page_count == 1 else f"{self.path}: page {number}"
        img = self._image
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Pillow warns about damaged metadata it skips
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                if img.tell() != number - 1:
                    img.seek(number - 1)
                w, h = img.size
                if w * h > self.max_pixels:
                    raise InputImageError(f"{where}: image is {w:,} × {h:,} pixels, over the limit "
                                          f"of {self.max_pixels:,}")
                img.load()
                pixels = _to_gray(img)
        except InputImageError:
            raise
        except Exception as exc:  # noqa: BLE001 - decoders raise many types on damaged data
            raise InputImageError(f"{where}: damaged or truncated image "
                                  f"({type(exc).__name__}: {exc})") from None
        return PageImage(pixels, _image_dpi(img, self.dpi), number, str(self.path))

    def close(self) -> None:
        if self._pdf is not None:
            self._pdf.close()
            self._pdf = None
        if self._image is not None:
            self._image.close()
            self._image = None

    def __enter__(self) -> PageRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _image_dpi(img, default: float) -> float:  # noqa: ANN001 - PIL image
    dpi = img.info.get("dpi")
    try:
        value = float(dpi[0]) if dpi else 0.0
    except (TypeError, ValueError, IndexError):
        value = 0.0
    return value if MIN_DPI <= value <= 4 * MAX_DPI else default


def _to_gray(img) -> np.ndarray:  # noqa: ANN001 - PIL image
    """(H, W) uint8: EXIF orientation applied, transparency over white, 16-bit scaled down."""
    from PIL import Image, ImageOps

    if img.format in ("JPEG", "MPO"):
        img = ImageOps.exif_transpose(img)
    if img.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        top = arr.max() if arr.size else 0.0
        scale = 255.0 / top if top > 255 else 1.0
        return np.clip(arr * scale, 0, 255).astype(np.uint8)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        background.alpha_composite(rgba)
        img = background
    return np.ascontiguousarray(np.asarray(img.convert("L"), dtype=np.uint8))


def inspect_source(path: str | os.PathLike, password: str | None = None) -> SourceInfo:
    """Open ``path`` far enough to validate it and count its pages; InputImageError if bad."""
    with PageRenderer(path, password=password) as renderer:
        return renderer.info


def count_pages(path: str | os.PathLike, password: str | None = None) -> int:
    return inspect_source(path, password).page_count


def render_pages(path: str | os.PathLike, pages: str | Iterable[int] | None = None, *,
                 dpi: float = DEFAULT_DPI, password: str | None = None) -> Iterator[PageImage]:
    """Yield the selected pages one at a time (the file stays open between pages)."""
    with PageRenderer(path, dpi=dpi, password=password) as renderer:
        for number in select_pages(pages, renderer.page_count, str(path)):
            yield renderer.render(number)
