"""The allow-list between a text's HTML (from pandoc) and the print renderer.

Pandoc runs with raw HTML turned off, but its attribute syntax still lets a text
write any attribute on a span, a div, a link, an image or a heading:
`[x](file:///etc/passwd){rel=attachment}` becomes an attachment WeasyPrint
embeds in the PDF, `{onerror=...}` an event handler, `[x](javascript:...)` a
scripted link, `{style="background: url(http://...)"}` a request.
`sanitize_fragment` keeps plain document markup and only the attributes the
pipeline relies on, whatever the fragment holds:

- elements: text-level and block-level document markup (below); script, style and
  the like are removed with their content; any other element is unwrapped (its text stays);
- attributes on every element: `id`, `class`, `lang`, `dir`, `title`, `role`,
  `epub:type`, `data-*`, `aria-*`, and a `style` reduced to a few layout
  properties with plain values (no `url(`, no functions, no escapes);
- `href` (on `a` only): `#id`, `http://host...`, `https://host...` and `mailto:`;
- `src` (on `img` only): a relative path inside the book's folder (no scheme,
  no leading `/`, no `..` that climbs out); `alt`, `width`, `height`;
- a few table and list attributes (`colspan`, `start`, ...), with plain values;
- never `rel` (so no `rel="attachment"`), `srcset`, `on*`, `target`, `download`,
  `formaction`, `action`, `poster`, `background`, `cite`, or anything not listed.

The result is well-formed HTML; cleaning it again changes nothing.
"""
from __future__ import annotations

import posixpath
import re
from urllib.parse import unquote

import nh3

TAGS = {
    "a", "abbr", "aside", "b", "bdi", "bdo", "blockquote", "br", "caption", "cite", "code", "col", "colgroup",
    "dd", "del", "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "section", "small", "span",
    "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul", "var", "wbr",
}
# Removed together with everything inside them; any other element not in TAGS is unwrapped.
DROP_WITH_CONTENT = {"script", "style", "template", "noscript", "title", "iframe", "object", "embed", "applet",
                     "svg", "math", "textarea", "select", "option", "frameset", "noframes", "xmp", "noembed"}

GLOBAL_ATTRS = {"id", "class", "lang", "dir", "title", "role", "style", "epub:type"}
TAG_ATTRS = {
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "ol": {"start", "type", "reversed"},
    "li": {"value"},
    "td": {"colspan", "rowspan", "headers"},
    "th": {"colspan", "rowspan", "headers", "scope"},
    "col": {"span"},
    "colgroup": {"span"},
    "time": {"datetime"},
}
GENERIC_PREFIXES = {"data-", "aria-"}
STYLE_PROPERTIES = {"text-align", "vertical-align", "width", "height", "max-width", "font-style", "font-weight",
                    "font-variant", "text-decoration", "white-space"}

_CONTROL = re.compile(r"[\x00-\x20\x7f]+")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")
_STYLE_VALUE = re.compile(r"^[-#%.\w\s,]+$")
_NUMBER = re.compile(r"^\d{1,6}(\.\d{1,4})?%?$")
_TOKEN = re.compile(r"^[A-Za-z0-9_:.-]+(\s+[A-Za-z0-9_:.-]+)*$")
_LANG = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")
_ID = re.compile(r"^[^\s\x00-\x1f\x7f]{1,200}$")


def _scheme(url: str) -> str | None:
    """The URL's scheme as a browser or WeasyPrint would read it (controls and spaces ignored)."""
    m = _SCHEME.match(_CONTROL.sub("", url))
    return m.group(1).lower() if m else None


def safe_href(value: str) -> str | None:
    """`#id`, an http(s) URL with a host, or a mailto: address; None for anything else."""
    bare = _CONTROL.sub("", value)
    if bare.startswith("#"):
        return value.strip() if _ID.match(bare) else None
    scheme = _scheme(value)
    if scheme in ("http", "https"):
        rest = bare[len(scheme) + 1:]
        return value.strip() if rest.startswith("//") and rest[2:3] not in ("", "/") and "\\" not in rest else None
    if scheme == "mailto":
        return value.strip()
    return None


