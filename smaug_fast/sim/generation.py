"""``simulate_generation``: an LLM's prefill and its decode steps on an SoC, token after token (issue 19).

Generating ``new_tokens`` tokens after a prompt of ``prompt_len`` tokens is one prefill (the prompt's
forward pass; its last token's logits are the first new token) and ``new_tokens - 1`` decode steps;
step ``i`` (``i = 1 ... new_tokens - 1``) reads a KV cache of ``kv_len = prompt_len + i - 1`` tokens
and appends one. Each phase is an ordinary graph of :func:`smaug_fast.zoo.transformer` simulated by
:func:`~smaug_fast.sim.simulate`, so the KV cache goes through the caches, DMA or ACP like every other
tensor, and the breakdown (accelerator compute, data transfer, CPU) and per-op rows are simulate's.

**Cost not linear in new_tokens.** Decode steps differ only in ``kv_len``; the ops that do not read
the cache (every linear layer, norm and MLP op) have the same shapes at every step. Each decode graph
has the same ops by name, and what an op costs is a smooth function of ``kv_len``: the attention ops'
MACs, CPU work and bytes are affine in it, the rest are constant but for the cache state the
attention ops leave behind. So by default the decode steps are simulated at ``samples`` values of
``kv_len`` spread evenly from the first step's to the last's (both included) and every quantity of
every op (latency, each phase, energy, DRAM bytes) is interpolated linearly between the two nearest
samples: a generation costs one prefill and ``samples`` decode simulations, whatever ``new_tokens``
is. ``exact=True`` simulates every step. The interpolation is exact for quantities affine in
``kv_len`` and off by the curvature of the rest (cache effects as the KV cache outgrows the LLC); the
tests bound its error against ``exact=True`` (``tests/test_generation.py``). Results of decode steps
and prefills are memoized in :data:`~smaug_fast.memo.SIM_CACHE` on (architecture, phase, lengths,
batch, dtype, system), so a step simulated once is reused by any later generation on that system, and
whole generations on all their arguments (table ``generation``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..choices import BatchMatMulMapping, ModelFamily
from ..errors import ConfigError, WorkloadError, describe
from ..hardware import System
from ..memo import SIM_CACHE
from .result import DETAIL_PHASES, ENERGY_COMPONENTS, ENERGY_DETAIL, PHASES, OpResult, Result

#: Decode steps simulated by default (the rest interpolated): ``tests/test_generation.py`` bounds the
#: error this leaves against simulating every step.
DEFAULT_SAMPLES = 5

#: The system a generation runs on when none is given: the LLM-era phone SoC (16 GiB of LPDDR5; the
#: paper's Table 2 SoC has 4 GiB, too little for a 1 B-parameter model's prefill as SMAUG allocates it).
DEFAULT_PRESET = "soc-2026-lpddr5"

#: Bound of the memo of step results.
_STEPS = 256

_VARIABLES: dict[str, tuple[str, str]] = {
    "ttft_s": ("s", "time to first token: the prefill of the prompt (its last token's logits are the first token)"),
    "tpot_s": ("s", "mean time per output token over the decode steps (NaN when new_tokens = 1)"),
    "tokens_per_s": ("1/s", "decode throughput: batch / tpot_s (tokens of all sequences per second)"),
    "e2e_tokens_per_s": ("1/s", "batch x new_tokens / latency_s"),
    "latency_s": ("s", "the whole generation: prefill and every decode step"),
    "energy_j": ("J", "energy of the whole generation"),
    "energy_per_token_j": ("J", "energy_j / (batch x new_tokens)"),
    **{f"{p}_s": ("s", f"critical-path time of the generation in phase {p}") for p in PHASES},
    **{f"energy_{c}_j": ("J", f"energy of component {c} over the generation") for c in ENERGY_COMPONENTS},
    "dram_read_bytes": ("B", "bytes read from DRAM over the generation"),
    "dram_write_bytes": ("B", "bytes written to DRAM over the generation"),
}

#: The generation's own variables a sweep over ``new_tokens`` stores beside :data:`~.result.VARIABLES`.
GENERATION_VARIABLES = {k: _VARIABLES[k] for k in ("ttft_s", "tpot_s", "tokens_per_s", "energy_per_token_j")}

_OP_FIELDS = ("latency_s", "energy_j", "macs", "invocations", "dram_read_bytes", "dram_write_bytes")


@dataclass(frozen=True)
class GenerationResult:
    """A simulated generation: the prefill, the decode steps and their totals.

    Times [s], energies [J], bytes [B]. ``step_s[i]`` is decode step ``i + 1``, which reads a KV cache of
    ``step_kv_len[i]`` tokens. ``decode_ops`` holds one row per op of the decode graph with its values
    summed over every decode step; ``prefill`` is the prefill's own :class:`~.result.Result`.
    ``samples`` are the ``kv_len`` values simulated (every step when ``exact``). ``weight_dtype`` (the
    linear layers' weights in memory: the activations' dtype or "int8") and ``batch_matmul`` (where
    attention ran its batched products) are the workload options it was simulated with.
    """

    network: str
    prompt_len: int
    new_tokens: int
    batch: int
    ttft_s: float
    tpot_s: float
    step_s: np.ndarray
    step_kv_len: np.ndarray
    latency_s: float
    breakdown_s: dict[str, float]
    detail_s: dict[str, float]
    energy_j: float
    energy_breakdown_j: dict[str, float]
    dram_read_bytes: int
    dram_write_bytes: int
    prefill: Result
    decode_ops: tuple[OpResult, ...]
    samples: tuple[int, ...]
    exact: bool
    system: object = field(default=None, repr=False)
    energy_detail_j: dict[str, float] = field(default_factory=dict)
    macs: int = 0
    weight_dtype: str = "float16"
    batch_matmul: str = "fused"

    @property
    def tokens_per_s(self) -> float:
        """Decode throughput [tokens/s]: ``batch / tpot_s`` (what llama.cpp's ``tg`` test reports for
        batch 1); NaN without decode steps."""
        return self.batch / self.tpot_s if self.tpot_s > 0 else math.nan

    @property
    def e2e_tokens_per_s(self) -> float:
        """Tokens of every sequence over the whole generation, prefill included [tokens/s]."""
        return self.batch * self.new_tokens / self.latency_s

    @property
    def energy_per_token_j(self) -> float:
        """Energy of the generation per generated token [J]."""
        return self.energy_j / (self.batch * self.new_tokens)

    @property
    def decode_s(self) -> float:
        """Time of all decode steps [s]."""
        return float(self.step_s.sum())

    def scalars(self) -> dict[str, float]:
        out = {"ttft_s": self.ttft_s, "tpot_s": self.tpot_s, "tokens_per_s": self.tokens_per_s,
               "e2e_tokens_per_s": self.e2e_tokens_per_s, "latency_s": self.latency_s, "energy_j": self.energy_j,
               "energy_per_token_j": self.energy_per_token_j}
        out.update({f"{p}_s": self.breakdown_s[p] for p in PHASES})
        out.update({f"energy_{c}_j": self.energy_breakdown_j[c] for c in ENERGY_COMPONENTS})
        out["dram_read_bytes"] = float(self.dram_read_bytes)
        out["dram_write_bytes"] = float(self.dram_write_bytes)
        return out

    def result_scalars(self) -> dict[str, float]:
        """The generation's totals under the names of :meth:`.Result.scalars` (every variable of
        :data:`~.result.VARIABLES`), and :data:`GENERATION_VARIABLES` (what a sweep stores per point)."""
        out = {"latency_s": self.latency_s}
        out.update({f"{p}_s": self.breakdown_s[p] for p in PHASES})
        out.update({f"{p}_detail_s": self.detail_s[p] for p in DETAIL_PHASES})
        out["energy_j"] = self.energy_j
        out.update({f"energy_{c}_j": self.energy_breakdown_j[c] for c in ENERGY_COMPONENTS})
        out.update({f"energy_detail_{c}_j": self.energy_detail_j.get(c, 0.0) for c in ENERGY_DETAIL})
        out["dram_read_bytes"] = float(self.dram_read_bytes)
        out["dram_write_bytes"] = float(self.dram_write_bytes)
        out["dram_bytes"] = float(self.dram_read_bytes + self.dram_write_bytes)
        out["dram_bandwidth_bytes_per_s"] = out["dram_bytes"] / self.latency_s if self.latency_s > 0 else 0.0
        out["macs"] = float(self.macs)
        out.update({k: getattr(self, k) for k in GENERATION_VARIABLES})
        return out

    def to_dataset(self):
        """An xarray Dataset: the scalars, ``step_s`` along ``step`` (coordinate ``kv_len``), the decode
        ops' totals along ``op`` and the prefill's per-op rows along ``prefill_op``."""
        import json

        import xarray as xr

        data = {name: xr.DataArray(v, attrs={"units": _VARIABLES[name][0], "description": _VARIABLES[name][1]})
                for name, v in self.scalars().items()}
        data["step_s"] = xr.DataArray(self.step_s, dims=("step",), attrs={"units": "s", "description":
                                      "time of each decode step"})
        coords = {"step": np.arange(1, len(self.step_s) + 1), "kv_len": ("step", self.step_kv_len)}
        for which, rows, dim in (("op", self.decode_ops, "op"), ("prefill_op", self.prefill.ops, "prefill_op")):
            coords[dim] = [r.name for r in rows]
            coords[f"{dim}_kind"] = (dim, [r.kind for r in rows])
            for f in _OP_FIELDS:
                unit = "s" if f.endswith("_s") else "J" if f.endswith("_j") else "B" if f.endswith("_bytes") else "1"
                data[f"{which}_{f}"] = xr.DataArray(np.asarray([getattr(r, f) for r in rows], dtype=float),
                                                    dims=(dim,), attrs={"units": unit})
            for p in PHASES:
                data[f"{which}_{p}_s"] = xr.DataArray(np.asarray([r.breakdown_s[p] for r in rows]), dims=(dim,),
                                                      attrs={"units": "s"})
        attrs = {"network": self.network, "prompt_len": self.prompt_len, "new_tokens": self.new_tokens,
                 "batch": self.batch, "exact": int(self.exact), "samples": json.dumps(list(self.samples)),
                 "weight_dtype": self.weight_dtype, "batch_matmul": self.batch_matmul}
        if self.system is not None and hasattr(self.system, "to_dict"):
            attrs["system"] = json.dumps(self.system.to_dict(), sort_keys=True, default=str)
        return xr.Dataset(data, coords=coords, attrs=attrs)

    def summary(self) -> str:
        """A readable table."""
        ms = 1e3
        lines = [
            f"{self.network}: prompt {self.prompt_len}, {self.new_tokens} new tokens, batch {self.batch}, "
            f"weights {self.weight_dtype}, batch_matmul {self.batch_matmul}"
            f"{' (every step simulated)' if self.exact else f' ({len(self.samples)} decode steps simulated)'}",
            f"  TTFT {self.ttft_s * ms:.3f} ms, TPOT {self.tpot_s * ms:.3f} ms, {self.tokens_per_s:.2f} tokens/s, "
            f"{self.energy_per_token_j * 1e3:.3f} mJ/token",
            f"  total {self.latency_s * ms:.3f} ms, {self.energy_j * 1e3:.3f} mJ, "
            f"DRAM {(self.dram_read_bytes + self.dram_write_bytes) / 1e6:.1f} MB",
        ]
        if len(self.step_s):
            lines.append(f"  decode steps: first {self.step_s[0] * ms:.3f} ms (kv_len {self.step_kv_len[0]}), "
                         f"last {self.step_s[-1] * ms:.3f} ms (kv_len {self.step_kv_len[-1]})")
        for p in PHASES:
            share = 100 * self.breakdown_s[p] / self.latency_s if self.latency_s else 0.0
            lines.append(f"  {p:<14} {self.breakdown_s[p] * ms:12.3f} ms  {share:5.1f} %")
        return "\n".join(lines)


def _positive(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise WorkloadError(f"simulate_generation: {name} = {describe(value)}: must be an integer >= 1")
    return int(value)


def _step(arch_key: tuple, config, phase: str, seq_len: int, kv_len: int | None, batch: int, dtype: str,
          system: System, weight_dtype: str | None = None, batch_matmul: str = "fused") -> Result:
    """One phase's Result, memoized on the architecture, the lengths, the dtypes, the batched-matmul
    mapping and the system."""
    from ..zoo.transformer import transformer
    from .engine import simulate

    def compute() -> Result:
        g = transformer(config, phase, seq_len=seq_len, kv_len=kv_len, batch=batch, dtype=dtype,
                        weight_dtype=weight_dtype, batch_matmul=batch_matmul)
        return simulate(g, system, timeline=False)

    key = (arch_key, phase, seq_len, kv_len, batch, dtype, weight_dtype, batch_matmul, system)
    return SIM_CACHE.get("generation_step", key, compute, _STEPS)


def sample_points(first: int, last: int, samples: int) -> np.ndarray:
    """The ``kv_len`` values simulated: ``samples`` integers spread evenly over [first, last], both
    included (every value when there are no more than ``samples``)."""
    n = last - first + 1
    if n <= samples:
        return np.arange(first, last + 1, dtype=np.int64)
    return np.unique(np.round(np.linspace(first, last, samples)).astype(np.int64))


def interpolation_weights(points: np.ndarray, kv: np.ndarray) -> np.ndarray:
    """W [steps, samples]: step ``i``'s value is ``W[i] @ values at points`` (linear between the two
    nearest points; a point itself gets weight 1)."""
    w = np.zeros((len(kv), len(points)))
    if len(points) == 1:
        w[:, 0] = 1.0
        return w
    hi = np.clip(np.searchsorted(points, kv, side="right"), 1, len(points) - 1)
    lo = hi - 1
    t = (kv - points[lo]) / (points[hi] - points[lo])
    rows = np.arange(len(kv))
    w[rows, lo] = 1.0 - t
    w[rows, hi] += t
    return w


def _op_matrix(r: Result) -> np.ndarray:
    """A Result's per-op rows as one array [ops, fields]: _OP_FIELDS, PHASES, DETAIL_PHASES."""
    return np.array([[getattr(o, f) for f in _OP_FIELDS] + [o.breakdown_s[p] for p in PHASES]
                     + [o.detail_s[p] for p in DETAIL_PHASES] for o in r.ops], dtype=float)


