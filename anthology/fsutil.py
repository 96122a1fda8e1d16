"""Writing outputs so that a failed build never replaces a good book."""
from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import tempfile
from pathlib import Path

TEMP_PREFIX = ".anthology-tmp-"


@contextlib.contextmanager
def atomic_output(target: Path):
    """Yield a temporary path beside `target`; on success it replaces `target`.

    The temporary file is flushed to disk before it is renamed over `target`, and the
    rename itself is flushed, so a crash or a kill leaves either the old file or the
    new one, never a part of one (a leftover temporary file is removed by the next
    build, see `remove_leftovers`). On any exception the temporary file is removed and
    `target` is untouched; a full disk (or a file size limit) is B008.
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=target.suffix, dir=target.parent)
    except OSError as exc:
        raise _write_error(exc, target) from None
    os.close(fd)
    tmp = Path(tmp_name)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        try:
            yield tmp
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, target)
            _fsync_folder(target.parent)
        except OSError as exc:
            if exc.errno in DISK_FULL:
                raise _write_error(exc, target) from None
            raise
    finally:
        if tmp.exists():
            tmp.unlink()


DISK_FULL = {errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}


def _write_error(exc: OSError, target: Path):
    from .messages import error

    if exc.errno in DISK_FULL:
        return error("B008", f"could not write {target.name}: {exc.strerror or exc} (the disk is full or a "
                             "file size limit was reached)", file=str(target))
    return error("B008", f"could not write {target.name}: {exc.strerror or exc}", file=str(target),
                 hint="Check that the output folder can be written to; the previous outputs are kept.")


def _fsync_folder(folder: Path) -> None:
    """Flush a rename to disk (where the platform allows opening a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_leftovers(folder: Path) -> list[Path]:
    """Delete temporary files a killed build left behind, in `folder` and its subfolders one
    level down (build/.cache/ cleans its own deeper levels). Call it holding `folder_lock`."""
    removed = []
    if folder.is_dir():
        for leftover in [*folder.glob(TEMP_PREFIX + "*"), *folder.glob("*/" + TEMP_PREFIX + "*")]:
            if leftover.is_file() or leftover.is_symlink():
                leftover.unlink(missing_ok=True)
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


def relative_name(path: Path, root: Path) -> str:
    """How a file is named in messages and metadata: relative to the book's folder when inside it."""
    path, root = Path(path), Path(root)
    for candidate, base in ((path, root), (path.resolve(), root.resolve())):
        try:
            return candidate.relative_to(base).as_posix()
        except ValueError:
            continue
    return str(path)
