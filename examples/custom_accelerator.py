"""A user-defined accelerator: a weight-streaming dot-product engine, in about 40 lines.

It implements the two required methods of :class:`smaug_fast.accelerators.Accelerator`:
``supports(op)`` and ``invocation_cost(work)``. Tiling comes for free: the default ``tile()`` applies
SMAUG's SMV tiling rules with this accelerator's scratchpad size and widths (fields named
``spad_bytes``, ``num_pes``, ``maccs_per_pe``, ``vector_width``, ``alignment`` are picked up).

Run it: ``python examples/custom_accelerator.py``
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from smaug_fast import System, zoo
from smaug_fast.accelerators import Accelerator, TileCost, TileWork


@dataclass(frozen=True)
class DotEngine(Accelerator):
    """``lanes`` MACs per cycle fed from a scratchpad of ``spad_bytes``; a fixed start-up per invocation."""

    kind: ClassVar[str] = "dot_engine"

    freq_hz: float = 800e6  # clock [Hz]
    lanes: int = 64  # MACs per cycle
    spad_bytes: int = 16 * 1024  # each of the three scratchpads [B]
    num_pes: int = 8  # output maps per pass: the tiler steps output channels by this
    maccs_per_pe: int = 8  # channels per pass: the tiler steps input channels by this
    startup_cycles: int = 50  # pipeline fill and drain per invocation [cycles]
    mac_energy_j: float = 0.5e-12  # one MAC, operands included [J]

    def supports(self, op) -> bool:
        return op.kind in ("conv", "inner_product")

    def invocation_cost(self, work: TileWork) -> TileCost:
        compute = self.startup_cycles + -(-work.macs // self.lanes)
        return TileCost(compute_cycles=compute, energy_j=work.macs * self.mac_energy_j, macs=work.macs)


def main() -> None:
    engine = DotEngine()
    system = System(accelerator=engine, num_accelerators=2)
    assert System.from_dict(system.to_dict()) == system  # registered by its kind: round-trips
    total = 0.0
    for op in zoo.load("lenet5").topological_order():
        if engine.supports(op):
            cost = engine.op_cost(op, system.num_accelerators)
            plan = engine.tile(op)
            total += cost.seconds
            print(
                f"{op.name:10s} {op.kind:14s} tiles {plan.tile_shapes}  {cost.cycles:8d} cycles  "
                f"{cost.energy_j * 1e6:.2f} uJ"
            )
    print(f"accelerator time for LeNet5 on 2 engines: {total * 1e6:.1f} us")


if __name__ == "__main__":
    main()
