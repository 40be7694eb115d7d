"""Running a sweep's points: chunks of points submitted to one ``concurrent.futures.Executor``.

Every executor is one: ``"serial"`` (:class:`SerialExecutor`, in this process), ``"processes"``
(a ``ProcessPoolExecutor``) and a ``dask.distributed.Client`` (its ``get_executor()``). The chunks,
their submission, the journal, the progress bar and what a failure says are written once, here.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait

import numpy as np

from ..errors import ConfigError, SweepError, describe
from ..hardware import System
from .spec import describe_point, split_changes, system_of
from .worker import evaluate_chunk, watch_parent

EXECUTORS = ("serial", "processes")


def check_executor(executor) -> None:
    """ConfigError unless ``executor`` is "serial", "processes" or a dask.distributed Client."""
    if not _is_client(executor) and executor not in EXECUTORS:
        raise ConfigError(f"executor = {describe(executor)}: must be 'serial', 'processes' or a dask Client")


def _is_client(executor) -> bool:
    return callable(getattr(executor, "get_executor", None)) and hasattr(executor, "gather")


class SerialExecutor(Executor):
    """The executor of ``executor="serial"``: each call runs in this process when it is submitted."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        future.set_running_or_notify_cancel()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001 -- kept in the future, as every executor does
            future.set_exception(exc)
        return future


@contextlib.contextmanager
def open_executor(executor, workers: int) -> Iterator[tuple[Executor, str]]:
    """The ``concurrent.futures.Executor`` of a sweep's ``executor`` argument and its kind ("serial",
    "processes" or "dask"), shut down on exit."""
    if executor == "serial":
        yield SerialExecutor(), "serial"
    elif executor == "processes":
        from concurrent.futures import ProcessPoolExecutor

        # the workers end when this process dies, even by SIGKILL (watch_parent)
        with ProcessPoolExecutor(max_workers=workers, initializer=watch_parent, initargs=(os.getpid(),)) as pool:
            yield pool, "processes"
    else:  # a dask.distributed Client: a concurrent.futures executor of its tasks
        pool = executor.get_executor(pure=False)
        try:
            yield pool, "dask"
        finally:
            pool.shutdown(wait=False)  # cancels what a failure left unfinished


def _memory_group(system: System):
    """What decides whether two points of one network share a memory pass."""
    from ..sim.memory_pass import MemorySystem

    return (system.accelerator, MemorySystem.of(system))


def _walk_group(system: System):
    """What decides whether two points of one network can have their memory passes in one walk (they
    differ at most in the L2's size and associativity: ``memory_pass.multi_key``)."""
    from ..sim.memory_pass import MemorySystem, multi_key

    memsys = MemorySystem.of(system)
    return (system.accelerator, multi_key(memsys) or memsys)


def chunks(todo: list[int], pts, base: dict, macs: dict[str, int], workers: int) -> list[list[int]]:
    """The points to evaluate, in chunks for the workers.

    Points that share a memory pass (the same network and :func:`_memory_group`) go together, and the
    groups whose passes can run in one walk (:func:`_walk_group`, ordered by L2 size and associativity,
    so that those of one warm tail are adjacent) go together too, in as few chunks as keep about four
    chunks per worker (a walk's passes up to ``engine.PREPARE_MAX`` in one chunk, unless that makes it
    more than four times as large), so that each memory pass is computed by one worker and reused by the
    points that follow it there (it takes about a second for ResNet50; the rest of a point
    milliseconds), and each walk serves as many passes as the chunk holds. The chunks of the networks with the most MACs
    (``macs``: network -> MACs) come first.
    """
    walks: dict[tuple, dict[tuple, list[int]]] = {}
    for i in todo:
        network, changes = pts[i]
        workload = tuple(sorted(split_changes(changes)[1].items()))  # a transformer's lengths, a batch
        system = system_of(base, changes)
        walk = walks.setdefault((network, workload, _walk_group(system)), {})
        walk.setdefault(_memory_group(system), []).append(i)
    from ..sim.engine import PREPARE_MAX

    size = max(1, math.ceil(len(todo) / (4 * workers)))
    out = []
    for groups in walks.values():
        piece: list[int] = []
        keys = 0
        for _, members in sorted(groups.items(), key=lambda g: (g[0][1].l2.size_bytes, g[0][1].l2.ways)):
            if len(members) > size:  # one memory pass for many points: in pieces of their own
                if piece:
                    out.append(piece)
                    piece, keys = [], 0
                out.extend(c.tolist() for c in np.array_split(np.asarray(members), math.ceil(len(members) / size)))
                continue
            piece.extend(members)
            keys += 1
            # a piece holds the passes of one walk (up to PREPARE_MAX of them) unless that makes it much
            # larger than a chunk: a walk split over two chunks records its L1 twice
            if (len(piece) >= size and len(groups) == 1) or keys == PREPARE_MAX or len(piece) >= 4 * size:
                out.append(piece)
                piece, keys = [], 0
        if piece:
            out.append(piece)
    # the biggest networks' chunks first (their memory passes take longest), so that no long chunk
    # starts last and leaves the other workers idle
    out.sort(key=lambda c: -macs[pts[c[0]][0]])
    return out


