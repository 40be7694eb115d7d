"""SCALE-Sim's file formats: INI config, topology CSVs, the three reports, and demand traces.

``smaug-fast scalesim -c CONFIG.cfg -t TOPOLOGY.csv [--gemm] -o OUTDIR`` reads the same inputs as
SCALE-Sim 3.0.0 (``scale_config.py``, ``topology_utils.py``) and writes ``COMPUTE_REPORT.csv``,
``BANDWIDTH_REPORT.csv`` and ``DETAILED_ACCESS_REPORT.csv`` with its column names and number
formats (``simulator.py``), so a SCALE-Sim user can switch with one command. Results go straight to
``OUTDIR`` (SCALE-Sim adds a ``run_name`` folder; ``--run-name-dir`` does the same).

Bad input raises ``ConfigError`` naming the file, the line and the key. Unlike SCALE-Sim, an unknown
key, a missing key or an unknown dataflow is an error, never a warning.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from .systolic import DATAFLOWS, Systolic, SystolicLayerReport

# Sections and keys SCALE-Sim 3.0.0 reads (scale_config.py), lower-cased as ConfigParser does.
_KNOWN = {
    "general": {"run_name"},
    "architecture_presets": {
        "arrayheight", "arraywidth", "ifmapsramszkb", "filtersramszkb", "ofmapsramszkb",
        "ifmapoffset", "filteroffset", "ofmapoffset", "dataflow", "bandwidth", "memorybanks",
        "onchipmemorybanks", "onchipmemorybankports", "readrequestbuffer", "writerequestbuffer",
    },
    "layout": {
        "ifmapcustomlayout", "ifmapsrambankbandwidth", "ifmapsrambanknum", "ifmapsrambankport",
        "filtercustomlayout", "filtersrambankbandwidth", "filtersrambanknum", "filtersrambankport",
    },
    "sparsity": {"sparsitysupport", "sparserep", "optimizedmapping", "blocksize",
                 "randomnumbergeneratorseed", "nonzeroelems"},
    "run_presets": {"interfacebandwidth", "useramulatortrace"},
    "network_presets": {"topologycsvloc"},
}
_REQUIRED = {
    "general": ("run_name",),
    "architecture_presets": ("arrayheight", "arraywidth", "ifmapsramszkb", "filtersramszkb",
                             "ofmapsramszkb", "dataflow"),
    "run_presets": ("interfacebandwidth",),
}

COMPUTE_HEADER = ("LayerID, Total Cycles (incl. prefetch), Total Cycles, Stall Cycles, Overall Util %, "
                  "Mapping Efficiency %, Compute Util %,\n")
BANDWIDTH_HEADER = ("LayerID, Avg IFMAP SRAM BW, Avg FILTER SRAM BW, Avg OFMAP SRAM BW, "
                    "Avg IFMAP DRAM BW, Avg FILTER DRAM BW, Avg OFMAP DRAM BW,\n")
DETAIL_HEADER = (
    "LayerID, "
    "SRAM IFMAP Start Cycle, SRAM IFMAP Stop Cycle, SRAM IFMAP Reads, "
    "SRAM Filter Start Cycle, SRAM Filter Stop Cycle, SRAM Filter Reads, "
    "SRAM OFMAP Start Cycle, SRAM OFMAP Stop Cycle, SRAM OFMAP Writes, "
    "DRAM IFMAP Start Cycle, DRAM IFMAP Stop Cycle, DRAM IFMAP Reads, "
    "DRAM Filter Start Cycle, DRAM Filter Stop Cycle, DRAM Filter Reads, "
    "DRAM OFMAP Start Cycle, DRAM OFMAP Stop Cycle, DRAM OFMAP Writes,\n"
)


@dataclass(frozen=True)
class ScaleSimConfig:
    """What a SCALE-Sim config file says: the array, the run name and the trace address offsets [words]."""

    run_name: str
    systolic: Systolic
    ifmap_offset: int = 0
    filter_offset: int = 10_000_000
    ofmap_offset: int = 20_000_000


@dataclass(frozen=True)
class TopologyLayer:
    """One row of a topology file, as a convolution (a GEMM row is a 1 x K convolution of M x K)."""

    name: str
    ifmap_h: int
    ifmap_w: int
    filter_h: int
    filter_w: int
    channels: int
    num_filters: int
    stride: int
    gemm: bool = False


# ------------------------------------------------------------------------------------------------
# config
# ------------------------------------------------------------------------------------------------
class _Ini:
    """The keys of a SCALE-Sim INI config with the line of each (every error names file, line and key)."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.values: dict[tuple[str, str], tuple[str, int]] = {}
        section = None
        for lineno, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line[0] in "#;":
                continue
            m = re.fullmatch(r"\[([^\]]+)\]", line)
            if m:
                section = m.group(1).strip().lower()
                if section not in _KNOWN:
                    raise ConfigError(f"{path}:{lineno}: unknown section [{m.group(1)}]; "
                                      f"expected one of {', '.join(sorted(_KNOWN))}")
                continue
            m = re.fullmatch(r"([^:=]+?)\s*[:=]\s*(.*)", line)
            if not m:
                raise ConfigError(f"{path}:{lineno}: cannot parse {line!r}: expected 'key : value'")
            key, value = m.group(1).strip(), m.group(2).strip()
            if section is None:
                raise ConfigError(f"{path}:{lineno}: key {key!r} before any [section]")
            lkey = key.lower()
            if lkey not in _KNOWN[section]:
                raise ConfigError(f"{path}:{lineno}: unknown key {key!r} in [{section}]; "
                                  f"known keys: {', '.join(sorted(_KNOWN[section]))}")
            if (section, lkey) in self.values:
                raise ConfigError(f"{path}:{lineno}: key {key!r} repeats in [{section}] "
                                  f"(first on line {self.values[(section, lkey)][1]})")
            self.values[(section, lkey)] = (value, lineno)
        for section, keys in _REQUIRED.items():
            for key in keys:
                if (section, key) not in self.values:
                    raise ConfigError(f"{path}: missing key {key!r} in [{section}]")

    def get(self, section, key, default=None):
        return self.values.get((section, key), (default, 0))

    def as_int(self, section, key, default=None, minimum=0):
        value, lineno = self.get(section, key, default)
        number = _strict_int(value)
        if number is None or number < minimum:
            where = f"{self.path}:{lineno}" if lineno else str(self.path)
            raise ConfigError(f"{where}: [{section}] {key} = {value!r}: must be an integer >= {minimum}")
        return number

    def as_bool(self, section, key):
        value, lineno = self.get(section, key, "false")
        if value.lower() not in ("true", "false"):
            raise ConfigError(f"{self.path}:{lineno}: [{section}] {key} = {value!r}: must be True or False")
        return value.lower() == "true"

    def unsupported(self) -> None:
        """Refuse the features smaug-fast scalesim does not model."""
        for section, key, what in (("sparsity", "sparsitysupport", "sparsity"),
                                   ("layout", "ifmapcustomlayout", "custom layouts"),
                                   ("layout", "filtercustomlayout", "custom layouts"),
                                   ("run_presets", "useramulatortrace", "Ramulator traces")):
            if self.as_bool(section, key):
                raise ConfigError(f"{self.path}:{self.get(section, key)[1]}: [{section}] {key} = True: "
                                  f"{what} are not supported by smaug-fast scalesim")

    def bandwidth(self) -> float | None:
        """None in CALC mode; the interface bandwidth in USER mode [words/cycle]."""
        mode, mode_line = self.get("run_presets", "interfacebandwidth")
        if mode not in ("CALC", "USER"):
            raise ConfigError(f"{self.path}:{mode_line}: [run_presets] InterfaceBandwidth = {mode!r}: "
                              "must be CALC or USER")
        if mode == "CALC":
            return None
        value, lineno = self.get("architecture_presets", "bandwidth")
        if value is None:
            raise ConfigError(f"{self.path}: missing key 'bandwidth' in [architecture_presets] "
                              "(needed with InterfaceBandwidth: USER)")
        try:
            bandwidth = float(value.split(",")[0])
        except ValueError:
            bandwidth = -1.0
        if not (bandwidth > 0 and math.isfinite(bandwidth)):
            raise ConfigError(f"{self.path}:{lineno}: [architecture_presets] Bandwidth = {value!r}: "
                              "must be a positive number of words per cycle")
        return bandwidth


