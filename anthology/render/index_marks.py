"""The index's marks in the print edition: where each occurrence stands, without an element there.

A text's HTML wraps each indexed word in `<span class="ix" id="ix-…">` so that the EPUB and the
tagged PDF can link to it. In the press PDF those spans cost a third of the layout: each one cuts
its paragraph's text into more boxes for WeasyPrint to measure and break, and shifts the words
of justified lines a little. So the press PDF's pages are laid out without them (`unmark`), and
the page of each occurrence is read from the laid-out text instead (`mark_pages`): every mark
is remembered as a block (`data-b`, within its section) and the number of characters of that
block's text before it, not counting spaces or the text of notes; on the pages, the text of
each block is read in order, box by box, and matched to the block's own text, so that a mark
falls on the page that prints the character it stands before. A mark in a note falls on the
page the note is printed on (its call's, see `note_policy`). No link may point to a mark
(`anthology check` refuses one), so taking the spans out loses no link's target.

A test lays the same HTML out with its spans, and checks that the pages read this way are the
pages WeasyPrint gives their anchors.
"""
from __future__ import annotations

import html as entities
import logging
import re
from bisect import bisect_right
from dataclasses import dataclass

from .blocks import NOTE_CLASSES, is_note

log = logging.getLogger("anthology.render.pdf")

