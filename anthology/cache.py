"""The build cache under `build/.cache/`: what pandoc made of each text, and the last print layouts.

Every entry is keyed by a hash of everything its content depends on, and nothing else:

- `ast`: a part's Markdown body or headnote → Pandoc AST (before the transforms), keyed by the
  Markdown, pandoc's reader options and the tool versions;
- `html`: a part's transformed AST → HTML fragment, keyed by that AST (its index anchors are
  numbered within the part), the bibliography and CSL files when citeproc runs, and the tool versions; `bib`: the bibliography page likewise;
- `chunk` and `chunk-pdf`: the layout of one chunk of the print edition (a part, or the prelims)
  and its PDF, keyed by the chunk's HTML with its page numbers, the print styles and fonts, the
  book's metadata, the PDF options and the code of the whole package (render/print_layout.py);
  `plan`: the last build's page numbers, a first guess for the next (checked, never trusted);
- `pdf`: the merged PDF, keyed by its chunks' keys;
- `part`: a text's finished HTML and what the later stages read of it (part_cache.py).

So after an edit to one text only that text goes through pandoc again. Each entry carries its
key and a SHA-256 of its payload; an entry that is truncated, does not parse, or does not match
is logged, deleted and made again, never trusted. Entries are written atomically. After a
successful build, entries it did not use are deleted, except the last few layouts.
"""
from __future__ import annotations

import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import __version__, pandoc
from .fsutil import TEMP_PREFIX, atomic_output
from .fsutil import relative_name as _relative
from .keys import code_digest, digest, file_digest, sha
from .messages import AnthologyError
from .thread_logs import HeldBack, WarningsOfThisThread, warnings_kept_when_quiet

log = logging.getLogger(__name__)

FOLDER = ".cache"
FORMAT = 1
KEEP_LAYOUTS = 2
KEPT = ("pdf", "chunk", "chunk-pdf")
def tool_versions() -> dict:
    """The versions every key includes, and the code that calls pandoc (its options live there)."""
    from importlib.metadata import version

    return {"anthology": __version__, "pandoc": pandoc.version(), "weasyprint": version("weasyprint"),
            "pandoc.py": file_digest(Path(pandoc.__file__)), "format": FORMAT}


