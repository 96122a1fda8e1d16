"""The only module that runs pandoc: Markdown to Pandoc AST, AST to HTML fragments.

Pandoc only ever sees a body with its front matter removed, runs with
`--sandbox` (it may read no file but those named on its command line), with raw
HTML and metadata blocks turned off, so a text cannot make it read files or emit
markup of its own. `--sandbox` does not stop citeproc from downloading the parent
of a dependent citation style, so `check_csl` refuses such a style (C004) before
pandoc sees it. Pandoc's HTML still carries whatever attributes a text wrote with
the attribute syntax: anthology/sanitize.py cleans it. Each run is the pandoc binary of
pypandoc-binary started here, with a wall-clock limit (`limits.PANDOC_TIMEOUT`,
the process is killed when it is reached) and a heap limit
(`+RTS -M<limits.PANDOC_MEMORY>`); either limit is a coded error naming the file.
"""
from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
import subprocess
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from . import limits
from .messages import error

log = logging.getLogger(__name__)

MARKDOWN = "markdown-yaml_metadata_block-raw_html-raw_attribute-raw_tex"
DEFAULT_CSL = Path(__file__).resolve().parent.parent / "styles" / "csl" / "chicago-author-date.csl"
HEAP_EXHAUSTED = 251  # the exit status of a Haskell program that reached its -M limit
_LEVEL = re.compile(r"^\[(ERROR|WARNING|INFO)\]\s*")


# pandoc-binary is built to ask for a 64 MB heap from the start (-H64m): with two pandocs beside
# the build that is a third of their memory, and no faster (measured on our texts). -H4096 is the least.
HEAP_HINT = "-H4096"
# Pandoc spends 40 % of its time collecting garbage; an old generation that does not collect
# before 16 MB makes it a quarter faster on our texts. 32 MB was no faster and took 10 MB more a
# pandoc; a 1 MB nursery (the allocation area) instead of 4 MB is as fast and 3 MB smaller (measured).
OLD_GENERATION = "-O16m"
NURSERY = "-A1m"


def sandbox_args() -> list[str]:
    """What every pandoc run is given first: no file reads or fetches, a heap limit, a small first heap,
    fewer collections."""
    return ["--sandbox", "+RTS", f"-M{limits.PANDOC_MEMORY}", HEAP_HINT, OLD_GENERATION, NURSERY, "-RTS"]


@lru_cache(maxsize=1)
def pandoc_path() -> str:
    """The pandoc that pypandoc-binary installed with us, so that a build does not depend on another
    pandoc the machine has; `PYPANDOC_PANDOC` names another. Without either, pypandoc's search (which
    runs every pandoc it finds to compare versions: a twentieth of a second a build)."""
    bundled = _bundled_pandoc()
    if not os.environ.get("PYPANDOC_PANDOC") and bundled is not None:
        return str(bundled)
    try:
        import pypandoc

        return pypandoc.get_pandoc_path()
    except (ImportError, OSError) as exc:
        raise error("B001", f"pandoc could not be found: {exc}") from None


def _bundled_pandoc() -> Path | None:
    """pypandoc-binary's pandoc, found without importing pypandoc (whose import, of `urllib.request`
    and `email` among others, takes a fiftieth of a second of every command)."""
    spec = importlib.util.find_spec("pypandoc")
    if spec is None or not spec.origin:
        return None
    bundled = Path(spec.origin).resolve().parent / "files" / ("pandoc.exe" if os.name == "nt" else "pandoc")
    return bundled if bundled.is_file() and os.access(bundled, os.X_OK) else None


def _environment() -> dict[str, str]:
    """A small, fixed environment: pandoc needs no proxy, no home, no locale of the editor's."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    for key in ("SYSTEMROOT", "TMPDIR"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def run_pandoc(args: list[str], source: str = "", where: str | None = None, timeout: float | None = None) -> str:
    """Run pandoc with `args` (after the sandbox arguments) on `source`; its standard output.

    `where` names the file the source comes from, for the diagnostics; `timeout` defaults
    to `limits.PANDOC_TIMEOUT`.
    """
    command = [pandoc_path(), *sandbox_args(), *args]
    timeout = limits.PANDOC_TIMEOUT if timeout is None else timeout
    try:
        done = subprocess.run(command, input=source.encode("utf-8"), capture_output=True, timeout=timeout,
                              env=_environment())
    except subprocess.TimeoutExpired:
        raise error("B006", f"pandoc did not finish within {timeout:g} s", file=where) from None
    except OSError as exc:
        raise error("B001", f"pandoc could not be run: {exc}", file=where) from None
    stderr = done.stderr.decode("utf-8", "replace").strip()
    if done.returncode == HEAP_EXHAUSTED or "Heap exhausted" in stderr:
        raise error("B007", f"pandoc needed more than {limits.PANDOC_MEMORY.upper()}B of memory", file=where)
    if done.returncode != 0:
        raise error("B001", f"pandoc failed (exit status {done.returncode}): {_first_lines(stderr)}", file=where,
                    hint="Correct the file named here if the message is about it; otherwise check that pandoc "
                         "(pypandoc-binary) is installed: run `make book` again.")
    for message in _messages(stderr):
        log.warning("%s: pandoc: %s", where or "anthology", message)
    return done.stdout.decode("utf-8", "replace")


def _first_lines(text: str, count: int = 6) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return " ".join(lines[:count]) or "no message"


def _messages(stderr: str) -> list[str]:
    """Pandoc's warnings, one string each (a message may go on over several lines)."""
    messages: list[str] = []
    for line in stderr.splitlines():
        if _LEVEL.match(line) or not messages:
            messages.append(_LEVEL.sub("", line))
        else:
            messages[-1] += " " + line.strip()
    return [m for m in messages if m.strip()]


