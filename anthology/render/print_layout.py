"""The print layout of the whole book, chunk by chunk (see `chunks.py`), in the layout workers,
through the build cache. It gives the EPUB its page list and the PDF its pages.
"""
from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass, field

from . import chunks as chunking
from . import stamp, workers
from .blocks import PageStart
from .layout import warn_late_notes

log = logging.getLogger("anthology.render.pdf")
BLANK, FOLIOS = "the blank page", "the folios"  # with a space, unlike any part's id (see chunks.PRELIMS)
# From this many pages on, the end of a build does one thing at a time, for the memory: the
# layout workers are let go, the PDF is merged in a process of its own, then the EPUB packaged.
LEAN_FROM_PAGES = 400


@dataclass
class PrintLayout:
    chunks: list
    results: dict[str, dict]            # chunk name -> its layout (see chunk_job.lay_out_chunk)
    keys: dict[str, str]                # chunk name -> its cache key
    numbers: chunking.Numbers
    blanks: list[int] = field(default_factory=list)  # blank left-hand pages between chunks
    blank: dict | None = None           # the blank page's layout
    folios: list[dict] = field(default_factory=list)  # the layouts of the blocks of folios (chunks.folio_html)
    blank_key: str = ""
    settled: bool = True                # False: the numbers never agreed, the PDF is made in one pass

    @property
    def large(self) -> bool:
        """Whether the book ends its build one thing at a time (see LEAN_FROM_PAGES); not in
        `anthology watch`, whose rebuilds reuse the workers."""
        return self.numbers.total >= LEAN_FROM_PAGES and not workers.kept_between_builds

    def lean(self) -> "PrintLayout":
        """What the merge needs, without the book's parts (sent to a worker)."""
        import dataclasses
        return dataclasses.replace(self, chunks=[chunking.Chunk(chunk.name, None) for chunk in self.chunks])


def lay_out(book, cache, css: str, pdf_options: dict, metadata: dict, styles, folios: bool = True) -> PrintLayout:
    """Lay every chunk out with the numbers we believe until the numbers they give are those;
    then the folios. With `folios` false no PDF is merged from the chunks (only the EPUB's page
    list is wanted, or a tagged PDF is laid out in one pass): neither the folios nor the chunks'
    PDFs are made, a quarter of a chunk's time."""
    chunks = chunking.make_chunks(book)
    jobs = _Jobs(book, cache, css, pdf_options, metadata, styles, merged=folios)
    believed = _believed(cache, book)
    if not believed.starts:  # a first build: the folios wait for the book's length (laid out
        believed.stand_ins = chunking.stand_ins(chunks)  # meanwhile, they slowed the first round)
    blank_job = jobs.blank_job()  # laid out with the first round, in case a blank page is wanted
    settled, before = True, {}
    # believing no numbers (a first build), the parts print stand-ins in the first round, and
    # their index marks move when the second gives them real numbers: there, the index waits
    # for them (see `_Jobs.results`); once only, so that waiting never costs more than a round
    waits = [chunk.name for chunk in chunks if chunk.part is not None and chunk.part.generated == "index"
             and not believed.starts]
    for round_number in range(1, chunking.MAX_ROUNDS + 1):
        wanted = {chunk.name: jobs.job(chunk, believed) for chunk in chunks}
        # the folios of the page count we believe, laid out meanwhile: usually the right ones
        speculative = jobs.folio_jobs(believed.total) if folios else {}
        stand_ins = {name: before[name] for name in waits if name in before} if round_number == 2 else {}
        results, waited = jobs.results({**wanted, BLANK: blank_job, **speculative}, round_number, stand_ins)
        found = chunking.numbers_of(chunks, results)
        without_pdf = folios and any(results[chunk.name]["pdf"] is None for chunk in chunks)
        if not (waited or without_pdf) and all(jobs.job(chunk, found)["key"] == wanted[chunk.name]["key"]
                                               for chunk in chunks):
            break
        believed, before = found, results
    else:
        settled = False
        log.warning("the print layout's page numbers did not settle after %d rounds: the PDF is laid out "
                    "in one pass instead", chunking.MAX_ROUNDS)
    warn_late_notes(book, [note for chunk in chunks for note in results[chunk.name].get("late_notes", ())])
    layout = PrintLayout(chunks, results, {n: j["key"] for n, j in wanted.items()}, found, settled=settled)
    layout.blanks = chunking.blank_pages(chunks, found, results)
    layout.blank, layout.blank_key = results[BLANK], blank_job["key"]
    if folios:
        folio_jobs = jobs.folio_jobs(found.total)
        made, _ = jobs.results(folio_jobs, "of the folios")
        layout.folios = [made[name] for name in folio_jobs]
        layout.keys.update({name: job["key"] for name, job in folio_jobs.items()})
    book.page_starts = _page_starts(layout)
    book.index_pages = {a: p for a, p in found.anchors.items() if a.startswith("ix-")}
    cache.write_json("plan", _plan_key(cache, book),
                     {"starts": found.starts, "anchors": found.anchors, "total": found.total})
    return layout


