"""Cross-references: every `#id` link must name one place in the book, and ids are unique.

Targets are the items' ids, their headings' ids and their notes' ids (see
docs/apparatus.md). Internal links get the class `xref`, which the print CSS
follows with the target's page number.
"""
from __future__ import annotations

import re
from html import unescape
from urllib.parse import unquote

from ..messages import AnthologyError, Diagnostic
from .ast import walk

_LINK = re.compile(r'<a\s[^>]*?href="#([^"]+)"')


def link_targets(part) -> list[str]:
    """The ids a finished part's links point to, read from its HTML (pandoc escapes URLs)."""
    html = part.html + part.headnote_html
    return list(dict.fromkeys(unquote(unescape(target)) for target in _LINK.findall(html)))


def _part_anchors(part) -> list[str]:
    anchors = [part.id] + [ident for _, ident, _ in part.sections if ident]
    anchors += getattr(part, "note_ids", [])
    return anchors + list(getattr(part, "index_anchors", []))


def collect_anchors(book) -> dict[str, str]:
    """Map every id in the book to the id of the part it stands in; X002 on a duplicate."""
    owner: dict[str, str] = {}
    problems = []
    root = book.manifest.root
    for part in book.parts:
        for anchor in _part_anchors(part):
            if anchor in owner:
                file, line, col = part.locate(f"#{anchor.split('--')[-1]}", root)
                problems.append(Diagnostic("X002", f"id '{anchor}' is used twice (also in '{owner[anchor]}')",
                                           file, line, col))
            owner[anchor] = part.id
    if problems:
        raise AnthologyError(problems)
    return owner


def check_and_mark_links(book) -> None:
    book.anchors = collect_anchors(book)
    problems = []
    root = book.manifest.root

    def visit(part):
        def link(el):
            if el["t"] != "Link":
                return None
            (ident, classes, kvs), inlines, (url, title) = el["c"]
            if not url.startswith("#"):
                return None
            target = url[1:]
            if target not in book.anchors:
                file, line, col = part.locate(f"(#{target}", root)
                problems.append(Diagnostic("X001", f"cross-reference to '#{target}', which is nowhere in the book",
                                           file, line, col))
                return None
            if "nopage" not in classes:
                classes = classes + ["xref"]
            return {"t": "Link", "c": [[ident, classes, kvs], inlines, [url, title]]}
        return link

    for part in book.parts:
        if part.reused:  # its links were marked; their targets must still be in the book
            for target in link_targets(part):
                if target not in book.anchors:
                    file, line, col = part.locate(f"(#{target}", root)
                    problems.append(Diagnostic("X001", f"cross-reference to '#{target}', which is nowhere in the book",
                                               file, line, col))
            continue
        with part.unpacked():
            if part.ast is not None:
                part.ast = walk(part.ast, visit(part))
            if part.headnote_ast is not None:
                part.headnote_ast = walk(part.headnote_ast, visit(part))
    if problems:
        raise AnthologyError(problems)
