"""`anthology watch` for real, in a subprocess; the debouncing; the progress display's plain lines."""
from __future__ import annotations

import io
import logging
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT
from helpers import living_in_group

from anthology.progress import NORMAL, QUIET, BuildProgress
from anthology.watch import Changes, describe

TIMEOUT = 90


def _ctrl_c_as_in_a_terminal() -> None:
    """A command started in the background inherits an ignored SIGINT; a terminal's does not."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Watcher:
    """`anthology watch` in a subprocess, its output read line by line."""

    def __init__(self, manifest: Path, session: bool = False):
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)}
        env.pop("CI", None)
        self.proc = subprocess.Popen([sys.executable, "-m", "anthology", "watch", str(manifest), "--debounce", "0.3"],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                                     start_new_session=session, preexec_fn=_ctrl_c_as_in_a_terminal)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, *needles: str) -> list[str]:
        """Lines up to the first that holds every needle."""
        got, deadline = [], time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            got.append(line)
            self.seen.append(line)
            if all(n in line for n in needles):
                return got
        raise AssertionError(f"no line with {needles}; output so far:\n" + "\n".join(self.seen))

    def stop(self, group: bool = False) -> int:
        """Ctrl-C: to the watcher, or (`group`) to it and every process it started, as a terminal does."""
        if self.proc.poll() is None:
            if group:
                os.killpg(self.proc.pid, signal.SIGINT)
            else:
                self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise


@pytest.fixture
def book(tmp_path) -> Path:
    root = tmp_path / "book"
    shutil.copytree(FIXTURES / "books" / "tiny", root, ignore=shutil.ignore_patterns("build"))
    return root


def test_watch_rebuilds_on_save_and_survives_a_broken_text(book):
    pdf = book / "build" / "tiny.pdf"
    watcher = Watcher(book / "manifest.yaml")
    try:
        watcher.wait_for("watching")
        watcher.wait_for("first build: built pdf, epub")
        first = pdf.read_bytes()

        one = book / "texts" / "one.md"
        one.write_text(one.read_text().replace("\nVote soviet ", "\nVote again soviet ", 1))
        [line] = watcher.wait_for("texts/one.md changed")[-1:]
        assert "built pdf, epub in" in line and "pandoc converted texts/one.md," in line, line
        assert "from the cache" in line
        rebuilt = pdf.read_bytes()
        assert rebuilt != first, "the PDF was rebuilt with the edit"

        two = book / "texts" / "two.md"
        good = two.read_text()
        two.write_text("---\ntitle: [unclosed\n---\nText.\n")
        lines = watcher.wait_for("texts/two.md changed", "build failed")
        lines += watcher.wait_for("texts/two.md:")
        assert any("error" in line and "texts/two.md:" in line for line in lines), lines
        assert pdf.read_bytes() == rebuilt, "a failed build keeps the last good PDF"

        two.write_text(good)
        watcher.wait_for("texts/two.md changed: built pdf, epub")
    finally:
        code = watcher.stop()
    assert code == 0
    watcher.wait_for("stopped watching")
    assert not list((book / "build").glob(".anthology-tmp-*"))


def test_ctrl_c_stops_the_watcher_and_its_workers_quietly(book):
    """A terminal's Ctrl-C reaches the layout workers too: they leave it to the watcher, which
    stops them; nobody prints a traceback, and no font folder is left behind."""
    watcher = Watcher(book / "manifest.yaml", session=True)
    try:
        watcher.wait_for("first build: built pdf, epub")
        assert len(living_in_group(watcher.proc.pid)) > 1, "the layout workers are running"
    finally:
        code = watcher.stop(group=True)
    watcher.wait_for("stopped watching")
    time.sleep(1)
    assert code == 0
    assert not [line for line in watcher.seen + _rest(watcher) if "Traceback" in line or "KeyboardInterrupt" in line]
    assert living_in_group(watcher.proc.pid) == []


def _rest(watcher) -> list[str]:
    lines = []
    while not watcher.lines.empty():
        lines.append(watcher.lines.get())
    return lines


def test_changes_are_debounced_and_transient_files_left_out(tmp_path):
    class Event:
        def __init__(self, kind, src, dest=""):
            self.event_type, self.src_path, self.dest_path, self.is_directory = kind, str(src), str(dest), False

    out = tmp_path / "build"
    changes = Changes([tmp_path], [out])
    text = tmp_path / "texts" / "a.md"
    text.parent.mkdir()
    text.write_text("x")
    temp = tmp_path / "texts" / "sedX1yZ"
    for event in (Event("created", temp), Event("modified", temp), Event("moved", temp, text),
                  Event("modified", out / "tiny.pdf"), Event("created", tmp_path / "texts" / ".a.md.swp"),
                  Event("opened", text), Event("modified", tmp_path / ".git" / "index")):
        changes.dispatch(event)
    stop = threading.Event()
    start = time.monotonic()
    assert changes.wait_quiet(0.3, stop) == ["texts/a.md"]
    assert time.monotonic() - start >= 0.25, "it waits until nothing has changed for the debounce time"
    changes.dispatch(Event("modified", out / "tiny.epub"))
    threading.Timer(0.5, stop.set).start()
    assert changes.wait_quiet(0.1, stop) == [], "changes to the outputs never start a build"
    assert describe([]) == "first build"
    assert describe(["a", "b", "c", "d", "e"]) == "a, b, c and 2 more changed"


def _records(log):
    log("anthology.build", logging.DEBUG, "reading the texts …", stage="reading the texts", stage_event="start")
    log("anthology.build", logging.INFO, "reading the texts: 0.01 s", stage="reading the texts", stage_event="end")
    log("anthology.build", logging.DEBUG, "laying out the PDF …", stage="laying out the PDF", stage_event="start")
    log("weasyprint.progress", logging.INFO, "Step 1 - Fetching and parsing HTML - HTML string")
    for n in (1, 2, 3):
        log("weasyprint.progress", logging.INFO, f"Step 5 - Creating layout - Page {n}")
    log("weasyprint.progress", logging.INFO, "Step 6 - Creating PDF")
    log("anthology.build", logging.INFO, "laying out the PDF: 1.00 s", stage="laying out the PDF", stage_event="end")


def test_progress_shows_the_layout_rounds():
    stream = io.StringIO()
    with BuildProgress(NORMAL, stream=stream):
        _emit("anthology.build", logging.DEBUG, "laying out …", stage="laying out", stage_event="start")
        _emit("anthology.render.pdf", logging.DEBUG, "laying out 2 of 3 chunks (round 1)", layout_event="round",
              round=1, total=2)
        _emit("anthology.render.pdf", logging.INFO, "laid out one: 5 pages", layout_event="chunk", pages=5)
        _emit("anthology.render.pdf", logging.INFO, "laid out two: 7 pages", layout_event="chunk", pages=7)
        _emit("anthology.render.pdf", logging.DEBUG, "laying out 1 of 3 chunks (round 2)", layout_event="round",
              round=2, total=1)
        _emit("anthology.render.pdf", logging.INFO, "laid out one: 5 pages", layout_event="chunk", pages=5)
        _emit("anthology.build", logging.INFO, "laying out: 1.00 s", stage="laying out", stage_event="end")
    assert stream.getvalue().splitlines() == [
        "anthology: layout round 1: 2 chunks, 12 pages",
        "anthology: layout round 2: 1 chunks, 5 pages",
        "anthology: laying out: 1.00 s",
    ]


def _emit(name, level, message, **extra):
    logging.getLogger(name).log(level, message, extra=extra)


def test_progress_plain_lines_when_not_a_terminal():
    stream = io.StringIO()
    with BuildProgress(NORMAL, stream=stream):
        _records(_emit)
    assert stream.getvalue().splitlines() == [
        "anthology: reading the texts: 0.01 s",
        "anthology: layout pass 1: 3 pages",
        "anthology: laying out the PDF: 1.00 s",
    ]
    quiet = io.StringIO()
    with BuildProgress(QUIET, stream=quiet):
        _records(_emit)
    assert quiet.getvalue() == ""
    assert logging.getLogger("weasyprint.progress").propagate, "the loggers are left as they were"


def test_progress_bars_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    env = os.environ.pop("CI", None)
    try:
        with BuildProgress(NORMAL, stream=stream) as progress:
            assert progress.live is not None
            _records(_emit)
    finally:
        if env is not None:
            os.environ["CI"] = env
    shown = stream.getvalue()
    assert "reading the texts: 0.01 s" in shown and "laying out the PDF: 1.00 s" in shown
