"""Jobs of several workloads sharing CPU cores, accelerators and one DRAM bandwidth: an event-driven schedule.

A *job* (one task's work for one frame) is a sequence of *phases*; a phase is a set of *blocks* that
may run in parallel (at most ``phase_par`` at once), and the next phase starts when all of them have
finished. A block holds ``block_cores`` CPU cores and the accelerators of the bit mask
``block_accels`` from its start to its end, and runs its *segments* one after the other. A segment
takes ``seg_dur`` seconds when it has the DRAM to itself and moves ``seg_bytes`` bytes meanwhile, so it
asks for ``seg_bytes / seg_dur`` bytes per second (at most ``total_bw``). While several segments run
they share ``total_bw`` max-min fairly (:func:`.timeline._share`); a segment granted less than it asks
for progresses at the ratio of the two (a fluid model of DRAM contention).

A job becomes eligible at its release time once every job it depends on has finished. At every event
the eligible jobs are visited in ``order`` (priority first) and each starts the next blocks of its
current phase while the cores and accelerators they hold are free (non-preemptive: a started block runs
to its end). Time jumps to the next event: a segment's end or a release.

Returns per job the time it became eligible, its first start, its finish, the time it was eligible
with no block running (``wait``) and whether it ever ran next to another job or waited (``shared``:
if not, it ran exactly as alone); per block its start and end; and, when ``log`` is set, every interval
between events with each running (block, segment), its progress rate and the interval's number.
"""

from __future__ import annotations

import math

import numpy as np

from ._jit import jit
from .timeline import _share


@jit
def _grow(a, n):
    out = np.empty(max(2 * a.shape[0], n), a.dtype)
    out[: a.shape[0]] = a
    return out


@jit
def _enter_phase(j, p, job_phase_ptr, phase_left):
    """The first phase at or after ``p`` of job ``j`` with blocks left (``job_phase_ptr[j + 1]``: none)."""
    end = job_phase_ptr[j + 1]
    while p < end and phase_left[p] == 0:
        p += 1
    return p


@jit
def _next_release(t, job_state, job_release):
    tn = math.inf
    for j in range(job_release.shape[0]):
        if job_state[j] == 0 and job_release[j] > t and job_release[j] < tn:
            tn = job_release[j]
    return tn


@jit
def _eligible(t, job_state, job_release, job_dep_ptr, job_deps, job_ready, job_phase, job_phase_ptr, phase_left,
              job_finish):
    """Make the released jobs whose dependencies are done eligible; returns the jobs finished at once."""
    finished = 0
    for j in range(job_release.shape[0]):
        if job_state[j] != 0 or job_release[j] > t:
            continue
        ok = True
        for d in range(job_dep_ptr[j], job_dep_ptr[j + 1]):
            if job_state[job_deps[d]] != 2:
                ok = False
                break
        if ok:
            job_state[j] = 1
            job_ready[j] = t
            job_phase[j] = _enter_phase(j, job_phase_ptr[j], job_phase_ptr, phase_left)
            if job_phase[j] == job_phase_ptr[j + 1]:  # a job without blocks
                job_state[j] = 2
                job_finish[j] = t
                finished += 1
    return finished


# Indices of the scalar state ``st`` (int64): blocks running, free cores, busy accelerator mask, jobs done.
ST_RUN, ST_CORES, ST_ACC, ST_DONE = range(4)


@jit
def _dispatch(t, st, order, job_state, job_phase, job_running, job_start, phase_next, phase_block_ptr, phase_run,
              phase_par, block_cores, block_accels, block_seg_ptr, block_start, seg_dur, run_blk, run_seg, run_rem):
    """Start the next blocks of every eligible job, most urgent first, while their cores and accelerators are free."""
    for k in range(order.shape[0]):
        j = order[k]
        if job_state[j] != 1:
            continue
        p = job_phase[j]
        while phase_next[p] < phase_block_ptr[p + 1] and phase_run[p] < phase_par[p]:
            b = phase_next[p]
            if block_cores[b] > st[ST_CORES] or (st[ST_ACC] & block_accels[b]) != 0:
                break
            st[ST_CORES] -= block_cores[b]
            st[ST_ACC] |= block_accels[b]
            i = st[ST_RUN]
            run_blk[i] = b
            run_seg[i] = block_seg_ptr[b]
            run_rem[i] = seg_dur[block_seg_ptr[b]] if block_seg_ptr[b] < block_seg_ptr[b + 1] else 0.0
            st[ST_RUN] += 1
            phase_next[p] += 1
            phase_run[p] += 1
            job_running[j] += 1
            block_start[b] = t
            if math.isnan(job_start[j]):
                job_start[j] = t


