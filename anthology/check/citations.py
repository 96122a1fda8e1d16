"""Citations: every `[@key]` or `@key` in the texts and notes names an entry of the bibliography
(C001); the bibliography is a list of entries with unique ids (C002, C003)."""
from __future__ import annotations

import difflib

from ..messages import CATALOGUE, Diagnostic
from .sources import BookSources, read_yaml


def bibliography_ids(book: BookSources, problems: list[Diagnostic]) -> set[str] | None:
    """The ids of the bibliography's entries; None if it could not be read (reported)."""
    name, doc = read_yaml(book.bibliography, book.root, problems)
    if doc is None:
        return None
    data, base = doc.data, ()
    if isinstance(data, dict) and "references" in data:
        data, base = data["references"], ("references",)
    if data is None:
        return set()
    if not isinstance(data, list):
        loc = doc.loc(base)
        problems.append(Diagnostic("C002", "the bibliography is not a list of entries", name, loc.line, loc.col))
        return None
    ids: dict[str, int] = {}
    for i, entry in enumerate(data):
        loc = doc.loc(base + (i,))
        if not isinstance(entry, dict):
            problems.append(Diagnostic("C002", f"bibliography entry {i + 1} is not a mapping", name, loc.line, loc.col))
            continue
        key = entry.get("id")
        if key is None or str(key).strip() == "":
            problems.append(Diagnostic("C002", f"bibliography entry {i + 1} has no id", name, loc.line, loc.col))
            continue
        key = str(key)
        if key in ids:
            where = doc.loc(base + (i, "id"))
            problems.append(Diagnostic("C003", f"bibliography id '{key}' is used twice (first at line {ids[key]})",
                                       name, where.line, where.col))
            continue
        ids[key] = doc.loc(base + (i, "id")).line
    return set(ids)


def check(book: BookSources) -> list[Diagnostic]:
    problems: list[Diagnostic] = []
    if book.bibliography is not None:
        known = bibliography_ids(book, problems)
        if known is None:
            return problems  # unreadable: its own problem is reported, every key would be 'unknown'
    elif book.bibliography_declared:
        return problems      # declared but missing: the manifest's M005/M006 says so
    else:
        known = set()
    for f in book.files:
        for cite in f.doc.citations:
            if cite.value in known:
                continue
            if book.bibliography is None:
                hint = ("No bibliography is declared: add `bibliography: bibliography.yaml` (CSL YAML) "
                        "to the manifest, or write the @ as \\@ if it is no citation.")
            else:
                close = difflib.get_close_matches(cite.value, sorted(known), n=1, cutoff=0.75)
                hint = f"Did you mean '@{close[0]}'? " + CATALOGUE["C001"][1] if close else None
            problems.append(Diagnostic("C001", f"citation '@{cite.value}' is not in the bibliography",
                                       f.name, cite.line, cite.col, hint))
    return problems
