"""Print typography that the words themselves do not carry.

Pandoc's `smart` extension already makes quotes, dashes from `--` and `---`, and
ellipses. What remains is a hyphen standing alone between spaces, which a
typewriter used for a dash: it is set as an en dash. The text files are unchanged.
"""
from __future__ import annotations

import re

from .ast import walk



def spaced_hyphens_to_dashes(part) -> None:
    def visit(el):
        if el["t"] == "Str" and el["c"] == "-":
            return {"t": "Str", "c": "–"}
        return None

    for attr in ("ast", "headnote_ast"):
        tree = getattr(part, attr)
        if tree is not None:
            setattr(part, attr, walk(tree, visit))


# 'Tis, 'em, rock 'n' roll: an apostrophe where a word was cut short, not an opening quote
_ELIDED = r"'(?=(?i:tis|twas|twere|twill|twould|em)(?![\w'-]))|(?<=\w )'(?=n' \w)"
_APOSTROPHE = re.compile(rf"(?<=\w)'(?=\w)|(?<=s)'(?=\s|$)|'(?=\d\d)|{_ELIDED}")
_OPEN_SINGLE = re.compile(r"(^|(?<=[\s(\[]))'")
_OPEN_DOUBLE = re.compile(r'(^|(?<=[\s(\[]))"')


def smart(text: str) -> str:
    """Quotes, apostrophes, dashes and ellipses for plain strings such as titles in the manifest."""
    text = text.replace("---", "—").replace("--", "–").replace("...", "…")
    text = _APOSTROPHE.sub("’", text)
    text = _OPEN_SINGLE.sub("‘", text).replace("'", "’")
    return _OPEN_DOUBLE.sub("“", text).replace('"', "”")
