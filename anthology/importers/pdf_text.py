"""Text extracted from a PDF: hard-wrapped, hyphenated, paged, with page-bottom notes.

What such a file looks like, and what `convert` does about it:

* pages end at a form feed, a run of two or more blank lines, or a line that
  starts with a single space (a page start some extractors mark that way, when
  such lines are rare enough not to be paragraph indents);
* paragraphs are separated by a blank line, or, in texts without blank lines,
  by a first line indented deeper than the next or by a short line ending a
  sentence → each paragraph becomes one line of Markdown;
* words broken with a hyphen at line ends → joined or kept by
  `words.join_hyphenated` (the document's own usage first, then wordfreq; soft
  hyphens and `¬` always join); every word the dictionary does not know is
  reported;
* a paragraph cut by a page break, even with the page's notes in between, is
  re-joined when the cut is mid-sentence;
* folios (a page number alone on a line at a page's edge) and running heads
  (a line repeated at the same edge of several pages, page numbers aside) →
  removed and counted;
* notes printed at the bottom of each page (or in a final notes section),
  their markers garbled by OCR → Pandoc footnotes `[^n]`, defined at the end
  of the body with 4-space continuation lines; `pdf_notes` finds, places and
  numbers them. A second series (parenthesised markers among bare ones, a
  note marked `O`) is labelled `s1`, `s2`…; a reference whose marker was lost
  goes to the best-matching sentence end of its page, followed by `GUESSED`;
  the labels of such notes are also in `result.guessed_notes`;
* OCR slips in notes (`1bid.`) → repaired when only the repaired word is known
  to wordfreq, each one reported; the body's words are never changed;
* a title block at the top (title, subtitle, author, date on short lines of
  their own) → metadata `title`, `subtitle`, `author`, `date`; an editorial
  note at the very top ("Note from …", "Editor's note", "Transcriber's note"
  and the paragraphs under it, up to the first heading) → metadata
  `source-note`, as the wiki importer does with a wiki's own lead;
* `[bracketed]` one-line titles, and short one-line title-like blocks →
  headings (`##` for the first numbering style met — `1.`, `A.`, `II.` —
  `###` for the second…);
* quotations set apart → `> ` block quotes, when recognisable: indented
  blocks, or a paragraph right after one ending with a colon that is itself one
  quotation (opens and closes with quotes), is set narrower, or ends on an
  unmatched closing quote or a note reference;
* ligatures (`ﬁ`) → letters; characters Markdown would read as markup → escaped.

The author's words are never rewritten: only extraction damage is undone, and
every guess is reported as a doubt with its source line. Text that cannot be
placed is kept at the end of the body under `<!-- anthology: unplaced … -->`.
"""
from __future__ import annotations

import re
import statistics
import textwrap
from collections import Counter

from . import pdf_markers as pm
from . import pdf_notes as pn
from .base import ImportedText, Importer, ImportReport, register
from .pdf_detect import detect
from .pdf_notes import PH_CLOSE, PH_GUESS, PH_OPEN, Cand, Line, Note
from .words import is_word, join_hyphenated, normalise
from .pdf_lines import (
    _NUMBERING, _PLACEHOLDER, Para, _context, _continues, _ends_with_colon, _head_key, _is_name, _numbering,
    _quotation, _split_block, escape, split_pages,
)

# Written after a reference whose place was guessed (same convention as the plain importer):
# invisible in the book; the witness merge moves such references where another witness has them.
GUESSED = "<!-- anthology: guessed note position -->"

COUNTS = ("lines_joined", "hyphens_removed", "hyphens_kept", "folios_removed", "running_heads_removed",
          "notes_found", "notes_anchored", "markers_guessed", "headings", "block_quotes", "ocr_repairs")