def read_config(path: str | Path, scalesim_compat: bool = True) -> ScaleSimConfig:
    """Parse a SCALE-Sim INI config; every error names the file, the line and the key."""
    path = Path(path)
    ini = _Ini(path, _read_text(path, "config"))
    ini.unsupported()
    bandwidth = ini.bandwidth()
    dataflow, df_line = ini.get("architecture_presets", "dataflow")
    kwargs = {}
    for field, key in (("rows", "arrayheight"), ("cols", "arraywidth")):
        kwargs[field] = ini.as_int("architecture_presets", key, minimum=1)
    for field, key in (("ifmap_sram_size_bytes", "ifmapsramszkb"),
                       ("filter_sram_size_bytes", "filtersramszkb"),
                       ("ofmap_sram_size_bytes", "ofmapsramszkb")):
        kwargs[field] = 1024 * ini.as_int("architecture_presets", key, minimum=1)
    if dataflow not in DATAFLOWS:
        raise ConfigError(f"{path}:{df_line}: [architecture_presets] Dataflow = {dataflow!r}: "
                          "must be os, ws or is")
    try:
        systolic = Systolic(dataflow=dataflow, dram_bandwidth_words_per_cycle=bandwidth,
                            scalesim_compat=scalesim_compat, **kwargs)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    run_name, name_line = ini.get("general", "run_name")
    if not _SAFE_NAME.fullmatch(run_name or "") or run_name in (".", ".."):
        raise ConfigError(f"{path}:{name_line}: [general] run_name = {run_name!r}: must be a plain folder name "
                          "(letters, digits, '-', '_', '.'; no path separators), as reports are written under it")
    return ScaleSimConfig(
        run_name=run_name,
        systolic=systolic,
        ifmap_offset=ini.as_int("architecture_presets", "ifmapoffset", 0),
        filter_offset=ini.as_int("architecture_presets", "filteroffset", 10_000_000),
        ofmap_offset=ini.as_int("architecture_presets", "ofmapoffset", 20_000_000),
    )