def _weighted_ops(results: list[Result], weights: np.ndarray) -> tuple[OpResult, ...]:
    """Each op's row summed over the steps: ``sum_k weights[k] x row in results[k]``."""
    base = results[0].ops
    for r in results[1:]:
        if len(r.ops) != len(base) or any(a.name != b.name for a, b in zip(r.ops, base)):
            raise WorkloadError("simulate_generation: decode graphs of different lengths have different ops")
    total = sum(w * _op_matrix(r) for w, r in zip(weights, results))
    nf, np_ = len(_OP_FIELDS), len(PHASES)
    rows = []
    for op, v in zip(base, total.tolist()):
        num = dict(zip(_OP_FIELDS, v[:nf]))
        rows.append(OpResult(
            name=op.name, kind=op.kind, device=op.device, latency_s=num["latency_s"],
            breakdown_s=dict(zip(PHASES, v[nf:nf + np_])), detail_s=dict(zip(DETAIL_PHASES, v[nf + np_:])),
            energy_j=num["energy_j"], macs=int(round(num["macs"])), invocations=int(round(num["invocations"])),
            dram_read_bytes=int(round(num["dram_read_bytes"])), dram_write_bytes=int(round(num["dram_write_bytes"])),
            tiling=op.tiling,
        ))
    return tuple(rows)


