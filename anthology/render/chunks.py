"""The print edition laid out in chunks on every core: the prelims, then one chunk per part.

Why a part lays out alone exactly as it does in the whole book: every `.part` starts on a
right-hand page (`break-before: right`) and resets its footnote counter, its running heads come
from `string-set` inside it, and `@page part:nth(1 of part)` restarts with each part. So the
page breaks inside a part depend on nothing before it — except a few numbers it prints:

- its folios, which start at the page where the part begins (`@page:first { counter-reset }`);
- the pages its cross-references, the contents and the index point to: those inside the chunk
  come from WeasyPrint's `target-counter` as in one pass; those outside it are given as
  `data-page` attributes (print.css prints them the same way) and their targets as empty,
  absolutely placed anchors (`stubs`), so that WeasyPrint keeps the links.

These numbers are found the way WeasyPrint finds its own `target-counter`s: lay every chunk
out with the numbers we believe (those of the last build, when the cache has them), read the
numbers the layouts give, and lay out again only the chunks whose numbers were wrong, until
none is. A first build takes two rounds; an edit to one text, usually one chunk. Every
chunk's layout is cached by its HTML, so what did not change is never laid out again.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from . import html as pages

log = logging.getLogger("anthology.render.pdf")

MAX_ROUNDS = 6
PRELIMS = "prelims"
_ID = re.compile(r'\sid="([^"]+)"')
_A_TAG = re.compile(r"<a\s[^>]*>")
_HREF = re.compile(r'href="#([^"]+)"')
_START_CSS = "@page:first {{ counter-reset: page {} }}"
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
    chunk.ids = frozenset(_ID.findall(body))
    outside, start_matters = [], False
    for tag in _A_TAG.findall(body):
        href = _HREF.search(tag)
        if not href:
            continue
        target = href.group(1)
        if target not in chunk.ids:
            outside.append(target)
        elif "xref" in (re.search(r'class="([^"]*)"', tag) or [None, ""])[1].split():
            start_matters = True
    chunk.outside = tuple(dict.fromkeys(outside))
    chunk.start_matters = start_matters


@dataclass
class Numbers:
    """What a round believes: where each chunk starts, and the page of every anchor."""
    starts: dict[str, int] = field(default_factory=dict)
    anchors: dict[str, int] = field(default_factory=dict)


def chunk_html(book, chunk: Chunk, css: str, numbers: Numbers) -> str:
    """The chunk as a complete HTML document, with the numbers it cannot know alone."""
    body = chunk.body if chunk.body is not None else _index_body(book, chunk, numbers)

    def with_page(match: re.Match) -> str:
        target = match.group(1)
        if target in chunk.ids:
            return match.group(0)
        return f'{match.group(0)} data-page="{numbers.anchors.get(target, 0)}"'

    body = _HREF.sub(with_page, body)
    if chunk.outside:  # inside the last element, so that no page is made for them
        stubs = STUB_BOX.format("".join(f'<span id="{target}"></span>' for target in chunk.outside))
        end = body.rfind("</")
        body = body[:end] + stubs + body[end:]
    start = numbers.starts.get(chunk.name, 1)
    return pages.html_document(book, css + _START_CSS.format(start), [body])


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
        page += 1 - page % 2  # a blank left-hand page when the chunk ends on a right-hand one
    return numbers


def blank_pages(chunks: list[Chunk], numbers: Numbers, results: dict[str, dict]) -> list[int]:
    """The blank left-hand pages put before chunks (1-based page numbers)."""
    ends = [numbers.starts[chunk.name] + results[chunk.name]["pages"] for chunk in chunks[:-1]]
    return [end for end in ends if end % 2 == 0]


def flow_key(chunk: Chunk, html: str, numbers: Numbers) -> str:
    """What the chunk's page breaks depend on: its HTML without its first folio, unless its own
    cross-references print page numbers (they move with the start). Same key, same pushes."""
    if chunk.start_matters:
        return html
    return html.replace(_START_CSS.format(numbers.starts.get(chunk.name, 1)), "")
