"""Run a per-device worker over a long list, in order, with bounded memory: in-process for one job, else in
``jobs`` worker processes that each get the run's shared state once (through the initializer's pipe)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Final, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: Devices handed to the workers ahead of the one being written out (bounds memory, keeps them busy).
WINDOW_PER_JOB: Final = 32


def run_ordered(worker: Callable[[T], R], tasks: Iterable[T], *, jobs: int, initializer: Callable[..., None],
                init_args: tuple[object, ...], finalizer: Callable[[], None]) -> Iterator[R]:
    """``worker(task)`` for every task, results in task order, at most ``jobs * WINDOW_PER_JOB`` in flight."""
    if jobs <= 1:
        initializer(*init_args)
        try:
            yield from map(worker, tasks)
        finally:
            finalizer()
        return
    with ProcessPoolExecutor(max_workers=jobs, initializer=initializer, initargs=init_args) as pool:
        pending: deque[Future[R]] = deque()
        try:
            for task in tasks:
                pending.append(pool.submit(worker, task))
                if len(pending) >= jobs * WINDOW_PER_JOB:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
