"""`anthology bib suggest`: the works the texts' notes cite, grouped across texts.

The editor curates the candidates into bibliography.yaml; nothing here is
written into the book. A mention is an author's name followed by a title:
in italics (`*Title*`), in quotation marks, or, in plain text from PDFs, a run
of capitalised words after "Name, ".
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import yaml

NOTE = re.compile(r"^\[\^([^\]]+)\]:[ \t]*(.*?)(?=^\[\^|\Z)", re.M | re.S)
NAME = r"(?P<author>(?:[A-Z][\w’.-]*\.?\s+){0,3}[A-Z][\w-]+)"
SMALL = r"(?:of|and|the|in|on|to|for|a|an|de|la|du|des|et|from|at|with|since)"
TITLE_CASE = rf"(?P<plain>(?:The |A |An )?[A-Z][\w'’-]+(?: (?:[A-Z][\w'’-]*|{SMALL}|\d{{4}}(?:-\d{{4}})?))+)"
MENTION = re.compile(
    NAME + r"(?:'s|’s)?,?\s+\(?(?:in\s+)?(?:\*(?P<italic>[^*]{3,}?)\*|[“\"](?P<quoted>[^”\"]{3,}?)[”\"]|" + TITLE_CASE + ")")
YEAR = re.compile(r"\b(1[6-9]\d\d|20\d\d)\b")
ARTICLE = re.compile(r"^(the|a|an|le|la|les)\s+", re.I)
NOT_AUTHORS = {"Ibid", "See", "Cf", "According", "In", "The", "Quoted", "Cited", "Also", "This", "Op"}


@dataclass
class Candidate:
    author: str
    title: str
    year: str | None
    mentions: list[tuple[str, str]] = field(default_factory=list)  # (text id, note label)

    @property
    def key(self) -> str:
        family = re.sub(r"\W", "", self.author.split()[-1]).lower()
        first = next((w for w in re.findall(r"\w+", ARTICLE.sub("", self.title.lower())) if len(w) > 3), "x")
        return f"{family}-{first}{('-' + self.year) if self.year else ''}"


def normalise_title(title: str) -> str:
    """The first three words of a title, without article: enough to group short and long forms."""
    words = re.findall(r"[a-z]+", ARTICLE.sub("", " ".join(title.split()).lower()))
    return " ".join(words[:3])


def mentions_in(note: str):
    flat = " ".join(note.split())
    marked = "*" in flat or "“" in flat or '"' in flat  # then only marked titles count
    for m in MENTION.finditer(flat):
        if marked and m.group("plain"):
            continue
        author = " ".join(m.group("author").split())
        if author.split()[0].rstrip(".") in NOT_AUTHORS and len(author.split()) == 1:
            continue
        author = " ".join(w for w in author.split() if w.rstrip(".") not in NOT_AUTHORS) or author
        title = (m.group("italic") or m.group("quoted") or m.group("plain") or "").strip(" ,.;:")
        title = re.sub(rf"(?: {SMALL})+$", "", title)
        if len(title.split()) < 2 or re.search(r"\b(op\.? cit|ibid|loc\.? cit)\b", title, re.I):
            continue
        tail = flat[m.end():m.end() + 120]
        year = YEAR.search(tail)
        yield author, " ".join(title.split()), year.group(1) if year else None


def suggest(book) -> list[Candidate]:
    """Candidates from every text's notes, one per work, most cited first."""
    found: dict[str, Candidate] = {}
    for part in book.texts:
        for label, note in NOTE.findall(part.body):
            for author, title, year in mentions_in(note):
                candidate = found.setdefault(normalise_title(title), Candidate(author, title, year))
                candidate.year = candidate.year or year
                candidate.mentions.append((part.id, label))
    return sorted(found.values(), key=lambda c: (-len({t for t, _ in c.mentions}), -len(c.mentions), c.key))


def as_csl_yaml(candidates: list[Candidate]) -> str:
    out = ["# Candidate entries for bibliography.yaml, found in the texts' notes by `anthology bib suggest`.",
           "# Check each against the notes, complete it, and copy what belongs into bibliography.yaml.", ""]
    for c in candidates:
        texts = sorted({t for t, _ in c.mentions})
        where = "; ".join(f"{t} note {n}" for t, n in c.mentions)
        out.append(f"# {len(c.mentions)} mention(s) in {len(texts)} text(s): {where}")
        names = c.author.split()
        entry = {"id": c.key, "type": "book",
                 "author": [{"family": names[-1], **({"given": " ".join(names[:-1])} if names[:-1] else {})}],
                 "title": c.title}
        if c.year:
            entry["issued"] = {"date-parts": [[int(c.year)]]}
        out.append(yaml.safe_dump([entry], sort_keys=False, allow_unicode=True).rstrip())
        out.append("")
    return "\n".join(out)
