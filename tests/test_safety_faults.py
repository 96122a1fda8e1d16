"""Faults during a build: a kill while the PDF or the EPUB is being written, two builds into one
folder at once, a full disk. The previous outputs must survive byte for byte, the next build
must clean up what a killed one left, and every failure must be a coded error.

The builds run as child processes (`python -m anthology build`). To kill a child while it
writes, `HOLD` wraps `os.fsync` in the child so that the write of the output named by
SAFETY_HOLD (".pdf" or ".epub") waits, after its temporary file is made and filled and before
it is renamed, until the file SAFETY_RELEASE appears (or for two minutes): the test sees the
temporary file and kills the child at a moment that is certain to be inside the write.
"""
from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import living_in_group, pages_containing
from test_safety_support import Book, build_fails, copy_good_book, good_book  # noqa: F401 (fixture)

from anthology.cli import main
from anthology.fsutil import TEMP_PREFIX

HOLD = r"""
import os, sys, time
suffix, release = os.environ["SAFETY_HOLD"], os.environ.get("SAFETY_RELEASE", "")
real_fsync = os.fsync

def fsync(fd):
    try:
        name = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        name = ""
    if os.path.basename(name).startswith(".anthology-tmp-") and name.endswith(suffix) and "/.cache/" not in name:
        until = time.time() + 120
        while time.time() < until and not (release and os.path.exists(release)):
            time.sleep(0.01)
    return real_fsync(fd)

os.fsync = fsync
from anthology.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _child(book: Book, *args: str, hold: str | None = None, release: Path | None = None, preexec=None):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    if hold:
        env.update(SAFETY_HOLD=hold, SAFETY_RELEASE=str(release or ""))
        command = [sys.executable, "-c", HOLD, "build", "manifest.yaml", *args]
    else:
        command = [sys.executable, "-m", "anthology", "build", "manifest.yaml", *args]
    return subprocess.Popen(command, cwd=book.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=preexec)


def _wait_for_temp(book: Book, child, suffix: str, timeout: float = 90) -> Path:
    until = time.time() + timeout
    while time.time() < until:
        found = list(book.build.glob(f"{TEMP_PREFIX}*{suffix}"))
        if found:
            return found[0]
        if child.poll() is not None:
            out, err = child.communicate()
            pytest.fail(f"the build ended ({child.returncode}) before writing its {suffix}:\n{err.decode()}")
        time.sleep(0.005)
    child.kill()
    pytest.fail(f"no temporary {suffix} appeared within {timeout} s")


@pytest.mark.parametrize("suffix, args", [(".pdf", ()), (".epub", ("--only", "epub"))])
def test_a_kill_while_writing_keeps_the_previous_outputs(good_book, capsys, monkeypatch, suffix, args):
    before = good_book.outputs()
    good_book.replace("texts/two.md", "markerb2", "markerb2, a sentence added before the killed build,")
    child = _child(good_book, *args, hold=suffix)
    temp = _wait_for_temp(good_book, child, suffix)
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert good_book.outputs() == before, "a killed build changed the outputs"
    assert temp.exists(), "the killed build's temporary file is left behind (and cleaned below)"

    monkeypatch.chdir(good_book.root)
    assert main(["build", "manifest.yaml"]) == 0, capsys.readouterr().err
    assert good_book.leftovers() == [], "the next build removed the leftover"
    after = good_book.outputs()
    assert set(after) == set(before) and all(after[name] != before[name] for name in ("tiny.pdf", "tiny.epub"))
    assert pages_containing(str(good_book.build / "tiny.pdf"), "a sentence added before the killed build")


def _new_group_with_ctrl_c() -> None:
    os.setsid()
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # not ignored, as a command run in the background has it


def test_ctrl_c_stops_a_build_quietly_and_keeps_the_outputs(good_book):
    """Ctrl-C reaches the build and its workers (a terminal signals the whole group): the build
    says it stopped, exits 130 without a traceback, and the last good outputs stay; no worker lives on."""
    before = good_book.outputs()
    good_book.replace("texts/two.md", "markerb2", "markerb2, a sentence added before Ctrl-C,")
    child = _child(good_book, hold=".pdf", preexec=_new_group_with_ctrl_c)
    _wait_for_temp(good_book, child, ".pdf")
    os.killpg(child.pid, signal.SIGINT)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 130, err.decode()
    assert "stopped (Ctrl-C)" in err.decode() and "Traceback" not in err.decode(), err.decode()
    assert good_book.outputs() == before
    deadline = time.time() + 10
    while living_in_group(child.pid) and time.time() < deadline:
        time.sleep(0.1)
    assert not living_in_group(child.pid), "a worker outlived its build"


def test_two_builds_into_one_folder(good_book, tiny_book, tmp_path, capsys, monkeypatch):
    """While one build writes into build/, another (of another book, same slug) is refused
    with B004 and touches nothing; the first completes with its own text only."""
    other = copy_good_book(tiny_book, tmp_path / "other")
    other.replace("texts/two.md", "markerb2", "markerotherbook")
    good_book.replace("texts/two.md", "markerb2", "markerfirstbook")
    release = tmp_path / "release"
    first = _child(good_book, hold=".pdf", release=release)
    try:
        _wait_for_temp(good_book, first, ".pdf")
        before = good_book.outputs()
        err = build_fails(other, capsys, monkeypatch, "B004", "build/.anthology.lock", "--out", str(good_book.build))
        assert f"another build is writing into {good_book.build}" in err
        assert good_book.outputs() == before
    finally:
        release.touch()
        out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err.decode()
    pdf = str(good_book.build / "tiny.pdf")
    assert pages_containing(pdf, "markerfirstbook") and not pages_containing(pdf, "markerotherbook")
    assert good_book.leftovers() == []


def _disk_full(limit: int):
    def apply():  # in the child, before exec: writes past `limit` bytes fail with EFBIG
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


@pytest.mark.parametrize("only, name", [("pdf", "tiny.pdf"), ("epub", "tiny.epub")])
def test_a_full_disk(good_book, only, name):
    """RLIMIT_FSIZE in the child stands for a full disk: the write fails, the build says B008.

    The limit (1 MB) lets WeasyPrint write the fonts it unpacks to a temporary folder (a
    failure there is B008 too), so the write that fails is the output's: a text with a
    3 MB picture makes both outputs larger than the limit."""
    from PIL import Image

    before = good_book.outputs()
    (good_book.root / "images").mkdir()
    Image.effect_noise((1400, 800), 90).convert("RGB").save(good_book.root / "images" / "noise.png")
    good_book.add_text("texts/picture.md", "![Noise, for size](images/noise.png)\n")
    child = _child(good_book, "--only", only, "--no-cache", preexec=_disk_full(1_000_000))
    out, err = child.communicate(timeout=120)
    err = err.decode()
    assert child.returncode == 1, err
    assert f"build/{name}: error B008: could not write {name}: File too large" in err, err
    assert "Traceback" not in err
    assert good_book.outputs() == before
    assert good_book.leftovers() == []
