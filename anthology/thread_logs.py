"""What one thread logs, kept: pandoc's warnings stored with a cache entry, a run's warnings held back."""
from __future__ import annotations

import contextlib
import logging
import threading

PANDOC_LOGGER = "anthology.pandoc"


@contextlib.contextmanager
def warnings_kept_when_quiet(name: str = PANDOC_LOGGER):
    """Warnings logged below `name` are made even when the build shows only errors (`-q`, whose
    handler still drops them), so that a cache entry records them (`WarningsOfThisThread`) for
    the builds after."""
    logger = logging.getLogger(name)
    level = logger.level
    if not logger.isEnabledFor(logging.WARNING):
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


class HeldBack(logging.Filter):
    """What this thread logs on `logger` while the block runs: kept in `records`, not logged."""

    def __init__(self, logger: logging.Logger):
        super().__init__()
        self.logger, self.records = logger, []
        self.thread = threading.get_ident()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.thread != self.thread:
            return True
        self.records.append(record)
        return False

    def __enter__(self):
        self.logger.addFilter(self)
        return self

    def __exit__(self, *exc) -> None:
        self.logger.removeFilter(self)


class WarningsOfThisThread(logging.Handler):
    """What this thread logs at WARNING and above below the logger `name` while the block runs:
    `records` as (logger, level, message), `messages` the messages alone."""

    def __init__(self, name: str = PANDOC_LOGGER):
        super().__init__(logging.WARNING)
        self.logger = logging.getLogger(name)
        self.records: list[list] = []
        self.thread = threading.get_ident()

    @property
    def messages(self) -> list[str]:
        return [message for _, _, message in self.records]

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.records.append([record.name, record.levelno, record.getMessage()])

    def __enter__(self):
        self.logger.addHandler(self)
        return self

    def __exit__(self, *exc) -> None:
        self.logger.removeHandler(self)
