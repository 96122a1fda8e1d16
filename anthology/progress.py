"""What a person sees while a build runs. Only this module and the CLI print.

The library only logs: each stage of `build.py` logs its start and its time (records with
`stage`), the cache logs every conversion and every entry it serves (`cache_event`), and
the layout workers' rounds log each chunk laid out (`layout_event`), and a single WeasyPrint
pass (the tagged `screen` PDF) logs its steps on `weasyprint.progress`. `BuildProgress`
listens to those records while a build runs and shows them:

- on a terminal (standard error is a TTY, not CI, not -q): the finished stages with their
  times, and live bars for the current stage, the texts pandoc converts and the chunks of
  each layout round (rich);
- otherwise (piped, in CI): plain lines, one per finished stage and per layout round.

With -q nothing is shown but errors; with -v every log line is printed as well.
"""
from __future__ import annotations

import logging
import os
import re
import sys
import threading

QUIET, NORMAL, VERBOSE = -1, 0, 1
_PAGE = re.compile(r"Step 5 - Creating layout - Page (\d+)")


def interactive(stream) -> bool:
    """Whether to draw live bars on `stream`: a terminal, and not in CI."""
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    return tty and not os.environ.get("CI") and os.environ.get("TERM") != "dumb"


class BuildProgress:
    """A context manager showing one build's (or each watched rebuild's) progress."""

    def __init__(self, verbosity: int = NORMAL, stream=None, stage_lines: bool = True, transient: bool = False):
        self.verbosity = verbosity
        self.stream = stream
        self.stage_lines = stage_lines  # plain lines / kept lines for finished stages
        self.transient = transient
        self.live = None
        self._lock = threading.Lock()
        self._saved: list = []
        self._handler = _Listener(self)
        self.convert_task = self.layout_task = None
        self.passes, self.last_pages, self.pages, self.chunks = 0, None, 0, 0

    # Set-up and tear-down.

    def __enter__(self) -> BuildProgress:
        stream = self.stream or sys.stderr
        self.interactive = self.verbosity > QUIET and interactive(stream)
        self.plain = self.verbosity == NORMAL and not self.interactive and self.stage_lines
        if self.verbosity > QUIET:
            for name, level, propagate in (("anthology", logging.DEBUG, None),
                                           ("weasyprint.progress", logging.INFO, False)):
                logger = logging.getLogger(name)
                self._saved.append((logger, logger.level, logger.propagate))
                if logger.getEffectiveLevel() > level:
                    logger.setLevel(level)
                if propagate is not None:
                    logger.propagate = propagate
                logger.addHandler(self._handler)
        if self.interactive:
            self._start_live(stream)
        self.passes, self.last_pages, self.pages = 0, None, 0
        return self

    def __exit__(self, *exc) -> None:
        for logger, level, propagate in self._saved:
            logger.removeHandler(self._handler)
            logger.setLevel(level)
            logger.propagate = propagate
        self._saved.clear()
        if self.live is not None:
            self.live.stop()
            self.live = None

    def _start_live(self, stream) -> None:
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                                   TimeElapsedColumn)

        console = Console(file=stream, stderr=stream is sys.stderr)
        self.live = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                             MofNCompleteColumn(), TimeElapsedColumn(), console=console,
                             transient=self.transient, redirect_stderr=True, redirect_stdout=True)
        self.live.start()
        self.stage_task = self.live.add_task("starting", total=None)

    def print(self, text: str) -> None:
        """A line above the live bars, or a plain line."""
        if self.live is not None:
            self.live.console.print(text, highlight=False, markup=False)
        else:
            print(text, file=self.stream or sys.stderr, flush=True)

    # Events, from the log records.

    def on_record(self, record: logging.LogRecord) -> None:
        with self._lock:
            if record.name.startswith("weasyprint"):
                self._layout(record)
            elif getattr(record, "layout_event", None):
                self._chunk(record)
            elif getattr(record, "stage_event", None):
                self._stage(record.stage, record.stage_event, record)
            elif getattr(record, "cache_event", None):
                self._conversion(record)

    def _stage(self, name: str, event: str, record) -> None:
        if event == "start":
            self.passes, self.last_pages, self.pages = 0, None, 0
            if self.live is not None:
                self.live.update(self.stage_task, description=name)
                for attr in ("convert_task", "layout_task"):
                    if getattr(self, attr) is not None:
                        self.live.remove_task(getattr(self, attr))
                        setattr(self, attr, None)
            return
        self._end_pass()
        if self.stage_lines and (self.live is not None or self.plain):
            self.print(f"{'✓ ' if self.live is not None else 'anthology: '}{record.getMessage()}")

    def _conversion(self, record) -> None:
        if self.live is None:
            return
        if record.cache_event == "start":
            if self.convert_task is not None:
                self.live.remove_task(self.convert_task)
            self.convert_task = self.live.add_task(f"pandoc ({record.cache_kind})", total=record.total)
        elif record.cache_event == "converted" and self.convert_task is not None:
            self.live.advance(self.convert_task)
            self.live.update(self.convert_task, description=f"pandoc: {record.cache_label}")

    def _layout(self, record) -> None:
        """WeasyPrint's steps: step 1 opens a layout pass, step 5 lays out each page, step 6 writes."""
        message = record.getMessage()
        if message.startswith("Step 1 "):
            self._end_pass()
            self.passes += 1
            self.pages = 0
            if self.live is not None:
                self.layout_task = self.live.add_task(f"layout pass {self.passes}", total=self.last_pages)
        elif m := _PAGE.match(message):
            self.pages = int(m.group(1))
            if self.live is not None and self.layout_task is not None:
                self.live.update(self.layout_task, completed=self.pages,
                                 description=f"layout pass {self.passes}: page {self.pages}")
        elif message.startswith("Step 6 "):
            self._end_pass()
            if self.live is not None:
                self.live.update(self.stage_task, description="writing the PDF")

    def _chunk(self, record) -> None:
        """The layout workers' rounds (render/print_layout.py): a round opens, each chunk is laid out."""
        if record.layout_event == "round":
            self._end_pass()
            self.passes, self.pages, self.chunks = record.round, 0, 0
            if self.live is not None:
                self.layout_task = self.live.add_task(f"layout round {record.round}", total=record.total)
        elif record.layout_event == "chunk":
            self.pages += record.pages
            self.chunks += 1
            if self.live is not None and self.layout_task is not None:
                self.live.update(self.layout_task, completed=self.chunks,
                                 description=f"layout round {self.passes}: {record.getMessage().removeprefix('laid out ')}")

    def _end_pass(self) -> None:
        """The pass that was running is over: show it (plain) or remove its bar, remember its pages."""
        if self.pages:
            self.last_pages = self.pages
            if self.plain and self.chunks:
                self.print(f"anthology: layout round {self.passes}: {self.chunks} chunks, {self.pages} pages")
            elif self.plain:
                self.print(f"anthology: layout pass {self.passes}: {self.pages} pages")
        self.pages, self.chunks = 0, 0
        if self.live is not None and self.layout_task is not None:
            self.live.remove_task(self.layout_task)
            self.layout_task = None


class _Listener(logging.Handler):
    def __init__(self, progress: BuildProgress):
        super().__init__(logging.DEBUG)
        self.progress = progress

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.progress.on_record(record)
        except Exception:  # a display problem must never stop a build
            self.handleError(record)
