"""Page numbers drawn in their stand-ins' place, without laying a chunk out again (in a worker).

A first build lays a chunk that prints pages of other chunks out before those pages are known,
with stand-ins (`chunks.stand_ins`: zeros, as many as the page likely has digits). print.css
gives those numbers figures of one width, so a real number of as many digits is exactly as
wide as its stand-in: every line breaks where it did, and the layout is the one the real
numbers give. The worker keeps such a layout (`hold`); the next round's job for the chunk names
it, and only the numbers' text is changed before its PDF is written (`stamped`). Should a
number be wider or narrower (another count of digits, a face without such figures), or the
HTML differ in anything but the numbers, the chunk is laid out again as usual.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

DATA_PAGE = re.compile(r' data-page="([^"]*)"')
HOLD_PAGES = 150  # the pages of layouts a worker keeps at most (a page's boxes take 0.1 to 0.2 MB)


@dataclass
class Held:
    build: str           # the build that laid it out
    shape: str           # the chunk's HTML, its numbers left out
    values: list[str]    # the numbers printed, in the order of the HTML
    document: object     # the WeasyPrint document
    boxes: dict          # the number's position in `values` -> the text boxes its element generated after it


_held: dict[str, Held] = {}  # the job's key -> its layout


def shape(html: str) -> str:
    return DATA_PAGE.sub(' data-page=""', html)


def hold(key: str, build: str, html: str, root, document) -> bool:
    """Keep this layout (`root`: the HTML's element tree) if the worker has room; those of other
    builds (one that failed before coming back for them) are let go."""
    for other in [k for k, held in _held.items() if held.build != build]:
        del _held[other]
    if sum(len(held.document.pages) for held in _held.values()) + len(document.pages) > HOLD_PAGES:
        return False
    order = {id(element): n for n, element in enumerate(e for e in root.iter() if e.get("data-page") is not None)}
    values = DATA_PAGE.findall(html)
    if len(order) != len(values):
        return False
    _held[key] = Held(build, shape(html), values, document, _number_boxes(document, order))
    return True


def _number_boxes(document, order: dict[int, int]) -> dict[int, list]:
    from weasyprint.formatting_structure.boxes import TextBox

    from .layout import _walk

    boxes: dict[int, list] = {}
    for page in document.pages:
        for box in _walk(page._page_box):
            if isinstance(box, TextBox) and (box.element_tag or "").endswith("::after") \
                    and id(box.element) in order:
                boxes.setdefault(order[id(box.element)], []).append(box)
    return boxes


def stamped(key: str, html: str):
    """The document held under `key` with the numbers of `html` in place of its own, or None if
    none is held or a number would not fill its stand-in's place exactly."""
    held = _held.pop(key, None)
    if held is None or shape(html) != held.shape:
        return None
    for n, (old, new) in enumerate(zip(held.values, DATA_PAGE.findall(html))):
        if old != new and not _replace(held.boxes.get(n, ()), old, new):
            return None
    return held.document


def _replace(boxes: list, old: str, new: str) -> bool:
    """Print `new` where a box printed `old`, if it is exactly as wide."""
    for box in reversed(boxes):
        at = box.text.rfind(old)
        layout_at = box.pango_layout.text.rfind(old)
        if at < 0 or layout_at < 0:
            continue
        text = box.text[:at] + new + box.text[at + len(old):]
        if len(old) != len(new) or _width(text, box) != _width(box.text, box):
            return False
        box.text = text
        box.pango_layout.text = box.pango_layout.text[:layout_at] + new + box.pango_layout.text[layout_at + len(old):]
        return True
    return False


def _width(text: str, box) -> float:
    from weasyprint.text.line_break import Layout, line_size

    layout = Layout(box.style, box.pango_layout.justification_spacing)
    layout.set_text(text, justify=True)
    line, _ = layout.get_first_line()
    return line_size(line, box.style)[0]


def forget() -> None:
    _held.clear()
