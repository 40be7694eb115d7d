"""Bit-exact regression snapshots of ``simulate`` and ``sweep`` (issue 14: the staged engine must give
every result it gave before, to the last bit).

``python tests/golden/golden.py`` rewrites ``simulate.json`` and ``sweep.json`` from the code as it is;
``tests/test_golden.py`` recomputes each entry and compares its digest (tolerance 0). A digest is the
SHA-256 of every number of a result written as ``float.hex`` (so one ulp changes it), with the
headline numbers kept in clear beside it so that a mismatch says what moved.

Regenerate only when a change is meant to move results, and say so in the commit message.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SIMULATE_FILE = HERE / "simulate.json"
SWEEP_FILE = HERE / "sweep.json"

#: The presets recorded: SMAUG's three (presets added later, such as the LLM-era SoCs, are not part
#: of this regression, so adding one leaves the recorded cases as they are).
PRESETS = ("smaug-table2", "smaug-repo", "smaug-sweep")
INTERFACES = ("dma", "acp")
ACCELERATORS = (1, 8)
THREADS = (1, 8)


def _canon(value) -> object:
    """A JSON-able form of ``value`` in which every float is exact (``float.hex``)."""
    if isinstance(value, dict):
        return {str(k): _canon(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_canon(v) for v in value]
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            return [float(v).hex() for v in value.ravel()]
        return [_canon(v) for v in value.ravel().tolist()]
    if isinstance(value, (float, np.floating)):
        return float(value).hex()
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    return str(value)


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(_canon(obj), sort_keys=True).encode()).hexdigest()


def result_record(r) -> dict:
    """Everything ``simulate`` returned, as a digest, plus the headline numbers in clear."""
    ops = [
        [o.name, o.kind, o.device, o.latency_s, o.breakdown_s, o.detail_s, o.energy_j, o.macs, o.invocations,
         o.dram_read_bytes, o.dram_write_bytes, o.tiling]
        for o in r.ops
    ]
    tl = r.timeline
    body = {
        "network": r.network, "latency_s": r.latency_s, "breakdown_s": r.breakdown_s, "detail_s": r.detail_s,
        "energy_j": r.energy_j, "energy_breakdown_j": r.energy_breakdown_j, "energy_detail_j": r.energy_detail_j,
        "dram_read_bytes": r.dram_read_bytes, "dram_write_bytes": r.dram_write_bytes, "macs": r.macs,
        "ops": ops, "cache_stats": r.cache_stats,
        "timeline": [tl.resource, tl.phase, tl.op, tl.start_s, tl.end_s],
    }
    return {
        "latency_s": float(r.latency_s).hex(), "energy_j": float(r.energy_j).hex(),
        "dram_bytes": int(r.dram_read_bytes + r.dram_write_bytes), "digest": _digest(body),
    }


def dataset_record(ds) -> dict:
    """Every variable and coordinate of a sweep Dataset (values, dims, attrs but the version, revision and time stamps)."""
    variables = {}
    for name in sorted(list(ds.data_vars) + list(ds.coords)):
        v = ds[name]
        variables[name] = {"dims": list(v.dims), "attrs": {k: str(a) for k, a in sorted(v.attrs.items())},
                           "digest": _digest(np.asarray(v.values))}
    stamps = ("smaug_fast_version", "git_revision", "created")
    attrs = {k: str(a) for k, a in sorted(ds.attrs.items()) if k not in stamps}
    return {"sizes": dict(ds.sizes), "attrs_digest": _digest(attrs), "variables": variables}


def simulate_cases():
    """(key, network, preset, changes): every zoo network x preset x interface x accelerators x threads."""
    from smaug_fast import presets, zoo

    for net, preset, iface, nacc, nthr in itertools.product(
        zoo.names(), PRESETS, INTERFACES, ACCELERATORS, THREADS
    ):
        key = f"{net}|{preset}|{iface}|acc{nacc}|thr{nthr}"
        changes = {"interface": iface, "num_accelerators": nacc, "cpu_threads": nthr}
        if nthr > presets.load(preset).cpu.cores:  # smaug-repo has one core: give the threads theirs
            changes["cpu.cores"] = nthr
        yield key, net, preset, changes


def run_simulate_case(net: str, preset: str, changes: dict) -> dict:
    from smaug_fast import presets, simulate, zoo

    return result_record(simulate(zoo.load(net), presets.load(preset, **changes)))


#: The sweeps of tests/test_sweep.py (and one over memory-pass fields), by name.
SWEEPS = {
    "serial_axes": dict(networks=["minerva", "lenet5"], axes={"interface": ["dma", "acp"], "num_accelerators": [1, 2]}),
    "zipped": dict(networks="minerva", axes={"num_accelerators": [1, 2, 4], "cpu_threads": [1, 2, 4]},
                   zip_axes=[["num_accelerators", "cpu_threads"]]),
    "memory_fields": dict(networks=["lenet5", "cnn10"],
                          axes={"l2.size_bytes": ["1MiB", "4MiB"], "dma.ignore_cache_flush": [False, True],
                                "interface": ["dma", "acp_dma_weights"], "cpu_threads": [1, 4]}),
}


def run_sweep_case(name: str) -> dict:
    from smaug_fast import presets, sweep

    spec = dict(SWEEPS[name])
    networks = spec.pop("networks")
    axes = spec.pop("axes")
    ds = sweep(networks, presets.load("smaug-table2"), axes, executor="serial", progress=False, **spec)
    return dataset_record(ds)


def per_op_sweep_record() -> dict:
    from smaug_fast import presets, sweep

    tree = sweep(["minerva", "cnn10"], presets.load("smaug-table2"), {"interface": ["dma", "acp"]},
                 executor="serial", progress=False, per_op=True)
    return {path: dataset_record(node.to_dataset()) for path, node in sorted(tree.subtree_with_keys)} \
        if hasattr(tree, "subtree_with_keys") else {
            node.path: dataset_record(node.to_dataset()) for node in tree.subtree}


def main(argv: list[str]) -> int:
    sim = {}
    for key, net, preset, changes in simulate_cases():
        sim[key] = run_simulate_case(net, preset, changes)
        print(key, sim[key]["latency_s"], file=sys.stderr)
    SIMULATE_FILE.write_text(json.dumps(sim, indent=1, sort_keys=True) + "\n")
    sweeps = {name: run_sweep_case(name) for name in SWEEPS}
    sweeps["per_op"] = per_op_sweep_record()
    SWEEP_FILE.write_text(json.dumps(sweeps, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(sim)} simulate records and {len(sweeps)} sweep records", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
