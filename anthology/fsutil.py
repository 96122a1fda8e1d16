"""Writing outputs so that a failed build never replaces a good book."""
from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from pathlib import Path

TEMP_PREFIX = ".anthology-tmp-"


@contextlib.contextmanager
def atomic_output(target: Path):
    """Yield a temporary path beside `target`; on success it replaces `target`.

    On any exception the temporary file is removed and `target` is untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=target.suffix, dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def remove_leftovers(folder: Path) -> list[Path]:
    """Delete temporary files a killed build left behind."""
    removed = []
    if folder.is_dir():
        for leftover in folder.glob(TEMP_PREFIX + "*"):
            leftover.unlink()
            removed.append(leftover)
    return removed


def inside(path: Path, root: Path) -> bool:
    """Whether `path`, with every link resolved, lies inside `root`."""
    try:
        return Path(os.path.realpath(path)).is_relative_to(Path(os.path.realpath(root)))
    except OSError:
        return False


@contextlib.contextmanager
def folder_lock(folder: Path):
    """Hold an exclusive lock on `folder` for one build; a second build fails at once."""
    from .messages import error

    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / ".anthology.lock"
    with open(lock, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise error("B004", f"another build is writing into {folder}", file=str(lock)) from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
