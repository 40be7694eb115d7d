"""The hardware description: a system-on-chip with CPU cores, caches, DRAM, an SoC interface and accelerators.

Every part is a frozen dataclass in one style (:mod:`smaug_fast.spec`): each field carries its unit in
its name, and :func:`~smaug_fast.spec.param` declares next to it a default, a one-line description and
its constraints (type, bounds, power of two, choices), checked when the part is built; a part's
``validate()`` holds only the rules that relate fields. ``System.describe()`` lists every leaf. Parts nest, and a whole
system is one hashable value, so that per-op results can be memoized on it:

>>> from smaug_fast.hardware import System
>>> s = System()
>>> s2 = s.replace(**{"l2.size_bytes": "4MiB", "num_accelerators": 4, "interface": "acp"})
>>> s2.l2.size_bytes, s2.num_accelerators
(4194304, 4)
>>> System.from_dict(s2.to_dict()) == s2
True

Unknown keys are errors naming their dotted path (``l2.sise_bytes: unknown field ...``); unit strings
are parsed strictly (:mod:`smaug_fast.units`). The cache levels and the DRAM are the memory
package's :class:`~smaug_fast.memory.CacheConfig` and :class:`~smaug_fast.memory.DRAMConfig` (with
its JEDEC presets; ``dram="DDR4-3200"`` picks one by name), not twins of them. Presets for SMAUG's configurations are
in :mod:`smaug_fast.presets`.

Clock domains: CPU-side cycle counts (caches, copy costs) are in CPU cycles; DMA and ACP cycle counts
are in accelerator cycles, as gem5-Aladdin counts them (``gem5.cfg`` ``cycle_time``).
"""

from __future__ import annotations

from dataclasses import dataclass

from .accelerators.base import Accelerator
from .accelerators.smv import SMV
from .choices import Interface
from .errors import ConfigError, describe
from .memory import PRESETS as DRAM_PRESETS
from .memory import CacheConfig, DRAMConfig
from .memory import preset as dram_preset
from .spec import Spec, param

#: SMAUG's memory policies (graph ``mem_policy``): all tensors by DMA, all through the ACP port, or
#: ACP for activations with DMA for weights (``AllDma``, ``AllAcp``, ``AllAcpWithDmaForWeights``).
INTERFACES = Interface.values()

#: Most accelerators and CPU threads SMAUG supports (``core/globals.h``, ``--num-accels`` <= 8).
MAX_ACCELERATORS = 8
MAX_THREADS = 8


@dataclass(frozen=True)
class CPU(Spec):
    """The host CPU that runs the software stack: tiling, untiling, reorders and unsupported ops.

    Defaults are the paper's Table 2 (Xi et al., TACO 2020). The copy-cost fields are the parameters
    of a memcpy-like model of SMAUG's data preparation (``copyTensorRegion`` copies contiguous runs
    with memcpy); they are assumptions to be calibrated against the paper's breakdowns.

    Table 2's 192-entry ROB is not a field: no modelled mechanism reads it (the copy loop's
    memory-level parallelism is ``outstanding_misses``), and issue 15 removes fields that move nothing.
    """

    cores: int = param(8, "CPU cores (Table 2: 8 out-of-order x86 cores)", ge=1, le=256)
    freq_hz: float = param(2.5e9, "core clock [Hz] (Table 2: 2.5 GHz; run.sh --cpu-clock=2.5GHz)", ge=1e6, le=10e9)
    issue_width: int = param(8, "micro-ops issued per cycle (Table 2: 8-uop issue)", ge=1, le=64)
    copy_bytes_per_cycle: float = param(
        16.0, "sustained memcpy throughput from L1 [B/cycle] (assumption: one 16 B load and store per cycle)",
        ge=1e-3, le=1024.0
    )
    copy_call_cycles: int = param(
        400,
        "fixed cost of one contiguous run of a tiling copy: SMAUG's copyTensorRegion advances two "
        "TensorRegionIndexIterators and calls memcpy per run [cycles] (fitted: validation/calibrate.py)",
        ge=0, le=10_000_000
    )
    gather_cycles_per_elem: float = param(
        4.0, "cost per element of an element-by-element copy such as a reorder [cycles] (assumption)",
        ge=0.0, le=1e6
    )
    outstanding_misses: int = param(
        2, "cache misses a core keeps in flight while copying (sets its DRAM bandwidth) (fitted: validation/calibrate.py)",
        ge=1, le=1024,
    )
    op_overhead_cycles: int = param(
        60000, "framework cost per operator: scheduling, bookkeeping, stats calls [cycles] (fitted: validation/calibrate.py)",
        ge=0, le=1_000_000_000
    )
    active_power_w: float = param(
        1.5, "power of one core while it runs the software stack [W] (assumption for a 2.5 GHz O3 core)",
        ge=0.0, le=1e3
    )
    simd_bytes_per_uop: int = param(
        8,
        "bytes one SIMD micro-op processes [B]: gem5's x86 decodes every 128-bit SSE instruction into two "
        "64-bit micro-ops (src/arch/x86/isa/insts/simd128, e.g. PADDW_XMM_XMM = two maddi); gem5 has no AVX",
        ge=1, le=1024, pow2=True,
    )
    simd_uops_per_cycle: float = param(
        4.0, "SIMD micro-ops that can issue per cycle (gem5 src/cpu/o3/FuncUnitConfig.py: SIMD_Unit count = 4, "
        "pipelined)", ge=1e-3, le=1024.0,
    )
    mem_uops_per_cycle: float = param(
        4.0, "load and store micro-ops per cycle (gem5 src/cpu/o3/FuncUnitConfig.py: RdWrPort count = 4)",
        ge=1e-3, le=1024.0,
    )


