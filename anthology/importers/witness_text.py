"""The witnesses' text, and the measures the merge works with.

Loading a converted witness (its words with positions, its notes), the same-work
test, the alignment of two word streams by anchor n-grams, the reading-order
tests, the marks of extraction damage, and where hyphens came from. The merge
itself is in `witnesses.py`.
"""
from __future__ import annotations

import bisect
import difflib
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from . import REGISTRY, detect_format
from .base import ImportedText, ImportReport
from .words import zipf

SHINGLE = 5          # words per shingle for the same-work test
SAME_WORK = 0.30     # shared share of shingles below which two sources are different works
ANCHOR = 4           # words per anchor n-gram for alignment
NOTE_MATCH = 0.5     # similarity of two note definitions that makes them the same note
GUESSED = "<!-- anthology: guessed note position -->"

ZW = "\u200b"  # stands for an emphasis mark in a shadow text
_REF = re.compile(r"\[\^([^\]\s]+)\]")
_DEF_START = re.compile(r"^\[\^([^\]\s]+)\]:[ \t]?(.*)$")
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_UNPLACED_NOTE = re.compile(r"(<!--\s*anthology:\s*unplaced note\b.*?-->)\s*\n\n((?:.+\n?)+?)(?=\n\s*\n|\Z)")
_GUESS_COMMENT = re.compile(r"\s*<!--\s*anthology:\s*guess[^>]*-->")
# Characters a garbled note marker leaves behind a word.
_MARKER_DEBRIS = set("!?*®’'\"°©¢§†‡¹²³⁴⁵⁶⁷⁸⁹⁰")
_CLOSERS = "\"'”’»)]"
_EMPHASIS = re.compile(r"(?<![*\w\\])\*(?=[^\s*])([^*\n]+?)(?<=[^\s*\\])\*(?![*\w])")


# --- the witnesses --------------------------------------------------------------------------

@dataclass
class Tok:
    start: int
    end: int
    norm: str


@dataclass
class Text:
    """A text with its word tokens: a witness's running text, or one note."""
    text: str
    shadow: str = ""
    toks: list[Tok] = field(default_factory=list)

    def __post_init__(self):
        self.shadow = _shadow(self.text)
        self.toks = [Tok(m.start(), m.end(), n) for m in re.finditer(r"\S+", self.shadow)
                     if (n := norm(m.group()))]
        self.starts = [t.start for t in self.toks]

    @property
    def norms(self) -> list[str]:
        return [t.norm for t in self.toks]

    def span(self, lo: int, hi: int) -> str:
        """The text of tokens lo..hi-1 without note references, comments or emphasis."""
        if lo >= hi:
            return ""
        return self.shadow[self.toks[lo].start:self.toks[hi - 1].end].replace(ZW, "")

    def token_before(self, pos: int) -> int:
        return bisect.bisect_left(self.starts, pos) - 1


def _shadow(text: str) -> str:
    """`text` with note references, comments and emphasis blanked out (offsets kept)."""
    blank = lambda m: " " * len(m.group())  # noqa: E731
    s = _COMMENT.sub(blank, text)
    s = _REF.sub(blank, s)
    s = re.sub(r"(?m)^(?:>\s?|#{1,6}\s)", blank, s)
    # Emphasis marks become invisible but keep a word whole with its punctuation (`*Title*,`).
    return s.replace("*", ZW)


def norm(word: str) -> str:
    """The letters and digits of a word, lower case: what witnesses are compared on."""
    w = unicodedata.normalize("NFKC", word).lower()
    return "".join(c for c in w if c.isalnum())


@dataclass
class Witness:
    name: str
    raw: str
    fmt: str
    reason: str
    imported: ImportedText
    main: Text
    notes: dict[str, Text]
    refs: list[tuple[str, int]]          # (label, index of the token the reference follows)
    guessed: set[str]
    unplaced: dict[str, str] = field(default_factory=dict)  # note label → the importer's comment

    @property
    def short(self) -> str:
        return self.name.rsplit("/", 1)[-1]