def _plan_key(cache, book) -> str:
    from ..keys import digest
    return digest("plan", str(book.manifest.root), book.manifest.output.get("pdf"))


def _believed(cache, book) -> chunking.Numbers:
    """The last build's numbers: a belief, checked by the rounds, never trusted."""
    plan = cache.read_json("plan", _plan_key(cache, book))
    try:
        return chunking.Numbers({str(k): int(v) for k, v in plan["starts"].items()},
                                {str(k): int(v) for k, v in plan["anchors"].items()}, int(plan["total"]))
    except (TypeError, KeyError, ValueError, AttributeError):
        return chunking.Numbers()


def _page_starts(layout: PrintLayout) -> list[PageStart]:
    starts = []
    for chunk in layout.chunks:
        first = layout.numbers.starts[chunk.name]
        if first - 1 in layout.blanks:
            starts.append(PageStart(first - 1, None, None, 0))
        starts += [PageStart(first + page - 1, section, block, offset)
                   for page, section, block, offset in layout.results[chunk.name]["starts"]]
    return starts


def tools_of(root, styles) -> dict:
    """What a worker loads once per book: its fonts and styles (chunk_job.loaded_tools)."""
    from ..keys import tree_digest

    return {"root": str(root), "styles": str(styles),
            "styles_digest": tree_digest(styles, lambda p: p.name != "epub.css")}


