"""The bibliography page: citeproc's rendering of every entry, and which texts cite each."""
from __future__ import annotations

import math
import re
import unicodedata
from functools import lru_cache
from html import escape

import lxml.html
from lxml import etree

from ..transforms.citations import bibliography_entries

STOPWORDS = {"the", "and", "of", "a", "an", "in", "on", "to", "for", "de", "la", "le", "les", "et", "du", "des",
             "from", "with", "its", "their", "vol", "volume"}
NOTE_DEF = re.compile(r"^\[\^[^\]]+\]:")


def _chunks(markdown: str) -> list[str]:
    """Paragraphs and notes of a text: the unit within which a citation is recognised."""
    return [c for c in re.split(r"\n\s*\n(?! {4})", markdown) if c.strip()]


def _fold(text: str) -> str:
    """Without accents: notes often drop them ("Lenine" for "Lénine")."""
    if text.isascii():
        return text
    return unicodedata.normalize("NFKD", text).translate(_combining_marks())


@lru_cache(maxsize=1)
def _combining_marks() -> dict[int, None]:
    """What `str.translate` drops: every combining mark of the Basic Multilingual Plane."""
    return {code: None for code in range(0x10000) if unicodedata.combining(chr(code))}


def _names(entry: dict) -> list[str]:
    people = (entry.get("author") or []) + (entry.get("editor") or [])
    return [p["family"] for p in people if isinstance(p, dict) and p.get("family")]


def _keywords(entry: dict) -> list[str]:
    """The words of the main title (before any subtitle), as a note would cite it."""
    main = re.split(r":\s", str(entry.get("title-short") or entry.get("title", "")))[0]
    words = re.findall(r"[A-Za-zÀ-ÿ]+", main)
    return [w.lower() for w in words if w.lower() not in STOPWORDS and len(w) > 2]


def cites(chunk: str, entry: dict) -> bool:
    """Whether a paragraph or note cites an entry.

    It must name an author. A short title (three words or fewer) must then follow the
    name closely, as in "Trotsky, *Stalin*"; a longer one may be cited by most of its words.
    """
    return _Citation(entry).found_in(_folded(chunk))


def _folded(chunk: str) -> str:
    return _fold(" ".join(chunk.lower().replace("*", "").split()))


class _Citation:
    """What a paragraph must hold to cite an entry, made once per entry (see `cites`)."""

    def __init__(self, entry: dict):
        keywords = [_fold(k) for k in _keywords(entry)]
        names = [_fold(n.lower()) for n in _names(entry)]
        self.possible = bool(names and keywords)
        self.short = len(keywords) <= 3
        if self.short:
            phrase = r"\W+(?:\w+\W+){0,3}?".join(re.escape(k) for k in keywords)
            gap = 60 if len(keywords) > 1 else 12  # a one-word title must follow the name at once
            self.patterns = [re.compile(rf"\b{re.escape(n)}\b.{{0,{gap}}}?\b{phrase}") for n in names]
        else:
            self.patterns = [re.compile(rf"\b{re.escape(n)}\b") for n in names]
            self.keywords = [re.compile(rf"\b{re.escape(k)}") for k in keywords]
            self.enough = max(1, math.ceil(0.6 * len(keywords)))

    def found_in(self, low: str) -> bool:
        if not self.possible or not any(p.search(low) for p in self.patterns):
            return False
        return self.short or sum(1 for k in self.keywords if k.search(low)) >= self.enough


def cited_in(book) -> dict[str, list]:
    """For each entry id, the texts (in book order) that cite it (found once a build: the print
    edition's bibliography and the EPUB's both show it)."""
    if "cited_in" not in book.derived:
        book.derived["cited_in"] = _cited_in(book)
    return book.derived["cited_in"]


def _cited_in(book) -> dict[str, list]:
    out: dict[str, list] = {}
    folded: dict[str, list[str]] = {}  # each text's paragraphs and notes, folded once

    def paragraphs(part) -> list[str]:
        if part.id not in folded:
            folded[part.id] = [_folded(c) for c in _chunks(part.body)]
        return folded[part.id]

    for entry in bibliography_entries(book.manifest):
        key = str(entry.get("id"))
        declared = entry.get("cited-in")  # the editor's word, where the heuristic cannot know
        citation = _Citation(entry)
        out[key] = [p for p in book.texts
                    if key in getattr(p, "citations", [])
                    or (p.id in declared if declared is not None
                        else any(citation.found_in(low) for low in paragraphs(p)))]
    return out


def short_name(part) -> str:
    from .index import surname

    author = surname(part.author) if part.author else part.title
    return f"{author} {part.meta.get('date', '')}".strip()


def bibliography_body(book, href=lambda part: f"#{part.id}") -> str:
    html = getattr(book, "bibliography_html", "")
    if not html.strip():
        return ""
    citing = cited_in(book)
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    for entry in root.xpath('//div[contains(@class, "csl-entry")]'):
        key = (entry.get("id") or "").removeprefix("ref-")
        parts = citing.get(key) or []
        if parts:
            links = ", ".join(f'<a href="{href(p)}">{escape(short_name(p))}</a>' for p in parts)
            entry.append(lxml.html.fragment_fromstring(f'<span class="cited-in">Cited in: {links}.</span>'))
    return "".join(etree.tostring(c, encoding="unicode", method="html") for c in root)