def safe_src(value: str) -> str | None:
    """A relative path that stays inside the book's folder; None for anything else."""
    raw = value.strip()
    if not raw or _CONTROL.search(raw) or "\\" in raw:
        return None
    for candidate in (raw, unquote(raw)):  # a file name may hold a space (`%20`), never a control
        if _scheme(candidate) is not None or candidate.startswith("/") or _CONTROL_CHARACTER.search(candidate) \
                or "\\" in candidate:
            return None
    path = unquote(raw.split("#", 1)[0].split("?", 1)[0])
    if not path or path.startswith("/"):
        return None
    normal = posixpath.normpath(path)
    if normal == ".." or normal.startswith("../") or normal.startswith("/"):
        return None
    return raw


def safe_style(value: str) -> str | None:
    """Only a few layout properties with plain values: nothing that loads, computes or escapes."""
    kept = []
    for declaration in value.split(";"):
        prop, _, val = declaration.partition(":")
        prop, val = prop.strip().lower(), val.strip()
        if prop in STYLE_PROPERTIES and val and _STYLE_VALUE.match(val) and "url" not in val.lower() \
                and "expression" not in val.lower():
            kept.append(f"{prop}: {val}")
    return "; ".join(kept) or None


ENUMERATED = {"dir": ("ltr", "rtl", "auto"), "type": ("1", "a", "A", "i", "I"),
              "scope": ("row", "col", "rowgroup", "colgroup")}
NUMERIC = {"colspan", "rowspan", "start", "span", "value", "width", "height"}
BOOLEAN = {"hidden", "reversed"}


def plain_attribute(name: str, value: str) -> tuple[bool, str | None]:
    """(handled, cleaned value) for the attributes whose rules the print HTML and the EPUB share."""
    if name == "lang":
        return True, value.strip() if _LANG.match(value.strip()) else None
    if name in ENUMERATED:
        return True, value if value in ENUMERATED[name] else None
    if name in NUMERIC:
        return True, value.strip() if _NUMBER.match(value.strip()) else None
    if name in BOOLEAN:
        return True, name
    return False, None


def _attribute(tag: str, name: str, value: str) -> str | None:
    if name == "href":
        return safe_href(value) if tag == "a" else None
    if name == "src":
        return safe_src(value) if tag == "img" else None
    if name == "style":
        return safe_style(value)
    if name == "id":
        return value if _ID.match(value) else None
    if name in ("role", "epub:type"):
        return value.strip() if _TOKEN.match(value.strip()) else None
    handled, cleaned = plain_attribute(name, value)
    return cleaned if handled else value


def sanitize_fragment(html: str) -> str:
    """A part's HTML fragment (`part.html`, `part.headnote_html`) with only allowed markup left.

    Call it on each fragment right after `pandoc.book_to_html(book)`, before anything
    else reads the HTML; see the module's docstring for what stays.
    """
    if not html or not html.strip():
        return html or ""
    attributes = {"*": set(GLOBAL_ATTRS), **{tag: set(names) for tag, names in TAG_ATTRS.items()}}
    return nh3.clean(
        html,
        tags=TAGS,
        clean_content_tags=DROP_WITH_CONTENT,
        attributes=attributes,
        attribute_filter=_attribute,
        generic_attribute_prefixes=GENERIC_PREFIXES,
        strip_comments=True,
        link_rel=None,
        url_schemes={"http", "https", "mailto"},
    )


def sanitize_book(book) -> None:
    """Clean every HTML fragment pandoc made, before either renderer sees it."""
    for part in (p for p in book.parts if not p.reused):
        part.html = sanitize_fragment(part.html)
        part.headnote_html = sanitize_fragment(part.headnote_html)
    if getattr(book, "bibliography_html", ""):
        book.bibliography_html = sanitize_fragment(book.bibliography_html)
