"""Write: the Document tree as text, JSON, Markdown, hOCR and searchable PDF.

Every writer reads only the tree (the PDF writer also gets each page's image) and streams:
``begin(doc)`` with the document's source and metadata, ``add_page(page, image_png)`` as each
page comes, ``end()``. :class:`OutputSet` opens one input's files atomically (temporary
siblings renamed at the end), so an interrupted or failed run leaves no partial file behind.

- **txt**: UTF-8, pages separated by a form feed; in each page the regions' lines in reading
  order (furigana left out), a blank line between paragraphs, tables as tab-separated rows;
- **json**: :meth:`Document.to_dict`, schema in docs/json-schema.md; one page per line;
- **md**: titles as headings, paragraphs joined without line breaks, tables as pipe tables,
  figures as image links with their captions; running headers and furigana left out;
- **hocr** (:mod:`.hocr`) and **pdf** (:mod:`.pdf`).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from yomitori.atomic import atomic_open, atomic_write_bytes
from yomitori.document import SCHEMA_VERSION, Document, Page, Region
from yomitori.errors import UserError
from yomitori.pipeline.assemble import SKIP_IN_TEXT, join_lines, paragraphs, table_grid
from yomitori.types import RegionClass

FORMATS: dict[str, str] = {"txt": ".txt", "json": ".json", "md": ".md", "hocr": ".hocr", "pdf": ".pdf"}


def parse_formats(spec: str | Sequence[str]) -> list[str]:
    names = [f.strip().lower() for f in (spec.split(",") if isinstance(spec, str) else spec)]
    names = [n for n in names if n]
    unknown = [n for n in names if n not in FORMATS]
    if unknown or not names:
        raise UserError(f"--format: unknown format {', '.join(unknown) or '(none)'}; choose from "
                        f"{', '.join(FORMATS)}")
    return list(dict.fromkeys(names))


# -- text -------------------------------------------------------------------------------------
def region_text(region: Region) -> str:
    if region.cls == RegionClass.TABLE:
        return "\n".join("\t".join(cell.replace("\n", " ") for cell in row) for row in table_grid(region))
    return "\n\n".join("\n".join(ln.text for ln in par) for par in paragraphs(region))


def page_text(page: Page) -> str:
    """The page's text in reading order (what ``--format txt`` writes for it)."""
    blocks = [region_text(r) for r in page.regions if r.cls not in SKIP_IN_TEXT]
    text = "\n\n".join(b for b in blocks if b)
    return text + "\n" if text else ""


class TextWriter:
    binary = False

    def __init__(self, fh: IO[str]):
        self.fh = fh
        self.count = 0

    def begin(self, doc: Document) -> None:
        pass

    def add_page(self, page: Page, image_png: bytes | None = None) -> None:
        if self.count:
            self.fh.write("\f")
        self.fh.write(page_text(page))
        self.count += 1

    def end(self) -> None:
        self.fh.flush()


# -- JSON -------------------------------------------------------------------------------------
def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(", ", ": "))


class JsonWriter:
    """The document dict, written page by page: a header line, one line per page, a footer."""

    binary = False

    def __init__(self, fh: IO[str]):
        self.fh = fh
        self.count = 0

    def begin(self, doc: Document) -> None:
        head = {"schema": "yomitori.document", "version": SCHEMA_VERSION, "source": doc.source,
                "metadata": doc.metadata}
        self.fh.write(_dumps(head)[:-1] + ', "pages": [\n')

    def add_page(self, page: Page, image_png: bytes | None = None) -> None:
        self.fh.write((",\n" if self.count else "") + _dumps(page.to_dict()))
        self.count += 1

    def end(self) -> None:
        self.fh.write("\n]}\n")
        self.fh.flush()


# -- Markdown ---------------------------------------------------------------------------------
_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]<>|"})


def md_escape(text: str) -> str:
    text = text.translate(_MD_SPECIAL)
    if text[:1] in ("#", "+", "-", "="):
        return "\\" + text
    return re.sub(r"^(\d+)([.)])", r"\1\\\2", text)  # "1. " would start a list


