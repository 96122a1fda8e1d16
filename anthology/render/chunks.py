"""The print edition laid out in chunks on every core: the prelims, then one chunk per part.

Why a part lays out alone exactly as it does in the whole book: every `.part` starts on a
right-hand page (`break-before: right`) and resets its footnote counter, its running heads come
from `string-set` inside it, and `@page part:nth(1 of part)` restarts with each part. So the
page breaks inside a part depend on nothing before it — except a few numbers it prints:

- its folios: the chunk is laid out with empty folio boxes, and the folios, laid out apart as
  pages that hold nothing else (in blocks of 32 pages), are stamped onto its pages;
- the pages its cross-references, the contents and the index point to: those inside the chunk
  come from WeasyPrint's `target-counter` as in one pass (the chunk is then numbered from where
  it begins, `@page:first { counter-reset }`); those outside it are given as
  `data-page` attributes (print.css prints them the same way), and their links point to
  `x-anthology-chunk:<id>`, which the merge turns into links to the anchor in its chunk.

These numbers are found the way WeasyPrint finds its own `target-counter`s: lay every chunk
out with the numbers we believe (those of the last build, when the cache has them), read the
numbers the layouts give, and lay out again only the chunks whose numbers were wrong, until
none is. A first build takes three rounds (the index, which prints every chunk's pages, waits
for the second: print_layout.lay_out); an edit to one text, usually one chunk. Every
chunk's layout is cached by its HTML, so what did not change is never laid out again.
"""
from __future__ import annotations

import html
import logging
import re
from urllib.parse import quote, unquote
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
FOLIO_BLOCK = 32  # pages to a document of folios: even, so that each begins on a right-hand page
FOLIO_CSS = "@page { marks: none } .folio { break-after: page } .folio:last-child { break-after: auto }"
# A link to another chunk, made into a link to its anchor by the merge (merge.py)
OUTSIDE_LINK = "x-anthology-chunk:"


@dataclass
class Chunk:
    name: str                     # PRELIMS, or the part's id
    part: object | None           # the Part (None for the prelims)
    body: str | None = None       # the HTML body, made once (None for the index: made each round)
    ids: frozenset = frozenset()  # the ids its body holds
    start_matters: bool = False   # whether its own cross-references print page numbers

def make_chunks(book) -> list[Chunk]:
    """The prelims and each part, with what each holds and where each links to."""
    chunks = [Chunk(PRELIMS, None, "".join(pages.prelims(book)))]
    chunks += [Chunk(part.id, part, None if part.generated == "index" else pages.part_section(book, part, True))
               for part in book.parts]
    for chunk in chunks:
        _describe(chunk, chunk.body if chunk.body is not None else pages.part_section(book, chunk.part, True))
    return chunks


def _describe(chunk: Chunk, body: str) -> None:
    chunk.ids = frozenset(html.unescape(i) for i in _ID.findall(body))
    chunk.start_matters = any(_target(tag) in chunk.ids and _is_xref(tag) for tag in _A_TAG.findall(body))


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
    stand_ins: dict[str, str] = field(default_factory=dict)  # anchor -> what is printed while its page is unknown


def chunk_html(book, chunk: Chunk, css: str, numbers: Numbers) -> str:
    """The chunk as a complete HTML document, with the numbers it cannot know alone."""
    body = chunk.body if chunk.body is not None else _index_body(book, chunk, numbers)

    def to_outside(tag: re.Match) -> str:
        """A link to another chunk: to be made whole by the merge, with its target's page if it prints it."""
        target = _target(tag.group(0))
        if target is None or target in chunk.ids:
            return tag.group(0)
        link = _HREF.sub(lambda _: f'href="{OUTSIDE_LINK}{quote(target, safe="")}"', tag.group(0), count=1)
        if chunk.part is None or _is_xref(tag.group(0)):
            page = numbers.anchors.get(target)
            link = link[:-1] + f' data-page="{numbers.stand_ins.get(target, "0") if page is None else page}">'
        return link

    body = _A_TAG.sub(to_outside, body)
    start = _START_CSS.format(numbers.starts.get(chunk.name, 1)) if chunk.start_matters else ""
    return pages.html_document(book, css + start, [body])


CHARACTERS_A_PAGE = 4000  # of a part's HTML, markup included (3,400 to 4,500 in our texts)
CONTENTS_A_PAGE = 8       # entries


def stand_ins(chunks: list[Chunk]) -> dict[str, str]:
    """What a chunk prints for a page of another chunk while no page is known (a first build):
    zeros, as many as the page is likely to have digits. print.css gives these numbers figures of
    one width, so the real number, found after the layout, fills its stand-in's place exactly
    and can be drawn there instead of laying the chunk out again (stamp.py); a guess of
    the wrong length only costs that second layout."""
    guesses, page = {}, 1
    for chunk in chunks:
        body = chunk.body or ""  # the index's is made once the pages are known
        guesses[chunk.name] = "0" * len(str(page))
        for match in _ID.finditer(body):
            guesses.setdefault(html.unescape(match.group(1)), "0" * len(str(page + match.start() // CHARACTERS_A_PAGE)))
        page += _guessed_pages(chunk, body)
        page += 1 - page % 2
    return guesses


_OWN_PAGE = re.compile(r"<(?:section|nav)\b")


def _guessed_pages(chunk: Chunk, body: str) -> int:
    if chunk.part is None:  # the prelims: a page each (half-title, title, copyright, contents), a blank, the contents' entries
        return len(_OWN_PAGE.findall(body)) + 1 + body.count("<li") // CONTENTS_A_PAGE
    return max(1, -(-len(body) // CHARACTERS_A_PAGE))


def prints_pages(html: str) -> bool:
    """Whether a chunk's HTML prints the page of a target in another chunk (see `chunk_html`)."""
    return ' data-page="' in html


def folio_html(book, css: str, block: int) -> str:
    """The `block`-th run of FOLIO_BLOCK pages of the book, holding nothing but their folios.
    A block does not depend on the book's length: a book that grows needs only new blocks."""
    start = _START_CSS.format(block * FOLIO_BLOCK + 1)
    return pages.html_document(book, css + start, ['<div class="folio"></div>' * FOLIO_BLOCK])


def folio_blocks(pages: int) -> range:
    """The blocks of folios a book of this many pages needs."""
    return range(-(-pages // FOLIO_BLOCK))


def _index_body(book, chunk: Chunk, numbers: Numbers) -> str:
    book.index_pages = {a: p for a, p in numbers.anchors.items() if a.startswith("ix-")}
    body = pages.part_section(book, chunk.part, True)
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
