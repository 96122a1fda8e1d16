"""Notes on the page of their call, in one WeasyPrint pass.

When a paragraph's line does not fit at the foot of a page and breaking before it would leave a
widow or an orphan, WeasyPrint 70 moves the page's last footnote to the next page to make room
for the line, even though the note's call stays behind. A printed book would rather carry the
lines to the next page, as WeasyPrint does anyway when a page has no notes.

WeasyPrint takes that shortcut only outside multi-column layout: it asks `context.in_column`
at that point. `keep_notes_with_calls()` makes that one question, asked from the line layout,
answer yes, so WeasyPrint breaks the paragraph where widows and orphans allow, taking the
notes of the lines it carries over with them. Everything else reads the real value.
`layout.misplaced_notes` still checks every page, in case a note ever lands late.
"""
from __future__ import annotations

import sys

_patched = False


def keep_notes_with_calls() -> None:
    """Install the policy in this process (once)."""
    global _patched
    if _patched:
        return
    from weasyprint.layout import LayoutContext
    from weasyprint.layout import block

    line_layout = block._linebox_layout.__code__

    def get(context) -> bool:
        if sys._getframe(1).f_code is line_layout:
            return True
        return context.__dict__.get("_in_column", False)

    def set_(context, value: bool) -> None:
        context.__dict__["_in_column"] = value

    LayoutContext.in_column = property(get, set_)
    _patched = True
