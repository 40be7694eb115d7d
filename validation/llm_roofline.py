"""Decode tokens/s of a 1 B-parameter LLM: ours against published on-device measurements (issue 19).

    python validation/llm_roofline.py [--prompt-len 128] [--new-tokens 128]

Published numbers (every row cites its source): llama.cpp / llamafile token generation ("eval", the
``tg`` test: tokens per second at batch 1) of TinyLlama 1.1B on Raspberry Pi 4 and 5, from Justine
Tunney, "LLaMA Now Goes Faster on CPUs", 2024-03-31, https://justine.lol/matmul/ (the table of
"prompt tok/sec" and "eval tok/sec" per model, weights, hardware and software). Device memory:
Raspberry Pi 5 (BCM2712) LPDDR4X-4267 on a 32-bit bus, 17.1 GB/s peak; Raspberry Pi 4 (BCM2711)
LPDDR4-3200 on a 32-bit bus, 12.8 GB/s peak (Raspberry Pi product briefs,
https://datasheets.raspberrypi.com/rpi5/raspberry-pi-5-product-brief.pdf and
https://datasheets.raspberrypi.com/rpi4/raspberry-pi-4-product-brief.pdf).

For each row the script prints the roofline bound (weights and KV cache read once per token at the
DRAM's peak bandwidth), the measured rate and its share of the bound, and ours: ``simulate_generation``
of TinyLlama on the ``soc-2026-lpddr5`` SoC (Table 2's CPU, an NVDLA-sized SMV) with the device's DRAM
put in, fp16 weights for the f16 rows and int8 weight-only quantization (``weight_dtype="int8"``: 8 bits
per weight and one fp16 scale per row, against q8_0's 8.5 bits: a scale per 32 weights) for the q8_0
rows. That SoC is not a Raspberry Pi (whose Cortex-A76/A72 cores run every op with NEON, no
accelerator): the comparison says how far the modeled SoC stands from a measured device with the same
memory, not that the model reproduces the Pi.
"""

from __future__ import annotations

import argparse
import dataclasses
import math

from smaug_fast import presets, simulate_generation, zoo
from smaug_fast.memory import PRESETS

TINYLLAMA = "tinyllama-1.1b"
PARAMS = 1_100_048_384

#: Raspberry Pi 4's memory: LPDDR4-3200 x32 (two x16 channels here), 12.8 GB/s, 8 GiB (the 8 GB
#: model: four times the rows of the preset's 8 Gb dies, which changes no timing).
RPI4_DRAM = dataclasses.replace(PRESETS["LPDDR4-3200-2ch-x16"], name="LPDDR4-3200-x32-8GB", rows=262144)


def _lpddr4x_4267():
    """LPDDR4X-4267 x32: the LPDDR4-3200 x16 pair at a 4267 MT/s clock with every timing kept in ns
    (JESD209-4's timings are in ns; LPDDR4X changes the I/O voltage, not the array), 17.1 GB/s."""
    base = RPI4_DRAM
    tck = 2000.0 / 4266.67
    scaled = {f.name: math.ceil(getattr(base, f.name) * base.tck_ns / tck - 1e-9)
              for f in dataclasses.fields(base) if f.name.endswith("_cycles") and f.name != "t_rtrs_cycles"}
    return dataclasses.replace(base, name="LPDDR4X-4267-x32-8GB", tck_ns=tck, **scaled)


#: (device, DRAM config, weights, bits per weight, measured tokens/s, software, source)
MEASURED = [
    ("Raspberry Pi 5", _lpddr4x_4267(), "f16", 16.0, 5.0, "llamafile-0.6.2", "https://justine.lol/matmul/"),
    ("Raspberry Pi 5", _lpddr4x_4267(), "q8_0", 8.5, 9.0, "llama.cpp 2024-03-26", "https://justine.lol/matmul/"),
    ("Raspberry Pi 4", RPI4_DRAM, "f16", 16.0, 2.0, "llama.cpp 2024-03-26", "https://justine.lol/matmul/"),
    ("Raspberry Pi 4", RPI4_DRAM, "q8_0", 8.5, 3.0, "llama.cpp 2024-03-26", "https://justine.lol/matmul/"),
]


def kv_bytes_per_token(context: int, bits: float = 16.0) -> float:
    """KV cache read by one decode step [B]: 22 layers x K and V x 4 KV heads x 64 x context tokens."""
    return 22 * 2 * 4 * 64 * context * bits / 8


#: Our weight option for each measured weight format.
WEIGHT_DTYPE = {"f16": "float16", "q8_0": "int8"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prompt-len", type=int, default=128)
    ap.add_argument("--new-tokens", type=int, default=128)
    args = ap.parse_args()
    g = zoo.transformer(TINYLLAMA, "decode", kv_len=args.prompt_len)
    assert g.num_params == PARAMS
    context = args.prompt_len + args.new_tokens // 2  # the mean KV length over the decode steps
    print(f"TinyLlama 1.1B decode, batch 1, prompt {args.prompt_len}, {args.new_tokens} new tokens; "
          "ours: soc-2026-lpddr5 with the device's DRAM, fp16 or int8 weights")
    head = (f"{'device':15s} {'DRAM':18s} {'GB/s':>6s} {'weights':>7s} {'MB/token':>9s} {'roofline':>9s} "
            f"{'measured':>9s} {'meas/roof':>9s} {'ours':>7s} {'ours/meas':>9s}  source")
    print(head)
    print("-" * len(head))
    ratios, shares = [], []
    for device, dram, weights, bits, measured, software, source in MEASURED:
        per_token = PARAMS * bits / 8 + kv_bytes_per_token(context)
        roof = dram.peak_bandwidth_bytes_per_s / per_token
        shares.append(measured / roof)
        system = presets.load("soc-2026-lpddr5", dram=dram)
        r = simulate_generation(TINYLLAMA, system, prompt_len=args.prompt_len, new_tokens=args.new_tokens,
                                weight_dtype=WEIGHT_DTYPE[weights])  # memoized: one run per DRAM and dtype
        ours = r.tokens_per_s
        ratios.append(ours / measured)
        print(f"{device:15s} {dram.name:18s} {dram.peak_bandwidth_bytes_per_s / 1e9:6.1f} {weights:>7s} "
              f"{per_token / 1e6:9.0f} {roof:9.2f} {measured:9.2f} {measured / roof:9.0%} "
              f"{ours:7.2f} {ours / measured:9.2f}  {software}, {source}")
    print(f"summary: ours / measured {', '.join(f'{x:.2f}' for x in ratios)}; the devices reach "
          f"{min(shares):.0%}-{max(shares):.0%} of their DRAM roofline")


if __name__ == "__main__":
    main()
