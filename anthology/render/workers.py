"""Worker processes that lay out the print edition's chunks, on every core, reused from build to build.

Importing WeasyPrint and loading the book's fonts cost about a second; a worker pays it once
and keeps one `FontConfiguration` and the parsed `print.css` for every chunk it lays out
(`anthology watch` and a test session reuse the same workers for all their builds). The workers
are started by `spawn`, never `fork`, so they inherit no thread or lock of the build's process.

A job is a plain dict and so is its result, so that both cross the process boundary and the
cache as they are. Errors come back as values (`{"error": …}`): the build's process turns
them into coded diagnostics, naming the text that asked for a refused resource.
"""
from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import signal
import sys
import threading
import weakref
from concurrent.futures import ProcessPoolExecutor

log = logging.getLogger("anthology.render.pdf")

_pool: "Workers | None" = None
_pool_lock = threading.Lock()
kept_between_builds = False  # `anthology watch`: a large book's build does not let its workers go


def worker_count() -> int:
    """One worker a core, at most `limits.MAX_LAYOUT_WORKERS` (each holds WeasyPrint and a chunk),
    or as many as ANTHOLOGY_WORKERS says."""
    from .. import limits

    wanted = os.environ.get("ANTHOLOGY_WORKERS", "")
    if wanted.isdigit() and int(wanted) > 0:
        return int(wanted)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, limits.MAX_LAYOUT_WORKERS))


class Workers:
    """The layout workers: an executor of one process each, so that a job can be sent to the
    worker that holds what it needs (a chunk's layout waiting for its page numbers, see
    `stamp.py`). Each process starts when its executor gets its first job."""

    def __init__(self, count: int):
        context = multiprocessing.get_context("spawn")
        self.executors = [ProcessPoolExecutor(1, mp_context=context, initializer=_import_weasyprint)
                          for _ in range(count)]
        self.prepared: set[tuple[int, str]] = set()  # (worker, book's tools) already given `_prepare`

    @property
    def broken(self) -> bool:
        return any(getattr(executor, "_broken", False) for executor in self.executors)

    def processes(self) -> list:
        return [process for executor in self.executors
                for process in (getattr(executor, "_processes", None) or {}).values()]

    def least_busy(self) -> ProcessPoolExecutor:
        return min(self.executors, key=lambda executor: len(getattr(executor, "_pending_work_items", ())))

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        for executor in self.executors:
            executor.shutdown(wait=wait, cancel_futures=cancel_futures)


def pool() -> Workers:
    """The workers, started on first use and kept until the process ends (made anew if broken)."""
    global _pool
    with _pool_lock:
        if _pool is not None and _pool.broken:
            _stop(*_pool.executors)
            _pool = None
        if _pool is None:
            _pool = Workers(worker_count())
        return _pool


def warm_up(tools: dict | None = None, count: int | None = None) -> None:
    """Start `count` workers now (all by default; they import WeasyPrint while pandoc runs),
    without waiting for them; given a book's `tools` (print_layout.tools_of), they load its
    fonts and styles too, once. The pool starts the others when jobs come (it spawns on demand)."""
    import json
    from concurrent.futures.process import BrokenProcessPool

    try:
        workers = pool()
        for number, executor in enumerate(workers.executors[:count or None]):
            if not tools:
                _submit(executor, _nothing)
            elif (number, json.dumps(tools, sort_keys=True)) not in workers.prepared:
                workers.prepared.add((number, json.dumps(tools, sort_keys=True)))
                _submit(executor, _prepare, tools)
    except (BrokenProcessPool, RuntimeError, OSError) as exc:  # the layout will say it, with a code
        log.debug("the layout workers could not be started now: %s", exc)


def shut_down() -> None:
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.shutdown(wait=True, cancel_futures=True)
            _pool = None


def _stop(*executors: ProcessPoolExecutor) -> None:
    """Stop the workers at once. Each is asked to end (it deletes its fonts' folders and leaves,
    see `_on_terminate`), and killed if it has not within `STOP_GRACE` seconds."""
    processes = [process for executor in executors
                 for process in (getattr(executor, "_processes", None) or {}).values()]
    for process in processes:
        try:
            process.terminate()
        except (OSError, ValueError, AttributeError):
            pass
    for executor in executors:
        executor.shutdown(wait=False, cancel_futures=True)
    threading.Thread(target=_kill_if_alive, args=(processes,), daemon=True).start()


STOP_GRACE = 2.0


