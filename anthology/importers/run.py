"""Running an import: read sources, convert, apply recorded corrections, write the text.

The recipe of every import is kept in the text's own front matter (`sources`,
`import-format`) and the editor's fixes in `NAME.corrections.yaml` beside it, so
`anthology reimport` reproduces `texts/` exactly.
"""
from __future__ import annotations

import logging
from pathlib import Path

import yaml

from ..fsutil import atomic_output
from ..messages import Diagnostic, AnthologyError, error
from ..model import split_front_matter
from ..yamlsafe import load_yaml
from . import REGISTRY, ImportedText, detect_format
from ..fsutil import relative_name as _relative

log = logging.getLogger(__name__)

# Front matter keys in the order they are written.
KEY_ORDER = ("title", "subtitle", "author", "pen-name", "translator", "date", "language",
             "original-publication", "retrieved-from", "rights", "source-note", "sources", "import-format")


def read_source(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error("I003", f"cannot read the source: {exc}", file=str(path)) from None


def convert_sources(paths: list[Path], fmt: str = "auto", root: Path | None = None) -> ImportedText:
    """Convert one source, or merge several witnesses of one work (named relative to `root`)."""
    if len(paths) > 1:
        from .witnesses import merge_witnesses
        return merge_witnesses([(_relative(p, root or Path.cwd()), read_source(p)) for p in paths])
    path = paths[0]
    text = read_source(path)
    reason = ""
    if fmt == "auto":
        fmt, reason = detect_format(text)
        log.info("%s: detected format %s: %s", path, fmt, reason)
    if fmt not in REGISTRY:
        raise error("I001", f"unknown format '{fmt}' (known: {', '.join(sorted(REGISTRY))})", file=str(path))
    result = REGISTRY[fmt]().convert(text, str(path))
    result.report.detection = reason
    result.metadata.setdefault("import-format", fmt)
    return result


def corrections_path(output: Path) -> Path:
    return output.with_name(output.stem + ".corrections.yaml")


def apply_corrections(result: ImportedText, file: Path) -> ImportedText:
    """Apply the editor's recorded fixes: metadata to add, and exact replacements in the body."""
    if not file.is_file():
        return result
    doc = load_yaml(file.read_text(encoding="utf-8"), str(file))
    data = doc.data or {}
    problems = []
    result.metadata.update(data.get("metadata") or {})
    for i, fix in enumerate(data.get("replace") or []):
        loc = doc.loc(("replace", i))
        find, replace = (fix or {}).get("find"), (fix or {}).get("replace")
        if not isinstance(find, str) or not isinstance(replace, str):
            problems.append(Diagnostic("I004", "a correction needs `find:` and `replace:` strings",
                                       str(file), loc.line, loc.col))
            continue
        count = result.body.count(find)
        if count != 1:
            problems.append(Diagnostic("I004", f"`find` text occurs {count} times in the import, not once",
                                       str(file), loc.line, loc.col))
            continue
        result.body = result.body.replace(find, replace)
        why = fix.get("why", "")
        result.report.repairs.append(f"correction {i + 1}: {find!r} → {replace!r}" + (f" ({why})" if why else ""))
        result.report.counts["corrections_applied"] += 1
    if problems:
        raise AnthologyError(problems)
    return result


def render_text(result: ImportedText) -> str:
    meta = {k: result.metadata[k] for k in KEY_ORDER if k in result.metadata}
    meta.update({k: v for k, v in result.metadata.items() if k not in meta})
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=100)
    return f"---\n{front}---\n\n{result.body.strip()}\n"


def import_text(paths: list[Path], output: Path, fmt: str = "auto", root: Path | None = None,
                corrections: Path | None = None) -> ImportedText:
    """Import `paths` into `output`, applying the corrections recorded beside it."""
    root = root or Path.cwd()
    result = convert_sources(paths, fmt, root)
    result.metadata["sources"] = [_relative(p, root) for p in paths]
    result = apply_corrections(result, corrections or corrections_path(output))
    with atomic_output(output) as tmp:
        tmp.write_text(render_text(result), encoding="utf-8")
    return result



def recipe(text_file: Path) -> tuple[list[str], str] | None:
    """The sources and format a text was imported from, read from its front matter."""
    meta, _, _ = split_front_matter(text_file.read_text(encoding="utf-8"), str(text_file))
    if not meta.get("sources"):
        return None
    return list(meta["sources"]), str(meta.get("import-format") or "auto")
