"""The index: find each term's forms in the texts and leave an anchor at every occurrence.

Each occurrence's first word is wrapped in a `span.ix` with an id, so the
renderers can ask where it landed: a page in print, a file in the EPUB.
"""
from __future__ import annotations

import re
from functools import lru_cache
from dataclasses import dataclass, field
from pathlib import Path

from ..messages import AnthologyError, Diagnostic
from ..yamlsafe import load_yaml
from .ast import span

INLINE = {"Str", "Space", "SoftBreak", "LineBreak", "Emph", "Strong", "Quoted", "Span", "Link", "Cite",
          "Code", "Math", "SmallCaps", "Strikeout", "Superscript", "Subscript", "Underline", "Note", "RawInline"}
EDGE_PUNCT = "\"'“”‘’()[],.;:!?«»—–-"
POSSESSIVE = re.compile(r"['’]s$")


@dataclass
class Term:
    key: str                 # "Parent" or "Parent|Sub"
    label: str               # as printed
    forms: list[tuple[str, ...]]
    in_notes: bool = False
    line: int = 0
    parent: str | None = None


@dataclass
class Occurrence:
    term: str
    part_id: str
    anchor: str


@dataclass
class IndexData:
    terms: list[Term] = field(default_factory=list)
    occurrences: list[Occurrence] = field(default_factory=list)


def _term(entry, path: tuple, doc, parent: Term | None, problems: list) -> Term | None:
    loc = doc.loc(path)
    if not isinstance(entry, dict) or not isinstance(entry.get("term"), str):
        problems.append(Diagnostic("X004", "an index entry needs `term:` (text)", doc.file, loc.line, loc.col))
        return None
    forms = entry.get("match") or [entry["term"]]
    if not isinstance(forms, list) or not all(isinstance(f, str) for f in forms):
        problems.append(Diagnostic("X004", "`match:` must be a list of words", doc.file, loc.line, loc.col))
        return None
    key = f"{parent.key}|{entry['term']}" if parent else entry["term"]
    words = [tuple(_normal(w) for w in f.split()) for f in forms]
    return Term(key, entry["term"], [w for w in words if all(w)], bool(entry.get("notes")), loc.line,
                parent.key if parent else None)


def load_terms(path: Path) -> list[Term]:
    doc = load_yaml(path.read_text(encoding="utf-8"), path.name)
    entries = doc.data if isinstance(doc.data, list) else []
    terms, problems = [], []
    for i, entry in enumerate(entries):
        term = _term(entry, (i,), doc, None, problems)
        if term is None:
            continue
        terms.append(term)
        for j, sub in enumerate(entry.get("sub") or []):
            child = _term(sub, (i, "sub", j), doc, term, problems)
            if child:
                terms.append(child)
    if problems:
        raise AnthologyError(problems)
    return terms


@lru_cache(maxsize=1 << 16)  # a book has far fewer distinct words than words
def _normal(word: str) -> str:
    """A word as matched: without the punctuation around it or a possessive 's."""
    return POSSESSIVE.sub("", word.strip(EDGE_PUNCT)).strip(EDGE_PUNCT)


def _word(el) -> str | None:
    return _normal(el["c"]) if el.get("t") == "Str" else None


_LEAVES = frozenset({"Str", "Space", "SoftBreak", "LineBreak"})


class _Marker:
    def __init__(self, terms: list[Term], data: IndexData):
        self.data = data
        self.by_first: dict[str, list[tuple[tuple[str, ...], Term]]] = {}
        for term in terms:
            for form in term.forms:
                self.by_first.setdefault(form[0], []).append((form, term))
        for options in self.by_first.values():
            options.sort(key=lambda ft: -len(ft[0]))

    def match(self, inlines: list, i: int) -> Term | None:
        for form, term in self.by_first.get(_word(inlines[i]) or "", ()):
            j, ok = i, True
            for k, word in enumerate(form):
                if k:
                    j += 1
                    while j < len(inlines) and inlines[j]["t"] in ("Space", "SoftBreak"):
                        j += 1
                    ok = j < len(inlines) and _word(inlines[j]) == word
                if not ok:
                    break
            if ok:
                return term
        return None

    def mark(self, inlines: list, part, in_note: bool) -> list:
        out = []
        for i, el in enumerate(inlines):
            kind = el.get("t")
            term = self.match(inlines, i) if kind == "Str" else None
            if term is None and kind in _LEAVES:  # most of a text: nothing inside to mark
                out.append(el)
                continue
            if term and (term.in_notes or not in_note):
                anchor = f"ix-{part.id}-{len(part.index_anchors) + 1}"  # per part: an edit elsewhere keeps these ids
                self.data.occurrences.append(Occurrence(term.key, part.id, anchor))
                part.index_anchors.append(anchor)
                # The anchor wraps the word: WeasyPrint breaks lines badly around empty inline boxes.
                out.append(span([el], anchor, ["ix"], [("data-term", term.key)]))
                continue
            out.append(self.descend(el, part, in_note))
        return out

    def descend(self, node, part, in_note: bool):
        if isinstance(node, list):
            if node and isinstance(node[0], dict) and node[0].get("t") in INLINE:
                return self.mark(node, part, in_note)
            return [self.descend(x, part, in_note) for x in node]
        if isinstance(node, dict) and "t" in node:
            if node["t"] in ("Header", "Code", "CodeBlock", "RawBlock", "RawInline", "Math"):
                return node
            if not isinstance(node.get("c"), (list, dict)):
                return node
            note = in_note or (node["t"] == "Span" and "footnote" in node["c"][0][1])
            return {**node, "c": self.descend(node["c"], part, note)}
        return node


def mark_index_terms(book) -> None:
    book.index = IndexData()
    for part in (p for p in book.parts if not p.reused):
        part.index_anchors = []
    if book.manifest.index is None:
        return
    book.index.terms = load_terms(book.manifest.index)
    marker = _Marker(book.index.terms, book.index)
    for part in book.parts:  # the texts and the editors' own pages alike
        if part.reused:
            book.index.occurrences += part.index_occurrences
        elif not part.generated and (ast := part.ast) is not None:
            part.ast = {**ast, "blocks": marker.descend(ast["blocks"], part, False)}
