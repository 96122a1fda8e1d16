"""Passes over each part's Pandoc AST, applied in this order."""
from __future__ import annotations

from .ids import prefix_heading_ids
from .notes import notes_to_spans

PASSES = [
    prefix_heading_ids,
    notes_to_spans,
]


def apply(book) -> None:
    for part in book.parts:
        for transform in PASSES:
            transform(part)
