"""Where a note's marker may sit in text extracted from a PDF, and which one each note takes
(steps 2 and 3 of `pdf_notes`; helpers of `pdf_text`).

`scan_block` lists, in reading order, the tokens that may carry a garbled marker (three
strengths) and every sentence end; `match_page` gives each note of a page one of them, in
order, by dynamic programming over the similarity of the note's words to the passage's.
"""
from __future__ import annotations

import re

from .pdf_notes import _SUP, SUPERSCRIPTS, Cand, Line, Note
from .words import WORD, known_word, zipf

# Characters that are never prose when glued to the end of a word.
SYMBOLS = "*®©@%™†‡§¶°#" + SUPERSCRIPTS
MARK_CHARS = set(SYMBOLS + "0123456789!?()[]'’\"")
# The end of a token: closing parentheses, one punctuation mark, closing quotes (the
# author's), then whatever remains is a candidate marker.
_TAIL = re.compile(r"[\d!?*®©@%™†‡§¶°#¹²³⁴⁵⁶⁷⁸⁹⁰()\[\]”’\"'.,;:]+$")
_AUTHORIAL = re.compile(r"^[)\]]*[.,;:!?…]?[”’\"')\]]*(?![\d¹²³⁴⁵⁶⁷⁸⁹⁰]*\])")
_SENT_END = re.compile(r"[.!?…][”’\"')\]]*$")


def _content_words(text: str) -> frozenset:
    """Words that say what a passage is about: not the commonest words of the language."""
    out = set()
    for w in WORD.findall(text):
        lw = w.lower().replace("’", "'")
        if len(lw) >= 3 and zipf(lw) < 5.0:
            out.add(lw[:-2] if lw.endswith("'s") else lw)
    return frozenset(out)


def _is_abbreviation(host: str) -> bool:
    letters = host.lstrip("(“‘\"'[")
    return len(letters) <= 2 and letters[:1].isupper() or len(letters) == 1


def scan_block(block: list[Line]) -> list[Cand]:
    """Candidate marker positions and sentence ends in one paragraph, in reading order."""
    out: list[Cand] = []
    tokens = [(line, m.start(), m.group()) for line in block for m in re.finditer(r"\S+", line.text)]
    sentence: list[str] = []
    opened_double = opened_single = 0
    closed_double = 0
    for k, (line, col, tok) in enumerate(tokens):
        last = k == len(tokens) - 1
        nxt = tokens[k + 1][2] if not last else ""
        opened_double += tok.count("“")
        opened_single += tok.count("‘")
        sentence.append(tok)
        tail = _TAIL.search(tok)
        host = tok[:tail.start()] if tail else tok
        cand = None
        if tail and host and host[-1].isalpha():
            rest = tail.group()
            auth = _AUTHORIAL.match(rest).group()
            mark = rest[len(auth):]
            # A straight quote after a curly one, or a second identical quote, is debris.
            m2 = re.search(r"(?<=[”’])[\"']|(?<=”)”|(?<=’)’", auth)
            if m2:
                mark, auth = auth[m2.start():] + mark, auth[:m2.start()]
            tstart = col + len(host) + len(auth)
            tend = col + len(tok)
            # "word!" / "word?" glued to a word are the author's, unless the sentence goes on in lower case
            if not mark and auth in ("!", "?", "!!", "??") and nxt[:1].islower():
                mark, auth, tstart = auth, "", col + len(host)
            cand = _classify(line, host, auth, mark, tstart, tend, last,
                             opened_single, opened_double, closed_double)
        elif re.fullmatch(r"\d[\d,]*[.;:]\d{1,3}", tok) and (last or nxt[:1].isupper() or nxt[:1] in "“‘\""):
            # "in 1917.1 The…": a number, a full stop, then a marker before the next sentence
            digits = re.search(r"\d+$", tok).group()
            cand = Cand(line, col + len(tok) - len(digits), col + len(tok), "marker", 2.0, True, digits, digits)
        closed_double += tok.count("”")
        if cand is not None:
            cand.words = _content_words(" ".join(sentence))
            out.append(cand)
            sentence = []
            continue
        ends = bool(_SENT_END.search(tok)) and not _is_abbreviation(host.rstrip(".")) and \
            (last or nxt[:1].isupper() or nxt[:1] in "“‘\"'([" or nxt[:1].isdigit())
        ends = ends or (tok.endswith("”") and (last or nxt[:1].isupper() or nxt[:1] == "“"))
        if ends or last:
            end = col + len(tok)
            quote = tok.rstrip(".,;:").endswith(("”", "’", '"'))
            out.append(Cand(line, end, end, "end", quote=quote, para_end=last,
                            quotation=last and quote and tokens[0][2][:1] in "“\"",
                            words=_content_words(" ".join(sentence))))
            sentence = []
    return out


