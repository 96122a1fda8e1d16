"""`anthology build`: the whole pipeline, one stage a line."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from . import glyphs, pandoc, transforms
from .render import blocks
from .fsutil import folder_lock, remove_leftovers
from .check import check_book_sources
from .manifest import load_manifest
from .messages import AnthologyError
from .model import load_book
from .render.epub import write_epub
from .render.pdf import write_pdf

log = logging.getLogger(__name__)


def run_checks_first(manifest) -> None:
    """`anthology check`'s findings: warnings are logged, errors stop the build before any work."""
    problems = check_book_sources(manifest)
    for warning in (p for p in problems if p.severity != "error"):
        log.warning(warning.format())
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise AnthologyError(errors)
OUTPUTS = ("pdf", "epub")


@dataclass
class BuildResult:
    outputs: dict[str, Path]


def build(manifest_path: Path | str, out_dir: Path | str | None = None,
          only: tuple[str, ...] = OUTPUTS) -> BuildResult:
    manifest = load_manifest(manifest_path)
    out = Path(out_dir) if out_dir else manifest.root / "build"
    with folder_lock(out):
        return _build(manifest, out, only)


def _build(manifest, out: Path, only: tuple[str, ...]) -> BuildResult:
    remove_leftovers(out)
    run_checks_first(manifest)
    book = load_book(manifest)
    glyphs.check_book(book)
    pandoc.book_to_ast(book)
    transforms.apply(book)
    pandoc.book_to_html(book)
    blocks.number_book(book)
    outputs = {}
    if "pdf" in only:
        outputs["pdf"] = write_pdf(book, out / f"{manifest.slug}.pdf")
    if "epub" in only:
        outputs["epub"] = write_epub(book, out / f"{manifest.slug}.epub")
    return BuildResult(outputs)
