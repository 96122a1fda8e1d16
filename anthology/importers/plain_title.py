"""The title block of a plain-text edition (The Anarchist Library's and the like): the lines
before the body that give the title, author, date, source and rights, and where they go in
the front matter; and the tests on a line that the title block and the body share (a note's
definition, a superscript or math-mode note marker, a sentence begun on an earlier line), and
what LaTeX-like text in either becomes in Markdown."""
from __future__ import annotations

import re

from .base import ImportReport

SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"


_SUP_TABLE = str.maketrans(SUPERSCRIPTS, "0123456789")


_SUP = f"[{SUPERSCRIPTS}]+"


_SUP_DEF = re.compile(rf"\s*({_SUP})\s*(\S.*)$")


_MATH_DEF = re.compile(r"\s*\$([^$\n]{1,80}?)\$\s*(\S.*)$")


_BRACKET_DEF = re.compile(r"\s*\[(\d{1,3})\]\s*(\S.*)$")


# Lines of the library's title block.
_LIBRARY = re.compile(r"^\s*The Anarchist Library\b\s*(.*)$", re.I)


_ANTI_COPYRIGHT = re.compile(r"\bAnti-?Copyright\b", re.I)


_SITE = re.compile(r"^\s*(?:https?://)?(?:www\.)?theanarchistlibrary\.org/?\s*$", re.I)


_RETRIEVED = re.compile(r"^\s*Retrieved (?:on|from)\b", re.I)


_DATE = re.compile(r"\b(1[5-9]\d\d|20\d\d)s?\b")


def superscript_label(marker: str) -> str:
    return marker.translate(_SUP_TABLE)


def math_text(inner: str) -> str | None:
    """Markdown for LaTeX-like text (`\\it Liberation` → `*Liberation*`), or None."""
    inner = inner.strip()
    m = re.fullmatch(r"\\(it|em|sl|bf|rm|textit|emph|mathit|textbf|mathbf|textrm|mathrm|text)\s*(.*)",
                     inner, re.S)
    if not m:
        return None
    command, rest = m.groups()
    rest = rest.strip()
    if rest.startswith("{") and rest.endswith("}"):
        rest = rest[1:-1]
    rest = re.sub(r"\\[ ,;:!]", " ", rest).replace("\\&", "&").replace("\\%", "%").replace("\\$", "$")
    rest = re.sub(r"\s+", " ", rest.replace("{", "").replace("}", "")).strip()
    if "\\" in rest or not rest:
        return None
    if command in ("bf", "textbf", "mathbf"):
        return f"**{rest}**"
    if command in ("rm", "textrm", "mathrm", "text"):
        return rest
    return f"*{rest}*"


def math_note_label(inner: str) -> str | None:
    """The note number of a LaTeX-like marker (`^{2}`, `^{^{\\rm 5}}`…), or None."""
    inner = inner.strip()
    if not inner.startswith("^"):
        return None
    # Drop TeX commands and escapes (`\\rm`, `\\}`), and font switches left bare by a
    # mangled escape (`{\\}rm 5}`), then braces and carets: a note number must remain.
    bare = re.sub(r"\\[A-Za-z]+|\\.", " ", inner)
    bare = re.sub(r"(?<![A-Za-z])(?:rm|it|bf|sf|tt|text\w*|math\w*|scriptsize|footnotesize|small)(?![A-Za-z])",
                  " ", bare)
    digits = re.sub(r"[\s{}^]", "", bare)
    return digits if digits.isdigit() else None


def note_definition(line: str) -> tuple[str, str] | None:
    """(label, text) when `line` is a note's definition (`¹ Text`, `$^{2}$ Text`)."""
    m = _SUP_DEF.match(line)
    if m:
        return superscript_label(m.group(1)), m.group(2).strip()
    m = _MATH_DEF.match(line)
    if m:
        label = math_note_label(m.group(1))
        if label:
            return label, m.group(2).strip()
    m = _BRACKET_DEF.match(line)
    if m:
        return m.group(1), m.group(2).strip()
    return None


def starts_mid_sentence(text: str) -> bool:
    """A paragraph that begins in lower case continues a sentence begun elsewhere."""
    head = text.lstrip(" \"'“‘(*_[")
    return bool(head) and head[0].islower()


def _is_date(line: str) -> bool:
    words = line.split()
    return bool(_DATE.search(line)) and len(words) <= 5 and not line.rstrip().endswith((".", ","))


def _marker_line(line: str) -> bool:
    l = line.strip()
    return bool(_LIBRARY.match(l) or _SITE.match(l) or _RETRIEVED.match(l) or _ANTI_COPYRIGHT.fullmatch(l))


def _block_like(line: str) -> bool:
    """A line that may belong to a title block: short, no finished sentence, not a note."""
    l = line.strip()
    if _marker_line(l):
        return True
    return len(l) <= 200 and len(l.split()) <= 30 and not note_definition(l) and not starts_mid_sentence(l) \
        and (not l.endswith((".", ",", ";", ":")) or _is_date(l))