# A folio: a page number alone on its line, maybe dashed ("- 12 -", "Page 12"); lower-case roman
# numerals count too (front matter), capital ones are more often a section's number.
_FOLIO = re.compile(r"^(?:[Pp]age\s+)?[-–—]?\s*(?:\d{1,4}|(?P<roman>[ivxlc]{1,6}))\s*[-–—]?$")
_DATE = re.compile(r"^(?:[A-Z][a-z]+\.?\s+)?(?:\d{1,2},?\s+)?(?:1[5-9]\d\d|20\d\d)$")
_SOURCE_NOTE = re.compile(
    r"^(?:(?:editor|editorial|transcriber|publisher|translator|archive)(?:[’']s)?\s+)?notes?\b", re.I)
_WORD_TOKEN = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")
_LEFT_WORD = re.compile(r"([^\W\d_][^\W\d_’'-]*)-$")
_RIGHT_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
# Typographic ligatures some extractions keep (ﬁ, ﬂ…): letters, not the author's words.
LIGATURES = str.maketrans({"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
                           "\ufb05": "st", "\ufb06": "st"})


@register
class PdfTextImporter(Importer):
    name = "pdf-text"
    description = "Text extracted from a PDF: hard-wrapped, hyphenated, page-bottom notes"

    @classmethod
    def detect(cls, text: str) -> tuple[float, str]:
        return detect(text)

    def convert(self, text: str, source_name: str) -> ImportedText:
        return Conversion(text, ImportReport(source_name, self.name)).run()


# --- conversion ---------------------------------------------------------------------------------

