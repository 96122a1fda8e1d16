"""The print PDF: one HTML document laid out by WeasyPrint."""
from __future__ import annotations

import hashlib
import logging
import os
import re
import uuid
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import unquote, urlparse

from ..fsutil import atomic_output, inside
from ..messages import AnthologyError, error
from ..schema import TRIM_SIZES
from . import html as pages
from . import blocks, preflight

log = logging.getLogger(__name__)

STYLES = Path(__file__).resolve().parent.parent.parent / "styles"
OUTPUT_PROFILE = STYLES / "icc" / "FOGRA39L-anthology.icc"
MARGINS = {"inner": "0.8in", "outer": "0.6in", "top": "0.75in", "bottom": "0.8in"}
BLEED = "0.125in"


def page_css(output: dict) -> str:
    """Trim size, mirrored margins, bleed and the press's colour profile, from the manifest."""
    pdf = output["pdf"]
    width, height = TRIM_SIZES[pdf["trim"]]
    m = MARGINS
    css = (
        f"@page {{ size: {width} {height}; margin: {m['top']} {m['outer']} {m['bottom']} {m['inner']}; }}"
        f"@page :left {{ margin-left: {m['outer']}; margin-right: {m['inner']}; }}"
        f"@page :right {{ margin-left: {m['inner']}; margin-right: {m['outer']}; }}"
    )
    if pdf["bleed"]:
        css += f"@page {{ bleed: {BLEED}; marks: crop; }}"
    if pdf["profile"] == "press":
        css += f"@color-profile device-cmyk {{ src: url({OUTPUT_PROFILE.as_uri()}); components: c, m, y, k; }}"
    return css


def pdf_options(output: dict) -> dict:
    """WeasyPrint's options for the manifest's profile."""
    if output["pdf"]["profile"] == "press":
        return {"pdf_variant": "pdf/x-4"}
    return {"pdf_tags": True}


def fixed_date(book) -> str:
    """The build date, from SOURCE_DATE_EPOCH or else 1 January of the book's year, so builds repeat."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    return f"{book.meta.get('year') or 2000}-01-01T00:00:00+00:00"


def contained_fetcher(roots: list[Path]):
    """A URL fetcher that serves regular files inside `roots` and data: URIs, within the limits of
    anthology/limits.py, and fails on anything else (the rendering stops; nothing is fetched).

    Refused: every scheme but file: and data:, any host, files outside `roots` (links resolved),
    anything that is not a regular file (a pipe, a device such as /dev/zero, a folder: checked on
    the open descriptor, never read), files over the byte limits, and images (from a file or a
    data: URI) over the pixel limit, judged from their header without decoding them. Each refusal
    is added to `fetcher.refused` as a `Refusal` before the error is raised.
    """
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    from .. import limits

    class Refusal(str):
        """A refused URL (the string itself), with the code, the file's name and why."""

        def __new__(cls, url: str, code: str, name: str, why: str):
            self = super().__new__(cls, url)
            self.code, self.name, self.why = code, name, why
            return self

    resolved_roots = [Path(os.path.realpath(root)) for root in roots]

    def name_of(path: Path) -> str:
        real = Path(os.path.realpath(path))
        for root, resolved in zip(roots, resolved_roots):
            if real.is_relative_to(resolved):
                prefix = "" if root == roots[0] else f"{Path(root).name}/"
                return prefix + real.relative_to(resolved).as_posix()
        return str(path)

    class ContainedFetcher(URLFetcher):
        def refuse(self, url: str, code: str, name: str, why: str):
            refused.append(Refusal(url, code, name, why))
            raise ValueError(f"refused to load {url}: {why}")

        def checked(self, url: str, name: str, data: bytes, headers=None):
            problem = limits.image_problem(data) if limits.image_size(data) else None
            if problem:
                self.refuse(url, "G003", name, f"image '{name}' {problem}")
            return URLFetcherResponse(url, data, headers)

        def fetch(self, url, headers=None):
            if url[:5].lower() == "data:":
                response = super().fetch(url, headers)
                try:
                    data = response.read(limits.MAX_RESOURCE_BYTES + 1)
                finally:
                    response.close()
                if len(data) > limits.MAX_RESOURCE_BYTES:
                    self.refuse(url, "G003", "a data: URI", "a data: URI is too large")
                return self.checked(url, "a data: URI", data, response.headers)
            parsed = urlparse(url)
            short = url if len(url) <= 120 else url[:117] + "..."
            if parsed.scheme.lower() != "file" or parsed.netloc not in ("", "localhost"):
                self.refuse(url, "B005", short, f"'{short}' is not a file in the book's folder")
            path = Path(unquote(parsed.path))
            if not any(inside(path, root) for root in roots):
                self.refuse(url, "B005", short, f"'{short}' is outside the book's folder")
            name = name_of(path)
            try:
                data = limits.read_regular(path, limits.MAX_RESOURCE_BYTES)
            except limits.TooLarge as exc:
                image = path.suffix.lower() in limits.IMAGE_SUFFIXES
                self.refuse(url, "G003" if image else "M010", name, f"'{name}' {exc}")
            except limits.Unreadable as exc:
                self.refuse(url, "B009", name, f"'{name}' {exc}")
            if path.suffix.lower() in limits.IMAGE_SUFFIXES and len(data) > limits.MAX_IMAGE_BYTES:
                self.refuse(url, "G003", name, f"image '{name}' is {limits.megabytes(len(data))} "
                                               f"(at most {limits.megabytes(limits.MAX_IMAGE_BYTES)})")
            return self.checked(url, name, data)

    def where(book, refusal) -> tuple[str | None, int | None, int | None]:
        """The text and line that asked for a refused resource, if a text names it; else the file itself."""
        if refusal.name == "a data: URI":
            needles = [str(refusal)[:60]]
        else:
            needles = [refusal.name, str(refusal), unquote(urlparse(str(refusal)).path)]
        needles = [n for n in needles if len(n) > 1]
        for part in book.parts:
            for needle in needles:
                file, line, col = part.locate(needle, book.manifest.root)
                if line is not None:
                    return file, line, col
        return (refusal.name if refusal.name != "a data: URI" else None), None, None

    refused: list = []
    fetcher = ContainedFetcher(allowed_protocols=("file", "data"), fail_on_errors=True)
    fetcher.refused = refused
    fetcher.where = where
    return fetcher


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


