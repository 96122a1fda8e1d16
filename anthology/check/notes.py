"""Footnotes: every reference has a definition (T003), every definition a reference (T004),
labels are defined once (T007), and no note calls another (T008)."""
from __future__ import annotations

from ..messages import Diagnostic
from .sources import BookSources


def check(book: BookSources) -> list[Diagnostic]:
    problems = []
    for f in book.files:
        doc = f.doc
        first_def = {}
        for d in doc.note_defs:
            if d.label in first_def:
                problems.append(Diagnostic("T007", f"note [^{d.label}] is defined twice "
                                                   f"(first at line {first_def[d.label].line})", f.name, d.line, d.col))
            else:
                first_def[d.label] = d
        referenced = set()
        for r in doc.note_refs:
            if r.in_note is None:
                referenced.add(r.label)  # a call from inside a note prints as it is: it calls nothing
            if r.in_note is not None:
                problems.append(Diagnostic("T008", f"note [^{r.in_note}] refers to note [^{r.label}]",
                                           f.name, r.line, r.col))
            elif r.label not in first_def:
                problems.append(Diagnostic("T003", f"note reference [^{r.label}] has no definition",
                                           f.name, r.line, r.col))
        for label, d in first_def.items():
            if label not in referenced:
                problems.append(Diagnostic("T004", f"note [^{label}] is defined but never referenced",
                                           f.name, d.line, d.col))
    return problems
