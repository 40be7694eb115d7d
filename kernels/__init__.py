"""Every Numba-jitted function of smaug_fast: numerics, trace generators, cache/DRAM/pipeline models.

Installed as ``smaug_fast.kernels``. This package sees only arrays and scalars and imports nothing
from the rest of the project (README.md, "Layout"; tests/test_packaging.py checks it). Public wrappers that validate user input live in
``smaug_fast``; the functions here trust their arguments.
"""
