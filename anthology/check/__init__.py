"""`anthology check`: lint the whole book without rendering it (no pandoc, no WeasyPrint).

`run_checks(manifest_path)` validates the manifest (folding in everything `load_manifest`
reports and going on with what can still be read), then runs each family of checks over the
Markdown and YAML files. `check_book_sources(manifest)` runs the same families for an already
loaded manifest; the build calls it before rendering. See docs/check.md.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..manifest import Manifest, _Validator, load_manifest
from ..messages import AnthologyError, Diagnostic
from ..schema import SCHEMA
from ..yamlsafe import load_yaml
from . import citations, frontmatter, ids, images, index_terms, notes
from .sources import load_sources, relative

log = logging.getLogger(__name__)

FAMILIES = (frontmatter, notes, ids, citations, index_terms, images)


@dataclass(frozen=True)
class StrictDiagnostic(Diagnostic):
    """A warning that `--strict` makes an error."""

    @property
    def severity(self) -> str:
        return "error"


@dataclass
class CheckReport:
    diagnostics: list[Diagnostic] = field(default_factory=list)  # sorted by file, line, column
    seconds: float = 0.0

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity != "error"]

    @property
    def exit_code(self) -> int:
        return 1 if self.errors else 0

    def summary(self) -> str:
        e, w = len(self.errors), len(self.warnings)
        return (f"{e} error{'' if e == 1 else 's'}, {w} warning{'' if w == 1 else 's'} "
                f"in {self.seconds:.2f} s")


def _sort_key(d: Diagnostic):
    return (str(d.file or ""), d.line or 0, d.col or 0, d.code, d.message)


def _bibliography_declared(manifest: Manifest) -> bool:
    return manifest.bibliography is not None


def _index_path(manifest: Manifest) -> Path | None:
    return getattr(manifest, "index", None)


def check_book_sources(manifest: Manifest) -> list[Diagnostic]:
    """Every problem `anthology check` finds in the sources of a valid manifest, sorted.

    Problems of the manifest itself are `load_manifest`'s to report; this reads the texts,
    notes, bibliography, index and images it names. Nothing is printed."""
    return _check_sources(manifest, _index_path(manifest), _bibliography_declared(manifest))


def _check_sources(manifest: Manifest, index: Path | None, bibliography_declared: bool) -> list[Diagnostic]:
    book = load_sources(manifest, index, bibliography_declared)
    problems = list(book.problems) + _csl_problems(manifest)
    for family in FAMILIES:
        start = time.perf_counter()
        problems += family.check(book)
        log.debug("check %s: %.3f s", family.__name__.rsplit(".", 1)[-1], time.perf_counter() - start)
    return sorted(problems, key=_sort_key)


def _csl_problems(manifest: Manifest) -> list[Diagnostic]:
    """A citation style pandoc would fetch more of (a dependent style) is refused before any build."""
    csl = getattr(manifest, "csl", None)
    if csl is None:
        return []
    from ..pandoc import check_csl
    try:
        check_csl(csl, relative(csl, manifest.root))
    except AnthologyError as exc:
        return list(exc.diagnostics)
    return []


def _salvage(file: Path) -> tuple[Manifest, Path | None, bool] | None:
    """What can still be read of a manifest `load_manifest` refused: a Manifest whose broken
    values are left out (their problems are already reported), or None if it is no mapping."""
    try:
        doc = load_yaml(file.read_text(encoding="utf-8"), file.name)
    except (AnthologyError, OSError, UnicodeDecodeError):
        return None
    if not isinstance(doc.data, dict):
        return None
    root = file.resolve().parent
    v = _Validator(doc, root)
    top = v.mapping(doc.data, SCHEMA, ())
    contents = v.contents(doc.data.get("contents"))
    manifest = Manifest(root, file.resolve(), top["book"], contents, top["bibliography"], top["output"])
    return manifest, top.get("index"), doc.data.get("bibliography") is not None


def _manifest_relative(d: Diagnostic, file: Path, root: Path) -> Diagnostic:
    """load_manifest names the manifest as it was given; the report names it from its folder."""
    if d.file is not None and Path(d.file).resolve() == file.resolve():
        return replace(d, file=relative(file.resolve(), root))
    return d


def run_checks(manifest_path: Path | str, strict: bool = False) -> CheckReport:
    """Check the whole book named by `manifest_path`; never raises for problems of the book."""
    start = time.perf_counter()
    file = Path(manifest_path)
    root = file.resolve().parent
    try:
        manifest = load_manifest(file)
        problems = list(manifest.warnings)
        sources = _check_sources(manifest, _index_path(manifest), _bibliography_declared(manifest))
    except AnthologyError as exc:
        problems = list(exc.diagnostics)
        salvaged = _salvage(file) if file.is_file() else None
        sources = _check_sources(*salvaged) if salvaged else []
    problems = [_manifest_relative(d, file, root) for d in problems] + sources
    if strict:
        problems = [StrictDiagnostic(**{k: getattr(d, k) for k in ("code", "message", "file", "line", "col", "hint")})
                    if d.severity == "warning" else d for d in problems]
    report = CheckReport(sorted(problems, key=_sort_key), time.perf_counter() - start)
    log.debug("check: %s", report.summary())
    return report
