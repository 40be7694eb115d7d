"""The closed sets of choices the simulator passes between layers, as enums.

Strings appear only at the API edge (a ``System(interface="acp")``, a TOML file, the command line);
each is parsed once with :func:`parse`, which raises a ConfigError naming the field, the value and the
choices. Inside, the values are these enums. Every one is a :class:`enum.StrEnum` whose value is the
string users write, so it prints, formats and serializes (JSON, netCDF attributes) as that string and
compares equal to it; its hash is the string's, so a dict keyed by either finds both.
"""

from __future__ import annotations

from enum import StrEnum

from .errors import ConfigError, describe


class Choice(StrEnum):
    """Base of the project's enums: equal to, and hashed as, its value."""

    __hash__ = str.__hash__  # the C slot: these are dictionary keys on the simulator's hot paths

    @classmethod
    def values(cls) -> tuple[str, ...]:
        return tuple(m.value for m in cls)


class Interface(Choice):
    """How accelerators reach memory: SMAUG's graph ``mem_policy`` (``AllDma``, ``AllAcp``,
    ``AllAcpWithDmaForWeights``; ``core/globals.h``)."""

    DMA = "dma"
    ACP = "acp"
    ACP_DMA_WEIGHTS = "acp_dma_weights"


class TransferMode(Choice):
    """How one tensor's tiles move between host memory and a scratchpad."""

    DMA = "dma"  # flush/invalidate the CPU caches, then DMA to or from DRAM
    ACP = "acp"  # coherent line accesses through the last-level cache


class Role(Choice):
    """The part a tensor plays in an accelerated op's tiling plan."""

    INPUT = "input"
    INPUT1 = "input1"  # the second operand of an element-wise op
    WEIGHTS = "weights"
    OUTPUT = "output"


class TilingStrategy(Choice):
    """SMAUG's tiling strategies (``smv/smv_tiling_common.h`` ``TilingDims``): the dimensions of a
    tensor that are cut into tiles; ``NONE`` keeps the tensor whole."""

    NONE = "None"
    N = "N"
    NC = "NC"
    NH = "NH"
    NW = "NW"
    NHW = "NHW"
    NCH = "NCH"
    NCW = "NCW"

    def tiles(self, dim: str) -> bool:
        """Whether this strategy cuts dimension ``dim`` (one of ``"N"``, ``"H"``, ``"W"``, ``"C"``)."""
        return self is not TilingStrategy.NONE and dim in self.value


class Scheduler(Choice):
    """The loop nest that orders an op's invocations (the ``run`` of SMAUG's ``smv_*_op.cpp``)."""

    CONV = "conv"
    INNER_PRODUCT = "inner_product"
    POOL = "pool"
    BATCH_NORM_CONV = "batch_norm_conv"
    BATCH_NORM_FC = "batch_norm_fc"
    ELEMENTWISE = "elementwise"


class Dataflow(Choice):
    """Which operand a systolic array keeps in its processing elements (SCALE-Sim's ``Dataflow``)."""

    OS = "os"  # output stationary
    WS = "ws"  # weight stationary
    IS = "is"  # input stationary


class OpKind(Choice):
    """The kinds of per-element work of an image-pipeline stage (:mod:`smaug_fast.pipelines`): the
    primitives of a Halide algorithm, each with a micro-op cost in
    :data:`smaug_fast.pipelines.cost.UOPS`."""

    ADD = "add"  # add or subtract
    AVG = "avg"  # rounding average of two values (Halide's avg, x86 PAVGW)
    ABSD = "absd"  # absolute difference
    MINMAX = "minmax"  # min or max (a clamp is two)
    MUL = "mul"
    SHIFT = "shift"  # shift, or division by a power of two
    COMPARE = "compare"
    SELECT = "select"  # choose between two values by a mask
    CAST = "cast"  # widen or narrow (with or without saturation)
    SHUFFLE = "shuffle"  # interleave or deinterleave lanes
    LUT = "lut"  # a table lookup with a data-dependent index (a gather)
    CALL = "call"  # a math-library call such as powf
    LOAD = "load"  # a load of one element from a buffer
    STORE = "store"  # a store of one element to a buffer


class Storage(Choice):
    """Where an image-pipeline stage keeps what it computes (Halide's ``compute_at`` / ``store_at``)."""

    LINE_BUFFER = "line_buffer"  # computed row by row inside each strip, in a per-thread buffer of a few rows
    INLINE = "inline"  # recomputed wherever it is used; never stored
    ROOT = "root"  # computed once for the whole frame before the strips (compute_root), e.g. a LUT
    OUTPUT = "output"  # the pipeline's result, a frame in memory written strip by strip


class TaskKind(Choice):
    """What a scenario's task runs (:mod:`smaug_fast.scenario`)."""

    DNN = "dnn"  # a Graph, through simulate
    PIPELINE = "pipeline"  # a CPU image pipeline


def transfer_modes(interface: Interface) -> dict[Role, TransferMode]:
    """Per role, how its tiles move under ``interface`` (SMAUG's ``AllDma``, ``AllAcp`` and
    ``AllAcpWithDmaForWeights``: activations through the ACP, weights by DMA)."""
    if interface is Interface.DMA:
        return {r: TransferMode.DMA for r in Role}
    if interface is Interface.ACP:
        return {r: TransferMode.ACP for r in Role}
    return {r: TransferMode.DMA if r is Role.WEIGHTS else TransferMode.ACP for r in Role}


def parse(kind: type[Choice], value: object, field: str) -> Choice:
    """``value`` (a member or its string) as a member of ``kind``; ConfigError naming ``field`` otherwise."""
    if isinstance(value, kind):
        return value
    if isinstance(value, str):
        try:
            return kind(value)
        except ValueError:
            pass
    raise ConfigError(f"{field} = {describe(value)}: must be one of {', '.join(map(repr, kind.values()))}")


__all__ = ["Choice", "Dataflow", "Interface", "ModelFamily", "Phase", "OpKind", "Role", "Scheduler", "Storage", "TaskKind", "TilingStrategy",
           "TransferMode", "parse", "transfer_modes"]


class Phase(Choice):
    """Which part of transformer inference a graph models (zoo.transformer)."""

    PREFILL = "prefill"  # the whole prompt at once: seq_len queries against seq_len keys
    DECODE = "decode"  # seq_len new tokens (usually 1) against the KV cache of kv_len tokens plus themselves


class ModelFamily(Choice):
    """Transformer architectures zoo.transformer builds, by HuggingFace ``model_type``."""

    GPT2 = "gpt2"  # pre-LN decoder, learned positions, fused QKV with biases, gelu_new, tied LM head
    BERT = "bert"  # post-LN encoder, word + position + token-type embeddings, pooler
    LLAMA = "llama"  # pre-RMS-norm decoder, rotary, grouped-query attention, SwiGLU, no biases
    VIT = "vit"  # pre-LN encoder over 16x16 patches, class token, classifier on it


class BatchMatMulMapping(Choice):
    """How zoo.transformer's attention runs its batched matrix products (scores and context)."""

    FUSED = "fused"  # one Attention op on the CPU: products, mask and softmax fused (flash attention)
    CPU = "cpu"  # one BatchMatMul op each, on the CPU (SMV has no batched kernel); mask and softmax apart
    INNER_PRODUCTS = "inner_products"  # unrolled: one inner product per batch item, on the accelerator
