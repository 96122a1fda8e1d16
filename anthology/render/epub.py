"""The EPUB 3: one XHTML file per item, packaged with ebooklib.

Pages come from render/html.py's builders (epub_pages), go through the
allow-list into XHTML (epub_clean), get the print edition's page breaks and a
navigation document (epub_nav), a cover (cover) and package metadata
(epub_meta). The zip is written with fixed dates so the same manifest gives the
same bytes.
"""
from __future__ import annotations

import hashlib
import io
import logging
import zipfile
from concurrent.futures import Future
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ebooklib import epub
from lxml import etree

from ..thread_logs import WarningsOfThisThread, warnings_kept_when_quiet
from ..fsutil import atomic_output, inside
from ..messages import AnthologyError, Diagnostic, error
from .cover import make_cover
from .epub_clean import XHTML, is_local, scheme, serialize, to_xhtml
from .epub_meta import book_identifier, describe, modified
from .epub_nav import LANDMARK_TITLES, landmarks, nav_page, ncx_toc
from .epub_kept import KeptPages
from .epub_pages import Page, build_pages, notes_to_asides, place_page_markers  # noqa: F401 (API)
from .epub_pages import part_file_names, part_tree, place_markers, plan_page_markers, section_files
from .html import follows_print_pages
from .pdf import STYLES

__all__ = ["book_identifier", "build_epub", "notes_to_asides", "package_epub", "write_epub"]

log = logging.getLogger(__name__)

FONT_TYPES = {".otf": "font/otf", ".ttf": "font/ttf", ".woff2": "font/woff2", ".woff": "font/woff"}
EPUB_FONTS = ("EBGaramond12-Regular.otf", "EBGaramond12-Italic.otf",
              "eb-garamond-latin-600-normal.woff2", "eb-garamond-latin-600-italic.woff2")
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
               ".webp": "image/webp"}
CSS = "css/epub.css"
XHTML_TYPE = "application/xhtml+xml"


class ImageStore:
    """Images the texts show, taken from inside the book's folder and packaged under images/."""

    def __init__(self, root: Path, fixed: set[str]):
        self.root, self.fixed = root, fixed
        self.items: dict[str, tuple[str, bytes]] = {}

    def resolver(self, where: str):
        def resolve(url: str) -> str | None:
            if url in self.fixed:
                return url
            if not url.strip():
                return None
            path = self.root / unquote(urlsplit(url).path) if is_local(url) else None
            if path is None or not inside(path, self.root) or not path.is_file() \
                    or path.suffix.lower() not in IMAGE_TYPES:
                log.warning(Diagnostic("E006", f"image '{url}' cannot go into the EPUB", where).format())
                return None
            data = path.read_bytes()
            name = f"images/{hashlib.sha256(data).hexdigest()[:16]}{path.suffix.lower()}"
            self.items[name] = (IMAGE_TYPES[path.suffix.lower()], data)
            return name
        return resolve


def _where(book, page: Page) -> str:
    source = getattr(page.part, "source", None)
    try:
        return str(source.relative_to(book.manifest.root)) if source else book.manifest.file.name
    except ValueError:
        return str(source)


def resolve_links(docs: dict[str, etree._Element]) -> None:
    """Keep links that lead somewhere: web and mail links, and ids that exist in some page."""
    ids = {name: {el.get("id") for el in doc.iter() if el.get("id")} for name, doc in docs.items()}
    owner = {}
    for name, found in ids.items():
        for ident in found:
            owner.setdefault(ident, name)
    for name, doc in docs.items():
        for a in doc.iter(f"{{{XHTML}}}a"):
            href = a.get("href")
            if href is None or scheme(href) is not None:
                continue
            file, _, frag = href.partition("#")
            frag = unquote(frag)
            target = file or name
            if target in docs and (not frag or frag in ids[target]):
                new = href
            elif not file and frag in owner:
                new = f"{owner[frag]}#{frag}"
            else:
                new = None
            if new is None:
                del a.attrib["href"]
            elif new != href:
                a.set("href", new)


def _xhtml(page: Page, resolver) -> etree._Element:
    return to_xhtml(page.root, title=page.title, lang=page.lang, css=CSS, resolve_src=resolver)


def _part_page(book, page: Page, plan, resolver, kept: KeptPages) -> etree._Element:
    """A part's page made now, and kept (with what it warned about and the images it shows)."""
    shown = []

    def resolve(url: str) -> str | None:
        name = resolver(url)
        if name is not None:
            shown.append([url, name])
        return name

    with warnings_kept_when_quiet("anthology.render"), WarningsOfThisThread("anthology") as recorded:
        page.root = part_tree(book, page.part)
        place_markers(page, plan.at.get(page.file_name, []))
        doc = _xhtml(page, resolve)
    kept.keep(page.part, serialize(doc), shown, recorded)
    return doc


def _item(uid: str, file_name: str, media_type: str, content: bytes, properties=()) -> epub.EpubItem:
    item = epub.EpubItem(uid=uid, file_name=file_name, media_type=media_type, content=content)
    item.properties = list(properties)
    return item


