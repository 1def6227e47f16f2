"""Where a generation's blocking work (database writes, storing an image) runs while its event
loop goes on: one pool of threads for the whole process.

`asyncio.to_thread` would use the running loop's default executor, which `asyncio.run` creates
for every call and joins when the call ends: starting and joining those threads cost ~2 ms of
every single generation (`generation.generate_sync` runs one loop per image). The threads here
outlive the loops, and each keeps its database cursor between generations (`store.db`).

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

# Enough for the writes of the jobs a run keeps in flight (`runner`: at most 8 at once), each
# of which waits for its turn on the database anyway.
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