def _title_block(lines: list[str], report: ImportReport) -> tuple[dict, set[int]]:
    """Metadata from the library's title block(s); the indexes of the lines used.

    The block stands at the top (as in the library's plain editions) or at the end
    (the colophon of its PDFs): "The Anarchist Library", "Anti-Copyright", the
    author, title, subtitle and date (on lines of their own, or run together on one
    line), "Retrieved on …", "theanarchistlibrary.org", and often the title page's
    title, subtitle, author and date again.
    """
    ne = [i for i, l in enumerate(lines) if l.strip()]
    n = len(ne)
    meta: dict = {}
    used: set[int] = set()
    near = set(range(min(n, 30))) | set(range(max(0, n - 20), n))
    marks = sorted(k for k in near if _marker_line(lines[ne[k]]))
    clusters = [[k for k in marks if k < n / 2], [k for k in marks if k >= n / 2]]
    colophon: list[str] = []
    title_page: list[str] = []
    for cluster, at_top in zip(clusters, (True, False)):
        if not any(_LIBRARY.match(lines[ne[k]]) or _SITE.match(lines[ne[k]]) for k in cluster):
            continue
        k0, k1 = cluster[0], cluster[-1]
        back = 0
        while k0 > 0 and back < 8 and _block_like(lines[ne[k0 - 1]]):
            k0, back = k0 - 1, back + 1
        if at_top and k0 > 0:
            k0 = cluster[0]  # text above the block is not part of it
        fwd = 0
        while k1 + 1 < n and (fwd < 6 or not at_top) and _block_like(lines[ne[k1 + 1]]):
            k1, fwd = k1 + 1, fwd + 1
        if not at_top and k1 + 1 < n:
            k1 = cluster[-1]
        seen_library = seen_site = False
        for k in range(k0, k1 + 1):
            line = lines[ne[k]].strip()
            used.add(ne[k])
            report.counts["title_block_lines"] += 1
            lib = _LIBRARY.match(line)
            if lib:
                meta["source-edition"] = "The Anarchist Library"
                seen_library = True
                if _ANTI_COPYRIGHT.search(line):
                    meta["rights"] = "Anti-Copyright"
                rest = _ANTI_COPYRIGHT.sub("", lib.group(1)).strip(" ,.-—")
                if rest:
                    colophon.append(rest)
            elif _ANTI_COPYRIGHT.fullmatch(line):
                meta["rights"] = "Anti-Copyright"
            elif _SITE.match(line):
                meta["source-edition"] = "The Anarchist Library"
                seen_site = True
            elif _RETRIEVED.match(line):
                meta["retrieved-from"] = line
            elif seen_library and not seen_site:
                colophon.append(line)
            else:
                title_page.append(line)
    if not used:
        return meta, used
    _assign_titles(colophon, title_page, meta, report)
    # The title page may also open the text, above a colophon printed at the end.
    values = {_canon(v) for k, v in meta.items() if k in ("title", "subtitle", "author", "date")}
    for i in ne[:6]:
        if i in used:
            continue
        if _canon(lines[i]) in values:
            used.add(i)
            report.counts["title_block_lines"] += 1
        else:
            break
    return meta, used


def _canon(s: str) -> str:
    return re.sub(r"\s+", " ", s.replace("’", "'").replace("“", '"').replace("”", '"')).strip().lower()


def _assign_titles(colophon: list[str], title_page: list[str], meta: dict, report: ImportReport) -> None:
    """Title, subtitle, author and date from the block's other lines.

    The colophon gives author, title, subtitle and date in that order, on lines of
    their own or run together on one line (which then says which title-page line is
    which); the title page gives title, subtitle, author, date.
    """
    candidates = colophon + title_page
    combined = None
    for c in candidates:
        if len([o for o in candidates if o is not c and len(o) > 1 and o in c]) >= 2:
            combined = c
            break
    dates = [c for c in candidates if c is not combined and _is_date(c)]
    if dates:
        meta["date"] = dates[-1]
    order: list[str] = []
    if combined:
        parts = list(dict.fromkeys(c for c in candidates if c is not combined and not _is_date(c)))
        placed = sorted((combined.find(p), p) for p in parts if p in combined)
        if placed and placed[0][0] == 0 and len(placed) >= 2:
            meta["author"] = placed[0][1]
            placed = placed[1:]
        order = [p for _, p in placed]
        rest = [p for p in parts if p not in combined]
    else:
        col = [c for c in colophon if not _is_date(c)]
        page = [c for c in title_page if not _is_date(c)]
        if len(col) >= 2:
            meta["author"] = col[0]
            order = col[1:]
            rest = [p for p in page if _canon(p) not in {_canon(c) for c in col}]
        else:
            page = list(dict.fromkeys(col + page))
            if len(page) >= 2:
                meta["author"] = page.pop()
            order, rest = page, []
    if order:
        meta["title"] = order[0]
    if len(order) >= 2:
        meta["subtitle"] = order[1]
    extra = order[2:] + rest
    if extra:
        meta["source-note"] = "; ".join(extra)
        report.doubt(None, f"title block lines not understood, kept as source-note: {extra}")
    for key in ("title", "author"):
        if key not in meta:
            report.doubt(None, f"the title block gives no {key}")
