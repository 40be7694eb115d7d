"""Named hardware configurations: small, cited deltas of :class:`~smaug_fast.hardware.System`.

>>> from smaug_fast import presets
>>> presets.names()
['smaug-table2', 'smaug-repo', 'smaug-sweep', 'soc-2026-lpddr5', 'soc-2026-hbm3']
>>> s = presets.load("smaug-repo", num_accelerators=2, **{"l2.size_bytes": "4MiB"})
>>> s.cpu.cores, s.l2.size_bytes, s.num_accelerators
(1, 4194304, 2)

``load(name, **changes)`` applies the preset's changes to the defaults, then the caller's (dotted
paths, or ``__`` in place of the dots: ``l2__size_bytes="4MiB"``). ``info(name)`` gives its
description and sources.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import dataclasses

from .accelerators.smv import SMV
from .accelerators.systolic import Systolic
from .accelerators.systolic_array import SystolicArray
from .errors import ConfigError, describe
from .hardware import System
from .memory import PRESETS as DRAM_PRESETS

#: gem5's LPDDR4_3200_2x16 as SMAUG's run.sh uses it (``--mem-type=LPDDR4_3200_2x16``, gem5's default
#: ``--mem-channels=1``): gem5-aladdin ``src/mem/DRAMCtrl.py`` describes "a single LPDDR4 x32
#: interface (one command/address bus)" of two x16 devices per rank (``devices_per_rank = 2``,
#: ``device_bus_width = 16``, ``burst_length = 16``, so 64-byte bursts) and two ranks: 12.8 GB/s
#: peak. Requests of the 32-byte cache lines still take whole 64-byte bursts. The controller keeps
#: DRAMCtrl's defaults: ``addr_mapping = 'RoRaBaCoCh'`` (a whole row's columns before the next bank),
#: ``read_buffer_size = 32``, ``write_buffer_size = 64`` and its write-drain policy,
#: ``write_high_thresh_perc = 85``, ``write_low_thresh_perc = 50`` (32 of 64 entries) and
#: ``min_writes_per_switch = 16``: while reads wait, the bus turns back to them after 16 writes
#: (``DRAMCtrl::processNextReqEvent``, src/mem/dram_ctrl.cc).
LPDDR4_3200_GEM5_2X16 = dataclasses.replace(
    DRAM_PRESETS["LPDDR4-3200-2ch-x16"], name="LPDDR4-3200-gem5-2x16", channels=1, ranks=2, bus_width_bits=32,
    address_mapping="rorabgbacoch", read_queue_size=32, write_queue_size=64, write_high_thresh_pct=85.0,
    write_drain_min=32, min_writes_per_switch=16,
)


#: An NVDLA-sized SMV: NVDLA's full-precision configuration has 1024 fp16 MACs (nvdla/hw branch nvdlav1
#: README: "fixed at 2048 8-bit MACs (or 1024 16-bit fixed- or floating-point MACs)"), here 32 PEs of
#: 32 MACs; 512 KiB scratchpads, the size of NVDLA's convolution buffer in its large configuration
#: (nvdla.org/hw/v1/hwarch.html, "Large NVDLA implementation example": 512 KiB CBUF); the scratchpads
#: serve 128 words per cycle (an assumption: 16x SMV's 8, so an inner product streams 1024 weights in
#: 8 cycles, 128 MACs per cycle, where SMV's 8 banks hold it to 8). Clock, latencies and energies per
#: operation are SMV's.
SMV_LARGE = SMV(num_pes=32, maccs_per_pe=32, spad_bytes=512 * 1024, spad_banks=128)

#: A 128 x 128 weight-stationary systolic array, the matrix unit of TPU v2/v3 (Jouppi et al., "A
#: domain-specific supercomputer for training deep neural networks", CACM 63(7) 2020: 128 x 128 MXUs,
#: weight stationary), with 1 MiB IFMAP, FILTER and OFMAP scratchpads (an assumption; TPU v1 had a
#: 24 MiB unified buffer for a 256 x 256 array, Jouppi et al., ISCA 2017) of fp16 words at 1 GHz;
#: the vector ops run on :data:`SMV_LARGE` with scratchpads of the same size.
SYSTOLIC_128 = SystolicArray(
    array=Systolic(rows=128, cols=128, dataflow="ws", ifmap_sram_size_bytes=1 << 20, filter_sram_size_bytes=1 << 20,
                   ofmap_sram_size_bytes=1 << 20, word_size_bytes=2, freq_hz=1e9),
    vector=dataclasses.replace(SMV_LARGE, spad_bytes=1 << 20),
)

#: The changes of a 2026 SoC from the Table 2 baseline that the LLM presets share: DMA that needs no
#: software cache flush, as on an I/O-coherent interconnect (Arm CoreLink CCI-400/CCN/CMN: ACE-Lite
#: masters such as DMA engines snoop the CPU caches in hardware; gem5-Aladdin's flush models the
#: non-coherent SoC of 2020; the snoops' own cost is not modeled).
_COHERENT_DMA = {"dma.ignore_cache_flush": True}


@dataclass(frozen=True)
class Preset:
    """A named configuration: a description, the changes from ``System()`` and where they come from."""

    name: str
    description: str
    changes: dict = field(default_factory=dict, hash=False)
    sources: tuple[str, ...] = ()


_PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "smaug-table2",
            "The SoC of the SMAUG paper's Table 2: 8 O3 x86 cores at 2.5 GHz, 64 KB 4-way L1 with 32 B "
            "lines, 2 MB 16-way L2 (20 cycles), LPDDR4-3200 with 4 x16 channels (25.6 GB/s, 4 GiB), one SMV "
            "at 1 GHz with 32 KB scratchpads, DMA, one thread.",
            {},
            (
                "Xi et al., SMAUG, ACM TACO 17(4) 2020, Table 2 (../shared/reference/smaug_published.json "
                "table2_soc): CPU, L1, L2, DRAM, accelerators, baseline (1 accelerator, DMA, single thread)",
                "gem5 run.sh in SMAUG's experiments (sims/smv/tests/minerva): --cacheline_size=32 for the L2",
            ),
        ),
        Preset(
            "smaug-repo",
            "The gem5 configuration SMAUG's repository runs (experiments sims/smv/tests/*/run.sh, gem5.cfg): "
            "1 DerivO3 CPU at 2.5 GHz, Ruby MESI two-level with a 2 MB 16-way L2 and 32 B lines, gem5's "
            "LPDDR4_3200_2x16 (one x32 interface of two x16 devices, 2 ranks, 12.8 GB/s), SMV at 1 GHz.",
            {
                "cpu.cores": 1,
                "dram": LPDDR4_3200_GEM5_2X16,
                # gem5 configs/common/Options.py defaults for the L1D (--l1d_size 64kB, --l1d_assoc 2),
                # which run.sh does not override [recalled, not verified]; latency as in Table 2.
                "l1d.ways": 2,
            },
            (
                "run.sh: --num-cpus=1 --cpu-type=DerivO3CPU --cpu-clock=2.5GHz --sys-clock=1.25GHz --ruby "
                "--l2_size=2097152 --l2_assoc=16 --cacheline_size=32 --mem-type=LPDDR4_3200_2x16 --mem-size=4GB",
                "gem5.cfg: cycle_time 1 (1 GHz accelerators), max_dma_requests 16, dma_setup_overhead 100, "
                "dma_chunk_size 64, pipelined_dma 1, invalidate_on_dma_store True, spad_ports 1",
            ),
        ),
        Preset(
            "smaug-sweep",
            "The defaults of SMAUG's sweeper (experiments/sweeps/params.py): 32 KB 4-way L1 (1 cycle), "
            "4 MB 16-way L2 (5 cycles), CPU at 2 GHz (0.5 ns), accelerators at 1 GHz, 1 DMA channel; the "
            "sweeper's default DRAM (LPDDR3_1600_1x32) has no preset here, so the Table 2 DRAM is kept.",
            {
                "cpu.cores": 1,
                "cpu.freq_hz": 2e9,
                "l1d.size_bytes": 32 * 1024,
                "l1d.latency_cycles": 1,
                "l2.size_bytes": 4 * 1024 * 1024,
                "l2.latency_cycles": 5,
            },
            ("SMAUG experiments/sweeps/params.py default values (../shared/reference/smaug_facts.md 1.8)",),
        ),
        Preset(
            "soc-2026-lpddr5",
            "A 2026 phone-class SoC for on-device LLMs: Table 2's CPU and caches, LPDDR5-6400 with four x16 "
            "channels (51.2 GB/s, 16 GiB), one NVDLA-sized SMV (1024 MACs, 512 KiB scratchpads, "
            "presets.SMV_LARGE), I/O-coherent DMA (no software flush).",
            {"dram": DRAM_PRESETS["LPDDR5-6400"], "accelerator": SMV_LARGE, **_COHERENT_DMA},
            (
                "LPDDR5-6400: smaug_fast.memory.dram.LPDDR5_6400 (gem5 LPDDR5_6400_1x16_BG_BL16 timings, JESD209-5); "
                "64-bit LPDDR5 packages of 8-16 GB in 2023-2025 phones (Apple A17 Pro: LPDDR5-6400)",
                "SMV_LARGE: NVDLA nv_full (1024 fp16 MACs) and its 512 KiB convolution buffer",
                "coherent DMA: Arm CoreLink CCI/CMN ACE-Lite I/O coherency",
            ),
        ),
        Preset(
            "soc-2026-hbm3",
            "An edge-server SoC: Table 2's CPU and caches, one HBM3 stack (819.2 GB/s, 16 GiB), a 128 x 128 "
            "weight-stationary systolic array with 1 MiB scratchpads (presets.SYSTOLIC_128), I/O-coherent DMA.",
            {"dram": DRAM_PRESETS["HBM3"], "accelerator": SYSTOLIC_128, **_COHERENT_DMA},
            (
                "HBM3: smaug_fast.memory.dram.HBM3 (JESD238 interface, DRAMsim3 HBM2 array timings)",
                "SYSTOLIC_128: TPU v2/v3 128 x 128 MXU (Jouppi et al., CACM 2020)",
                "coherent DMA: Arm CoreLink CCI/CMN ACE-Lite I/O coherency",
            ),
        ),
    )
}


def names() -> list[str]:
    """Every preset name."""
    return list(_PRESETS)


def info(name: str) -> Preset:
    """The :class:`Preset` called ``name`` (ConfigError listing the valid names if unknown)."""
    try:
        return _PRESETS[name]
    except (KeyError, TypeError):
        raise ConfigError(f"preset = {describe(name)}: unknown; valid: {', '.join(_PRESETS)}") from None


def load(name: str, **changes) -> System:
    """The system of preset ``name`` with ``changes`` applied (dotted paths; ``__`` for dots)."""
    preset = info(name)
    system = System().replace(**preset.changes) if preset.changes else System()
    return system.replace(**changes) if changes else system


__all__ = ["LPDDR4_3200_GEM5_2X16", "SMV_LARGE", "SYSTOLIC_128", "Preset", "info", "load", "names"]