def split_notes(body: str) -> tuple[str, dict[str, str]]:
    """The running text, and the note definitions (`[^n]: …`, indented continuations)."""
    main: list[str] = []
    notes: dict[str, list[str]] = {}
    current = None
    pending_blank = False
    for line in body.split("\n"):
        m = _DEF_START.match(line)
        if m:
            current = m.group(1)
            notes.setdefault(current, []).append(m.group(2))
            pending_blank = False
            continue
        if current is not None:
            if not line.strip():
                pending_blank = True
                continue
            if line.startswith(("    ", "\t")):
                notes[current].append(("\n" if pending_blank else "") + line.strip())
                pending_blank = False
                continue
            current = None
            if pending_blank:
                main.append("")
        pending_blank = False
        main.append(line)
    text = "\n".join(main).strip("\n")
    return text, {k: "\n".join(v).strip() for k, v in notes.items()}


def load(name: str, raw: str) -> Witness:
    fmt, reason = detect_format(raw)
    imported = REGISTRY[fmt]().convert(raw, name)
    imported.report.detection = reason
    main_text, defs = split_notes(imported.body)
    # Notes the importer could not place are kept as paragraphs under a comment: as notes
    # here, so that another witness can anchor them.
    unplaced = {}
    for k, m in enumerate(list(_UNPLACED_NOTE.finditer(main_text))):
        label = f"unplaced-{k + 1}"
        defs[label] = m.group(2).strip()
        unplaced[label] = m.group(1)
    main_text = _UNPLACED_NOTE.sub("", main_text).rstrip()
    main = Text(main_text)
    refs, guessed = [], set(getattr(imported, "guessed_notes", set()) or set())
    for m in _REF.finditer(main_text):
        refs.append((m.group(1), main.token_before(m.start())))
        if _GUESS_COMMENT.match(main_text, m.end()):
            guessed.add(m.group(1))
    for d in imported.report.doubts:  # importers that say so in words
        for label in re.findall(r"\[\^([^\]\s]+)\][^.;]*\bguess", d.message):
            guessed.add(label)
    return Witness(name, raw, fmt, reason, imported, main,
                   {k: Text(v) for k, v in defs.items()}, refs, guessed, unplaced)


# --- same work ----------------------------------------------------------------------------

def shingles(norms: list[str], k: int = SHINGLE) -> set[tuple[str, ...]]:
    return {tuple(norms[i:i + k]) for i in range(len(norms) - k + 1)}


def similarity(a: Witness, b: Witness) -> float:
    """Share of the shorter witness's word 5-grams found in the other (0..1)."""
    sa, sb = shingles(_all_norms(a)), shingles(_all_norms(b))
    if not sa or not sb:
        return 0.0
    return len(sa & sb) / min(len(sa), len(sb))


def _all_norms(w: Witness) -> list[str]:
    out = list(w.main.norms)
    for t in w.notes.values():
        out += t.norms
    return out


# --- alignment ------------------------------------------------------------------------------

def anchors(a: list[str], b: list[str], k: int = ANCHOR) -> list[tuple[int, int]]:
    """(i, j) for each word k-gram occurring exactly once in a (at i) and once in b (at j)."""
    def unique(seq):
        seen: dict[tuple, int] = {}
        dup = set()
        for i in range(len(seq) - k + 1):
            g = tuple(seq[i:i + k])
            if g in seen:
                dup.add(g)
            seen[g] = i
        return {g: i for g, i in seen.items() if g not in dup}
    ua, ub = unique(a), unique(b)
    return sorted((ua[g], ub[g]) for g in ua.keys() & ub.keys())


@dataclass
class Run:
    i0: int
    j0: int
    il: int
    jl: int
    n: int = 1


def chain(pairs: list[tuple[int, int]], k: int = ANCHOR) -> list[Run]:
    """Anchors chained into blocks that both texts read contiguously."""
    runs: list[Run] = []
    for i, j in pairs:
        for r in reversed(runs[-4:]):
            di, dj = i - r.il, j - r.jl
            if 0 < di <= 80 and 0 < dj and abs(dj - di) <= 12:
                r.il, r.jl, r.n = i, j, r.n + 1
                break
        else:
            runs.append(Run(i, j, i, j))
    # A lone anchor inside another block is a phrase repeated out of place.
    keep = [r for r in runs if r.n > 1 or not any(o is not r and o.n > 1 and o.i0 <= r.i0 <= o.il
                                                     for o in runs)]
    return sorted(keep, key=lambda r: r.i0)


