"""The pages every output shares, as HTML: title page, copyright, contents,
openers, the sources page; and the print document that assembles them.

The EPUB renderer takes the same page builders one by one; the PDF renderer
takes `print_document`, one HTML document for the whole book.
"""
from __future__ import annotations

from html import escape

from ..model import Book, Part
from ..transforms.typography import smart

SOURCE_KEYS = (
    ("original-publication", "First published"),
    ("translator", "Translated by"),
    ("retrieved-from", "Retrieved from"),
    ("rights", "Rights"),
)


def _p(cls: str, text: str | None) -> str:
    return f'<p class="{cls}">{escape(smart(str(text)))}</p>' if text else ""


def editors_line(book: Book) -> str:
    editors = book.meta.get("editors") or []
    if not editors:
        return ""
    names = editors[0] if len(editors) == 1 else ", ".join(editors[:-1]) + " and " + editors[-1]
    return f"Edited by {names}"


def display_author(part: Part) -> str:
    """The author as the text was signed, with the real name where a pen name was used."""
    pen = part.meta.get("pen-name")
    return f"{pen} ({part.author})" if pen and pen != part.author else part.author


def half_title_page(book: Book) -> str:
    return f'<section class="half-title" id="half-title">{_p("book-title", book.meta["title"])}</section>'


def title_page(book: Book) -> str:
    m = book.meta
    return (
        '<section class="title-page" id="title-page">'
        f'<h1 class="book-title">{escape(smart(m["title"]))}</h1>'
        f'{_p("book-subtitle", m.get("subtitle"))}'
        f'{_p("book-editors", editors_line(book))}'
        f'<div class="imprint">{_p("publisher", m.get("publisher"))}{_p("year", m.get("year"))}</div>'
        "</section>"
    )


def copyright_page(book: Book) -> str:
    m = book.meta
    lines = [
        _p("rights", m.get("rights")),
        _p("edition", f'{m.get("edition") or "First edition"}{", " + str(m["year"]) if m.get("year") else ""}.'),
    ]
    if str(m.get("identifier", "")).replace("-", "").startswith("978"):
        lines.append(_p("isbn", f"ISBN {m['identifier']}"))
    sources = "; ".join(
        f"{p.title} ({p.author}, {p.meta.get('date', 'n.d.')})" for p in book.texts
    )
    if sources:
        lines.append(_p("sources-summary", f"This collection reprints: {sources}. "
                        "The source of each text is given on the Sources page."))
    if m.get("publisher"):
        lines.append(_p("publisher", f"Published by {m['publisher']}."))
    lines.append(_p("colophon", "Set in EB Garamond. Made with anthology."))
    return f'<section class="copyright" id="copyright">{"".join(lines)}</section>'


def contents_entries(book: Book) -> list[tuple[Part, str, str]]:
    """(part, title, author line) for each item shown in the contents."""
    return [(p, p.title, display_author(p) if p.kind == "text" else "") for p in book.parts]


def contents_page(book: Book, href=lambda part: f"#{part.id}") -> str:
    items = []
    for part, title, author in contents_entries(book):
        author_html = f'<span class="toc-author">{escape(smart(author))}</span>' if author else ""
        items.append(
            f'<li class="toc-{part.kind}"><a href="{href(part)}">{escape(smart(title))}</a>{author_html}</li>'
        )
    return (f'<nav class="toc" id="contents" role="doc-toc"><h1 class="part-title">Contents</h1>'
            f'<ol>{"".join(items)}</ol></nav>')


def opener(part: Part) -> str:
    """The heading block that opens a part: title, author, date, headnote."""
    m = part.meta
    out = [f'<h1 class="part-title">{escape(smart(part.title))}</h1>', _p("part-subtitle", m.get("subtitle"))]
    if part.kind == "text":
        out.append(_p("part-author", display_author(part)))
        out.append(_p("part-date", m.get("date")))
        if m.get("translator"):
            out.append(_p("part-translator", f"Translated by {m['translator']}"))
    if part.headnote_html:
        out.append(f'<div class="headnote" role="doc-introduction">{part.headnote_html}</div>')
    return f'<header class="opener">{"".join(out)}</header>'


def sources_page_body(book: Book) -> str:
    entries = []
    for part in book.texts:
        rows = "".join(
            f"<dt>{label}</dt><dd>{escape(smart(str(part.meta[key])))}</dd>"
            for key, label in SOURCE_KEYS if part.meta.get(key)
        )
        entries.append(f'<section class="source"><h2>{escape(smart(part.title))}</h2>'
                       f'{_p("source-author", display_author(part))}<dl>{rows}</dl></section>')
    return "".join(entries)


def _bibliography(book) -> str:
    from .bibliography import bibliography_body
    return bibliography_body(book)


def _index(book, for_print: bool = False) -> str:
    from .index import index_body
    if for_print:
        return index_body(book, linked=book.manifest.output["pdf"]["profile"] != "press")
    return index_body(book, by_part=not follows_print_pages(book.manifest))


def follows_print_pages(manifest) -> bool:
    """Whether the EPUB gives the print edition's pages (page list, index): `output.epub.page-list`."""
    return (manifest.output.get("epub") or {}).get("page-list", "print") == "print"


GENERATED_BODIES = {
    "sources": sources_page_body,
    "bibliography": _bibliography,
}


def part_body(book: Book, part: Part, for_print: bool = False) -> str:
    if part.generated:
        from .blocks import number_blocks
        if part.generated == "index":
            return number_blocks(_index(book, for_print))
        builder = GENERATED_BODIES.get(part.generated)
        return number_blocks(builder(book)) if builder else ""
    return part.html


def part_section(book: Book, part: Part, for_print: bool = False) -> str:
    """The part as a <section>; `for_print`: in the print edition (see index.index_body)."""
    lang = f' lang="{escape(part.language)}"' if part.language else ""
    role = ' role="doc-chapter"' if part.kind == "text" else ""
    return (f'<section class="part {part.kind}" id="{part.id}"{lang}{role}>'
            f'{opener(part)}<div class="body">{part_body(book, part, for_print)}</div></section>')


def prelims(book: Book) -> list[str]:
    """Half-title, title page, copyright page and contents."""
    return [half_title_page(book), title_page(book), copyright_page(book), contents_page(book)]


def print_document(book: Book, page_css: str, parts: list[Part] | None = None) -> str:
    """The whole book as one HTML document; or, given `parts`, just those parts."""
    body = prelims(book) if parts is None else []
    sections = [part_section(book, p, for_print=True) for p in (book.parts if parts is None else parts)]
    return html_document(book, page_css, body + sections)


def html_document(book: Book, page_css: str, body: list[str]) -> str:
    m = book.meta
    return (
        f'<!DOCTYPE html><html lang="{escape(m.get("language") or "en")}"><head><meta charset="utf-8">'
        f'<title>{escape(m["title"])}</title><style>{page_css}</style></head>'
        f'<body>{"".join(body)}</body></html>'
    )
