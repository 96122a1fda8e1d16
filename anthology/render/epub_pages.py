"""The EPUB's pages, one per item, from the builders in render/html.py.

Each page is an lxml tree until it is serialised: the notes become noterefs and
asides, and the print edition's page breaks are marked in it (see
`place_page_markers`) before `epub_clean.to_xhtml` writes it as XHTML.
"""
from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass
from html import escape

import lxml.html
from lxml import etree

from ..messages import Diagnostic
from . import blocks
from . import html as pages
from .epub_clean import EPUB_TYPE, clean_content, unsafe_markup

log = logging.getLogger(__name__)

RESERVED_FILES = {"cover", "title", "copyright", "contents", "nav"}
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,80}$")
# epub:type and DPUB-ARIA role of a part's section, by kind and title
FRONT_TYPES = (("introduction", "introduction", "doc-introduction"), ("preface", "preface", "doc-preface"),
               ("foreword", "foreword", "doc-foreword"), ("acknowledg", "acknowledgments", "doc-acknowledgments"),
               ("prologue", "prologue", "doc-prologue"), ("dedication", "dedication", "doc-dedication"))
BACK_TYPES = (("afterword", "afterword", "doc-afterword"), ("epilogue", "epilogue", "doc-epilogue"),
              ("appendix", "appendix", "doc-appendix"), ("glossary", "glossary", "doc-glossary"),
              ("acknowledg", "acknowledgments", "doc-acknowledgments"), ("colophon", "colophon", "doc-colophon"))
GENERATED_TYPES = {"bibliography": ("bibliography", "doc-bibliography"), "index": ("index", "doc-index"),
                   "sources": ("appendix", "doc-appendix")}


@dataclass
class Page:
    file_name: str
    title: str
    lang: str
    root: etree._Element | None     # a div holding the page's top-level element(s); None: kept XHTML
    landmark: str | None = None     # epub:type of its entry in the landmarks, if any
    part: object | None = None


def parse(fragment: str) -> etree._Element:
    return lxml.html.fragment_fromstring(fragment or "", create_parent="div")


def semantics(part) -> tuple[str | None, str | None]:
    """(epub:type, role) of a part's section."""
    if part.kind == "text":
        return "chapter", "doc-chapter"
    if part.generated:
        return GENERATED_TYPES.get(part.generated, (None, None))
    title = part.title.lower()
    for key, epub_type, role in FRONT_TYPES if part.kind == "front" else BACK_TYPES:
        if title.startswith(key):
            return epub_type, role
    return None, None


def part_file_names(book) -> dict[str, str]:
    """The file of each part: its id when that is a safe, free name, else part-N."""
    names, used = {}, set(RESERVED_FILES)
    for n, part in enumerate(book.parts, 1):
        stem = part.id if _SAFE_NAME.match(part.id) and part.id.lower() not in used else f"part-{n}"
        used.add(stem.lower())
        names[part.id] = f"{stem}.xhtml"
    return names


def _source_name(book, part) -> str:
    path = part.source or part.headnote_source
    if path is None:
        return book.manifest.file.name
    try:
        return str(path.relative_to(book.manifest.root))
    except ValueError:
        return str(path)


def safe_part(book, part):
    """A copy of the part whose text and headnote went through the content allow-list."""
    unsafe = unsafe_markup(part.html) + unsafe_markup(part.headnote_html)
    if unsafe:
        what = ", ".join(dict.fromkeys(unsafe))
        log.warning(Diagnostic("E005", f"removed from the EPUB: {what}", _source_name(book, part)).format())
    return dataclasses.replace(part, html=clean_content(part.html), headnote_html=clean_content(part.headnote_html))


def notes_to_asides(container: etree._Element) -> int:
    """Turn the inline footnote spans into noterefs, and asides at the end of `container`."""
    asides = []
    for span in container.xpath('.//span[contains(concat(" ", normalize-space(@class), " "), " footnote ")]'):
        note_id, number = span.get("id"), span.get("data-n") or str(len(asides) + 1)
        if not note_id:
            continue
        ref = etree.Element("a", {"href": f"#{note_id}", "id": f"{note_id}-ref", "class": "noteref",
                                  EPUB_TYPE: "noteref", "role": "doc-noteref"})
        ref.text = number
        ref.tail = span.tail
        aside = etree.Element("aside", {"id": note_id, "class": "footnote",
                                        EPUB_TYPE: "footnote", "role": "doc-footnote"})
        paras = span.xpath('./span[contains(concat(" ", normalize-space(@class), " "), " fnp ")]') or [span]
        for i, para in enumerate(paras):
            p = etree.SubElement(aside, "p")
            if i == 0:
                back = etree.SubElement(p, "a", {"href": f"#{note_id}-ref", "role": "doc-backlink"})
                back.text = f"{number}."
                back.tail = " " + (para.text or "")
            else:
                p.text = para.text
            for child in list(para):
                if not (child.tag == "span" and "fnp" in (child.get("class") or "").split()):
                    p.append(child)
        span.getparent().replace(span, ref)
        asides.append(aside)
    if asides:
        notes = etree.SubElement(container, "section", {"class": "notes", EPUB_TYPE: "footnotes",
                                                        "aria-label": "Notes"})
        notes.extend(asides)
    return len(asides)


