"""The process's own event loop, on a thread of its own, for callers that have none (a
Streamlit rerun asking for one image): their generations run on it, and it keeps each
workbench's provider clients open between them.

A client kept open keeps its connections: the next image to the same provider skips the TCP
and TLS handshakes, and the loop itself is not built and torn down per image (together ~5 ms
of the workbench's own time per generation against a loopback fake, and a round trip or two to
a real provider). HTTP clients must not cross event loops, which is why they are kept here and
not on the caller's thread.

`run` waits for the work; when the waiting thread is interrupted (Ctrl-C in a main thread),
the work is cancelled and `run` waits until it has ended before the interruption goes on, so an
attempt with its provider is recorded `interrupted` first (`generation.execute`), as
`asyncio.run` would have done. A second interruption stops that wait. When the process ends
with generations still on the loop (the app stopped while a Streamlit session waited for an
image), they are cancelled the same way at exit and given `EXIT_WAIT_S` to record themselves.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from workbench.providers.base import Provider, UnavailableProvider
from workbench.services.workbench import Workbench

T = TypeVar("T")

log = logging.getLogger(__name__)

CLOSE_WAIT_S = 10.0  # closing a workbench waits this long for its clients to close
EXIT_WAIT_S = 10.0  # the process's end waits this long for cancelled generations to record


class _LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self._serve, name="workbench-event-loop", daemon=True
        )
        self.thread.start()

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()


_started: _LoopThread | None = None
_starting = threading.Lock()


def _shared() -> _LoopThread:
    global _started
    with _starting:
        if _started is None or not _started.thread.is_alive():
            _started = _LoopThread()
            # Registered after the databases' own closing (atexit runs last in, first out), so
            # the generations still record themselves before their database closes.
            atexit.register(_stop_at_exit, _started)
        return _started


def _stop_at_exit(shared: _LoopThread) -> None:
    """The process ends: cancel the generations still on the loop, each of which records what
    it left with its provider (`interrupted`, with the job's id) before it ends."""
    if not shared.thread.is_alive():
        return

    async def cancel_all() -> None:
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    try:
        asyncio.run_coroutine_threadsafe(cancel_all(), shared.loop).result(EXIT_WAIT_S)
    except Exception:
        log.warning("generations still running at exit did not record themselves in time")


def run(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run the coroutine `work()` on the shared loop and return its result (or raise what it
    raised). Not from the loop's own thread."""
    shared = _shared()
    if threading.current_thread() is shared.thread:
        raise RuntimeError("shared_loop.run was called from the shared loop itself")
    ended: concurrent.futures.Future[T] = concurrent.futures.Future()
    tasks: list[asyncio.Task[T]] = []

    def start() -> None:
        task = shared.loop.create_task(work())
        tasks.append(task)
        task.add_done_callback(lambda done: _settle(done, ended))

    shared.loop.call_soon_threadsafe(start)
    try:
        return ended.result()
    except BaseException:
        if not ended.done():
            # Scheduled after `start` (the loop keeps the order), so the task exists by then.
            shared.loop.call_soon_threadsafe(lambda: tasks[0].cancel())
            concurrent.futures.wait([ended])
        raise


def _settle(task: asyncio.Task[T], ended: concurrent.futures.Future[T]) -> None:
    if task.cancelled():
        ended.set_exception(concurrent.futures.CancelledError())
    elif (error := task.exception()) is not None:
        ended.set_exception(error)
    else:
        ended.set_result(task.result())


async def provider_for(wb: Workbench, name: str) -> Provider:
    """On the shared loop: `wb`'s provider `name`, opened on first use and kept until `wb`
    closes. A provider that cannot be built (no key) is not kept: it holds no client."""
    kept = wb.loop_providers.get(name)
    if kept is not None:
        return kept
    provider = wb.open_provider(name)
    if isinstance(provider, UnavailableProvider):
        return provider
    if not wb.loop_providers:
        wb.on_close.append(lambda: _close_kept(wb))
    wb.loop_providers[name] = provider
    return provider


def _close_kept(wb: Workbench) -> None:
    """`wb` closes: close the clients it keeps on the shared loop (on that loop)."""
    kept = list(wb.loop_providers.values())
    wb.loop_providers.clear()
    started = _started
    if not kept or started is None or not started.thread.is_alive():
        return

    async def close_all() -> None:
        for provider in kept:
            try:
                await provider.aclose()
            except Exception:
                log.exception("could not close a provider's client")

    future = asyncio.run_coroutine_threadsafe(close_all(), started.loop)
    if threading.current_thread() is started.thread:
        return  # closing from the loop itself: the clients close once this step ends
    try:
        future.result(timeout=CLOSE_WAIT_S)
    except Exception:
        log.warning("the provider clients of a closing workbench did not close in time")
