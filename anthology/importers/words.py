"""Word-level helpers shared by the importers and the witness merge.

Everything here decides with `wordfreq` (how common a word is in a language, on
the Zipf scale: 0 = unknown, 3 = once per million words, 7 = "the") and never
with a word list made for particular texts. Lookups are cached, so calling these
for every word of a book is cheap after wordfreq's first load (~0.1 s).

- `zipf(w)`: the Zipf frequency of a single word, normalised (case, curly
  apostrophes, possessive `'s`); 0 when wordfreq does not know it, and 0 for
  anything wordfreq would split into several tokens.
- `known_word(w)`: wordfreq knows the word at all.
- `is_word(w)`: `w` is a word on its own, not a fragment or a number: letters
  only (inner apostrophes and hyphens allowed), every hyphen-separated part known.
- `join_hyphenated(left, right)`: undo (or keep) the hyphen of a word broken at
  a line end; see its docstring for the rule.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

from wordfreq import tokenize, zipf_frequency

__all__ = ["zipf", "known_word", "is_word", "join_hyphenated", "normalise", "WORD"]

# A word as it appears in running text: letters with inner apostrophes.
WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_LETTERS = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")

# A joined form at least this common is taken as a word broken at the line end
# whatever its parts are ("under-mine" → "undermine").
COMMON_JOINED = 3.5
# Otherwise the joined form must not be much rarer than the two parts read as a
# phrase ("one-man": "oneman" 1.3 against "one man" 5.7 keeps the hyphen).
PHRASE_MARGIN = 1.0


def normalise(word: str) -> str:
    """Lower case, straight apostrophes, no possessive `'s`, no surrounding punctuation."""
    w = word.strip().replace("’", "'").lower().strip("'\".,;:!?()[]“”‘")
    if w.endswith("'s") and len(w) > 3:
        w = w[:-2]
    return w


@lru_cache(maxsize=65536)
def _zipf(word: str, lang: str) -> float:
    if not word:
        return 0.0
    if len(tokenize(word, lang)) != 1:
        return 0.0
    return zipf_frequency(word, lang)


def zipf(word: str, lang: str = "en") -> float:
    """Zipf frequency of one word (0.0 if unknown or not a single token)."""
    return _zipf(normalise(word), lang)


@lru_cache(maxsize=65536)
def _phrase(parts: tuple[str, ...], lang: str) -> float:
    """wordfreq's estimate for the parts read as separate words (0 if any is unknown)."""
    if any(_zipf(p, lang) == 0 for p in parts):
        return 0.0
    return zipf_frequency(" ".join(parts), lang)


def known_word(word: str, lang: str = "en") -> bool:
    """True if wordfreq knows the word at all (however rare)."""
    return zipf(word, lang) > 0


def is_word(word: str, lang: str = "en") -> bool:
    """True if `word` is a word on its own: letters only, and every part known to wordfreq.

    Numbers, symbols, OCR debris (`1bid`) and fragments wordfreq has never seen are not words.
    Hyphenated compounds are words when each part is (`self-management`).
    """
    w = word.strip().strip("“”‘\"'.,;:!?()[]")
    if not w or not _LETTERS.fullmatch(w):
        return False
    return all(known_word(part, lang) for part in w.split("-") if part)


def join_hyphenated(left: str, right: str, lang: str = "en",
                    document_forms: Mapping[str, int] | None = None) -> tuple[str, bool]:
    """Join a word broken at a line end: `("Bol", "shevik")` → `("Bolshevik", False)`.

    `left` is the text before the line-end hyphen (it may itself hold hyphens,
    `"Marxist-Lenin"`), `right` the word that starts the next line. Returns the
    joined text and whether the hyphen was kept (a true compound).

    The rule, in order:
    1. digits on either side, or a capital after the hyphen (`anti-Bolshevik`,
       `1905-1921`): keep the hyphen;
    2. the document itself decides when it writes the word elsewhere in one
       piece or with a hyphen inside a line (`document_forms`: lower-case word
       forms counted in the source, hyphenated compounds as one form);
    3. the joined word is common (Zipf ≥ 3.5), or not much rarer than the two
       parts read as a phrase: join (`work-ers`, `co-ordinator` → `coordinator`);
    4. both parts are known words and the joined form is rare or unknown: keep
       (`self-management`, `well-researched`, `one-man`, `anarcho-syndicalist`);
    5. otherwise join (a fragment such as `shevik` is no word).
    """
    last = left.rpartition("-")[2]
    joined, hyphenated = left + right, left + "-" + right
    if any(c.isdigit() for c in last + right) or (right[:1].isupper()):
        return hyphenated, True
    if not last or not right:
        return hyphenated, True
    if document_forms:
        n_joined = document_forms.get(normalise(last + right), 0)
        n_hyph = document_forms.get(normalise(last + "-" + right), 0)
        if n_hyph > n_joined:
            return hyphenated, True
        if n_joined > n_hyph:
            return joined, False
    a, b = normalise(last), normalise(right)
    j = _zipf(normalise(last + right), lang)
    if j >= COMMON_JOINED or (j > 0 and j >= _phrase((a, b), lang) - PHRASE_MARGIN):
        return joined, False
    if _zipf(a, lang) > 0 and _zipf(b, lang) > 0:
        return hyphenated, True
    return joined, False