def _with_type(root: etree._Element, epub_type: str | None, role: str | None = None,
               label: str | None = None) -> etree._Element:
    top = root[0]
    if epub_type:
        top.set(EPUB_TYPE, epub_type)
    if role and not top.get("role"):
        top.set("role", role)
    if label:
        top.set("aria-label", label)
    return root


def cover_page(cover, lang: str) -> Page:
    root = parse(f'<section class="cover" id="cover"><img class="cover-image" role="doc-cover" '
                 f'src="{escape(cover.file_name)}" alt="{escape(cover.alt)}"/></section>')
    return Page("cover.xhtml", "Cover", lang, _with_type(root, "cover", label="Cover"), landmark="cover")


def build_pages(book, cover, part_trees: bool = True) -> list[Page]:
    """Cover, title page, copyright, contents, then one page per part, in reading order; without
    `part_trees` the parts' pages get no tree yet (epub.py makes or reuses each, see epub_kept.py)."""
    lang = book.meta.get("language") or "en"
    files = part_file_names(book)
    out = [
        cover_page(cover, lang),
        Page("title.xhtml", book.meta["title"], lang, _with_type(parse(pages.title_page(book)), "titlepage"),
             landmark="titlepage"),
        Page("copyright.xhtml", "Copyright", lang,
             _with_type(parse(pages.copyright_page(book)), "copyright-page", label="Copyright")),
        Page("contents.xhtml", "Contents", lang,
             _with_type(parse(pages.contents_page(book, href=lambda part: files[part.id])), "toc"),
             landmark="toc"),
    ]
    for part in book.parts:
        root = part_tree(book, part) if part_trees else None
        landmark = {"bibliography": "bibliography", "index": "index"}.get(part.generated or "")
        out.append(Page(files[part.id], part.title, part.language or lang, root, landmark, part))
    return out


def part_tree(book, part) -> etree._Element:
    """The part's section, through the content allow-list, its notes as asides."""
    epub_type, role = semantics(part)
    root = _with_type(parse(pages.part_section(book, safe_part(book, part))), epub_type, role)
    notes_to_asides(root[0])
    return root


# --- page-break markers -----------------------------------------------------------------------

def marker(number: int) -> etree._Element:
    el = etree.Element("span", {EPUB_TYPE: "pagebreak", "role": "doc-pagebreak", "id": f"page-{number}",
                                "aria-label": str(number), "class": "pagebreak"})
    el.text = ""
    return el


def _body_blocks(section: etree._Element) -> dict[str, etree._Element]:
    """The blocks of the part's own text (not of its opener or headnote), by their `data-b`."""
    body = next((c for c in section if c.tag == "div" and c.get("class") == "body"), None)
    found: dict[str, etree._Element] = {}
    for el in body.iter() if body is not None else ():
        if isinstance(el.tag, str) and el.tag in blocks.BLOCK_TAGS and el.get("data-b") is not None:
            found.setdefault(el.get("data-b"), el)
    return found


def _word_start(text: str, offset: int) -> int:
    """Move an offset that falls inside a word (a hyphenated line start) back to the word's start."""
    offset = max(0, min(offset, len(text)))
    while 0 < offset < len(text) and not text[offset - 1].isspace() and not text[offset].isspace():
        offset -= 1
    return offset


def _insert_in_text(el: etree._Element, remaining: int, mark: etree._Element) -> int | None:
    """Put `mark` `remaining` characters into `el`'s own text, counted as `blocks.block_text` does.

    Returns None once placed, else the characters still to go after `el`.
    """
    text = el.text or ""
    if remaining <= len(text):
        el.text, mark.tail = text[:remaining] or None, text[remaining:] or None
        el.insert(0, mark)
        return None
    remaining -= len(text)
    for child in list(el):
        if isinstance(child.tag, str) and not blocks.is_note(child) and child.get("data-b") is None:
            left = _insert_in_text(child, remaining, mark)
            if left is None:
                return None
            remaining = left
        tail = child.tail or ""
        if remaining <= len(tail):
            child.tail, mark.tail = tail[:remaining] or None, tail[remaining:] or None
            child.addnext(mark)
            return None
        remaining -= len(tail)
    return remaining


