"""Citations: every `[@key]` must name an entry of the bibliography (C001)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from ..messages import AnthologyError, Diagnostic
from ..yamlsafe import load_yaml
from .ast import walk


@lru_cache(maxsize=8)
def _entries(path: Path, mtime: float) -> tuple[dict, ...]:
    doc = load_yaml(path.read_text(encoding="utf-8"), path.name)
    data = doc.data if isinstance(doc.data, list) else (doc.data or {}).get("references", [])
    return tuple(e for e in data if isinstance(e, dict))


def bibliography_entries(manifest) -> tuple[dict, ...]:
    path = manifest.bibliography
    return _entries(path, path.stat().st_mtime) if path else ()


def cited_keys(ast) -> list[str]:
    keys: list[str] = []

    def visit(el):
        if el["t"] == "Cite":
            keys.extend(c["citationId"] for c in el["c"][0])
        return None

    if ast is not None:
        walk(ast, visit)
    return keys


def check_citations(book) -> None:
    known = {str(e.get("id")) for e in bibliography_entries(book.manifest)}
    problems = []
    for part in (p for p in book.parts if not p.reused):  # a reused part's citations were checked
        part.citations = cited_keys(part.ast)  # the part's own; a headnote's are the editors'
        part.headnote_citations = cited_keys(part.headnote_ast)
        keys = part.citations + part.headnote_citations
        for key in dict.fromkeys(keys):
            if key not in known:
                file, line, col = part.locate(f"@{key}", book.manifest.root)
                problems.append(Diagnostic("C001", f"citation '@{key}' is not in the bibliography", file, line, col))
    if problems:
        raise AnthologyError(problems)
