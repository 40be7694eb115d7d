"""One GPT-2 layer built by ``zoo.transformer`` against SCALE-Sim's ``topologies/GEMM_mnk/gpt2.csv``.

    python validation/scalesim/gpt2_layer.py [--dataflows os,ws,is] [--arrays 32x32] [--no-scalesim]

SCALE-Sim ships the GEMMs of one GPT-2 layer (prefill of 1024 tokens, hidden size 1600, head size 64,
feed-forward 3072) as an M, N, K list. This script builds that layer from a HuggingFace-style GPT-2
config with those sizes (``n_embd 1600, n_head 25, n_inner 3072, n_positions 1024``, one layer), lists
the graph's matrix products (:func:`smaug_fast.workload.gemm.gemms`) beside SCALE-Sim's rows and checks
that they are the same shapes (attention scores and context once per head: SCALE-Sim lists one head),
then writes the graph's list as a SCALE-Sim topology and runs ``compare.py`` on it: SCALE-Sim 3.0.0
(installed in ``validation/scalesim/.venv`` on first use) against our systolic model, layer by layer,
every report value exact. ``--no-scalesim`` stops after the shape check.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import compare  # noqa: E402

from smaug_fast import zoo  # noqa: E402
from smaug_fast.workload.gemm import gemms  # noqa: E402

#: GPT-2 with SCALE-Sim's gpt2.csv sizes (hidden 1600 = 25 heads x 64; its feed-forward is 3072 wide).
CONFIG = {"model_type": "gpt2", "n_embd": 1600, "n_layer": 1, "n_head": 25, "n_inner": 3072,
          "vocab_size": 50257, "n_positions": 1024}
SEQ_LEN = 1024


def graph_gemms():
    """(name, M, N, K, batch) of the layer's matrix products (the LM head, outside the layer, left out)."""
    g = zoo.transformer(CONFIG, "prefill", seq_len=SEQ_LEN)
    return [x for x in gemms(g) if x.name.startswith("h0/")]


def scalesim_rows() -> list[tuple[str, int, int, int]]:
    lines = compare.topology_path("gpt2").read_text().splitlines()[1:]
    rows = []
    for line in lines:
        cells = [c.strip() for c in line.split(",") if c.strip()]
        if cells:
            rows.append((cells[0], int(cells[1]), int(cells[2]), int(cells[3])))
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataflows", default="os,ws,is")
    ap.add_argument("--arrays", default="32x32")
    ap.add_argument("--layers", default=None,
                    help="comma list of our op names to run through SCALE-Sim (e.g. h0_attn_attention_scores,"
                         "h0_attn_attention_context; "
                         "the four linear layers take SCALE-Sim tens of CPU-minutes each)")
    ap.add_argument("--no-scalesim", action="store_true", help="only check the shapes")
    args = ap.parse_args(argv)
    ours = graph_gemms()
    theirs = scalesim_rows()
    print(f"{'our op':<28} {'M':>6} {'N':>6} {'K':>6} {'x':>4}   SCALE-Sim row")
    left = list(theirs)
    for x in ours:
        match = next((r for r in left if r[1:] == (x.m, x.n, x.k)), None)
        if match:
            left.remove(match)
        print(f"{x.name:<28} {x.m:>6} {x.n:>6} {x.k:>6} {x.batch:>4}   {match[0] if match else '-- none'}")
    same = not left and len(ours) == len(theirs)
    print(f"\nshapes: {'the same ' + str(len(ours)) + ' GEMMs' if same else 'DIFFERENT: ' + str(left)}")
    if not same:
        return 1
    if args.no_scalesim:
        return 0
    compare.RUNS.mkdir(parents=True, exist_ok=True)
    topo = compare.RUNS / "gpt2_layer_from_graph.csv"
    topo.write_text("Layer,M,N,K,\n" + "".join(f"{x.name.replace('/', '_')},{x.m},{x.n},{x.k},\n" for x in ours))
    extra = ["--layers", args.layers] if args.layers else []
    return compare.main(["--topologies", str(topo), "--dataflows", args.dataflows, "--arrays", args.arrays, *extra])


if __name__ == "__main__":
    sys.exit(main())
