"""The only caller of pypandoc: Markdown to Pandoc AST, AST to HTML fragments.

Pandoc only ever sees a body with its front matter removed, runs with
`--sandbox` (it may read no file and fetch nothing), and with raw HTML and
metadata blocks turned off, so a text cannot make it read files or emit markup
of its own.
"""
from __future__ import annotations

import json
import logging

import pypandoc

from .messages import error

log = logging.getLogger(__name__)

MARKDOWN = "markdown-yaml_metadata_block-raw_html-raw_attribute-raw_tex"
SANDBOX = ["--sandbox", "+RTS", "-M1024m", "-RTS"]


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


def ast_to_html(ast: dict) -> str:
    return _run(json.dumps(ast), "html5", "json", ["--wrap=none"])


def book_to_ast(book) -> None:
    """Parse every part's body and headnote."""
    for part in book.parts:
        if part.body.strip():
            part.ast = markdown_to_ast(part.body)
        if part.headnote.strip():
            part.headnote_ast = markdown_to_ast(part.headnote)


def book_to_html(book) -> None:
    """Render every part's transformed AST to one HTML fragment."""
    for part in book.parts:
        if part.ast is not None:
            part.html = ast_to_html(part.ast)
        if part.headnote_ast is not None:
            part.headnote_html = ast_to_html(part.headnote_ast)
