"""A layout worker's start and end: WeasyPrint imported without searching for its libraries,
and a worker that ends at once, its fonts let go."""
from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

import helpers
from anthology.render import workers
from anthology.render.pdf import STYLES
from anthology.render.print_layout import tools_of

FIXTURES = Path(__file__).resolve().parent / "fixtures"
LIBRARIES = ("gobject", "pango", "harfbuzz", "fontconfig", "pangoft2")


def _in_a_new_python(code: str) -> dict:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _report() -> str:
    return f"""
        import weasyprint.text.ffi as ffi
        print(json.dumps({{"started": started, "loaded": [n for n in {LIBRARIES!r} if getattr(ffi, n, None)],
                           "tried": tried}}))
    """


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the short way is taken on Linux only")
def test_weasyprint_is_imported_without_starting_a_program():
    report = _in_a_new_python("""
        import json, subprocess
        started, tried = [], 0
        real = subprocess.Popen.__init__
        def counted(self, args, *rest, **kw):
            started.append(str(args))
            real(self, args, *rest, **kw)
        subprocess.Popen.__init__ = counted
        from anthology.render.weasy_import import import_weasyprint
        import_weasyprint()
    """ + _report())
    assert report["started"] == []  # no ldconfig, gcc or ld
    assert report["loaded"] == list(LIBRARIES)


def test_without_the_search_a_missing_library_is_searched_for_after_all():
    """Where Pango opens only through find_library's search (as if it had no soname WeasyPrint
    tries), the first import fails, its modules are forgotten, and the usual import succeeds."""
    report = _in_a_new_python("""
        import json
        import ctypes.util
        import cffi.api
        from anthology.render import weasy_import
        started, tried, forgotten = [], 0, []
        real = cffi.api._load_backend_lib
        def pango_only_when_searched(backend, name, flags):
            global tried
            if "pango-1.0" in str(name) and ctypes.util.find_library is weasy_import._not_found:
                tried += 1
                raise OSError(f"cannot load library {name!r}")
            return real(backend, name, flags)
        cffi.api._load_backend_lib = pango_only_when_searched
        real_forget = weasy_import._forget
        weasy_import._forget = lambda package: forgotten.append(package) or real_forget(package)
        weasy_import.import_weasyprint()
        import weasyprint
        assert weasyprint.HTML and forgotten == ["weasyprint"], forgotten
    """ + _report())
    assert report["loaded"] == list(LIBRARIES)
    assert report["tried"] > 0  # Pango was refused while the search was off


def test_a_worker_lets_its_fonts_go_when_it_ends(tmp_path):
    """A worker leaves without tearing WeasyPrint down, but only once its fonts' folder is deleted."""
    executor = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=workers._import_weasyprint)
    try:
        folder = Path(executor.submit(helpers.font_folder, tools_of(FIXTURES / "books" / "tiny", STYLES)).result())
        assert folder.is_dir() and any(folder.iterdir())  # the book's fonts, loaded
        process = next(iter(executor._processes.values()))
    finally:
        executor.shutdown(wait=True)
    assert process.exitcode == 0
    assert not folder.exists()


def _pool_with_fonts():
    executor = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=workers._import_weasyprint)
    folder = Path(executor.submit(helpers.font_folder, tools_of(FIXTURES / "books" / "tiny", STYLES)).result())
    assert folder.is_dir() and any(folder.iterdir())
    return executor, folder, next(iter(executor._processes.values()))


def test_a_worker_stopped_after_a_failure_deletes_its_fonts():
    """After a failed chunk the build stops the workers at once (`_stop`): each deletes its fonts'
    folder before it goes, instead of leaving 1 MB in the temporary folder at every failure."""
    executor, folder, process = _pool_with_fonts()
    workers._stop(executor)
    for _ in range(100):  # the pool's own thread may be the one that sees it end, and its status
        process.join(0.1)
        if process.exitcode is not None or not Path(f"/proc/{process.pid}").exists():
            break
    assert process.exitcode in (1, None) and not Path(f"/proc/{process.pid}").exists()
    assert not folder.exists(), "deleted by the worker itself: a worker killed outright leaves it"


def test_a_worker_whose_build_was_killed_deletes_its_fonts(tmp_path):
    script = tmp_path / "killed_build.py"
    script.write_text(textwrap.dedent(f"""
        import os, sys
        sys.path[:0] = {[str(Path(helpers.__file__).parent)]!r}
        if __name__ == "__main__":
            import test_workers
            executor, folder, process = test_workers._pool_with_fonts()
            print(folder, process.pid, flush=True)
            os._exit(9)  # as if killed: no shutdown, no atexit
    """))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    folder, pid = done.stdout.split()
    for _ in range(100):  # the worker looks for its build every 0.2 s
        if not Path(folder).exists() and not Path(f"/proc/{pid}").exists():
            break
        time.sleep(0.1)
    assert not Path(folder).exists()


def test_a_large_book_ends_its_build_one_thing_at_a_time(tmp_path, monkeypatch):
    """From LEAN_FROM_PAGES on, the layout workers are let go after the layout, the PDF is merged
    in a process of its own that ends with it, and only then is the EPUB packaged: the same book."""
    import shutil

    from conftest import FIXTURES

    from anthology.build import build
    from anthology.render import print_layout

    root = tmp_path / "book"
    shutil.copytree(FIXTURES / "books" / "tiny", root, ignore=shutil.ignore_patterns("build"))
    usual = build(root / "manifest.yaml", tmp_path / "usual", use_cache=False).outputs
    seen, real = [], workers.submit_alone

    def alone(fn, *args):
        seen.append(workers._pool)  # the layout workers, when the merge starts
        future = real(fn, *args)
        seen.append(next(iter(workers._alone)))
        return future

    monkeypatch.setattr(print_layout, "LEAN_FROM_PAGES", 1)
    monkeypatch.setattr(workers, "submit_alone", alone)
    lean = build(root / "manifest.yaml", tmp_path / "lean", use_cache=False).outputs
    assert seen[0] is None, "the layout workers were let go before the merge"
    merger = seen[1]
    assert not workers._alone and merger._shutdown_thread, "the merging process is let go once it is done"
    for kind in ("pdf", "epub"):
        assert lean[kind].read_bytes() == usual[kind].read_bytes(), kind


def test_anthology_watch_keeps_the_workers_of_a_large_book(monkeypatch):
    """Its rebuilds reuse the workers, so a large book does not end its build one thing at a time there."""
    from anthology.render import chunks, print_layout

    layout = print_layout.PrintLayout([], {}, {}, chunks.Numbers(total=print_layout.LEAN_FROM_PAGES))
    assert layout.large
    monkeypatch.setattr(workers, "kept_between_builds", True)
    assert not layout.large