def md_table(grid: list[list[str]]) -> str:
    if not grid:
        return ""
    cells = [[md_escape(c).replace("\n", "<br>") or " " for c in row] for row in grid]
    head, *body = cells
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)


def page_markdown(page: Page) -> str:
    out = [f"<!-- page {page.number} -->"]
    if page.error:
        out.append(f"<!-- page {page.number} failed: {page.error.replace('--', '- -')} -->")
    captions = {r.caption for r in page.regions if r.cls in (RegionClass.FIGURE, RegionClass.TABLE)}
    for region in page.regions:
        cls = region.cls
        if cls in SKIP_IN_TEXT or cls == RegionClass.HEADER:
            continue
        if cls == RegionClass.TITLE:
            if region.lines:
                out.append("# " + md_escape(join_lines(region.lines)))
        elif cls == RegionClass.FIGURE:
            alt = md_escape(region.caption or "figure")
            if region.image_path:
                out.append(f"![{alt}]({region.image_path.replace(' ', '%20')})")
            if region.caption:
                out.append(f"*{md_escape(region.caption)}*")
        elif cls == RegionClass.TABLE:
            if region.caption:
                out.append(f"*{md_escape(region.caption)}*")
            table = md_table(table_grid(region))
            if table:
                out.append(table)
        elif cls == RegionClass.CAPTION and join_lines(region.lines) in captions:
            continue  # written with its figure or table
        else:
            out += [md_escape(join_lines(par)) for par in paragraphs(region)]
    return "\n\n".join(out) + "\n"


class MarkdownWriter:
    binary = False

    def __init__(self, fh: IO[str]):
        self.fh = fh
        self.count = 0

    def begin(self, doc: Document) -> None:
        pass

    def add_page(self, page: Page, image_png: bytes | None = None) -> None:
        self.fh.write(("\n" if self.count else "") + page_markdown(page))
        self.count += 1

    def end(self) -> None:
        self.fh.flush()


# -- dispatch ---------------------------------------------------------------------------------
def make_writer(fmt: str, fh: IO):
    """The streaming writer for ``fmt`` on an open handle (binary for pdf, text otherwise)."""
    if fmt == "txt":
        return TextWriter(fh)
    if fmt == "json":
        return JsonWriter(fh)
    if fmt == "md":
        return MarkdownWriter(fh)
    if fmt == "hocr":
        from yomitori.pipeline.hocr import HocrWriter

        return HocrWriter(fh)
    if fmt == "pdf":
        from yomitori.pipeline.pdf import PdfWriter

        return PdfWriter(fh)
    raise UserError(f"unknown format {fmt!r}")


def render_document(doc: Document, fmt: str, images: dict[int, bytes] | None = None) -> str | bytes:
    """The whole document in ``fmt`` (str, or bytes for pdf), through the streaming writer."""
    buf: IO = io.BytesIO() if fmt == "pdf" else io.StringIO()
    writer = make_writer(fmt, buf)
    writer.begin(doc)
    for page in doc.pages:
        writer.add_page(page, (images or {}).get(page.number))
    writer.end()
    return buf.getvalue()


def to_text(doc: Document) -> str:
    return render_document(doc, "txt")


def to_json(doc: Document) -> str:
    return render_document(doc, "json")


def to_markdown(doc: Document) -> str:
    return render_document(doc, "md")


