"""The print PDF: one HTML document laid out by WeasyPrint."""
from __future__ import annotations

import contextlib
import hashlib
import io
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
from . import preflight

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
    if pdf.get("page-figures") == "proportional":  # print.css makes them tabular (render/stamp.py)
        css += "a.xref::after { font-variant-numeric: oldstyle-nums proportional-nums; }"
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


def refusal_location(book, refusal) -> tuple[str | None, int | None, int | None]:
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



class Refusal(str):
    """A refused URL (the string itself), with the code, the file's name and why."""

    def __new__(cls, url: str, code: str, name: str, why: str):
        self = super().__new__(cls, url)
        self.code, self.name, self.why = code, name, why
        return self


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

    refused: list = []
    fetcher = ContainedFetcher(allowed_protocols=("file", "data"), fail_on_errors=True)
    fetcher.refused = refused
    fetcher.where = refusal_location
    return fetcher


XMP_DOCUMENT_ID = re.compile(rb"xmp\.did:[0-9a-f-]{36}")
TRAILER_ID = re.compile(rb"/ID \[\(([0-9a-f]{32})\) \(([0-9a-f]{32})\)\]")


def stable_ids(data: bytes, stable_uuid: bytes) -> bytes:
    """WeasyPrint writes a random XMP DocumentID and derives the trailer's /ID from it; both are
    replaced in place by values of the same length, so no offset moves."""
    data = XMP_DOCUMENT_ID.sub(b"xmp.did:" + stable_uuid, data)
    digest = hashlib.md5(TRAILER_ID.sub(b"", data)).hexdigest().encode()
    return TRAILER_ID.sub(b"/ID [(" + digest + b") (" + digest + b")]", data)


def pdf_metadata(book) -> dict:
    """The document information every chunk's PDF is given (the merged PDF keeps the first's)."""
    return {"title": book.meta["title"], "authors": list(book.meta.get("editors") or []),
            "description": book.meta.get("description"), "lang": book.meta.get("language") or "en",
            "generator": "anthology", "created": fixed_date(book), "modified": fixed_date(book)}


def tagged(output: dict) -> bool:
    return bool(pdf_options(output).get("pdf_tags"))


def lay_out_print(book, cache, folios: bool = True):
    """The print edition laid out in chunks in the layout workers (through the cache): sets
    `book.page_starts` and `book.index_pages`, and gives the layout the PDF is merged from
    (without its folios when only the EPUB is wanted)."""
    from .print_layout import ChunkFailed, lay_out

    output = book.manifest.output
    try:
        return lay_out(book, cache, page_css(output), pdf_options(output), pdf_metadata(book), STYLES, folios)
    except ChunkFailed as failed:
        raise _failure_error(book, failed.failure, f"{book.manifest.slug}.pdf") from None


def write_pdf(book, target: Path, layout=None) -> Path:
    """The PDF, merged from the chunks' layouts (laid out now, without a cache, if not given)."""
    if layout is None:
        from ..cache import BuildCache
        layout = lay_out_print(book, BuildCache(None), folios=not tagged(book.manifest.output))
    return start_pdf(book, target, layout).finish()


def start_pdf(book, target: Path, layout) -> "PendingPDF":
    """Start making the PDF (merged and preflighted in a layout worker, while the build's process
    packages the EPUB); its `finish()` puts it in place. A tagged PDF (the `screen` profile) is
    made in one pass, since the chunks' structure trees are not merged; so is a layout whose
    numbers never settled."""
    return PendingPDF(book, Path(target), layout)


class PendingPDF:
    """The PDF being made: merged in a worker, or (tagged, or unsettled) laid out in one pass at
    once, before the EPUB is packaged, since that pass sets the page starts the EPUB follows."""

    def __init__(self, book, target: Path, layout):
        self.book, self.target = book, target
        self.future, self.result = None, None
        stable = str(stable_document_id(book)).encode()
        with _coded_failures(book, target.name):
            if tagged(book.manifest.output) or not layout.settled:
                buffer = io.BytesIO()
                write_single_pass(book, buffer, target.name)
                self.result = checked_pdf(buffer.getvalue(), stable, book.manifest.output)
            else:  # a large book's in a process of its own, whose memory goes with it
                from . import workers
                from .merge import merged_pdf
                submit = workers.submit_alone if layout.large else workers.submit
                self.future = submit(merged_pdf, layout.lean(), stable, book.manifest.output)

    def wait(self) -> None:
        """Wait until the PDF is made (not yet put in place); what went wrong is said now."""
        self.result = self._result()
        self._made()

    def finish(self) -> Path:
        """Preflight's verdict, then the PDF written to a temporary file and put in place."""
        data = self._made()
        with _coded_failures(self.book, self.target.name), atomic_output(self.target) as tmp:
            Path(tmp).write_bytes(data)
        log.info("wrote %s (%s)", self.target, self.book.meta["title"])
        return self.target

    def _made(self) -> bytes:
        result = self._result()
        if "error" in result:
            raise _failure_error(self.book, result, self.target.name)
        if result["problems"]:
            raise preflight.refusal(result["problems"])
        return result["pdf"]

    def _result(self) -> dict:
        from concurrent.futures import CancelledError
        from concurrent.futures import TimeoutError as Timeout
        from concurrent.futures.process import BrokenProcessPool

        from .. import limits

        result = self.result
        if result is None:
            try:
                result = self.future.result(timeout=limits.CHUNK_TIMEOUT)
            except (BrokenProcessPool, CancelledError):
                result = {"error": "crashed", "message": "the worker merging the PDF stopped unexpectedly"}
            except Timeout:
                result = {"error": "timeout", "message": f"merging the PDF took more than {limits.CHUNK_TIMEOUT:.0f} s"}
        return result