# ------------------------------------------------------------------------------------------------
# topology
# ------------------------------------------------------------------------------------------------
#: The largest dimension a topology may give (SCALE-Sim has none; the model addresses at most 2**31 words
#: per operand, and no layer of its shipped topologies comes near 2**20).
MAX_DIMENSION = 1 << 20
#: A depthwise ("DP") layer runs as one layer per channel (SCALE-Sim's topology_utils.py): bounded so that a
#: typo cannot queue millions of layers.
MAX_DEPTHWISE_CHANNELS = 1 << 14
_SAFE_NAME = re.compile(r"[A-Za-z0-9_.\-]+")
_SAFE_LAYER = re.compile(r"[^\x00-\x1f\x7f]*")


def _strict_int(text) -> int | None:
    """A plain decimal integer (``int()`` would take '1_0', Unicode digits and spaces), or None."""
    if isinstance(text, str) and re.fullmatch(r"[+-]?[0-9]+", text.strip()):
        return int(text)
    return None


def _read_text(path: Path, what: str) -> str:
    """The file's text; ConfigError naming it when it cannot be read or is not UTF-8."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what} file ({exc.strerror})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: the {what} file is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if "\x00" in text:
        raise ConfigError(f"{path}: the {what} file holds a NUL byte (at character {text.index(chr(0))})")
    return text


_CONV_COLUMNS = ("IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width", "Channels",
                 "Num Filter", "Strides")
_GEMM_COLUMNS = ("M", "N", "K")


def read_topology(path: str | Path, gemm: bool = False) -> list[TopologyLayer]:
    """Parse a SCALE-Sim topology CSV (conv, or ``Layer, M, N, K`` with ``gemm``).

    As in SCALE-Sim, the first line is a header, blank lines are skipped, a trailing comma is
    optional, an optional last column ``N:M`` gives a sparsity ratio (only 1:1 is supported), and a
    conv layer whose name contains ``DP`` is depthwise: it runs as one single-channel layer per
    channel (``topology_utils.py``). Unlike SCALE-Sim, rows of empty cells and columns that follow
    an empty column are ignored (SCALE-Sim crashes on its own ``Resnet50.csv`` because of them).
    """
    path = Path(path)
    lines = _read_text(path, "topology").splitlines()
    columns = _GEMM_COLUMNS if gemm else _CONV_COLUMNS
    layers: list[TopologyLayer] = []
    for lineno, raw in enumerate(lines, start=1):
        if lineno == 1 or not raw.strip():
            continue
        cells = [c.strip() for c in raw.split(",")]
        if not any(cells):
            continue  # a row of empty cells (spreadsheet leftovers, as in Resnet50.csv)
        n_fields = len(columns) + 1
        if len(cells) > n_fields and "" in cells[n_fields:]:
            # columns after an empty one are notes (Resnet50.csv has ",,Eh,Ew,e2" there)
            cells = cells[: n_fields + cells[n_fields:].index("")]
        while cells and cells[-1] == "":
            cells.pop()
        if len(cells) == len(columns) + 2 and ":" in cells[-1]:
            if cells[-1].replace(" ", "") != "1:1":
                raise ConfigError(f"{path}:{lineno}: sparsity ratio {cells[-1]!r}: only 1:1 (dense) "
                                  "is supported")
            cells.pop()
        if len(cells) != len(columns) + 1:
            raise ConfigError(
                f"{path}:{lineno}: expected {len(columns) + 1} columns (name, {', '.join(columns)}), "
                f"found {len(cells)}"
            )
        name = cells[0]
        numbers = []
        if not _SAFE_LAYER.fullmatch(name):
            raise ConfigError(f"{path}:{lineno}: layer name {name!r}: control characters are not allowed")
        for column, cell in zip(columns, cells[1:]):
            value = _strict_int(cell)
            if value is None or not 1 <= value <= MAX_DIMENSION:
                raise ConfigError(f"{path}:{lineno}: layer {name!r}, column {column!r} = {cell!r}: "
                                  f"must be an integer from 1 to {MAX_DIMENSION}")
            numbers.append(value)
        if gemm:
            m, n, k = numbers
            layers.append(TopologyLayer(name, m, k, 1, k, 1, n, 1, gemm=True))
            continue
        h, w, fh, fw, c, nf, s = numbers
        if fh > h or fw > w:
            raise ConfigError(f"{path}:{lineno}: layer {name!r}: filter {fh}x{fw} is larger than the "
                              f"input {h}x{w}")
        if s > max(h, w):
            raise ConfigError(f"{path}:{lineno}: layer {name!r}: stride {s} is larger than the input {h}x{w}")
        if "DP" in name and c > MAX_DEPTHWISE_CHANNELS:
            raise ConfigError(f"{path}:{lineno}: layer {name!r}: a depthwise layer of {c} channels runs as {c} "
                              f"layers; at most {MAX_DEPTHWISE_CHANNELS}")
        if "DP" in name:
            layers.extend(TopologyLayer(f"{name}Channel_{i}", h, w, fh, fw, 1, nf, s) for i in range(c))
        else:
            layers.append(TopologyLayer(name, h, w, fh, fw, c, nf, s))
    if not layers:
        raise ConfigError(f"{path}: no layers (the first line is the header)")
    return layers


def run_layer(systolic: Systolic, layer: TopologyLayer) -> SystolicLayerReport:
    if layer.gemm:
        return systolic.gemm_layer(layer.ifmap_h, layer.num_filters, layer.ifmap_w, name=layer.name)
    return systolic.conv_layer(layer.ifmap_h, layer.ifmap_w, layer.filter_h, layer.filter_w,
                               layer.channels, layer.num_filters, layer.stride, name=layer.name)


# ------------------------------------------------------------------------------------------------
# reports
# ------------------------------------------------------------------------------------------------
def _c(cycle: int) -> str:
    """SCALE-Sim prints cycles taken from its trace matrices as floats ('21479.0')."""
    return str(float(cycle))


def write_reports(outdir: str | Path, reports: list[SystolicLayerReport]) -> list[Path]:
    """Write SCALE-Sim's three report files for ``reports`` into ``outdir``."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    comp, bw, det = [COMPUTE_HEADER], [BANDWIDTH_HEADER], [DETAIL_HEADER]
    for lid, r in enumerate(reports):
        comp.append(", ".join(str(x) for x in (
            lid, r.total_cycles_incl_prefetch, r.total_cycles, r.stall_cycles,
            r.overall_util_percent, r.mapping_efficiency_percent, r.compute_util_percent)) + ",\n")
        bw.append(", ".join(str(x) for x in (
            lid, r.avg_ifmap_sram_bw, r.avg_filter_sram_bw, r.avg_ofmap_sram_bw,
            r.avg_ifmap_dram_bw, r.avg_filter_dram_bw, r.avg_ofmap_dram_bw)) + ",\n")
        det.append(", ".join([
            str(lid),
            _c(r.ifmap_sram_start_cycle), _c(r.ifmap_sram_stop_cycle), str(r.ifmap_sram_reads),
            _c(r.filter_sram_start_cycle), _c(r.filter_sram_stop_cycle), str(r.filter_sram_reads),
            _c(r.ofmap_sram_start_cycle), _c(r.ofmap_sram_stop_cycle), str(r.ofmap_sram_writes),
            _c(r.ifmap_dram_start_cycle), _c(r.ifmap_dram_stop_cycle), str(r.ifmap_dram_reads),
            _c(r.filter_dram_start_cycle), _c(r.filter_dram_stop_cycle), str(r.filter_dram_reads),
            _c(r.ofmap_dram_start_cycle), _c(r.ofmap_dram_stop_cycle), str(r.ofmap_dram_writes),
        ]) + ",\n")
    paths = []
    for name, lines in (("COMPUTE_REPORT.csv", comp), ("BANDWIDTH_REPORT.csv", bw),
                        ("DETAILED_ACCESS_REPORT.csv", det)):
        p = outdir / name
        p.write_text("".join(lines))
        paths.append(p)
    return paths


