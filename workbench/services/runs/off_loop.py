"""Where a generation's blocking work (database writes, storing an image) runs while its event
loop goes on: one pool of threads for the whole process.

`asyncio.to_thread` would use the running loop's default executor, which a loop made by
`asyncio.run` (a command, a run, a recovery) creates for each call and joins when it ends:
~2 ms per call. The threads here outlive every loop, the shared one of `shared_loop` included,
and each keeps its database cursor between generations (`store.db`).

`later` starts the work at once and hands back its `concurrent.futures.Future`, which no
cancellation of the waiting task can cancel: a write that records money in flight always runs
to its end, and a cancelled caller can still wait for it (`finish`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

log = logging.getLogger(__name__)

# A run may keep up to 64 jobs per provider in flight (`runner`), but their writes take turns on
# the database anyway, so more threads would mostly wait; work queued behind busy threads still
# runs to its end (tests/test_off_loop.py).
WORKERS = 8
_POOL = concurrent.futures.ThreadPoolExecutor(WORKERS, thread_name_prefix="workbench-io")


def later(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> concurrent.futures.Future[T]:
    """Start `fn` on the pool now, in a copy of this context (the current job travels along)."""
    context = contextvars.copy_context()
    return _POOL.submit(functools.partial(context.run, fn, *args, **kwargs))


async def run(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """`fn` on the pool, awaited. A cancelled caller stops waiting; the work still ends."""
    return await wait(later(fn, *args, **kwargs))


async def wait(future: concurrent.futures.Future[T]) -> T:
    """Await work started with `later` without letting a cancellation of this task reach it."""
    return await asyncio.shield(asyncio.wrap_future(future))


def finish(future: concurrent.futures.Future[T], what: str, timeout_s: float = 30.0) -> None:
    """Block until work started with `later` has ended (a cancelled task's last writes); its
    failure is logged, not raised, so that the caller's own cleanup still runs."""
    try:
        future.result(timeout=timeout_s)
    except Exception:
        log.exception("%s did not finish", what)
