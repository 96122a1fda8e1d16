"""Page-bottom notes in text extracted from a PDF (helpers of `pdf_text`).

A PDF prints each note at the bottom of the page that refers to it, and text
extraction garbles the little superscript markers: `¹` comes out as `!`, `(!`,
`?`, `®`, `*`, `@`, `’`, `™`, as a digit glued to the word (`whole1`), or not at
all; the note's own marker fares no better (`! For example…`, `O This text…`,
`B Ibid.`). Nothing here trusts a marker's face value. Instead:

1. `find_note_region` finds, at the bottom of each page, the blocks that read
   as notes (a marker-like first token, lines wider than the body's because
   notes are set smaller, citation words), and `split_notes` cuts them into
   notes (a new note starts after a line that stopped short of the margin).
2. `scan_block` (in `pdf_markers`) lists where a marker may sit in the page's
   text — garbled markers of three strengths — and every sentence end, for
   markers the extraction lost.
3. `match_page` (in `pdf_markers`) gives each note of the page a position, in order, by dynamic
   programming: strong markers first, then weak ones, then the sentence end
   whose words best match the note's text (a guess, which the caller reports).
4. `number_notes` reads the whole sequence of notes at once: a numbered series
   1, 2, 3… (where digits that were read agree with their place), and a second
   series for notes whose marker style differs from the rest (parenthesised
   markers among bare ones, or a marker read as `O`/`0`, which no numbered
   series uses), labelled `s1`, `s2`…

The rules use typography and wordfreq only, never the words of a particular text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .words import known_word

SUPERSCRIPTS = "¹²³⁴⁵⁶⁷⁸⁹⁰"
SUP_DIGITS = _SUP = str.maketrans(SUPERSCRIPTS, "1234567890")

# The first token of a note: a number, one or two symbols, or one letter, maybe in parentheses.
NOTE_START = re.compile(
    r"^(?P<m>[(\[]?(?:\d{1,3}|[¹²³⁴⁵⁶⁷⁸⁹⁰]{1,3})[.)\]]?|\(?[^\w\s\-–—•·.,;:…“‘\[\]]{1,2}\)?"
    r"|\(?[A-Za-z]\)?)\s+(?P<rest>\S.*)$")
CITATION = re.compile(r"^\W*(?:ibid|[1lT]bid|see|cf|quoted|cited|op\.? cit)\b|\bpp?\.\s?\d", re.I)
_ZEROISH = {"O", "o", "0", "°", "Q", "()"}

PH_OPEN, PH_CLOSE, PH_GUESS = "\ue000", "\ue001", "\ue002"


@dataclass(eq=False)
class Line:
    no: int                 # 1-based line number in the source
    text: str               # without the indentation and trailing white space
    indent: int = 0
    edits: list = field(default_factory=list)  # (start, end, replacement, seq), applied when rendering

    def rendered(self) -> str:
        """The text with the edits made (two insertions at one place keep their order)."""
        text = self.text
        for start, end, rep, _ in sorted(self.edits, key=lambda e: (e[0], e[1], e[3]), reverse=True):
            text = text[:start] + rep + text[end:]
        return text


@dataclass(eq=False)
class Cand:
    """A place where a note's reference may go: a garbled marker, or a sentence end."""
    line: Line
    start: int
    end: int
    kind: str               # "marker" or "end"
    strength: float = 0.0
    remove: bool = True     # the marker's characters are extraction debris
    text: str = ""
    digits: str | None = None
    paren: bool = False
    quote: bool = False     # a closing quote just before (citations follow quotations)
    para_end: bool = False
    quotation: bool = False  # the end of a paragraph that is one quotation
    words: frozenset = frozenset()


@dataclass(eq=False)
class Note:
    raw: str                # the marker as printed before the note
    lines: list[Line]
    page: int
    anchor: Cand | None = None
    guessed: bool = False
    label: str = ""
    series: int = 1

    @property
    def line_no(self) -> int:
        return self.lines[0].no

    @property
    def text(self) -> str:
        return " ".join(l.text for l in self.lines)

    def digit_reads(self) -> list[str]:
        out = []
        for s in (self.raw, self.anchor.text if self.anchor and self.anchor.kind == "marker" else ""):
            d = s.translate(_SUP).strip("()[].")
            if d.isdigit():
                out.append(d.lstrip("0") or "0")
        return out

    @property
    def paren(self) -> bool:
        return any(c in self.raw for c in "()") or bool(self.anchor and self.anchor.paren)


# --- finding the notes at the bottom of a page ---------------------------------------------------

def _one_edit(a: str, b: str) -> bool:
    """a and b differ by one substituted, dropped or added character."""
    if a == b:
        return True
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b)) == 1
    if abs(len(a) - len(b)) != 1:
        return False
    short, long_ = sorted((a, b), key=len)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def plausible_number(value: str, expected: int) -> bool:
    window = range(max(1, expected - 5), expected + 4)
    return any(value == str(n) or _one_edit(value, str(n)) for n in window)


