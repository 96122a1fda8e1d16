"""The book's sources as the checks see them: every Markdown file read once and scanned."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..manifest import ContentItem, Manifest
from ..messages import AnthologyError, Diagnostic
from ..model import split_front_matter
from ..yamlsafe import load_yaml
from .markdown import Document, scan
from ..fsutil import relative_name as relative


@dataclass
class MarkdownFile:
    item: ContentItem
    role: str                  # body | headnote
    name: str                  # relative to the manifest's folder
    text: str
    meta: dict
    body_line: int
    doc: Document


@dataclass
class BookSources:
    root: Path
    manifest_name: str
    items: list[ContentItem]
    files: list[MarkdownFile]
    bibliography: Path | None
    bibliography_declared: bool
    index: Path | None
    trim: str
    problems: list[Diagnostic] = field(default_factory=list)
    unread: set[str] = field(default_factory=set)  # ids of items whose body is missing or unreadable

    def bodies(self) -> list[MarkdownFile]:
        return [f for f in self.files if f.role == "body"]



def read_text(path: Path, name: str, problems: list[Diagnostic]) -> str | None:
    """The file as text with '\\n' line ends; T009 (where the first bad byte is) if it is not UTF-8."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[:exc.start]
        line = before.count(b"\n") + 1
        col = len(before[before.rfind(b"\n") + 1:].decode("utf-8", "replace")) + 1
        problems.append(Diagnostic("T009", f"byte 0x{data[exc.start]:02x} is not UTF-8", name, line, col))
        return None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_yaml(path: Path, root: Path, problems: list[Diagnostic]):
    """(file name, strict YAML document) of a data file, or (name, None) with the problems reported."""
    name = relative(path, root)
    text = read_text(path, name, problems)
    if text is None:
        return name, None
    try:
        return name, load_yaml(text, name)
    except AnthologyError as exc:
        problems.extend(exc.diagnostics)
        return name, None


def _markdown_file(item: ContentItem, role: str, path: Path, root: Path,
                   problems: list[Diagnostic]) -> MarkdownFile | None:
    name = relative(path, root)
    text = read_text(path, name, problems)
    if text is None:
        return None
    try:
        meta, body, body_line = split_front_matter(text, name)
    except AnthologyError as exc:  # T002, or the front matter's YAML (Y001…)
        problems.extend(exc.diagnostics)
        return None
    return MarkdownFile(item, role, name, text, meta, body_line, scan(body, body_line, name))


def load_sources(manifest: Manifest, index: Path | None, bibliography_declared: bool) -> BookSources:
    """Read every Markdown file the manifest names (bodies and headnotes) that exists."""
    root = manifest.root
    problems: list[Diagnostic] = []
    files, unread = [], set()
    for item in manifest.contents:
        if item.path is None and not item.generated:
            unread.add(item.id)
        for role, path in (("body", item.path), ("headnote", item.headnote)):
            if path is None:
                continue
            f = _markdown_file(item, role, path, root, problems) if path.is_file() else None
            if f is not None:
                files.append(f)
            elif role == "body":
                unread.add(item.id)
    trim = ((manifest.output or {}).get("pdf") or {}).get("trim") or "6x9in"
    return BookSources(root, relative(manifest.file, root), list(manifest.contents), files,
                       manifest.bibliography, bibliography_declared, index, trim, problems, unread)
