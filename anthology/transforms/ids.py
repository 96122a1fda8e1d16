"""Heading ids unique across the book, and the list of each part's sections."""
from __future__ import annotations

import re

from .ast import stringify, walk

EXPLICIT_ID = re.compile(r"^#{1,6}\s.*\{[^}]*#([\w:.-]+)", re.M)


def prefix_heading_ids(part) -> None:
    """Prefix every heading id with the part's id; record (level, id, title)."""
    sections = []
    explicit = set(EXPLICIT_ID.findall(part.body))

    def visit(el: dict):
        if el["t"] != "Header":
            return None
        level, (ident, classes, kvs), inlines = el["c"]
        new_id = ident if ident in explicit else f"{part.id}--{ident}" if ident else ""
        sections.append((level, new_id, stringify(inlines)))
        return {"t": "Header", "c": [level, [new_id, classes, kvs], inlines]}

    if part.ast is not None:
        part.ast = walk(part.ast, visit)
    part.sections = sections