class _Jobs:
    """Makes the chunks' jobs and gets their results: from this build, the cache, or the workers."""

    def __init__(self, book, cache, css, pdf_options, metadata, styles, merged: bool = True):
        from ..keys import code_digest, digest
        from .pdf import tagged

        self.book, self.cache, self.css = book, cache, css
        self.common = {**tools_of(book.manifest.root, styles),
                       # no /ID per chunk: pydyf would write every stream twice to make it, and the merge sets one
                       "pdf_options": {**pdf_options, "pdf_identifier": False}, "metadata": metadata,
                       # a tagged PDF is one pass with the index's spans, whose page starts these must equal
                       "unmark_index": not tagged(book.manifest.output)}
        self.salt = digest("chunk", cache.versions, code_digest(),
                           self.common, os.environ.get("SOURCE_DATE_EPOCH"))
        self.made: dict[str, dict] = {}      # key -> result, this build
        self.merged = merged                 # whether the chunks' PDFs are wanted
        self.held: dict[str, tuple] = {}     # chunk name -> (its job's key, its worker, stamp.shape of its HTML)
        self.build = os.urandom(8).hex()     # names the layouts the workers hold for this build

    def job(self, chunk, numbers) -> dict:
        from ..keys import digest, resource_digests

        html = chunking.chunk_html(self.book, chunk, self.css, numbers)
        key = digest(self.salt, html, resource_digests(html, self.book.manifest.root))
        # believing no numbers (a first build), a chunk that prints page numbers prints stand-ins,
        # and will be laid out again with the real ones: its PDF is not written (a third of its time)
        placeholder = not numbers.starts and (chunk.start_matters or chunking.prints_pages(html))
        return {**self.common, "chunk": chunk.name, "html": html, "starts": True,
                "extra_css": chunking.CHUNK_CSS, "key": key, "placeholder": placeholder,
                # its layout is kept, to be given the real numbers in the stand-ins' place (stamp.py)
                "hold": self.build if placeholder and self._numbered_in_place(chunk) else None}

    def _numbered_in_place(self, chunk) -> bool:
        """Whether the chunk's numbers can be drawn into its layout: not those its own pages give
        (target-counter), nor the cross-references' proportional figures (`page-figures`), which
        are not as wide as their stand-ins; the contents' figures are always tabular."""
        proportional = self.book.manifest.output["pdf"].get("page-figures") == "proportional"
        return not chunk.start_matters and (chunk.part is None or not proportional)

    def folio_jobs(self, pages: int) -> dict[str, dict]:
        """The blocks of folios for a book of this many pages."""
        from ..keys import digest

        jobs = {}
        for block in chunking.folio_blocks(pages):
            name = f"{FOLIOS} {block + 1}"
            html = chunking.folio_html(self.book, self.css, block)
            jobs[name] = {**self.common, "chunk": name, "html": html, "extra_css": chunking.FOLIO_CSS,
                          "key": digest(self.salt, html, chunking.FOLIO_CSS), "folio_pages": chunking.FOLIO_BLOCK}
        return jobs

    def blank_job(self) -> dict:
        """A blank left-hand page: the second page of a document that breaks to the right at once."""
        from ..keys import digest
        from . import html as pages

        html = pages.html_document(self.book, self.css, ['<div style="break-after: right"></div><div></div>'])
        return {**self.common, "chunk": BLANK, "html": html, "only_page": 1, "key": digest(self.salt, html)}

    def results(self, wanted: dict[str, dict], round_number, stand_ins: dict | None = None):
        """Each wanted job's layout, and whether one waited. A chunk given a stand-in (the index's
        layout of the round before: it prints every chunk's pages and moves no other's) is not
        laid out in a round that lays out another chunk, whose pages may move again."""
        results, missing = {}, []
        for name, job in wanted.items():
            result = self.made.get(job["key"]) or self._cached(job["key"])
            if result is not None and self.merged and result["pdf"] is None:  # a stand-in was right after all
                result = None
            if result is None:  # a layout is the same with or without its PDF: the key does not say
                missing.append(self._stamp({**job, "write_pdf": self.merged and not job.get("placeholder")}))
            else:
                results[name] = result
        waiting = [job for job in missing if job["chunk"] in (stand_ins or {})]
        # a part or the prelims moves, unless it only gets its numbers in its stand-ins' place
        if any(job.get("starts") and not job.get("stamp") and job not in waiting for job in missing):
            missing = [job for job in missing if job not in waiting]
            results.update({job["chunk"]: stand_ins[job["chunk"]] for job in waiting})
        else:
            waiting = []
        if missing:
            log.debug("laying out %d of %d chunks (round %s)", len(missing), len(wanted), round_number,
                      extra={"layout_event": "round", "round": round_number, "total": len(missing)})
        missing.sort(key=lambda job: -_cost(job))  # the longest first keeps every core busy
        with contextlib.closing(workers.run(missing)) as finished:  # closing it stops the workers on a failure
            for job, result in finished:
                if "error" in result:
                    _relog(result.get("log", ()))
                    raise ChunkFailed(result)
                self._got(job, result, results, wanted)
        return results, bool(waiting)

    def _stamp(self, job: dict) -> dict:
        """The job, sent to the worker that holds its chunk's layout with stand-ins if only its numbers differ."""
        key, worker, shape = self.held.pop(job["chunk"], (None, None, None))
        if key is None or stamp.shape(job["html"]) != shape:
            return job
        return {**job, "stamp": key, "worker": worker}

    def _got(self, job: dict, result: dict, results: dict, wanted: dict) -> None:
        _relog(result.get("log", ()))
        result = dict(result)
        worker = result.pop("worker", None)
        if result.pop("held", False):
            self.held[job["chunk"]] = job["key"], worker, stamp.shape(job["html"])
        stamped = result.pop("stamped", False)
        if stamped:  # the layout held, its stand-ins replaced: the same pages
            before = self.made[job["stamp"]]
            result = {**before, "pdf": result["pdf"], "log": list(before.get("log", ())) + list(result["log"])}
        self._keep(job, result)
        results.update({name: result for name, same in wanted.items() if same["key"] == job["key"]})
        log.info("%s %s: %d pages", "numbered" if stamped else "laid out", job["chunk"], result["pages"],
                 extra={"layout_event": "chunk", "pages": result["pages"]})

    def _keep(self, job: dict, result: dict) -> None:
        """Keep the layout for this build and the next; its PDF, once in the cache, is read there by
        the process merging the book (cache.Stored), not held here meanwhile."""
        self.made[job["key"]] = result
        if job.get("placeholder") and result["pdf"] is None:  # of no use to another build
            return
        if result["pdf"] is not None and self.cache.write("chunk-pdf", job["key"], result["pdf"]):
            result["pdf"] = self.cache.stored("chunk-pdf", job["key"])
        self.cache.write_json("chunk", job["key"], {k: v for k, v in result.items() if k != "pdf"})

    def _cached(self, key: str) -> dict | None:
        meta = self.cache.read_json("chunk", key)
        if not isinstance(meta, dict) or not {"pages", "anchors", "starts", "folios"} <= meta.keys():
            return None
        pdf = self.cache.read("chunk-pdf", key) if self.merged else None  # a layout kept without its PDF
        if pdf is None and self.merged:                                    # is laid out again for one
            return None
        result = {**meta, "pdf": None if pdf is None else self.cache.stored("chunk-pdf", key)}  # checked
        self.made[key] = result
        _relog(record for record in meta.get("log", ()) if record[1] >= logging.WARNING)  # as pandoc's are
        return result


def _cost(job: dict) -> int:
    """A job's work, in characters of HTML: a page of folios costs about as much as 500."""
    return len(job["html"]) + 500 * job.get("folio_pages", 0)


class ChunkFailed(Exception):
    """A worker could not lay a chunk out; `failure` says why (see chunk_job._failure)."""

    def __init__(self, failure: dict):
        super().__init__(failure.get("message") or failure.get("why") or failure["error"])
        self.failure = failure


def _relog(records) -> None:
    for name, level, message in records:
        logging.getLogger(name).log(level, "%s", message)
