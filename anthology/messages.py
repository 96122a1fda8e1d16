"""The one catalogue of diagnostics.

Every message the tool gives a person has a code from this table, says where
(file:line:col), what is wrong and how to fix it. Codes are stable: tests and
editors' scripts may rely on them.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# code: (severity, hint). The message text itself is built where the problem is found.
CATALOGUE: dict[str, tuple[str, str]] = {
    # YAML syntax and safety
    "Y001": ("error", "Fix the YAML syntax at this position (check indentation and quoting; tabs are not allowed)."),
    "Y002": ("error", "Remove the tag: manifests and front matter hold plain values only."),
    "Y003": ("error", "Anchors and aliases are not allowed: write the value out in full."),
    "Y004": ("error", "Each key may appear once in a mapping: remove or rename the duplicate."),
    # Manifest schema
    "M001": ("error", "Add the missing key; see docs/manifest.md for the schema."),
    "M002": ("warning", "Remove the key or correct its spelling; see docs/manifest.md for the schema."),
    "M003": ("error", "Give the value the type the schema expects; see docs/manifest.md."),
    "M004": ("error", "Use one of the allowed values listed in docs/manifest.md."),
    "M005": ("error", "Create the file or correct the path (paths are relative to the manifest's folder)."),
    "M006": ("error", "Keep every path inside the book's folder: no absolute paths, no '..', no links out."),
    "M007": ("error", "The top level of the manifest must be a mapping of keys to values."),
    "M008": ("error", "Give each item of `contents` a unique id (it is derived from the file name unless `id:` is set)."),
    "M009": ("error", "Name a regular file: a folder, a named pipe or a device cannot be read as part of a book."),
    "M010": ("error", "Make the file smaller, e.g. split a long text into several items of `contents`."),
    "M011": ("error", "Name a UTF-8 text file here, not an archive (zip, EPUB) or another binary file: "
                      "unpack it and import each text with `anthology import`."),
    # Texts
    "T001": ("error", "Add the key to the text's YAML front matter."),
    "T002": ("error", "Close the front matter with a line `---` and check its YAML."),
    "T003": ("error", "Add the definition `[^label]: ...` or remove the reference."),
    "T004": ("warning", "Reference the note in the text with `[^label]` or remove the definition."),
    "T005": ("error", "Remove the key from the front matter: it would make pandoc read files or fetch URLs."),
    "T006": ("error", "Replace the character, or add a font that has it to styles/fonts/ and print.css."),
    # Build
    "B001": ("error", "Check that pandoc (pypandoc-binary) is installed in the environment: run `make book` again."),
    "B002": ("error", "The PDF renderer failed; the message above says why. The previous outputs are kept."),
    "B003": ("error", "The EPUB packager failed; the message above says why. The previous outputs are kept."),
    "B004": ("error", "Another build is writing into this folder; wait for it to finish or remove the stale lock file."),
    "B005": ("error", "Only files inside the book's folder and data: URIs may be used as resources."),
    "B006": ("error", "Pandoc took too long on this file: split it into smaller items of `contents`, or look for "
                      "deeply nested lists, quotes or emphasis that make it slow."),
    "B007": ("error", "Pandoc ran out of memory on this file: split it into smaller items of `contents`."),
    "B008": ("error", "Free some disk space where the book is written and build again; the previous outputs are kept."),
    "B009": ("error", "A file the print edition loads is missing or is not a regular file: restore it "
                      "(styles/ comes with anthology) or correct the path."),
    "P001": ("error", "The PDF failed preflight and was not written: fix the style or text named above."),
    "P002": ("warning", "The note is too long to share a page with the line that calls it: shorten it, or move "
                        "part of it into the text."),
    # Apparatus
    "X001": ("error", "Correct the id after '#', or give the target that id (see docs/apparatus.md)."),
    "X002": ("error", "Give one of the two places another id: ids must be unique across the whole book."),
    "X004": ("error", "Fix the entry in index.yaml: see docs/apparatus.md for its form."),
    "C001": ("error", "Add an entry with this id to the bibliography, or correct the key."),
    # EPUB and cover
    "E001": ("error", "Give `output.epub.cover-image` a JPEG or PNG file, or remove the key to have a cover drawn."),
    "E002": ("error", "Use a cover image of 1600 × 2560 px (at least 1400 px wide, at most 10 million pixels)."),
    "E003": ("error", "Crop the cover image to portrait proportions 1:1.6, e.g. 1600 × 2560 px."),
    "E004": ("error", "Give `output.epub.cover-colors` two colours as '#rrggbb': the background, then the text."),
    "E005": ("warning", "Remove it from the text: scripts, event handlers (on...=), javascript: and data: links, "
                        "remote images and styles never reach the EPUB."),
    "E006": ("warning", "Put the image inside the book's folder as PNG, JPEG, GIF or WebP and refer to it by a "
                        "relative path; remote images are never fetched."),
    "E007": ("warning", "Build the PDF too (`anthology build` without --only) and fix what stops it: the EPUB's "
                        "page list follows the print edition's pages."),
    # Import
    "I001": ("error", "Name the format with --format (wiki, pdf-text, plain)."),
    "I002": ("error", "The witnesses must be the same work: import each work on its own."),
    "I003": ("error", "Check the source file: it must exist and be UTF-8 text."),
    "I004": ("error", "Fix the corrections file: each entry needs `find:` and `replace:`, and `find` must occur in the imported text."),
    # Texts, found by `anthology check`
    "T007": ("warning", "Give each note its own label: pandoc uses the first definition and ignores the other."),
    "T008": ("warning", "Move the reference out of the note: notes cannot contain notes, so it would print as `[^label]`."),
    "T009": ("error", "Save the file as UTF-8 text."),
    # The index (docs/apparatus.md); X001, X002, X004 and C001 are declared above
    "X003": ("warning", "Correct the forms under `match:` (whole words, case as written) or remove the term."),
    "X005": ("warning", "Remove the key or correct its spelling; see docs/apparatus.md for the index format."),
    # Citations and the bibliography
    "C002": ("error", "The bibliography is CSL YAML: a list of entries, each a mapping with an `id`."),
    "C003": ("error", "Give each bibliography entry its own id."),
    "C004": ("error", "Use an independent citation style (a CSL file with its own <citation> and <bibliography>), "
                      "kept inside the book's folder: pandoc would fetch a dependent style's parent from the web."),
    # Images
    "G001": ("error", "Add the image or correct the path (image paths are relative to the manifest's folder)."),
    "G002": ("error", "Put the image inside the book's folder and use a relative path: the build fetches nothing else."),
    "G003": ("error", "Scale the image down: at most 50 megapixels and 20 MB."),
    "G004": ("warning", "Print needs 300 ppi: use a wider image, or print it smaller with e.g. `{width=50%}`."),
    "G005": ("error", "Save the image as PNG or JPEG; this file cannot be read as an image."),
}


@dataclass(frozen=True)
class Diagnostic:
    code: str
    message: str
    file: Path | str | None = None
    line: int | None = None
    col: int | None = None
    hint: str | None = None

    @property
    def severity(self) -> str:
        return CATALOGUE[self.code][0]

    def where(self) -> str:
        if self.file is None:
            return "anthology"
        parts = [str(self.file)]
        if self.line is not None:
            parts.append(str(self.line))
            parts.append(str(self.col if self.col is not None else 1))
        return ":".join(parts)

    def format(self) -> str:
        hint = self.hint or CATALOGUE[self.code][1]
        return f"{self.where()}: {self.severity} {self.code}: {self.message}. Hint: {hint}"


class AnthologyError(Exception):
    """One or more diagnostics that stop the current command."""

    def __init__(self, diagnostics: list[Diagnostic] | Diagnostic):
        if isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics = list(diagnostics)
        super().__init__("\n".join(d.format() for d in self.diagnostics))


def error(code: str, message: str, file=None, line=None, col=None, hint=None) -> AnthologyError:
    """Shorthand: an AnthologyError holding one diagnostic."""
    if code not in CATALOGUE:
        raise KeyError(f"message code {code} is not in the catalogue")
    return AnthologyError(Diagnostic(code, message, file, line, col, hint))
