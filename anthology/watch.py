"""`anthology watch`: rebuild the book whenever one of its files is saved.

The book's folder (and the styles, when they lie outside it) is watched with watchdog.
Changes are collected until no file has changed for `debounce` seconds (an editor's save
is often several events: a temporary file, a rename, a change of mode), then the book is
built once, in this process, through the cache, so only what changed is converted again.
Each rebuild prints one status line: when, what changed, what was built and how long it
took. A failed build prints its diagnostics and keeps the last good outputs (the build
writes atomically); watching goes on. Ctrl-C (or SIGTERM) stops cleanly.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

from .build import OUTPUTS, build
from .fsutil import TEMP_PREFIX, inside
from .messages import AnthologyError
from .progress import NORMAL, QUIET, BuildProgress
from .render import workers

STYLES = Path(__file__).resolve().parent.parent / "styles"
IGNORED_FOLDERS = {".git", ".venv", "__pycache__", "node_modules", ".a11y", ".pytest_cache", ".mypy_cache"}
IGNORED_SUFFIXES = ("~", ".swp", ".swx", ".swo", ".tmp", ".part", ".crdownload", ".pyc")
EVENTS = {"created", "modified", "moved", "deleted"}  # not opened / closed without writing


class Changes:
    """What changed since the last rebuild, fed by watchdog's thread, read by the rebuild loop."""

    def __init__(self, roots: list[Path], ignore: list[Path]):
        self.roots, self.ignore = roots, ignore
        self.paths: set[str] = set()
        self.created: set[str] = set()  # made in this batch: gone again by the rebuild, it was transient
        self.last = 0.0
        self.lock = threading.Lock()
        self.wake = threading.Event()

    def relevant(self, path: str) -> bool:
        p = Path(path)
        if any(inside(p, folder) for folder in self.ignore):
            return False
        if p.name.startswith((".#", TEMP_PREFIX)) or p.name.endswith(IGNORED_SUFFIXES) or p.name == "4913":
            return False  # editors' lock, swap and probe files; our own temporary files
        if any(part in IGNORED_FOLDERS for part in p.parts):
            return False
        return not p.is_dir()

    def dispatch(self, event) -> None:
        """watchdog calls this for every event under the watched folders."""
        if event.event_type not in EVENTS or event.is_directory:
            return
        paths = [event.src_path, getattr(event, "dest_path", "") or ""]
        found = [(os.fsdecode(p), self.name(p)) for p in paths if p and self.relevant(os.fsdecode(p))]
        if found:
            with self.lock:
                self.paths.update(name for _, name in found)
                if event.event_type == "created":
                    self.created.update(path for path, _ in found)
                self.last = time.monotonic()
            self.wake.set()

    def name(self, path) -> str:
        path = Path(os.fsdecode(path))
        for root in self.roots:
            try:
                return str(path.relative_to(root))
            except ValueError:
                continue
        return str(path)

    def wait_quiet(self, debounce: float, stop: threading.Event) -> list[str]:
        """Block until something changed and nothing more has for `debounce` seconds; what changed."""
        while not stop.is_set():
            self.wake.wait(0.2)
            with self.lock:
                if self.paths and time.monotonic() - self.last >= debounce:
                    transient = {self.name(p) for p in self.created if not os.path.exists(p)}
                    changed = sorted(self.paths - transient) or sorted(self.paths)
                    self.paths, self.created = set(), set()
                    self.wake.clear()
                    return changed
                if not self.paths:
                    self.wake.clear()
        return []


def describe(changed: list[str]) -> str:
    if not changed:
        return "first build"
    shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
    return f"{shown} changed"


def watch(manifest_path: Path | str = "manifest.yaml", out_dir: Path | str | None = None,
          only: tuple[str, ...] = OUTPUTS, use_cache: bool = True, debounce: float = 0.5,
          verbosity: int = NORMAL, stop: threading.Event | None = None, out=None, err=None) -> int:
    """Build, then rebuild on every save until Ctrl-C, SIGTERM or `stop` is set. Returns the exit status."""
    from watchdog.events import FileSystemEventHandler
    from watchdog.observers import Observer

    out, err = out or sys.stdout, err or sys.stderr
    manifest_path = Path(manifest_path)
    if manifest_path.is_dir():
        manifest_path = manifest_path / "manifest.yaml"
    root = manifest_path.resolve().parent
    output = Path(out_dir).resolve() if out_dir else root / "build"
    stop = stop or threading.Event()
    roots = [root] + ([STYLES] if not inside(STYLES, root) else [])
    changes = Changes(roots, [output])

    def say(line: str, stream=None) -> None:
        print(line, file=stream or out, flush=True)

    def rebuild(changed: list[str]) -> None:
        when, start = time.strftime("%H:%M:%S"), time.monotonic()
        try:
            with BuildProgress(verbosity, stage_lines=False, transient=True):
                result = build(manifest_path, out_dir, only, use_cache=use_cache)
        except AnthologyError as exc:
            say(f"{when} {describe(changed)}: build failed after {time.monotonic() - start:.1f} s; "
                f"the last good outputs are kept", err)
            for diagnostic in exc.diagnostics:
                say(f"  {diagnostic.format()}", err)
            return
        except Exception as exc:  # anything else: say so and keep watching
            say(f"{when} {describe(changed)}: build failed after {time.monotonic() - start:.1f} s "
                f"({type(exc).__name__}: {exc}); the last good outputs are kept", err)
            return
        if verbosity > QUIET:
            converted = sorted({c.rsplit(" (", 1)[0] for c in result.converted})
            what = (f"pandoc converted {', '.join(converted[:3])}{' …' if len(converted) > 3 else ''}"
                    if converted else "nothing converted")
            say(f"{when} {describe(changed)}: built {', '.join(result.outputs)} in "
                f"{time.monotonic() - start:.1f} s ({what}, {len(result.cached)} from the cache)")

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event):
            changes.dispatch(event)

    previous = _stop_on_sigterm()
    observer = Observer()
    for folder in roots:
        observer.schedule(Handler(), str(folder), recursive=True)
    observer.start()
    workers.kept_between_builds = True  # each rebuild reuses them, however large the book
    try:
        say(f"watching {root} for changes (Ctrl-C stops)")
        rebuild([])
        while not stop.is_set():
            changed = changes.wait_quiet(debounce, stop)
            if changed:
                rebuild(changed)
    except KeyboardInterrupt:
        workers.stop()  # rather than wait, on the way out, for a build's chunks
    finally:
        workers.kept_between_builds = False
        observer.stop()
        observer.join()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    say("stopped watching")
    return 0


def _stop_on_sigterm():
    """SIGTERM stops the watch like Ctrl-C (only the main thread may set handlers)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, interrupt)
