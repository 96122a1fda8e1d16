"""Footnotes: Pandoc's Note elements become numbered inline spans.

The span stays at the place of the call, so the print CSS can float it to the
foot of the page (`float: footnote`) and the EPUB renderer can turn it into a
noteref and an aside. Notes are numbered from 1 in each part, as in print.

A text may have a second series of notes (a source note, a translator's series)
whose labels are not numbers (`[^s1]`): those are marked with symbols (*, †, ‡ …)
and do not take a number from the main series. Pandoc's AST forgets labels, so
they are read from the Markdown in the order pandoc numbers notes: first reference first.
"""
from __future__ import annotations

import re

from .ast import block_inlines, span, walk

REFERENCE = re.compile(r"\[\^([^\]\s]+)\](?!:)")
SYMBOLS = ("*", "†", "‡", "§", "‖", "¶")


def reference_labels(markdown: str) -> list[str]:
    """Note labels in the order of their first reference."""
    return list(dict.fromkeys(REFERENCE.findall(markdown)))


def symbol(n: int) -> str:
    """*, †, ‡, §, ‖, ¶, then **, ††, …"""
    return SYMBOLS[(n - 1) % len(SYMBOLS)] * ((n - 1) // len(SYMBOLS) + 1)


def notes_to_spans(part) -> None:
    labels = reference_labels(part.body)
    seen, numbered, symbols = 0, 0, 0

    def convert(el: dict):
        nonlocal seen, numbered, symbols
        if el["t"] != "Note":
            return None
        label = labels[seen] if seen < len(labels) else str(seen + 1)
        seen += 1
        classes = ["footnote"]
        if label.isdigit():
            numbered += 1
            mark, ident = str(numbered), str(numbered)
        else:
            symbols += 1
            mark, ident = symbol(symbols), label
            classes.append("fn-symbol")
        paras = [span(block_inlines(b), classes=["fnp"]) for b in el["c"]]
        return span(paras, f"{part.id}--fn{ident}", classes, [("data-n", mark)])

    if part.ast is not None:
        part.ast = walk(part.ast, convert)
    part.note_count = numbered
    part.note_ids = [f"{part.id}--fn{n}" for n in range(1, numbered + 1)] + \
        [f"{part.id}--fn{label}" for label in labels if not label.isdigit()]