def note_start(line: str, expected: int) -> tuple[float, re.Match | None]:
    """How much `line` reads like the first line of a note (0 = not at all)."""
    m = NOTE_START.match(line)
    if not m:
        return 0.0, None
    marker, rest = m.group("m"), m.group("rest")
    core = marker.strip("()[].").translate(_SUP)
    if core.isdigit():
        if not plausible_number(core, expected):
            return 0.5, m
        return (1.5 if marker.endswith(".") else 2.0), m  # "1." may as well open a numbered list
    if core.isalpha():
        if not (rest[0].isupper() or rest[0].isdigit() or rest[0] in "“‘\"'[("):
            return 0.0, None
        return 0.5, m
    return 2.0, m


def block_note_score(block: list[Line], width: float, expected: int) -> float:
    score, m = note_start(block[0].text, expected)
    if not m:
        return 0.0
    if max(len(l.text) for l in block) > 1.06 * width:
        score += 1.5  # notes are set smaller, so their lines hold more characters
    if CITATION.search(m.group("rest")):
        score += 1.0
    return score


def find_note_region(blocks: list[list[Line]], width: float, expected: int) -> int:
    """Index of the first block of the page's notes (len(blocks) when there are none).

    The notes are the last blocks of a page: the first reads as a note, and every
    later one either reads as a note or is a short continuation of one.
    """
    scores = [block_note_score(b, width, expected) for b in blocks]
    for j, score in enumerate(scores):
        if score < (3.0 if j == 0 else 2.0):
            continue
        if all(s >= 2.0 or _continuation(b, width) for b, s in zip(blocks[j + 1:], scores[j + 1:])):
            # just above the first note, text set in the notes' type: a note continued from the page before
            above = sorted(len(l.text) for l in blocks[j - 1]) if j > 1 else []
            if above and above[len(above) // 2] > 1.08 * width and min(above[:-1] or above) >= 0.9 * width:
                return j - 1
            return j
    return len(blocks)


def _continuation(block: list[Line], width: float) -> bool:
    """A block among the notes that goes on with the note before it: a short scrap, or a
    paragraph set in the notes' smaller type (lines wider than the body's)."""
    short = all(len(l.text) < 0.6 * width for l in block) and not block[0].text[:1].isupper()
    return short or max(len(l.text) for l in block) > 1.06 * width


_RULE = re.compile(r"^[_—–\-=·.*\s]{3,}$")  # a footnote rule drawn with characters


def drop_rule(page: list[list[Line]], expected: int) -> bool:
    """Remove a rule line (`_____`) drawn just above a page's notes; say if there was one."""
    flat = [(b, k) for b, block in enumerate(page) for k in range(len(block))]
    for (b, k), nxt in zip(flat, flat[1:]):
        if _RULE.match(page[b][k].text) and note_start(page[nxt[0]][nxt[1]].text, expected)[0] >= 1.5:
            del page[b][k]
            if not page[b]:
                del page[b]
            return True
    return False


def split_glued(page: list[list[Line]], width: float, expected: int) -> None:
    """Notes printed right under the last line of text, with no blank line between: cut
    the page's last block at the first line that opens what reads clearly as notes —
    set wider than the text above it; or marked and cited after a line that stopped
    short; or a bare number, the very one expected, on one of the page's last lines; or a
    list of lines that each open a note."""
    if not page or len(page[-1]) < 2:
        return
    block = page[-1]
    for k in range(1, len(block)):
        score, m = note_start(block[k].text, expected)
        if not m:
            continue
        head, tail = block[:k], block[k:]
        wider = max(len(l.text) for l in tail) > 1.06 * width >= max(len(l.text) for l in head) / 1.03
        cited = len(head[-1].text) < 0.9 * width and score >= 2.0 \
            and block_note_score(tail, width, expected) >= 3.0
        numbered = len(tail) <= 3 and m.group("m").strip("()[].") == str(expected) \
            and m.group("rest")[:1].isupper()
        listed = len(tail) >= 2 and all(note_start(l.text, expected + i)[0] >= 2.0 for i, l in enumerate(tail))
        if wider or cited or numbered or listed:
            page[-1:] = [head, tail]
            return


def split_after_inner_notes(pages: list[list[list[Line]]], width: float) -> list[list[list[Line]]]:
    """A page break the extraction marked with one blank line only: notes, then a
    block of body text that goes on mid-sentence (lower case). Split the page there."""
    out = []
    expected = 1
    for page in pages:
        cur: list[list[Line]] = []
        in_notes = False
        for j, block in enumerate(page):
            body_like = len(block) >= 2 or len(block[0].text) >= 0.6 * width
            if in_notes and block[0].text[:1].islower() and body_like:
                out.append(cur)
                cur = []
            cur.append(block)
            m = NOTE_START.match(block[0].text)
            if j > 0 and m and block_note_score(block, width, expected) >= 2.0 \
                    and not m.group("m").strip("()").isalpha():
                in_notes = True
                expected += 1
            elif body_like:
                in_notes = False
        out.append(cur)
    return [p for p in out if p]


def split_notes(region: list[list[Line]], page: int, note_width: float, expected: int,
                orphans: list[Line]) -> list[Note]:
    """Cut the note blocks of one page into notes."""
    notes: list[Note] = []
    for block in region:
        for i, line in enumerate(block):
            score, m = note_start(line.text, expected + len(notes))
            new = False
            if m and score >= 0.5:
                if i == 0:
                    new = True
                else:
                    prev = block[i - 1].text
                    letter = m.group("m").strip("()").isalpha()
                    short = len(prev) < 0.9 * note_width
                    new = short if letter else (short or prev.rstrip().endswith((".", ")", "]")))
            if new:
                rest_col = line.text.index(m.group("rest"), len(m.group("m")))
                notes.append(Note(m.group("m"), [Line(line.no, line.text[rest_col:])], page))
            elif notes:
                notes[-1].lines.append(line)
            else:
                orphans.append(line)
    return notes


# --- numbering: one numbered series, and a second series set apart -----------------------------

def number_notes(notes: list[Note]) -> None:
    """Label the notes: `1`, `2`… in order for the numbered series, `s1`, `s2`… for the other."""
    t = len(notes)
    if not t:
        return
    parens = sum(n.paren for n in notes)
    paren_hint = 0 < parens < t / 2

    def second_cost(note: Note) -> float:
        # Without a sign of a second series, setting a note apart costs more than any misread digit.
        c = 3.0
        if paren_hint and note.paren:
            c -= 2.6
        if note.raw.strip("()") in _ZEROISH:
            c -= 1.5
        return max(c, 0.1)

    def main_cost(note: Note, number: int) -> float:
        reads = note.digit_reads()
        if not reads:
            return 0.5
        if str(number) in reads:
            return 0.0
        if any(_one_edit(r, str(number)) for r in reads):
            return 0.6
        return 1.2

    def solve(first: int) -> tuple[float, list[int]]:
        INF = float("inf")
        # cost[i][m]: first i notes placed, m of them in the numbered series (numbered from `first`)
        cost = [[INF] * (t + 1) for _ in range(t + 1)]
        choice: dict[tuple[int, int], int] = {}
        cost[0][0] = 0.0 if first == 1 else 0.5
        for i in range(t):
            for m in range(i + 1):
                if cost[i][m] == INF:
                    continue
                c_main = cost[i][m] + main_cost(notes[i], first + m)
                if c_main < cost[i + 1][m + 1]:
                    cost[i + 1][m + 1], choice[(i + 1, m + 1)] = c_main, 1
                c_sec = cost[i][m] + second_cost(notes[i])
                if c_sec < cost[i + 1][m]:
                    cost[i + 1][m], choice[(i + 1, m)] = c_sec, 2
        m = min(range(t + 1), key=lambda x: cost[t][x])
        series = []
        for i in range(t, 0, -1):
            s = choice[(i, m)]
            series.append(s)
            m -= s == 1
        series.reverse()
        return min(cost[t]), series

    # The series usually starts at 1; an excerpt's notes may start further on, as their digits say.
    firsts = {1} | {int(d) - i for i, n in enumerate(notes[:3]) for d in n.digit_reads() if int(d) - i > 1}
    best_first, (_, series) = min(((f, solve(f)) for f in sorted(firsts)), key=lambda x: x[1][0])
    main, second = best_first - 1, 0
    for note, s in zip(notes, series):
        note.series = s
        if s == 1:
            main += 1
            note.label = str(main)
        else:
            second += 1
            note.label = f"s{second}"


# --- OCR slips in notes --------------------------------------------------------------------------

# Glyphs OCR confuses at the start of a word: what was printed → what was read.
_CONFUSED = {"1": "Il", "0": "Oo", "5": "Ss", "8": "B", "T": "I"}
_GARBLED_WORD = re.compile(r"(?<![\w’'])([10584T])([a-z]{2,})\b")


def repair_ocr(text: str) -> tuple[str, list[tuple[str, str]]]:
    """`1bid.` → `Ibid.`: a confusable first glyph, when only the repaired word is known."""
    fixes: list[tuple[str, str]] = []

    def fix(m: re.Match) -> str:
        word = m.group(0)
        if known_word(word):
            return word
        for letter in _CONFUSED[m.group(1)]:
            new = letter + m.group(2)
            if known_word(new):
                fixes.append((word, new))
                return new
        return word

    return _GARBLED_WORD.sub(fix, text), fixes