class Conversion:
    def __init__(self, text: str, report: ImportReport):
        self.text = text.replace("\r\n", "\n").replace("\r", "\n").translate(LIGATURES)
        self.report = report
        for key in COUNTS:
            report.counts[key] = 0
        self.metadata: dict = {}
        self.forms = Counter(normalise(m.group()) for m in _WORD_TOKEN.finditer(self.text))
        self.unplaced: list[tuple[str, str]] = []
        self.notes_follow: list[bool] = []  # per page: the body is followed by notes

    # The pipeline ------------------------------------------------------------------------------

    def run(self) -> ImportedText:
        pages = split_pages(self.text)
        lengths = [len(l.text) for page in pages for b in page for l in b[:-1]]
        self.width = float(statistics.median(lengths)) if lengths else 80.0
        indents = [l.indent for page in pages for b in page for l in b]
        self.base_indent = statistics.median(indents) if indents else 0
        self.split_blocks(pages)
        if pages:
            self.front_matter(pages[0])
        self.remove_folios_and_heads(pages)
        bodies, notes = self.take_notes(pages)
        paras = self.paragraphs(bodies)
        self.place_notes(notes, paras)
        pn.number_notes(notes)
        self.apply_anchors(notes)
        paras = self.join_pages(paras)
        # a heading left last, over notes that became footnotes ("Notes"): nothing is under it now
        while paras and paras[-1].kind == "heading" and self.notes_follow[paras[-1].page]:
            head = paras.pop()
            self.report.counts["headings"] -= 1
            self.report.doubt(head.lines[0].no, f"heading '{head.heading}' at the end, with no text after "
                                                "it (its notes are now footnotes), removed")
        self.block_quotes(paras)
        body = self.render(paras, notes)
        result = ImportedText(self.metadata, body, self.report)
        result.guessed_notes = {n.label for n in notes if n.anchor is not None and n.guessed}
        return result

    # Paragraphs not separated by blank lines -------------------------------------------------------

    def split_blocks(self, pages: list[list[list[Line]]]) -> None:
        """Cut blocks where a paragraph starts without a blank line before it: a first line
        indented deeper than its neighbours, a run of indented lines (a quotation), or, in a
        text that separates paragraphs with no blank lines at all, a short line ending a sentence."""
        sizes = [len(b) for page in pages for b in page if len(b) >= 2]
        no_blank_lines = bool(sizes) and statistics.median(sizes) > 12
        for page in pages:
            out: list[list[Line]] = []
            for block in page:
                out += _split_block(block, self.width, no_blank_lines)
            page[:] = out

    # Title block and editorial note ---------------------------------------------------------------

    def front_matter(self, page: list[list[Line]]) -> None:
        for _ in range(2):
            used = self.source_note(page) or self.title_block(page)
            if not used:
                break
            del page[:used]

    def source_note(self, page: list[list[Line]]) -> int:
        if "source-note" in self.metadata or len(page) < 2 or len(page[0]) != 1:
            return 0
        head = page[0][0].text
        if len(head) > 60 or not _SOURCE_NOTE.match(head) or head.endswith("."):
            return 0
        upto = next((i for i in range(1, min(len(page), 5)) if self.heading_of(page[i], i, page)), None)
        if upto is None or upto < 2:
            upto = 2
        paras = [self.join_lines(b) for b in page[1:upto]]
        self.metadata["source-note"] = head.rstrip(":") + ": " + " ".join(self.clean(p) for p in paras)
        self.report.doubt(page[0][0].no, f"editorial note at the top ('{head}') moved to the metadata "
                                         "as source-note")
        return upto

    def title_block(self, page: list[list[Line]]) -> int:
        if "title" in self.metadata:
            return 0
        lead: list[Line] = []
        for block in page:
            t = block[0].text
            if len(block) != 1 or len(t) > 0.75 * self.width or t.endswith((".", ":", ";", ",")) \
                    or t.startswith("["):
                break
            lead.append(block[0])
        if len(lead) < 2 or len(lead) >= len(page):
            return 0
        dates = [l for l in lead[1:] if _DATE.match(l.text)]
        names = [l for l in lead[1:] if l not in dates and _is_name(l.text)]
        author = names[-1] if names else None
        if not (dates or author):
            return 0
        self.metadata["title"] = lead[0].text
        rest = [l.text for l in lead[1:] if l is not author and l not in dates]
        if rest:
            self.metadata["subtitle"] = " ".join(rest)
        if author:
            self.metadata["author"] = re.sub(r"^by\s+", "", author.text, flags=re.I)
        if dates:
            self.metadata["date"] = dates[0].text
        return len(lead)

    # Folios and running heads --------------------------------------------------------------------

    def remove_folios_and_heads(self, pages: list[list[list[Line]]]) -> None:
        def edges(i, page):
            out = []
            if page and (i > 0):
                out.append((page, 0, 0))
            if page:
                out.append((page, len(page) - 1, len(page[-1]) - 1))
            return out

        def head_like(t: str) -> bool:
            # short, has letters, and is no citation ("Ibid., p. 12" recurs at page bottoms as notes)
            return len(t) <= 0.8 * self.width and bool(re.search(r"[^\W\d_]", t)) \
                and not pn.CITATION.search(t)

        for _ in range(2):
            keys: dict[tuple[bool, str], set[int]] = {}
            for i, page in enumerate(pages):
                for pg, b, l in edges(i, page):
                    t = pg[b][l].text
                    if head_like(t):
                        keys.setdefault((b == 0 and l == 0, _head_key(t)), set()).add(i)
            # a running head recurs at the same edge of pages, on a fair share of them
            heads = {k for k, where in keys.items() if len(where) >= max(2, 0.15 * len(pages))}
            folio_pages = {i for i, page in enumerate(pages) for pg, b, l in edges(i, page)
                           if _FOLIO.match(pg[b][l].text)}
            removed = False
            for i, page in enumerate(pages):
                for pg, b, l in sorted(edges(i, page), key=lambda e: (e[1], e[2]), reverse=True):
                    if b >= len(pg) or l >= len(pg[b]):
                        continue
                    t = pg[b][l].text
                    folio = _FOLIO.match(t)
                    if folio and len(pages) > 1 and (len(folio_pages) >= 2 or not folio.group("roman")):
                        self.report.counts["folios_removed"] += 1
                    elif head_like(t) and (b == 0 and l == 0, _head_key(t)) in heads:
                        self.report.counts["running_heads_removed"] += 1
                    else:
                        continue
                    del pg[b][l]
                    if not pg[b]:
                        del pg[b]
                    removed = True
            if not removed:
                break

    # Notes ---------------------------------------------------------------------------------------

    def take_notes(self, pages):
        """Split every page into body blocks and notes."""
        regions, bodies = [], []
        expected = 1
        pages = pn.split_after_inner_notes(pages, self.width)
        for i, page in enumerate(pages):
            self.report.counts["note_rules_removed"] += pn.drop_rule(page, expected)
            pn.split_glued(page, self.width, expected)
            start = pn.find_note_region(page, self.width, expected)
            regions.append(page[start:])
            bodies.append(page[:start])
            self.notes_follow.append(start < len(page))
            for block in page[start:]:
                expected += sum(1 for l in block if pn.note_start(l.text, expected)[1])
        note_lines = sorted(len(l.text) for r in regions for b in r for l in b)
        note_width = max(self.width, note_lines[int(0.95 * (len(note_lines) - 1))]) if note_lines else self.width
        notes: list[Note] = []
        for i, region in enumerate(regions):
            orphans: list[Line] = []
            page_notes = pn.split_notes(region, i, note_width, len(notes) + 1, orphans)
            if orphans and notes:  # the end of a note begun at the bottom of the page before
                notes[-1].lines += orphans
                self.report.doubt(orphans[0].no, f"text above the first note of a page taken as the end of "
                                                 f"the note at line {notes[-1].line_no}, continued from the page before")
            elif orphans:
                self.unplaced.append((f"text among the notes at line {orphans[0].no}",
                                      self.join_lines(orphans)))
                self.report.doubt(orphans[0].no, "text at the bottom of a page, before its first note, "
                                                 "could not be placed: kept under an 'unplaced' comment")
            notes += page_notes
        self.report.counts["notes_found"] = len(notes)
        return bodies, notes

    def place_notes(self, notes: list[Note], paras: list[Para]) -> None:
        """Anchor each page's notes in that page's text; notes on a page with no text of its
        own (endnotes, or a page of notes only) go to markers left over on earlier pages."""
        by_page: dict[int, list[Note]] = {}
        for n in notes:
            by_page.setdefault(n.page, []).append(n)
        page_cands: dict[int, list[Cand]] = {}
        for p in paras:
            if p.kind != "heading":
                page_cands.setdefault(p.page, []).extend(pm.scan_block(p.lines))
        used: set[int] = set()
        for page in sorted(by_page):
            page_notes = by_page[page]
            cands = page_cands.get(page, [])
            if not cands:
                cands = [c for q in sorted(page_cands) if q < page for c in page_cands[q]
                         if c.kind == "marker" and c.strength >= 2.0 and id(c) not in used]
            if not cands:
                before = [p for p in paras if p.page < page and p.kind != "heading"]
                if before:
                    last = before[-1].lines[-1]
                    cands = [Cand(last, len(last.text), len(last.text), "end", para_end=True)]
            pm.match_page(page_notes, cands)
            used |= {id(n.anchor) for n in page_notes if n.anchor is not None}
            self.report.counts["notes_anchored"] += sum(n.anchor is not None for n in page_notes)
        for page in sorted(page_cands):
            for c in page_cands[page]:
                if c.kind == "marker" and c.strength >= 3.0 and id(c) not in used:
                    self.report.doubt(c.line.no, f"{c.text!r} after '{_context(c)}' looks like a note marker, "
                                                 "but no note is left for it: kept as text")

    def apply_anchors(self, notes: list[Note]) -> None:
        for n in notes:
            c = n.anchor
            if c is None:
                self.unplaced.append((f"note {n.raw!r} at line {n.line_no}, which has no place in the text",
                                      self.note_text(n)))
                self.report.doubt(n.line_no, f"note {n.raw!r} could not be anchored in the text: kept under "
                                             "an 'unplaced' comment")
                continue
            ph = PH_OPEN + n.label + PH_CLOSE + (PH_GUESS if n.guessed else "")
            seq = len(c.line.edits)
            if c.kind == "marker" and c.remove:
                c.line.edits.append((c.start, c.end, ph, seq))
            else:
                c.line.edits.append((c.end, c.end, ph, seq))
            exact = c.kind == "marker" and c.digits == n.label
            if not exact:
                self.report.counts["markers_guessed"] += 1
            where = f"'{_context(c)}'"
            if n.series != 1:
                series = " (a second series: its marker style differs from the numbered notes)"
            else:
                series = ""
            if c.kind == "end":
                self.report.doubt(c.line.no, f"note [^{n.label}] (printed with marker {n.raw!r} at line "
                                             f"{n.line_no}) has no marker in the text; its reference was put "
                                             f"by guess after {where}{series}")
            elif not c.remove or c.strength < 1:
                self.report.doubt(c.line.no, f"note [^{n.label}] (marker {n.raw!r} at line {n.line_no}) "
                                             f"anchored by guess after {where}, keeping {c.text!r} as text"
                                             f"{series}")
            elif not exact or n.raw.translate(pn.SUP_DIGITS).strip("()[].") != n.label:
                self.report.doubt(c.line.no, f"garbled marker {c.text!r} in the text and {n.raw!r} before "
                                             f"the note (line {n.line_no}) read as note [^{n.label}]{series}")

    def note_text(self, n: Note) -> str:
        text = self.join_lines(n.lines)
        text, fixes = pn.repair_ocr(text)
        for old, new in fixes:
            self.report.counts["ocr_repairs"] += 1
            self.report.repairs.append(f"line {n.line_no}: OCR slip {old!r} → {new!r} in a note")
            self.report.doubt(n.line_no, f"OCR slip {old!r} read as {new!r} in note {n.label or n.raw!r}")
        return text

    # Paragraphs ----------------------------------------------------------------------------------

    def paragraphs(self, bodies) -> list[Para]:
        paras: list[Para] = []
        styles: list[str] = []
        for i, blocks in enumerate(bodies):
            for j, block in enumerate(blocks):
                h = self.heading_of(block, j, blocks, notes_after=self.notes_follow[i])
                if h:
                    style, text = h
                    if style not in styles:
                        styles.append(style)
                    paras.append(Para(block, i, "heading", style, text))
                    self.report.counts["headings"] += 1
                else:
                    paras.append(Para(block, i))
        numbered = [s for s in styles if s != "none"]
        self.levels = {s: 2 + numbered.index(s) for s in numbered}
        self.levels["none"] = 2
        return paras

    def heading_of(self, block: list[Line], j: int, blocks: list[list[Line]], notes_after: bool = False):
        if len(block) != 1:
            return None
        t = block[0].text
        m = re.fullmatch(r"\[([^\[\]]+)\]", t)
        if m:
            inner = m.group(1).strip()
            if len(inner) > 100 or ":" in inner[:6] or inner.endswith((",", ";", ":")) \
                    or not (inner[:1].isupper() or inner[:1].isdigit()):
                return None
            return _numbering(inner), inner
        if len(t) > min(70, 0.75 * self.width) or t.endswith((".", ",", ";", ":", "!", "?", "”", "’", '"', "-")):
            return None
        if not (t[:1].isupper() or t[:1].isdigit()) or not re.search(r"[^\W\d_]{2}", t) or len(t.split()) > 10:
            return None
        last = j + 1 >= len(blocks)
        if _FOLIO.match(t) or (last and not notes_after) or pn.NOTE_START.match(t) and not _NUMBERING.match(t):
            return None
        if j > 0 and not re.search(r"[.!?:”’\"')\]]$", blocks[j - 1][-1].text):
            return None
        if not last and len(blocks[j + 1]) < 2 and len(blocks[j + 1][0].text) < 0.75 * self.width:
            return None
        return _numbering(t), t

    def join_pages(self, paras: list[Para]) -> list[Para]:
        """Re-join paragraphs cut by a page break (and by the notes printed under it)."""
        out: list[Para] = []
        for p in paras:
            prev = out[-1] if out else None
            # paragraphs come in page order, so a page change means `p` opens its page
            if prev is not None and p.page != prev.page and prev.kind == "para" and p.kind == "para" \
                    and _continues(prev.lines[-1].rendered(), p.lines[0].text):
                prev.lines += p.lines
                continue
            out.append(p)
        return out

    def block_quotes(self, paras: list[Para]) -> None:
        for prev, p in zip(paras, paras[1:]):
            if p.kind != "para":
                continue
            indented = self.base_indent < 2 and len(p.lines) >= 2 and all(l.indent >= 2 for l in p.lines)
            if indented or (prev.kind in ("para", "quote") and _ends_with_colon(prev) and _quotation(p, self.width)):
                p.kind = "quote"
                self.report.counts["block_quotes"] += 1

    # Rendering -----------------------------------------------------------------------------------

    def render(self, paras: list[Para], notes: list[Note]) -> str:
        out = []
        for p in paras:
            if p.kind == "heading":
                level = self.levels.get(p.style, 2)
                text = self.clean(self.placeholders(escape(p.heading, block_start=False)))
                out.append("#" * level + " " + text)
                continue
            text = self.placeholders(escape(self.join_lines(p.lines)))
            out.append(("> " if p.kind == "quote" else "") + self.clean(text))
        for what, text in self.unplaced:
            out.append(f"<!-- anthology: unplaced {what} -->")
            out.append(self.clean(self.placeholders(escape(text))))
        for n in notes:
            if n.anchor is None:
                continue
            body = self.clean(self.placeholders(escape(self.note_text(n), block_start=False)))
            out.append(textwrap.fill(f"[^{n.label}]: {body}", width=78, subsequent_indent="    ",
                                     break_long_words=False, break_on_hyphens=False))
        return "\n\n".join(out) + "\n"

    @staticmethod
    def placeholders(text: str) -> str:
        return _PLACEHOLDER.sub(lambda m: f"[^{m.group(1)}]" + (GUESSED if m.group(2) else ""), text)

    @staticmethod
    def clean(text: str) -> str:
        return re.sub(r"[ \t]+", " ", text).strip()

    def join_lines(self, lines: list[Line]) -> str:
        """One paragraph from its lines, undoing the line-end hyphens."""
        text = lines[0].rendered()
        for line in lines[1:]:
            nxt = line.rendered()
            self.report.counts["lines_joined"] += 1
            text = self.join_two(text.rstrip(), nxt.lstrip(), line.no)
        return text

    def join_two(self, a: str, b: str, line_no: int) -> str:
        if a.endswith(("\u00ad", "¬")):  # soft hyphen, or the OCR sign for one
            self.report.counts["hyphens_removed"] += 1
            return a[:-1] + b
        if re.search(r"\d-$", a) and b[:1].isdigit():
            return a + b
        left = _LEFT_WORD.search(a)
        right = _RIGHT_WORD.match(b)
        if not (left and right):
            return a + " " + b if a else b
        lw, rw = left.group(1), right.group()
        joined, kept = join_hyphenated(lw, rw, document_forms=self.forms)
        self.report.counts["hyphens_kept" if kept else "hyphens_removed"] += 1
        if not is_word(joined):
            what = "kept the hyphen" if kept else "joined"
            self.report.doubt(line_no - 1, f"line-end hyphen '{lw}-{rw}': {what} as '{joined}', which the "
                                           "dictionary does not know")
        return a[:left.start(1)] + joined + b[len(rw):]


# --- helpers ------------------------------------------------------------------------------------


# --- Markdown escaping --------------------------------------------------------------------------


