"""The live filer's parse processes: one pool per process, forked on first use and kept for its life.

The filer used to fork a ``multiprocessing.Pool`` for every filing job and ``terminate()``
it after. Twice in about twenty benchmark runs a job then hung until rq's timeout:
``Pool.terminate`` can hang while workers are busy (CPython #78178, #96995), a ``Pool``
waits forever for the result of a child that died, and every fork of the threaded worker
process is another chance for a child to inherit a lock that some other thread held. So
the pool here is forked once, is a ``ProcessPoolExecutor`` (a dead child surfaces as
``BrokenProcessPool`` instead of a wait without end), and every batch has a deadline: a
batch that is not parsed in time is parsed in the filer and the pool is replaced.
"""

import logging
import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from apps.mail.language import detector

log = logging.getLogger(__name__)

# A batch of 50 takes well under a second; only a stuck or dead child takes this long.
RESULT_SECONDS = 30

_pool: ProcessPoolExecutor | None = None
_owner: tuple[int, int] | None = None   # (pid, processes) of the pool's maker


def pool(processes: int) -> ProcessPoolExecutor:
    """This process's pool of ``processes`` parse workers, forked the first time it is asked for."""
    global _pool, _owner
    if _pool is not None and _owner == (os.getpid(), processes):
        return _pool
    if _pool is not None and _owner[0] == os.getpid():
        discard()
    # Loaded before the fork, so the workers share the language models instead of each loading them.
    detector()
    # fork: the workers start in milliseconds and need only the parser. They never touch the
    # parent's database connection and leave by os._exit, so it stays the parent's.
    _pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork"))
    _owner = (os.getpid(), processes)
    return _pool


def discard() -> None:
    """Stop this process's pool without waiting for its work (its children are killed)."""
    global _pool, _owner
    doomed, mine = _pool, _owner is not None and _owner[0] == os.getpid()
    _pool, _owner = None, None
    if doomed is None or not mine:   # a forked child drops its parent's pool, never stops it
        return
    for process in list((doomed._processes or {}).values()):
        process.kill()
    doomed.shutdown(wait=False, cancel_futures=True)


class Parses:
    """A batch handed to the pool: ``results()`` gives one parse per raw, in order, whatever happens to the pool."""

    def __init__(self, parse: Callable, raws: list[bytes], *, processes: int):
        self.parse, self.raws = parse, raws
        try:
            chunk = max(1, len(raws) // (processes * 4))
            self.pending: Iterator | None = pool(processes).map(parse, raws, chunksize=chunk, timeout=RESULT_SECONDS)
        except (BrokenProcessPool, RuntimeError, OSError):
            log.warning("the parse pool is broken; parsing in the filer", exc_info=True)
            discard()
            self.pending = None

    def results(self) -> list:
        if self.pending is not None:
            try:
                return list(self.pending)
            except (TimeoutError, BrokenProcessPool):
                log.warning("the parse pool did not return %d messages; parsing them in the filer and "
                            "replacing the pool", len(self.raws), exc_info=True)
                discard()
            except Exception:   # a result that could not cross back (pickling): the pool is fine
                log.warning("a parse in the pool failed; parsing the batch in the filer", exc_info=True)
        return [self.parse(raw) for raw in self.raws]

    def cancel(self) -> None:
        """Not needed any more (the job ends): the pool drops what it has not begun."""
        self.pending = None