_TOKEN = re.compile(r"<!--.*?-->|<![^>]*>|<(/?)([a-zA-Z][\w-]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>", re.S)
_ATTRIBUTE = re.compile(r"""([\w-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
                   "track", "wbr"})
_RAW_TEXT = frozenset({"style", "script", "title"})
# Neither printed nor counted: spaces, soft hyphens, zero-width spaces and joiners.
_UNCOUNTED = re.compile(r"[\s\u00ad\u200b\u200c\u200d\u2060\ufeff]+")


@dataclass(frozen=True)
class Mark:
    anchor: str
    section: str | None   # the id of the section (a part) it stands in
    block: str | None     # the `data-b` of its block
    offset: int           # characters of the block's text before it, spaces and notes' text left out
    note: str | None      # the id of the note it stands in ("" for a note without one), if any

    @property
    def in_note(self) -> bool:
        return self.note is not None


@dataclass
class Unmarked:
    html: str                       # the document without the index's spans
    marks: list[Mark]
    texts: dict[tuple, str]         # (section, block) -> the block's text, as counted


def counted(text: str) -> str:
    return _UNCOUNTED.sub("", text)


def _attributes(raw: str) -> dict[str, str]:
    return {m.group(1).lower(): entities.unescape(m.group(2) if m.group(2) is not None else m.group(3))
            for m in _ATTRIBUTE.finditer(raw)}


class _Scan:
    """One pass over a document's tags and text, keeping the section, block and note it is in."""

    def __init__(self):
        self.stack: list[tuple] = []  # (tag, and what it changed: section, block, note_at, note, is_ix)
        self.section: str | None = None
        self.block: str | None = None
        self.note: str | None = None
        self.note_at = 0
        self.texts: dict[tuple, list[str]] = {}
        self.lengths: dict[tuple, int] = {}

    def text(self, raw: str) -> None:
        if self.note is not None:
            return
        text = counted(entities.unescape(raw))
        if text:
            key = (self.section, self.block)
            self.texts.setdefault(key, []).append(text)
            self.lengths[key] = self.lengths.get(key, 0) + len(text)

    def offset(self) -> int:
        return self.note_at if self.note is not None else self.lengths.get((self.section, self.block), 0)

    def open(self, tag: str, attributes: dict[str, str], is_ix: bool) -> None:
        self.stack.append((tag, self.section, self.block, self.note_at, self.note, is_ix))
        if attributes.get("id") and tag in ("section", "nav"):
            self.section = attributes["id"]
        if attributes.get("data-b") is not None and self.note is None:
            self.block = attributes["data-b"]
        if self.note is None and NOTE_CLASSES & set(attributes.get("class", "").split()):
            self.note_at, self.note = self.offset(), attributes.get("id", "")

    def close(self, tag: str) -> bool:
        """Close the innermost open `tag`; whether it was an index span."""
        for depth in range(len(self.stack) - 1, -1, -1):
            if self.stack[depth][0] == tag:
                _, self.section, self.block, self.note_at, self.note, is_ix = self.stack[depth]
                del self.stack[depth:]
                return is_ix
        return False


def unmark(document: str, strip: bool = True) -> Unmarked:
    """The index's marks of an HTML document, and the document without their spans (unless
    `strip` is false: the marks alone, as a test compares them with WeasyPrint's anchors).
    No link may point to a mark (`anthology check` refuses one, X001), so none is lost."""
    scan, marks, out, at = _Scan(), [], [], 0
    raw_until = None
    for m in _TOKEN.finditer(document):
        closing, tag, raw = m.group(1), (m.group(2) or "").lower(), m.group(3) or ""
        if raw_until is not None:  # the text of <style> or <title> is not the book's
            if closing and tag == raw_until:
                raw_until = None
                out.append(document[at:m.end()])
                at = m.end()
            continue
        scan.text(document[at:m.start()])
        stays = True
        if tag and not closing:
            attributes = _attributes(raw)
            is_ix = (tag == "span" and "ix" in attributes.get("class", "").split()  # as transforms/index.py
                     and "id" in attributes and "data-term" in attributes)          # marks a word
            if is_ix:
                marks.append(Mark(attributes["id"], scan.section, scan.block, scan.offset(), scan.note))
                stays = not strip
            if tag in _RAW_TEXT:
                raw_until = tag
            elif tag not in _VOID and not raw.rstrip().endswith("/"):
                scan.open(tag, attributes, is_ix)
        elif tag and closing:
            stays = not (scan.close(tag) and strip)
        out.append(document[at:m.start()])
        if stays:
            out.append(m.group(0))
        at = m.end()
    scan.text(document[at:])
    out.append(document[at:])
    texts = {key: "".join(parts) for key, parts in scan.texts.items()}
    return Unmarked("".join(out) if strip else document, marks, texts)


def mark_pages(document, unmarked: Unmarked) -> dict[str, int]:
    """The page (from 0) of each mark in a laid-out `document` (WeasyPrint's) of `unmarked.html`:
    a mark in a note takes the page the note is printed on."""
    from weasyprint.formatting_structure.boxes import FootnoteAreaBox

    if not unmarked.marks:
        return {}
    runs: dict[tuple, list[tuple[int, str]]] = {}
    notes: dict[str, int] = {}
    for number, page in enumerate(document.pages):
        flow, *others = page._page_box.children
        _read(flow, None, None, number, runs)
        for area in others:
            if isinstance(area, FootnoteAreaBox):
                for note in area.children:
                    notes.setdefault(note.element.get("id") or "", number)
    starts = {key: _starts(unmarked.texts.get(key, ""), found) for key, found in runs.items()}
    pages, last = {}, 0
    for mark in unmarked.marks:
        if mark.note and mark.note in notes:
            pages[mark.anchor] = last = notes[mark.note]
            continue
        at = mark.offset - 1 if mark.in_note and mark.offset else mark.offset
        offsets, numbers = starts.get((mark.section, mark.block), ((), ()))
        n = bisect_right(offsets, at) - 1
        if n < 0:
            log.debug("index: no page found for %s in block %s of %s", mark.anchor, mark.block, mark.section)
        last = numbers[n] if n >= 0 else last
        pages[mark.anchor] = last
    return pages


def _read(box, section, block, number: int, runs: dict) -> None:
    """Each text box of the flow, in order, under its (section, block); notes and generated
    content (note calls, markers, `::before`, `::after`) left out."""
    from weasyprint.formatting_structure.boxes import TextBox

    tag = box.element_tag or ""
    element = box.element
    if "::" in tag and not tag.endswith(("::first-letter", "::first-line")):
        return
    if element is not None and tag and "::" not in tag:
        if is_note(element):
            return
        if element.get("data-b") is not None:
            block = element.get("data-b")
        if element.get("id") and element.tag in ("section", "nav"):
            section = element.get("id")
    if isinstance(box, TextBox):
        text = counted(box.text)
        if text:
            runs.setdefault((section, block), []).append((number, text))
        return
    for child in getattr(box, "children", None) or ():
        _read(child, section, block, number, runs)


def _starts(text: str, found: list[tuple[int, str]]) -> tuple[list[int], list[int]]:
    """Where in the block's `text` each printed run begins, and its page: the runs matched to the
    text in order. A run may end with a hyphen the line break added, or be set in capitals."""
    offsets, numbers, at = [], [], 0
    folded = None  # the text in lower case, when that keeps its length (positions stay the same)
    for number, run in found:
        size = _matched(text, run, at)
        if size is None:
            if folded is None:
                folded = text.lower() if len(text.lower()) == len(text) else text
            low = run.lower()
            size = _matched(folded, low, at) if len(low) == len(run) else None
            if size is None:
                where = folded.find(low[:12], at, at + 200 + len(low)) if len(low) >= 4 else -1
                if where < 0:
                    log.debug("index: printed text %r not found in its block", run[:40])
                    continue
                at, size = where, len(run)
        offsets.append(at)
        numbers.append(number)
        at += size
    return offsets, numbers


def _matched(text: str, run: str, at: int) -> int | None:
    """How much of `text` from `at` the printed `run` covers: all of it, or all but a hyphen the
    line break added; None if it does not stand there."""
    if text.startswith(run, at):
        return len(run)
    if len(run) > 1 and text.startswith(run[:-1], at):
        return len(run) - 1
    return None
