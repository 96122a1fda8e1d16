"""The print PDF: one HTML document laid out by WeasyPrint."""
from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import unquote, urlparse

from ..fsutil import atomic_output, inside
from ..messages import AnthologyError, error
from ..schema import TRIM_SIZES
from . import html as pages

log = logging.getLogger(__name__)

STYLES = Path(__file__).resolve().parent.parent.parent / "styles"
MARGINS = {"inner": "0.8in", "outer": "0.6in", "top": "0.75in", "bottom": "0.8in"}


def page_css(output: dict) -> str:
    width, height = TRIM_SIZES[output["pdf"]["trim"]]
    m = MARGINS
    return (
        f"@page {{ size: {width} {height}; margin: {m['top']} {m['outer']} {m['bottom']} {m['inner']}; }}"
        f"@page :left {{ margin-left: {m['outer']}; margin-right: {m['inner']}; }}"
        f"@page :right {{ margin-left: {m['inner']}; margin-right: {m['outer']}; }}"
    )


def contained_fetcher(roots: list[Path]):
    """A URL fetcher that serves files inside `roots` and data: URIs, and fails on anything else."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class ContainedFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            if url.startswith("data:"):
                return super().fetch(url, headers)
            parsed = urlparse(url)
            path = Path(unquote(parsed.path))
            if parsed.scheme == "file" and any(inside(path, root) for root in roots) and path.is_file():
                return URLFetcherResponse(url, path.read_bytes())
            refused.append(url)
            raise ValueError(f"refused to load {url}")

    refused: list[str] = []
    fetcher = ContainedFetcher(allowed_protocols=("file", "data"), fail_on_errors=True)
    fetcher.refused = refused
    return fetcher


def write_pdf(book, target: Path) -> Path:
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    fetcher = contained_fetcher([book.manifest.root, STYLES])
    document = pages.print_document(book, page_css(book.manifest.output))
    stylesheet = CSS(filename=str(STYLES / "print.css"), font_config=fonts, url_fetcher=fetcher)
    html = HTML(string=document, base_url=str(book.manifest.root) + "/", url_fetcher=fetcher)
    meta = book.meta
    try:
        with atomic_output(target) as tmp:
            html.write_pdf(tmp, stylesheets=[stylesheet], font_config=fonts, pdf_variant=None,
                           pdf_identifier=False, uncompressed_pdf=False,
                           custom_metadata=False)
    except AnthologyError:
        raise
    except BaseException as exc:  # WeasyPrint raises many kinds, a refused URL a BaseException
        if fetcher.refused:
            raise error("B005", f"a resource outside the book was requested: {fetcher.refused[0]}") from None
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise error("B002", f"WeasyPrint could not write {target.name}: {exc}") from exc
    log.info("wrote %s (%s)", target, meta["title"])
    return target