@jit
def _rates(n_run, run_blk, run_seg, block_seg_ptr, seg_dur, seg_bytes, total_bw, dem, share, scratch, rate):
    """Each running segment's progress rate under the shared bandwidth (module docstring)."""
    for i in range(n_run):
        s = run_seg[i]
        d = seg_dur[s] if s < block_seg_ptr[run_blk[i] + 1] else 0.0
        dem[i] = min(seg_bytes[s] / d, total_bw) if d > 0.0 else 0.0
    _share(dem[:n_run], total_bw, share[:n_run], scratch[:n_run])
    for i in range(n_run):
        rate[i] = share[i] / dem[i] if dem[i] > 0.0 else 1.0


@jit
def _mark(n_run, run_blk, block_job, seen, job_state, job_running, job_wait, job_shared, dt):
    """Jobs that ran beside another one, and jobs that waited with nothing running, over ``dt``."""
    distinct = 0
    for i in range(n_run):
        j = block_job[run_blk[i]]
        if seen[j] == 0:
            seen[j] = 1
            distinct += 1
    for i in range(n_run):
        j = block_job[run_blk[i]]
        seen[j] = 0
        if distinct > 1:
            job_shared[j] = 1
    if dt > 0.0:
        for j in range(job_state.shape[0]):
            if job_state[j] == 1 and job_running[j] == 0:
                job_wait[j] += dt
                job_shared[j] = 1


@jit
def _complete(t, st, run_blk, run_seg, run_rem, block_seg_ptr, seg_dur, block_end, block_cores, block_accels,
              block_job, block_phase, phase_run, phase_left, job_running, job_phase, job_phase_ptr, job_state,
              job_finish):
    """Move finished segments to their next one; end finished blocks, phases and jobs."""
    i = 0
    while i < st[ST_RUN]:
        b = run_blk[i]
        s = run_seg[i]
        end = block_seg_ptr[b + 1]
        if s < end and run_rem[i] > 1e-12 * seg_dur[s]:
            i += 1
            continue
        if s + 1 < end:  # the block's next segment
            run_seg[i] = s + 1
            run_rem[i] = seg_dur[s + 1]
            continue
        block_end[b] = t
        st[ST_CORES] += block_cores[b]
        st[ST_ACC] &= ~block_accels[b]
        j = block_job[b]
        p = block_phase[b]
        phase_run[p] -= 1
        phase_left[p] -= 1
        job_running[j] -= 1
        st[ST_RUN] -= 1
        last = st[ST_RUN]
        run_blk[i] = run_blk[last]
        run_seg[i] = run_seg[last]
        run_rem[i] = run_rem[last]
        if phase_left[p] == 0:
            job_phase[j] = _enter_phase(j, p + 1, job_phase_ptr, phase_left)
            if job_phase[j] == job_phase_ptr[j + 1]:
                job_state[j] = 2
                job_finish[j] = t
                st[ST_DONE] += 1


@jit
def _log(lg, n_log, n_evt, t, dt, n_run, run_blk, run_seg, rate):
    """Append the running (block, segment) pairs of one interval to the log ``lg`` (grown as needed)."""
    t0, t1, blk, seg, rt, evt = lg
    if n_log + n_run > t0.shape[0]:
        t0, t1, rt = _grow(t0, n_log + n_run), _grow(t1, n_log + n_run), _grow(rt, n_log + n_run)
        blk, seg, evt = _grow(blk, n_log + n_run), _grow(seg, n_log + n_run), _grow(evt, n_log + n_run)
    for i in range(n_run):
        t0[n_log + i] = t
        t1[n_log + i] = t + dt
        blk[n_log + i] = run_blk[i]
        seg[n_log + i] = run_seg[i]
        rt[n_log + i] = rate[i]
        evt[n_log + i] = n_evt
    return (t0, t1, blk, seg, rt, evt), n_log + n_run