def lis_length(seq: list[int]) -> int:
    tails: list[int] = []
    for x in seq:
        at = bisect.bisect_left(tails, x)
        if at == len(tails):
            tails.append(x)
        else:
            tails[at] = x
    return len(tails)


@dataclass
class Alignment:
    """How another witness's text lines up with the base's, token by token."""
    pieces: list[tuple[int, int, int, int]]  # (b_lo, b_hi, o_lo, o_hi): equal tokens 1:1, or a difference
    b2o: dict[int, int]                      # base token → the other's token, where the words are equal
    o2b: dict[int, int]
    covered_b: set[int]
    covered_o: set[int]


def align(base: list[str], other: list[str], k: int = ANCHOR) -> Alignment:
    runs = chain(anchors(base, other, k), k)
    segs = [[r.i0, r.il + k, r.j0, r.jl + k] for r in runs]
    # Take blocks that follow each other in both texts together, and grow block edges
    # over equal words (anchors cannot reach the last words before a seam).
    merged: list[list[int]] = []
    for s in segs:
        if merged:
            m = merged[-1]
            if s[0] < m[1]:  # overlaps the block before in the base
                if m[2] <= s[2] <= m[3] + 40 and s[3] > m[3]:
                    m[1], m[3] = max(m[1], s[1]), s[3]
                continue  # otherwise a phrase repeated elsewhere in the other text
            if 0 <= s[2] - m[3] <= 40 and s[0] - m[1] <= 40:
                m[1], m[3] = s[1], s[3]  # a small difference between two blocks: align through it
                continue
        merged.append(list(s))
    used_o: set[int] = set()
    for m in merged:
        used_o.update(range(m[2], m[3]))
    for idx, m in enumerate(merged):
        lo_b = merged[idx - 1][1] if idx else 0
        while m[0] > lo_b and m[2] > 0 and m[2] - 1 not in used_o and base[m[0] - 1] == other[m[2] - 1]:
            m[0] -= 1
            m[2] -= 1
            used_o.add(m[2])
        hi_b = merged[idx + 1][0] if idx + 1 < len(merged) else len(base)
        while m[1] < hi_b and m[3] < len(other) and m[3] not in used_o and base[m[1]] == other[m[3]]:
            used_o.add(m[3])
            m[1] += 1
            m[3] += 1
    pieces, b2o, o2b = [], {}, {}
    covered_b, covered_o = set(), set()
    for b0, b1, o0, o1 in merged:
        covered_b.update(range(b0, b1))
        covered_o.update(range(o0, o1))
        sm = difflib.SequenceMatcher(None, base[b0:b1], other[o0:o1], autojunk=False)
        for op, i1, i2, j1, j2 in sm.get_opcodes():
            if op == "equal":
                for d in range(i2 - i1):
                    b2o[b0 + i1 + d] = o0 + j1 + d
                    o2b[o0 + j1 + d] = b0 + i1 + d
                    pieces.append((b0 + i1 + d, b0 + i1 + d + 1, o0 + j1 + d, o0 + j1 + d + 1))
            else:
                pieces.append((b0 + i1, b0 + i2, o0 + j1, o0 + j2))
    return Alignment(pieces, b2o, o2b, covered_b, covered_o)


# --- reading order --------------------------------------------------------------------------

@dataclass
class PairOrder:
    agreement: float   # share of shared anchors read in the same order
    blocks: int        # contiguous blocks the two texts share
    anchors: int


def pair_order(a: Witness, b: Witness) -> PairOrder:
    pairs = anchors(a.main.norms, b.main.norms)
    if not pairs:
        return PairOrder(0.0, 0, 0)
    agreement = lis_length([j for _, j in pairs]) / len(pairs)
    return PairOrder(agreement, len([r for r in chain(pairs) if r.n > 1]), len(pairs))


