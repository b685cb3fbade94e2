"""The Japanese text corpus: real sentences from Debian's Japanese documentation packages.

``yomitori data corpus`` runs :func:`build_corpus`: ``apt-get download`` each package of
:data:`PACKAGES` (no installation, so no browser or office suite comes along), unpack it with
``dpkg-deb -x`` into ``<corpus dir>/debs``, extract paragraphs from HTML (leaving out
``<pre>``, ``<code>``, scripts and styles) and from man pages, split sentences on 。！？, and keep
those that are mostly kana and kanji. Then:

- split by *document* (a stable hash of package/path): ``eval_percent`` of documents go to eval;
- drop exact duplicates and near-duplicates (every 12-character run already seen), and every
  training sentence that shares a 12-character run with an evaluation sentence;
- top up Jōyō kanji that occur fewer than ``min_kanji_count`` times with KANJIDIC2 dictionary
  lines (Debian ``kanjidic-xml``, CC BY-SA 4.0, EDRDG) when it can be had;
- weight sentences toward newspaper kanji frequencies (KANJIDIC2 ``freq`` ranks, Zipf).

Output, outside git (default ``~/.cache/yomitori/corpus``, or ``$YOMITORI_CORPUS``):
``train.jsonl`` and ``eval.jsonl`` (``{"text", "doc", "weight"}`` per line), ``meta.json``
(packages, versions, counts) and ``licences/`` (each package's copyright file).
"""

from __future__ import annotations

import gzip
import hashlib
import html.parser
import json
import os
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

from yomitori.atomic import atomic_write_text
from yomitori.charset import default_charset, named_subsets
from yomitori.errors import UserError

PACKAGES = ("manpages-ja", "manpages-ja-dev", "libreoffice-help-ja", "gimp-help-ja",
            "developers-reference-ja", "debian-faq-ja", "aptitude-doc-ja", "kicad-doc-ja",
            "debian-policy-ja")
# Never train or tune on these (DATA.md): an independent evaluation is kept aside.
RESERVED = ("debian-reference-ja", "maint-guide-ja", "debian-edu-doc-ja", "texlive-lang-japanese")
RUN = 12  # near-duplicate and train/eval overlap unit, in characters
_SENT_END = re.compile(r"(?<=[。！？])")
_JA = re.compile(r"[\u3041-\u30ff\u3400-\u9fff\U00020000-\U0002ffff々〆ヶ]")
_JA_OR_PUNCT = "[\u3000-\u30ff\u3400-\u9fff々〆ヶ]"
# a space that a line break in the source left between two Japanese characters
_JOIN_SPACE = re.compile(f"(?<={_JA_OR_PUNCT}) +(?={_JA_OR_PUNCT})")


def corpus_dir() -> Path:
    from yomitori.data.fonts import cache_dir

    return Path(os.environ.get("YOMITORI_CORPUS") or cache_dir() / "corpus")


# ---------------------------------------------------------------- extraction


