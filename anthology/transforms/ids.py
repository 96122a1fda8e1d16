"""Heading ids unique across the book, and the list of each part's sections."""
from __future__ import annotations

from .ast import stringify, walk


def prefix_heading_ids(part) -> None:
    """Prefix every heading id with the part's id; record (level, id, title)."""
    sections = []

    def visit(el: dict):
        if el["t"] != "Header":
            return None
        level, (ident, classes, kvs), inlines = el["c"]
        new_id = f"{part.id}--{ident}" if ident else ""
        sections.append((level, new_id, stringify(inlines)))
        return {"t": "Header", "c": [level, [new_id, classes, kvs], inlines]}

    if part.ast is not None:
        part.ast = walk(part.ast, visit)
    part.sections = sections
