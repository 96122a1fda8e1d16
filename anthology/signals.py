"""Ctrl-C and the processes a build starts.

A terminal sends Ctrl-C to every process of the command. A layout worker still starting when it
comes would print a traceback of its own; the build stops its workers itself (workers.stop). So
they are started with Ctrl-C blocked, which a process started from this thread inherits.
"""
from __future__ import annotations

import contextlib
import signal


@contextlib.contextmanager
def ctrl_c_held():
    """Ctrl-C blocked in this thread while the block runs (where the platform can block it);
    one pressed meanwhile is taken when the block ends."""
    if not hasattr(signal, "pthread_sigmask"):  # Windows: a worker ignores it once it runs
        yield
        return
    kept = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, kept)