class _HTMLText(html.parser.HTMLParser):
    SKIP = {"pre", "code", "script", "style", "tt", "kbd", "samp"}
    BLOCK = {"p", "div", "li", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "br", "dd", "dt",
             "tr", "table", "ul", "ol", "title", "blockquote", "section"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.skip = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in self.SKIP:
            self.skip += 1
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self.skip:
            self.skip -= 1
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def html_paragraphs(text: str) -> list[str]:
    """Paragraphs of an HTML document without <pre>/<code> blocks."""
    p = _HTMLText()
    p.feed(text)
    return [" ".join(b.split()) for b in "".join(p.parts).split("\n") if b.strip()]


_ROFF_ESC = re.compile(r"\\f(\[[^\]]*\]|\(..|.)|\\\(..|\\\*(\(..|\[[^\]]*\]|.)|\\[&e\-|^0 c]|\\s[-+]?\d+")


def man_paragraphs(text: str) -> list[str]:
    """Paragraphs of a man page in roff: macros dropped, text arguments of .B/.I kept."""
    paras, cur = [], []
    for line in text.splitlines():
        if line.startswith((".", "'")):
            m = re.match(r"[.'](B|I|BI|IB|BR|RB|IR|RI|SM)\s+(.*)", line)
            if m:
                cur.append(m.group(2).replace('"', ""))
                continue
            if re.match(r"[.'](PP|P|LP|SH|SS|TP|IP|HP|sp|br|nf|fi|RS|RE|TH)\b", line) and cur:
                paras.append(" ".join(cur))
                cur = []
            continue
        if not line.strip():
            if cur:
                paras.append(" ".join(cur))
                cur = []
            continue
        cur.append(_ROFF_ESC.sub("", line).replace("\\", ""))
    if cur:
        paras.append(" ".join(cur))
    return [" ".join(p.split()) for p in paras if p.strip()]


def sentences(paragraph: str, min_len: int = 6, max_len: int = 120) -> list[str]:
    """Sentences (normalised) of a paragraph that are mostly kana and kanji."""
    cs = default_charset()
    out = []
    for s in _SENT_END.split(paragraph):
        s = _JOIN_SPACE.sub("", cs.normalize(s))
        if not (min_len <= len(s) <= max_len) or any(c not in cs for c in s):
            continue
        if len(_JA.findall(s)) >= 0.5 * len(s):
            out.append(s)
    return out


def documents(root: Path, package: str) -> Iterator[tuple[str, list[str]]]:
    """(document id, paragraphs) for every HTML file and man page under an unpacked package."""
    for path in sorted(root.rglob("*")):
        if not path.is_file() or "/usr/share/doc/" in str(path) and "html" not in path.suffix:
            continue
        name = path.name
        try:
            if name.endswith((".html", ".htm", ".xhtml")):
                paras = html_paragraphs(path.read_text("utf-8", errors="replace"))
            elif "/man/ja" in str(path) and re.search(r"\.\d\w*(\.gz)?$", name):
                raw = gzip.decompress(path.read_bytes()) if name.endswith(".gz") else path.read_bytes()
                paras = man_paragraphs(raw.decode("utf-8", errors="replace"))
            else:
                continue
        except (OSError, EOFError, UnicodeError):
            continue
        yield f"{package}/{path.relative_to(root)}", paras


# ---------------------------------------------------------------- selection


def is_eval_doc(doc: str, eval_percent: int) -> bool:
    """A stable split by document: hash of its id."""
    return int(hashlib.sha1(doc.encode("utf-8")).hexdigest()[:8], 16) % 100 < eval_percent


def runs(text: str, n: int = RUN) -> Iterator[str]:
    return (text[i:i + n] for i in range(len(text) - n + 1))


def dedupe(rows: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Drop exact duplicates and sentences every one of whose 12-character runs was seen."""
    seen_runs: set[str] = set()
    seen: set[str] = set()
    out = []
    for text, doc in rows:
        if text in seen:
            continue
        rs = set(runs(text))
        if rs and rs <= seen_runs:
            continue
        seen.add(text)
        seen_runs |= rs
        out.append((text, doc))
    return out


def remove_overlap(train: list[tuple[str, str]], evals: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Training sentences that share no 12-character run with any evaluation sentence."""
    banned = {r for text, _ in evals for r in runs(text)}
    return [(t, d) for t, d in train if not any(r in banned for r in runs(t))]


# ---------------------------------------------------------------- kanji frequencies and top-up


def load_kanjidic(path: Path | None = None) -> dict[str, dict]:
    """KANJIDIC2 entries {kanji: {freq, on, kun}} from Debian kanjidic-xml, or {} if missing."""
    import xml.etree.ElementTree as ET

    candidates = [path] if path else [Path("/usr/share/edict/kanjidic2.xml.gz"),
                                      Path("/usr/share/xml/kanjidic2/kanjidic2.xml")]
    for p in candidates:
        if p and p.exists():
            data = gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()
            break
    else:
        return {}
    out: dict[str, dict] = {}
    for ch in ET.fromstring(data).iter("character"):
        lit = ch.findtext("literal")
        if not lit:
            continue
        freq = ch.findtext("misc/freq")
        rm = ch.find("reading_meaning/rmgroup")
        on = [r.text for r in rm.iter("reading") if r.get("r_type") == "ja_on"] if rm is not None else []
        kun = [r.text for r in rm.iter("reading") if r.get("r_type") == "ja_kun"] if rm is not None else []
        out[lit] = {"freq": int(freq) if freq else None, "on": on, "kun": kun}
    return out


def top_up_lines(counts: Counter, kanjidic: dict[str, dict], min_count: int) -> list[str]:
    """Dictionary-entry lines (each once) for Jōyō kanji seen fewer than ``min_count`` times.

    Their weight in sampling comes from :func:`kanji_weights`, which favours rare kanji.

    Without a word list (JMdict is not in Debian) the lines pair the kanji with its readings,
    like a kanji dictionary: ``「璧」は音読みでヘキと読む。``
    """
    cs = default_charset()
    lines = []
    for k in sorted(named_subsets()["joyo"]):
        missing = min_count - counts.get(k, 0)
        entry = kanjidic.get(k) or kanjidic.get({"𠮟": "叱", "頰": "頬"}.get(k, ""))
        if missing <= 0 or not entry:
            continue
        on = list(dict.fromkeys(r for r in entry["on"] if r))
        kun = list(dict.fromkeys(r.split(".")[0].replace("-", "") for r in entry["kun"] if r))
        if on:
            lines.append(cs.filter(f"「{k}」は音読みで{'、'.join(on[:3])}と読む。"))
        if kun:
            lines.append(cs.filter(f"「{k}」の訓読みは{'、'.join(kun[:3])}である。"))
        if not on and not kun:
            lines.append(cs.filter(f"「{k}」という漢字を書く。"))
    return [s for s in lines if s]


def kanji_weights(rows: list[tuple[str, str]], kanjidic: dict[str, dict]) -> list[float]:
    """Per-sentence weights that move the kanji distribution toward newspaper frequencies."""
    counts = Counter(c for t, _ in rows for c in t if _JA.match(c) and c >= "\u3400")
    total = sum(counts.values()) or 1
    ranks = {k: v["freq"] for k, v in kanjidic.items() if v.get("freq")}
    news_total = sum(1.0 / r for r in ranks.values()) or 1.0
    out = []
    for text, _ in rows:
        ratios = []
        for c in text:
            if c in counts:
                p_news = (1.0 / ranks.get(c, 3000)) / news_total
                ratios.append(p_news / (counts[c] / total))
        r = sum(ratios) / len(ratios) if ratios else 1.0
        out.append(round(len(text) * min(max(r, 0.2), 5.0), 4))
    return out


# ---------------------------------------------------------------- build and load


def fetch_package(package: str, debs: Path) -> tuple[Path, str]:
    """Download ``package`` with apt-get (no install) and unpack it; returns (root, version)."""
    debs.mkdir(parents=True, exist_ok=True)
    root = debs / package
    found = sorted(debs.glob(f"{package}_*.deb"))
    if not found:
        if shutil.which("apt-get") is None:
            raise UserError("apt-get is needed to download the documentation packages")
        r = subprocess.run(["apt-get", "download", "-q", package], cwd=debs,
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise UserError(f"apt-get download {package} failed: {r.stderr.strip()[-300:]}")
        found = sorted(debs.glob(f"{package}_*.deb"))
    deb = found[-1]
    version = deb.name.split("_")[1]
    if not root.exists():
        tmp = debs / f".{package}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp)], check=True)
        tmp.rename(root)
    return root, version


def build_corpus(out: Path | None = None, packages: Iterable[str] = PACKAGES,
                 eval_percent: int = 10, min_kanji_count: int = 5,
                 roots: dict[str, Path] | None = None, progress: bool = True) -> dict:
    """Build train.jsonl / eval.jsonl / meta.json / licences/ (see the module docstring).

    ``roots`` maps a package to an already unpacked folder (tests use it to stay offline).
    """
    out = Path(out) if out else corpus_dir()
    out.mkdir(parents=True, exist_ok=True)
    (out / "licences").mkdir(exist_ok=True)
    packages = list(packages)
    bad = [p for p in packages if p in RESERVED]
    if bad:
        raise UserError(f"{bad} are reserved for independent evaluation; never train on them")
    train_rows, eval_rows, sources = [], [], []
    for pkg in packages:
        if roots and pkg in roots:
            root, version = Path(roots[pkg]), "local"
        else:
            root, version = fetch_package(pkg, out / "debs")
        n_docs = 0
        for doc, paras in documents(root, pkg):
            target = eval_rows if is_eval_doc(doc, eval_percent) else train_rows
            for para in paras:
                target.extend((s, doc) for s in sentences(para))
            n_docs += 1
        copyright_ = next(iter(root.glob(f"usr/share/doc/{pkg}/copyright")), None)
        if copyright_ is not None:
            shutil.copyfile(copyright_, out / "licences" / f"{pkg}.copyright")
        sources.append({"package": pkg, "version": version, "documents": n_docs,
                        "licence_file": f"licences/{pkg}.copyright" if copyright_ else None})
        if progress:
            print(f"{pkg} {version}: {n_docs} documents, train {len(train_rows)} eval {len(eval_rows)}")
    eval_rows = dedupe(eval_rows)
    train_rows = remove_overlap(dedupe(train_rows), eval_rows)
    kanjidic = load_kanjidic()
    counts = Counter(c for t, _ in train_rows for c in t)
    topup = [(s, "kanjidic2/top-up") for s in top_up_lines(counts, kanjidic, min_kanji_count)]
    train_rows += remove_overlap(topup, eval_rows)
    for name, rows in (("train", train_rows), ("eval", eval_rows)):
        weights = kanji_weights(rows, kanjidic) if name == "train" else [len(t) for t, _ in rows]
        body = "".join(json.dumps({"text": t, "doc": d, "weight": w}, ensure_ascii=False) + "\n"
                       for (t, d), w in zip(rows, weights, strict=True))
        atomic_write_text(out / f"{name}.jsonl", body)
    meta = {
        "format": "yomitori-corpus-1", "sources": sources, "eval_percent": eval_percent,
        "licences": "GPL, GFDL, MPL and others per package: see licences/; KANJIDIC2 top-up "
                    "lines: CC BY-SA 4.0, Electronic Dictionary Research and Development Group",
        "train_sentences": len(train_rows), "eval_sentences": len(eval_rows),
        "train_chars": sum(len(t) for t, _ in train_rows),
        "eval_chars": sum(len(t) for t, _ in eval_rows),
        "top_up_lines": len(topup), "kanjidic2": bool(kanjidic),
        "charset_sha256": default_charset().sha256,
    }
    atomic_write_text(out / "meta.json", json.dumps(meta, ensure_ascii=False, indent=1) + "\n")
    return meta


def load_corpus_weighted(split: str, root: Path | None = None) -> tuple[list[str], list[float]]:
    """Sentences and weights of ``split`` (train or eval); FileNotFoundError if not built."""
    path = Path(root or corpus_dir()) / f"{split}.jsonl"
    if not path.exists():
        raise FileNotFoundError(path)
    sents, weights = [], []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            sents.append(row["text"])
            weights.append(float(row.get("weight", len(row["text"]))))
    return sents, weights


def load_corpus(split: str, root: Path | None = None) -> list[str]:
    """Sentences of ``split`` (train or eval) of the built corpus."""
    return load_corpus_weighted(split, root)[0]
