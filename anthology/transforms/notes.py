"""Footnotes: Pandoc's Note elements become numbered inline spans.

The span stays at the place of the call, so the print CSS can float it to the
foot of the page (`float: footnote`) and the EPUB renderer can turn it into a
noteref and an aside. Notes are numbered from 1 in each part, as in print.
"""
from __future__ import annotations

from .ast import block_inlines, span, walk


def notes_to_spans(part) -> None:
    counter = 0

    def convert(el: dict):
        nonlocal counter
        if el["t"] != "Note":
            return None
        counter += 1
        paras = [span(block_inlines(b), classes=["fnp"]) for b in el["c"]]
        return span(paras, f"{part.id}--fn{counter}", ["footnote"], [("data-n", str(counter))])

    if part.ast is not None:
        part.ast = walk(part.ast, convert)
    part.note_count = counter
