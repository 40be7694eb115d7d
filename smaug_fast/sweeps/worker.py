"""What a worker runs: the points of a chunk, each one ``simulate`` call (in this process or another)."""

from __future__ import annotations

import os
import sys
import threading
import time

from ..sim.result import PHASES
from .networks import TransformerSource, generation_of, graph_of
from .spec import split_changes, system_of

#: Per-op variables of ``sweep(..., per_op=True)``: (units, description).
OP_VARIABLES: dict[str, tuple[str, str]] = {
    "latency_s": ("s", "critical-path time of the op"),
    **{f"{p}_s": ("s", f"the op's critical-path time in phase {p}") for p in PHASES},
    "energy_j": ("J", "the accelerator model's energy of the op's invocations"),
    "dram_read_bytes": ("B", "bytes the op reads from DRAM"),
    "dram_write_bytes": ("B", "bytes the op writes to DRAM"),
    "invocations": ("1", "accelerator invocations of the op"),
}


def _evaluate(network: str, base: dict, changes: dict, per_op: bool = False, source=None) -> dict:
    """One point: the scalars of simulate(network, system), and with ``per_op`` the per-op values
    under "ops". ``source`` is what the network's graph is built from (default: the zoo network
    ``network``; see :func:`~smaug_fast.sweeps.networks.graph_of`)."""
    from ..sim import simulate

    source = network if source is None else source
    workload = split_changes(changes)[1]
    system = system_of(base, changes)
    if "new_tokens" in workload:  # a whole generation (TransformerSource: checked by check_workload_axes)
        assert isinstance(source, TransformerSource)
        return generation_of(source, system, workload).result_scalars()
    r = simulate(graph_of(source, workload), system, network=network, timeline=False)
    row: dict = r.scalars()
    if per_op:
        row["ops"] = {
            "latency_s": [o.latency_s for o in r.ops],
            **{f"{p}_s": [o.breakdown_s[p] for o in r.ops] for p in PHASES},
            "energy_j": [o.energy_j for o in r.ops],
            "dram_read_bytes": [float(o.dram_read_bytes) for o in r.ops],
            "dram_write_bytes": [float(o.dram_write_bytes) for o in r.ops],
            "invocations": [float(o.invocations) for o in r.ops],
        }
    return row


def _prepare(points, i: int, base: dict, sources: dict) -> int:
    """When point ``i``'s memory pass is not memoized, memoize it and those of the points after it (up to
    :data:`~smaug_fast.sim.engine.PREPARE_MAX` passes): the ones that differ only in the L2's size and
    associativity run in one walk (:func:`~smaug_fast.sim.engine.prepare_memory_records`). ``points``: the
    chunk's points, then those a serial sweep runs next. Returns the index of the first point not covered.

    A point whose system or graph cannot be built ends the batch (its own ``simulate`` reports why), and
    so do points whose plan fails or whose network does not fit (``prepare_memory_records`` leaves them).
    Anything else that goes wrong is point ``i``'s failure."""
    from ..errors import ConfigError, MappingError, WorkloadError
    from ..sim.engine import PREPARE_MAX, is_memoized, memory_key, prepare_memory_records

    pairs, keys = [], set()
    j = i
    while j < len(points):
        net, changes = points[j]
        workload = split_changes(changes)[1]
        if "new_tokens" in workload:  # a whole generation: simulate_generation runs its own passes
            break
        try:
            graph = graph_of(net if sources.get(net) is None else sources[net], workload)
            system = system_of(base, changes)
            key = memory_key(graph, system)
        except (ConfigError, MappingError, WorkloadError):  # the point's simulate reports it
            break
        if j == i and is_memoized(key):
            return i + 1
        if key not in keys and len(keys) == PREPARE_MAX:
            break
        keys.add(key)
        pairs.append((graph, system))
        j += 1
    prepare_memory_records(pairs)
    return max(j, i + 1)


def valid_row(row: dict, ops: int | None = None) -> bool:
    """Whether ``row`` (read back from a journal) has every value a point's row has: a number for each
    of :data:`~smaug_fast.sim.VARIABLES` and, with ``ops`` (a per-op sweep), a list of ``ops`` numbers
    for each of :data:`OP_VARIABLES`."""
    from ..sim import VARIABLES

    def number(x) -> bool:
        return isinstance(x, (int, float)) and not isinstance(x, bool)

    if not all(number(row.get(name)) for name in VARIABLES):
        return False
    if ops is None:
        return True
    per_op = row.get("ops")
    return isinstance(per_op, dict) and all(
        isinstance(per_op.get(name), list) and len(per_op[name]) == ops and all(map(number, per_op[name]))
        for name in OP_VARIABLES
    )


def evaluate_chunk(args, remote: bool = True) -> tuple[list[dict], BaseException | None]:
    """The rows of a chunk of points. ``args`` = (base System as a dict, [(network, changes)...],
    per_op, {network: source}[, the points a serial sweep runs next]). The memory passes of the chunk's
    points (and of those next) are prepared in batches (:func:`_prepare`). A failing point ends the
    chunk: the rows of the points before it come back with its exception, so that the finished points
    are journaled and none is lost.

    ``remote``: the exception crosses a process boundary, so it gets the worker's traceback as a note
    (and is replaced by a RuntimeError saying what it was if it cannot be pickled)."""
    import pickle
    import traceback

    base, chunk, per_op, sources, *rest = args
    ahead = chunk + rest[0] if rest else chunk
    rows: list[dict] = []
    prepared = 0  # the points before this one had their memory passes prepared
    for i, (net, changes) in enumerate(chunk):
        try:
            if i >= prepared:
                prepared = _prepare(ahead, i, base, sources)
            rows.append(_evaluate(net, base, changes, per_op, sources.get(net)))
        except Exception as exc:  # noqa: BLE001 -- any failure goes back to the caller with the rows
            if remote:
                note = "traceback in the worker:\n" + traceback.format_exc()
                try:
                    pickle.dumps(exc)
                except Exception:  # noqa: BLE001 -- an exception that cannot cross processes
                    exc = RuntimeError(f"{type(exc).__name__}: {exc}")
                exc.add_note(note)
            return rows, exc
    return rows, None


def watch_parent(parent: int) -> None:
    """The initializer of a sweep's worker processes: end this process when the sweep's process
    ``parent`` dies (a SIGKILLed sweep left its pool's workers running, one for 27 CPU-minutes).

    On Linux the kernel sends SIGTERM when the parent ends (``PR_SET_PDEATHSIG``); everywhere a
    daemon thread checks every half second that the parent process is still this one's parent
    (with the ``forkserver`` start method the parent is the fork server, which ends with the sweep)."""
    _set_pdeathsig()
    ppid = os.getppid()
    if ppid != parent and not process_alive(parent):  # the sweep died before this process watched it
        os._exit(1)
    threading.Thread(target=_watch, args=(ppid,), daemon=True, name="smaug-fast-watch-parent").start()


def _set_pdeathsig() -> bool:
    """Ask Linux to send this process SIGTERM when its parent ends; False where that is not possible."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(1, int(signal.SIGTERM), 0, 0, 0) == 0  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return False


def _watch(ppid: int, interval: float = 0.5) -> None:
    """Exit this process as soon as its parent is no longer ``ppid`` (it died: the process was adopted)."""
    while os.getppid() == ppid:
        time.sleep(interval)
    os._exit(1)


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (True where that cannot be asked)."""
    if os.name != "posix":  # os.kill(pid, 0) would signal the process on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True
