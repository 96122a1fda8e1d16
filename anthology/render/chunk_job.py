"""One job in a layout worker (see workers.py): a chunk laid out and written, its page numbers
drawn in (stamp.py), the book's fonts and styles loaded once and kept.

A job is a plain dict and so is its result, so that both cross the process boundary and the
cache as they are. Errors come back as values (`{"error": …}`): the build's process turns
them into coded diagnostics, naming the text that asked for a refused resource.
"""
from __future__ import annotations

import logging
import weakref

KEEP_BOOKS = 2
font_configurations: weakref.WeakSet = weakref.WeakSet()  # every one alive (workers._remove_font_folders)
_fetchers: dict[tuple, object] = {}  # (styles folder, its digest, book folder) -> its fetcher
_styles: dict[tuple, tuple] = {}    # the same -> (font configuration, stylesheet)


def nothing() -> None:
    return None


def prepare(tools: dict) -> None:
    """The book's fonts and styles loaded before its first chunk comes (see `loaded_tools`). If loading
    them warns or fails, they are let go, so that the first chunk loads them again and reports it."""
    collected = _Collected()
    logging.getLogger("weasyprint").addHandler(collected)
    try:
        _, _, fetcher = loaded_tools(tools)
        troubled = bool(fetcher.refused) or any(level >= logging.WARNING for _, level, _ in collected.records)
    except Exception:  # noqa: BLE001 (the first chunk meets the same problem and reports it)
        troubled = True
    finally:
        logging.getLogger("weasyprint").removeHandler(collected)
    if troubled:
        key = (tools["styles"], tools["styles_digest"], tools["root"])
        _styles.pop(key, None)
        _fetchers.pop(key, None)


def loaded_tools(job: dict):
    """The worker's font configuration, stylesheet and fetcher for this book, made once."""
    from pathlib import Path

    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    from .pdf import contained_fetcher

    key = (job["styles"], job["styles_digest"], job["root"])
    if key not in _fetchers:
        while len(_fetchers) >= KEEP_BOOKS:  # a long-lived worker lets the oldest book's fonts go
            oldest = next(iter(_fetchers))
            _fetchers.pop(oldest)
            _styles.pop(oldest, None)
        _fetchers[key] = contained_fetcher([Path(job["root"]), Path(job["styles"])])
    fetcher = _fetchers[key]
    fetcher.refused.clear()
    if key not in _styles:  # loads the fonts, which the fetcher may refuse
        fonts = FontConfiguration()
        font_configurations.add(fonts)  # before its folder is made, as the stylesheet loads the fonts
        _styles[key] = fonts, CSS(filename=str(Path(job["styles"]) / "print.css"), font_config=fonts,
                                  url_fetcher=fetcher)
    fonts, stylesheet = _styles[key]
    return fonts, stylesheet, fetcher


class _Collected(logging.Handler):
    """What WeasyPrint and the layout log while a job runs, sent back to the build's log."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.records: list[tuple[str, int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("weasyprint.progress"):
            return
        self.records.append((record.name, record.levelno, record.getMessage()))


def lay_out_chunk(job: dict) -> dict:
    """Lay out one chunk and write its PDF: see `render/chunks.py`."""
    collected = _Collected()
    loggers = [logging.getLogger(name) for name in ("weasyprint", "anthology")]
    for logger in loggers:
        logger.addHandler(collected)
    try:
        result = _lay_out(job)
    except BaseException as exc:  # WeasyPrint raises many kinds, a refused URL a BaseException
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        result = _failure(job, exc)
    finally:
        for logger in loggers:
            logger.removeHandler(collected)
    result["log"] = collected.records
    _collect_garbage()
    return result


def _collect_garbage() -> None:
    """A laid-out chunk's boxes hold cycles, which Python frees only when it collects its oldest
    objects: seldom, so that a worker held several chunks' worth. Collected after each chunk,
    quickly since the import's objects are frozen (`_import_weasyprint`)."""
    import gc

    gc.collect()


def _lay_out(job: dict) -> dict:
    from weasyprint import HTML

    from . import index_marks, stamp
    from .layout import lay_out, page_starts

    fonts, stylesheet, fetcher = loaded_tools(job)
    if job.get("stamp"):  # laid out last round with stand-ins for its page numbers: only those change
        document = stamp.stamped(job["stamp"], job["html"])
        if document is not None:
            return {"stamped": True, "pdf": _pdf(document, job)}

    sheets = [stylesheet] + ([_extra_css(job["extra_css"], fonts)] if job.get("extra_css") else [])
    parsed = []

    def render(document_html: str):
        parsed.append(HTML(string=document_html, base_url=job["root"] + "/", url_fetcher=fetcher))
        return parsed[-1].render(stylesheets=sheets, font_config=fonts)

    unmarked = index_marks.unmark(job["html"]) if job.get("unmark_index") else None
    document, late_notes = lay_out(unmarked.html if unmarked else job["html"], render)
    if job.get("only_page"):  # a blank verso: the one page wanted out of a small document
        document = document.copy([document.pages[job["only_page"]]])
    anchors = {}
    for number, page in enumerate(document.pages):  # a box split over pages names its anchor on each
        for name in page.anchors:
            anchors.setdefault(name, number)
    if unmarked:
        anchors.update(index_marks.mark_pages(document, unmarked))
    starts = [[s.page, s.section, s.block, s.offset] for s in page_starts(document)] if job.get("starts") else []
    if job.get("folio_pages") not in (None, len(document.pages)):
        raise RuntimeError(f"the folios of {job['chunk']} took {len(document.pages)} pages, "
                           f"not {job['folio_pages']}")
    held = bool(job.get("hold")) and stamp.hold(job["key"], job["hold"], job["html"], parsed[-1].etree_element, document)
    return {"pages": len(document.pages), "anchors": anchors, "starts": starts, "late_notes": late_notes,
            "folios": [_has_folio(page) for page in document.pages], "pdf": _pdf(document, job), "held": held}


def _pdf(document, job: dict) -> bytes | None:
    """The chunk's PDF, unless no PDF is merged from the chunks (print_layout.lay_out) or the chunk
    certainly changes (it printed stand-ins)."""
    import io

    from .layout import set_metadata

    if not job.get("write_pdf", True):
        return None
    set_metadata(document, job["metadata"])
    pdf = io.BytesIO()
    document.write_pdf(pdf, **job["pdf_options"])
    return pdf.getvalue()


def _has_folio(page) -> bool:
    """Whether the page has a folio box (empty in a chunk: its folio is stamped on later)."""
    return any(getattr(box, "at_keyword", None) in ("@top-left", "@top-right") and box.is_generated
               for box in page._page_box.children[1:])


_extra: dict[str, object] = {}


def _extra_css(css: str, fonts):
    from weasyprint import CSS

    if css not in _extra:
        _extra[css] = CSS(string=css, font_config=fonts)
    return _extra[css]


def _failure(job: dict, exc: BaseException) -> dict:
    from .pdf import failure_of

    return failure_of(exc, _fetchers.get((job["styles"], job["styles_digest"], job["root"])))


def forget() -> None:
    """Let go of every book's fonts, styles and kept layouts (the worker is leaving)."""
    from . import stamp

    stamp.forget()
    _styles.clear()
    _extra.clear()
    _fetchers.clear()
