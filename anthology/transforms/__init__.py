"""Passes over the Pandoc AST, applied in this order: first to each part, then across the book."""
from __future__ import annotations

from .citations import check_citations
from .ids import prefix_heading_ids
from .index import mark_index_terms
from .notes import notes_to_spans
from .typography import spaced_hyphens_to_dashes
from .xrefs import check_and_mark_links

PART_PASSES = [
    spaced_hyphens_to_dashes,
    prefix_heading_ids,
    notes_to_spans,
]

BOOK_PASSES = [
    check_citations,
    mark_index_terms,
    check_and_mark_links,
]


def apply(book) -> None:
    """The passes, over the parts not reused from the cache (whose HTML is finished); the book's
    passes take what they need of those from what the cache kept (see part_cache.py)."""
    for part in (p for p in book.parts if not p.reused):
        with part.unpacked():  # a packed part's ASTs parsed once for these passes (model.Part)
            for transform in PART_PASSES:
                transform(part)
    for transform in BOOK_PASSES:
        transform(book)