class BuildCache:
    """One build's view of the cache folder; `BuildCache(None)` (--no-cache) reads and writes nothing."""

    def __init__(self, folder: Path | None):
        self.folder = Path(folder) if folder is not None else None
        self.used: set[Path] = set()
        self.consulted: set[str] = set()  # the kinds this build read or wrote: finish() tidies only those
        self.converted: list[str] = []   # what pandoc converted in this build
        self.cached: list[str] = []      # what came from the cache
        self.warned: dict[str, list[str]] = {}  # label -> what pandoc warned about it (made or cached)
        self.labels: dict[str, list[str]] = {}  # part id -> the labels of its conversions
        self.entries: dict[str, list[list[str]]] = {}  # part id -> [kind, key] of its conversions
        self.pandocs_at_once: int | None = None  # None: one on each core
        self._versions: dict | None = None
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            for leftover in self.folder.rglob(TEMP_PREFIX + "*"):  # from a build that was killed
                leftover.unlink(missing_ok=True)

    @property
    def enabled(self) -> bool:
        return self.folder is not None

    @property
    def versions(self) -> dict:
        if self._versions is None:
            self._versions = tool_versions()
        return self._versions

    # Entries: a header line (JSON: format, kind, key, size, sha256 of the payload), then the payload.

    def _path(self, kind: str, key: str) -> Path:
        return self.folder / kind / f"{key}.entry"

    def read(self, kind: str, key: str) -> bytes | None:
        if not self.enabled:
            return None
        self.consulted.add(kind)
        path = self._path(kind, key)
        payload, why = _payload(path, kind, key)
        if why is not None:
            return self._damaged(path, why)
        if payload is not None:
            self.used.add(path)
        return payload

    def _damaged(self, path: Path, why: str) -> None:
        log.warning("cache entry %s is damaged (%s): making it again", self._name(path), why)
        path.unlink(missing_ok=True)
        return None

    def _name(self, path: Path) -> str:
        return str(path.relative_to(self.folder.parent)) if self.folder else str(path)

    def write(self, kind: str, key: str, payload: bytes) -> bool:
        """Store the entry; whether it was (not without a cache, or when writing fails)."""
        if not self.enabled:
            return False
        self.consulted.add(kind)
        path = self._path(kind, key)
        header = json.dumps({"format": FORMAT, "kind": kind, "key": key, "size": len(payload),
                             "sha256": sha(payload)}, sort_keys=True).encode()
        try:
            with atomic_output(path) as tmp:
                Path(tmp).write_bytes(header + b"\n" + payload)
        except (OSError, AnthologyError) as exc:  # the build goes on without this entry
            reason = "; ".join(d.message for d in exc.diagnostics) if isinstance(exc, AnthologyError) else exc
            log.warning("cache entry %s could not be written (%s)", self._name(path), reason)
            return False
        self.used.add(path)
        return True

    def stored(self, kind: str, key: str) -> "Stored":
        """A reference to an entry this build has written or read, for another process to read."""
        return Stored(str(self.folder.resolve()), kind, key)

    def keep_entry(self, kind: str, key: str) -> None:
        """Keep an entry this build did not need to read (a reused part's conversions)."""
        if self.enabled and self._path(kind, key).is_file():
            self.consulted.add(kind)
            self.used.add(self._path(kind, key))

    def read_json(self, kind: str, key: str):
        payload = self.read(kind, key)
        if payload is None:
            return None
        try:
            return json.loads(payload)
        except ValueError:
            return self._damaged(self._path(kind, key), "its payload is not JSON")

    def write_json(self, kind: str, key: str, value) -> None:
        self.write(kind, key, json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())

    # Pandoc's conversions.

    def _convert_all(self, jobs: list[tuple[str, str, str, Callable[[], object]]]) -> list:
        """Each job's value (a job is: kind, label, key, how to make it), from the cache or made
        (a pandoc on each core, or `pandocs_at_once`) and stored.

        What pandoc warned about while making a value is stored with it and logged again
        whenever the value comes from the cache, so a warning does not vanish after one build.
        """
        results: list = [None] * len(jobs)
        missing = []
        for n, (kind, label, key, _) in enumerate(jobs):
            entry = self.read_json(kind, key)
            if not (isinstance(entry, dict) and isinstance(entry.get("value"), str)
                    and isinstance(entry.get("warnings"), list)):
                if entry is not None:
                    self._damaged(self._path(kind, key), "it does not hold a value")
                missing.append(n)
                continue
            results[n] = entry["value"]
            self.warned.setdefault(label, []).extend(entry["warnings"])
            self.cached.append(f"{label} ({kind})")
            log.info("cache: %s (%s)", label, kind,
                     extra={"cache_event": "cached", "cache_kind": kind, "cache_label": label})
            for warning in entry["warnings"]:
                logging.getLogger(pandoc.__name__).warning("%s", warning)

        def make(n: int):
            kind, label, key, convert = jobs[n]
            with WarningsOfThisThread() as warnings:
                value = convert()
            self.write_json(kind, key, {"value": value, "warnings": warnings.messages})
            self.warned.setdefault(label, []).extend(warnings.messages)
            self.converted.append(f"{label} ({kind})")
            log.info("pandoc: converted %s (%s)", label, kind,
                     extra={"cache_event": "converted", "cache_kind": kind, "cache_label": label})
            return value

        if missing:
            kinds = ", ".join(sorted({jobs[n][0] for n in missing}))
            log.debug("pandoc: converting %d of %d (%s)", len(missing), len(jobs), kinds,
                      extra={"cache_event": "start", "cache_kind": kinds, "total": len(missing)})
            workers = max(1, min(len(missing), self.pandocs_at_once or os.cpu_count() or 1))
            with warnings_kept_when_quiet(), ThreadPoolExecutor(workers) as pool:
                for n, value in zip(missing, pool.map(make, missing)):
                    results[n] = value
        return results

    def book_to_ast(self, book) -> None:
        """`pandoc.book_to_ast`, through the cache: every part's body and headnote parsed."""
        versions = self.versions
        jobs, targets = [], []
        for part in book.parts:
            if part.reused:
                continue
            for attr, text, source in (("ast", part.body, part.source),
                                       ("headnote_ast", part.headnote, part.headnote_source)):
                if text.strip():
                    key = digest("ast", versions, pandoc.MARKDOWN, text)
                    label = self._label(book, part, source, attr)
                    self.entries.setdefault(part.id, []).append(["ast", key])
                    jobs.append(("ast", label, key,
                                 lambda text=text, label=label: pandoc.markdown_to_json(text, where=label)))
                    targets.append((part, attr))
        for (part, attr), text in zip(targets, self._convert_all(jobs)):
            part.keep_ast_json(attr, text)

    def _bibliography_job(self, book) -> list:
        """The job that makes the bibliography's HTML (none without a bibliography). No transform
        changes it: it is made with the texts' HTML, by their citeproc run when they share one."""
        manifest = book.manifest
        bibliography, csl = manifest.bibliography, pandoc.book_csl(manifest)
        if bibliography is None:
            return []
        pandoc.check_csl(csl, _relative(csl, manifest.root))
        key = digest("bib", self.versions, {"bibliography": file_digest(bibliography), "csl": file_digest(csl)})
        where = _relative(bibliography, manifest.root)
        return [("bib", where, key, lambda: pandoc.bibliography_html(bibliography, csl, where=where))]

    def book_to_html(self, book) -> None:
        """`pandoc.book_to_html`, through the cache: each transformed AST to an HTML fragment."""
        manifest = book.manifest
        bibliography, csl = manifest.bibliography, pandoc.book_csl(manifest)
        citeproc = pandoc.citeproc_args(bibliography, csl)
        sources = {"bibliography": file_digest(bibliography), "csl": file_digest(csl)} if citeproc else {}
        todo = []  # (part, attr, the AST's JSON text, label, key, citeproc's arguments)
        for part in book.parts:
            if part.reused:
                continue
            for attr, ast, source, cites in (("html", "ast", part.source, part.citations),
                                             ("headnote_html", "headnote_ast", part.headnote_source,
                                              part.headnote_citations)):
                text = part.ast_json(ast)  # a packed part's, as it is kept (model.Part)
                if text is not None:
                    args = citeproc if cites else []  # citeproc reads the bibliography: a tenth of a second
                    key = digest("html", self.versions, sources if args else {}, text)
                    label = self._label(book, part, source, ast)
                    self.entries.setdefault(part.id, []).append(["html", key])
                    todo.append((part, ast, text, label, key, args))
        bibliography_job = self._bibliography_job(book)
        wanted = (bool(bibliography_job) and not self._has(*bibliography_job[0][::2])
                  and pandoc.bibliography_sorted(csl))  # else in the order the texts happen to cite
        rendered, page = self._citations_together(todo, citeproc, csl, wanted)
        if page is not None:  # rendered by the texts' citeproc run: only written as HTML
            kind, where, key, _ = bibliography_job[0]
            bibliography_job = [(kind, where, key, lambda: pandoc.ast_to_html(page, where=where))]
        # the rendered citations put in, one AST at a time (a large book's are packed: model.Part)
        todo = [(part, ast, json.dumps(pandoc.with_citations(getattr(part, ast), rendered[key])) if key in rendered
                 else text, label, key, [] if key in rendered else args) for part, ast, text, label, key, args in todo]
        jobs = [("html", label, key, lambda text=text, label=label, args=args: pandoc.ast_to_html(text, args, where=label))
                for _, _, text, label, key, args in todo]
        values = self._convert_all(bibliography_job + jobs)
        if bibliography_job:
            book.bibliography_html = values.pop(0)
        for (part, ast, *_), html in zip(todo, values):
            setattr(part, "html" if ast == "ast" else "headnote_html", html)

    def _has(self, kind: str, key: str) -> bool:
        """Whether the entry is on disk (not read: a reference to it is `stored`)."""
        return self.enabled and self._path(kind, key).is_file()

    def _citations_together(self, todo: list, citeproc: list[str], csl: Path,
                            bibliography: bool) -> tuple[dict, dict | None]:
        """The citations (by key of the HTML) of the ASTs that cite, not in the cache, rendered by
        one citeproc run instead of one each, when the style allows (pandoc.citations_apart);
        with `bibliography`, the bibliography from the same run. Their HTML is what each text's
        own run makes, so their keys are unchanged. The ASTs are read one at a time."""
        citing = [(key, part, ast) for part, ast, _, _, key, args in todo if args and not self._has("html", key)]
        if len(citing) < 2 or not pandoc.citations_apart(csl):
            return {}, None
        with HeldBack(logging.getLogger(pandoc.__name__)) as held:
            cites, page = pandoc.render_citations((getattr(part, ast) for _, part, ast in citing), citeproc,
                                                  bibliography=bibliography)
        if cites is None or held.records:  # each text's own run says it again, naming its file
            return {}, None
        return dict(zip((key for key, _, _ in citing), cites)), page

    def _label(self, book, part, source: Path | None, attr: str) -> str:
        label = _label(book, part, source, attr)
        if label not in self.labels.setdefault(part.id, []):
            self.labels[part.id].append(label)
        return label

    def warnings_about(self, part) -> list[str]:
        """What pandoc warned about the part's conversions in this build."""
        return [warning for label in self.labels.get(part.id, []) for warning in self.warned.get(label, [])]

    # The print layout: its chunks are cached by render/print_layout.py ("chunk", "chunk-pdf", "plan").

    def start_pdf(self, book, target: Path, layout, start: Callable):
        """`start(book, target, layout)` (render/pdf.py's start_pdf), unless the PDF of these very
        chunks is in the cache: something whose `finish()` puts the PDF in place."""
        from .render.pdf import tagged

        key = None  # the merged PDF's: its chunks, its identifier, the tools that merge it
        if self.enabled:
            from importlib.metadata import version

            from .render.pdf import stable_document_id
            key = digest("pdf", self.versions, layout.keys, layout.blanks, layout.blank_key, layout.settled,
                         code_digest(), tagged(book.manifest.output),
                         str(stable_document_id(book)), version("pikepdf"))
            data = self.read("pdf", key)
            if data is not None:
                self.cached.append("the print layout (pdf)")
                log.info("cache: the print layout is unchanged: %s from the cache", Path(target).name,
                         extra={"cache_event": "cached", "cache_kind": "pdf", "cache_label": "the print layout"})
                return _CachedPDF(target, data)
        return _KeptPDF(self, key, start(book, target, layout))

    def finish(self) -> None:
        """After a successful build: delete the entries it did not use, but keep the last few layouts.
        Kinds the build never looked at (the EPUB's pages in a build of the PDF alone) are left be."""
        if not self.enabled:
            return
        try:
            for kind_folder in (p for p in self.folder.iterdir() if p.is_dir() and p.name in self.consulted):
                entries = sorted(kind_folder.glob("*.entry"), key=lambda p: p.stat().st_mtime, reverse=True)
                if kind_folder.name in KEPT:  # a few earlier layouts stay, so that undoing an edit is quick
                    used = [e for e in entries if e in self.used]
                    for entry in used:
                        entry.touch()
                    entries = [e for e in entries if e not in self.used][KEEP_LAYOUTS * max(1, len(used)):]
                for entry in entries:
                    if entry not in self.used:
                        entry.unlink(missing_ok=True)
        except OSError as exc:  # a cache that cannot be tidied is no reason to fail a good build
            log.warning("the cache in %s could not be tidied (%s)", self.folder, exc)



