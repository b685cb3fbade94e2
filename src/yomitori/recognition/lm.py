"""A character n-gram language model for CTC beam search (shallow fusion).

Interpolated modified Kneser-Ney (Chen & Goodman 1998: three discounts per order, continuation
counts below the highest order, the unigram interpolated with a uniform distribution over the
charset, so that every charset character has a finite log-probability), trained on the
*training* split of the text corpus only, over charset indices (text normalised exactly as
labels are, :meth:`yomitori.charset.Charset.encode`).

Training text: the sentences of ``train.jsonl`` joined per document in file order, so n-grams
cross sentence ends inside a document (a printed line often does) but never documents. There
are no sentence-start or end symbols: a text line starts anywhere in a sentence, so the first
characters of a line are scored with the shorter contexts the line gives.

Pruning keeps an n-gram of order ≥ 2 when it occurred at least ``min_count`` times; the
probability mass of what was dropped goes to the backoff weights, which are recomputed so that
every context still sums to one (as SRILM does after count cut-offs). The stored model is
therefore a backoff model in the ARPA sense::

    log P(w | h) = logp[h w]                      if h w was kept
                 = bow[h] + log P(w | h[1:])      otherwise (bow[h] = 0 when h has no entry)

File: ``NAME.safetensors`` with, per order n ≥ 2, the contexts ``ctx{n}`` (sorted int64,
``n - 1`` charset ids packed as ``id + 1`` in base 8192), their backoff ``bow{n}`` (float32),
CSR offsets ``off{n}`` (int32), and per entry the next character ``next{n}`` (int16) and
``logp{n}`` (float16, natural log); ``logp1`` (float32) holds the unigram over the whole charset.
``NAME.json`` beside it records the order, counts, pruning, corpus and charset hashes and the
command that built it. :meth:`CharNgramLM.distribution` gives ``log P(· | context)`` over the
charset as one vector (cached per context), which is what beam search needs.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "yomitori-char-lm-1"
BASE = 8192  # packing base: one charset id + 1 per digit (13 bits; charsets up to 8,191 characters)
DEFAULT_LM = "lm_char3.safetensors"


def pack(ids: Sequence[int]) -> int:
    key = 0
    for i in ids:
        key = key * BASE + int(i) + 1
    return key


def _windows(seq: np.ndarray, n: int) -> np.ndarray:
    """Packed keys of every n-gram of ``seq`` (int64)."""
    m = len(seq) - n + 1
    if m <= 0:
        return np.zeros(0, np.int64)
    key = np.zeros(m, np.int64)
    for j in range(n):
        key = key * BASE + seq[j:j + m] + 1
    return key


def _discounts(counts: np.ndarray) -> np.ndarray:
    """Modified Kneser-Ney discounts D1, D2, D3+ from the count-of-counts (with safe fallbacks)."""
    n = [int((counts == k).sum()) for k in (1, 2, 3, 4)]
    if min(n) == 0:
        return np.array([0.5, 1.0, 1.5])
    y = n[0] / (n[0] + 2 * n[1])
    d = np.array([1 - 2 * y * n[1] / n[0], 2 - 3 * y * n[2] / n[1], 3 - 4 * y * n[3] / n[2]])
    return np.clip(d, [0.05, 0.05, 0.05], [0.95, 1.95, 2.95])


class CharNgramLM:
    """A backoff character n-gram model over charset indices (see the module docstring)."""

    def __init__(self, order: int, vocab_size: int, logp1: np.ndarray, tables: dict[int, dict[str, np.ndarray]],
                 meta: dict[str, Any] | None = None, cache_size: int = 256) -> None:
        self.order, self.vocab_size = int(order), int(vocab_size)
        self.logp1 = np.asarray(logp1, np.float32)
        self.tables = tables  # n -> {"ctx", "bow", "off", "next", "logp"}
        self.meta = dict(meta or {})
        self._cache: OrderedDict[tuple[int, ...], np.ndarray] = OrderedDict()
        self.cache_size = cache_size
        self._ctx_index = {n: {k: i for i, k in enumerate(t["ctx"].tolist())} for n, t in tables.items()}
        # order -> packed context -> (bow, {next id: log P}) or None (context not stored), filled on use
        self._entries: dict[int, dict[int, tuple[float, dict[int, float]] | None]] = {n: {} for n in tables}
        self._logp1 = self.logp1.tolist()

    # ---------------------------------------------------------------- queries

    @property
    def context_size(self) -> int:
        return self.order - 1

    def distribution(self, context: Sequence[int]) -> np.ndarray:
        """``log P(w | context)`` for every charset index ``w`` (float32, natural log; read-only).

        Only the last ``order - 1`` ids of ``context`` matter; results are cached per context.
        """
        tail = tuple(int(c) for c in context[-self.context_size:]) if self.context_size else ()
        got = self._cache.get(tail)
        if got is not None:
            self._cache.move_to_end(tail)
            return got
        d = self.logp1.copy()
        for n in range(2, len(tail) + 2):
            t = self.tables.get(n)
            if t is None:
                break
            i = self._ctx_index[n].get(pack(tail[len(tail) - (n - 1):]))
            if i is None:
                continue  # an unseen context: bow 0, P(w | h) = P(w | h[1:])
            a, b = int(t["off"][i]), int(t["off"][i + 1])
            d += t["bow"][i]
            d[t["next"][a:b]] = t["logp"][a:b]
        d.setflags(write=False)
        self._cache[tail] = d
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return d

    def _context_entries(self, n: int, key: int) -> tuple[float, dict[int, float]] | None:
        cache = self._entries[n]
        if key in cache:
            return cache[key]
        i = self._ctx_index[n].get(key)
        got = None
        if i is not None:
            t = self.tables[n]
            a, b = int(t["off"][i]), int(t["off"][i + 1])
            got = (float(t["bow"][i]), dict(zip(t["next"][a:b].tolist(), t["logp"][a:b].tolist(), strict=True)))
        cache[key] = got
        return got

    def logp(self, context: Sequence[int], next_id: int) -> float:
        """``log P(next_id | context)`` (natural log): the backoff walk, with no vector built.

        The stored entries of each context are turned into a small dict on first use and kept
        (at most the model's own size), which is what beam search's many scalar questions need.
        """
        w = int(next_id)
        k = self.context_size
        tail = [int(c) for c in context[len(context) - k:]] if k and len(context) > k else [int(c) for c in context]
        acc = 0.0
        for n in range(len(tail) + 1, 1, -1):
            if n not in self._entries:
                continue
            got = self._context_entries(n, pack(tail[len(tail) - (n - 1):]))
            if got is None:
                continue  # an unseen context: bow 0
            lp = got[1].get(w)
            if lp is not None:
                return acc + lp
            acc += got[0]
        return acc + self._logp1[w]

    def __call__(self, prefix_ids: Sequence[int], next_id: int) -> float:
        """The :func:`yomitori.recognition.ctc.beam_decode` hook: ``log P(next | prefix)``."""
        return self.logp(prefix_ids, next_id)

    def score(self, ids: Sequence[int]) -> float:
        """Total log-probability of a sequence of charset indices (first characters: short contexts)."""
        ids = list(ids)
        return float(sum(self.logp(ids[max(0, i - self.context_size):i], w) for i, w in enumerate(ids)))

    def logp_many(self, contexts: np.ndarray, next_ids: np.ndarray) -> np.ndarray:
        """Vectorised ``log P`` for packed contexts of exactly ``order - 1`` ids (int64) and next ids."""
        return _logp_vec(self.logp1, self.tables, np.asarray(contexts, np.int64), np.asarray(next_ids, np.int64),
                         self.order)

    # ---------------------------------------------------------------- files

    def save(self, path: str | Path, extra_meta: dict[str, Any] | None = None) -> tuple[Path, Path]:
        """Write ``path`` (.safetensors) and the metadata JSON beside it; returns both paths."""
        from safetensors.numpy import save

        from yomitori.atomic import atomic_write_bytes, atomic_write_text

        path = Path(path)
        if path.suffix != ".safetensors":
            path = path.with_suffix(".safetensors")
        arrays = {"logp1": self.logp1.astype(np.float32)}
        for n, t in self.tables.items():
            arrays[f"ctx{n}"] = t["ctx"].astype(np.int64)
            arrays[f"bow{n}"] = t["bow"].astype(np.float32)
            arrays[f"off{n}"] = t["off"].astype(np.int32)
            arrays[f"next{n}"] = t["next"].astype(np.int16)
            arrays[f"logp{n}"] = t["logp"].astype(np.float16)
        meta = {**self.meta, **(extra_meta or {}), "format": FORMAT, "order": self.order,
                "vocab_size": self.vocab_size}
        path.parent.mkdir(parents=True, exist_ok=True)
        data = save(arrays, metadata={"format": FORMAT, "order": str(self.order), "vocab_size": str(self.vocab_size)})
        atomic_write_bytes(path, data)
        meta["file_bytes"] = len(data)
        meta["file_sha256"] = hashlib.sha256(data).hexdigest()
        json_path = path.with_suffix(".json")
        atomic_write_text(json_path, json.dumps(meta, ensure_ascii=False, indent=2) + "\n")
        return path, json_path


def _logp_vec(logp1: np.ndarray, tables: dict[int, dict[str, np.ndarray]], ctx: np.ndarray, w: np.ndarray,
              n: int) -> np.ndarray:
    """log P(w | ctx) of the stored backoff model at order ``n`` (ctx: n - 1 ids, packed)."""
    if n <= 1:
        return logp1[w].astype(np.float64)
    lower_ctx = ctx % (BASE ** (n - 2))  # the last n - 2 ids (0 for n = 2)
    t = tables.get(n)
    if t is None:
        return _logp_vec(logp1, tables, lower_ctx, w, n - 1)
    keys = t.get("_keys")
    if keys is None:
        keys = np.repeat(t["ctx"], np.diff(t["off"])) * BASE + t["next"].astype(np.int64) + 1
        t["_keys"] = keys
    out = np.empty(len(w), np.float64)
    full = ctx * BASE + w + 1
    j = np.minimum(np.searchsorted(keys, full), max(len(keys) - 1, 0))
    hit = (keys[j] == full) if len(keys) else np.zeros(len(w), bool)
    out[hit] = t["logp"][j[hit]]
    miss = ~hit
    if miss.any():
        c = ctx[miss]
        i = np.minimum(np.searchsorted(t["ctx"], c), max(len(t["ctx"]) - 1, 0))
        bow = np.where(t["ctx"][i] == c, t["bow"][i], 0.0) if len(t["ctx"]) else np.zeros(len(c))
        out[miss] = bow + _logp_vec(logp1, tables, lower_ctx[miss], w[miss], n - 1)
    return out


def load_lm(path: str | Path) -> CharNgramLM:
    """Load a model written by :meth:`CharNgramLM.save` (its JSON beside it is optional)."""
    from safetensors.numpy import load_file

    from yomitori.errors import UserError

    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: language model not found")
    try:
        arrays = load_file(str(path))
    except Exception as exc:  # noqa: BLE001 - safetensors raises several types on bad files
        raise UserError(f"{path}: not a yomitori language model ({exc})") from None
    meta: dict[str, Any] = {}
    json_path = path.with_suffix(".json")
    if json_path.exists():
        meta = json.loads(json_path.read_text("utf-8"))
    if "logp1" not in arrays or (meta and meta.get("format") != FORMAT):
        raise UserError(f"{path}: not a yomitori language model")
    orders = sorted(int(k[3:]) for k in arrays if k.startswith("ctx"))
    tables = {n: {"ctx": arrays[f"ctx{n}"], "bow": arrays[f"bow{n}"], "off": arrays[f"off{n}"],
                  "next": arrays[f"next{n}"].astype(np.intp), "logp": arrays[f"logp{n}"].astype(np.float32)}
              for n in orders}
    order = max([1, *orders])
    return CharNgramLM(order, len(arrays["logp1"]), arrays["logp1"], tables, meta)


def check_charset(lm: CharNgramLM, charset: Any) -> None:
    """Raise a UserError when ``lm`` was built over another charset than ``charset``."""
    from yomitori.errors import UserError

    want = lm.meta.get("charset_sha256")
    if (want and want != charset.sha256) or lm.vocab_size != len(charset):
        raise UserError(f"language model built over another charset ({lm.vocab_size} characters, sha256 "
                        f"{str(want)[:12]}…; this build has {len(charset)}, {charset.sha256[:12]}…)")


def default_lm_path() -> Path | None:
    """The shipped language model, or None when this build has none."""
    from yomitori.pipeline.recognize import weights_dir

    path = weights_dir() / DEFAULT_LM
    return path if path.exists() else None


# ---------------------------------------------------------------- training


def corpus_documents(split: str = "train", root: Path | None = None) -> list[str]:
    """The corpus split's sentences joined per document, in file order."""
    from yomitori.data.corpus import corpus_dir

    path = Path(root or corpus_dir()) / f"{split}.jsonl"
    if not path.exists():
        raise FileNotFoundError(path)
    docs: dict[str, list[str]] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            docs.setdefault(row["doc"], []).append(row["text"])
    return ["".join(v) for v in docs.values()]


def encode_texts(texts: Iterable[str], charset: Any) -> list[np.ndarray]:
    return [np.asarray(charset.encode(t, errors="skip"), np.int64) for t in texts]


def train_lm(sequences: Sequence[np.ndarray], vocab_size: int, order: int = 3, min_count: int | Sequence[int] = 2,
             meta: dict[str, Any] | None = None) -> CharNgramLM:
    """Interpolated modified Kneser-Ney on ``sequences`` of charset ids, pruned, renormalised.

    ``min_count``: n-grams of order ≥ 2 seen fewer times are dropped (one value for every order,
    or one per order 2..``order``).
    """
    if order < 1:
        raise ValueError("order must be at least 1")
    if vocab_size >= BASE:
        raise ValueError(f"charsets up to {BASE - 1} characters")
    cuts = [int(min_count)] * (order - 1) if np.isscalar(min_count) else [int(c) for c in min_count]
    if len(cuts) != order - 1:
        raise ValueError("min_count: one value, or one per order from 2 to order")
    seqs = [np.asarray(s, np.int64) for s in sequences if len(s)]
    # raw counts and doc-start n-grams per order
    keys: dict[int, np.ndarray] = {}
    raw: dict[int, np.ndarray] = {}
    for n in range(1, order + 1):
        allk = np.concatenate([_windows(s, n) for s in seqs] or [np.zeros(0, np.int64)])
        keys[n], raw[n] = np.unique(allk, return_counts=True)
    # KN counts: raw at the top order, continuation counts below (+1 for a document start)
    kn: dict[int, np.ndarray] = {order: raw[order].astype(np.float64)}
    for n in range(order - 1, 0, -1):
        suffix = keys[n + 1] % (BASE ** n)
        su, sc = np.unique(suffix, return_counts=True)
        cont = np.zeros(len(keys[n]), np.float64)
        cont[np.searchsorted(keys[n], su)] = sc
        starts = np.unique(np.array([pack(s[:n]) for s in seqs if len(s) >= n], np.int64))
        cont[np.searchsorted(keys[n], starts)] += 1
        kn[n] = cont
    # unigram over the whole charset, interpolated with the uniform distribution
    c1 = np.zeros(vocab_size, np.float64)
    c1[keys[1] - 1] = kn[1]
    d1 = _discounts(c1[c1 > 0])[0] if (c1 > 0).any() else 0.5
    total1 = c1.sum()
    if total1 > 0:
        p1 = np.maximum(c1 - d1, 0) / total1 + d1 * (c1 > 0).sum() / total1 / vocab_size
    else:
        p1 = np.full(vocab_size, 1.0 / vocab_size)
    full_p: dict[int, np.ndarray] = {1: p1}  # unpruned interpolated P for each order's keys
    discounts = {1: [float(d1)]}
    for n in range(2, order + 1):
        k, c = keys[n], kn[n]
        ctx = k // BASE
        uctx, first, _ = np.unique(ctx, return_index=True, return_counts=True)
        grp = np.searchsorted(uctx, ctx)
        total = np.add.reduceat(c, first)
        d = _discounts(c)
        discounts[n] = d.tolist()
        disc = d[np.minimum(c, 3).astype(int) - 1]
        mass = np.add.reduceat(disc, first)
        gamma = mass / total
        lower = full_p[1][(k % BASE) - 1] if n == 2 else full_p[n - 1][np.searchsorted(keys[n - 1], k % (BASE ** (n - 1)))]
        full_p[n] = (c - disc) / total[grp] + gamma[grp] * lower
    # prune by raw count, then recompute backoff weights against the pruned lower orders
    logp1 = np.log(p1).astype(np.float32)
    tables: dict[int, dict[str, np.ndarray]] = {}
    kept_counts = {1: int(vocab_size)}
    for n in range(2, order + 1):
        keep = raw[n] >= cuts[n - 2]
        k, p = keys[n][keep], full_p[n][keep]
        ctx, w = k // BASE, (k % BASE) - 1
        lower_ctx = ctx % (BASE ** (n - 2)) if n > 2 else np.zeros_like(ctx)
        p_lower = np.exp(_logp_vec(logp1, tables, lower_ctx, w, n - 1)) if n > 2 else p1[w]
        uctx, first, cnt = np.unique(ctx, return_index=True, return_counts=True)
        if len(uctx):
            num = 1.0 - np.add.reduceat(p, first)
            den = 1.0 - np.add.reduceat(p_lower, first)
            bow = np.log(np.maximum(num, 1e-12) / np.maximum(den, 1e-12))
        else:
            bow = np.zeros(0)
        off = np.concatenate([[0], np.cumsum(cnt)]).astype(np.int64)
        # store what a reader will get back (float16 log-probs), so the bows match it
        logp = np.log(p).astype(np.float16).astype(np.float32)
        tables[n] = {"ctx": uctx.astype(np.int64), "bow": bow.astype(np.float32), "off": off,
                     "next": w.astype(np.intp), "logp": logp}
        kept_counts[n] = int(keep.sum())
    info = {"order": order, "min_count": cuts, "discounts": discounts,
            "ngrams_seen": {str(n): int(len(keys[n])) for n in keys},
            "ngrams_kept": {str(n): kept_counts[n] for n in kept_counts},
            "contexts_kept": {str(n): int(len(tables[n]["ctx"])) for n in tables},
            "training_chars": int(sum(len(s) for s in seqs)), "training_sequences": len(seqs)}
    return CharNgramLM(order, vocab_size, logp1, tables, {**(meta or {}), **info})


def academic_documents(docs: Sequence[str], fraction: float, seed: int = 0) -> list[str]:
    """``docs`` with a fixed random ``fraction`` of them punctuated with ,. for 、。 (the
    normalised ，． of technical and academic Japanese), as the line engine's ``academic_prob``
    draws them. The corpus (Debian manuals) has none, so an LM trained on it alone vetoes them."""
    from yomitori.data.lines import ACADEMIC

    if fraction <= 0:
        return list(docs)
    pick = np.random.default_rng(seed).random(len(docs)) < fraction
    table = str.maketrans({prose: label for prose, (label, _drawn) in ACADEMIC.items()})
    return [d.translate(table) if p else d for d, p in zip(docs, pick, strict=True)]


def build_from_corpus(order: int = 3, min_count: int | Sequence[int] = 2, root: Path | None = None,
                      command: str | None = None, academic: float = 0.0) -> CharNgramLM:
    """Train on the corpus's training split over the default charset, with provenance metadata."""
    from yomitori.charset import default_charset
    from yomitori.data.corpus import corpus_dir

    t0 = time.perf_counter()
    cs = default_charset()
    src = Path(root or corpus_dir()) / "train.jsonl"
    docs = academic_documents(corpus_documents("train", root), academic)
    seqs = encode_texts(docs, cs)
    meta = {"corpus_split": "train", "corpus_file": str(src.name), "corpus_bytes": src.stat().st_size,
            "corpus_sha256": hashlib.sha256(src.read_bytes()).hexdigest(), "charset_sha256": cs.sha256,
            "charset_size": len(cs), "smoothing": "interpolated modified Kneser-Ney, unigram + uniform",
            "text": "train.jsonl sentences joined per document, no start/end symbols",
            "academic_documents": academic, "command": command}
    lm = train_lm(seqs, len(cs), order, min_count, meta)
    lm.meta["build_seconds"] = round(time.perf_counter() - t0, 1)
    return lm
