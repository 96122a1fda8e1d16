"""Worker processes that lay out the print edition's chunks, on every core, reused from build to build.

Importing WeasyPrint and loading the book's fonts cost about a second; a worker pays it once
and keeps one `FontConfiguration` and the parsed `print.css` for every chunk it lays out
(`anthology watch` and a test session reuse the same workers for all their builds). The workers
are started by `spawn`, never `fork`, so they inherit no thread or lock of the build's process.
What a worker does with a job is in `chunk_job.py`; here, how workers start, take jobs and end.
"""
from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import signal
import sys
import threading
from concurrent.futures import ProcessPoolExecutor

from . import chunk_job

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
        self.prepared: set[tuple[int, str]] = set()  # (worker, book's tools) already given `chunk_job.prepare`

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
        workers, book = pool(), json.dumps(tools, sort_keys=True)
        for number, executor in enumerate(workers.executors[:count or None]):
            if not tools:
                _submit(executor, chunk_job.nothing)
            elif (number, book) not in workers.prepared:
                workers.prepared.add((number, book))
                _submit(executor, chunk_job.prepare, tools)
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
            running[_submit(executor, chunk_job.lay_out_chunk, job)] = (job, number)


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

def _start_alone() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the build stops it
    threading.Thread(target=_exit_with_the_build, args=(os.getppid(),), daemon=True).start()


def _import_weasyprint() -> None:
    from .weasy_import import import_weasyprint
    from .weasy_mend import mend_font_feature_leak

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the build stops its workers
    import_weasyprint()  # the point: it takes half a second
    mend_font_feature_leak()
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

    for fonts in list(chunk_job.font_configurations):
        folder = getattr(fonts, "_folder", None)
        if folder:
            shutil.rmtree(folder, ignore_errors=True)


def _forget_fonts() -> None:
    """Let the font configurations go while the modules they need still exist (WeasyPrint's
    `FontConfiguration.__del__` fails noisily at interpreter shutdown otherwise)."""
    import gc

    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # leaving already: half-deleted folders are not dropped
    chunk_job.forget()
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
