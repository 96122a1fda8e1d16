"""Laying out print HTML with WeasyPrint: the repair of notes set a page after their call,
where each page begins (for the EPUB's page list), and the single pass over the whole book.

Used both in the build's process (the single pass) and in the layout workers (one chunk each).
"""
from __future__ import annotations

import logging
import re

from . import blocks
from . import html as pages

log = logging.getLogger("anthology.render.pdf")

MAX_NOTE_REPAIRS = 4
_BLOCK_START = re.compile(r"<(p|li|blockquote|h[1-6]|dd)\b")
_HEADING_BEFORE = re.compile(r"<h[2-6]\b(?:(?!<h[2-6]\b).)*</h[2-6]>\s*\Z", re.S)


def _walk(box):
    yield box
    for child in getattr(box, "children", None) or ():
        yield from _walk(child)


def misplaced_notes(document) -> list[str]:
    """Ids of footnotes that WeasyPrint set on a later page than their call.

    WeasyPrint defers a page's last footnote to the next page when that helps it
    keep widows and orphans, even if the call stays behind; we check each page.
    """
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


def push_paragraphs_of(document_html: str, note_ids: list[str]) -> str:
    """Start each paragraph holding one of these notes' calls on a new page."""
    for note_id in note_ids:
        at = document_html.find(f'id="{note_id}"')
        starts = list(_BLOCK_START.finditer(document_html, 0, at))
        if at < 0 or not starts:
            continue
        tag = starts[-1]
        window = max(0, tag.start() - 1000)
        heading = _HEADING_BEFORE.search(document_html, window, tag.start())
        if heading:  # never strand the heading that introduces the pushed paragraph
            tag = re.compile(r"<h[2-6]").match(document_html, heading.start())
        document_html = document_html[:tag.end()] + " data-note-push" + document_html[tag.end():]
    return document_html


def anchor_pages(document, prefix: str = "ix-") -> dict[str, int]:
    """Printed page number of every anchor whose id starts with `prefix`."""
    return {anchor: number for number, page in enumerate(document.pages, 1)
            for anchor in page.anchors if anchor.startswith(prefix)}


def lay_out_repairing_notes(document_html: str, render):
    """`render(html)` of the document, pushing to a new page each paragraph whose note WeasyPrint
    set a page after its call, and laying it out again until none is left (or after a few rounds).

    Returns the document and the ids of the notes whose paragraphs were pushed.
    """
    pushed: list[str] = []
    for attempt in range(MAX_NOTE_REPAIRS + 1):
        document = render(push_paragraphs_of(document_html, pushed))
        misplaced = misplaced_notes(document)
        fresh = [n for n in misplaced if n not in pushed]
        if not fresh or attempt == MAX_NOTE_REPAIRS:
            break
        log.info("moving the paragraphs of notes %s to keep them with their calls", ", ".join(fresh))
        pushed += fresh
        document = None  # let the old layout go before the next one is made
    if misplaced:
        log.warning("notes %s still stand on a later page than their calls", ", ".join(misplaced))
    return document, pushed


def set_metadata(document, metadata: dict) -> None:
    """The PDF's document information (see pdf.pdf_metadata)."""
    for name, value in metadata.items():
        setattr(document.metadata, name, value)


def render_document(book, stylesheet, fonts, fetcher, css: str):
    """The whole book in one WeasyPrint document (the reference the chunked layout must equal).

    The index stands last, so once the rest is laid out its page numbers are known: only the
    index is laid out again, as its own document numbered from the page where it begins.
    """
    from weasyprint import HTML

    def render(document_html: str, extra_css: str = ""):
        return HTML(string=document_html.replace("</style>", extra_css + "</style>", 1),
                    base_url=str(book.manifest.root) + "/", url_fetcher=fetcher
                    ).render(stylesheets=[stylesheet], font_config=fonts)

    book.index_pages = {}
    document, _ = lay_out_repairing_notes(pages.print_document(book, css), render)
    book.index_pages = anchor_pages(document)
    index = next((p for p in book.parts if p.generated == "index"), None)
    if index is None:
        return document
    if index is not book.parts[-1]:  # the index is not last: lay everything out again
        document, _ = lay_out_repairing_notes(pages.print_document(book, css), render)
        return document
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