def simulate_generation(config, system: System | None = None, *, prompt_len: int, new_tokens: int, batch: int = 1,
                        exact: bool = False, samples: int = DEFAULT_SAMPLES, dtype: str = "float16",
                        weight_dtype: str | None = None, batch_matmul: str = "fused") -> GenerationResult:
    """Generate ``new_tokens`` tokens after a ``prompt_len``-token prompt for ``batch`` sequences.

    ``config``: a decoder's config (a shipped name such as ``"tinyllama-1.1b"`` or ``"gpt2"``, a dict,
    or a config.json path; see :func:`smaug_fast.zoo.transformer`). ``system``: default the
    ``soc-2026-lpddr5`` preset. ``exact``: simulate every decode step (default: ``samples`` of them,
    the rest interpolated; module docstring). ``dtype``, ``weight_dtype``: as
    :func:`smaug_fast.zoo.transformer` takes them (``weight_dtype="int8"``: weight-only quantization).
    ``batch_matmul``: how attention runs its batched products, as :func:`smaug_fast.zoo.transformer`
    takes it: "fused" (default, one flash-attention op on the CPU), "cpu" (HuggingFace's eager
    attention: batched products, mask and softmax apart) or "inner_products" (those products unrolled
    onto the accelerator).

    Raises WorkloadError for lengths < 1, a bad ``weight_dtype`` or ``batch_matmul``, a context (``prompt_len + new_tokens - 1``) beyond the model's
    maximum, an encoder config (BERT, ViT) or a bad config; ConfigError for a bad system or samples.
    """
    from .. import presets
    from ..zoo.transformer import load_config, parse_arch

    prompt_len = _positive("prompt_len", prompt_len)
    new_tokens = _positive("new_tokens", new_tokens)
    batch = _positive("batch", batch)
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 2:
        raise ConfigError(f"simulate_generation: samples = {describe(samples)}: must be an integer >= 2")
    if not isinstance(exact, bool):
        raise ConfigError(f"simulate_generation: exact = {describe(exact)}: must be True or False")
    if system is None:
        system = presets.load(DEFAULT_PRESET)
    if not isinstance(system, System):
        raise ConfigError(f"system = {describe(system)}: must be a smaug_fast System (e.g. presets.load('soc-2026-lpddr5'))")
    cfg = load_config(config)
    arch = parse_arch(cfg)
    if arch.family in (ModelFamily.BERT, ModelFamily.VIT):
        raise WorkloadError(f"simulate_generation: config model_type = {arch.family.value!r}: an encoder "
                            "generates no tokens (use a decoder: gpt2, llama)")
    if prompt_len > arch.max_pos:
        raise WorkloadError(f"simulate_generation: prompt_len = {prompt_len}: exceeds the model's maximum of "
                            f"{arch.max_pos} positions")
    context = prompt_len + new_tokens - 1
    if context > arch.max_pos:
        raise WorkloadError(f"simulate_generation: new_tokens = {new_tokens}: the context reaches {context} "
                            f"tokens (prompt_len {prompt_len} + new_tokens - 1), more than the model's maximum "
                            f"of {arch.max_pos} positions")
    if weight_dtype is not None and weight_dtype not in (dtype, "int8"):
        raise WorkloadError(f"simulate_generation: weight_dtype = {describe(weight_dtype)}: must be None, the "
                            f"dtype {dtype!r}, or 'int8'")
    weight_dtype = None if weight_dtype == dtype else weight_dtype
    if not isinstance(batch_matmul, str) or batch_matmul not in BatchMatMulMapping.values():
        raise WorkloadError(f"simulate_generation: batch_matmul = {describe(batch_matmul)}: must be one of "
                            f"{', '.join(BatchMatMulMapping.values())}")
    arch_key = (arch, dtype, weight_dtype, batch_matmul)
    name = config if isinstance(config, str) else arch.family.value
    key = (arch_key, name, prompt_len, new_tokens, batch, exact, None if exact else int(samples), system)
    return SIM_CACHE.get("generation", key, lambda: _generate(
        cfg, arch_key, name, prompt_len, new_tokens, batch, exact, int(samples), dtype, system, weight_dtype,
        batch_matmul), 64)