def checked_pdf(data: bytes, stable_uuid: bytes, output: dict) -> dict:
    """The PDF with stable identifiers, and preflight's problems with it ({"pdf", "problems"})."""
    data = stable_ids(data, stable_uuid)
    return {"pdf": data, "problems": preflight.inspect(io.BytesIO(data), output).problems}


@contextlib.contextmanager
def _coded_failures(book, name: str):
    """Whatever goes wrong in the block becomes a coded error naming the file (see failure_of)."""
    try:
        yield
    except AnthologyError:
        raise
    except BaseException as exc:
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise _failure_error(book, failure_of(exc), name) from exc


def write_single_pass(book, target, name: str | None = None) -> None:
    """The whole book laid out as one WeasyPrint document: the reference the chunked layout equals."""
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    from .layout import page_starts, render_document, set_metadata

    fonts = FontConfiguration()
    fetcher = contained_fetcher([book.manifest.root, STYLES])
    try:
        stylesheet = CSS(filename=str(STYLES / "print.css"), font_config=fonts, url_fetcher=fetcher)
        document = render_document(book, stylesheet, fonts, fetcher, page_css(book.manifest.output),
                                   unmark=not tagged(book.manifest.output))
        book.page_starts = page_starts(document)
        set_metadata(document, pdf_metadata(book))
        document.write_pdf(target, **pdf_options(book.manifest.output))
    except BaseException as exc:  # WeasyPrint raises many kinds, a refused URL a BaseException
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        if fetcher.refused:
            raise _failure_error(book, failure_of(exc, fetcher), name or Path(target).name) from None
        raise


def failure_of(exc: BaseException, fetcher=None) -> dict:
    """What went wrong, as a value that crosses processes (`_failure_error` makes it a coded error)."""
    from ..fsutil import DISK_FULL

    if fetcher is not None and fetcher.refused:  # WeasyPrint wraps the refusal in its own error
        first = fetcher.refused[0]
        return {"error": "refused", "url": str(first), "code": first.code, "name": first.name, "why": first.why}
    if isinstance(exc, OSError) and exc.errno in DISK_FULL:
        return {"error": "disk-full", "message": exc.strerror or str(exc)}
    kinds = {MemoryError: "memory", RecursionError: "recursion"}
    kind = next((k for cls, k in kinds.items() if isinstance(exc, cls)), "other")
    return {"error": kind, "message": f"{type(exc).__name__}: {exc}"}


def _failure_error(book, failure: dict, name: str) -> AnthologyError:
    """The coded error for a failed layout or write (see `failure_of`)."""
    kind = failure["error"]
    if kind == "refused":
        refusal = Refusal(failure["url"], failure["code"], failure["name"], failure["why"])
        file, line, col = refusal_location(book, refusal)
        return error(refusal.code, f"the print renderer refused a resource: {refusal.why}", file, line, col)
    if kind == "disk-full":  # WeasyPrint writes the fonts to a temporary folder
        return error("B008", f"could not write {name}: {failure['message']} (the disk is full or a file size "
                             "limit was reached)", file=name)
    if kind == "memory":
        return error("B002", f"WeasyPrint ran out of memory writing {name}")
    if kind == "recursion":
        return error("B002", f"WeasyPrint could not write {name}: the document is nested too deeply")
    return error("B002", f"WeasyPrint could not write {name}: {failure.get('message')}")


def stable_document_id(book) -> uuid.UUID:
    from .epub import book_identifier
    return uuid.uuid5(uuid.NAMESPACE_URL, "anthology-pdf:" + book_identifier(book.meta))
