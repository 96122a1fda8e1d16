"""Making the texts: each text the cache does not have, from Markdown to finished HTML.

The stages are pandoc's reader, the transforms, pandoc's writer, the sanitiser, the block
numbers, and the `part` cache entry (part_cache.py). On the way every text is a Pandoc AST. Held
as Python objects, a 1,000-page book's ASTs take about 300 MB, which Python does not give back
to the system once the HTML is made. So when there is much to make (more than `PACKED_FROM`
characters of Markdown, a large book's first build), the texts are made packed: each AST is kept
as JSON text between the stages and parsed when a pass uses it (`model.Part.packed`), and one
pandoc runs at a time (`PANDOCS_PACKED`). A small edit is made unpacked, which is quicker.
"""
from __future__ import annotations

import gc
import logging
import sys

from . import part_cache, transforms
from .render import blocks
from .sanitize import sanitize_book

log = logging.getLogger(__name__)

PACKED_FROM = 1_000_000  # characters of Markdown to make, from which the texts are made packed
# A pandoc takes 40 to 50 MB of its own for a long text, beside its program's 90 to 130 MB, which
# pandocs running at once share. Made one at a time, a 1,000-page book's texts take 2 to 3 s longer
# (its first build, about 30 s), and the build's peak of memory is 25 to 55 MB lower (measured).
PANDOCS_PACKED = 1


def make_texts(book, cache, stage) -> None:
    """Make every part not reused from the cache (`stage` runs and times each stage)."""
    packed = made_packed(book)
    if packed:
        for part in book.parts:
            part.packed = True
        cache.pandocs_at_once = PANDOCS_PACKED
    try:
        stage("pandoc: Markdown to AST", cache.book_to_ast, book)
        stage("transforming the texts", transforms.apply, book)
        stage("pandoc: AST to HTML", cache.book_to_html, book)
        stage("sanitising the HTML", sanitize_book, book)
        stage("numbering the blocks", blocks.number_book, book)
        stage("keeping the finished texts", part_cache.keep, cache, book)
    finally:
        for part in book.parts:  # nothing after the HTML reads them
            part.ast = part.headnote_ast = None
        if packed:  # also after a failure: `anthology watch` lives on
            _hand_memory_back()


def made_packed(book) -> bool:
    """Whether the texts to make are many enough to be made packed, one pandoc at a time."""
    return _to_make(book) > PACKED_FROM


def likely_made_packed(manifest) -> bool:
    """Whether a first build would make the texts packed, judged by their files' sizes before
    they are read."""
    paths = [path for item in manifest.contents for path in (item.path, item.headnote) if path is not None]
    try:
        return sum(path.stat().st_size for path in paths) > PACKED_FROM
    except OSError:  # reading them will say what is wrong
        return False


def _hand_memory_back() -> None:
    """Give the system back what making the texts freed. glibc keeps freed memory for the process
    to reuse, and making a large book's texts leaves much of it between the objects that live on:
    20 MB of a 1,000-page book's build, which the layout and the PDF's merge would otherwise carry
    beside the workers (measured)."""
    gc.collect()
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # a C library without it (musl)
        return
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    trim(0)


def _to_make(book) -> int:
    return sum(len(part.body) + len(part.headnote) for part in book.parts if not part.reused)
