"""Jobs that share the SoC: the arrays of :func:`smaug_fast.kernels.scenario.schedule`, built from templates.

A :class:`Work` is what one task does per frame, as phases of parallel blocks of segments (the
kernel's module docstring says what each means); :class:`JobSet` stamps copies of it as jobs (a release
time and the jobs each waits for) and :func:`run_jobs` calls the kernel once. Both the scenario engine
(:mod:`smaug_fast.scenario`) and a pipeline simulated alone (:mod:`smaug_fast.pipelines`) use them, so a
workload alone and in a scenario are timed by the same code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..kernels.scenario import schedule


@dataclass(frozen=True, eq=False)
class Work:
    """One job's work: ``phase_par[p]`` blocks of phase ``p`` may run at once; ``phase_blocks[p]``
    blocks in it; per block its cores, accelerator mask and number of segments; per segment its
    duration alone [s] and DRAM bytes [B]."""

    phase_par: np.ndarray
    phase_blocks: np.ndarray
    block_cores: np.ndarray
    block_accels: np.ndarray
    block_segs: np.ndarray
    seg_dur: np.ndarray
    seg_bytes: np.ndarray

    @staticmethod
    def of(phases: list[tuple[int, list[tuple[int, int, np.ndarray, np.ndarray]]]]) -> Work:
        """From ``[(par, [(cores, accel_mask, durations, bytes), ...]), ...]``."""
        blocks = [b for _, bs in phases for b in bs]
        return Work(
            phase_par=np.array([p for p, _ in phases], np.int64),
            phase_blocks=np.array([len(bs) for _, bs in phases], np.int64),
            block_cores=np.array([b[0] for b in blocks], np.int64),
            block_accels=np.array([b[1] for b in blocks], np.int64),
            block_segs=np.array([len(b[2]) for b in blocks], np.int64),
            seg_dur=np.concatenate([np.asarray(b[2], float) for b in blocks]) if blocks else np.zeros(0),
            seg_bytes=np.concatenate([np.asarray(b[3], float) for b in blocks]) if blocks else np.zeros(0),
        )


@dataclass(frozen=True, eq=False)
class Schedule:
    """What :func:`run_jobs` returns: per job (ready, start, finish [s], wait [s], shared), per block
    (job, start, end [s]), the first segment of each block, and the event log (each interval
    ``[t0, t1)`` with a running block, its segment, its progress rate and the interval's number)."""

    job_ready: np.ndarray
    job_start: np.ndarray
    job_finish: np.ndarray
    job_wait: np.ndarray
    job_shared: np.ndarray
    block_job: np.ndarray
    block_start: np.ndarray
    block_end: np.ndarray
    block_seg0: np.ndarray
    seg_dur: np.ndarray
    seg_bytes: np.ndarray
    log_t0: np.ndarray
    log_t1: np.ndarray
    log_block: np.ndarray
    log_seg: np.ndarray
    log_rate: np.ndarray
    log_event: np.ndarray


class JobSet:
    """Jobs stamped from :class:`Work` templates (see the module docstring)."""

    def __init__(self) -> None:
        self.release: list[float] = []
        self.priority: list[float] = []
        self.deps: list[list[int]] = []
        self.work: list[Work] = []

    def add(self, work: Work, release: float, deps=(), priority: float = 0.0) -> int:
        """Add a job; returns its index."""
        self.release.append(float(release))
        self.priority.append(float(priority))
        self.deps.append([int(d) for d in deps])
        self.work.append(work)
        return len(self.release) - 1

    def __len__(self) -> int:
        return len(self.release)

    def arrays(self) -> dict[str, np.ndarray]:
        """The kernel's arguments (but the core count and bandwidth)."""
        works = self.work
        nphase = np.array([len(w.phase_par) for w in works], np.int64)
        nblock = np.array([len(w.block_cores) for w in works], np.int64)
        job_of_block = np.repeat(np.arange(len(works)), nblock)
        phase_blocks = np.concatenate([w.phase_blocks for w in works])
        phase_of_block = np.repeat(np.arange(len(phase_blocks)), phase_blocks)
        block_segs = np.concatenate([w.block_segs for w in works])
        order = sorted(range(len(works)), key=lambda j: (-self.priority[j], self.release[j], j))
        return {
            "job_release": np.asarray(self.release, float),
            "order": np.asarray(order, np.int64),
            "job_dep_ptr": np.concatenate([[0], np.cumsum([len(d) for d in self.deps])]).astype(np.int64),
            "job_deps": np.asarray([d for ds in self.deps for d in ds], np.int64),
            "job_phase_ptr": np.concatenate([[0], np.cumsum(nphase)]).astype(np.int64),
            "phase_block_ptr": np.concatenate([[0], np.cumsum(phase_blocks)]).astype(np.int64),
            "phase_par": np.concatenate([w.phase_par for w in works]).astype(np.int64),
            "block_job": job_of_block.astype(np.int64),
            "block_phase": phase_of_block.astype(np.int64),
            "block_cores": np.concatenate([w.block_cores for w in works]).astype(np.int64),
            "block_accels": np.concatenate([w.block_accels for w in works]).astype(np.int64),
            "block_seg_ptr": np.concatenate([[0], np.cumsum(block_segs)]).astype(np.int64),
            "seg_dur": np.concatenate([w.seg_dur for w in works]).astype(float),
            "seg_bytes": np.concatenate([w.seg_bytes for w in works]).astype(float),
        }


def run_jobs(jobs: JobSet, n_cores: int, total_bw: float, log: bool = False) -> Schedule:
    """Schedule ``jobs`` on ``n_cores`` cores and a DRAM of ``total_bw`` [B/s] (``math.inf``: no limit)."""
    a = jobs.arrays()
    bw = float(total_bw) if math.isfinite(total_bw) else 1e300
    out = schedule(a["job_release"], a["order"], a["job_dep_ptr"], a["job_deps"], a["job_phase_ptr"],
                   a["phase_block_ptr"], a["phase_par"], a["block_job"], a["block_phase"], a["block_cores"],
                   a["block_accels"], a["block_seg_ptr"], a["seg_dur"], a["seg_bytes"], int(n_cores), bw, bool(log))
    ready, start, finish, wait, shared, bstart, bend, t0, t1, blk, seg, rate, evt = out
    return Schedule(ready, start, finish, wait, shared.astype(bool), a["block_job"], bstart, bend,
                    a["block_seg_ptr"][:-1], a["seg_dur"], a["seg_bytes"], t0, t1, blk, seg, rate, evt)


__all__ = ["JobSet", "Schedule", "Work", "run_jobs"]
