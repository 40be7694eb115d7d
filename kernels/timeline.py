"""Timelines of resources (accelerators or CPU threads) that share one DRAM bandwidth.

Each resource runs its own list of segments back to back. A segment has a fixed part (compute,
setup, flush) [s] and a transfer part: ``bytes`` that need memory bandwidth, at most ``cap`` [B/s]
for this requester (its own limit: outstanding requests x request size / latency), and the
transfer lasts at least ``min_s`` (work that overlaps it, such as unpacking under pipelined DMA).
While several resources transfer at once they share ``total_bw`` [B/s] max-min fairly (water-filling:
each gets min(cap, fair share), the unused share goes to the others): a fluid model of DRAM
contention among requesters.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit


@jit
def _share(active_caps, total_bw, out_rates, done):
    """Max-min fair rates for the active transfers (caps > 0) under a total bandwidth (``done``:
    scratch of the same length)."""
    n = active_caps.shape[0]
    demand = 0.0
    left = 0
    for i in range(n):
        out_rates[i] = 0.0
        done[i] = active_caps[i] <= 0.0
        if active_caps[i] > 0.0:
            demand += active_caps[i]
            left += 1
    if demand <= total_bw:
        # no contention: water-filling would give every transfer its own cap
        for i in range(n):
            if active_caps[i] > 0.0:
                out_rates[i] = active_caps[i]
        return
    remaining = total_bw
    while left > 0:
        fair = remaining / left
        progressed = False
        for i in range(n):
            if not done[i] and active_caps[i] <= fair:
                out_rates[i] = active_caps[i]
                remaining -= active_caps[i]
                done[i] = True
                left -= 1
                progressed = True
        if not progressed:
            for i in range(n):
                if not done[i]:
                    out_rates[i] = fair
                    done[i] = True
            left = 0


@jit
def run_timelines(starts, fixed_s, nbytes, cap, min_s, total_bw):
    """Simulate resources sharing DRAM bandwidth.

    Args:
        starts: int64[R + 1], resource r owns segments ``starts[r]:starts[r+1]``, run in order.
        fixed_s: float64[S], fixed duration before the transfer [s].
        nbytes: float64[S], bytes to move through DRAM [B] (0: no transfer).
        cap: float64[S], the segment's own bandwidth limit [B/s] (> 0 where nbytes > 0).
        min_s: float64[S], minimum duration of the transfer part [s].
        total_bw: shared DRAM bandwidth [B/s].

    Returns:
        (begin_s, end_s): float64[S] start and end time of every segment [s].
    """
    r_count = starts.shape[0] - 1
    s_count = fixed_s.shape[0]
    begin = np.zeros(s_count)
    end = np.zeros(s_count)
    cur = np.empty(r_count, dtype=np.int64)
    stage = np.zeros(r_count, dtype=np.int64)  # 0 fixed, 1 transfer, 2 min-duration fill
    left = np.zeros(r_count)  # seconds left (stages 0, 2) or bytes left (stage 1)
    tstart = np.zeros(r_count)  # start of the transfer stage
    caps = np.zeros(r_count)
    rates = np.zeros(r_count)
    done = np.zeros(r_count, dtype=np.bool_)
    now = 0.0
    for r in range(r_count):
        cur[r] = starts[r]
        if cur[r] < starts[r + 1]:
            begin[cur[r]] = 0.0
            left[r] = fixed_s[cur[r]]
    while True:
        any_active = False
        for r in range(r_count):
            caps[r] = 0.0
            if cur[r] < starts[r + 1]:
                any_active = True
                if stage[r] == 1:
                    caps[r] = cap[cur[r]]
        if not any_active:
            break
        _share(caps, total_bw, rates, done)
        # time to the next stage change of any resource
        dt = np.inf
        for r in range(r_count):
            if cur[r] >= starts[r + 1]:
                continue
            if stage[r] == 1:
                t = left[r] / rates[r] if rates[r] > 0.0 else np.inf
            else:
                t = left[r]
            if t < dt:
                dt = t
        if dt == np.inf:
            dt = 0.0
        now += dt
        for r in range(r_count):
            if cur[r] >= starts[r + 1]:
                continue
            if stage[r] == 1:
                left[r] -= rates[r] * dt
                if left[r] <= 1e-9 * max(1.0, nbytes[cur[r]]):
                    left[r] = 0.0
            else:
                left[r] -= dt
                if left[r] <= 1e-15:
                    left[r] = 0.0
            # advance through every stage that is now complete (zero-length ones too)
            while cur[r] < starts[r + 1] and left[r] == 0.0:
                s = cur[r]
                if stage[r] == 0:
                    stage[r] = 1
                    tstart[r] = now
                    left[r] = nbytes[s]
                elif stage[r] == 1:
                    stage[r] = 2
                    elapsed = now - tstart[r]
                    left[r] = min_s[s] - elapsed if min_s[s] > elapsed else 0.0
                else:
                    end[s] = now
                    cur[r] += 1
                    stage[r] = 0
                    if cur[r] < starts[r + 1]:
                        begin[cur[r]] = now
                        left[r] = fixed_s[cur[r]]
    return begin, end
