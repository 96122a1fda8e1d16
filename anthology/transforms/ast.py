"""Small helpers for walking and building Pandoc's JSON AST."""
from __future__ import annotations

from typing import Callable


def walk(node, fn: Callable[[dict], object]):
    """Apply `fn` bottom-up to every element; a non-None result replaces the element.

    A list returned for an element inside a list is spliced into it. What `fn` leaves alone is
    not copied (a book of a thousand pages has millions of elements).
    """
    if type(node) is list:
        return _walk_list(node, fn)
    if type(node) is dict:
        return _walk_element(node, fn)
    return node


def _walk_element(node: dict, fn):
    content = node.get("c")
    if content is not None and type(content) is not str:  # a Str's text needs no walk
        new = _walk_list(content, fn) if type(content) is list else walk(content, fn)
        if new is not content:
            node = {**node, "c": new}
    if "blocks" in node:
        blocks = _walk_list(node["blocks"], fn)
        if blocks is not node["blocks"]:
            node = {**node, "blocks": blocks}
    if "t" in node:
        result = fn(node)
        return node if result is None else result
    return node


def _walk_list(items: list, fn) -> list:
    changed = None  # a copy, made only once an item changes: most lists are left alone
    for n, item in enumerate(items):
        kind = type(item)
        new = _walk_element(item, fn) if kind is dict else _walk_list(item, fn) if kind is list else item
        if new is not item and changed is None:
            changed = items[:n]
        if changed is not None:
            if kind is dict and type(new) is list:
                changed.extend(new)
            else:
                changed.append(new)
    return items if changed is None else changed


def stringify(node) -> str:
    """The plain text of an element or list of elements."""
    parts: list[str] = []

    def visit(n):
        if isinstance(n, list):
            for x in n:
                visit(x)
        elif isinstance(n, dict):
            t = n.get("t")
            if t == "Str":
                parts.append(n["c"])
            elif t in ("Space", "SoftBreak", "LineBreak"):
                parts.append(" ")
            elif t in ("Code", "Math"):
                parts.append(n["c"][1])
            elif t == "Note":
                return
            elif "c" in n:
                visit(n["c"])
    visit(node)
    return "".join(parts)


def span(inlines: list, ident: str = "", classes=(), attrs=()) -> dict:
    return {"t": "Span", "c": [[ident, list(classes), [list(a) for a in attrs]], inlines]}


def block_inlines(block: dict) -> list:
    """The inlines of a block, for places that can hold only inlines."""
    t = block.get("t")
    if t in ("Para", "Plain"):
        return block["c"]
    if t == "Header":
        return block["c"][2]
    if t == "BlockQuote":
        return [span(block_inlines(b), classes=["fnp"]) for b in block["c"]]
    if t in ("BulletList", "OrderedList"):
        items = block["c"] if t == "BulletList" else block["c"][1]
        return [span([x for b in item for x in block_inlines(b)], classes=["fnp"]) for item in items]
    return [{"t": "Str", "c": stringify(block)}]
