"""The Anarchist Library's plain-text editions: one paragraph a line.

What such a file looks like, and what `convert` does about it:

* a title block — "The Anarchist Library Anti-Copyright", the colophon line
  (author, title, subtitle and date run together, or on lines of their own),
  "Retrieved on … from …", "theanarchistlibrary.org", then the title page's title,
  subtitle, author and date on lines of their own; at the top, or at the end as
  the colophon of the library's PDFs → metadata `title`, `subtitle`, `author`,
  `date`, `retrieved-from`, `rights` ("Anti-Copyright"), `source-edition`;
* one paragraph a line, clean words, `*italics*`; a short line with no sentence
  punctuation → a `##` heading (the first, when there is no title block, → title);
* notes as Unicode superscripts (`…delegates.²` in the text, `² Oscar Anweiler…`
  on a line of its own), in LaTeX-like forms (`$^{2}$`, `$^{^{2}}$`, `$^{^{\\rm 5}}$`,
  `$^4$`, and a mangled `$^{^{\\}rm 5}$`) or in brackets (`[2]`) → Pandoc footnotes
  `[^n]`, definitions collected at the end of the body; `$\\it Liberation$` →
  `*Liberation*`; a "Notes" heading over nothing but definitions goes with them;
* a note whose marker the source lost → a reference at the likeliest sentence end
  (before its definition on the page; after the previous note's sentence for
  endnotes), followed by the comment `GUESSED` and reported as a doubt; a note
  with no text at all to anchor in → kept under `<!-- anthology: unplaced note … -->`;
* pages of the printed edition cut mid-sentence → a paragraph ending without
  sentence punctuation is re-joined to the next one when that starts in lower
  case (across the page's note definitions), unless the join would leave a
  quotation open or the next paragraph's first word completes a word broken at
  the end of another fragment (`Rus-` … `sian`); fragments out of order (an
  unfinished paragraph with no continuation after it, a paragraph starting
  mid-sentence, a sentence that restarts mid-line) are reported with their lines,
  never moved: putting them back in order is what the witness merge
  (`witnesses.py`) is for. When the source shows such damage, each join it made
  is reported too, for the editor to check.

The rules use typography and wordfreq only, never the words of a particular text.
"""
from __future__ import annotations

import re

from .base import ImportedText, Importer, ImportReport, register
from .words import join_hyphenated, zipf
from .plain_title import (
    _LIBRARY, _SITE, _SUP, _title_block, math_note_label, math_text, note_definition, starts_mid_sentence,
    superscript_label,
)

_MATH = re.compile(r"\$([^$\n]{1,80}?)\$")
_SUP_REF = re.compile(rf"[ \t]?({_SUP})")
_BRACKET_REF = re.compile(r"[ \t]?\[(\d{1,3})\](?![(:\[])")


# Where a sentence (or a clause introducing a quotation) ends.
_TRAILERS = "\"'”’»)]*"
_SENTENCE_END = re.compile(rf"[.!?…:][{re.escape(_TRAILERS)}]*(?=\s|$)")
_FOOTREF = re.compile(r"\[\^[^\]\s]+\]")

# Marker written after a footnote reference whose place the importer had to
# guess (the source lost it). Invisible in the book; the witness merge moves
# such references to where another witness anchors the note.
GUESSED = "<!-- anthology: guessed note position -->"

# How common (Zipf scale) a word must be to count as a known word here.
_KNOWN = 3.0


def _core(text: str) -> str:
    """`text` without footnote references and trailing markup, for end-of-sentence tests."""
    text = _FOOTREF.sub("", re.sub(r"<!--.*?-->", "", text))
    return text.rstrip().rstrip(_TRAILERS + " ")


def ends_sentence(text: str) -> bool:
    core = _core(text)
    return not core or core[-1] in ".!?…:"


def _quote_balance(text: str) -> int:
    """Double quotation marks left open (straight ones counted by parity)."""
    curly = text.count("“") - text.count("”")
    return curly + text.count('"') % 2


def _first_word(text: str) -> str:
    m = re.match(r"[\s\"'“‘(*_]*([A-Za-z]+)", text)
    return m.group(1) if m else ""


def _known(word: str) -> float:
    return zipf(word) if word else 0.0


