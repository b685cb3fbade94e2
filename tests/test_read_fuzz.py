"""Fuzz the input path: random bytes and mutated PDFs and images never crash or hang ``yomitori read``.

The cases (seeded, so a failure replays) run in one child process through the CLI entry point
with the null engine and every output format. A Python exception escaping ``main`` (a crash),
a dead process (a crash in a decoder) or a case running past its time limit (SIGALRM's
default action kills the child) fails the test and names the case.
"""

from __future__ import annotations

import io
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
from PIL import Image

from test_read_helpers import image_pdf, page_pixels, tiff
from yomitori.document import Document
from yomitori.pipeline.write import render_document

SEED = 8
PER_CASE_S = 20

CHILD = textwrap.dedent("""
    import signal, sys
    from pathlib import Path
    from yomitori.cli import main
    cases, out = Path(sys.argv[1]), Path(sys.argv[2])
    for case in sorted(cases.iterdir()):
        print("start", case.name, flush=True)
        signal.alarm(int(sys.argv[3]))  # no handler: the default action kills a hung child
        code = main(["read", str(case), "--engine", "null", "--dpi", "50", "--quiet",
                     "-o", str(out / case.name) + "/", "--format", "txt,json,md,hocr,pdf"])
        signal.alarm(0)
        print("done", case.name, code, flush=True)
""")


def seeds() -> dict[str, bytes]:
    from test_read_helpers import sample_document

    tmp = Path(__import__("tempfile").mkdtemp())
    buf = io.BytesIO()
    Image.fromarray(page_pixels(1)).save(buf, format="PNG")
    png = buf.getvalue()
    buf = io.BytesIO()
    Image.fromarray(page_pixels(2)).save(buf, format="JPEG", quality=80)
    jpeg = buf.getvalue()
    doc = sample_document()
    return {
        "pdf": image_pdf(tmp / "a.pdf", 2).read_bytes(),
        "textpdf": render_document(Document(doc.source, doc.pages[:1]), "pdf"),
        "png": png,
        "jpg": jpeg,
        "tif": tiff(tmp / "a.tif", 2).read_bytes(),
    }


def mutate(data: bytes, rng: random.Random) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        op = rng.random()
        i = rng.randrange(len(b)) if b else 0
        if op < 0.4 and b:
            b[i] = rng.randrange(256)
        elif op < 0.55:
            b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif op < 0.7 and b:
            del b[i:i + rng.randint(1, 64)]
        elif op < 0.8 and b:
            j = rng.randrange(len(b))
            b[i:i] = b[j:j + rng.randint(1, 256)]  # duplicate a chunk elsewhere
        elif op < 0.9:
            digits = [k for k in range(len(b)) if 48 <= b[k] <= 57]
            if digits:  # numbers drive sizes, counts and offsets
                k = rng.choice(digits)
                b[k:k + 1] = str(rng.choice([0, 9, 99999, 2**31])).encode()
        else:
            del b[rng.randint(len(b) // 2, len(b)) if b else 0:]  # truncate
    return bytes(b)


def make_cases(folder: Path) -> int:
    rng = random.Random(SEED)
    base = seeds()
    n = 0
    for k in range(8):
        folder.joinpath(f"random-{k:02d}.bin").write_bytes(rng.randbytes(rng.randint(0, 4096)))
        n += 1
    for prefix in (b"%PDF-1.7\n", b"\x89PNG\r\n\x1a\n", b"II*\x00", b"\xff\xd8\xff"):
        folder.joinpath(f"header-{n:02d}.bin").write_bytes(prefix + rng.randbytes(rng.randint(0, 2048)))
        n += 1
    for name, data in base.items():
        for k in range(12 if "pdf" in name else 8):
            folder.joinpath(f"{name}-{k:02d}.{name[-3:]}").write_bytes(mutate(data, rng))
            n += 1
    return n


def test_fuzzed_inputs_never_crash_or_hang(tmp_path: Path) -> None:
    cases, out = tmp_path / "cases", tmp_path / "out"
    cases.mkdir()
    out.mkdir()
    n = make_cases(cases)
    proc = subprocess.run([sys.executable, "-c", CHILD, str(cases), str(out), str(PER_CASE_S)],
                          capture_output=True, text=True, timeout=PER_CASE_S * 4 + 60)
    lines = proc.stdout.splitlines()
    last = lines[-1] if lines else "(no case started)"
    assert proc.returncode == 0, f"child died (status {proc.returncode}) at {last}\n{proc.stderr[-3000:]}"
    done = [ln.split() for ln in lines if ln.startswith("done")]
    assert len(done) == n
    assert {int(code) for _, _, code in done} <= {0, 1, 2}
    assert "Traceback" not in proc.stderr
    # every failure is one "yomitori: ..." line per message, never a traceback or a blank line
    assert all(ln.startswith("yomitori: ") for ln in proc.stderr.splitlines())
    # the untouched-enough cases still read: the fuzzer exercised the whole pipeline too
    assert sum(code == "0" for _, _, code in done) >= 3
    assert np.all([(out / name).exists() == (code in ("0", "1")) for _, name, code in done])