def _generate(cfg: dict, arch_key: tuple, name: str, prompt_len: int, new_tokens: int, batch: int, exact: bool,
              samples: int, dtype: str, system: System, weight_dtype: str | None = None,
              batch_matmul: str = "fused") -> GenerationResult:
    """The generation of :func:`simulate_generation`, its arguments checked (memoized there)."""
    prefill = _step(arch_key, cfg, "prefill", prompt_len, None, batch, dtype, system, weight_dtype, batch_matmul)
    kv = np.arange(prompt_len, prompt_len + new_tokens - 1, dtype=np.int64)
    if len(kv):
        points = kv if exact else sample_points(int(kv[0]), int(kv[-1]), int(samples))
        results = [_step(arch_key, cfg, "decode", 1, int(k), batch, dtype, system, weight_dtype, batch_matmul)
                   for k in points]
        w = np.eye(len(kv)) if exact else interpolation_weights(points, kv)
        total_w = w.sum(axis=0)
        step_s = w @ np.array([r.latency_s for r in results])
        decode_ops = _weighted_ops(results, total_w)
    else:
        points, results, total_w, step_s, decode_ops = kv, [], np.zeros(0), np.zeros(0), ()

    def total(get) -> float:
        return float(get(prefill) + sum(wk * get(r) for wk, r in zip(total_w, results)))

    return GenerationResult(
        network=name, prompt_len=prompt_len, new_tokens=new_tokens, batch=batch,
        ttft_s=prefill.latency_s, tpot_s=float(step_s.mean()) if len(step_s) else math.nan,
        step_s=step_s, step_kv_len=kv, latency_s=total(lambda r: r.latency_s),
        breakdown_s={p: total(lambda r, p=p: r.breakdown_s[p]) for p in PHASES},
        detail_s={p: total(lambda r, p=p: r.detail_s[p]) for p in DETAIL_PHASES},
        energy_j=total(lambda r: r.energy_j),
        energy_breakdown_j={c: total(lambda r, c=c: r.energy_breakdown_j[c]) for c in ENERGY_COMPONENTS},
        dram_read_bytes=int(round(total(lambda r: r.dram_read_bytes))),
        dram_write_bytes=int(round(total(lambda r: r.dram_write_bytes))),
        prefill=prefill, decode_ops=decode_ops, samples=tuple(int(k) for k in points), exact=exact, system=system,
        energy_detail_j={c: total(lambda r, c=c: r.energy_detail_j.get(c, 0.0)) for c in ENERGY_DETAIL},
        macs=int(round(total(lambda r: r.macs))),
        weight_dtype=weight_dtype or dtype, batch_matmul=batch_matmul,
    )


__all__ = ["DEFAULT_PRESET", "DEFAULT_SAMPLES", "GENERATION_VARIABLES", "GenerationResult", "interpolation_weights", "sample_points",
           "simulate_generation"]
