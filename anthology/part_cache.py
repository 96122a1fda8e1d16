"""Texts that did not change skip pandoc and the transforms: their finished HTML is in the cache.

A part's entry ("part") holds what the later stages read of it: its HTML and its headnote's
(sanitised, blocks numbered), its sections, notes, citations and index anchors, and pandoc's
warnings about it. Its key holds everything that HTML depends on: the part's Markdown, its
headnote, its id and kind, the index terms, the bibliography and citation style, the tool
versions and the code of the whole package. Not the other texts: a cross-reference prints no
more than its target's page, so a part's HTML is the same whatever the others hold, once every
link has a target. That is still checked on every build, from the links in the HTML (X001,
transforms/xrefs.py).

`reuse` runs before pandoc and marks the parts it fills in (`part.reused`); the stages after it
leave those alone, and `keep` stores the others once they are finished.
"""
from __future__ import annotations

import logging

from . import pandoc
from .keys import code_digest, digest, file_digest
from .fsutil import relative_name
from .transforms.index import Occurrence

log = logging.getLogger("anthology.cache")  # the cache's log, with its events

KIND = "part"
_FIELDS = ("html", "headnote_html", "sections", "note_count", "note_ids", "citations", "headnote_citations",
           "index_anchors")


def _book_inputs(cache, book) -> str:
    """What every part's HTML depends on besides its own sources."""
    manifest = book.manifest
    citing = manifest.bibliography is not None
    return digest(KIND, cache.versions, code_digest(),
                  file_digest(manifest.index), file_digest(manifest.bibliography) if citing else None,
                  file_digest(pandoc.book_csl(manifest)) if citing else None)


def _key(book_inputs: str, part) -> str:
    return digest(book_inputs, part.id, part.kind, part.body, part.headnote)


def _cacheable(cache, part) -> bool:
    return cache.enabled and not part.generated


def reuse(cache, book) -> int:
    """Fill in every part whose entry is in the cache (and mark it `reused`); how many there are."""
    if not cache.enabled:
        return 0
    book_inputs = _book_inputs(cache, book)
    for part in book.parts:
        if not _cacheable(cache, part):
            continue
        part.cache_key = _key(book_inputs, part)
        entry = cache.read_json(KIND, part.cache_key)
        if not _complete(entry):
            continue
        for name in _FIELDS:
            setattr(part, name, entry[name])
        part.sections = [tuple(section) for section in entry["sections"]]
        part.index_occurrences = [Occurrence(term, part.id, anchor) for term, anchor in entry["occurrences"]]
        part.reused = True
        label = _label(book, part)
        cache.cached.append(f"{label} ({KIND})")
        log.info("cache: %s (%s)", label, KIND,
                 extra={"cache_event": "cached", "cache_kind": KIND, "cache_label": label})
        for kind, key in entry["entries"]:  # its conversions stay, for when its key changes
            cache.keep_entry(kind, key)
        for warning in entry["warnings"]:
            logging.getLogger(pandoc.__name__).warning("%s", warning)
    return sum(part.reused for part in book.parts)


def _label(book, part) -> str:
    source = part.source or part.headnote_source
    return relative_name(source, book.manifest.root) if source else part.id


def _complete(entry) -> bool:
    needed = (*_FIELDS, "occurrences", "warnings", "entries")
    return isinstance(entry, dict) and all(name in entry for name in needed)


def keep(cache, book) -> None:
    """Store every part made in this build, finished."""
    for part in book.parts:
        if part.reused or not _cacheable(cache, part) or not part.cache_key:
            continue
        entry = {name: getattr(part, name) for name in _FIELDS}
        entry["occurrences"] = [[o.term, o.anchor] for o in book.index.occurrences if o.part_id == part.id]
        entry["warnings"] = cache.warnings_about(part)
        entry["entries"] = cache.entries.get(part.id, [])
        cache.write_json(KIND, part.cache_key, entry)