def build_epub(book, cache=None, cover: Future | None = None) -> tuple[epub.EpubBook, datetime]:
    """The EPUB's package; each part's page kept in `cache` (a BuildCache) between builds; `cover`
    is the cover being made (cover.start_cover), or None to make it now."""
    cover = cover.result() if cover is not None else make_cover(book)
    pages = build_pages(book, cover, part_trees=False)  # each part's page is made or reused below
    starts = book.page_starts if follows_print_pages(book.manifest) else []
    plan = plan_page_markers(section_files(pages), starts, pages[-1].file_name)
    kept = KeptPages(cache, book, part_file_names(book), plan)
    store = ImageStore(book.manifest.root, {cover.file_name})
    docs = {}
    for page in pages:
        resolver = store.resolver(_where(book, page))
        reused = kept.reuse(page.part, resolver) if page.part is not None and page.part.id in kept.entries else None
        if reused is not None:
            docs[page.file_name] = reused
        elif page.part is not None:
            docs[page.file_name] = _part_page(book, page, plan, resolver, kept)
        else:
            place_markers(page, plan.at.get(page.file_name, []))
            docs[page.file_name] = _xhtml(page, resolver)
    nav = nav_page(book, pages, plan.entries)
    docs[nav.file_name] = _xhtml(nav, store.resolver(_where(book, nav)))
    resolve_links(docs)

    images = [img for name, doc in docs.items() if name != "cover.xhtml"
              for img in doc.iter(f"{{{XHTML}}}img")]
    eb = epub.EpubBook()
    eb.add_prefix("a11y", "http://www.idpf.org/epub/vocab/package/a11y/#")
    describe(eb, book, has_pages=bool(plan.entries), has_images=bool(images),
             images_described=all((img.get("alt") or "").strip() for img in images))
    eb.add_item(_item("css", CSS, "text/css", (STYLES / "epub.css").read_bytes()))
    for n, name in enumerate(EPUB_FONTS):
        path = STYLES / "fonts" / name
        eb.add_item(_item(f"font-{n}", f"fonts/{name}", FONT_TYPES[path.suffix], path.read_bytes()))
    eb.add_item(_item("cover-image", cover.file_name, cover.media_type, cover.data, ["cover-image"]))
    eb.add_metadata(None, "meta", "", {"name": "cover", "content": "cover-image"})
    for n, (name, (media_type, data)) in enumerate(sorted(store.items.items())):
        eb.add_item(_item(f"image-{n}", name, media_type, data))

    spine = []
    for n, page in enumerate(pages):
        item = _item(f"doc-{n}", page.file_name, XHTML_TYPE, serialize(docs[page.file_name]))
        eb.add_item(item)
        spine.append(item)
    eb.add_item(_item("nav", nav.file_name, XHTML_TYPE, serialize(docs[nav.file_name]), ["nav"]))
    eb.add_item(epub.EpubNcx())
    eb.spine = spine
    eb.toc = ncx_toc(pages)
    guide_types = {"cover": "cover", "toc": "toc", "bodymatter": "text"}
    eb.guide = [{"type": guide_types[kind], "href": href, "title": LANDMARK_TITLES[kind]}
                for kind, href in landmarks(pages) if kind in guide_types]
    return eb, modified(book)


def _package_lang(opf: bytes, lang: str) -> bytes:
    """xml:lang on the package element, which ebooklib does not write (Ace asks for it)."""
    root = etree.fromstring(opf)
    root.set("{http://www.w3.org/XML/1998/namespace}lang", lang)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)


def reproducible_zip(data: bytes, when: datetime, lang: str) -> bytes:
    """The same archive with every entry dated `when` (zip cannot go before 1980)."""
    stamp = max((1980, 1, 1, 0, 0, 0), tuple(when.timetuple()[:6]))
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=stamp)
            entry.external_attr = 0o644 << 16
            entry.create_system = 3
            content = src.read(info)
            if info.filename.endswith(".opf"):
                content = _package_lang(content, lang)
            dst.writestr(entry, content, compress_type=info.compress_type, compresslevel=6)
    return out.getvalue()


def package_epub(book, cache=None, cover: Future | None = None) -> bytes:
    """The EPUB's bytes (B003 if it cannot be made); the parts' pages kept in `cache` (epub_kept.py)."""
    try:
        eb, when = build_epub(book, cache, cover)
        raw = io.BytesIO()
        epub.write_epub(raw, eb, {"epub3_pages": False, "epub3_landmark": False, "mtime": when,
                                  "raise_exceptions": True, "compresslevel": 0})  # compressed once, below
        return reproducible_zip(raw.getvalue(), when, book.meta.get("language") or "en")
    except AnthologyError:
        raise
    except Exception as exc:
        raise error("B003", f"could not make the EPUB: {exc}") from exc


def write_epub(book, target: Path, data: bytes | None = None) -> Path:
    """The EPUB (packaged now unless `data` is given), written to a temporary file and renamed."""
    data = package_epub(book) if data is None else data
    try:
        with atomic_output(target) as tmp:
            Path(tmp).write_bytes(data)
    except AnthologyError:
        raise
    except Exception as exc:
        raise error("B003", f"could not write {Path(target).name}: {exc}") from exc
    log.info("wrote %s", target)
    return target
