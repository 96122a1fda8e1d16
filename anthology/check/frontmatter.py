"""Front matter: what each text must say about itself (T001), and keys pandoc must never see (T005)."""
from __future__ import annotations

import re

from ..messages import Diagnostic
from ..model import UNSAFE_KEYS
from .sources import BookSources, MarkdownFile

REQUIRED = ("title", "author", "date")
SOURCE_KEYS = ("original-publication", "retrieved-from", "sources")
RIGHTS = "rights"


def _empty(value) -> bool:
    if isinstance(value, str):
        return not value.strip()
    return value is None or (isinstance(value, (list, dict)) and not value)


def _key_line(f: MarkdownFile, key: str) -> tuple[int, int]:
    """Line and column of `key:` in the front matter (which starts at line 1)."""
    for number, line in enumerate(f.text.split("\n")[1:f.body_line - 1], 2):
        if re.match(rf"{re.escape(key)}[ \t]*:", line):
            return number, 1
    return 1, 1


def check(book: BookSources) -> list[Diagnostic]:
    problems = []
    for f in book.files:
        if f.role != "body":
            continue
        for key in UNSAFE_KEYS:
            if key in f.meta:
                line, col = _key_line(f, key)
                problems.append(Diagnostic("T005", f"front matter key '{key}' is not allowed in a text",
                                           f.name, line, col))
        if f.item.kind != "text":
            continue
        if f.body_line == 1:
            problems.append(Diagnostic(
                "T001", "the text has no front matter: it needs title, author, date, a source "
                        f"({', '.join(SOURCE_KEYS)}) and rights", f.name, 1, 1,
                "Begin the file with a front matter block between two lines `---`, "
                "e.g. through texts/NAME.corrections.yaml."))
            continue
        for key in REQUIRED + (RIGHTS,):
            problems += _missing(f, key)
        if all(_empty(f.meta.get(k)) for k in SOURCE_KEYS):
            present = [k for k in SOURCE_KEYS if k in f.meta]
            line, col = _key_line(f, present[0]) if present else (1, 1)
            problems.append(Diagnostic(
                "T001", f"the text names no source: give '{SOURCE_KEYS[0]}', '{SOURCE_KEYS[1]}' or "
                        f"'{SOURCE_KEYS[2]}' in its front matter", f.name, line, col))
    return problems


def _missing(f: MarkdownFile, key: str) -> list[Diagnostic]:
    if key not in f.meta:
        return [Diagnostic("T001", f"the text has no '{key}' in its front matter", f.name, 1, 1)]
    if _empty(f.meta[key]):
        line, col = _key_line(f, key)
        return [Diagnostic("T001", f"the text's '{key}' is empty", f.name, line, col,
                           "Give the key a value in the text's YAML front matter.")]
    return []
