"""Making the texts: each text the cache does not have, from Markdown to finished HTML.

The stages are pandoc's reader, the transforms, pandoc's writer, the sanitiser, the block
numbers, and the `part` cache entry (part_cache.py). On the way every text is a Pandoc AST
held in Python: for a 1,000-page book about 300 MB, which Python does not give back to the
system once the HTML is made, and the build's process would carry it through the layout and
the EPUB. So when there is much to make (more than `APART_FROM` characters of Markdown), the
texts are made in a child process that ends when they are: the build receives the finished
parts, the cache's account of what was converted, and the child's log as it is written (the
progress display and `-v` see it as if it were the build's own). A small edit is made in the
build's process, which saves the child's start.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import threading

from . import part_cache, transforms
from .messages import AnthologyError, error
from .render import blocks
from .sanitize import sanitize_book
from .signals import ctrl_c_held, take_ctrl_c

log = logging.getLogger(__name__)

APART_FROM = 1_000_000  # characters of Markdown to make, above which a child process makes them
# A pandoc takes 40 to 50 MB of its own for a long text, beside its program's 90 MB, which
# pandocs running at once share. Made one at a time, a 1,000-page book's texts take 3 s longer
# (its first build, about 30 s), and the build's peak of memory is 25 to 55 MB lower (measured).
PANDOCS_APART = 1
_BOOK_ATTRIBUTES = ("bibliography_html", "index", "anchors")  # what the stages set on the book
_CACHE_ACCOUNT = ("converted", "cached", "warned", "labels", "entries", "used", "consulted")


def make_texts(book, cache, stage) -> None:
    """Make every part not reused from the cache (`stage` runs and times each stage)."""
    if made_apart(book):
        _make_apart(book, cache, stage)
    else:
        _make(book, cache, stage)


def made_apart(book) -> bool:
    """Whether the texts to make are many enough to be made in a child process."""
    return _to_make(book) > APART_FROM


def likely_made_apart(manifest) -> bool:
    """Whether a first build would make the texts apart, judged by their files' sizes before
    they are read."""
    paths = [path for item in manifest.contents for path in (item.path, item.headnote) if path is not None]
    try:
        return sum(path.stat().st_size for path in paths) > APART_FROM
    except OSError:  # reading them will say what is wrong
        return False


def _to_make(book) -> int:
    return sum(len(part.body) + len(part.headnote) for part in book.parts if not part.reused)


def _make(book, cache, stage) -> None:
    stage("pandoc: Markdown to AST", cache.book_to_ast, book)
    stage("transforming the texts", transforms.apply, book)
    stage("pandoc: AST to HTML", cache.book_to_html, book)
    stage("sanitising the HTML", sanitize_book, book)
    stage("numbering the blocks", blocks.number_book, book)
    stage("keeping the finished texts", part_cache.keep, cache, book)
    for part in book.parts:  # nothing after the HTML reads them
        part.ast = part.headnote_ast = None


# --- in a child process ------------------------------------------------------------------------

def _make_apart(book, cache, stage) -> None:
    context = multiprocessing.get_context("spawn")
    reader, writer = context.Pipe(duplex=False)
    inbox, outbox = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(inbox, cache.folder, _levels(), _limits(), os.getpid(), writer),
                            name="anthology: making the texts", daemon=True)
    try:
        with ctrl_c_held():  # the child takes it once it can end quietly (`_child`)
            child.start()
    except OSError as exc:  # no process to be had: made here, as a small edit is
        log.debug("the texts are made in the build's process: no child process (%s)", exc)
        for end in (reader, writer, inbox, outbox):
            end.close()
        _make(book, cache, stage)
        return
    writer.close()  # the child's alone: when it ends, reading ends too, whatever it was writing
    inbox.close()   # likewise: a child that ends before it reads the book stops the sending
    try:
        _send(child, outbox, book)
        kind, value = _wait(child, reader)
        child.join(timeout=10)
    finally:
        reader.close()
        if child.is_alive():
            child.kill()
    if kind == "error":
        raise AnthologyError(value)
    if kind == "failed":
        raise RuntimeError(f"making the texts failed in the child process:\n{value}")
    _take(book, cache, stage, value)


def _send(child, outbox, book) -> None:
    """The book to the child, through a pipe of its own rather than its arguments: a child that
    ends at once would leave the build writing them for ever."""
    try:
        outbox.send(book)
    except OSError:
        child.join(timeout=5)
        raise _stopped(child) from None
    finally:
        outbox.close()


def _stopped(child):
    return error("B010", f"the process making the texts stopped unexpectedly (exit status {child.exitcode})")


def _wait(child, reader) -> tuple[str, object]:
    """Pass the child's log on as it comes; its outcome: ("made" | "error" | "failed", value)."""
    while True:
        try:
            kind, value = reader.recv()
        except (EOFError, OSError):
            child.join(timeout=5)
            raise _stopped(child) from None
        if kind != "log":
            return kind, value
        logging.getLogger(value.name).handle(value)


