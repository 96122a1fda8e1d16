"""Load and validate manifest.yaml against the schema; collect every problem, abort once."""
from __future__ import annotations

import difflib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from . import limits
from .fsutil import inside
from .messages import AnthologyError, Diagnostic
from .schema import CONTENTS_ITEM, GENERATED_PAGES, SCHEMA, Field, Section
from .yamlsafe import YamlDoc, load_yaml

log = logging.getLogger(__name__)


@dataclass
class ContentItem:
    kind: str            # front | text | back
    path: Path | None    # None for generated pages
    generated: str | None
    headnote: Path | None
    id: str
    line: int


@dataclass
class Manifest:
    root: Path
    file: Path
    book: dict
    contents: list[ContentItem]
    bibliography: Path | None
    output: dict
    warnings: list[Diagnostic] = field(default_factory=list)
    csl: Path | None = None
    index: Path | None = None

    @property
    def slug(self) -> str:
        return self.output.get("slug") or slugify(self.book["title"])


_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")  # two letters at least: C:\\ is a drive, not a scheme
# What the first bytes of a file say it is, for files that must be text.
MAGIC = ((b"PK\x03\x04", "a zip archive (an EPUB, a DOCX or an ODT is one)"), (b"PK\x05\x06", "an empty zip archive"),
         (b"%PDF", "a PDF"), (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"),
         (b"\x1f\x8b", "a gzip archive"), (b"7z\xbc\xaf", "a 7-Zip archive"), (b"Rar!", "a RAR archive"))


def _binary(path: Path) -> str | None:
    """What a file that should be text is instead, judged by its first bytes; None if it may be text."""
    with open(path, "rb") as fh:
        head = fh.read(8192)
    for magic, what in MAGIC:
        if head.startswith(magic):
            return what
    if b"\x00" in head:
        return "a binary file (it holds NUL bytes)"
    return None


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "book"


class _Validator:
    def __init__(self, doc: YamlDoc, root: Path):
        self.doc, self.root = doc, root
        self.problems: list[Diagnostic] = []

    def report(self, code: str, message: str, path: tuple, key: bool = False, hint: str | None = None):
        loc = (self.doc.key_locs.get(path) if key else None) or self.doc.loc(path)
        self.problems.append(Diagnostic(code, message, self.doc.file, loc.line, loc.col, hint))

    def mapping(self, data: dict, fields: dict, path: tuple) -> dict:
        out = {}
        for key in data:
            if key not in fields:
                close = difflib.get_close_matches(key, list(fields), n=1)
                hint = f"Did you mean '{close[0]}'?" if close else None
                self.report("M002", f"unknown key '{'.'.join(map(str, path + (key,)))}'", path + (key,), True, hint)
        for name, spec in fields.items():
            out[name] = self.value(data, name, spec, path + (name,))
        return out

    def value(self, data: dict, name: str, spec, path: tuple):
        dotted = ".".join(map(str, path))
        if isinstance(spec, Section):
            sub = data.get(name)
            if sub is None:
                if spec.required:
                    self.report("M001", f"missing section '{dotted}'", path[:-1])
                sub = {}
            if not isinstance(sub, dict):
                self.report("M003", f"'{dotted}' must be a mapping of keys", path)
                sub = {}
            return self.mapping(sub, spec.fields, path)
        if name not in data or data[name] is None:
            if spec.required:
                self.report("M001", f"missing required key '{dotted}'", path[:-1])
            return spec.default
        return self.scalar(data[name], spec, path, dotted)

    def scalar(self, value, spec: Field, path: tuple, dotted: str):
        raw = self.doc.loc(path).raw
        if spec.type is str and not isinstance(value, str) and raw is not None:
            value = raw  # YAML read `no` or `3.10` as a bool or number: the editor meant the text
        if spec.type is int and isinstance(value, str) and value.isdigit():
            value = int(value)
        if not isinstance(value, spec.type) or (spec.type is int and isinstance(value, bool)):
            self.report("M003", f"'{dotted}' must be {spec.type.__name__}, not {type(value).__name__}", path)
            return spec.default
        if spec.list_of:
            value = [self.scalar(v, Field(spec.list_of, ""), path + (i,), f"{dotted}[{i}]")
                     for i, v in enumerate(value)]
        if spec.choices and value not in spec.choices:
            self.report("M004", f"'{dotted}' is '{value}'; allowed: {', '.join(map(str, spec.choices))}", path)
            return spec.default
        if spec.path:
            return self.file(value, path)
        return value

    def file(self, value: str, path: tuple) -> Path | None:
        """The file at `value` if it is a regular file inside the book's folder, of a size the
        build can take (and, for Markdown and YAML, not an archive or other binary file)."""
        target = Path(value)
        if _URL.match(value):
            self.report("M006", f"'{value}' is a URL: the build reads files inside the book's folder and "
                                "fetches nothing", path)
            return None
        if target.is_absolute() or ".." in target.parts:
            self.report("M006", f"path '{value}' leaves the book's folder", path)
            return None
        full = self.root / target
        if not inside(full, self.root):  # a link (or a folder that is a link) out, dangling or not
            self.report("M006", f"path '{value}' is a link to a file outside the book's folder", path)
            return None
        problem = limits.regular_file_problem(full)
        if problem == "does not exist":
            self.report("M005", f"file '{value}' does not exist", path)
            return None
        if problem:
            self.report("M009", f"'{value}' {problem}", path)
            return None
        kind = "text" if path[0] == "contents" else "image" if path[-1] == "cover-image" else "data"
        limit = limits.MAX_TEXT_BYTES if kind == "text" else limits.MAX_DATA_BYTES
        size = full.stat().st_size
        if size > limit:
            self.report("M010", f"file '{value}' is {limits.megabytes(size)}; the limit is {limits.megabytes(limit)}",
                        path)
            return None
        if kind != "image":
            what = _binary(full)
            if what:
                self.report("M011", f"file '{value}' is {what}, not text", path)
                return None
        return full

    def contents(self, items) -> list[ContentItem]:
        if not isinstance(items, list):
            return []
        out, seen = [], {}
        for i, item in enumerate(items):
            parsed = self.content_item(item, ("contents", i))
            if parsed is None:
                continue
            if parsed.id in seen:
                self.report("M008", f"id '{parsed.id}' is used by two items (also line {seen[parsed.id]})",
                            ("contents", i))
            seen[parsed.id] = parsed.line
            out.append(parsed)
        return out

    def content_item(self, item, path: tuple) -> ContentItem | None:
        if not isinstance(item, dict):
            self.report("M003", "each contents item must be a mapping such as `- text: texts/NAME.md`", path)
            return None
        kinds = [k for k in CONTENTS_ITEM.kinds if k in item]
        allowed = {**{k: None for k in CONTENTS_ITEM.kinds}, **CONTENTS_ITEM.options}
        for key in item:
            if key not in allowed:
                close = difflib.get_close_matches(key, list(allowed), n=1)
                self.report("M002", f"unknown key '{key}' in a contents item", path + (key,), True,
                            f"Did you mean '{close[0]}'?" if close else None)
        if len(kinds) != 1:
            self.report("M003", f"a contents item needs exactly one of {', '.join(CONTENTS_ITEM.kinds)}", path)
            return None
        kind = kinds[0]
        value = item[kind]
        line = self.doc.loc(path).line
        if not isinstance(value, str):
            self.report("M003", f"'{kind}' must be a file path or a generated page name", path + (kind,))
            return None
        generated = value if kind == "back" and value in GENERATED_PAGES else None
        file = None if generated else self.file(value, path + (kind,))
        headnote = self.value(item, "headnote", CONTENTS_ITEM.options["headnote"], path + ("headnote",))
        item_id = item.get("id") or slugify(Path(value).stem)
        return ContentItem(kind, file, generated, headnote, str(item_id), line)


def load_manifest(file: Path | str) -> Manifest:
    """Read, validate and resolve a manifest; raise AnthologyError listing every problem."""
    file = Path(file)
    problem = limits.regular_file_problem(file)
    if problem == "does not exist":
        raise AnthologyError(Diagnostic("M005", f"manifest '{file}' does not exist", str(file)))
    if problem:
        raise AnthologyError(Diagnostic("M009", f"manifest '{file}' {problem}", str(file)))
    if file.stat().st_size > limits.MAX_DATA_BYTES:
        raise AnthologyError(Diagnostic("M010", f"manifest '{file}' is {limits.megabytes(file.stat().st_size)}; "
                                                f"the limit is {limits.megabytes(limits.MAX_DATA_BYTES)}", str(file)))
    doc = load_yaml(file.read_text(encoding="utf-8"), file.name if file.parent == Path(".") else str(file))
    if not isinstance(doc.data, dict):
        raise AnthologyError(Diagnostic("M007", "the manifest is not a mapping", doc.file, 1, 1))
    root = file.resolve().parent
    v = _Validator(doc, root)
    top = v.mapping(doc.data, SCHEMA, ())
    contents = v.contents(doc.data.get("contents"))
    errors = [p for p in v.problems if p.severity == "error"]
    warnings = [p for p in v.problems if p.severity != "error"]
    for w in warnings:
        log.warning(w.format())
    if errors:
        raise AnthologyError(errors + warnings)
    return Manifest(root, file.resolve(), top["book"], contents, top["bibliography"], top["output"], warnings,
                    top["csl"], top["index"])
