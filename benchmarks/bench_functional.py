"""Whole-network functional forward pass: smaug_fast (Numba kernels) against PyTorch CPU, same run.

    python benchmarks/bench_functional.py [--network resnet50_imagenet] [--repeats 10] [--batch 1] [--threads N]

Needs the [torch] extra. Prints, for the network (default: ResNet50, 224x224, batch 1, fp32):

- first call, cold: run_functional in a fresh process with an empty Numba cache (compiles every kernel)
- first call, cached: the same in another fresh process once the cache is filled (``cache=True``)
- steady state: ``repeats`` forward passes of each, interleaved (ours, torch, ours, ...) so that load
  from other processes hits both alike; median and best times and their ratio (ours / torch).

Weights and inputs are drawn once and handed to both sides; PyTorch gets its weights pre-converted to
its own NCHW order, and runs under ``inference_mode``. Neither side's setup is timed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def first_call(network: str, batch: int) -> dict:
    """Time the first run_functional of this process (run in a subprocess by main)."""
    t0 = time.perf_counter()
    import smaug_fast

    t1 = time.perf_counter()
    graph = smaug_fast.zoo.load(network, batch=batch, dtype="float32")
    values = smaug_fast.numerics.default_values(graph)
    inputs = {t.name: values[t.name] for t in graph.inputs}
    weights = {t.name: values[t.name] for t in graph.constants}
    t2 = time.perf_counter()
    smaug_fast.run_functional(graph, inputs=inputs, weights=weights)
    t3 = time.perf_counter()
    smaug_fast.run_functional(graph, inputs=inputs, weights=weights)
    t4 = time.perf_counter()
    return {"import_s": t1 - t0, "draw_weights_s": t2 - t1, "first_call_s": t3 - t2, "second_call_s": t4 - t3}


def _subprocess_first_call(network: str, batch: int, cache_dir: str) -> dict:
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir}
    cmd = [sys.executable, __file__, "--first-call-only", "--network", network, "--batch", str(batch)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def steady_state(network: str, batch: int, repeats: int) -> dict:
    import numpy as np
    import torch

    import smaug_fast
    from smaug_fast.numerics.torch_reference import TorchNetwork

    if os.environ.get("OMP_NUM_THREADS"):
        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

    graph = smaug_fast.zoo.load(network, batch=batch, dtype="float32")
    values = smaug_fast.numerics.default_values(graph)
    inputs = {t.name: values[t.name] for t in graph.inputs}
    weights = {t.name: values[t.name] for t in graph.constants}
    net = TorchNetwork(graph, values)

    def ours():
        return smaug_fast.run_functional(graph, inputs=inputs, weights=weights)

    ours()
    net.forward()  # warm-up (PyTorch picks its algorithms on the first call)
    t_ours, t_torch = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        out = ours()
        t_ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        net.forward()
        t_torch.append(time.perf_counter() - t)
    ref = net.run()
    err = max(
        float(np.abs(out[k].astype(np.float64) - ref[k]).max() / max(np.abs(ref[k]).max(), 1e-30)) for k in out
    )
    return {
        "ours_median_s": statistics.median(t_ours),
        "ours_best_s": min(t_ours),
        "torch_median_s": statistics.median(t_torch),
        "torch_best_s": min(t_torch),
        "torch_threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
        "max_normalized_output_error": err,
        "macs": graph.macs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--network", default="resnet50_imagenet")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--first-call-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--skip-cold", action="store_true", help="skip the empty-cache compile measurement")
    parser.add_argument(
        "--threads", type=int, default=None, help="threads for both BLAS (OpenBLAS) and PyTorch (default: their own)"
    )
    args = parser.parse_args()
    if args.threads is not None:
        # Before NumPy/SciPy load OpenBLAS (Numba's np.dot calls SciPy's BLAS).
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.threads)
    if args.first_call_only:
        print(json.dumps(first_call(args.network, args.batch)))
        return

    print(f"network {args.network}, batch {args.batch}, float32, {os.cpu_count()} CPUs")
    if not args.skip_cold:
        with tempfile.TemporaryDirectory(prefix="smaug_fast_numba_") as cache:
            cold = _subprocess_first_call(args.network, args.batch, cache)
            cached = _subprocess_first_call(args.network, args.batch, cache)
        print(f"first call, empty Numba cache (compile + run): {cold['first_call_s']:7.2f} s")
        print(f"first call, filled Numba cache (load + run):   {cached['first_call_s']:7.2f} s")
        print(f"second call in that process (run only):        {cached['second_call_s']:7.2f} s")
        print(f"drawing the default weights (not in the above): {cached['draw_weights_s']:7.2f} s")
    r = steady_state(args.network, args.batch, args.repeats)
    torch_info = f"torch {r['torch_version']}, {r['torch_threads']} threads"
    print(f"steady state, {args.repeats} interleaved runs each ({torch_info}):")
    print(f"  smaug_fast  median {r['ours_median_s'] * 1e3:8.1f} ms   best {r['ours_best_s'] * 1e3:8.1f} ms")
    print(f"  PyTorch     median {r['torch_median_s'] * 1e3:8.1f} ms   best {r['torch_best_s'] * 1e3:8.1f} ms")
    print(
        f"  ratio smaug_fast / PyTorch: median {r['ours_median_s'] / r['torch_median_s']:.2f}x, "
        f"best {r['ours_best_s'] / r['torch_best_s']:.2f}x (goal: <= 3x)"
    )
    print(f"  outputs agree: max |ours - torch| / max |torch| = {r['max_normalized_output_error']:.1e}")


if __name__ == "__main__":
    main()