def render_document(book, fonts, fetcher):
    """Lay the book out, then fill in the index.

    A pass may move a paragraph to the next page where a note would leave its call
    behind, and is then laid out again. The index stands last, so once the rest is
    laid out its page numbers are known: only the index is laid out again, as its own
    document numbered from the page where it begins, and put in place of its draft.
    """
    from weasyprint import CSS

    stylesheet = CSS(filename=str(STYLES / "print.css"), font_config=fonts, url_fetcher=fetcher)
    pushed: list[str] = []
    book.index_pages = {}
    for attempt in range(MAX_NOTE_REPAIRS + 1):
        document = _layout(book, stylesheet, fonts, fetcher, pushed=pushed)
        misplaced = misplaced_notes(document)
        if not misplaced or attempt == MAX_NOTE_REPAIRS:
            break
        log.info("moving the paragraphs of notes %s to keep them with their calls", ", ".join(misplaced))
        pushed += misplaced
        document = None  # let the old layout go before the next one is made
    if misplaced:
        log.warning("notes %s still stand on a later page than their calls", ", ".join(misplaced))
    book.index_pages = anchor_pages(document)
    index = next((p for p in book.parts if p.generated == "index"), None)
    if index is None:
        return document
    if index is not book.parts[-1]:  # the index is not last: lay everything out again
        return _layout(book, stylesheet, fonts, fetcher, pushed=pushed)
    first = next(n for n, page in enumerate(document.pages) if index.id in page.anchors)
    final = _layout(book, stylesheet, fonts, fetcher, parts=[index],
                    extra_css=f"@page:first {{ counter-reset: page {first + 1}; }}")
    return document.copy(document.pages[:first] + final.pages)


def _layout(book, stylesheet, fonts, fetcher, pushed=(), parts=None, extra_css=""):
    from weasyprint import HTML

    document_html = pages.print_document(book, page_css(book.manifest.output) + extra_css, parts)
    html = HTML(string=push_paragraphs_of(document_html, list(pushed)),
                base_url=str(book.manifest.root) + "/", url_fetcher=fetcher)
    return html.render(stylesheets=[stylesheet], font_config=fonts)


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


XMP_DOCUMENT_ID = re.compile(rb"xmp\.did:[0-9a-f-]{36}")
TRAILER_ID = re.compile(rb"/ID \[\(([0-9a-f]{32})\) \(([0-9a-f]{32})\)\]")


def fix_document_id(path: Path, book) -> None:
    """Make the PDF's identifiers stable, so that the same inputs give the same bytes.

    WeasyPrint writes a random XMP DocumentID and derives the trailer's /ID from
    it; both are replaced in place by values of the same length, so no offset moves.
    """
    from .epub import book_identifier

    data = path.read_bytes()
    stable = uuid.uuid5(uuid.NAMESPACE_URL, "anthology-pdf:" + book_identifier(book.meta))
    data = XMP_DOCUMENT_ID.sub(b"xmp.did:" + str(stable).encode(), data)
    digest = hashlib.md5(TRAILER_ID.sub(b"", data)).hexdigest().encode()
    path.write_bytes(TRAILER_ID.sub(b"/ID [(" + digest + b") (" + digest + b")]", data))


def _set_metadata(document, book) -> None:
    meta = document.metadata
    meta.title = book.meta["title"]
    meta.authors = list(book.meta.get("editors") or [])
    meta.description = book.meta.get("description")
    meta.lang = book.meta.get("language") or "en"
    meta.generator = "anthology"
    meta.created = meta.modified = fixed_date(book)


def write_pdf(book, target: Path) -> Path:
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    fetcher = contained_fetcher([book.manifest.root, STYLES])
    meta = book.meta
    try:
        document = render_document(book, fonts, fetcher)
        book.page_starts = page_starts(document)
        _set_metadata(document, book)
        with atomic_output(target) as tmp:
            document.write_pdf(tmp, **pdf_options(book.manifest.output))
            fix_document_id(tmp, book)
            preflight.check(tmp, book.manifest.output)
    except AnthologyError:
        raise
    except BaseException as exc:  # WeasyPrint raises many kinds, a refused URL a BaseException
        if fetcher.refused:
            refusal = fetcher.refused[0]
            file, line, col = fetcher.where(book, refusal)
            raise error(refusal.code, f"the print renderer refused a resource: {refusal.why}", file, line, col) \
                from None
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        from ..fsutil import DISK_FULL
        if isinstance(exc, OSError) and exc.errno in DISK_FULL:  # WeasyPrint writes the fonts to a temporary folder
            raise error("B008", f"could not write {target.name}: {exc.strerror} (the disk is full or a file size "
                                "limit was reached)", file=str(target)) from None
        if isinstance(exc, MemoryError):
            raise error("B002", f"WeasyPrint ran out of memory writing {target.name}") from None
        if isinstance(exc, RecursionError):
            raise error("B002", f"WeasyPrint could not write {target.name}: the document is nested too deeply") \
                from None
        raise error("B002", f"WeasyPrint could not write {target.name}: {exc}") from exc
    log.info("wrote %s (%s)", target, meta["title"])
    return target
