"""Allow-lists between the texts and the EPUB.

Two passes. `clean_content` runs nh3 over each untrusted fragment (a text's or a
headnote's HTML from pandoc) before it is put into a page: only plain document
markup stays, with no roles, EPUB semantics, event handlers or scripted links.
`to_xhtml` then copies every whole page, ours and theirs, into a new XHTML tree
element by element, keeping only what is on its lists, so that nothing unsafe
and nothing that is not well-formed XHTML can reach the EPUB whatever a text holds.
"""
from __future__ import annotations

import re
import nh3
from lxml import etree

from ..sanitize import plain_attribute

XHTML = "http://www.w3.org/1999/xhtml"
OPS = "http://www.idpf.org/2007/ops"
EPUB_TYPE = f"{{{OPS}}}type"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

TAGS = {
    "a", "abbr", "article", "aside", "b", "bdi", "bdo", "blockquote", "br", "caption", "cite", "code", "col",
    "colgroup", "dd", "del", "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "footer", "h1", "h2", "h3",
    "h4", "h5", "h6", "header", "hr", "i", "img", "ins", "kbd", "li", "mark", "nav", "ol", "p", "pre", "q", "s",
    "samp", "section", "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead",
    "time", "tr", "u", "ul", "var", "wbr",
}
# Dropped with everything inside them; any other unknown element is unwrapped (its text kept).
DROP = {"script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "form", "input", "button",
        "select", "textarea", "option", "template", "noscript", "audio", "video", "source", "track", "canvas",
        "svg", "math", "link", "meta", "base", "head", "title", "param", "portal", "dialog"}
VOID = {"br", "hr", "img", "col", "wbr"}

GLOBAL_ATTRS = {"id", "class", "lang", "dir", "title", "style", "role", "hidden"}
TAG_ATTRS = {
    "a": {"href"}, "img": {"src", "alt", "width", "height"}, "ol": {"start", "type", "reversed"}, "li": {"value"},
    "td": {"colspan", "rowspan", "headers"}, "th": {"colspan", "rowspan", "headers", "scope"},
    "col": {"span"}, "colgroup": {"span"}, "time": {"datetime"},
}
ARIA = {"aria-label", "aria-labelledby", "aria-describedby", "aria-hidden"}
ROLES = {
    "doc-noteref", "doc-footnote", "doc-backlink", "doc-endnotes", "doc-pagebreak", "doc-toc", "doc-chapter",
    "doc-introduction", "doc-preface", "doc-foreword", "doc-prologue", "doc-epilogue", "doc-afterword",
    "doc-appendix", "doc-bibliography", "doc-index", "doc-acknowledgments", "doc-colophon", "doc-cover",
    "doc-subtitle", "doc-epigraph", "doc-dedication", "doc-credits", "doc-glossary", "doc-pagelist",
    "doc-part", "doc-conclusion", "note", "list", "listitem", "presentation", "none",
}
EPUB_TYPES = {
    "noteref", "footnote", "footnotes", "pagebreak", "page-list", "toc", "landmarks", "chapter", "part",
    "introduction", "preface", "foreword", "prologue", "epilogue", "afterword", "appendix", "bibliography",
    "index", "acknowledgments", "colophon", "cover", "titlepage", "copyright-page", "frontmatter",
    "bodymatter", "backmatter", "subtitle", "epigraph", "dedication", "glossary", "credits", "conclusion",
}
SAFE_SCHEMES = {"http", "https", "mailto"}
STYLE_PROPS = {"text-align", "vertical-align", "width", "font-style", "font-weight", "font-variant",
               "text-decoration", "white-space"}

_DATA = re.compile(r"^data-[a-z0-9_.-]+$")
_LANG = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")
_STYLE_VALUE = re.compile(r"^[-#%.\w\s,]+$")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_CONTROL = re.compile(r"[\x00-\x20\x7f]+")
MARKER_ID = re.compile(r"^page-\d+$")  # reserved for the page-break markers


def scheme(url: str) -> str | None:
    """The URL's scheme as a browser would read it (controls and spaces ignored), lower case."""
    m = _SCHEME.match(_CONTROL.sub("", url))
    return m.group(1).lower() if m else None


def is_local(url: str) -> bool:
    """A relative reference inside the book: no scheme, no host, no absolute path."""
    bare = _CONTROL.sub("", url)
    return bool(bare) and scheme(bare) is None and not bare.startswith(("/", "\\"))


def clean_style(value: str) -> str | None:
    kept = []
    for decl in value.split(";"):
        prop, _, val = decl.partition(":")
        prop, val = prop.strip().lower(), val.strip()
        if prop in STYLE_PROPS and val and _STYLE_VALUE.match(val) and "url" not in val.lower():
            kept.append(f"{prop}: {val}")
    return "; ".join(kept) or None


# --- first pass: untrusted fragments -----------------------------------------------------------

def unsafe_markup(fragment: str) -> list[str]:
    """What `clean_content` will remove that an editor should hear about (for the warning)."""
    found = []
    patterns = [
        (r"\son[a-z]+\s*=", "event handler attributes (on...=)"),
        (r"""(?:href|src|cite|formaction)\s*=\s*["']?\s*(?:javascript|vbscript|data|file):""",
         "javascript:, vbscript:, data: or file: links"),
        (r"""\ssrc\s*=\s*["']?\s*(?:https?:)?//""", "remote resources (src=http...)"),
        (r"""style\s*=\s*["'][^"']*url\s*\(""", "styles that load resources"),
        (r"""\s(?:epub:type|role)\s*=""", "EPUB semantics or ARIA roles"),
    ]
    for pattern, what in patterns:
        if re.search(pattern, fragment, re.I):
            found.append(what)
    return found