def _kill_if_alive(processes) -> None:
    """Kill the workers that have not ended within STOP_GRACE. Their sentinels say which: one that
    has ended may already have been reaped by the pool's own thread, and its number reused."""
    from multiprocessing.connection import wait

    try:
        sentinels = {process.sentinel: process for process in processes}
        ended = set(wait(list(sentinels), STOP_GRACE))
    except (OSError, ValueError, AttributeError):
        return
    for sentinel, process in sentinels.items():
        if sentinel not in ended:
            try:
                process.kill()
            except (OSError, ValueError, AttributeError):
                pass


def stop() -> None:
    """Stop the workers now, whatever they are doing (after a failure, or Ctrl-C): the next build
    starts new ones."""
    global _pool
    with _pool_lock:  # a stopped process's futures are cancelled, and their callbacks take the lock
        stopping = (_pool.executors if _pool is not None else []) + list(_alone)
        _pool = None
        _alone.clear()
    if stopping:
        _stop(*stopping)


atexit.register(shut_down)


def run(jobs: list[dict]):
    """Each job's result, as the workers finish them: yields (job, result), the result saying
    which worker made it (`"worker"`: its number). The jobs start in their order, as workers
    come free; a job that names a worker (`"worker"`) waits for that one. If a job fails, or
    takes longer than `limits.CHUNK_TIMEOUT` times the jobs a worker has, or a worker dies,
    the workers are stopped and an error result is yielded last."""
    import time
    from concurrent.futures import FIRST_COMPLETED, wait
    from concurrent.futures.process import BrokenProcessPool

    from .. import limits

    if not jobs:
        return
    finished = False
    try:
        executors = pool().executors
        waiting, running = list(jobs), {}
        deadline = time.monotonic() + limits.CHUNK_TIMEOUT * max(1, -(-len(jobs) // len(executors)))
        while waiting or running:
            _start_next(executors, waiting, running)
            done, _ = wait(running, timeout=max(0.0, deadline - time.monotonic()), return_when=FIRST_COMPLETED)
            if not done:
                yield None, {"error": "timeout",
                             "message": f"laying out a chunk took more than {limits.CHUNK_TIMEOUT:.0f} s"}
                return
            for future in done:
                job, number = running.pop(future)
                result = {**future.result(), "worker": number}
                yield job, result
                if "error" in result:
                    return
        finished = True
    except (BrokenProcessPool, RuntimeError, OSError):
        yield None, {"error": "crashed", "message": "a layout worker stopped unexpectedly (killed, or out of memory)"}
    finally:
        if not finished:
            stop()


def _start_next(executors: list, waiting: list[dict], running: dict) -> None:
    """Give each idle worker the first waiting job it may take (one naming another worker may not)."""
    busy = {number for _, number in running.values()}
    for number, executor in enumerate(executors):
        if number in busy:
            continue
        job = next((job for job in waiting if job.get("worker") in (None, number)
                    or not 0 <= job["worker"] < len(executors)), None)
        if job is not None:
            waiting.remove(job)
            running[_submit(executor, lay_out_chunk, job)] = (job, number)


def submit_alone(fn, *args):
    """`fn(*args)` in a process of its own, without WeasyPrint, which ends with it: its memory is
    given back at once (a large book's merge, print_layout.lean). `stop()` stops it too."""
    executor = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=_start_alone)
    with _pool_lock:
        _alone.add(executor)
    try:
        future = _submit(executor, fn, *args)
    except BaseException:
        _let_go(executor)
        raise
    future.add_done_callback(lambda _: _let_go(executor))
    return future


_alone: set = set()


def _let_go(executor: ProcessPoolExecutor) -> None:
    with _pool_lock:
        _alone.discard(executor)
    executor.shutdown(wait=False)


def submit(fn, *args):
    """`fn(*args)` in the least busy worker: its Future (the function must be importable and return a value)."""
    return _submit(pool().least_busy(), fn, *args)


def _submit(executor: ProcessPoolExecutor, fn, *args):
    """`executor.submit`, which may start a worker: with Ctrl-C held (see anthology/signals.py),
    so that the worker never sees it."""
    from ..signals import ctrl_c_held

    with ctrl_c_held():
        return executor.submit(fn, *args)


# --- in the worker ------------------------------------------------------------------------------

KEEP_BOOKS = 2
_font_configurations: weakref.WeakSet = weakref.WeakSet()  # every one alive, for `_remove_font_folders`
_fetchers: dict[tuple, object] = {}  # (styles folder, its digest, book folder) -> its fetcher
_styles: dict[tuple, tuple] = {}    # the same -> (font configuration, stylesheet)


def _start_alone() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the build stops it
    threading.Thread(target=_exit_with_the_build, args=(os.getppid(),), daemon=True).start()


def _import_weasyprint() -> None:
    from .weasy_import import import_weasyprint

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the build stops its workers
    import_weasyprint()  # the point: it takes half a second
    atexit.register(_leave_at_once)
    atexit.register(_forget_fonts)  # runs first
    signal.signal(signal.SIGTERM, _on_terminate)
    threading.Thread(target=_exit_with_the_build, args=(os.getppid(),), daemon=True).start()
    logging.getLogger("weasyprint").setLevel(logging.WARNING)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    logging.getLogger("anthology").setLevel(logging.INFO)
    for name in ("weasyprint", "fontTools", "anthology"):  # what a job logs goes back to the build
        logger = logging.getLogger(name)
        logger.propagate = False
        logger.addHandler(logging.NullHandler())
    import gc

    gc.freeze()  # what the import made lives as long as the worker: no collection looks at it again


def _exit_with_the_build(parent: int) -> None:
    """A worker whose build was killed would wait for work for ever (and hold its output pipes)."""
    import time

    if hasattr(signal, "pthread_sigmask"):  # a signal sent to the process wakes its main thread, not this one
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})

    while os.getppid() == parent:
        time.sleep(0.2)
    _on_terminate()


