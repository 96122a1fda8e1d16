"""The index page: terms in order, their printed pages merged into ranges.

Page numbers come from the print layout (`book.index_pages`: anchor id -> page);
the EPUB and the screen PDF show the same numbers, each linking to the first occurrence on that
page; the press PDF prints them as plain numbers. An EPUB that does not follow the print pages
(`output.epub.page-list: none`) names the texts instead.
"""
from __future__ import annotations

import unicodedata
from html import escape
from itertools import groupby


def sort_key(label: str) -> str:
    plain = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode().lower()
    return plain.lstrip("\"'“‘(")


def page_ranges(pages: list[int]) -> list[tuple[int, int]]:
    """[3, 4, 5, 9] -> [(3, 5), (9, 9)]."""
    out: list[tuple[int, int]] = []
    for page in sorted(set(pages)):
        if out and page == out[-1][1] + 1:
            out[-1] = (out[-1][0], page)
        else:
            out.append((page, page))
    return out


RANGE_DASH = "\u2060–\u2060"  # word joiners: a line never breaks inside a range (46–53)


def _first_anchors(book) -> dict[str, dict[int, tuple[str, str]]]:
    """For each term: its pages, each with the first occurrence on it (part id, anchor)."""
    pages = getattr(book, "index_pages", {})
    found: dict[str, dict[int, tuple[str, str]]] = {}
    for occ in book.index.occurrences:
        if occ.anchor in pages:
            found.setdefault(occ.term, {}).setdefault(pages[occ.anchor], (occ.part_id, occ.anchor))
    return found


def _locators(first_anchor: dict[int, tuple[str, str]], href, linked: bool) -> str:
    def locator(page: int) -> str:
        return f'<a href="{href(*first_anchor[page])}">{page}</a>' if linked else str(page)

    return ", ".join(locator(start) + (f"{RANGE_DASH}{locator(end)}" if end != start else "")
                     for start, end in page_ranges(list(first_anchor)))


def _first_in_each_part(book) -> dict[str, dict[str, str]]:
    """For each term: the parts it occurs in, in reading order, each with its first occurrence."""
    order = {part.id: n for n, part in enumerate(book.parts)}
    found: dict[str, dict[str, str]] = {}
    for occ in sorted(book.index.occurrences, key=lambda occ: order.get(occ.part_id, len(order))):
        found.setdefault(occ.term, {}).setdefault(occ.part_id, occ.anchor)
    return found


_SUFFIXES = {"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"}
_PARTICLES = {"da", "dal", "das", "de", "dei", "degli", "del", "della", "den", "der", "des", "di", "do", "dos", "du",
              "la", "las", "le", "les", "los", "st.", "ten", "ter", "van", "vom", "von", "y", "zu", "zur"}
_GIVEN_NAMES = {"van", "del"}  # particles that are also given names: Van Morrison is Morrison


def surname(name) -> str:
    """The family name as an index would give it: "Smith, John" and "John Smith" are Smith,
    "Martin Luther King Jr." is King; the first of several authors. A particle written with a
    capital belongs to it ("Ursula K. Le Guin" is Le Guin, "Martin Van Buren" Van Buren, "Le
    Corbusier" Le Corbusier), one in lower case does not ("Vincent van Gogh" is Gogh, as Chicago
    has it); the form with a comma says otherwise ("van Gogh, Vincent")."""
    if isinstance(name, list):
        name = name[0] if name else ""
    name = " ".join(str(name or "").split())
    head, _, tail = name.rpartition(",")
    if head and tail.strip().lower() in _SUFFIXES:  # "Martin Luther King, Jr."
        name = head
    if "," in name:
        return name.split(",")[0].strip()
    words = name.split()
    while len(words) > 1 and words[-1].lower() in _SUFFIXES:
        words.pop()
    if not words:
        return ""
    first = len(words) - 1
    while first > 0 and words[first - 1].lower() in _PARTICLES:
        first -= 1
    if first == 0 and len(words) > 1 and words[0].lower() in _GIVEN_NAMES:
        first = 1
    while first < len(words) - 1 and not words[first][0].isupper():
        first += 1
    return " ".join(words[first:])


def part_labels(book) -> dict[str, str]:
    """What an index without page numbers calls each part: a text, the surname it is signed with
    (its pen name's, if it has one); the editors' pages, and a text whose surname another text
    shares, their titles."""
    from ..transforms.typography import smart

    def signed(part) -> str:
        return surname(part.meta.get("pen-name") or part.meta.get("author")) if part.kind == "text" else ""

    names = [signed(part) for part in book.texts]
    return {part.id: smart(signed(part)) if signed(part) and names.count(signed(part)) == 1 else smart(part.title)
            for part in book.parts}


def index_body(book, href=lambda part_id, anchor: f"#{anchor}", linked: bool = True, by_part: bool = False) -> str:
    """The index; its page numbers link to their pages unless `linked` is false (the press PDF's:
    a print shop's file has no use for thousands of links, which take most of the index's layout).
    `by_part`: for an EPUB without print pages, each term names the parts it occurs in, each
    linking to its first occurrence there."""
    terms = [t for t in book.index.terms if t.parent is None]
    subs = {}
    for t in book.index.terms:
        if t.parent:
            subs.setdefault(t.parent, []).append(t)
    anchors = _first_in_each_part(book) if by_part else _first_anchors(book)
    labels = part_labels(book) if by_part else {}

    def locators(term) -> str:
        if by_part:
            return "; ".join(f'<a href="{href(part_id, anchor)}">{escape(labels.get(part_id, part_id))}</a>'
                             for part_id, anchor in anchors.get(term.key, {}).items())
        return _locators(anchors.get(term.key, {}), href, linked)

    out = []
    for letter, group in groupby(sorted(terms, key=lambda t: sort_key(t.label)),
                                 key=lambda t: sort_key(t.label)[:1].upper()):
        items = []
        for term in group:
            locs = locators(term)
            children = "".join(
                f'<li class="ix-sub">{escape(s.label)}, {locators(s)}</li>'
                for s in sorted(subs.get(term.key, []), key=lambda s: sort_key(s.label))
                if locators(s))
            if not locs and not children:
                continue
            head = f"{escape(term.label)}, {locs}" if locs else escape(term.label)
            items.append(f'<li class="ix-entry">{head}{f"<ul>{children}</ul>" if children else ""}</li>')
        if items:
            out.append(f'<section class="ix-letter"><h2>{escape(letter)}</h2><ul>{"".join(items)}</ul></section>')
    return f'<div class="index-entries">{"".join(out)}</div>'