def write_document(doc: Document, path: str | os.PathLike, fmt: str | None = None,
                   images: dict[int, bytes] | None = None) -> Path:
    """Write the whole document to ``path`` atomically; ``fmt`` from the suffix if None."""
    path = Path(path)
    fmt = fmt or path.suffix.lstrip(".").lower()
    data = render_document(doc, fmt, images)
    atomic_write_bytes(path, data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


# -- output planning --------------------------------------------------------------------------
def output_targets(source: str | os.PathLike, output: str | None, formats: Sequence[str], *,
                   folder: bool) -> dict[str, Path | None]:
    """Where each format goes for one input: ``None`` is stdout (no ``-o``).

    ``folder``: ``output`` is a folder and files are named after the input
    (``OUT/<stem>.<ext>``); otherwise ``output`` is a file stem (``OUT.<ext>``; a known
    extension on it is dropped, so ``-o result.pdf --format pdf`` writes result.pdf).
    """
    if output is None:
        binary = [f for f in formats if f == "pdf"]
        if binary:
            raise UserError("--format pdf needs -o OUT (a PDF is not written to the terminal)")
        if len(formats) > 1:
            raise UserError("more than one --format needs -o OUT")
        return {formats[0]: None}
    if folder:
        stem = Path(output) / Path(source).stem
    else:
        stem = Path(output)
        if stem.suffix.lower() in FORMATS.values():
            stem = stem.with_suffix("")
    targets: dict[str, Path | None] = {f: stem.with_name(stem.name + FORMATS[f]) for f in formats}
    src = Path(source).resolve()
    for path in targets.values():
        if path is not None and path.resolve() == src:
            raise UserError(f"{path}: the output would overwrite the input; choose another -o")
    return targets


def prepare_folder(folder: Path) -> None:
    """Create ``folder`` if needed and prove it writable, or one clear UserError."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{folder}: cannot create the output folder ({exc.strerror or exc})") from None
    if not folder.is_dir():
        raise UserError(f"{folder}: the output folder is not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".yomitori-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise UserError(f"{folder}: the output folder is not writable ({exc.strerror or exc})") from None


def _make_public(path: Path) -> None:
    """Give an output file the usual permissions (temporary files are created 0600)."""
    umask = os.umask(0o022)
    os.umask(umask)
    with contextlib.suppress(OSError):
        os.chmod(path, 0o666 & ~umask)


class OutputSet:
    """One input's outputs, opened atomically and written page by page.

    ``figures_dir``: where figure crops go (named ``page-0003-figure-1.png``); each figure
    region's ``image_path`` is set relative to ``base_dir`` (the folder of the Markdown file).
    On an exception, temporary files and the figures written so far are removed.
    """

    def __init__(self, doc: Document, targets: dict[str, Path | None], *,
                 figures_dir: Path | None = None, base_dir: Path | None = None):
        self.doc = doc
        self.targets = targets
        self.figures_dir = figures_dir
        self.base_dir = base_dir
        self.writers: list[Any] = []
        self.figure_files: list[Path] = []
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> OutputSet:
        try:
            for fmt, path in self.targets.items():
                binary = fmt == "pdf"
                if path is None:
                    fh = sys.stdout
                else:
                    fh = self._stack.enter_context(atomic_open(path, "wb" if binary else "w",
                                                               **({} if binary else {"encoding": "utf-8"})))
                writer = make_writer(fmt, fh)
                writer.begin(self.doc)
                self.writers.append(writer)
        except BaseException:
            self._stack.close()
            raise
        return self

    def add(self, page: Page, image_png: bytes | None = None,
            figures: Sequence[tuple[int, bytes]] = ()) -> None:
        if figures and self.figures_dir is not None:
            self.figures_dir.mkdir(parents=True, exist_ok=True)
            for k, (index, png) in enumerate(figures, 1):
                path = self.figures_dir / f"page-{page.number:04d}-figure-{k}.png"
                atomic_write_bytes(path, png)
                self.figure_files.append(path)
                rel = os.path.relpath(path, self.base_dir or self.figures_dir.parent)
                page.regions[index].image_path = Path(rel).as_posix()
        for writer in self.writers:
            writer.add_page(page, image_png)

    def __exit__(self, exc_type, exc, tb) -> bool:  # noqa: ANN001
        if exc_type is None:
            try:
                for writer in self.writers:
                    writer.end()
            except BaseException as err:
                self._abort(type(err), err, err.__traceback__)
                raise
            self._stack.close()
            for path in [*self.targets.values(), *self.figure_files]:
                if path is not None:
                    _make_public(path)
            return False
        self._abort(exc_type, exc, tb)
        return False

    def _abort(self, exc_type, exc, tb) -> None:  # noqa: ANN001
        with contextlib.suppress(BaseException):
            self._stack.__exit__(exc_type, exc, tb)
        for path in self.figure_files:
            with contextlib.suppress(OSError):
                path.unlink()
        if self.figures_dir is not None:
            with contextlib.suppress(OSError):
                self.figures_dir.rmdir()  # only if empty