@register
class PlainImporter(Importer):
    name = "plain"
    description = "The Anarchist Library's plain text: one paragraph a line, superscript or $^{n}$ notes"

    @classmethod
    def detect(cls, text: str) -> tuple[float, str]:
        lines = [l for l in text.splitlines() if l.strip()]
        if not lines:
            return 0.0, "empty text"
        if re.match(r"\A\s*---\s*\n.*?\n(---|\.\.\.)\s*\n", text, re.S):
            return 0.05, "starts with YAML front matter, as a wiki page does"
        ends = lines[:30] + lines[-15:]
        if any(_SITE.match(l) or _LIBRARY.match(l) for l in ends):
            return 0.95, "The Anarchist Library's title block"
        total = sum(len(l) for l in lines)
        long_share = sum(len(l) for l in lines if len(l.strip()) > 100) / total
        raw = text.splitlines()
        runs = sum(1 for a, b in zip(raw, raw[1:]) if a.strip() and b.strip())
        wrapped_share = runs / len(lines)
        notes = sum(1 for l in lines if note_definition(l)) + len(re.findall(_SUP, text))
        median = sorted(len(l.strip()) for l in lines)[len(lines) // 2]
        if wrapped_share < 0.15 and (long_share > 0.5 or median > 60):
            if notes:
                return 0.85, "one paragraph a line, with superscript or $^{n}$ notes"
            return 0.6, "one paragraph a line"
        if wrapped_share > 0.3:
            return 0.08, "hard-wrapped lines (one paragraph spans several lines)"
        return 0.1, "short lines, not clearly one paragraph a line"

    def convert(self, text: str, source_name: str) -> ImportedText:
        report = ImportReport(source=source_name, format=self.name)
        for key in ("notes_found", "notes_anchored", "notes_guessed", "paragraphs_joined",
                    "fragments_out_of_order"):
            report.counts[key] = 0
        lines = text.splitlines()
        metadata, used = _title_block(lines, report)
        body, guessed = _body(lines, used, report, metadata)
        result = ImportedText(metadata, body, report)
        # For the witness merge: the notes whose reference this importer placed by guess.
        result.guessed_notes = guessed
        return result


# --- the title block -------------------------------------------------------------------------


# --- the body --------------------------------------------------------------------------------

class _Para:
    __slots__ = ("text", "line", "last_line", "heading")

    def __init__(self, text: str, line: int):
        self.text, self.line, self.last_line, self.heading = text, line, line, False


def _heading_like(text: str) -> bool:
    """A short line of its own with no sentence punctuation: a title or section heading."""
    t = text.strip()
    return bool(t) and len(t) <= 80 and len(t.split()) <= 12 and (t[0].isupper() or t[0].isdigit()) \
        and t[-1] not in ".,;:-!?…\"'”’" and not _FOOTREF.search(t)


def _mark_headings(paras: list[_Para], metadata: dict, report: ImportReport) -> list[_Para]:
    for k, p in enumerate(paras):
        nxt = paras[k + 1] if k + 1 < len(paras) else None
        if _heading_like(p.text) and (nxt is None or not starts_mid_sentence(nxt.text)):
            p.heading = True
    if paras and paras[0].heading and "title" not in metadata:
        metadata["title"] = paras[0].text.strip()
        report.doubt(paras[0].line, f"no title block: the first line ('{paras[0].text.strip()}') is taken "
                                    "as the title")
        paras = paras[1:]
    report.counts["headings"] = sum(p.heading for p in paras)
    return paras


def _body(lines: list[str], used: set[int], report: ImportReport, metadata: dict) -> tuple[str, set[str]]:
    # 1. Paragraphs and note definitions, in the order of the file.
    items: list[tuple[str, object]] = []  # ("para", _Para) or ("note", (label, text, line))
    current: _Para | None = None
    for i, raw in enumerate(lines):
        line = raw.strip()
        if i in used or not line:
            current = None
            continue
        nd = note_definition(line)
        if nd:
            items.append(("note", (nd[0], nd[1], i + 1)))
            current = None
        elif current is not None:  # a paragraph running over several lines
            current.text += " " + line
            current.last_line = i + 1
        else:
            current = _Para(line, i + 1)
            items.append(("para", current))

    # 2. Note definitions, with unique labels.
    defs: dict[str, tuple[str, int]] = {}
    def_order: list[str] = []
    renamed: dict[int, str] = {}
    for k, (kind, item) in enumerate(items):
        if kind != "note":
            continue
        label, text, line = item
        if label in defs:
            n = 2
            while f"{label}-{n}" in defs:
                n += 1
            report.doubt(line, f"note {label} is defined twice; the second is labelled {label}-{n}")
            label = f"{label}-{n}"
            renamed[k] = label
        defs[label] = (_inline(text, set(), line, report, definition=True), line)
        def_order.append(label)
    report.counts["notes_found"] = len(defs)

    # 3. References in the text.
    referenced: set[str] = set()
    paras = _mark_headings([item for kind, item in items if kind == "para"], metadata, report)
    items = [(kind, item) for kind, item in items if kind == "note" or item in paras]
    # A "Notes" heading over nothing but note definitions goes with them.
    for k, (kind, item) in enumerate(items):
        if kind == "para" and item.heading:
            following = []
            for knd, it in items[k + 1:]:
                if knd == "para" and it.heading:
                    break
                following.append(knd)
            if following and set(following) == {"note"}:
                paras.remove(item)
                report.counts["notes_headings_removed"] += 1
                report.counts["headings"] -= 1
    items = [(kind, item) for kind, item in items if kind == "note" or item in paras]
    for p in paras:
        p.text = _inline(p.text, set(defs), p.line, report, referenced=referenced)
    report.counts["notes_anchored"] = len(referenced & set(defs))

    # 4. Notes whose reference the source lost: placed by guess, and said so.
    guessed: set[str] = set()
    for k, (kind, item) in enumerate(items):
        if kind != "note":
            continue
        label = renamed.get(k, item[0])
        if label in referenced:
            continue
        before = [it for knd, it in items[:k] if knd == "para" and not it.heading]
        if not any(knd == "para" for knd, _ in items[k + 1:]):
            # Endnotes: the definition's place says nothing; the note's number does.
            before = _after_previous_note(before, label, referenced)
        para = _place_guess(before, label)
        if para is not None:
            guessed.add(label)
            referenced.add(label)
            report.doubt(item[2], f"note [^{label}] has no marker in the text; its reference was placed by "
                                  f"guess at the end of a sentence near line {para.line} — check it")
    report.counts["notes_guessed"] = len(guessed)

    # 5. Paragraphs cut mid-sentence: re-join when the continuation follows; report the rest.
    paras = _join_fragments(paras, report)
    _spliced_sentences(paras, report)

    out = [("## " + p.text) if p.heading else _escape_block_start(p.text) for p in paras]
    unplaced = [l for l in def_order if l not in referenced]
    placed_defs = [l for l in def_order if l in referenced]
    placed_defs.sort(key=_label_key)
    out += [f"[^{l}]: {defs[l][0]}" for l in placed_defs]
    for l in unplaced:  # kept, visibly, under the comment the witness merge also understands
        out.append(f"<!-- anthology: unplaced note '{l}' at line {defs[l][1]}, which has no place in the text -->")
        out.append(defs[l][0])
        report.counts["notes_unplaced"] += 1
        report.doubt(defs[l][1], f"note {l} could not be anchored: its text is kept under an 'unplaced' comment")
    report.counts["paragraphs"] = len(paras)
    return "\n\n".join(out) + "\n", guessed


def _escape_block_start(text: str) -> str:
    """Keep a paragraph a paragraph: `1917. The year…` is no list, `# 5` no heading."""
    m = re.match(r"(\d+)([.)])(\s)", text)
    if m:
        return f"{m.group(1)}\\{m.group(2)}{text[m.end(2):]}"
    if re.match(r"[#>+-]\s|#|>|\*\s", text):
        return "\\" + text
    return text


def _label_key(label: str):
    head = label.split("-")[0]
    return (int(head) if head.isdigit() else 10 ** 9, label)


def _inline(text: str, labels: set[str], line: int, report: ImportReport, *, definition: bool = False,
            referenced: set[str] | None = None) -> str:
    """Note markers → `[^n]`, LaTeX-like italics → `*x*`."""

    def math(m: re.Match) -> str:
        inner = m.group(1)
        label = math_note_label(inner)
        if label is not None:
            if label in labels:
                referenced.add(label)
                report.counts["latex_markers"] += 1
                return f"[^{label}]"
            report.doubt(line, f"marker {m.group(0)!r} names note {label}, which is not defined; left as it is")
            return m.group(0)
        md = math_text(inner)
        if md is not None:
            report.counts["latex_italics"] += 1
            return md
        if inner.lstrip().startswith(("\\", "^")):
            report.doubt(line, f"LaTeX-like text {m.group(0)!r} not understood; left as it is")
        return m.group(0)

    def sup(m: re.Match) -> str:
        label = superscript_label(m.group(1))
        if label in labels:
            referenced.add(label)
            report.counts["superscript_markers"] += 1
            return f"[^{label}]"
        report.doubt(line, f"superscript {m.group(1)} names no defined note; left as it is")
        return m.group(0)

    def bracket(m: re.Match) -> str:
        if m.group(1) in labels:
            referenced.add(m.group(1))
            report.counts["bracket_markers"] += 1
            return f"[^{m.group(1)}]"
        return m.group(0)

    text = _MATH.sub(math, text)
    if not definition:
        text = _SUP_REF.sub(sup, text)
        text = _BRACKET_REF.sub(bracket, text)
        # A marker written with a space before it belongs to the word before.
        text = re.sub(r"(?<=\S) (\[\^[^\]\s]+\])", r"\1", text)
    return text


def _after_previous_note(paras: list[_Para], label: str, referenced: set[str]) -> list[_Para]:
    """The paragraphs up to the first sentence end after the reference of note n-1 (or n-2…)."""
    if not label.isdigit():
        return paras
    for lower in range(int(label) - 1, 0, -1):
        if str(lower) not in referenced:
            continue
        for k, p in enumerate(paras):
            at = p.text.find(f"[^{lower}]")
            if at < 0:
                continue
            end = _SENTENCE_END.search(p.text, at + len(f"[^{lower}]"))
            if end:  # a trimmed copy of the paragraph, so the guess lands right after that sentence
                return paras[:k] + [_Cut(p, end.end())]
            return paras[:k + 2]
    return paras[:1]


class _Cut:
    """A view of a paragraph's first `n` characters for `_place_guess` (writes through)."""

    heading = False

    def __init__(self, para: _Para, n: int):
        self.para, self.n, self.line = para, n, para.line

    @property
    def text(self) -> str:
        return self.para.text[:self.n]

    @text.setter
    def text(self, value: str) -> None:
        self.para.text = value + self.para.text[self.n:]


def _place_guess(before: list, label: str):
    """Put `[^label]` at the last sentence end before the note's definition; the paragraph, or None."""
    for p in reversed(before):
        if p.heading:
            continue
        ends = list(_SENTENCE_END.finditer(p.text))
        if ends:
            at = ends[-1].end()
            while p.text[at:].startswith("[^"):  # after any reference already there
                at = p.text.index("]", at) + 1
            p.text = p.text[:at] + f"[^{label}]{GUESSED}" + p.text[at:]
            return p
    return None


def _join_fragments(paras: list[_Para], report: ImportReport) -> list[_Para]:
    """Join a paragraph cut mid-sentence to its continuation when that comes next.

    A join is refused when it would leave a quotation unbalanced, or when the
    next paragraph's first word completes a word broken at the end of another
    fragment (`Rus-` … `sian industry`): then the fragments are out of order,
    and that is reported rather than guessed.
    """
    opens = [p for p in paras if not ends_sentence(p.text)]
    broken = {_core(p.text).split()[-1][:-1].lower() for p in opens
              if _core(p.text).endswith("-") and _core(p.text).split()}
    decided: list[tuple[str, _Para, _Para | None, str, str, str]] = []
    out: list[_Para] = []
    def closed(p: _Para) -> bool:
        return p.heading or ends_sentence(p.text)

    for p in paras:
        prev = out[-1] if out else None
        tail = _tail(prev.text) if prev else ""
        if prev is not None and not closed(prev) and not p.heading and starts_mid_sentence(p.text):
            why = _join_refusal(prev.text, p.text, broken)
            if why is None:
                decided.append(("joined", prev, p, "", tail, _head(p.text)))
                prev.text = _join(prev.text, p.text)
                prev.last_line = p.last_line
                report.counts["paragraphs_joined"] += 1
                continue
            decided.append(("refused", prev, p, why, tail, _head(p.text)))
        elif prev is not None and not closed(prev):
            decided.append(("open", prev, p, "", tail, _head(p.text)))
        elif starts_mid_sentence(p.text):
            decided.append(("orphan", prev, p, "", tail, _head(p.text)))
        out.append(p)
    if out and not closed(out[-1]):
        decided.append(("open", out[-1], None, "", _tail(out[-1].text), ""))

    damaged = any(d[0] != "joined" for d in decided)
    for kind, a, b, why, tail, head in decided:
        if kind == "joined":
            if damaged:
                report.doubt(b.line, f"joined to the paragraph before it (line {a.line}) as the rest of a "
                                     f"sentence cut at a page break ('…{tail}' + '{head}…'); other fragments "
                                     "of this source are out of order, so check this join")
        elif kind == "refused":
            report.counts["fragments_out_of_order"] += 1
            report.doubt(a.last_line, f"paragraph ends mid-sentence ('…{tail}') and the next one "
                                      f"(line {b.line}, '{head}…') cannot continue it ({why}); "
                                      "fragments are out of order here")
        elif kind == "open":
            report.counts["fragments_out_of_order"] += 1
            where = f"the next paragraph (line {b.line}) starts a new sentence" if b else "the text ends"
            report.doubt(a.last_line, f"paragraph ends mid-sentence ('…{tail}') but {where}: its "
                                      "continuation is elsewhere; fragments are out of order here")
        elif kind == "orphan":
            report.counts["fragments_out_of_order"] += 1
            report.doubt(b.line, f"paragraph starts mid-sentence ('{head}…') after a finished sentence: "
                                 "its beginning is elsewhere; fragments are out of order here")
    return out


def _join_refusal(left: str, right: str, broken: set[str]) -> str | None:
    lb, rb = _quote_balance(_FOOTREF.sub("", left)), _quote_balance(right)
    if (lb == 0) != (rb == 0):
        return "a quotation would be left open"
    core = _core(left)
    first = _first_word(right)
    if core.endswith("-"):
        if not right[:1].isalpha():
            return "a word broken at the end cannot go on with punctuation"
    elif first and first.lower() not in broken and any(
            _known(stem + first) >= _KNOWN and _known(stem + first) > _known(first) for stem in broken):
        return f"its first word '{first}' completes a word broken at the end of another fragment"
    return None


def _join(left: str, right: str) -> str:
    left = left.rstrip()
    if _core(left).endswith("-") and left.endswith("-"):
        words = left.rsplit(None, 1)
        m = re.match(r"([A-Za-z]+)(.*)", right, re.S)
        if m:
            word, _ = join_hyphenated(words[-1][:-1], m.group(1))
            return (words[0] + " " if len(words) > 1 else "") + word + m.group(2)
    return left + " " + right.lstrip()


def _tail(text: str, n: int = 5) -> str:
    return " ".join(_FOOTREF.sub("", text).replace(GUESSED, "").split()[-n:])


def _head(text: str, n: int = 5) -> str:
    return " ".join(text.split()[:n])


def _spliced_sentences(paras: list[_Para], report: ImportReport) -> None:
    """Report a sentence that restarts mid-line (`… With They maintained …`).

    A very common word written with a capital right after a lower-case word, with
    no punctuation between and a lower-case word after, is the start of a sentence
    from another fragment glued into this one.
    """
    for p in paras:
        if p.heading:
            continue
        for m in re.finditer(r"\b([A-Za-z]+) ([A-Z][a-z]+) ([a-z]+)\b", p.text):
            word = m.group(2)
            if _known(word) < 6.0 or _known(m.group(1)) < 3.0:
                continue
            report.counts["spliced_sentences"] += 1
            report.doubt(p.line, f"a sentence seems to restart mid-line ('{m.group(0)}'): text from another "
                                 "fragment may have been glued in here")