def _run(source: str, to: str, fmt: str, extra: list[str] | None = None, where: str | None = None) -> str:
    return run_pandoc([f"--from={fmt}", f"--to={to}", *(extra or [])], source, where)


@lru_cache(maxsize=1)
def version() -> str:
    out = run_pandoc(["--version"], timeout=60)
    m = re.match(r"pandoc(?:\.exe)?\s+(\S+)", out)
    return m.group(1) if m else out.split("\n", 1)[0]


def markdown_to_ast(markdown: str, where: str | None = None) -> dict:
    return json.loads(markdown_to_json(markdown, where))


def markdown_to_json(markdown: str, where: str | None = None) -> str:
    """The AST as pandoc writes it, JSON text (see model.Part's packed ASTs)."""
    return _run(markdown, "json", MARKDOWN, where=where)


def citeproc_args(bibliography: Path | None, csl: Path) -> list[str]:
    """Arguments that let pandoc read exactly these two files, and nothing else."""
    if bibliography is None:
        return []
    check_csl(csl)
    return ["--citeproc", f"--bibliography={bibliography}", f"--csl={csl}", "-M", "link-citations=true"]


def check_csl(csl: Path, where: str | None = None) -> None:
    """Refuse a citation style pandoc would fetch more of: `--sandbox` does not stop citeproc
    from downloading a dependent style's `independent-parent`. No DTDs or entities either."""
    from lxml import etree

    name = where or csl.name
    try:
        data = limits.read_regular(csl, limits.MAX_DATA_BYTES)
    except ValueError as exc:
        raise error("M009", f"citation style '{name}' {exc}", file=name) from None
    if re.search(rb"<!(DOCTYPE|ENTITY)", data):
        raise error("C004", "the citation style declares a DTD or entities", file=name)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        line = exc.position[0] if exc.position else None
        raise error("C004", f"the citation style is not well-formed XML: {exc.msg}", file=name, line=line,
                    hint="Use a CSL 1.0 style file, e.g. from https://github.com/citation-style-language/styles.") \
            from None
    for link in root.iter("{*}link"):
        if link.get("rel") == "independent-parent":
            raise error("C004", f"the citation style is a dependent style whose parent is "
                                f"'{link.get('href')}'", file=name, line=link.sourceline)


# `nocite: @*`: citeproc tells apart every work of the bibliography, as the bibliography page
# does ("Brinton 1970a", "1970b"), not only the works one text happens to cite.
NOCITE_ALL = {"t": "MetaInlines", "c": [{"t": "Cite", "c": [[{
    "citationId": "*", "citationPrefix": [], "citationSuffix": [], "citationMode": {"t": "NormalCitation"},
    "citationNoteNum": 1, "citationHash": 0}], [{"t": "Str", "c": "@*"}]]}]}


# What makes a citation depend on the citations before it: a `position` test ("ibid.", "op.
# cit."), numbers given in order of first citation, fewer names once a work was cited
# (`et-al-subsequent-…`), the note a work was first cited in.
_IN_ORDER = re.compile(rb'position=|citation-number|first-reference-note-number|near-note|et-al-subsequent')


def citations_apart(csl: Path) -> bool:
    """Whether the style renders each citation the same wherever it stands: an in-text style
    (not notes) with nothing that looks at the citations before it (see _IN_ORDER)."""
    from lxml import etree

    try:
        data = limits.read_regular(csl, limits.MAX_DATA_BYTES)
        root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))
    except (OSError, ValueError, etree.XMLSyntaxError):
        return False
    return root.get("class") == "in-text" and not _IN_ORDER.search(data)


def bibliography_sorted(csl: Path) -> bool:
    """Whether the style sorts its bibliography (`<bibliography><sort>`): then the texts' citeproc
    run lists the entries as the bibliography's own run does, whatever the texts cite first."""
    from lxml import etree

    try:
        root = etree.fromstring(limits.read_regular(csl, limits.MAX_DATA_BYTES),
                                etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))
    except (OSError, ValueError, etree.XMLSyntaxError):
        return False
    return bool(root.xpath("./*[local-name()='bibliography']/*[local-name()='sort']/*[local-name()='key']"))