def _on_terminate(*_signal) -> None:
    """Stopped by the build (`_stop`, SIGTERM), or left by it: what it was doing is dropped, its
    fonts' folders deleted."""
    _remove_font_folders()
    os._exit(1)


def _remove_font_folders() -> None:
    """WeasyPrint copies a book's fonts into a temporary folder, which only the font configuration's
    `__del__` deletes: a worker that leaves at once deletes them itself (1 MB a book)."""
    import shutil

    for fonts in list(_font_configurations):
        folder = getattr(fonts, "_folder", None)
        if folder:
            shutil.rmtree(folder, ignore_errors=True)


def _forget_fonts() -> None:
    """Let the font configurations go while the modules they need still exist (WeasyPrint's
    `FontConfiguration.__del__` fails noisily at interpreter shutdown otherwise)."""
    import gc

    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # leaving already: half-deleted folders are not dropped
    from . import stamp

    stamp.forget()
    _styles.clear()
    _extra.clear()
    _fetchers.clear()
    gc.collect()


def _leave_at_once() -> None:
    """End the worker once its fonts are let go: tearing WeasyPrint's modules down would make
    the build wait another tenth of a second at its end. (Its exit status is then 0, whatever
    ended it; what it did for the build came back as results.)"""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
    os._exit(0)


def _nothing() -> None:
    return None


def _prepare(tools: dict) -> None:
    """The book's fonts and styles loaded before its first chunk comes (see `_tools`). If loading
    them warns or fails, they are let go, so that the first chunk loads them again and reports it."""
    collected = _Collected()
    logging.getLogger("weasyprint").addHandler(collected)
    try:
        _, _, fetcher = _tools(tools)
        troubled = bool(fetcher.refused) or any(level >= logging.WARNING for _, level, _ in collected.records)
    except Exception:  # noqa: BLE001 (the first chunk meets the same problem and reports it)
        troubled = True
    finally:
        logging.getLogger("weasyprint").removeHandler(collected)
    if troubled:
        key = (tools["styles"], tools["styles_digest"], tools["root"])
        _styles.pop(key, None)
        _fetchers.pop(key, None)


def _tools(job: dict):
    """The worker's font configuration, stylesheet and fetcher for this book, made once."""
    from pathlib import Path

    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    from .pdf import contained_fetcher

    key = (job["styles"], job["styles_digest"], job["root"])
    if key not in _fetchers:
        while len(_fetchers) >= KEEP_BOOKS:  # a long-lived worker lets the oldest book's fonts go
            oldest = next(iter(_fetchers))
            _fetchers.pop(oldest)
            _styles.pop(oldest, None)
        _fetchers[key] = contained_fetcher([Path(job["root"]), Path(job["styles"])])
    fetcher = _fetchers[key]
    fetcher.refused.clear()
    if key not in _styles:  # loads the fonts, which the fetcher may refuse
        fonts = FontConfiguration()
        _font_configurations.add(fonts)  # before its folder is made, as the stylesheet loads the fonts
        _styles[key] = fonts, CSS(filename=str(Path(job["styles"]) / "print.css"), font_config=fonts,
                                  url_fetcher=fetcher)
    fonts, stylesheet = _styles[key]
    return fonts, stylesheet, fetcher