@dataclass(frozen=True)
class DMA(Spec):
    """The accelerators' DMA engine (gem5-Aladdin; defaults from SMAUG's ``gem5.cfg`` and ``sweeps/params.py``).

    SMAUG's sweeper also names ``num_dma_channels``; nothing in SMAUG's or gem5-Aladdin's DMA path that
    this model follows reads it (an op's transfers are issued one after another by its thread), so it
    is not a field."""

    setup_cycles: int = param(
        100, "fixed cost of each DMA transfer [accelerator cycles] (gem5.cfg dma_setup_overhead)",
        ge=0, le=10_000_000
    )
    max_outstanding: int = param(16, "DMA requests in flight (gem5.cfg max_dma_requests)", ge=1, le=1024)
    chunk_bytes: int = param(64, "bytes per DMA request (gem5.cfg dma_chunk_size)", ge=1, le=1 << 30, pow2=True)
    pipelined: bool = param(True, "transfers of consecutive pages overlap with unpacking (gem5.cfg pipelined_dma)")
    ignore_cache_flush: bool = param(
        False, "skip flushing source lines from the CPU caches before a DMA load (gem5.cfg)"
    )
    invalidate_on_store: bool = param(True, "invalidate destination lines in the CPU caches on a DMA store (gem5.cfg)")
    flush_writes_back: bool = param(
        False,
        "the flush before a DMA load writes dirty lines back to DRAM and cleans them, as a real cache "
        "flush does; False (SMAUG's simulator): gem5-Aladdin charges the flush as a delay only "
        "(flush_ns_per_line per line; HybridDatapath.h: 'instead of just accounting for latency'), "
        "the caches keep their lines and nothing is written back",
    )
    flush_ns_per_line: float = param(
        12.0,
        "delay of each source cache line flushed before a DMA load [ns] (gem5-aladdin "
        "configs/aladdin/aladdin_template.cfg cacheline_flush_latency = 12 since commit 2a9a75b, 2018; "
        "SMAUG's gem5.cfg keeps the default)",
        ge=0.0, le=1e6
    )
    invalidate_ns_per_line: float = param(
        12.0,
        "delay of each destination line invalidated before a DMA store [ns] (gem5-Aladdin's "
        "HybridDatapath charges stores with cacheline_flush_latency too)",
        ge=0.0, le=1e6
    )
    page_bytes: int = param(
        4096,
        "largest DMA request; tiles move in requests of this size, each with its own flush "
        "(SMAUG host_load_fp16 / host_store_fp16, LOG_PAGE_SIZE 12) [B]",
        ge=1, pow2=True, le=1 << 30
    )


@dataclass(frozen=True)
class ACP(Spec):
    """The accelerator coherence port: one-way coherent accesses to the last-level cache (paper section 3.3)."""

    latency_cycles: int = param(
        20, "LLC hit latency seen through the ACP [accelerator cycles] (paper: 20 cycles, Cortex-A53 RTL)",
        ge=0, le=100_000,
    )
    max_outstanding: int = param(
        16,
        "ACP requests in flight (the ACP's RubySequencer, gem5 src/mem/ruby/system/Sequencer.py "
        "max_outstanding_requests = 16; gem5.cfg cache_queue_size 32 is not the limit)",
        ge=1, le=1024,
    )
    line_bytes: int = param(32, "bytes per ACP request, one cache line (run.sh --cacheline_size=32)", ge=1, le=4096,
                            pow2=True)


@dataclass(frozen=True)
class Energy(Spec):
    """Per-access energies and leakage of the caches (the parts that have no energy model of their own).

    The accelerator's energy comes from its own model and the DRAM's from the DRAM model (IDD-based).
    The paper used CACTI 7 for the LLC (section 4). These values come from CACTI-P as ALADDIN ships it
    (harvard-acc/ALADDIN ``common/cacti-p``, the model gem5-Aladdin uses for its scratchpads), run for
    the Table 2 geometries at 22 nm (CACTI-P's smallest node) with ``itrs-hp`` cells and peripherals at
    300 K (the temperature ALADDIN's ``cactiWrapper`` uses), UCA, one bank, one read-write port. CACTI
    takes no block smaller than 64 B, so the per-access energies are those of 64-byte blocks.
    """

    l1d_access_energy_j: float = param(
        56.8e-12, "energy of one L1D access [J] (CACTI-P: 64 KiB, 4-way, 22 nm, read 0.0568 nJ)",
        ge=0.0, le=1e-3
    )
    l2_access_energy_j: float = param(
        0.296e-9, "energy of one LLC lookup [J] (CACTI-P: 2 MiB, 16-way, 22 nm, read 0.296 nJ, write 0.333 nJ)",
        ge=0.0, le=1e-3
    )
    l1d_leakage_w: float = param(0.83e-3, "leakage of one core's L1D [W] (CACTI-P: 64 KiB, 22 nm, 300 K, 0.834 mW)", ge=0.0, le=1e3)
    l2_leakage_w: float = param(21.9e-3, "leakage of the LLC [W] (CACTI-P: 2 MiB, 16-way, 22 nm, 300 K, 21.9 mW)", ge=0.0, le=1e3)