def _payload(path: Path, kind: str, key: str) -> tuple[bytes | None, str | None]:
    """An entry's payload, checked against its header; or why it cannot be trusted."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, str(exc)
    head, newline, payload = data.partition(b"\n")
    try:
        header = json.loads(head)
    except ValueError:
        return None, "its header is not JSON"
    if not newline or not isinstance(header, dict):
        return None, "it has no header"
    if header.get("format") != FORMAT or header.get("kind") != kind or header.get("key") != key:
        return None, "its header names another entry"
    if header.get("size") != len(payload):
        return None, f"it holds {len(payload)} bytes, not {header.get('size')}"
    if header.get("sha256") != sha(payload):
        return None, "its checksum does not match"
    return payload, None


@dataclass(frozen=True)
class Stored:
    """An entry of the cache, read where it is wanted (a chunk's PDF, by the process merging the
    book), so that the build's process does not hold it meanwhile; checked as any entry is."""
    folder: str
    kind: str
    key: str

    def read(self) -> bytes:
        payload, _ = _payload(Path(self.folder) / self.kind / f"{self.key}.entry", self.kind, self.key)
        if payload is None:
            raise OSError(f"the cache entry {self.kind}/{self.key} changed during the build")
        return payload


class _CachedPDF:
    def __init__(self, target: Path, data: bytes):
        self.target, self.data = Path(target), data

    def wait(self) -> None:
        pass

    def finish(self) -> Path:
        with atomic_output(self.target) as tmp:
            Path(tmp).write_bytes(self.data)
        return self.target


class _KeptPDF:
    """A PDF being made, stored in the cache once it is in place."""

    def __init__(self, cache: BuildCache, key: str | None, pending):
        self.cache, self.key, self.pending = cache, key, pending

    def wait(self) -> None:
        self.pending.wait()

    def finish(self) -> Path:
        path = self.pending.finish()
        if self.key:
            self.cache.write("pdf", self.key, Path(path).read_bytes())
        return path


def _label(book, part, source: Path | None, attr: str) -> str:
    if source is not None:
        return _relative(source, book.manifest.root)
    return f"{part.id} ({'headnote' if 'headnote' in attr else 'body'})"