def _bar(total: int, progress: bool):
    """A tqdm progress bar on stderr, or None when ``progress`` is off or stderr is not a terminal."""
    import sys

    from tqdm import tqdm

    if not progress or not sys.stderr.isatty():
        return None
    return tqdm(total=total, unit="pt", desc="sweep")


class _Collector:
    """Where finished rows go (the results, the journal, the progress bar), and the SweepError of a
    failure, which says where the finished points are kept."""

    def __init__(self, pts, results: dict, journal, bar) -> None:
        self.pts, self.results, self.journal, self.bar = pts, results, journal, bar

    def finished(self, indices, rows) -> None:
        for i, row in zip(indices, rows):
            self.results[i] = row
            if self.journal:
                self.journal.record(i, row)
        if self.bar and rows:
            self.bar.update(len(rows))

    def failed(self, what: str, exc: BaseException) -> SweepError:
        kept = (f"the points finished so far are kept in {self.journal.path} (the same call resumes from them)"
                if self.journal else "the points finished so far are lost (pass store= to keep them)")
        return SweepError(f"{what} failed: {type(exc).__name__}: {exc}; {kept}")

    def collect(self, chunk: list[int], rows: list[dict], exc: BaseException | None) -> None:
        """A chunk's rows; the SweepError of its failing point, if one failed."""
        self.finished(chunk, rows)
        if exc is not None:
            i = chunk[len(rows)]
            raise self.failed(f"sweep point {i} ({describe_point(self.pts, i)})", exc) from exc

    def crashed(self, kind: str, chunk: list[int], unfinished: int, exc: BaseException) -> SweepError:
        """The SweepError of a task that could not run (a worker process died, say)."""
        if kind == "dask":
            what = f"a dask task of {len(chunk)} points (first: {describe_point(self.pts, chunk[0])})"
        else:  # a broken pool fails every unfinished chunk: which one's worker died is unknown
            pool = "process pool" if kind == "processes" else "serial executor"
            what = f"the {pool} ({unfinished} points unfinished)"
        return self.failed(what, exc)


def _submit_all(pool: Executor, kind: str, chunk_args, sink: _Collector) -> None:
    """Run every chunk on ``pool`` and collect its rows as it finishes; the first failure raises.

    ``chunk_args``: (point indices, evaluate_chunk's args) per chunk. The serial executor runs a
    chunk when it is submitted, so it gets one at a time (each collected before the next runs);
    the others get them all at once."""
    waiting = iter(chunk_args)
    window = 1 if kind == "serial" else len(chunk_args)
    futures: dict[Future, list[int]] = {}
    pending: set[Future] = set()  # not yet collected
    try:
        while True:
            for c, args in itertools.islice(waiting, window - len(pending)):
                fut = pool.submit(evaluate_chunk, args, kind != "serial")
                futures[fut] = c
                pending.add(fut)
            if not pending:
                return
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                try:
                    rows, exc = fut.result()
                except Exception as crash:  # noqa: BLE001 -- e.g. a worker process died
                    unfinished = sum(len(futures[f]) for f in pending)
                    raise sink.crashed(kind, futures[fut], unfinished, crash) from crash
                finally:
                    pending.discard(fut)
                sink.collect(futures[fut], rows, exc)
    except BaseException:
        # stop: cancel the chunks not started; collect the rows of those finished or running (a
        # process pool waits for its running ones anyway; dask's are cancelled)
        for fut in pending:
            fut.cancel()
        for fut in pending:
            if not fut.cancelled():
                try:
                    rows, _ = fut.result()
                except BaseException:  # noqa: BLE001 -- already failing
                    continue
                sink.finished(futures[fut][: len(rows)], rows)
        raise


def run(pts, base: dict, networks, executor, workers: int | None, progress: bool, journal=None,
        per_op: bool = False) -> list[dict]:
    """Evaluate every point not yet in the journal; the rows in point order.

    ``networks``: the sweep's :class:`~smaug_fast.sweeps.networks.Network` values. The first failing
    point stops the sweep with a :class:`SweepError` naming it; every point that finished before
    (in any worker) is in the journal, so that calling again resumes.
    """
    results: dict[int, dict] = dict(journal.done) if journal else {}
    todo = [i for i in range(len(pts)) if i not in results]
    by_name = {n.name: n for n in networks}
    n_workers = 1 if executor == "serial" else workers or os.cpu_count() or 1
    macs = {name: by_name[name].graph.macs for name in {pts[i][0] for i in todo}}
    parts = chunks(todo, pts, base, macs, n_workers)
    chunk_args = []
    if executor == "serial":  # one point at a time: each journaled (and shown) as it finishes
        order = list(itertools.chain.from_iterable(parts))
        sources = {name: by_name[name].source for name in {pts[i][0] for i in order}}
        for k, i in enumerate(order):  # with the points after it, whose memory passes may be prepared with its
            chunk_args.append(([i], (base, [pts[i]], per_op, sources, [pts[j] for j in order[k + 1:k + 257]])))
    else:
        for c in parts:
            sources = {name: by_name[name].source for name in {pts[i][0] for i in c}}
            chunk_args.append((c, (base, [pts[i] for i in c], per_op, sources)))
    bar = _bar(len(todo), progress)
    try:
        with open_executor(executor, n_workers) as (pool, kind):
            _submit_all(pool, kind, chunk_args, _Collector(pts, results, journal, bar))
    finally:
        if bar:
            bar.close()
    return [results[i] for i in range(len(pts))]