def _content_filter(tag: str, attr: str, value: str) -> str | None:
    if attr == "id":
        return None if MARKER_ID.match(value) else value
    if attr == "src":
        return value if is_local(value) else None
    if attr == "style":
        return clean_style(value)
    return value


def clean_content(fragment: str) -> str:
    """Only document markup, from a text's HTML fragment: no roles, semantics, scripts or remote loads."""
    if not fragment or not fragment.strip():
        return fragment or ""
    tags = TAGS - {"nav", "aside", "header", "footer", "article"}
    attrs = {"*": {"id", "class", "lang", "dir", "title", "style"}, "figcaption": {"aria-hidden"},
             **{tag: set(names) for tag, names in TAG_ATTRS.items()}}
    return nh3.clean(
        fragment, tags=tags, clean_content_tags=DROP & {"script", "style", "template", "noscript", "title"},
        attributes=attrs, attribute_filter=_content_filter, strip_comments=True, link_rel=None,
        generic_attribute_prefixes={"data-"}, url_schemes=SAFE_SCHEMES,
        # pandoc's own notes in a headnote keep their roles
        tag_attribute_values={"a": {"role": {"doc-noteref", "doc-backlink"}}, "section": {"role": {"doc-endnotes"}}},
    )


# --- second pass: whole pages into XHTML -------------------------------------------------------

class _Copy:
    def __init__(self, resolve_src):
        self.resolve_src = resolve_src
        self.ids: set[str] = set()

    def text(self, parent, text: str | None) -> None:
        if not text:
            return
        text = _NOT_XML.sub("", text)
        if len(parent):
            parent[-1].tail = (parent[-1].tail or "") + text
        else:
            parent.text = (parent.text or "") + text

    def children(self, src, dst) -> None:
        self.text(dst, src.text)
        for child in src:
            if isinstance(child.tag, str):
                self.element(child, dst)
            self.text(dst, child.tail)

    def element(self, src, dst) -> None:
        tag = src.tag.rsplit("}", 1)[-1].lower()
        if tag in DROP:
            return
        if tag not in TAGS:
            self.children(src, dst)  # unwrap
            return
        if tag == "img":
            src_url = self.resolve_src(src.get("src") or "")
            if not src_url:  # an image that cannot be packaged: keep what it says
                alt = (src.get("alt") or "").strip()
                if alt:
                    span = etree.SubElement(dst, f"{{{XHTML}}}span", {"class": "missing-image"})
                    span.text = _NOT_XML.sub("", f"[{alt}]")
                return
        new = etree.SubElement(dst, f"{{{XHTML}}}{tag}")
        self.attributes(src, new, tag)
        if tag == "img":
            new.set("src", src_url)
            new.set("alt", _NOT_XML.sub("", src.get("alt") or ""))
        self.children(src, new)

    def attributes(self, src, dst, tag: str) -> None:
        for name, value in src.attrib.items():
            value = _NOT_XML.sub("", value)
            if name in (EPUB_TYPE, "epub:type"):
                terms = [t for t in value.split() if t in EPUB_TYPES]
                if terms:
                    dst.set(EPUB_TYPE, " ".join(terms))
                continue
            if not (name in GLOBAL_ATTRS or name in TAG_ATTRS.get(tag, ()) or name in ARIA or _DATA.match(name)):
                continue
            value = self.attribute(name, value.strip() if name != "title" and name != "alt" else value)
            if value is not None and name != "src":
                dst.set(name, value)

    def attribute(self, name: str, value: str) -> str | None:
        if name == "id":
            if not value or any(c.isspace() for c in value) or value in self.ids:
                return None
            self.ids.add(value)
            return value
        if name == "href":
            kind = scheme(value)
            return value if (kind in SAFE_SCHEMES or (kind is None and is_local(value))) else None
        if name == "role":
            roles = [r for r in value.split() if r in ROLES]
            return " ".join(roles) or None
        if name == "style":
            return clean_style(value)
        handled, cleaned = plain_attribute(name, value)
        return cleaned if handled else value


def to_xhtml(body_root, *, title: str, lang: str, css: str | None, resolve_src=lambda url: None) -> etree._Element:
    """A complete XHTML document holding `body_root`'s children, through the allow-list."""
    html = etree.Element(f"{{{XHTML}}}html", nsmap={None: XHTML, "epub": OPS})
    lang = lang if _LANG.match(lang or "") else "en"
    html.set("lang", lang)
    html.set(XML_LANG, lang)
    head = etree.SubElement(html, f"{{{XHTML}}}head")
    etree.SubElement(head, f"{{{XHTML}}}meta", {"charset": "utf-8"})
    etree.SubElement(head, f"{{{XHTML}}}title").text = _NOT_XML.sub("", title)
    if css:
        etree.SubElement(head, f"{{{XHTML}}}link", {"rel": "stylesheet", "type": "text/css", "href": css})
    body = etree.SubElement(html, f"{{{XHTML}}}body")
    _Copy(resolve_src).children(body_root, body)
    return html


def serialize(html: etree._Element) -> bytes:
    """Well-formed XHTML; empty elements other than void ones written as start and end tags."""
    for el in html.iter(f"{{{XHTML}}}*"):
        if el.text is None and not len(el) and etree.QName(el).localname not in VOID | {"meta", "link"}:
            el.text = ""
    return etree.tostring(html, xml_declaration=True, encoding="utf-8", doctype="<!DOCTYPE html>")
