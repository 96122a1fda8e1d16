"""The print edition laid out in chunks on every core: the prelims, then one chunk per part.

Why a part lays out alone exactly as it does in the whole book: every `.part` starts on a
right-hand page (`break-before: right`) and resets its footnote counter, its running heads come
from `string-set` inside it, and `@page part:nth(1 of part)` restarts with each part. So the
page breaks inside a part depend on nothing before it — except a few numbers it prints:

- its folios: the chunk is laid out with empty folio boxes, and the folios, laid out apart as
  pages that hold nothing else (one document as long as the book), are stamped onto its pages;
- the pages its cross-references, the contents and the index point to: those inside the chunk
  come from WeasyPrint's `target-counter` as in one pass (the chunk is then numbered from where
  it begins, `@page:first { counter-reset }`); those outside it are given as
  `data-page` attributes (print.css prints them the same way) and their targets as empty,
  absolutely placed anchors (`stubs`), so that WeasyPrint keeps the links.

These numbers are found the way WeasyPrint finds its own `target-counter`s: lay every chunk
out with the numbers we believe (those of the last build, when the cache has them), read the
numbers the layouts give, and lay out again only the chunks whose numbers were wrong, until
none is. A first build takes two rounds; an edit to one text, usually one chunk. Every
chunk's layout is cached by its HTML, so what did not change is never laid out again.
"""
from __future__ import annotations

import html
import logging
import re
from urllib.parse import unquote
from dataclasses import dataclass, field

from . import html as pages

log = logging.getLogger("anthology.render.pdf")

MAX_ROUNDS = 6
# Names of the layout's jobs that are not parts hold a space, which no part's id can.
PRELIMS = "the prelims"
_ID = re.compile(r'\sid="([^"]+)"')
_A_TAG = re.compile(r"<a\s[^>]*>")
_HREF = re.compile(r'href="#([^"]+)"')
_START_CSS = "@page:first {{ counter-reset: page {} }}"
# A chunk keeps its folio boxes, empty: its pages do not depend on where it starts. The folios
# are laid out apart, as pages holding nothing else, and stamped onto the chunk's (merge.py).
CHUNK_CSS = '@page :left { @top-left { content: "" } } @page :right { @top-right { content: "" } }'
FOLIO_CSS = "@page { marks: none } .folio { break-after: page } .folio:last-child { break-after: auto }"
STUB_BOX = '<div class="chunk-stubs" style="position: absolute; width: 0; height: 0; overflow: hidden">{}</div>'


@dataclass
class Chunk:
    name: str                     # PRELIMS, or the part's id
    part: object | None           # the Part (None for the prelims)
    body: str | None = None       # the HTML body, made once (None for the index: made each round)
    ids: frozenset = frozenset()  # the ids its body holds
    outside: tuple = ()           # the ids it links to in other chunks
    start_matters: bool = False   # whether its own cross-references print page numbers

def make_chunks(book) -> list[Chunk]:
    """The prelims and each part, with what each holds and where each links to."""
    chunks = [Chunk(PRELIMS, None, "".join(pages.prelims(book)))]
    chunks += [Chunk(part.id, part, None if part.generated == "index" else pages.part_section(book, part))
               for part in book.parts]
    for chunk in chunks:
        _describe(chunk, chunk.body if chunk.body is not None else pages.part_section(book, chunk.part))
    return chunks


def _describe(chunk: Chunk, body: str) -> None:
    chunk.ids = frozenset(html.unescape(i) for i in _ID.findall(body))
    outside, start_matters = [], False
    for tag in _A_TAG.findall(body):
        target = _target(tag)
        if target is None:
            continue
        if target not in chunk.ids:
            outside.append(target)
        elif _is_xref(tag):
            start_matters = True
    chunk.outside = tuple(dict.fromkeys(outside))
    chunk.start_matters = start_matters


def _target(tag: str) -> str | None:
    """The id an `<a>` tag links to in the book, as WeasyPrint reads it (pandoc escapes URLs)."""
    href = _HREF.search(tag)
    return unquote(html.unescape(href.group(1))) if href else None


def _is_xref(tag: str) -> bool:
    classes = re.search(r'class="([^"]*)"', tag)
    return bool(classes) and "xref" in classes.group(1).split()


@dataclass
class Numbers:
    """What a round believes: where each chunk starts, and the page of every anchor."""
    starts: dict[str, int] = field(default_factory=dict)
    anchors: dict[str, int] = field(default_factory=dict)
    total: int = 0  # the book's pages


def chunk_html(book, chunk: Chunk, css: str, numbers: Numbers) -> str:
    """The chunk as a complete HTML document, with the numbers it cannot know alone."""
    body = chunk.body if chunk.body is not None else _index_body(book, chunk, numbers)

    def with_page(tag: re.Match) -> str:
        """The page of a target outside the chunk, on the links that print it."""
        target = _target(tag.group(0))
        if target is None or target in chunk.ids or not (chunk.part is None or _is_xref(tag.group(0))):
            return tag.group(0)
        return tag.group(0)[:-1] + f' data-page="{numbers.anchors.get(target, 0)}">'

    body = _A_TAG.sub(with_page, body)
    if chunk.outside:  # inside the last element, so that no page is made for them
        stubs = STUB_BOX.format("".join(f'<span id="{html.escape(target)}"></span>' for target in chunk.outside))
        end = body.rfind("</")
        body = body[:end] + stubs + body[end:]
    start = _START_CSS.format(numbers.starts.get(chunk.name, 1)) if chunk.start_matters else ""
    return pages.html_document(book, css + start, [body])


def folio_html(book, css: str, count: int) -> str:
    """As many pages as the book has, holding nothing but their folios."""
    return pages.html_document(book, css, ['<div class="folio"></div>' * count])


def _index_body(book, chunk: Chunk, numbers: Numbers) -> str:
    book.index_pages = {a: p for a, p in numbers.anchors.items() if a.startswith("ix-")}
    body = pages.part_section(book, chunk.part)
    _describe(chunk, body)
    return body


def numbers_of(chunks: list[Chunk], results: dict[str, dict]) -> Numbers:
    """The numbers these layouts give: each chunk starts on the first right-hand page after the last."""
    numbers, page = Numbers(), 1
    for chunk in chunks:
        numbers.starts[chunk.name] = page
        result = results[chunk.name]
        for anchor, local in result["anchors"].items():
            numbers.anchors.setdefault(anchor, page + local)
        page += result["pages"]
        numbers.total = page - 1
        page += 1 - page % 2  # a blank left-hand page when the chunk ends on a right-hand one
    return numbers


def blank_pages(chunks: list[Chunk], numbers: Numbers, results: dict[str, dict]) -> list[int]:
    """The blank left-hand pages put before chunks (1-based page numbers)."""
    ends = [numbers.starts[chunk.name] + results[chunk.name]["pages"] for chunk in chunks[:-1]]
    return [end for end in ends if end % 2 == 0]
