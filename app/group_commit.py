"""Group commit: the requests a worker process has in flight stored in one transaction.

Under load, a submission paying alone for a session, its statements and a commit (a flush to
disk) is what limits a worker: at 64 clients those were half its CPU. A request hands its job
to the process's :class:`GroupCommit` and awaits its own outcome. While one group is being
stored (in the threadpool), the jobs that arrive wait and form the next group; a lone request
is a group of one, so nothing waits on a timer and one client sees no change.

Nothing is acknowledged before its group has committed, and a group settles each job as if it
had come alone (the caller's ``store`` falls back to one job at a time whenever a group cannot
be settled together). What this holds is only requests in flight, which another worker never
needs to know about.
"""

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar
from weakref import WeakKeyDictionary

from starlette.concurrency import run_in_threadpool

J = TypeVar("J")
R = TypeVar("R")


@dataclass
class _Queue(Generic[J, R]):
    pending: list[tuple[J, "asyncio.Future[R]"]] = field(default_factory=list)
    drainers: set["asyncio.Task[None]"] = field(default_factory=set)


class GroupCommit(Generic[J, R]):
    """Runs ``store(jobs)`` in the threadpool for the jobs waiting together; ``store`` returns
    one outcome per job, in order: a result, or the exception that job's request raises."""

    def __init__(
        self,
        store: Callable[[Sequence[J]], list[R | Exception]],
        *,
        size: Callable[[J], int] = lambda job: 1,
        max_jobs: int = 64,
        max_size: int = 1_000,
        max_groups: int = 1,
    ) -> None:
        self._store = store
        self._max_groups = max_groups
        self._size = size
        self._max_jobs = max_jobs
        self._max_size = max_size
        # Futures belong to an event loop: one queue per loop (a worker has one; tests start
        # several one after another).
        self._queues: WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue[J, R]] = (
            WeakKeyDictionary()
        )

    async def submit(self, job: J) -> R:
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = _Queue()
        future: asyncio.Future[R] = loop.create_future()
        queue.pending.append((job, future))
        if len(queue.drainers) < self._max_groups:
            # Held in the set, or the loop may collect the running task.
            queue.drainers.add(loop.create_task(self._drain(queue)))
        return await future

    def waiting(self) -> int:
        """How many jobs of the running event loop wait for a group (not yet taken)."""
        queue = self._queues.get(asyncio.get_running_loop())
        return len(queue.pending) if queue else 0

    def _take(self, queue: _Queue[J, R]) -> list[tuple[J, "asyncio.Future[R]"]]:
        # The first job always goes (a 1,000-response batch alone); the rest up to the caps.
        taken, size = 1, self._size(queue.pending[0][0])
        for job, _ in queue.pending[1 : self._max_jobs]:
            size += self._size(job)
            if size > self._max_size:
                break
            taken += 1
        group, queue.pending = queue.pending[:taken], queue.pending[taken:]
        return group

    async def _drain(self, queue: _Queue[J, R]) -> None:
        try:
            while queue.pending:
                group = self._take(queue)
                try:
                    outcomes = await run_in_threadpool(self._store, [job for job, _ in group])
                    if len(outcomes) != len(group):
                        raise RuntimeError(f"{len(outcomes)} outcomes for {len(group)} jobs")
                except Exception as exc:  # a fault in store itself: each of its jobs hears it
                    outcomes = [exc] * len(group)
                for (_, future), outcome in zip(group, outcomes, strict=True):
                    if future.done():  # its request was cancelled (the client went away)
                        continue
                    if isinstance(outcome, Exception):
                        future.set_exception(outcome)
                    else:
                        future.set_result(outcome)
        finally:
            # At once, not in a done callback: a job queued before the callback ran would
            # find every drainer still counted and wait for none.
            task = asyncio.current_task()
            if task is not None:
                queue.drainers.discard(task)