def _classify(line, host, auth, mark, start, end, last, open_single, open_double, closed_double):
    marker_chars = set(mark)
    if mark and not marker_chars <= MARK_CHARS:
        return None
    if mark and set(mark) <= set("()[]'’\""):
        return None
    punct = any(c in ".,;:" for c in auth)
    if mark:
        digits = mark.translate(_SUP).strip("()[]")
        if mark.startswith("[") and mark.endswith("]") and digits.isdigit():
            return Cand(line, start, end, "marker", 3.0, True, mark, digits)  # "word.[12]"
        paren = "(" in mark or ")" in mark
        if paren and len(mark) > 1:
            return Cand(line, start, end, "marker", 3.0, True, mark, digits if digits.isdigit() else None, True)
        if any(c in SYMBOLS for c in mark):
            return Cand(line, start, end, "marker", 3.0, True, mark, digits if digits.isdigit() else None)
        if digits.isdigit():
            if auth:
                if len(host) <= 2 and not auth.strip(".,;:"):
                    return None  # "p.5"
                return Cand(line, start, end, "marker", 3.0, True, mark, digits)
            word = WORD.findall(host)
            word = word[-1] if word else ""
            if len(word) >= 3 and known_word(word) and not known_word(word + digits) \
                    and not word[1:].isupper() and len(digits) <= 3:
                return Cand(line, start, end, "marker", 2.0, True, mark, digits)
            return None
        core = mark.strip("'’\"")
        if core and set(core) <= set("!?"):
            if any(c.isdigit() for c in mark):
                return Cand(line, start, end, "marker", 3.0, True, mark)
            if punct:
                return Cand(line, start, end, "marker", 3.0, True, mark)
            if auth:
                if len(mark) >= 2:
                    return Cand(line, start, end, "marker", 3.0, True, mark)
                return Cand(line, end, end, "marker", 1.0, False, mark)
            return Cand(line, start, end, "marker", 2.0, True, mark)  # "review! and will be"
        if any(c.isdigit() for c in mark) and set(mark) <= set("0123456789!?"):
            return Cand(line, start, end, "marker", 3.0, True, mark)
        return None
    # No marker left once the author's punctuation is set aside: only quotes that close nothing.
    if auth.endswith("’") and not open_single:
        if punct or auth.endswith("”’"):
            return Cand(line, end - 1, end, "marker", 2.0, True, "’")
        return Cand(line, end, end, "marker", 0.5, False, "’")
    if last and auth.endswith("”") and open_double <= closed_double:
        return Cand(line, end, end, "marker", 0.6, False, "”", quote=True, para_end=True)
    return None


# --- giving each note of a page its place --------------------------------------------------------

_SKIP_PENALTY = {3.0: 1.0, 2.0: 0.3}


def _sim(note_words: frozenset, cand: Cand) -> float:
    """How much the passage before `cand` and the note share words, rare words counting more."""
    return min(1.0, sum(max(0.0, 5.0 - zipf(w)) for w in note_words & cand.words) / 2.0)


def _score(note: Note, note_words: frozenset, cand: Cand) -> float:
    sim = 1.5 * _sim(note_words, cand)
    if cand.kind == "marker":
        bonus = 1.0 if cand.digits and cand.digits in note.digit_reads()[:1] else 0.0
        return cand.strength + sim + bonus
    return 0.1 + 0.3 * cand.quote + 0.2 * cand.para_end + 0.3 * cand.quotation + sim


def match_page(notes: list[Note], cands: list[Cand]) -> None:
    """Give each note a candidate, keeping order: maximise strength and word overlap."""
    k, n = len(notes), len(cands)
    if not k or not n:
        return
    words = [_content_words(note.text) for note in notes]
    NEG = float("-inf")
    # best[i][j]: best score placing the first i notes among the first j candidates
    best = [[NEG] * (n + 1) for _ in range(k + 1)]
    back: dict[tuple[int, int], bool] = {}
    best[0][0] = 0.0
    for j in range(1, n + 1):
        best[0][j] = best[0][j - 1] - _SKIP_PENALTY.get(cands[j - 1].strength, 0.0) * (cands[j - 1].kind == "marker")
    for i in range(1, k + 1):
        for j in range(i, n + 1):
            c = cands[j - 1]
            skip = best[i][j - 1] - (_SKIP_PENALTY.get(c.strength, 0.0) if c.kind == "marker" else 0.0)
            take = best[i - 1][j - 1] + _score(notes[i - 1], words[i - 1], c)
            if take >= skip:
                best[i][j], back[(i, j)] = take, True
            else:
                best[i][j], back[(i, j)] = skip, False
    if best[k][n] == NEG:  # more notes than places: place what can be placed
        k = min(k, n)
    i, j = k, n
    while i > 0 and j > 0:
        if back.get((i, j)):
            notes[i - 1].anchor = cands[j - 1]
            notes[i - 1].guessed = cands[j - 1].kind == "end" or cands[j - 1].strength < 1.0
            i, j = i - 1, j - 1
        else:
            j -= 1
