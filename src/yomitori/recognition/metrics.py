"""Text metrics: edit distance and character error rate."""

from __future__ import annotations


def edit_distance(a: str | list, b: str | list) -> int:
    """Levenshtein distance (insertions, deletions, substitutions all cost 1)."""
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def cer(predictions: list[str], references: list[str]) -> float:
    """Corpus CER: total edits / total reference characters."""
    edits = sum(edit_distance(p, r) for p, r in zip(predictions, references, strict=True))
    return edits / max(sum(len(r) for r in references), 1)