@jit
def schedule(job_release, order, job_dep_ptr, job_deps, job_phase_ptr, phase_block_ptr, phase_par, block_job,
             block_phase, block_cores, block_accels, block_seg_ptr, seg_dur, seg_bytes, n_cores, total_bw, log):
    """The schedule of the module docstring. ``order``: job indices, most urgent first."""
    nj, nb = job_release.shape[0], block_cores.shape[0]
    job_state, job_phase, job_running = np.zeros(nj, np.int64), np.zeros(nj, np.int64), np.zeros(nj, np.int64)
    job_ready, job_start, job_finish = np.full(nj, np.nan), np.full(nj, np.nan), np.full(nj, np.nan)
    job_wait, job_shared, seen = np.zeros(nj), np.zeros(nj, np.uint8), np.zeros(nj, np.uint8)
    phase_next, phase_left = phase_block_ptr[:-1].copy(), phase_block_ptr[1:] - phase_block_ptr[:-1]
    phase_run = np.zeros(phase_par.shape[0], np.int64)
    block_start, block_end = np.full(nb, np.nan), np.full(nb, np.nan)
    cap = max(n_cores, 1)
    run_blk, run_seg = np.empty(cap, np.int64), np.empty(cap, np.int64)
    run_rem, dem, share, rate = np.empty(cap), np.empty(cap), np.empty(cap), np.empty(cap)
    scratch = np.zeros(cap, np.bool_)
    n0 = 1024 if log else 0
    lg = (np.empty(n0), np.empty(n0), np.empty(n0, np.int64), np.empty(n0, np.int64), np.empty(n0),
          np.empty(n0, np.int64))
    n_log, n_evt = 0, 0
    st = np.zeros(4, np.int64)
    st[ST_CORES] = n_cores
    t = 0.0
    while st[ST_DONE] < nj:
        st[ST_DONE] += _eligible(t, job_state, job_release, job_dep_ptr, job_deps, job_ready, job_phase,
                                 job_phase_ptr, phase_left, job_finish)
        _dispatch(t, st, order, job_state, job_phase, job_running, job_start, phase_next, phase_block_ptr,
                  phase_run, phase_par, block_cores, block_accels, block_seg_ptr, block_start, seg_dur, run_blk,
                  run_seg, run_rem)
        n_run = st[ST_RUN]
        if st[ST_DONE] >= nj:
            break
        tn = _next_release(t, job_state, job_release)
        if n_run == 0:
            if tn == math.inf:
                break  # nothing can run: a dependency that never finishes (checked before the call)
            t = tn
            continue
        _rates(n_run, run_blk, run_seg, block_seg_ptr, seg_dur, seg_bytes, total_bw, dem, share, scratch, rate)
        dt, arg = math.inf, -1
        for i in range(n_run):
            x = run_rem[i] / rate[i] if rate[i] > 0.0 else math.inf
            if x < dt:
                dt, arg = x, i
        if tn - t < dt:
            dt, arg = tn - t, -1
        _mark(n_run, run_blk, block_job, seen, job_state, job_running, job_wait, job_shared, dt)
        if log and dt > 0.0:
            lg, n_log = _log(lg, n_log, n_evt, t, dt, n_run, run_blk, run_seg, rate)
            n_evt += 1
        t += dt
        for i in range(n_run):
            run_rem[i] -= rate[i] * dt
        if arg >= 0:
            run_rem[arg] = 0.0
        _complete(t, st, run_blk, run_seg, run_rem, block_seg_ptr, seg_dur, block_end, block_cores, block_accels,
                  block_job, block_phase, phase_run, phase_left, job_running, job_phase, job_phase_ptr, job_state,
                  job_finish)
    t0, t1, blk, seg, rt, evt = lg
    return (job_ready, job_start, job_finish, job_wait, job_shared, block_start, block_end,
            t0[:n_log], t1[:n_log], blk[:n_log], seg[:n_log], rt[:n_log], evt[:n_log])


__all__ = ["schedule"]
