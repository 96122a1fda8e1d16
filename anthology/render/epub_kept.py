"""Each part's EPUB page kept between builds, so that an edit makes again only the pages it changes.

A part's page is its section through the content allow-list, its notes made asides, its print
page markers placed, as XHTML (epub_pages, epub_clean): the slow half of packaging the EPUB.
It depends on the part's HTML, on the markers the page list puts into it, on the files its
images name, and on the package's code; all of these make its cache key. So an edit makes
again its own text's page and, when it moves the print pages of the texts after it, theirs. Links between files are
resolved after (epub.resolve_links), since they depend on every page. What the page warned
about while it was made is kept with it and said again whenever it is reused; the images it
packages are taken from the book's folder again.

The index, the bibliography and the sources page are made from the whole book: never kept.
"""
from __future__ import annotations

import logging

from lxml import etree

from . import html as pages

log = logging.getLogger(__name__)
KIND = "epub-page"


class KeptPages:
    """The parts' kept pages for this build: `entries` (part id -> entry) are those to reuse."""

    def __init__(self, cache, book, files: dict[str, str], plan):
        from ..keys import code_digest, digest

        self.cache, self.book, self.keys, self.entries = cache, book, {}, {}
        if cache is None or not cache.enabled:
            return
        salt = digest(KIND, cache.versions, code_digest(),
                      book.meta.get("language"))
        for part in (p for p in book.parts if not p.generated):
            self.keys[part.id] = _key(salt, book, part, files[part.id], plan.at.get(files[part.id], []))
            entry = cache.read_json(KIND, self.keys[part.id])
            if _well_formed(entry):
                self.entries[part.id] = entry

    def reuse(self, part, resolver) -> etree._Element | None:
        """The kept page's XHTML tree, its images packaged again and its warnings said again;
        None if an image it shows is no longer the one it was kept with (the page is made anew)."""
        entry = self.entries[part.id]
        if any(resolver(url) != name for url, name in entry["images"]):
            return None
        for name, level, message in entry["log"]:
            logging.getLogger(name).log(level, "%s", message)
        log.debug("epub: kept the page of %s", part.id, extra={"epub_page": "kept", "part_id": part.id})
        return etree.fromstring(entry["xhtml"].encode("utf-8"))

    def keep(self, part, xhtml: bytes, images: list[list[str]], recorded) -> None:
        """Keep the page made now; `recorded` (thread_logs.WarningsOfThisThread) what it warned about."""
        log.debug("epub: made the page of %s", part.id, extra={"epub_page": "made", "part_id": part.id})
        if part.id in self.keys:
            self.cache.write_json(KIND, self.keys[part.id], {"xhtml": xhtml.decode("utf-8"), "images": images,
                                                             "log": recorded.records})


def _key(salt: str, book, part, file_name: str, placements: list) -> str:
    from ..keys import digest, resource_digests

    section = pages.part_section(book, part)
    markers = [[None if start is None else [start.page, start.section, start.block, start.offset], numbers]
               for start, numbers in placements]
    return digest(salt, file_name, str(part.source), str(part.headnote_source), part.title, part.language,
                  part.kind, section, markers, resource_digests(section, book.manifest.root))


def _well_formed(entry) -> bool:
    return isinstance(entry, dict) and isinstance(entry.get("xhtml"), str) \
        and isinstance(entry.get("images"), list) \
        and all(isinstance(i, list) and len(i) == 2 and all(isinstance(s, str) for s in i) for i in entry["images"]) \
        and isinstance(entry.get("log"), list) \
        and all(isinstance(r, list) and len(r) == 3 and isinstance(r[1], int) for r in entry["log"])
