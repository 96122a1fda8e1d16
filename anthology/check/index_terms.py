"""The index file (docs/apparatus.md): malformed entries (X004), unknown keys or kinds (X005),
and terms whose forms occur nowhere (X003).

A form is found as the build finds it (anthology/transforms/index.py): whole words, case as
written, a word stripped of the punctuation at its edges and of a possessive 's, in the body
of every item except headings and code, in the notes only for a term with `notes: true`.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass

from ..messages import Diagnostic
from ..transforms.index import EDGE_PUNCT, POSSESSIVE
from ..yamlsafe import YamlDoc
from .markdown import prose_blocks
from .sources import BookSources, read_yaml, relative

KEYS = ("term", "match", "kind", "notes", "sub")
KINDS = ("person", "organisation", "event", "place", "topic")


@dataclass
class Term:
    label: str
    forms: list[tuple[str, ...]]
    notes: bool
    line: int
    col: int


class _Reader:
    def __init__(self, doc: YamlDoc, name: str):
        self.doc, self.name = doc, name
        self.problems: list[Diagnostic] = []
        self.terms: list[Term] = []

    def report(self, code: str, message: str, path: tuple, hint: str | None = None, key: bool = False) -> None:
        loc = (self.doc.key_locs.get(path) if key else None) or self.doc.loc(path)
        self.problems.append(Diagnostic(code, message, self.name, loc.line, loc.col, hint))

    def entries(self, data, path: tuple, parent: str | None) -> None:
        for i, entry in enumerate(data):
            self.entry(entry, path + (i,), parent)

    def entry(self, entry, path: tuple, parent: str | None) -> None:
        if not isinstance(entry, dict):
            self.report("X004", "an index entry must be a mapping with `term:`", path)
            return
        for key in entry:
            if key not in KEYS or (key == "sub" and parent is not None):
                close = difflib.get_close_matches(str(key), KEYS, n=1)
                hint = ("Sub-entries cannot have sub-entries of their own: these are ignored."
                        if key == "sub" else f"Did you mean '{close[0]}'?" if close else None)
                self.report("X005", f"unknown key '{key}' in an index entry", path + (key,), hint, key=True)
        term = entry.get("term")
        if not isinstance(term, str) or not term.strip():
            self.report("X004", "an index entry needs `term:` (text)", path + ("term",) if "term" in entry else path)
            return
        ok = True
        forms = entry.get("match")
        if forms is None:
            forms = [term]
        elif not isinstance(forms, list) or not all(isinstance(f, str) and f.strip() for f in forms):
            self.report("X004", "`match:` must be a list of words", path + ("match",),
                        "Write the forms as a list, e.g. `match: [Lenin, Lenin's]`.")
            ok = False
        kind = entry.get("kind")
        if kind is not None and kind not in KINDS:
            close = difflib.get_close_matches(str(kind), KINDS, n=1)
            self.report("X005", f"unknown kind '{kind}'", path + ("kind",),
                        (f"Did you mean '{close[0]}'? " if close else "") + f"Use one of: {', '.join(KINDS)}.")
        notes = entry.get("notes", False)
        if not isinstance(notes, bool):
            self.report("X004", "`notes:` must be true or false", path + ("notes",))
            ok = False
        label = f"{parent}, {term}" if parent else term
        if ok:
            loc = self.doc.loc(path + ("term",))
            words = [tuple(_word(w) for w in f.split()) for f in forms]
            self.terms.append(Term(label, [w for w in words if all(w)], notes, loc.line, loc.col))
        sub = entry.get("sub")
        if parent is None and sub is not None:
            if isinstance(sub, list):
                self.entries(sub, path + ("sub",), term)
            else:
                self.report("X004", "`sub:` must be a list of entries", path + ("sub",))


def read_index(book: BookSources, problems: list[Diagnostic]) -> list[Term] | None:
    name, doc = read_yaml(book.index, book.root, problems)
    if doc is None:
        return None
    reader = _Reader(doc, name)
    if isinstance(doc.data, list):
        reader.entries(doc.data, (), None)
    elif doc.data is not None:
        reader.report("X004", "the index must be a list of entries `- term: ...`", ())
    problems.extend(reader.problems)
    return reader.terms


def _word(word: str) -> str:
    """A word as the build matches it: without the punctuation (or emphasis) around it or a possessive 's."""
    edges = EDGE_PUNCT + "*_"
    return POSSESSIVE.sub("", word.strip(edges)).strip(edges)


def found_terms(book: BookSources, terms: list[Term]) -> set[int]:
    """Indexes (in `terms`) of the terms found somewhere in the book."""
    by_first: dict[str, list[tuple[tuple[str, ...], int]]] = {}
    for n, term in enumerate(terms):
        for form in term.forms:
            by_first.setdefault(form[0], []).append((form, n))
    found: set[int] = set()
    for f in book.bodies():
        if f.item.generated:
            continue
        for block in prose_blocks(f.doc):
            words = [_word(w) for w, _ in block]
            for i, word in enumerate(words):
                for form, n in by_first.get(word, ()):
                    if n not in found and tuple(words[i:i + len(form)]) == form \
                            and (terms[n].notes or not block[i][1]):
                        found.add(n)
            if len(found) == len(terms):
                return found
    return found


def check(book: BookSources) -> list[Diagnostic]:
    if book.index is None:
        return []
    problems: list[Diagnostic] = []
    terms = read_index(book, problems)
    if not terms:
        return problems
    found = found_terms(book, terms)
    name = relative(book.index, book.root)
    for n, term in enumerate(terms):
        if n not in found:
            forms = "; ".join(" ".join(f) for f in term.forms)
            problems.append(Diagnostic("X003", f"index term '{term.label}' matches nothing in the book "
                                               f"(looked for: {forms})", name, term.line, term.col))
    return problems
