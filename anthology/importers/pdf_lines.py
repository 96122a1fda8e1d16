"""Lines of PDF text: pages split into blocks of lines, tests on a line or a paragraph
(folio, name, numbering, quotation, continuation), and the Markdown escaping of what they hold."""
from __future__ import annotations

import re
from dataclasses import dataclass

from .pdf_notes import PH_CLOSE, PH_GUESS, PH_OPEN, Cand, Line

_PARTICLES = {"de", "van", "von", "der", "den", "la", "le", "du", "da", "di", "del", "y", "and", "&"}
_NAME_WORD = re.compile(r"^(?:[A-Z][\w’'.-]*|[A-Z]\.)$")


_NUMBERING = re.compile(r"^(?:(?P<arabic>\d{1,3})|(?P<roman>[IVXLC]{2,7})|(?P<letter>[A-Z]))[.)]\s+\S")


_PLACEHOLDER = re.compile(f"{PH_OPEN}([^{PH_CLOSE}]*){PH_CLOSE}({PH_GUESS}?)")


@dataclass(eq=False)
class Para:
    lines: list[Line]
    page: int
    kind: str = "para"      # para, heading, quote
    style: str = ""         # numbering style of a heading
    heading: str = ""


def split_pages(text: str) -> list[list[list[Line]]]:
    """Pages of blocks of lines. A page break is a run of 2+ blank lines, a form feed, or
    (when such lines are rare, so not a paragraph indent) a line starting with one space."""
    raw = text.split("\n")
    nonblank = sum(1 for l in raw if l.strip())
    soft = {i for i, l in enumerate(raw) if i > 0 and re.match(r"^ \S", l)
            and not (i + 1 < len(raw) and raw[i + 1][:1] == " ")}
    if len(soft) > max(3, nonblank // 20):
        soft = set()
    pages: list[list[list[Line]]] = []
    page: list[list[Line]] = []
    block: list[Line] = []
    blanks, feed = 0, False

    def flush_block():
        nonlocal block
        if block:
            page.append(block)
            block = []

    def flush_page():
        nonlocal page
        flush_block()
        if page:
            pages.append(page)
            page = []

    for i, l in enumerate(raw):
        if "\f" in l:
            *ends, l = l.split("\f")
            for before in ends:  # text before a form feed ends the page it is on
                if before.strip():
                    if blanks == 1:
                        flush_block()
                    if feed:
                        flush_page()
                    block.append(Line(i + 1, before.strip(), len(before) - len(before.lstrip())))
                    blanks = 0
                feed = True
        if not l.strip():
            blanks += 1
            continue
        if blanks >= 2 or feed or i in soft:
            flush_page()
        elif blanks == 1:
            flush_block()
        blanks, feed = 0, False
        stripped = l.strip()
        indent = 0 if i in soft else len(l) - len(l.lstrip())
        block.append(Line(i + 1, stripped, indent))
    flush_page()
    return pages


def _split_block(block: list[Line], width: float, short_lines: bool) -> list[list[Line]]:
    if len(block) < 2:
        return [block]
    base = min(l.indent for l in block)
    deep = [l.indent >= base + 2 for l in block]
    cuts = set()
    if sum(deep) <= len(block) / 2:  # otherwise a hanging indent, or a block indented as a whole
        for i in range(1, len(block)):
            before = len(block[i - 1].text)
            if deep[i] and (not deep[i - 1] or before < 0.9 * width):
                cuts.add(i)  # a paragraph's first line, or a quotation, starts here
            elif deep[i - 1] and not deep[i] and before < 0.75 * width:
                cuts.add(i)  # an indented paragraph or quotation ended on the line before
    if short_lines:
        for i in range(len(block) - 1):
            t, nxt = block[i].text, block[i + 1].text
            if len(t) < 0.75 * width and re.search(r"[.!?:][”’\"')]*$", t) \
                    and (nxt[:1].isupper() or nxt[:1] in "“‘\""):
                cuts.add(i + 1)
    return _cut(block, cuts) if cuts else [block]


def _cut(block: list[Line], cuts: set[int]) -> list[list[Line]]:
    out, start = [], 0
    for c in sorted(cuts):
        out.append(block[start:c])
        start = c
    out.append(block[start:])
    return [b for b in out if b]


def _head_key(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"\d+", "#", text.lower())).strip()


def _is_name(text: str) -> bool:
    words = re.sub(r"^by\s+", "", text, flags=re.I).split()
    if not 2 <= len(words) <= 5 or any(c.isdigit() for c in text):
        return False
    caps = [w for w in words if w.lower() not in _PARTICLES]
    return len(caps) >= 2 and all(_NAME_WORD.match(w) for w in caps)


def _numbering(text: str) -> str:
    m = _NUMBERING.match(text)
    if not m:
        return "none"
    return next(k for k, v in m.groupdict().items() if v)


def _strip_refs(text: str) -> str:
    return _PLACEHOLDER.sub("", text).rstrip()


def _continues(prev: str, nxt: str) -> bool:
    """Does the paragraph ending with `prev` go on in the page starting with `nxt`?"""
    prev = _strip_refs(prev)
    if not prev or not nxt:
        return False
    if re.search(r"[^\W\d_]-$", prev) or nxt[0].islower() or nxt[0] in ",;:)]…":
        return True
    last = prev[-1]
    return last.isalnum() or last in ",;—–-(‘“"


def _ends_with_colon(p: Para) -> bool:
    return _strip_refs(p.lines[-1].rendered()).endswith(":")


def _quotation(p: Para, width: float) -> bool:
    """Is the paragraph after a colon a quotation set apart?"""
    first = p.lines[0].text
    last = p.lines[-1].rendered()
    bare = _strip_refs(last)
    if first[:1] in "“\"‘" and re.search(r"[”\"’][.,;:!?]?$", bare):
        return True
    if last.rstrip().endswith((PH_CLOSE, PH_GUESS)) or (bare.endswith(("”", '"')) and "“" not in " ".join(l.text for l in p.lines)):
        return first[:1] not in "“\"" and len(p.lines) >= 2
    body = [len(l.text) for l in p.lines[:-1]]
    return len(body) >= 2 and max(body) < 0.9 * width


def _context(c: Cand, n: int = 40) -> str:
    text = c.line.text[:c.end if c.kind == "marker" else c.start]
    return ("…" + text[-n:]) if len(text) > n else text


_INLINE = re.compile(r"([\\`*_$~^|])|(<(?=[A-Za-z/!?]))|(@(?=\w))|(\[(?=\^)|\[(?=[^\]]*\][(\[]))")


def escape(text: str, block_start: bool = True) -> str:
    """Make prose safe as Pandoc Markdown: no character of the source may become markup."""
    text = _INLINE.sub(lambda m: "\\" + m.group(0), text)
    if block_start:
        text = re.sub(r"^(#|>|[-+*:~%=]\s|[-+*=]$)", r"\\\1", text)
        text = re.sub(r"^(\(?)(\d+|[a-zA-Z]|[ivxlcdm]+)([.)]\s)", r"\1\2\\\3", text)
    return text