@dataclass(frozen=True)
class System(Spec):
    """A whole SoC: CPU, L1 data and L2 caches, DMA and ACP, the SoC interface and the accelerators.

    Defaults are the paper's Table 2 baseline: one SMV accelerator over DMA with one CPU thread.
    """

    cpu: CPU = param(CPU(), "the host CPU")
    l1d: CacheConfig = param(
        CacheConfig(size_bytes=64 * 1024, ways=4, line_bytes=32, latency_cycles=2, name="l1d"),
        "private L1 data cache of each core (Table 2: 64 KB, 4-way, 32 B lines, 2 cycles, LRU)",
    )
    l2: CacheConfig = param(
        CacheConfig(size_bytes=2 * 1024 * 1024, ways=16, line_bytes=32, latency_cycles=20, name="l2"),
        "shared last-level cache (Table 2: 2 MB, 16-way, 20 cycles, LRU; run.sh --cacheline_size=32)",
    )
    dram: DRAMConfig = param(
        DRAM_PRESETS["LPDDR4-3200-4ch-x16"],
        "main memory (Table 2: LPDDR4 at 1600 MHz, 4 channels, 25.6 GB/s, 4 GB); a DRAMConfig or a preset name",
    )
    dma: DMA = param(DMA(), "the accelerators' DMA engine")
    acp: ACP = param(ACP(), "the accelerator coherence port")
    interface: Interface = param(
        Interface.DMA, "how accelerators reach memory: 'dma', 'acp' or 'acp_dma_weights' (SMAUG mem_policy)"
    )
    accelerator: Accelerator = param(SMV(), "the accelerator model (every accelerator of the SoC is one of these)")
    num_accelerators: int = param(1, "accelerators sharing each operator, round-robin (1-8; SMAUG --num-accels)", ge=1, le=MAX_ACCELERATORS)
    cpu_threads: int = param(1, "CPU threads that tile and untile tensors (1-8; SMAUG --num-threads)", ge=1, le=MAX_THREADS)
    energy: Energy = param(Energy(), "cache energies and leakage")

    def validate(self) -> None:
        if isinstance(self.dram, str):  # a DRAM preset by name
            try:
                object.__setattr__(self, "dram", dram_preset(self.dram))
            except ConfigError:
                raise ConfigError(
                    f"dram = {describe(self.dram)}: unknown DRAM preset; known: {', '.join(DRAM_PRESETS)}"
                ) from None
        for name, kind in (
            ("cpu", CPU), ("dma", DMA), ("acp", ACP), ("l1d", CacheConfig), ("l2", CacheConfig), ("dram", DRAMConfig),
            ("energy", Energy),
        ):
            value = getattr(self, name)
            if not isinstance(value, kind):
                raise ConfigError(f"{name} = {describe(value)}: must be a {kind.__name__}")
        if not isinstance(self.accelerator, Accelerator):
            raise ConfigError(f"accelerator = {describe(self.accelerator)}: must be an Accelerator (e.g. SMV())")
        try:
            hash(self.accelerator)
        except TypeError:
            raise ConfigError(
                f"accelerator = {describe(self.accelerator)}: must be hashable (a frozen dataclass)"
            ) from None
        if self.cpu_threads > self.cpu.cores:
            raise ConfigError(
                f"cpu_threads = {self.cpu_threads}: more than the cpu.cores = {self.cpu.cores} that run them"
            )
        if self.l1d.line_bytes > self.l2.line_bytes:
            raise ConfigError(
                f"l1d.line_bytes = {self.l1d.line_bytes}: larger than l2.line_bytes = {self.l2.line_bytes}"
            )
        if self.l1d.size_bytes > self.l2.size_bytes:
            raise ConfigError(
                f"l1d.size_bytes = {self.l1d.size_bytes}: larger than l2.size_bytes = {self.l2.size_bytes}"
            )

    @property
    def accelerator_seconds_per_cycle(self) -> float:
        return 1.0 / float(self.accelerator.freq_hz)  # type: ignore[attr-defined]

    @property
    def cpu_seconds_per_cycle(self) -> float:
        return 1.0 / self.cpu.freq_hz


__all__ = [
    "ACP",
    "CPU",
    "DMA",
    "INTERFACES",
    "MAX_ACCELERATORS",
    "MAX_THREADS",
    "CacheConfig",
    "DRAMConfig",
    "System",
]
