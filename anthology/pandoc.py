"""The only caller of pypandoc: Markdown to Pandoc AST, AST to HTML fragments.

Pandoc only ever sees a body with its front matter removed, runs with
`--sandbox` (it may read no file and fetch nothing), and with raw HTML and
metadata blocks turned off, so a text cannot make it read files or emit markup
of its own.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import pypandoc

from .messages import error

log = logging.getLogger(__name__)

MARKDOWN = "markdown-yaml_metadata_block-raw_html-raw_attribute-raw_tex"
SANDBOX = ["--sandbox", "+RTS", "-M1024m", "-RTS"]
DEFAULT_CSL = Path(__file__).resolve().parent.parent / "styles" / "csl" / "chicago-author-date.csl"


def _run(source: str, to: str, fmt: str, extra: list[str] | None = None) -> str:
    try:
        return pypandoc.convert_text(source, to, format=fmt, extra_args=SANDBOX + (extra or []))
    except OSError as exc:
        raise error("B001", f"pandoc could not be run: {exc}") from None
    except RuntimeError as exc:
        raise error("B001", f"pandoc failed: {str(exc).strip()}") from None


def version() -> str:
    return pypandoc.get_pandoc_version()


def markdown_to_ast(markdown: str) -> dict:
    return json.loads(_run(markdown, "json", MARKDOWN))


def citeproc_args(bibliography: Path | None, csl: Path) -> list[str]:
    """Arguments that let pandoc read exactly these two files, and nothing else."""
    if bibliography is None:
        return []
    return ["--citeproc", f"--bibliography={bibliography}", f"--csl={csl}", "-M", "link-citations=true"]


def ast_to_html(ast: dict, citeproc: list[str] | None = None) -> str:
    extra = ["--wrap=none"] + (citeproc or [])
    if citeproc:
        extra += ["-M", "suppress-bibliography=true"]
    return _run(json.dumps(ast), "html5", "json", extra)


def bibliography_html(bibliography: Path, csl: Path) -> str:
    """Every entry of the bibliography, rendered by citeproc in the chosen style."""
    document = "---\nnocite: |\n  @*\n---\n"
    return _run(document, "html5", "markdown", ["--wrap=none"] + citeproc_args(bibliography, csl))


def book_csl(manifest) -> Path:
    return manifest.csl or DEFAULT_CSL


def book_to_ast(book) -> None:
    """Parse every part's body and headnote."""
    for part in book.parts:
        if part.body.strip():
            part.ast = markdown_to_ast(part.body)
        if part.headnote.strip():
            part.headnote_ast = markdown_to_ast(part.headnote)


def book_to_html(book) -> None:
    """Render every part's transformed AST to one HTML fragment, citations resolved."""
    citeproc = citeproc_args(book.manifest.bibliography, book_csl(book.manifest))
    if book.manifest.bibliography is not None:
        book.bibliography_html = bibliography_html(book.manifest.bibliography, book_csl(book.manifest))
    for part in book.parts:
        if part.ast is not None:
            part.html = ast_to_html(part.ast, citeproc)
        if part.headnote_ast is not None:
            part.headnote_html = ast_to_html(part.headnote_ast, citeproc)