# ------------------------------------------------------------------------------------------------
# demand traces
# ------------------------------------------------------------------------------------------------
def demand_traces(systolic: Systolic, layer: TopologyLayer, offsets=(0, 10_000_000, 20_000_000)):
    """SRAM demand traces of one topology layer (``Systolic.conv_demand_traces``)."""
    if layer.gemm:
        return systolic.gemm_demand_traces(layer.ifmap_h, layer.num_filters, layer.ifmap_w, offsets)
    return systolic.conv_demand_traces(layer.ifmap_h, layer.ifmap_w, layer.filter_h, layer.filter_w,
                                       layer.channels, layer.num_filters, layer.stride, offsets)


def write_traces(outdir: Path, lid: int, traces: dict, fmt: str) -> None:
    """``npz``: for each operand the valid requests only, as ``<OP>_cycle`` (int64), ``<OP>_lane``
    (int16) and ``<OP>_addr`` (int64), in one compressed file per layer. ``csv``: SCALE-Sim's
    ``layer<i>/<OP>_SRAM_TRACE.csv`` (cycle, then one address or -1 per lane; reads are stamped
    one cycle late, the SRAM hit latency, as SCALE-Sim does)."""
    if fmt == "npz":
        arrays = {}
        for name, m in traces.items():
            cyc, lane = np.nonzero(m >= 0)
            arrays[f"{name}_cycle"] = cyc.astype(np.int64)
            arrays[f"{name}_lane"] = lane.astype(np.int16)
            arrays[f"{name}_addr"] = m[cyc, lane]
        np.savez_compressed(outdir / f"layer{lid}_demand_traces.npz", **arrays)
        return
    d = outdir / f"layer{lid}"
    d.mkdir(parents=True, exist_ok=True)
    for op, (name, m) in enumerate(traces.items()):
        cycles = np.arange(m.shape[0], dtype=np.int64) + (1 if op < 2 else 0)
        np.savetxt(d / f"{name}_SRAM_TRACE.csv", np.column_stack([cycles, m]), fmt="%i", delimiter=",")
