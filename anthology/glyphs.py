"""Every character of the book must be in the vendored text face: no silent fallback."""
from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path

from .messages import AnthologyError, Diagnostic

FONTS = Path(__file__).resolve().parent.parent / "styles" / "fonts"
TEXT_FACE = "EBGaramond12-Regular.otf"


@lru_cache(maxsize=None)
def covered(face: str = TEXT_FACE) -> frozenset[int]:
    from fontTools.ttLib import TTFont
    from fontTools.ttLib.ttFont import TTLibError
    try:
        return frozenset(TTFont(FONTS / face).getBestCmap())
    except (OSError, TTLibError) as exc:
        raise AnthologyError(Diagnostic("B009", f"the text face cannot be read: {exc}",
                                        str(FONTS / face))) from None


def _lacks(char: str, cmap: frozenset[int]) -> bool:
    return ord(char) not in cmap and not char.isspace() and unicodedata.category(char)[0] != "C"


def _missing(line: str, cmap: frozenset[int]):
    for col, char in enumerate(line, 1):
        if _lacks(char, cmap):
            yield col, char


def check_book(book) -> None:
    """Raise T006 naming file, line and column of every character the text face lacks."""
    cmap = covered()
    problems = []
    for part in book.parts:
        for source, text, first_line in ((part.source, part.body, part.body_line),
                                         (part.headnote_source, part.headnote, 1)):
            if source is None or not any(_lacks(char, cmap) for char in set(text)):  # most texts: at once
                continue
            name = str(source.relative_to(book.manifest.root))
            for number, line in enumerate(text.splitlines(), first_line):
                for col, char in _missing(line, cmap):
                    problems.append(Diagnostic(
                        "T006", f"character '{char}' (U+{ord(char):04X} {unicodedata.name(char, '?')}) "
                        "is not in the book's text face", name, number, col))
    if problems:
        raise AnthologyError(problems)
