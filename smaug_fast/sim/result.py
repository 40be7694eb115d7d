"""What a simulation returns: latency, its breakdown, energy, per-op rows, DRAM traffic and a timeline.

``Result`` is a plain frozen dataclass (NumPy and Python scalars only); ``Result.to_dataset()`` is the
one place where it becomes an xarray Dataset (xarray only at the edge: the simulator never builds one).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

#: The three phases of SMAUG's Fig. 1; every instant of the critical path belongs to one of them.
PHASES = ("accel_compute", "data_transfer", "cpu")

#: Finer phases (each belongs to one of PHASES) [s]: they also partition the latency.
DETAIL_PHASES = {
    "accel_compute": "accel_compute",
    "dma_transfer": "data_transfer",
    "acp_transfer": "data_transfer",
    "flush": "data_transfer",
    "cpu_prep": "cpu",
    "cpu_finalize": "cpu",
    "cpu_ops": "cpu",
    "cpu_overhead": "cpu",
}

#: Energy components [J].
ENERGY_COMPONENTS = (
    "accel_dynamic",  # datapath and registers of the accelerators
    "spad",  # scratchpad reads and writes
    "cache_dynamic",  # L1 and LLC accesses (CPU and ACP)
    "cache_leakage",  # LLC and L1 leakage over the run
    "dram",  # DRAM commands, background and refresh
    "cpu",  # CPU cores while they run the software stack
    "accel_leakage",  # accelerator leakage while the accelerators run invocations
)

#: Finer energy components [J], each belonging to one of ENERGY_COMPONENTS (Result.energy_detail_j).
ENERGY_DETAIL = {
    "accel_fu_dynamic": "accel_dynamic",  # multiply-accumulates, reductions and registers
    "spad_dynamic": "spad",  # scratchpad word reads and writes
    "accel_leakage": "accel_leakage",  # datapath and scratchpads, over the accelerators' invocations
    "l1_dynamic": "cache_dynamic",  # L1D accesses of the CPU copies
    "llc_dynamic": "cache_dynamic",  # LLC lookups (CPU misses, ACP requests)
    "l1_leakage": "cache_leakage",  # every core's L1D over the run
    "llc_leakage": "cache_leakage",  # the LLC over the run
    "dram_dynamic": "dram",  # activations, reads and writes (per byte moved)
    "dram_background": "dram",  # standby and refresh over the run
    "cpu": "cpu",  # cores while they run the software stack
}

#: Units and descriptions of every scalar a Result reports (used by to_dataset and sweeps).
VARIABLES: dict[str, tuple[str, str]] = {
    "latency_s": ("s", "end-to-end latency of one inference"),
    **{f"{p}_s": ("s", f"critical-path time spent in phase {p}") for p in PHASES},
    **{f"{p}_detail_s": ("s", f"critical-path time spent in sub-phase {p}") for p in DETAIL_PHASES},
    "energy_j": ("J", "total energy of one inference"),
    **{f"energy_{c}_j": ("J", f"energy of component {c}") for c in ENERGY_COMPONENTS},
    **{f"energy_detail_{c}_j": ("J", f"energy of sub-component {c}") for c in ENERGY_DETAIL},
    "dram_read_bytes": ("B", "bytes read from DRAM"),
    "dram_write_bytes": ("B", "bytes written to DRAM"),
    "dram_bytes": ("B", "bytes moved to and from DRAM"),
    "dram_bandwidth_bytes_per_s": ("B/s", "average DRAM bandwidth over the run"),
    "macs": ("1", "multiply-accumulates executed by the accelerators"),
}


@dataclass(frozen=True)
class OpResult:
    """One operator's row: where its time went and what it moved.

    Times are critical-path seconds of this op (they sum to ``latency_s``); ``tiling`` names the
    strategies per tensor (e.g. ``input=NH weights=N output=NHC``), empty for CPU ops.
    """

    name: str
    kind: str
    device: str  # "accel" or "cpu"
    latency_s: float
    breakdown_s: dict[str, float]
    detail_s: dict[str, float]
    energy_j: float
    macs: int
    invocations: int
    dram_read_bytes: int
    dram_write_bytes: int
    tiling: str = ""


class OpRows(Sequence):
    """``Result.ops``: the per-op rows, a tuple of :class:`OpResult`, made when first read (a sweep or a
    generation that reads only the totals never builds them: for a 1,000-op network they cost more
    than the timing kernel). Compares equal to the tuple of its rows; pickles as that tuple."""

    __slots__ = ("_build", "_rows")

    def __init__(self, build: Callable[[], tuple[OpResult, ...]]) -> None:
        self._build: Callable[[], tuple[OpResult, ...]] | None = build
        self._rows: tuple[OpResult, ...] | None = None

    def _all(self) -> tuple[OpResult, ...]:
        if self._rows is None:
            self._rows = self._build()  # type: ignore[misc]
            self._build = None
        return self._rows

    def __getitem__(self, i):
        return self._all()[i]

    def __len__(self) -> int:
        return len(self._all())

    def __iter__(self) -> Iterator[OpResult]:
        return iter(self._all())

    def __eq__(self, other: object) -> bool:
        return self._all() == (tuple(other) if isinstance(other, Sequence) else other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._all())

    def __reduce__(self):
        return (tuple, (self._all(),))


@dataclass(frozen=True)
class Timeline:
    """Every phase on every resource (struct of arrays, one entry per interval).

    ``resource`` is ``accel<k>`` or ``thread<k>``; ``phase`` is a DETAIL_PHASES key; ``op`` indexes
    ``Result.ops``; times are [s] from the start of the run.
    """

    resource: np.ndarray  # str
    phase: np.ndarray  # str
    op: np.ndarray  # int
    start_s: np.ndarray
    end_s: np.ndarray

    def __len__(self) -> int:
        return len(self.start_s)


@dataclass(frozen=True)
class Result:
    """The simulated inference of ``network`` on ``system``."""

    network: str
    latency_s: float
    breakdown_s: dict[str, float]
    detail_s: dict[str, float]
    energy_j: float
    energy_breakdown_j: dict[str, float]
    dram_read_bytes: int
    dram_write_bytes: int
    macs: int
    ops: Sequence[OpResult]  # an OpRows (or a tuple)
    timeline: Timeline
    cache_stats: dict[str, dict[str, int]] = field(default_factory=dict)
    system: object = None
    energy_detail_j: dict[str, float] = field(default_factory=dict)

    @property
    def dram_bytes(self) -> int:
        """Bytes moved to and from DRAM [B]."""
        return self.dram_read_bytes + self.dram_write_bytes

    @property
    def dram_bandwidth_bytes_per_s(self) -> float:
        """Average DRAM bandwidth over the run [B/s]."""
        return self.dram_bytes / self.latency_s if self.latency_s > 0 else 0.0

    def scalars(self) -> dict[str, float]:
        """Every scalar of VARIABLES, by name (what a sweep stores per point)."""
        out: dict[str, float] = {"latency_s": self.latency_s}
        out.update({f"{p}_s": self.breakdown_s[p] for p in PHASES})
        out.update({f"{p}_detail_s": self.detail_s.get(p, 0.0) for p in DETAIL_PHASES})
        out["energy_j"] = self.energy_j
        out.update({f"energy_{c}_j": self.energy_breakdown_j.get(c, 0.0) for c in ENERGY_COMPONENTS})
        out.update({f"energy_detail_{c}_j": float(self.energy_detail_j.get(c, 0.0)) for c in ENERGY_DETAIL})
        out["dram_read_bytes"] = float(self.dram_read_bytes)
        out["dram_write_bytes"] = float(self.dram_write_bytes)
        out["dram_bytes"] = float(self.dram_bytes)
        out["dram_bandwidth_bytes_per_s"] = self.dram_bandwidth_bytes_per_s
        out["macs"] = float(self.macs)
        return out

    def ops_table(self) -> dict[str, np.ndarray]:
        """Per-op rows as columns (name, kind, device, latency_s, each phase, energy, bytes, tiling)."""
        cols: dict[str, list] = {
            "name": [], "kind": [], "device": [], "latency_s": [], "energy_j": [], "macs": [],
            "invocations": [], "dram_read_bytes": [], "dram_write_bytes": [], "tiling": [],
        }
        for p in PHASES:
            cols[f"{p}_s"] = []
        for row in self.ops:
            for key in ("name", "kind", "device", "latency_s", "energy_j", "macs", "invocations",
                        "dram_read_bytes", "dram_write_bytes", "tiling"):
                cols[key].append(getattr(row, key))
            for p in PHASES:
                cols[f"{p}_s"].append(row.breakdown_s[p])
        return {k: np.asarray(v) for k, v in cols.items()}

    def to_dataset(self):
        """The result as an xarray Dataset: scalars as variables, per-op rows along dimension ``op``."""
        import xarray as xr

        data = {}
        for name, value in self.scalars().items():
            unit, desc = VARIABLES[name]
            data[name] = xr.DataArray(value, attrs={"units": unit, "description": desc})
        table = self.ops_table()
        op_names = table.pop("name")
        for name, values in table.items():
            suffixes = {"_s": "s", "_j": "J", "_bytes": "B"}
            unit = next((u for suffix, u in suffixes.items() if name.endswith(suffix)), "1")
            data[f"op_{name}"] = xr.DataArray(values, dims=("op",), attrs={"units": unit})
        attrs = {"network": self.network}
        if self.system is not None and hasattr(self.system, "to_dict"):
            import json

            attrs["system"] = json.dumps(self.system.to_dict(), sort_keys=True, default=str)
        return xr.Dataset(data, coords={"op": op_names}, attrs=attrs)

    def summary(self) -> str:
        """A readable breakdown table."""
        lines = [f"{self.network}: latency {self.latency_s * 1e3:.3f} ms, energy {self.energy_j * 1e3:.3f} mJ"]
        for p in PHASES:
            share = 100 * self.breakdown_s[p] / self.latency_s if self.latency_s else 0.0
            lines.append(f"  {p:<14} {self.breakdown_s[p] * 1e3:10.3f} ms  {share:5.1f} %")
        lines.append("  the same latency in finer phases:")
        for p, v in self.detail_s.items():
            if v:
                share = 100 * v / self.latency_s if self.latency_s else 0.0
                lines.append(f"    {p:<12} {v * 1e3:10.3f} ms  {share:5.1f} %  ({DETAIL_PHASES[p]})")
        lines.append(f"  DRAM {self.dram_bytes / 1e6:.2f} MB, {self.dram_bandwidth_bytes_per_s / 1e9:.2f} GB/s average")
        for c, v in self.energy_breakdown_j.items():
            share = 100 * v / self.energy_j if self.energy_j else 0.0
            lines.append(f"  energy {c:<14} {v * 1e3:10.4f} mJ  {share:5.1f} %")
        return "\n".join(lines)

    def replace(self, **changes) -> Result:
        return dataclasses.replace(self, **changes)