def _precedes(section: etree._Element, first: etree._Element, second: etree._Element) -> bool:
    for el in section.iter():
        if el is first:
            return True
        if el is second:
            return False
    return False


def _place(section: etree._Element, start, mark: etree._Element, previous: etree._Element | None,
           body_blocks: dict) -> None:
    """Put `mark` where `start` says, and never before the marker of the section's previous page
    (`body_blocks`: the section's, see `_body_blocks`)."""
    block = body_blocks.get(str(start.block)) if start.block is not None else None
    if block is None and previous is not None:  # a later page of a section without numbered blocks
        mark.tail, previous.tail = previous.tail, None
        previous.addnext(mark)
        return
    if block is None:  # the start of the section
        mark.tail, section.text = section.text, None
        section.insert(0, mark)
        return
    offset = _word_start(blocks.block_text(block), start.offset)
    if offset == 0 and block.tag in ("p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre"):
        block.addprevious(mark)  # between blocks rather than inside a heading or at a paragraph's edge
    elif _insert_in_text(block, offset, mark) is not None:
        block.append(mark)
    if previous is not None and not _precedes(section, previous, mark):
        _remove(mark)
        _place(section, dataclasses.replace(start, block=None), mark, previous, body_blocks)


def _remove(mark: etree._Element) -> None:
    """Take a marker out again, giving its tail back to the text before it."""
    parent, before = mark.getparent(), mark.getprevious()
    if mark.tail:
        if before is not None:
            before.tail = (before.tail or "") + mark.tail
        else:
            parent.text = (parent.text or "") + mark.tail
    mark.tail = None
    parent.remove(mark)


def place_page_markers(pages_: list[Page], starts: list) -> list[tuple[int, str]]:
    """Mark where each printed page begins; return (page number, file name) for the page-list, in order.

    A page without text, or one of a section the EPUB has no page for (the half-title),
    gets its marker just before the next page's; trailing ones go at the end of the last page.
    """
    plan = plan_page_markers(section_files(pages_), starts, pages_[-1].file_name)
    for page in pages_:
        place_markers(page, plan.at.get(page.file_name, []))
    return plan.entries


def section_files(pages_: list[Page]) -> dict[str, str]:
    """The file holding each top-level id (a part's page without a tree yet holds its section's: the part's id)."""
    found: dict[str, str] = {}
    for page in pages_:
        if page.root is None:
            found.setdefault(page.part.id, page.file_name)
            continue
        for top in page.root:
            if isinstance(top.tag, str) and top.get("id"):
                found.setdefault(top.get("id"), page.file_name)
    return found


@dataclass
class MarkerPlan:
    entries: list[tuple[int, str]]  # the page-list: (printed page, file), in order
    at: dict[str, list]             # file -> [(PageStart, its page and those waiting before it)];
                                    # (None, pages) for the trailing ones, at the end of the file


def plan_page_markers(files: dict[str, str], starts: list, last_file: str) -> MarkerPlan:
    """Which markers go into which file, and where (see `place_page_markers`)."""
    plan, pending, last = MarkerPlan([], {}), [], None
    for start in starts:
        file = files.get(start.section) if start.section else None
        if file is None:
            pending.append(start.page)
            continue
        plan.at.setdefault(file, []).append((start, pending + [start.page]))
        plan.entries += [(n, file) for n in pending + [start.page]]
        pending, last = [], file
    if pending:
        plan.at.setdefault(last or last_file, []).append((None, pending))
        plan.entries += [(n, last or last_file) for n in pending]
    return plan


def place_markers(page: Page, placements: list) -> None:
    """Put the page's markers (its share of a `MarkerPlan`) into its tree."""
    sections = {}
    for top in page.root if placements else ():
        if isinstance(top.tag, str) and top.get("id"):
            sections.setdefault(top.get("id"), top)
    latest, body_blocks = {}, {}
    for start, numbers in placements:
        marks = [marker(n) for n in numbers]
        if start is None:
            page.root[-1].extend(marks)
            continue
        section = sections[start.section]
        if start.section not in body_blocks:
            body_blocks[start.section] = _body_blocks(section)
        _place(section, start, marks[-1], latest.get(start.section), body_blocks[start.section])
        for mark in marks[:-1]:
            marks[-1].addprevious(mark)
        latest[start.section] = marks[-1]

