"""The package metadata: Dublin Core, the print edition the page-list follows, accessibility."""
from __future__ import annotations

import uuid
from datetime import datetime

from ebooklib import epub

from .pdf import fixed_date

CONFORMANCE = "EPUB Accessibility 1.1 - WCAG 2.1 Level AA"


def book_identifier(meta: dict) -> str:
    """The ISBN when given, else a UUID derived from the title and editors, stable across builds."""
    if meta.get("identifier"):
        return str(meta["identifier"])
    seed = "|".join([meta["title"], *meta.get("editors", [])])
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'anthology:' + seed)}"


def isbn(meta: dict) -> str | None:
    digits = str(meta.get("identifier") or "").replace("-", "").replace(" ", "")
    return digits if len(digits) == 13 and digits.isdigit() and digits[:3] in ("978", "979") else None


def modified(book) -> datetime:
    """dcterms:modified: SOURCE_DATE_EPOCH when set, else the book's year, so builds repeat."""
    return datetime.fromisoformat(fixed_date(book))


def page_break_source(book) -> str:
    """Which edition the page-list follows: the print PDF built from the same manifest."""
    if isbn(book.meta):
        return f"urn:isbn:{isbn(book.meta)}"
    m = book.meta
    trim = (book.manifest.output.get("pdf") or {}).get("trim", "6x9in")
    return ", ".join(str(x) for x in (m["title"], f"print edition ({trim} PDF)", m.get("publisher"), m.get("year"))
                     if x)


def _meta(eb: epub.EpubBook, prop: str, value: str, **attrs) -> None:
    eb.add_metadata(None, "meta", value, {"property": prop, **attrs})


def _role(eb: epub.EpubBook, ident: str, role: str) -> None:
    _meta(eb, "role", role, refines=f"#{ident}", scheme="marc:relators")


def describe(eb: epub.EpubBook, book, *, has_pages: bool, images_described: bool, has_images: bool) -> None:
    """Dublin Core and schema.org accessibility metadata of the book."""
    m = book.meta
    eb.set_identifier(f"urn:isbn:{isbn(m)}" if isbn(m) else book_identifier(m))
    eb.set_title(m["title"])
    eb.set_language(m.get("language") or "en")
    for i, editor in enumerate(m.get("editors") or []):
        eb.add_metadata("DC", "creator", editor, {"id": f"editor{i}"})
        _role(eb, f"editor{i}", "edt")
    people = {}
    for part in book.texts:
        if part.author:
            people.setdefault((part.author, "aut"), None)
        if part.meta.get("translator"):
            people.setdefault((str(part.meta["translator"]), "trl"), None)
    for i, (name, role) in enumerate(people):
        eb.add_metadata("DC", "contributor", name, {"id": f"contributor{i}"})
        _role(eb, f"contributor{i}", role)
    for key in ("publisher", "rights", "description"):
        if m.get(key):
            eb.add_metadata("DC", key, " ".join(str(m[key]).split()))
    if m.get("year"):
        eb.add_metadata("DC", "date", str(m["year"]))
    if has_pages:
        _meta(eb, "pageBreakSource", page_break_source(book))
    _accessibility(eb, book, has_pages=has_pages, images_described=images_described, has_images=has_images)


def _accessibility(eb, book, *, has_pages: bool, images_described: bool, has_images: bool) -> None:
    modes = ["textual"] + (["visual"] if has_images else [])
    for mode in modes:
        _meta(eb, "schema:accessMode", mode)
    _meta(eb, "schema:accessModeSufficient", "textual")
    features = ["structuralNavigation", "tableOfContents", "readingOrder", "alternativeText",
                "displayTransformability"]
    if has_pages:
        features += ["pageNavigation", "pageBreakMarkers", "printPageNumbers"]
    for feature in features:
        _meta(eb, "schema:accessibilityFeature", feature)
    _meta(eb, "schema:accessibilityHazard", "none")
    pages_note = (" Print page numbers follow the print edition: a page list and page-break markers "
                  "lead to each printed page." if has_pages else "")
    _meta(eb, "schema:accessibilitySummary",
          "A reflowable book of text in reading order, with headings for every text and section, a table of "
          "contents and landmarks, footnotes linked both ways from their calls, and the reader's choice of "
          f"font and size respected.{pages_note} The cover image has a text description.")
    certified_by = (book.manifest.output.get("epub") or {}).get("accessibility-certified-by")
    if certified_by and images_described:
        _meta(eb, "dcterms:conformsTo", CONFORMANCE)
        _meta(eb, "a11y:certifiedBy", str(certified_by))
