"""The EPUB 3: one XHTML file per item, packaged with ebooklib."""
from __future__ import annotations

import logging
import uuid
from html import escape
from pathlib import Path

import lxml.html
from ebooklib import epub
from lxml import etree

from ..fsutil import atomic_output
from ..messages import AnthologyError, error
from . import html as pages
from .epub_links import link_across_files
from .pdf import STYLES

log = logging.getLogger(__name__)

FONT_TYPES = {".otf": "font/otf", ".ttf": "font/ttf", ".woff2": "font/woff2", ".woff": "font/woff"}
EPUB_FONTS = ("EBGaramond12-Regular.otf", "EBGaramond12-Italic.otf",
              "eb-garamond-latin-600-normal.woff2", "eb-garamond-latin-600-italic.woff2")


def book_identifier(meta: dict) -> str:
    """The ISBN when given, else a UUID derived from the title and editors, stable across builds."""
    if meta.get("identifier"):
        return str(meta["identifier"])
    seed = "|".join([meta["title"], *meta.get("editors", [])])
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'anthology:' + seed)}"


def notes_to_asides(fragment: str) -> str:
    """Turn the inline footnote spans into noterefs and asides in the same file."""
    root = lxml.html.fragment_fromstring(fragment or "<p></p>", create_parent="div")
    asides = []
    for span in root.xpath('.//span[contains(concat(" ", @class, " "), " footnote ")]'):
        note_id, number = span.get("id"), span.get("data-n")
        ref = etree.Element("a", {"href": f"#{note_id}", "id": f"{note_id}-ref", "class": "noteref",
                                  "data-epub-type": "noteref", "role": "doc-noteref"})
        ref.text = number
        ref.tail = span.tail
        aside = etree.Element("aside", {"id": note_id, "class": "footnote",
                                        "data-epub-type": "footnote", "role": "doc-footnote"})
        for i, para in enumerate(span.xpath('./span[contains(@class, "fnp")]') or [span]):
            p = etree.SubElement(aside, "p")
            if i == 0:
                back = etree.SubElement(p, "a", {"href": f"#{note_id}-ref", "role": "doc-backlink"})
                back.text = f"{number}."
                back.tail = " " + (para.text or "")
            else:
                p.text = para.text
            for child in list(para):
                if not (child.tag == "span" and "fnp" in (child.get("class") or "")):
                    p.append(child)
        span.getparent().replace(span, ref)
        asides.append(aside)
    body = "".join(etree.tostring(child, encoding="unicode", method="xml") for child in root)
    body = (escape(root.text) if root.text else "") + body
    if asides:
        body += '<section class="notes">' + "".join(
            etree.tostring(a, encoding="unicode", method="xml") for a in asides) + "</section>"
    # lxml cannot name an attribute epub:type outside a namespace; write it as text.
    return body.replace(' data-epub-type="', ' epub:type="')


def _xhtml_page(title: str, body: str, lang: str, file_name: str) -> epub.EpubHtml:
    item = epub.EpubHtml(title=title, file_name=file_name, lang=lang)
    item.content = f"<html><head><title>{escape(title)}</title></head><body>{body}</body></html>"
    item.add_link(href="css/epub.css", rel="stylesheet", type="text/css")
    return item


def _part_page(book, part) -> epub.EpubHtml:
    lang = part.language or book.meta.get("language") or "en"
    epub_type = {"text": "chapter", "front": "introduction", "back": part.generated or "appendix"}[part.kind]
    body = notes_to_asides(pages.part_body(book, part))
    opener = notes_to_asides(pages.opener(part))
    role = ' role="doc-chapter"' if part.kind == "text" else ""
    section = (f'<section class="part {part.kind}" id="{part.id}" epub:type="{epub_type}"{role}>'
               f'{opener}{body}</section>')
    return _xhtml_page(part.title, section, lang, f"{part.id}.xhtml")


def _add_styles_and_fonts(eb: epub.EpubBook) -> None:
    css = (STYLES / "epub.css").read_text(encoding="utf-8")
    eb.add_item(epub.EpubItem(uid="style", file_name="css/epub.css", media_type="text/css", content=css))
    for name in EPUB_FONTS:
        path = STYLES / "fonts" / name
        eb.add_item(epub.EpubItem(uid=f"font-{path.stem}", file_name=f"fonts/{name}",
                                  media_type=FONT_TYPES[path.suffix], content=path.read_bytes()))


def _metadata(eb: epub.EpubBook, book) -> None:
    m = book.meta
    eb.set_identifier(book_identifier(m))
    eb.set_title(m["title"])
    eb.set_language(m.get("language") or "en")
    for i, editor in enumerate(m.get("editors", [])):
        eb.add_author(editor, role="edt", uid=f"editor{i}")
    for i, part in enumerate(book.texts):
        eb.add_metadata("DC", "contributor", part.author, {"id": f"contributor{i}"})
    for key, dc in (("publisher", "publisher"), ("rights", "rights"), ("description", "description")):
        if m.get(key):
            eb.add_metadata("DC", dc, str(m[key]))
    if m.get("year"):
        eb.add_metadata("DC", "date", str(m["year"]))


def build_epub(book) -> epub.EpubBook:
    eb = epub.EpubBook()
    _metadata(eb, book)
    _add_styles_and_fonts(eb)
    lang = book.meta.get("language") or "en"
    front = [
        _xhtml_page(book.meta["title"], pages.title_page(book), lang, "title.xhtml"),
        _xhtml_page("Copyright", pages.copyright_page(book), lang, "copyright.xhtml"),
    ]
    parts = [_part_page(book, p) for p in book.parts]
    for item in front + parts:
        eb.add_item(item)
    eb.toc = [epub.Link(page.file_name, page.title, page.file_name.rsplit(".", 1)[0]) for page in parts]
    eb.add_item(epub.EpubNcx())
    eb.add_item(epub.EpubNav())
    eb.spine = [front[0], front[1], "nav", *parts]
    return eb


def write_epub(book, target: Path) -> Path:
    eb = build_epub(book)
    link_across_files(eb)
    try:
        with atomic_output(target) as tmp:
            epub.write_epub(str(tmp), eb, {"epub3_pages": False})
    except AnthologyError:
        raise
    except Exception as exc:
        raise error("B003", f"could not write {target.name}: {exc}") from exc
    log.info("wrote %s", target)
    return target
