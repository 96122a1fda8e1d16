"""The manifest schema, version 1: declared once, here.

`anthology schema` prints it as Markdown (docs/manifest.md is that output), and
`manifest.py` validates against it. A mapping's fields are `Field`s or nested
`Section`s; `contents` is a list of `Item`s.
"""
from __future__ import annotations

from dataclasses import dataclass, field

SCHEMA_VERSION = 1
GENERATED_PAGES = ("bibliography", "sources", "index")
TRIM_SIZES = {"6x9in": ("6in", "9in"), "5.5x8.5in": ("5.5in", "8.5in"), "a5": ("148mm", "210mm")}


@dataclass(frozen=True)
class Field:
    type: type | tuple
    doc: str
    required: bool = False
    default: object = None
    choices: tuple | None = None
    path: bool = False  # a file inside the book's folder that must exist
    list_of: type | None = None


@dataclass(frozen=True)
class Section:
    doc: str
    fields: dict
    required: bool = False


@dataclass(frozen=True)
class Item:
    """One entry of `contents`: exactly one of the kind keys, plus options."""
    doc: str
    kinds: dict
    options: dict = field(default_factory=dict)


SCHEMA: dict = {
    "schema": Field(int, "Schema version of this manifest.", default=SCHEMA_VERSION, choices=(SCHEMA_VERSION,)),
    "book": Section("The book's metadata.", required=True, fields={
        "title": Field(str, "Title of the book.", required=True),
        "subtitle": Field(str, "Subtitle."),
        "editors": Field(list, "Editors, as they appear on the title page.", required=True, list_of=str),
        "publisher": Field(str, "Publisher's name."),
        "year": Field(int, "Year of publication."),
        "edition": Field(str, "Edition statement for the copyright page.", default="First edition"),
        "language": Field(str, "Main language, as a BCP 47 tag (en, fr, de-CH).", default="en"),
        "rights": Field(str, "Rights statement for the book as a whole."),
        "identifier": Field(str, "ISBN (978-…) or another unique identifier; a stable UUID is derived when absent."),
        "description": Field(str, "A sentence or two about the book (EPUB metadata, back cover)."),
    }),
    "contents": Field(list, "The book's items in reading order; see *Contents items* below.", required=True),
    "bibliography": Field(str, "Combined bibliography in CSL YAML (see docs/apparatus.md).", path=True),
    "csl": Field(str, "Citation style (a CSL file) for the bibliography and the editors' citations.", path=True),
    "index": Field(str, "Index terms and the forms to find them by (see docs/apparatus.md).", path=True),
    "output": Section("Output settings.", fields={
        "slug": Field(str, "Base name of the output files (build/SLUG.pdf); derived from the title when absent."),
        "pdf": Section("The print PDF.", fields={
            "trim": Field(str, "Trim size.", default="6x9in", choices=tuple(TRIM_SIZES)),
            "profile": Field(str, "press: PDF/X-4 for a print shop; screen: tagged PDF with links.",
                             default="press", choices=("press", "screen")),
            "bleed": Field(bool, "Add 0.125in bleed and crop marks.", default=False),
            "page-figures": Field(str, "Figures of the page numbers that cross-references print: tabular, of one "
                                  "width, as the contents has them (a first build draws the real numbers in "
                                  "without laying a text out again); or proportional, as the text's own (the "
                                  "texts that print other texts' pages are laid out twice in a first build).",
                                  default="tabular", choices=("tabular", "proportional")),
        }),
        "epub": Section("The EPUB 3.", fields={
            "page-list": Field(str, "print: the EPUB marks the print edition's page breaks and its index gives "
                               "printed pages, so the print layout is made even for the EPUB alone; none: an "
                               "edition of its own, whose index names the texts (no layout is needed, so "
                               "`--only epub` rebuilds in under a second).",
                               default="print", choices=("print", "none")),
            "cover-image": Field(str, "Your own cover image: JPEG or PNG, 1600×2560 px or the same 1:1.6 proportions, "
                                 "at least 1400 px wide; drawn from the title when absent.", path=True),
            "cover-colors": Field(list, "Background and text colours of the generated cover, as #rrggbb "
                                  "(two values: background, then text).", list_of=str),
            "accessibility-certified-by": Field(str, "Who checked this EPUB against EPUB Accessibility 1.1 "
                                                "(WCAG 2.1 AA): `make a11y` and a reading by a person. When set, the "
                                                "EPUB claims that conformance in their name; when absent it only "
                                                "describes its accessibility features."),
        }),
    }),
}

CONTENTS_ITEM = Item(
    "Each item names exactly one kind.",
    kinds={
        "front": "Front matter written by the editors (a Markdown file), e.g. the introduction.",
        "text": "A text of the anthology (a Markdown file with front matter).",
        "back": "Back matter: a Markdown file, or a generated page: " + ", ".join(GENERATED_PAGES) + ".",
    },
    options={
        "headnote": Field(str, "For a text: the editors' headnote shown on its opening page.", path=True),
        "id": Field(str, "Anchor id of the item; derived from the file name when absent."),
    },
)


def _field_rows(fields: dict, prefix: str) -> list[str]:
    rows = []
    for name, spec in fields.items():
        key = f"{prefix}{name}"
        if isinstance(spec, Section):
            rows.append(f"| `{key}` | section | {'yes' if spec.required else 'no'} | | {spec.doc} |")
            rows += _field_rows(spec.fields, key + ".")
            continue
        kind = spec.type.__name__ + (f" of {spec.list_of.__name__}" if spec.list_of else "")
        extra = f" One of: {', '.join(map(str, spec.choices))}." if spec.choices else ""
        extra += " A path inside the book's folder." if spec.path else ""
        default = "" if spec.default is None else f"`{spec.default}`"
        rows.append(f"| `{key}` | {kind} | {'yes' if spec.required else 'no'} | {default} | {spec.doc}{extra} |")
    return rows


def schema_markdown() -> str:
    """The schema as a Markdown page (docs/manifest.md)."""
    out = [
        f"# manifest.yaml, schema version {SCHEMA_VERSION}",
        "",
        "Generated by `anthology schema` from `anthology/schema.py`; do not edit by hand.",
        "Paths are relative to the manifest's folder and must stay inside it.",
        "Unknown keys are warned about; wrong types, missing required keys and missing files are errors.",
        "",
        "| key | type | required | default | meaning |",
        "|---|---|---|---|---|",
        *_field_rows(SCHEMA, ""),
        "",
        "## Contents items",
        "",
        CONTENTS_ITEM.doc,
        "",
        "| key | meaning |",
        "|---|---|",
        *[f"| `{k}` | {doc} |" for k, doc in CONTENTS_ITEM.kinds.items()],
        *[f"| `{k}` | {spec.doc} |" for k, spec in CONTENTS_ITEM.options.items()],
        "",
    ]
    return "\n".join(out)