def _take(book, cache, stage, made: dict) -> None:
    """The finished parts, what the stages set on the book, the cache's account and the stage times."""
    book.parts = made["parts"]
    for name, value in made["book"].items():
        setattr(book, name, value)
    for name in _CACHE_ACCOUNT:
        mine = getattr(cache, name)
        mine.update(made["cache"][name]) if isinstance(mine, (dict, set)) else mine.extend(made["cache"][name])
    stage.times.extend(made["stages"])


def _levels() -> dict[str, int]:
    """The levels of our loggers, which the child's must have for its log to be the same (the
    top one's as it takes effect here, where the root logger's level may be set)."""
    loggers = logging.root.manager.loggerDict
    levels = {name: logger.level for name, logger in loggers.items()
              if name.split(".")[0] == "anthology" and isinstance(logger, logging.Logger)}
    return {**levels, "anthology": logging.getLogger("anthology").getEffectiveLevel()}


def _limits() -> dict:
    """The limits pandoc and the readers work within (limits.py), which the child keeps too."""
    from . import limits
    return {name: value for name, value in vars(limits).items() if name.isupper()}


def _child(inbox, folder, levels: dict[str, int], kept_limits: dict, parent: int, writer) -> None:
    from . import limits
    from .build import Stages
    from .cache import BuildCache
    from .render.workers import _exit_with_the_build

    threading.Thread(target=_exit_with_the_build, args=(parent,), daemon=True).start()
    for name, value in kept_limits.items():
        setattr(limits, name, value)
    relay = _Relay(writer)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    top = logging.getLogger("anthology")
    top.addHandler(relay)
    top.propagate = False
    cache, stage = BuildCache(folder), Stages()
    cache.pandocs_at_once = PANDOCS_APART
    try:
        take_ctrl_c()  # its pandocs, started from here on, take it too
        book = inbox.recv()
        inbox.close()
        for part in book.parts:  # their ASTs kept as JSON text between the stages (model.Part)
            part.packed = True
        _make(book, cache, stage)
        relay.send("made", {"parts": book.parts,
                            "book": {name: getattr(book, name) for name in _BOOK_ATTRIBUTES if hasattr(book, name)},
                            "cache": {name: getattr(cache, name) for name in _CACHE_ACCOUNT},
                            "stages": stage.times})
    except AnthologyError as exc:
        relay.send("error", exc.diagnostics)
    except KeyboardInterrupt:  # Ctrl-C reached the whole command: the build stops, and says so
        return
    except BaseException:  # noqa: BLE001 (it is reported to the build, which raises it)
        import traceback
        relay.send("failed", traceback.format_exc())


class _Relay(logging.Handler):
    """The child's log, each record sent to the build as it is made, and its outcome last."""

    def __init__(self, writer):
        super().__init__()
        self.writer = writer

    def emit(self, record: logging.LogRecord) -> None:
        from logging.handlers import QueueHandler

        self.writer.send(("log", QueueHandler(None).prepare(record)))  # under the handler's lock

    def send(self, kind: str, value) -> None:
        with self.lock:
            self.writer.send((kind, value))
