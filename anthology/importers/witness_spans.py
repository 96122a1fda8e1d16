"""Small helpers over a witness's text: edits applied by position, word bounds, quotation
marks, commonness of a reading, and the short quotations reports give."""
from __future__ import annotations

import re

from .witness_text import (
    canon,
    ZW,
)
from .words import zipf


def _apply(text: str, edits: list[tuple[int, int, str]]) -> str:
    """Apply (start, end, replacement) edits; an insertion inside a replaced span gives way."""
    spans = [(s, e) for s, e, _ in edits if e > s]
    edits = [x for x in edits if x[1] > x[0] or not any(s < x[0] < e for s, e in spans)]
    last = len(text) + 1
    for s, e, new in sorted(edits, key=lambda x: (x[0], x[1]), reverse=True):
        if e > last:
            continue  # overlapping replacements: the later one wins
        text = text[:s] + new + text[e:]
        last = s
    return text


def _word_start(text: str, pos: int) -> int:
    while pos > 0 and not text[pos - 1].isspace():
        pos -= 1
    return pos


def _word_end(text: str, pos: int) -> int:
    m = re.compile(r"\S*").match(text, pos)
    return m.end()


def _core(s: str) -> str:
    return s.strip("\"'“”‘’.,;:!?()[]*_…—")


def _commonness(s: str) -> float:
    return sum(zipf(w) for w in re.findall(r"[^\W_]+", canon(s)))


def _without_quotes(s: str) -> str:
    return re.sub(r"[\"'“”‘’]", "", canon(s))


def _quote_count(s: str) -> int:
    return len(re.findall(r"[\"'“”‘’]", s))


def _unbalanced(shadow: str, pos: int) -> bool:
    """Does the paragraph around `pos` open more quotations than it closes?"""
    lo = shadow.rfind("\n\n", 0, pos)
    hi = shadow.find("\n\n", pos)
    para = canon(shadow[lo + 1 if lo >= 0 else 0:hi if hi >= 0 else len(shadow)])
    double = para.count('"') % 2 == 1
    opens = len(re.findall(r"(?:^|(?<=[\s(\[—\"]))'(?=[^\W\d_])", para))
    closes = len(re.findall(r"(?<=[.,;:!?])'", para))
    return double or opens > closes


def smart_quotes(text: str) -> str:
    """Straight quotation marks and apostrophes made curly (“ ” ‘ ’), by their position."""
    out = []
    for i, ch in enumerate(text):
        prev = text[i - 1] if i else " "
        if ch == '"':
            out.append("“" if prev.isspace() or prev in "([—" else "”")
        elif ch == "'":
            nxt = text[i + 1] if i + 1 < len(text) else " "
            out.append("‘" if (prev.isspace() or prev in "([—“") and nxt.isalpha() else "’")
        else:
            out.append(ch)
    return "".join(out)


def _curly(text: str) -> bool:
    return text.count("”") + text.count("’") > text.count('"') + text.count("'")


def _straight(s: str) -> str:
    return s.translate(str.maketrans("’‘“”", "''\"\""))


def _gaps(covered: set[int], n: int, minimum: int):
    lo = None
    for i in range(n + 1):
        if i < n and i not in covered:
            lo = i if lo is None else lo
        elif lo is not None:
            if i - lo >= minimum:
                yield lo, i
            lo = None


def _context(shadow: str, s: int, e: int, replacement: str | None = None, width: int = 24) -> str:
    left = shadow[max(0, s - width):s]
    left = left[left.find(" ") + 1:] if " " in left and s - width > 0 else left
    right = shadow[e:e + width]
    right = right[:right.rfind(" ")] if " " in right and e + width < len(shadow) else right
    middle = shadow[s:e] if replacement is None else replacement
    return re.sub(r"\s+", " ", f"{left}{middle}{right}").replace(ZW, "*").strip()


def _clip(s: str, n: int = 70) -> str:
    s = re.sub(r"\s+", " ", s).strip()
    return s if len(s) <= n else s[:n - 1] + "…"


def _short(name: str) -> str:
    return name.rsplit("/", 1)[-1]
