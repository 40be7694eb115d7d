"""The distribution installs every package of the repository under the names README.md (Layout) gives."""

from __future__ import annotations

import tomllib

from conftest import REPO_ROOT

ROOTS = {"smaug_fast": "smaug_fast", "kernels": "smaug_fast.kernels", "traces": "smaug_fast.traces"}


def _declared_packages() -> set[str]:
    with open(REPO_ROOT / "pyproject.toml", "rb") as fh:
        return set(tomllib.load(fh)["tool"]["setuptools"]["packages"])


def test_every_package_directory_is_declared():
    declared = _declared_packages()
    on_disk = set()
    for folder, dotted in ROOTS.items():
        for init in (REPO_ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(REPO_ROOT / folder)
            on_disk.add(".".join([dotted, *rel.parts]))
    missing = on_disk - declared
    assert not missing, f"add these packages to pyproject.toml [tool.setuptools] packages: {sorted(missing)}"


def test_kernels_and_traces_import_under_the_package():
    import smaug_fast.kernels
    import smaug_fast.traces

    assert smaug_fast.kernels.__name__ == "smaug_fast.kernels"
    assert smaug_fast.traces.__name__ == "smaug_fast.traces"


def test_kernels_import_nothing_from_the_rest_of_the_project():
    """kernels/ sees only arrays and scalars; no xarray, no smaug_fast modules but kernels (README.md, Layout)."""
    import re

    pattern = re.compile(r"^\s*(from|import)\s+(xarray|smaug_fast(?!\.kernels)|\.\.)", re.M)
    offenders = []
    for path in (REPO_ROOT / "kernels").rglob("*.py"):
        for match in pattern.finditer(path.read_text()):
            offenders.append(f"{path.relative_to(REPO_ROOT)}: {match.group(0).strip()}")
    assert not offenders, offenders