class _Collected(logging.Handler):
    """What WeasyPrint and the layout log while a job runs, sent back to the build's log."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.records: list[tuple[str, int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("weasyprint.progress"):
            return
        self.records.append((record.name, record.levelno, record.getMessage()))


def lay_out_chunk(job: dict) -> dict:
    """Lay out one chunk and write its PDF: see `render/chunks.py`."""
    collected = _Collected()
    loggers = [logging.getLogger(name) for name in ("weasyprint", "anthology")]
    for logger in loggers:
        logger.addHandler(collected)
    try:
        result = _lay_out(job)
    except BaseException as exc:  # WeasyPrint raises many kinds, a refused URL a BaseException
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        result = _failure(job, exc)
    finally:
        for logger in loggers:
            logger.removeHandler(collected)
    result["log"] = collected.records
    _collect_garbage()
    return result


def _collect_garbage() -> None:
    """A laid-out chunk's boxes hold cycles, which Python frees only when it collects its oldest
    objects: seldom, so that a worker held several chunks' worth. Collected after each chunk,
    quickly since the import's objects are frozen (`_import_weasyprint`)."""
    import gc

    gc.collect()


def _lay_out(job: dict) -> dict:
    from weasyprint import HTML

    from . import index_marks, stamp
    from .layout import lay_out, page_starts

    fonts, stylesheet, fetcher = _tools(job)
    if job.get("stamp"):  # laid out last round with stand-ins for its page numbers: only those change
        document = stamp.stamped(job["stamp"], job["html"])
        if document is not None:
            return {"stamped": True, "pdf": _pdf(document, job)}

    sheets = [stylesheet] + ([_extra_css(job["extra_css"], fonts)] if job.get("extra_css") else [])
    parsed = []

    def render(document_html: str):
        parsed.append(HTML(string=document_html, base_url=job["root"] + "/", url_fetcher=fetcher))
        return parsed[-1].render(stylesheets=sheets, font_config=fonts)

    unmarked = index_marks.unmark(job["html"]) if job.get("unmark_index") else None
    document, late_notes = lay_out(unmarked.html if unmarked else job["html"], render)
    if job.get("only_page"):  # a blank verso: the one page wanted out of a small document
        document = document.copy([document.pages[job["only_page"]]])
    anchors = {}
    for number, page in enumerate(document.pages):  # a box split over pages names its anchor on each
        for name in page.anchors:
            anchors.setdefault(name, number)
    if unmarked:
        anchors.update(index_marks.mark_pages(document, unmarked))
    starts = [[s.page, s.section, s.block, s.offset] for s in page_starts(document)] if job.get("starts") else []
    if job.get("folio_pages") not in (None, len(document.pages)):
        raise RuntimeError(f"the folios of {job['chunk']} took {len(document.pages)} pages, "
                           f"not {job['folio_pages']}")
    held = bool(job.get("hold")) and stamp.hold(job["key"], job["hold"], job["html"], parsed[-1].etree_element, document)
    return {"pages": len(document.pages), "anchors": anchors, "starts": starts, "late_notes": late_notes,
            "folios": [_has_folio(page) for page in document.pages], "pdf": _pdf(document, job), "held": held}


def _pdf(document, job: dict) -> bytes | None:
    """The chunk's PDF, unless no PDF is merged from the chunks (print_layout.lay_out) or the chunk
    certainly changes (it printed stand-ins)."""
    import io

    from .layout import set_metadata

    if not job.get("write_pdf", True):
        return None
    set_metadata(document, job["metadata"])
    pdf = io.BytesIO()
    document.write_pdf(pdf, **job["pdf_options"])
    return pdf.getvalue()


def _has_folio(page) -> bool:
    """Whether the page has a folio box (empty in a chunk: its folio is stamped on later)."""
    return any(getattr(box, "at_keyword", None) in ("@top-left", "@top-right") and box.is_generated
               for box in page._page_box.children[1:])


_extra: dict[str, object] = {}


def _extra_css(css: str, fonts):
    from weasyprint import CSS

    if css not in _extra:
        _extra[css] = CSS(string=css, font_config=fonts)
    return _extra[css]


def _failure(job: dict, exc: BaseException) -> dict:
    from .pdf import failure_of

    return failure_of(exc, _fetchers.get((job["styles"], job["styles_digest"], job["root"])))