def seam_defects(w: Witness, other: Witness) -> tuple[int, int]:
    """(seams, seams that read as a bad join) in `w`, where `other`'s blocks break.

    A page glued in the wrong place shows at its edges: a sentence that ended
    before a lower-case word, a paragraph break in the middle of a sentence, a word
    left broken by a hyphen, a capitalised common word after an unfinished one.
    """
    runs = [r for r in chain(anchors(w.main.norms, other.main.norms)) if r.n > 1]
    seams = bad = 0
    toks, text = w.main.toks, w.main.shadow
    for r, nxt in zip(runs, runs[1:]):
        if nxt.j0 >= r.jl and nxt.j0 - (r.jl + ANCHOR) <= 40:
            continue  # the other witness reads on here too: no seam
        seams += 1
        lo, hi = max(r.il + 1, 0), min(nxt.i0 + ANCHOR, len(toks) - 1)
        for t in range(lo, hi):
            if t + 1 >= len(toks):
                break
            if _bad_join(text, toks[t], toks[t + 1]):
                bad += 1
                break
    return seams, bad


def _bad_join(text: str, a: Tok, b: Tok) -> bool:
    left, right = text[a.start:a.end].replace(ZW, ""), text[b.start:b.end].replace(ZW, "")
    between = text[a.end:b.start]
    ends = left.rstrip(_CLOSERS)[-1:] in (".", "!", "?", ":")
    first = right.lstrip("\"'“‘(")[:1]
    if ends and first.islower():
        return True
    if not ends and "\n\n" in between and left[-1:] not in (",", ";"):
        return True
    if left.endswith("-") and not left.endswith("--"):
        return True
    if not ends and first.isupper() and zipf(right.strip(_CLOSERS + ".,;:")) >= 6.0 \
            and left[-1:].isalpha() and right.lower().strip(".,;:") != "i":
        return True
    return False


def choose_base(ws: list[Witness], report: ImportReport) -> int:
    n = len(ws)
    orders = {}
    for x in range(n):
        for y in range(x + 1, n):
            orders[x, y] = orders[y, x] = pair_order(ws[x], ws[y])
    agree = [sum(orders[x, y].agreement for y in range(n) if y != x) / (n - 1) for x in range(n)]
    defects = []
    for x in range(n):
        seams = bad = 0
        for y in range(n):
            if y != x:
                s, b = seam_defects(ws[x], ws[y])
                seams, bad = seams + s, bad + b
        defects.append((bad, seams))
    for x in range(n):
        for y in range(x + 1, n):
            o = orders[x, y]
            report.repairs.append(
                f"order: {ws[x].short} and {ws[y].short} read {o.agreement:.1%} of their {o.anchors} shared "
                f"word 4-grams in the same order, in {o.blocks} contiguous blocks")
    blocks = [sum(orders[x, y].blocks for y in range(n) if y != x) / (n - 1) for x in range(n)]
    rate = [b / s if s else 0.0 for b, s in defects]
    figures = "; ".join(f"{ws[x].short}: {blocks[x]:.1f} shared blocks on average, order agreement "
                        f"{agree[x]:.1%}, seams that read as bad joins {defects[x][0]}/{defects[x][1]}"
                        for x in range(n))
    ranked = sorted(range(n), key=lambda x: (blocks[x], rate[x]))
    best, second = ranked[0], ranked[1]
    margin = blocks[second] - blocks[best]
    by_seams = min(range(n), key=lambda x: (rate[x], blocks[x]))
    explain = ("a witness in reading order is cut only where the others' pages were moved; two scrambled "
               "witnesses are cut in both their ways")
    if n > 2 and margin >= max(2.0, 0.1 * blocks[best]):
        why = (f"its order agrees best with the other witnesses: they share their text with it in "
               f"{blocks[best]:.1f} contiguous blocks on average, against {blocks[second]:.1f} for "
               f"{ws[second].short} ({explain})")
        if rate[best] > rate[by_seams]:
            report.doubt(None, f"{ws[best].short} has the fewest blocks but not the cleanest seams: check its order")
    elif n > 2 and margin > 0 and by_seams == best:
        why = (f"its order agrees best with the other witnesses ({blocks[best]:.1f} contiguous blocks on "
               f"average against {blocks[second]:.1f} for {ws[second].short}: {explain}), and its text reads "
               f"on naturally where the others' blocks break ({defects[best][0]} of {defects[best][1]} seams "
               "look like a page glued in the wrong place)")
    else:
        best = by_seams
        why = ("the block counts do not separate the witnesses, and its text reads on naturally where the "
               f"others' blocks break ({defects[best][0]} of {defects[best][1]} seams look like a page glued "
               "in the wrong place)")
        report.doubt(None, "the base was chosen on how its seams read, a weaker test: check its order")
    report.repairs.insert(0, f"base: {ws[best].short}, because {why}. Figures: {figures}")
    report.counts["base_blocks_with_others"] = round(blocks[best])
    return best


