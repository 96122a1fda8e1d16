"""The navigation document (contents with sections and authors, landmarks, page-list) and the NCX."""
from __future__ import annotations

from html import escape

from ebooklib import epub

from . import html as pages
from .epub_pages import Page, parse

LANDMARK_TITLES = {"cover": "Cover", "titlepage": "Title Page", "toc": "Contents", "bodymatter": "Start of Content",
                   "bibliography": "Bibliography", "index": "Index"}


def _section_tree(sections) -> list:
    """[(id, title, children)] nested by heading level, whatever levels the text uses."""
    root: list = []
    stack: list[tuple[int, list]] = [(0, root)]
    for level, ident, title in sections:
        if not ident:
            continue
        while len(stack) > 1 and stack[-1][0] >= level:
            stack.pop()
        node = (ident, (title or "").strip() or "Section", [])
        stack[-1][1].append(node)
        stack.append((level, node[2]))
    return root


def _section_items(file_name: str, nodes) -> str:
    if not nodes:
        return ""
    items = "".join(f'<li><a href="{escape(file_name)}#{escape(ident)}">{escape(title)}</a>'
                    f'{_section_items(file_name, children)}</li>' for ident, title, children in nodes)
    return f"<ol>{items}</ol>"


def toc_items(pages_: list[Page]) -> str:
    items = []
    for page in pages_[1:]:  # the cover is in the landmarks
        part = page.part
        label = escape(page.title)
        if part is not None and part.kind == "text" and pages.display_author(part):
            label += f'<span class="toc-author"> — {escape(pages.display_author(part))}</span>'
        sections = _section_items(page.file_name, _section_tree(part.sections)) if part is not None else ""
        items.append(f'<li><a href="{escape(page.file_name)}">{label}</a>{sections}</li>')
    return "".join(items)


def landmarks(pages_: list[Page]) -> list[tuple[str, str]]:
    """(epub:type, href) of the cover, title page, contents, start of the body, bibliography, index."""
    marks = [(p.landmark, p.file_name) for p in pages_ if p.landmark]
    body = next((p for p in pages_ if p.part is not None), None)
    if body is not None:
        marks.insert(next((i for i, (kind, _) in enumerate(marks) if kind in ("bibliography", "index")),
                          len(marks)), ("bodymatter", body.file_name))
    return marks


def nav_page(book, pages_: list[Page], page_list: list[tuple[int, str]]) -> Page:
    lang = book.meta.get("language") or "en"
    marks = "".join(f'<li><a epub:type="{kind}" href="{escape(href)}">{LANDMARK_TITLES[kind]}</a></li>'
                    for kind, href in landmarks(pages_))
    html = (f'<nav epub:type="toc" id="toc" role="doc-toc"><h1>Contents</h1><ol>{toc_items(pages_)}</ol></nav>'
            f'<nav epub:type="landmarks" id="landmarks" aria-label="Landmarks" hidden="hidden">'
            f'<h2>Landmarks</h2><ol>{marks}</ol></nav>')
    if page_list:
        entries = "".join(f'<li><a href="{escape(f)}#page-{n}">{n}</a></li>' for n, f in page_list)
        html += (f'<nav epub:type="page-list" id="page-list" role="doc-pagelist" aria-label="Print pages" '
                 f'hidden="hidden"><h2>Print pages</h2><ol>{entries}</ol></nav>')
    return Page("nav.xhtml", "Contents", lang, parse(html))


def ncx_toc(pages_: list[Page]) -> list:
    """The same contents for EPUB 2 reading systems, as ebooklib's links."""
    toc, n = [], 0
    for page in pages_[1:]:
        n += 1
        link = epub.Link(page.file_name, page.title, f"nav-{n}")
        children = []
        for ident, title, _ in _section_tree(page.part.sections if page.part is not None else []):
            n += 1
            children.append(epub.Link(f"{page.file_name}#{ident}", title, f"nav-{n}"))
        toc.append((link, children) if children else link)
    return toc
