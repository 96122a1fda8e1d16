"""The Book tree: the manifest's items with their front matter and Markdown bodies.

This is the only stage that reads the book's text files; every later stage works
on the tree it returns.
"""
from __future__ import annotations

import json
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .manifest import ContentItem, Manifest
from .messages import AnthologyError, Diagnostic
from .yamlsafe import load_yaml
from .fsutil import relative_name as _relative

REQUIRED_TEXT_KEYS = ("title", "author")
# Keys that would make pandoc read files or fetch URLs if front matter reached it.
UNSAFE_KEYS = ("bibliography", "csl", "css", "cover-image", "epub-cover-image", "include-before-body",
               "include-after-body", "include-in-header", "epub-embed-font", "reference-doc", "template")

GENERATED_TITLES = {"bibliography": "Bibliography", "sources": "Sources", "index": "Index"}

# Editors' comments (and the importer's `<!-- anthology: … -->` marks) are never printed.
HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)

_FRONT = re.compile(r"\A---[ \t]*\n(.*?\n)?(---|\.\.\.)[ \t]*(\n|\Z)", re.S)


@dataclass
class Part:
    id: str
    kind: str                    # front | text | back
    generated: str | None        # name of a generated page, or None
    source: Path | None
    meta: dict = field(default_factory=dict)
    body: str = ""               # Markdown, front matter removed
    body_line: int = 1           # line of the source where the body starts
    headnote: str = ""           # Markdown of the editors' headnote
    headnote_source: Path | None = None
    html: str = ""               # the HTML fragment, filled by the pandoc stage
    headnote_html: str = ""
    sections: list = field(default_factory=list)  # (level, id, title) of the headings
    note_count: int = 0
    reused: bool = False         # filled in from the build cache, finished (part_cache.py)
    cache_key: str = ""
    citations: list = field(default_factory=list)           # the keys the body cites
    headnote_citations: list = field(default_factory=list)  # and the headnote
    index_occurrences: list = field(default_factory=list)  # of a reused part
    # The body's and headnote's Pandoc ASTs (`ast`, `headnote_ast`), filled by the pandoc stage.
    # A packed part keeps them as JSON text between the stages, about a fourteenth of their
    # memory as Python objects: a large book's texts are made so (making.py), each AST parsed when used.
    packed: bool = False
    _asts: dict = field(default_factory=dict, init=False, repr=False)
    _open: bool = field(default=False, init=False, repr=False)

    ast = property(lambda self: self._ast("ast"), lambda self, value: self._keep("ast", value))
    headnote_ast = property(lambda self: self._ast("headnote_ast"),
                            lambda self, value: self._keep("headnote_ast", value))

    def _ast(self, name: str) -> dict | None:
        value = self._asts.get(name)
        return json.loads(value) if isinstance(value, str) else value

    def _keep(self, name: str, value: dict | None) -> None:
        self._asts[name] = json.dumps(value) if value is not None and self.packed and not self._open else value

    def keep_ast_json(self, name: str, text: str) -> None:
        """An AST as pandoc wrote it: kept as it is if the part is packed."""
        self._asts[name] = text if self.packed and not self._open else json.loads(text)

    def ast_json(self, name: str) -> str | None:
        """An AST as JSON text (for pandoc's writer), without parsing it if the part is packed."""
        value = self._asts.get(name)
        return value if value is None or isinstance(value, str) else json.dumps(value)

    @contextmanager
    def unpacked(self):
        """The ASTs parsed once for several passes, and packed again after them."""
        if not self.packed or self._open:
            yield
            return
        self._asts, self._open = {name: self._ast(name) for name in self._asts}, True
        try:
            yield
        finally:
            self._open = False
            # written again even if unchanged: a pass may have changed a tree in place
            self._asts = {name: None if value is None else json.dumps(value) for name, value in self._asts.items()}

    @property
    def title(self) -> str:
        title = self.meta.get("title") or GENERATED_TITLES.get(self.generated or "") or self.id
        return str(title).strip()

    @property
    def author(self) -> str:
        return str(self.meta.get("author") or "").strip()

    def locate(self, needle: str, root: Path) -> tuple[str, int | None, int | None]:
        """(file, line, col) of the first occurrence of `needle` in the body, else of the file itself."""
        for text, source, first in ((self.body, self.source, self.body_line),
                                    (self.headnote, self.headnote_source, 1)):
            at = text.find(needle)
            if source is not None and at >= 0:
                line = text.count("\n", 0, at)
                col = at - (text.rfind("\n", 0, at) + 1) + 1
                return _relative(source, root), first + line, col
        source = self.source or self.headnote_source
        return (_relative(source, root) if source else "manifest.yaml"), None, None

    @property
    def language(self) -> str | None:
        return self.meta.get("language") or self.meta.get("lang")


@dataclass
class Book:
    manifest: Manifest
    parts: list[Part]
    page_starts: list = field(default_factory=list)  # filled by the PDF renderer, read by the EPUB
    derived: dict = field(default_factory=dict)  # what both editions compute from the finished texts, once

    @property
    def meta(self) -> dict:
        return self.manifest.book

    @property
    def texts(self) -> list[Part]:
        return [p for p in self.parts if p.kind == "text"]


def split_front_matter(text: str, file: str) -> tuple[dict, str, int]:
    """(front matter, body, line where the body starts) of a Markdown file."""
    m = _FRONT.match(text)
    if not m:
        if text.startswith("---\n"):
            raise AnthologyError(Diagnostic("T002", "the front matter is never closed", file, 1, 1))
        return {}, text, 1
    doc = load_yaml(m.group(1) or "", file, line_offset=1)
    meta = doc.data if isinstance(doc.data, dict) else {}
    body_line = text[: m.end()].count("\n") + 1
    return meta, text[m.end():], body_line


def without_comments(markdown: str) -> str:
    """The text with HTML comments removed; line numbers stay as they were."""
    return HTML_COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), markdown)



def _read(path: Path, root: Path) -> str:
    return path.read_text(encoding="utf-8")


def _load_part(item: ContentItem, manifest: Manifest, problems: list[Diagnostic]) -> Part:
    part = Part(item.id, item.kind, item.generated, item.path)
    if item.path is not None:
        name = _relative(item.path, manifest.root)
        part.meta, body, part.body_line = split_front_matter(_read(item.path, manifest.root), name)
        part.body = without_comments(body)
        for key in UNSAFE_KEYS:
            if key in part.meta:
                problems.append(Diagnostic("T005", f"front matter key '{key}' is not allowed in a text", name, 1, 1))
        if item.kind == "text":
            for key in REQUIRED_TEXT_KEYS:
                if not part.meta.get(key):
                    problems.append(Diagnostic("T001", f"the text has no '{key}' in its front matter", name, 1, 1))
    if item.headnote is not None:
        name = _relative(item.headnote, manifest.root)
        _, part.headnote, _ = split_front_matter(_read(item.headnote, manifest.root), name)
        part.headnote_source = item.headnote
    return part


def load_book(manifest: Manifest) -> Book:
    """Read every item the manifest names; report all problems at once."""
    problems: list[Diagnostic] = []
    parts = []
    for item in manifest.contents:
        try:
            parts.append(_load_part(item, manifest, problems))
        except AnthologyError as exc:
            problems.extend(exc.diagnostics)
    if problems:
        raise AnthologyError(problems)
    return Book(manifest, parts)
