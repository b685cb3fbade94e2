"""``yomitori read`` from the command line, driven by the null or a recorded engine.

Every bad input gives one line on stderr, exit status 2 and no output file; a page failing in a
batch gives exit status 1, the other pages written and the failed page named.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from test_read_helpers import (
    encrypted_pdf,
    hline,
    image_pdf,
    png_header_only,
    region,
    zero_page_pdf,
)
from yomitori.cli import main
from yomitori.document import Document, Page
from yomitori.types import RegionClass

ALL = "txt,json,md,hocr,pdf"


def cli(capsys, *argv: str) -> tuple[int, str, str]:  # noqa: ANN001
    code = main(["read", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def recorded(path: Path, n_pages: int = 3, fail: int | None = None) -> str:
    pages = [Page(n, 120, 160, 72.0, [region(RegionClass.TEXT, [hline(f"頁{n}の本文", 10, 10, 10)])],
                  error="simulated engine failure" if n == fail else None) for n in range(1, n_pages + 1)]
    path.write_text(json.dumps(Document("rec", pages).to_dict(), ensure_ascii=False), encoding="utf-8")
    return f"fixed:{path}"


def test_text_to_stdout_by_default(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    pdf = image_pdf(tmp_path / "in.pdf", 3)
    code, out, err = cli(capsys, str(pdf), "--engine", recorded(tmp_path / "r.json"), "--dpi", "72")
    assert code == 0 and out == "頁1の本文\n\f頁2の本文\n\f頁3の本文\n" and err == ""
    code, out, _ = cli(capsys, str(pdf), "--engine", recorded(tmp_path / "r.json"), "--pages", "2-3",
                       "--format", "json", "--dpi", "72")
    assert code == 0 and [p["number"] for p in json.loads(out)["pages"]] == [2, 3]


def test_all_formats_to_a_stem_and_a_folder(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    pdf = image_pdf(tmp_path / "in.pdf", 2)
    engine = recorded(tmp_path / "r.json", 2)
    code, _, err = cli(capsys, str(pdf), "-o", str(tmp_path / "a" / "result.pdf"), "--format", ALL,
                       "--engine", engine, "--quiet")
    assert code == 0 and err == ""
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [
        "result.hocr", "result.json", "result.md", "result.pdf", "result.txt"]
    other = image_pdf(tmp_path / "second.pdf", 2)
    code, _, err = cli(capsys, str(pdf), str(other), "-o", str(tmp_path / "b"), "--format", "txt,pdf",
                       "--engine", engine, "--workers", "2")
    assert code == 0 and "wrote" in err
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["in.pdf", "in.txt", "second.pdf", "second.txt"]


def test_a_failing_page_keeps_the_others(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    pdf = image_pdf(tmp_path / "in.pdf", 3)
    code, _, err = cli(capsys, str(pdf), "-o", str(tmp_path / "out") + "/", "--format", "txt,json,pdf",
                       "--engine", recorded(tmp_path / "r.json", fail=2), "--quiet")
    assert code == 1
    assert err.splitlines() == [f"yomitori: page 2 of {pdf} failed: RuntimeError: simulated engine failure",
                                "yomitori: 1 of 3 pages failed; the other pages were written"]
    assert (tmp_path / "out" / "in.txt").read_text(encoding="utf-8") == "頁1の本文\n\f\f頁3の本文\n"
    pages = json.loads((tmp_path / "out" / "in.json").read_text(encoding="utf-8"))["pages"]
    assert pages[1]["error"] == "RuntimeError: simulated engine failure" and pages[2]["regions"]
    import pypdfium2 as pdfium

    assert len(pdfium.PdfDocument(tmp_path / "out" / "in.pdf")) == 3


def _bad_inputs(tmp: Path) -> dict[str, tuple[Path, list[str], str]]:
    """name -> (input, extra args, expected message fragment)."""
    full = image_pdf(tmp / "full.pdf", 2).read_bytes()
    files = {
        "not_a_pdf": (b"%!PS-Adobe-3.0 not a pdf at all\n" * 20, [], "not a PDF or a supported image"),
        "truncated": (full[: len(full) // 2], [], "truncated PDF"),
        "encrypted": (encrypted_pdf(), [], "encrypted; give its password with --password"),
        "wrong_password": (encrypted_pdf(), ["--password", "guess"], "wrong password"),
        "zero_pages": (zero_page_pdf(), [], "has no pages"),
        "huge_image": (png_header_only(20_000, 20_000), [], "over the limit"),
    }
    cases = {}
    for name, (data, extra, msg) in files.items():
        path = tmp / f"{name}.pdf"
        path.write_bytes(data)
        cases[name] = (path, extra, msg)
    cases["missing"] = (tmp / "nowhere" / "missing.pdf", [], "no such file")
    cases["directory"] = (tmp, [], "is a directory")
    return cases


def test_bad_inputs_one_line_nonzero_no_output(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    for name, (path, extra, message) in _bad_inputs(tmp_path).items():
        out_dir = tmp_path / f"out-{name}"
        code, out, err = cli(capsys, str(path), "-o", str(out_dir) + "/", "--format", ALL, "--engine", "null", *extra)
        assert code == 2, name
        assert len(err.splitlines()) == 1 and err.startswith("yomitori: error: ") and message in err, (name, err)
        assert out == "" and not out_dir.exists(), name


def test_unwritable_output_folder(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    pdf = image_pdf(tmp_path / "in.pdf", 1)
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    code, out, err = cli(capsys, str(pdf), "-o", str(blocker / "out") + "/", "--engine", "null")
    assert code == 2 and out == ""
    assert err.startswith(f"yomitori: error: {blocker / 'out'}: cannot create the output folder")
    assert len(err.splitlines()) == 1
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        code, _, err = cli(capsys, str(pdf), "-o", str(locked) + "/", "--engine", "null")
        assert code == 2 and "not writable" in err


def test_option_errors_are_one_line(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    pdf = image_pdf(tmp_path / "in.pdf", 2)
    for args, message in ((["--format", "docx"], "unknown format docx"), (["--pages", "3-1"], "--pages"),
                          (["--pages", "7"], "page 7 is out of range"), (["--dpi", "5"], "--dpi 5"),
                          (["--format", "pdf"], "needs -o OUT"), (["--workers", "0"], "--workers"),
                          (["-o", str(pdf), "--format", "pdf"], "would overwrite the input")):
        code, _, err = cli(capsys, str(pdf), "--engine", "null", "--format", "txt", *args)
        assert code == 2 and len(err.splitlines()) == 1 and message in err, (args, err)


def test_real_process_exit_status_and_stderr(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog")  # cut short
    env = {**os.environ, "YOMITORI_ENGINE": "null"}
    proc = subprocess.run([sys.executable, "-m", "yomitori.cli", "read", str(bad), "-o", str(tmp_path / "o")],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == f"yomitori: error: {bad}: truncated PDF (no end-of-file marker); the file was cut short\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.pdf"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read a file without read permission")
def test_unreadable_file(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    pdf = image_pdf(tmp_path / "in.pdf", 1)
    pdf.chmod(0)
    code, _, err = cli(capsys, str(pdf), "--engine", "null")
    assert code == 2 and "cannot read" in err
