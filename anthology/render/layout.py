"""Laying out print HTML with WeasyPrint: notes kept on the page of their call, where each page
begins (for the EPUB's page list), and the single pass over the whole book.

Used both in the build's process (the single pass) and in the layout workers (one chunk each).
"""
from __future__ import annotations

import logging

from . import blocks, index_marks
from . import html as pages
from . import note_policy, stream_memo

log = logging.getLogger("anthology.render.pdf")


def _walk(box):
    yield box
    for child in getattr(box, "children", None) or ():
        yield from _walk(child)


def misplaced_notes(document) -> list[str]:
    """Ids of footnotes that WeasyPrint set on a later page than their call: with `note_policy`,
    only a note too long to share any page with its call's line."""
    from weasyprint.formatting_structure.boxes import FootnoteAreaBox, InlineBox

    misplaced = []
    for page in document.pages:
        flow, *others = page._page_box.children
        area = next((c for c in others if isinstance(c, FootnoteAreaBox)), None)
        placed = {c.element.get("id") for c in area.children} if area else set()
        for box in _walk(flow):
            if isinstance(box, InlineBox) and "footnote" in (box.element.get("class") or "").split():
                note_id = box.element.get("id")
                if note_id not in placed and note_id not in misplaced:
                    misplaced.append(note_id)
    return misplaced


def anchor_pages(document, prefix: str = "ix-") -> dict[str, int]:
    """Printed page number of every anchor whose id starts with `prefix`."""
    return {anchor: number for number, page in enumerate(document.pages, 1)
            for anchor in page.anchors if anchor.startswith(prefix)}


def lay_out(document_html: str, render):
    """`render(html)` with notes kept on the page of their call (see `note_policy`); the
    document and the ids of any note that still stands on a later page than its call."""
    note_policy.keep_notes_with_calls()
    stream_memo.remember_large_streams()
    document = render(document_html)
    return document, misplaced_notes(document)


def warn_late_notes(book, late: list[str]) -> None:
    """P002 for each note printed on a later page than its call (ids `PART--fnN`)."""
    from ..messages import Diagnostic

    parts = {part.id: part for part in book.parts}
    for note_id in late:
        part_id, _, number = note_id.rpartition("--fn")
        part = parts.get(part_id)
        where, line, col = part.locate(f"[^{number}]", book.manifest.root) if part else (None, None, None)
        log.warning(Diagnostic("P002", f"note {number} of {part_id} is printed on the page after its call",
                               where, line, col).format())


def set_metadata(document, metadata: dict) -> None:
    """The PDF's document information (see pdf.pdf_metadata)."""
    for name, value in metadata.items():
        setattr(document.metadata, name, value)


def render_document(book, stylesheet, fonts, fetcher, css: str, unmark: bool = False):
    """The whole book in one WeasyPrint document (the reference the chunked layout must equal).

    The index stands last, so once the rest is laid out its page numbers are known: only the
    index is laid out again, as its own document numbered from the page where it begins. With
    `unmark`, the index's spans are taken out and its pages read from the text (index_marks.py).
    """
    from weasyprint import HTML

    def render(document_html: str, extra_css: str = ""):
        return HTML(string=document_html.replace("</style>", extra_css + "</style>", 1),
                    base_url=str(book.manifest.root) + "/", url_fetcher=fetcher
                    ).render(stylesheets=[stylesheet], font_config=fonts)

    def whole_book():
        html = pages.print_document(book, css)
        if not unmark:
            document, _ = lay_out(html, render)
            return document, anchor_pages(document)
        unmarked = index_marks.unmark(html)
        document, _ = lay_out(unmarked.html, render)
        return document, {anchor: n + 1 for anchor, n in index_marks.mark_pages(document, unmarked).items()}

    book.index_pages = {}
    document, book.index_pages = whole_book()
    index = next((p for p in book.parts if p.generated == "index"), None)
    if index is None:
        return document
    if index is not book.parts[-1]:  # the index is not last: lay everything out again
        return whole_book()[0]
    first = next(n for n, page in enumerate(document.pages) if index.id in page.anchors)
    final = render(pages.print_document(book, css, [index]), f"@page:first {{ counter-reset: page {first + 1}; }}")
    return document.copy(document.pages[:first] + final.pages)


def _first_line(box, section=None, block=None, line=None):
    """(section id, block element, line box) of the first line of text in the flow."""
    from weasyprint.formatting_structure.boxes import LineBox, TextBox

    element = getattr(box, "element", None)
    if element is not None and blocks.is_note(element):
        return None
    if element is not None and getattr(box, "element_tag", None):
        if element.get("data-b") is not None:
            block = element
        if element.get("id") and element.tag in ("section", "nav"):
            section = element.get("id")
    if isinstance(box, LineBox):
        line = box
    if isinstance(box, TextBox) and box.text.strip():
        return section, block, line or box
    for child in getattr(box, "children", None) or ():
        found = _first_line(child, section, block, line)
        if found:
            return found
    return None


def _line_text(line) -> str:
    """The text of a printed line, its note calls left out."""
    from weasyprint.formatting_structure.boxes import TextBox

    if isinstance(line, TextBox):
        return line.text
    element = getattr(line, "element", None)
    if element is not None and blocks.is_note(element) and getattr(line, "element_tag", None):
        return ""
    return "".join(_line_text(child) for child in getattr(line, "children", None) or ())


def page_starts(document) -> list[blocks.PageStart]:
    """Where each printed page begins, in terms the EPUB can find again."""
    starts, last_offsets = [], {}
    for number, page in enumerate(document.pages, 1):
        found = _first_line(page._page_box.children[0])
        if not found:
            starts.append(blocks.PageStart(number, None, None, 0))
            continue
        section, block_el, line = found
        if block_el is None:
            starts.append(blocks.PageStart(number, section, None, 0))
            continue
        block = int(block_el.get("data-b"))
        offset = blocks.locate(block_el, _line_text(line), last_offsets.get((section, block), 0))
        last_offsets[(section, block)] = offset + 1
        starts.append(blocks.PageStart(number, section, block, offset))
    return starts


