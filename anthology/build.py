"""`anthology build`: the whole pipeline, one stage a line."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import glyphs, part_cache
from .cache import FOLDER as CACHE_FOLDER, BuildCache
from .check import check_book_sources
from .fsutil import folder_lock, remove_leftovers
from .making import likely_made_packed, made_packed, make_texts
from .manifest import load_manifest
from .messages import AnthologyError, Diagnostic
from .model import load_book
from .render.cover import start_cover
from .render.epub import package_epub, write_epub
from .render.html import follows_print_pages
from .render import workers
from .render.pdf import STYLES, lay_out_print, start_pdf, tagged
from .render.print_layout import tools_of

log = logging.getLogger(__name__)

OUTPUTS = ("pdf", "epub")


def needs_layout(manifest, only: tuple[str, ...]) -> bool:
    """The print layout is wanted for the PDF, or for an EPUB that follows the print pages."""
    return "pdf" in only or follows_print_pages(manifest)


def lay_out(book, cache, only: tuple[str, ...]):
    """The print layout, which the PDF is made from and the EPUB's page list follows. Without the
    PDF, a layout that fails leaves the EPUB without a page list (E007) rather than stopping it."""
    if "pdf" in only:  # a tagged PDF is laid out in one pass: its folios are not stamped on
        return lay_out_print(book, cache, folios=not tagged(book.manifest.output))
    if not needs_layout(book.manifest, only):
        return None
    try:
        return lay_out_print(book, cache, folios=False)
    except AnthologyError as exc:
        why = "; ".join(d.message for d in exc.diagnostics)
        log.warning(Diagnostic("E007", f"the EPUB has no page list: the print edition could not be laid out ({why})",
                               book.manifest.file.name).format())
        book.page_starts = []
        return None


def run_checks_first(manifest) -> None:
    """`anthology check`'s findings: warnings are logged, errors stop the build before any work."""
    problems = check_book_sources(manifest)
    for warning in (p for p in problems if p.severity != "error"):
        log.warning(warning.format())
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise AnthologyError(errors)


@dataclass
class BuildResult:
    outputs: dict[str, Path]
    converted: list[str] = field(default_factory=list)  # what pandoc converted
    cached: list[str] = field(default_factory=list)     # what came from build/.cache/
    stages: list[tuple[str, float]] = field(default_factory=list)  # (stage, seconds)

    @property
    def seconds(self) -> float:
        return sum(s for _, s in self.stages)


class Stages:
    """Runs one stage, logs its start and its time (for -v and the progress display), keeps the times."""

    def __init__(self):
        self.times: list[tuple[str, float]] = []

    def __call__(self, name: str, fn, *args):
        log.debug("%s …", name, extra={"stage": name, "stage_event": "start"})
        start = time.perf_counter()
        result = fn(*args)
        self.times.append((name, time.perf_counter() - start))
        log.info("%s: %.2f s", name, self.times[-1][1], extra={"stage": name, "stage_event": "end"})
        return result


def build(manifest_path: Path | str, out_dir: Path | str | None = None,
          only: tuple[str, ...] = OUTPUTS, use_cache: bool = True) -> BuildResult:
    """Build the book's outputs into `out_dir` (default: build/ beside the manifest).

    Pandoc's conversions and the print layout are cached in `out_dir/.cache/`
    unless `use_cache` is false (`--no-cache`), which neither reads nor writes it.
    """
    manifest = load_manifest(manifest_path)
    out = Path(out_dir) if out_dir else manifest.root / "build"
    with folder_lock(out):
        return _build(manifest, out, only, BuildCache(out / CACHE_FOLDER if use_cache else None))


def _build(manifest, out: Path, only: tuple[str, ...], cache: BuildCache) -> BuildResult:
    stage, outputs = Stages(), {}
    tools, layout_wanted = tools_of(manifest.root, STYLES), needs_layout(manifest, only)
    if layout_wanted and not likely_made_packed(manifest):
        workers.warm_up(tools, count=1)  # loads WeasyPrint and the fonts while pandoc works
    remove_leftovers(out)
    stage("checking the sources", run_checks_first, manifest)
    book = stage("reading the texts", load_book, manifest)
    stage("checking the glyphs", glyphs.check_book, book)
    reused = stage("reusing the unchanged texts", part_cache.reuse, cache, book)
    packed = made_packed(book)  # a large book's: its layout workers start after its texts, not beside pandoc
    if layout_wanted and not packed:  # much to lay out: every worker; after an edit, the others would slow pandoc
        workers.warm_up(tools, count=None if reused < len(book.texts) / 2 else 1)
    make_texts(book, cache, stage)  # pandoc, the transforms, pandoc again, sanitised, numbered, kept
    if layout_wanted and packed:
        workers.warm_up(tools)
    cover = start_cover(book) if "epub" in only else None  # drawn while the print edition is laid out
    layout = stage("laying out the print edition", lay_out, book, cache, only)
    one_at_a_time = layout is not None and layout.large  # for the memory: see print_layout.LEAN_FROM_PAGES
    if one_at_a_time:
        workers.shut_down()
    if "pdf" in only:  # merged in a worker while the EPUB is packaged here; a large book's first
        pdf = stage("merging the PDF", cache.start_pdf, book, out / f"{manifest.slug}.pdf", layout, start_pdf)
        if one_at_a_time:
            stage("waiting for the PDF", pdf.wait)
    if "epub" in only:
        epub = stage("packaging the EPUB", package_epub, book, cache, cover)
    if "pdf" in only:  # the outputs are put in place last, the PDF first, as each is made
        outputs["pdf"] = stage("writing the PDF", pdf.finish)
    if "epub" in only:
        outputs["epub"] = stage("writing the EPUB", write_epub, book, out / f"{manifest.slug}.epub", epub)
    cache.finish()
    return BuildResult(outputs, cache.converted, cache.cached, stage.times)
