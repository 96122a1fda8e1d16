"""A strict YAML loader for manifests and front matter.

PyYAML's `safe_load` keeps the last of two duplicate keys silently, expands
aliases (alias bombs), and reads `no` as False and `3.10` as 3.1. This loader
walks PyYAML's event stream and node graph itself: it refuses tags, anchors,
aliases, duplicate keys and nesting deeper than `limits.MAX_YAML_DEPTH` with
file:line:col, resolves plain scalars with YAML 1.2's core schema (so `no` stays
the string "no"), keeps decimals as the text they were written as (`3.10` stays
"3.10": an edition, a version or a date, never a measurement), and remembers where
every value stands and how it was written so that later checks can point at it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import limits
from .messages import AnthologyError, Diagnostic

_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)$")
_NULL = {"", "~", "null", "Null", "NULL"}
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}


@dataclass(frozen=True)
class Loc:
    line: int  # 1-based
    col: int   # 1-based
    raw: str | None = None  # the scalar as written, for plain scalars


@dataclass
class YamlDoc:
    data: object
    locs: dict[tuple, Loc] = field(default_factory=dict)  # key path -> where its value stands
    key_locs: dict[tuple, Loc] = field(default_factory=dict)  # key path -> where the key stands
    file: str = ""
    line_offset: int = 0

    def loc(self, path: tuple) -> Loc:
        """Where the value at `path` (or its nearest ancestor) stands."""
        while path not in self.locs and path:
            path = path[:-1]
        return self.locs.get(path, Loc(1, 1))


def _loc(mark, offset: int, raw: str | None = None) -> Loc:
    return Loc(mark.line + 1 + offset, mark.column + 1, raw)


def _plain_scalar(value: str):
    if value in _NULL:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    if _INT.match(value):
        return int(value)
    return value  # `3.10`, `1e3`, `.5`: the text as written


class _Builder:
    def __init__(self, file: str, offset: int):
        self.file, self.offset = file, offset
        self.locs: dict[tuple, Loc] = {}
        self.key_locs: dict[tuple, Loc] = {}
        self.problems: list[Diagnostic] = []

    def diag(self, code: str, message: str, mark) -> None:
        loc = _loc(mark, self.offset)
        self.problems.append(Diagnostic(code, message, self.file, loc.line, loc.col))

    def build(self, node, path: tuple):
        if isinstance(node, yaml.ScalarNode):
            plain = not node.style  # None from PyYAML's parser, "" from libyaml's
            self.locs[path] = _loc(node.start_mark, self.offset, node.value if plain else None)
            return _plain_scalar(node.value) if plain else node.value
        self.locs[path] = _loc(node.start_mark, self.offset)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
        return self.build_mapping(node, path)

    def build_mapping(self, node, path: tuple) -> dict:
        out: dict = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.diag("Y001", "a mapping key must be a plain value", key_node.start_mark)
                continue
            key = key_node.value
            if key in out:
                first = self.key_locs[path + (key,)]
                self.diag("Y004", f"duplicate key '{key}' (first given at line {first.line})",
                          key_node.start_mark)
                continue
            self.key_locs[path + (key,)] = _loc(key_node.start_mark, self.offset)
            out[key] = self.build(value_node, path + (key,))
        return out


def _check_events(text: str, file: str, offset: int, loader=yaml.SafeLoader) -> list[Diagnostic]:
    """Tags, anchors, aliases and too deep nesting are refused before anything is composed."""
    problems = []
    depth = 0
    for event in yaml.parse(text, Loader=loader):
        loc = _loc(event.start_mark, offset)
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > limits.MAX_YAML_DEPTH:
                problems.append(Diagnostic("Y001", f"the YAML is nested more than {limits.MAX_YAML_DEPTH} levels deep",
                                           file, loc.line, loc.col, "Write the value out with fewer levels of nesting."))
                return problems
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        if isinstance(event, yaml.AliasEvent):
            problems.append(Diagnostic("Y003", f"alias '*{event.anchor}' is not allowed", file, loc.line, loc.col))
            continue
        if getattr(event, "anchor", None):
            problems.append(Diagnostic("Y003", f"anchor '&{event.anchor}' is not allowed", file, loc.line, loc.col))
        tag = getattr(event, "tag", None)
        if tag and not (isinstance(event, yaml.ScalarEvent) and tag == "!") and tag != "tag:yaml.org,2002:str":
            problems.append(Diagnostic("Y002", f"tag '{tag}' is not allowed", file, loc.line, loc.col))
    return problems


# libyaml's parser, when PyYAML has it, gives the same events and marks a dozen times faster;
# a document it finds broken is read again by PyYAML's own, whose messages we word our errors from.
_FAST = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str, file: str | Path = "<yaml>", line_offset: int = 0) -> YamlDoc:
    """Parse one YAML document strictly; raise AnthologyError with every problem found."""
    file = str(file)
    try:
        node = _composed(text, file, line_offset, _FAST)
    except yaml.YAMLError:  # only libyaml's: PyYAML's is raised as Y001
        node = _composed(text, file, line_offset, yaml.SafeLoader)
    builder = _Builder(file, line_offset)
    data = builder.build(node, ()) if node is not None else None
    if builder.problems:
        raise AnthologyError(builder.problems)
    return YamlDoc(data, builder.locs, builder.key_locs, file, line_offset)


def _composed(text: str, file: str, line_offset: int, loader):
    """The document's node graph, once its events are found acceptable; a broken document is
    raised as Y001 by PyYAML's own loader (with libyaml's, the YAMLError itself is raised)."""
    try:
        problems = _check_events(text, file, line_offset, loader)
        if problems:
            raise AnthologyError(problems)
        return yaml.compose(text, Loader=loader)
    except yaml.YAMLError:
        if loader is not yaml.SafeLoader:
            raise
        _raise_syntax_error(text, file, line_offset)


def _raise_syntax_error(text: str, file: str, line_offset: int) -> None:
    try:
        yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = _loc(mark, line_offset) if mark else Loc(1 + line_offset, 1)
        what = exc.problem or exc.context or "invalid YAML"
        if "\t" in text and "tab" in what.lower() or "found character '\\t'" in what:
            what = "a tab character where YAML needs spaces"
        raise AnthologyError(Diagnostic("Y001", f"YAML syntax error: {what}", file, loc.line, loc.col)) from None
    except yaml.YAMLError as exc:
        raise AnthologyError(Diagnostic("Y001", f"YAML error: {exc}", file, 1 + line_offset, 1)) from None