# --- damage tests ---------------------------------------------------------------------------

def canon(s: str) -> str:
    """Typography-blind form: straight quotes, single spaces."""
    s = unicodedata.normalize("NFKC", s).replace(ZW, "")
    s = s.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"').replace("`", "'")
    return re.sub(r"\s+", " ", s).strip()


_CONFUSE_MULTI = [("rn", "m"), ("cl", "d"), ("vv", "w"), ("ii", "u"), ("li", "h")]
_CONFUSE = str.maketrans({c: "1" for c in "Il1|!iLj"} | {c: "0" for c in "O0oQD"}
                         | {"5": "S", "8": "B", "2": "Z", "6": "G", "-": ".", ",": "."})


def skeleton(s: str) -> str:
    s = canon(s)
    for a, b in _CONFUSE_MULTI:
        s = s.replace(a, b)
    return s.translate(_CONFUSE)


def damaged(reading: str, after: str = "", words: bool = True) -> str | None:
    """Why `reading` looks like extraction damage on its face, or None.

    `after` is the text that follows it (to see whether a sentence ends there);
    `words=False` leaves out the unknown-word test (names are unknown words too).
    """
    c = canon(reading)
    if re.search(r"\w['\"]{2,}\w|\w''|''\w", c):
        return "doubled quotation mark inside a word"
    if re.search(r"\d[\"*'®]", c) and not re.search(r"\d'?s\b", c):
        return "stray mark after a number"
    if re.search(r"[®©¢¤§¦|]", c) and re.search(r"\w", c):
        return "stray symbol"
    if re.search(r"(?<=\w)-$", c) or re.search(r"(?<=\w)- ", c):
        return "word ending in a hyphen"
    nxt = after.lstrip()
    if re.search(r"[^\W_]['\"]*\"$", c) and not re.match(r"['\"(]", c) and (not nxt or nxt[:1].isupper()):
        return "sentence ends at a closing quotation mark without its full stop"
    if words:
        for part in re.findall(r"[^\W\d_]+", c):
            if len(part) >= 4 and part.islower() and zipf(part) == 0:
                return "not a known word"
    return None


def noise(w: Witness) -> float:
    """Share of the witness's words that look damaged: how clean an extraction it is."""
    t = w.main
    if not t.toks:
        return 1.0
    bad = 0
    for i, tok in enumerate(t.toks):
        after = t.shadow[tok.end:t.toks[i + 1].start + 1].replace(ZW, "") if i + 1 < len(t.toks) else ""
        after = after if "\n\n" not in after else ""
        if damaged(t.shadow[tok.start:tok.end], after, words=False):
            bad += 1
    return bad / len(t.toks)


# --- hyphen provenance ----------------------------------------------------------------------

_BROKEN = re.compile(r"([^\W\d_]+(?:-[^\W\d_]+)*)-[ \t]*\n[ \t]*([^\W\d_]+(?:-[^\W\d_]+)*)")


def hyphen_forms(raw: str) -> tuple[Counter, Counter]:
    """(words the source breaks at a line end, by their letters; word forms it prints inside a
    line, lower case with their hyphens)."""
    broken, printed = Counter(), Counter()
    for m in _BROKEN.finditer(raw):
        broken[norm(m.group(1) + m.group(2))] += 1
    for m in re.finditer(r"[^\W\d_]+(?:-[^\W\d_]+)*", _BROKEN.sub(" ", raw)):
        printed[m.group().lower()] += 1
    return broken, printed
