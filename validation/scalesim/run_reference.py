"""Run the real SCALE-Sim 3.0.0 once and report its CPU time (executed inside SCALE-Sim's own venv).

Usage (by compare.py, or by hand):
    .venv-scalesim/bin/python run_reference.py CONFIG.cfg TOPOLOGY.csv LAYOUT.csv OUTDIR [--gemm]

Writes SCALE-Sim's reports under OUTDIR/<run_name>/ and prints one JSON line with the CPU seconds
(process time, since the machine is shared and wall time is not meaningful).
"""

import json
import os
import sys
import time


def main(argv):
    config, topology, layout, outdir = argv[:4]
    gemm = "--gemm" in argv[4:]
    t_import = time.process_time()
    from scalesim.scale_sim import scalesim

    t0 = time.process_time()
    sim = scalesim(
        save_disk_space=True,  # no traces: we time the report path only
        verbose=False,
        config=config,
        topology=topology,
        layout=layout,
        input_type_gemm=gemm,
    )
    os.makedirs(outdir, exist_ok=True)
    sim.run_scale(top_path=outdir)
    t1 = time.process_time()
    print(json.dumps({"cpu_s": t1 - t0, "import_cpu_s": t0 - t_import}))


if __name__ == "__main__":
    main(sys.argv[1:])
