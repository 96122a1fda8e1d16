"""Wiki pages exported as Pandoc Markdown (MediaWiki through pandoc).

Such pages carry a YAML header, internal links written `[text](Target "wikilink")`
(often broken across lines), category links, a `<references />` tag under an
otherwise empty Notes heading, and an "External links" section. The work itself
often sits under a heading such as "Transcript" after the wiki's own summary.
"""
from __future__ import annotations

import re

from ..model import split_front_matter
from ..messages import AnthologyError
from .base import ImportedText, Importer, ImportReport, register

_TARGET = r'(?:[^()\s"]|\([^()]*\))+'
WIKILINK = re.compile(r'\[((?:[^\[\]]|\n)*?)\]\(' + _TARGET + r'\s+"wikilink"\)')
LINK = re.compile(r'\[((?:[^\[\]]|\n)*?)\]\((https?://[^)\s]+)\)')
REFERENCES_TAG = re.compile(r"^\s*<references\s*/?>\s*$", re.M | re.I)
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$", re.M)
WORK_HEADINGS = {"transcript", "text", "full text", "the text", "content", "contents"}
DROP_IF_EMPTY = {"notes", "references", "footnotes"}
EXTERNAL = {"external links", "external link", "links", "sources"}
YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b")
BY = re.compile(r"\b(?:written|authored)\s+by\s+(.+?)(?:\s+and\s+(?:published|printed)|[,.;]|$)", re.S)


@register
class WikiImporter(Importer):
    name = "wiki"
    description = "Wiki page in Pandoc Markdown with wikilinks"

    @classmethod
    def detect(cls, text: str) -> tuple[float, str]:
        links = len(re.findall(r'"wikilink"\)', text))
        front = text.startswith("---\n")
        score = min(1.0, 0.3 * front + 0.1 * links)
        return score, f"{links} wikilinks" + (", YAML front matter" if front else "")

    def convert(self, text: str, source_name: str) -> ImportedText:
        report = ImportReport(source_name, self.name)
        try:
            meta, body, _ = split_front_matter(text, source_name)
        except AnthologyError:
            meta, body = {}, text
        body, categories = _drop_categories(body)
        report.counts["category_links_removed"] = categories
        body, links = _unlink(body, report)
        body, notes = _take_note_definitions(body)
        sections = _split_sections(body)
        lead, sections = _separate_lead(sections, report)
        kept, external = [], []
        for level, title, content in sections:
            name = (title or "").lower().strip(" :")
            if name in EXTERNAL:
                external += [url for _, url in LINK.findall(content)]
                report.counts["external_link_sections_moved"] += 1
                continue
            content, refs = REFERENCES_TAG.subn("", content)
            report.counts["references_tags_removed"] += refs
            if name in DROP_IF_EMPTY and not _has_prose(content):
                report.counts["empty_headings_removed"] += 1
                kept.append((None, None, content))
                continue
            kept.append((level, title, content))
        meta = _complete_metadata(meta, lead, external, report)
        body = _join_sections(kept) + "\n\n" + notes
        report.counts["wikilinks_unlinked"] = links
        report.counts["notes_found"] = len(re.findall(r"^\[\^[^\]]+\]:", body, re.M))
        report.counts["notes_anchored"] = len(set(re.findall(r"\[\^([^\]]+)\](?!:)", body)))
        return ImportedText(meta, _tidy(body), report)


NOTE_DEF = re.compile(r"^\[\^[^\]]+\]:.*?(?=\n(?:[ \t]*\n)*(?! {4}|\t)\S|\Z)", re.M | re.S)


def _take_note_definitions(body: str) -> tuple[str, str]:
    """Footnote definitions, wherever the page put them, kept together for the end."""
    notes = [m.group(0).strip() for m in NOTE_DEF.finditer(body)]
    return NOTE_DEF.sub("", body), "\n\n".join(notes)


def _drop_categories(body: str) -> tuple[str, int]:
    pattern = re.compile(r'\[Category:(?:[^\[\]]|\n)*?\]\(' + _TARGET + r'\s+"wikilink"\)\s*')
    return pattern.subn("", body)


def _unlink(body: str, report: ImportReport) -> tuple[str, int]:
    count = 0

    def text_of(m: re.Match) -> str:
        nonlocal count
        count += 1
        return m.group(1)

    # Links nest inside emphasis but never inside each other; one pass suffices.
    return WIKILINK.sub(text_of, body), count


def _split_sections(body: str) -> list[tuple[int | None, str | None, str]]:
    """(level, title, content) for the lead (level None) and each heading."""
    out: list[tuple[int | None, str | None, str]] = []
    last, level, title = 0, None, None
    for m in HEADING.finditer(body):
        out.append((level, title, body[last:m.start()]))
        level, title, last = len(m.group(1)), m.group(2), m.end()
    out.append((level, title, body[last:]))
    return out


def _separate_lead(sections, report: ImportReport):
    """When the work sits under a 'Transcript'-like heading, what precedes it is the wiki's summary."""
    for i, (level, title, _) in enumerate(sections):
        if title and title.lower().strip(" :") in WORK_HEADINGS:
            lead = "\n\n".join(c.strip() for _, _, c in sections[:i] if c.strip())
            report.counts["wiki_summary_moved_to_metadata"] += 1 if lead else 0
            rest = [(None, None, sections[i][2])] + sections[i + 1:]
            return lead, rest
    return "", sections


def _has_prose(content: str) -> bool:
    return bool(re.sub(r"^\[\^[^\]]+\]:.*?(?=^\S|\Z)", "", content, flags=re.M | re.S).strip())


def _complete_metadata(meta: dict, lead: str, external: list[str], report: ImportReport) -> dict:
    meta = dict(meta)
    permalink = meta.pop("permalink", None)
    if permalink:
        meta["wiki-page"] = permalink
    bold = re.search(r"\*\*(.+?)\*\*", lead, re.S)
    title = str(meta.get("title", ""))
    if bold:
        plain = " ".join(bold.group(1).split())
        if title and title != plain and title.startswith(plain):
            report.repairs.append(f"title {title!r} → {plain!r} (the wiki's disambiguation dropped)")
            meta["title"] = plain
        meta.setdefault("title", plain)
    if lead:
        meta["source-note"] = " ".join(re.sub(r"\*\*|\*", "", lead).split())
        by = BY.search(lead)
        if by and "author" not in meta:
            meta["author"] = " ".join(by.group(1).split())
            report.doubt(None, f"author taken from the wiki's summary: {meta['author']!r}")
        year = YEAR.search(lead)
        if year and "date" not in meta:
            meta["date"] = int(year.group(1))
            report.doubt(None, f"date taken from the wiki's summary: {year.group(1)}")
    if external:
        meta.setdefault("retrieved-from", external[0])
        if len(external) > 1:
            meta["external-links"] = external
    return meta


def _join_sections(sections) -> str:
    chunks = []
    for level, title, content in sections:
        if level is not None:
            chunks.append(f"{'#' * level} {title}")
        if content.strip():
            chunks.append(content.strip("\n"))
    return "\n\n".join(chunks)


def _tidy(body: str) -> str:
    body = re.sub(r"\n{3,}", "\n\n", body)
    return body.strip() + "\n"
