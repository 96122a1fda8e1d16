"""Ids and cross-references (docs/apparatus.md): every id once in the book (X002), every `#id`
link pointing at one (X001).

The ids are those the build gives: each item's id; each heading's pandoc identifier prefixed
with the item's id (`ITEM--heading`), or the heading's own `{#id}` as it is; each note of a
body `ITEM--fnN`, N its number as printed (notes with a label of digits, and inline notes, are
numbered in order), and `ITEM--fnLABEL` for a note of the second series, whose label is not a
number (`[^s1]`, printed with a symbol; anthology/transforms/notes.py). Headnotes add no ids.
"""
from __future__ import annotations

import difflib
from urllib.parse import unquote

from ..messages import CATALOGUE, Diagnostic
from .markdown import auto_identifier, unique_identifier
from .sources import BookSources


class Anchors:
    def __init__(self):
        self.where: dict[str, tuple[str, int | None, int | None, str]] = {}
        self.problems: list[Diagnostic] = []

    def add(self, anchor: str, file: str, line: int | None, col: int | None, what: str) -> None:
        if anchor in self.where:
            first = self.where[anchor]
            if first[3] == what == "item":
                return  # two items with one id: the manifest's M008 says so
            at = f"{first[0]}:{first[1]}" if first[1] else first[0]
            self.problems.append(Diagnostic("X002", f"id '{anchor}' of this {what} is used twice "
                                                    f"(also by the {first[3]} at {at})", file, line, col))
            return
        self.where[anchor] = (file, line, col, what)


def book_anchors(book: BookSources) -> Anchors:
    anchors = Anchors()
    for item in book.items:
        anchors.add(item.id, book.manifest_name, item.line, None, "item")
    for f in book.bodies():
        used: set[str] = set()
        for h in f.doc.headings:
            if h.explicit_id:
                ident, anchor, col = h.explicit_id, h.explicit_id, h.id_col
            else:
                ident = unique_identifier(auto_identifier(h.text), used)
                anchor, col = f"{f.item.id}--{ident}", h.col
            used.add(ident)
            anchors.add(anchor, f.name, h.line, col, "heading")
        numbered, series = 0, set()
        for line, col, label in f.doc.notes_in_order():
            if label is not None and not label.isdigit():
                if label in series:
                    continue  # called twice: one note, one id
                series.add(label)
                ident = label
            else:
                numbered += 1
                ident = str(numbered)
            anchors.add(f"{f.item.id}--fn{ident}", f.name, line, col, "note")
    return anchors


def check(book: BookSources) -> list[Diagnostic]:
    anchors = book_anchors(book)
    problems = list(anchors.problems)
    known = list(anchors.where)
    for f in book.files:
        for link in f.doc.links:
            target = unquote(link.value)
            if target in anchors.where or target.split("--")[0] in book.unread:
                continue  # (a link into a text that could not be read is not judged)
            close = difflib.get_close_matches(target, known, n=1, cutoff=0.75)
            hint = f"Did you mean '#{close[0]}'? " + CATALOGUE["X001"][1] if close else None
            problems.append(Diagnostic("X001", f"cross-reference to '#{target}', which is nowhere in the book",
                                       f.name, link.line, link.col, hint))
    return problems
