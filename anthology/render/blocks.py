"""Stable addresses for the blocks of each part, shared by the PDF and the EPUB.

Every block element of a part's HTML fragment gets `data-b="N"`, numbered in
document order. The PDF renderer records, for each printed page, the block and
the character offset where the page begins; the EPUB renderer finds the same
block by its number and puts the page-break marker there.
"""
from __future__ import annotations

from dataclasses import dataclass
from html import escape

import lxml.html
from lxml import etree

BLOCK_TAGS = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "dt", "dd", "td", "th"}
NOTE_CLASSES = {"footnote", "noteref"}


@dataclass(frozen=True)
class PageStart:
    """Where a printed page begins: in which part, at which block, after how many characters."""
    page: int          # printed page number (1-based)
    section: str | None  # id of the top-level section: a part's id, or title-page, copyright, contents
    block: int | None  # data-b of the block, None for the part's start or a page without text
    offset: int        # characters of the block's own text before the page begins


def number_blocks(fragment: str) -> str:
    if not fragment.strip():
        return fragment
    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    for n, el in enumerate(e for e in root.iter() if isinstance(e.tag, str) and e.tag in BLOCK_TAGS):
        el.set("data-b", str(n))
    lead = escape(root.text) if root.text else ""
    return lead + "".join(etree.tostring(c, encoding="unicode", method="html") for c in root)


def number_book(book) -> None:
    for part in (p for p in book.parts if not p.reused):
        part.html = number_blocks(part.html)


def is_note(el) -> bool:
    return bool(NOTE_CLASSES & set((el.get("class") or "").split()))


def block_text(el) -> str:
    """The text of a block as read in the flow: notes' own text left out."""
    parts = [el.text or ""]
    for child in el:
        if isinstance(child.tag, str) and not is_note(child) and child.get("data-b") is None:
            parts.append(block_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def locate(block_el, line_text: str, after: int = 0) -> int:
    """Offset in the block's text where a printed line begins (its first occurrence after `after`)."""
    text = block_text(block_el)
    probe = line_text.strip()[:40]
    while probe:
        at = text.find(probe, after)
        if at < 0:
            at = text.find(probe)
        if at >= 0:
            return at
        probe = probe[:-5].rstrip()
    return 0
