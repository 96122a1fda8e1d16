"""Just enough of Pandoc's Markdown to lint a text without running pandoc.

`scan` walks a body line by line and keeps every line's number and columns: it
knows fenced and indented code blocks, code spans (also across lines),
backslash escapes, footnote definitions with their indented continuation lines,
and headings as pandoc reads them (`blank_before_header`: a `#` line straight
after a paragraph line is not a heading). Each `Line.text` is the line with
code and escapes blanked out, same length as the source line, so that a match
in it has the column of the source.

`auto_identifier` is pandoc's `auto_identifiers` algorithm (not the gfm one),
checked against pandoc itself in tests/test_check.py.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})")
NOTE_DEF = re.compile(r"^( {0,3})\[\^([^\]\s]+)\]:")
LIST_ITEM = re.compile(r"^[ \t]{0,3}(?:[-*+]|\d+[.)]|#[.)]|\(?[A-Za-z]\)|[a-z][.])[ \t]+\S")
QUOTE = re.compile(r"^(?:[ \t]{0,3}>[ \t]?)+")
ATX = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t]*$")
SETEXT = re.compile(r"^[ \t]{0,3}(?:=+|-+)[ \t]*$")
ATTRS = re.compile(r"[ \t]*\{([^{}]*)\}[ \t]*$")
CLOSING_HASHES = re.compile(r"[ \t]+#+[ \t]*$")
NOTE_REF = re.compile(r"\[\^([^\]\s]+)\]")
INLINE_NOTE = re.compile(r"\^\[")
REF_DEF = re.compile(r"^ {0,3}\[([^\]^][^\]]*)\]:[ \t]*<?([^\s>]+)>?")
_DEST = r"(?:<(?P<{0}1>[^<>\n]*)>|(?P<{0}2>[^\s)<>]*))(?:[ \t]+(?:\"[^\"]*\"|'[^']*'))?[ \t]*\)"
LINK_DEST = re.compile(r"\]\([ \t]*" + _DEST.format("dest"))
AUTOLINK = re.compile(r"<(?:[A-Za-z][A-Za-z0-9+.-]*:[^\s<>]*|[^\s<>@]+@[^\s<>]+)>")
IMAGE = re.compile(r"!\[(?P<alt>(?:[^\[\]]|\[[^\[\]]*\])*)\]"
                   r"(?:\([ \t]*" + _DEST.format("src") + r"(?P<attrs>\{[^{}]*\})?"
                   r"|\[(?P<ref>[^\]]*)\]|(?![(\[]))")
# Pandoc: `@` not after a letter, digit, '.' or '\'; the key may hold : . # $ % & - + ? < > ~ /
# when a letter, digit or _ follows; `@{...}` for anything else.
CITATION = re.compile(r"(?<![^\W_])(?<![.\\])@(?:\{([^{}\s]+)\}|(\w(?:\w|[:.#$%&\-+?<>~/](?=\w))*))")
ESCAPE = re.compile(r"\\[^\sA-Za-z0-9]")
BACKTICKS = re.compile(r"(?<!`)`+")


@dataclass
class Line:
    number: int                # line of the source file
    raw: str
    text: str                  # code and escapes blanked, same length as raw
    blank: bool = False
    code: bool = False
    note: str | None = None    # label of the footnote definition this line belongs to
    heading: bool = False


@dataclass
class Heading:
    line: int
    col: int
    level: int
    text: str                  # the heading's inline Markdown, attributes removed
    explicit_id: str | None
    id_col: int | None = None  # column of the explicit `#id`


@dataclass
class NoteDef:
    label: str
    line: int
    col: int


@dataclass
class NoteRef:
    label: str
    line: int
    col: int
    in_note: str | None        # the note definition it stands in, if any


@dataclass
class Target:
    """A link to `#id`, an image, or a citation key, where it stands."""
    value: str
    line: int
    col: int
    attrs: str = ""


@dataclass
class Document:
    file: str
    lines: list[Line]
    headings: list[Heading] = field(default_factory=list)
    note_defs: list[NoteDef] = field(default_factory=list)
    note_refs: list[NoteRef] = field(default_factory=list)
    inline_notes: list[tuple[int, int]] = field(default_factory=list)
    links: list[Target] = field(default_factory=list)
    images: list[Target] = field(default_factory=list)
    citations: list[Target] = field(default_factory=list)

    def notes_in_order(self) -> list[tuple[int, int, str | None]]:
        """Where each of pandoc's Note elements comes from, in order, with its label: every
        reference to a defined note outside a note, and every inline note `^[...]` (no label)."""
        defined = {d.label for d in self.note_defs}
        calls = [(r.line, r.col, r.label) for r in self.note_refs if r.in_note is None and r.label in defined]
        return sorted(calls + [(line, col, None) for line, col in self.inline_notes], key=lambda c: c[:2])


def _indent(raw: str) -> int:
    width = 0
    for char in raw:
        if char == " ":
            width += 1
        elif char == "\t":
            width += 4 - width % 4
        else:
            break
    return width


def _blank_out(text: str, start: int, end: int) -> str:
    return text[:start] + "".join(c if c == "\n" else " " for c in text[start:end]) + text[end:]


def _mask_code_spans(text: str) -> str:
    """Blank out code spans (backticks included); a run with no closing run is literal."""
    out, i = text, 0
    while True:
        m = BACKTICKS.search(out, i)
        if not m:
            return out
        if m.start() and _odd_backslashes(out, m.start()):
            i = m.start() + 1
            continue
        n = len(m.group())
        close = re.compile(r"(?<!`)`{%d}(?!`)" % n).search(out, m.end())
        if not close:
            i = m.end()
            continue
        out = _blank_out(out, m.start(), close.end())
        i = close.end()


def _odd_backslashes(text: str, at: int) -> bool:
    count = 0
    while at - count - 1 >= 0 and text[at - count - 1] == "\\":
        count += 1
    return count % 2 == 1


def _blocks(body: str, first_line: int) -> list[Line]:
    lines: list[Line] = []
    fence: tuple[str, int] | None = None
    indented_code = False
    container: str | None = None   # list | note: indented lines after a blank line continue it
    note: str | None = None
    prev_blank = True
    for i, raw in enumerate(body.split("\n")):
        line = Line(first_line + i, raw, raw)
        blank = not raw.strip()
        if fence:
            line.code, line.text = True, " " * len(raw)
            m = FENCE.match(raw)
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= fence[1] and not raw[m.end():].strip():
                fence = None
            lines.append(line)
            prev_blank = False
            continue
        if indented_code:
            if blank or _indent(raw) >= 4:
                line.code, line.text, line.blank = True, " " * len(raw), blank
                lines.append(line)
                continue
            indented_code = False
        if blank:
            line.blank, line.note = True, note
            lines.append(line)
            prev_blank = True
            continue
        if FENCE.match(raw):
            fence = (FENCE.match(raw).group(1)[0], len(FENCE.match(raw).group(1)))
            line.code, line.text = True, " " * len(raw)
            lines.append(line)
            prev_blank = False
            continue
        indent = _indent(raw)
        if prev_blank and indent >= 4 and container is None:
            indented_code = True
            line.code, line.text = True, " " * len(raw)
            lines.append(line)
            continue
        if NOTE_DEF.match(raw):
            note, container = NOTE_DEF.match(raw).group(2), "note"
        elif prev_blank and indent < 4:
            note = None
            container = "list" if LIST_ITEM.match(raw) else None
        elif container is None and LIST_ITEM.match(raw):
            container = "list"
        line.note = note
        lines.append(line)
        prev_blank = False
    return lines


def _mask(lines: list[Line]) -> None:
    """Blank code spans (per paragraph, so they may cross lines) and escapes in `Line.text`."""
    para: list[Line] = []

    def flush():
        if not para:
            return
        joined = _mask_code_spans("\n".join(l.text for l in para))
        for l, text in zip(para, joined.split("\n")):
            l.text = ESCAPE.sub(lambda m: "  ", text)
        para.clear()

    for line in lines:
        if line.blank or line.code or NOTE_DEF.match(line.raw):
            flush()
        if not (line.blank or line.code):
            para.append(line)
    flush()


def _heading_at(lines: list[Line], i: int) -> tuple[Heading | None, bool]:
    """The heading that line `i` starts, and whether it is underlined (setext)."""
    line = lines[i]
    if line.code or line.blank or line.note is not None:
        return None, False
    prev = lines[i - 1] if i else None
    after_break = prev is None or prev.blank or prev.heading or prev.code
    quote = QUOTE.match(line.raw)
    offset = quote.end() if quote else 0
    text = line.raw[offset:]
    m = ATX.match(text)
    if m and after_break:
        return _heading(line.number, offset + 1, len(m.group(1)), m.group(2), offset + m.start(2)), False
    nxt = lines[i + 1] if i + 1 < len(lines) else None
    if (nxt and not nxt.code and SETEXT.match(nxt.raw) and after_break and _indent(line.raw) < 4
            and not LIST_ITEM.match(line.raw) and not NOTE_DEF.match(line.raw)):
        level = 1 if nxt.raw.strip()[0] == "=" else 2
        return _heading(line.number, offset + 1, level, text.strip(), offset + len(text) - len(text.lstrip())), True
    return None, False


def _heading(number: int, col: int, level: int, text: str, text_start: int) -> Heading:
    explicit, id_col = None, None
    attrs = ATTRS.search(text)
    if attrs:
        for token in attrs.group(1).split():
            if token.startswith("#") and len(token) > 1:
                explicit = token[1:]
                id_col = text_start + attrs.start(1) + attrs.group(1).index(token) + 1
        text = text[:attrs.start()]
    text = "" if re.fullmatch(r"#+", text.strip()) else CLOSING_HASHES.sub("", text)
    return Heading(number, col, level, text.strip(), explicit, id_col)


def scan(body: str, first_line: int = 1, file: str = "") -> Document:
    """The structure of one Markdown body that starts at line `first_line` of `file`."""
    lines = _blocks(body, first_line)
    _mask(lines)
    doc = Document(file, lines)
    refs: dict[str, tuple[str, str]] = {}
    for i, line in enumerate(lines):
        heading, setext = _heading_at(lines, i)
        if heading:
            doc.headings.append(heading)
            line.heading = True
            if setext:
                lines[i + 1].heading = True
    for line in lines:
        if line.code or line.blank:
            continue
        text = line.text
        d = NOTE_DEF.match(line.raw)
        if d:
            doc.note_defs.append(NoteDef(d.group(2), line.number, len(d.group(1)) + 1))
            text = " " * d.end() + text[d.end():]
        r = REF_DEF.match(text)
        if r:
            refs[_label(r.group(1))] = (r.group(2), "")
            if r.group(2).startswith("#"):
                doc.links.append(Target(r.group(2)[1:], line.number, r.start(2) + 1))
            text = " " * len(text)
        for m in NOTE_REF.finditer(text):
            doc.note_refs.append(NoteRef(m.group(1), line.number, m.start() + 1, line.note))
        for m in INLINE_NOTE.finditer(text):
            doc.inline_notes.append((line.number, m.start() + 1))
        for m in IMAGE.finditer(text):
            src = m.group("src1") if m.group("src1") is not None else m.group("src2")
            if src is not None:
                doc.images.append(Target(src, line.number, m.start() + 1, m.group("attrs") or ""))
            else:
                label = _label(m.group("ref") or m.group("alt"))
                doc.images.append(Target("\0" + label, line.number, m.start() + 1))
        for m in LINK_DEST.finditer(text):
            group = "dest1" if m.group("dest1") is not None else "dest2"
            if m.group(group).startswith("#") and not _is_image(text, m.start()):
                doc.links.append(Target(m.group(group)[1:], line.number, m.start(group) + 1))
        plain = LINK_DEST.sub(lambda m: " " * len(m.group()), AUTOLINK.sub(lambda m: " " * len(m.group()), text))
        for m in CITATION.finditer(plain):
            doc.citations.append(Target(m.group(1) or m.group(2), line.number, m.start() + 1))
    # reference-style images: resolved against the document's `[label]: target` lines
    resolved = []
    for image in doc.images:
        if image.value.startswith("\0"):
            if image.value[1:] in refs:
                resolved.append(Target(refs[image.value[1:]][0], image.line, image.col))
        else:
            resolved.append(image)
    doc.images = resolved
    return doc


def _label(label: str) -> str:
    return " ".join(label.split()).lower()


def _is_image(text: str, close_bracket: int) -> bool:
    """Whether the `](` at `close_bracket` closes an image's alt text rather than a link's text."""
    depth = 0
    for k in range(close_bracket - 1, -1, -1):
        if text[k] == "]":
            depth += 1
        elif text[k] == "[":
            if depth == 0:
                return k > 0 and text[k - 1] == "!"
            depth -= 1
    return False


def prose_blocks(doc: Document) -> list[list[tuple[str, bool]]]:
    """The words of each paragraph, outside headings and code, as (word, in a note)."""
    blocks: list[list[tuple[str, bool]]] = []
    current: list[tuple[str, bool]] = []
    for line in doc.lines:
        if line.blank or line.code or line.heading:
            if current:
                blocks.append(current)
                current = []
            continue
        text = line.text
        d = NOTE_DEF.match(line.raw)
        if d:
            if current:
                blocks.append(current)
                current = []
            text = " " * d.end() + text[d.end():]
        text = LINK_DEST.sub(lambda m: "]" + " " * (len(m.group()) - 1), text)
        text = NOTE_REF.sub(lambda m: " " * len(m.group()), text)
        in_note = line.note is not None
        depth, start = 0, 0
        for m in re.finditer(r"\^\[|\[|\]", text):  # inline notes ^[...] within the line
            token = m.group()
            if depth == 0:
                if token == "^[":
                    current += [(w, in_note) for w in text[start:m.start()].split()]
                    start, depth = m.end(), 1
            elif token == "]":
                depth -= 1
                if depth == 0:
                    current += [(w, True) for w in text[start:m.start()].split()]
                    start = m.end()
            else:
                depth += 1
        current += [(w, in_note or depth > 0) for w in text[start:].split()]
    if current:
        blocks.append(current)
    return blocks


# pandoc's auto_identifiers ------------------------------------------------------------------

_CODE_SPAN = re.compile(r"(`+)(.+?)(?<!`)\1(?!`)", re.S)
_INLINE_NOTE_FULL = re.compile(r"\^\[(?:[^\[\]]|\[[^\[\]]*\])*\]")
_IMAGE_OR_LINK = re.compile(r"!?\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\([^)]*\)")
_SPAN_ATTRS = re.compile(r"(\])\{[^{}]*\}")


def heading_plain_text(markdown: str) -> str:
    """The heading's text as pandoc's `stringify` would give it, before the identifier rules."""
    keep: list[str] = []

    def protect(text: str) -> str:
        keep.append(text)
        return f"\x00{len(keep) - 1}\x00"

    s = _CODE_SPAN.sub(lambda m: protect(m.group(2).strip()), markdown)
    s = re.sub(r"\\([^\sA-Za-z0-9])", lambda m: protect(m.group(1)), s)
    s = _INLINE_NOTE_FULL.sub("", s)
    for _ in range(3):
        s = _IMAGE_OR_LINK.sub(lambda m: m.group(1), s)
    s = _SPAN_ATTRS.sub(r"\1", s)
    s = html.unescape(s)
    s = s.replace("---", "\u2014").replace("--", "\u2013").replace("...", "\u2026")  # smart
    # emphasis underscores go; intraword ones (snake_case) stay
    s = "".join(c for i, c in enumerate(s)
                if c != "_" or (0 < i < len(s) - 1 and s[i - 1].isalnum() and s[i + 1].isalnum()))
    return re.sub("\x00(\\d+)\x00", lambda m: keep[int(m.group(1))], s)


def auto_identifier(markdown: str) -> str:
    """Pandoc's identifier for a heading with this text ('' when nothing is left)."""
    text = heading_plain_text(markdown).lower()
    text = "".join(c for c in text if c.isspace() or c.isalnum() or c in "_-.")
    ident = "-".join(text.split())
    while ident and not ident[0].isalpha():
        ident = ident[1:]
    return ident


def unique_identifier(base: str, used: set[str]) -> str:
    """Pandoc's `uniqueIdent`: `section` for nothing, then -1, -2, … against the ids used so far."""
    base = base or "section"
    if base not in used:
        return base
    n = 1
    while f"{base}-{n}" in used:
        n += 1
    return f"{base}-{n}"