def render_citations(asts: Iterable[dict], citeproc: list[str], where: str | None = None,
                     bibliography: bool = False) -> tuple[list[list[dict]] | None, dict | None]:
    """Every citation of the ASTs rendered by one citeproc run over all of them (a tenth of a
    second each saved): a list for each AST, in order, to put in with `with_citations`. Only
    for a style whose citations are rendered apart (`citations_apart`), so that each comes out
    as its own text's run would make it. With `bibliography`, also the bibliography, as a
    document whose HTML (`ast_to_html`) is what `bibliography_html` makes (the run renders every
    entry anyway, `nocite: @*`). (None, None) if citeproc did not give back one citation for
    each (each text is then rendered with its own run); the bibliography is None if the run
    gave none. The ASTs are read one at a time and only their citations kept."""
    counts: list[int] = []
    found: list[dict] = []
    version = None
    for ast in asts:
        version = ast["pandoc-api-version"]
        before = len(found)
        _collect_cites(ast["blocks"], found)
        counts.append(len(found) - before)
    document = {"pandoc-api-version": version, "meta": {"nocite": NOCITE_ALL},
                "blocks": [{"t": "Para", "c": [cite]} for cite in found]}
    # the texts print no bibliography, so their citations link to none: nor do these
    args = _without_link_citations(citeproc) if bibliography else citeproc + ["-M", "suppress-bibliography=true"]
    out = json.loads(_run(json.dumps(document), "json", "json", args, where))
    rendered = [block["c"][0] for block in out["blocks"] if block["t"] == "Para"]
    if len(rendered) != len(found) or any(cite.get("t") != "Cite" for cite in rendered):
        return None, None
    refs = [block for block in out["blocks"] if block["t"] == "Div" and block["c"][0][0] == "refs"]
    page = {"pandoc-api-version": version, "meta": {}, "blocks": refs} if len(refs) == 1 else None
    each, start = [], 0
    for count in counts:
        each.append(rendered[start:start + count])
        start += count
    return each, page


def with_citations(ast: dict, cites: list[dict]) -> dict:
    """The AST with its citations as `render_citations` rendered them."""
    return {**ast, "blocks": _with_cites(ast["blocks"], iter(cites))}


def _without_link_citations(args: list[str]) -> list[str]:
    kept = []
    for arg in args:
        if arg == "link-citations=true" and kept[-1:] == ["-M"]:
            kept.pop()
        else:
            kept.append(arg)
    return kept


def _collect_cites(node, found: list) -> None:
    if isinstance(node, dict):
        if node.get("t") == "Cite":
            found.append(node)
        else:
            for value in node.values():
                _collect_cites(value, found)
    elif isinstance(node, list):
        for value in node:
            _collect_cites(value, found)


def _with_cites(node, rendered):
    """`node` with each Cite replaced by the next of `rendered`, in the order _collect_cites found them."""
    if isinstance(node, dict):
        if node.get("t") == "Cite":
            return next(rendered)
        return {key: _with_cites(value, rendered) for key, value in node.items()}
    if isinstance(node, list):
        return [_with_cites(value, rendered) for value in node]
    return node


def ast_to_html(ast: dict | str, citeproc: list[str] | None = None, where: str | None = None) -> str:
    """The AST (or its JSON text) as an HTML fragment."""
    extra = ["--wrap=none"] + (citeproc or [])
    if citeproc:
        extra += ["-M", "suppress-bibliography=true"]
        ast = json.loads(ast) if isinstance(ast, str) else ast
        ast = {**ast, "meta": {**ast.get("meta", {}), "nocite": NOCITE_ALL}}
    return _run(ast if isinstance(ast, str) else json.dumps(ast), "html5", "json", extra, where)


def bibliography_html(bibliography: Path, csl: Path, where: str | None = None) -> str:
    """Every entry of the bibliography, rendered by citeproc in the chosen style."""
    document = "---\nnocite: |\n  @*\n---\n"
    return _run(document, "html5", "markdown", ["--wrap=none"] + citeproc_args(bibliography, csl), where)


def book_csl(manifest) -> Path:
    return manifest.csl or DEFAULT_CSL


def _name(path: Path | None, root: Path) -> str | None:
    if path is None:
        return None
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return str(path)


def book_to_ast(book) -> None:
    """Parse every part's body and headnote."""
    root = book.manifest.root
    for part in book.parts:
        if part.body.strip():
            part.ast = markdown_to_ast(part.body, _name(part.source, root))
        if part.headnote.strip():
            part.headnote_ast = markdown_to_ast(part.headnote, _name(part.headnote_source, root))


def book_to_html(book) -> None:
    """Render every part's transformed AST to one HTML fragment, citations resolved."""
    manifest = book.manifest
    root = manifest.root
    csl = book_csl(manifest)
    if manifest.bibliography is not None:
        check_csl(csl, _name(csl, root))
    citeproc = citeproc_args(manifest.bibliography, csl)
    if manifest.bibliography is not None:
        book.bibliography_html = bibliography_html(manifest.bibliography, csl, _name(manifest.bibliography, root))
    for part in book.parts:
        if part.ast is not None:
            part.html = ast_to_html(part.ast, citeproc, _name(part.source, root))
        if part.headnote_ast is not None:
            part.headnote_html = ast_to_html(part.headnote_ast, citeproc, _name(part.headnote_source, root))
