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


def test_an_edit_of_any_kernel_source_drops_every_cached_kernel(tmp_path):
    """Numba keys a cached kernel on its own file only; ``_jit.refresh_cache_folder`` deletes every cached
    kernel when the hash of all kernel sources changes (an edit of cache.py must reach the cached
    copies.py kernels that call it), keeps them while it does not, and leaves other files alone."""
    from smaug_fast.kernels import _jit

    cached = ["copies._copy_tiles_runs-139.py311.nbi", "copies._copy_tiles_runs-139.py311.1.nbc", "cache.x.nbi"]
    for name in [*cached, "cache.cpython-311.pyc"]:
        (tmp_path / name).write_text("x")
    assert _jit.refresh_cache_folder(str(tmp_path), "a")  # no stamp yet: a cache of unknown sources
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache.cpython-311.pyc", _jit.SOURCES_STAMP]
    for name in cached:
        (tmp_path / name).write_text("x")
    assert not _jit.refresh_cache_folder(str(tmp_path), "a")  # the same sources: kept
    assert all((tmp_path / name).exists() for name in cached)
    assert _jit.refresh_cache_folder(str(tmp_path), "b")  # a source changed: all of them go
    assert not any((tmp_path / name).exists() for name in cached)
    assert (tmp_path / _jit.SOURCES_STAMP).read_text() == "b"


def test_the_sources_hash_covers_every_kernel_file(monkeypatch):
    """``_jit.sources_hash`` changes with any kernel file's contents (here: cache.py's, read through a
    patched open) and is the same for the same sources."""
    import builtins
    import io
    import os

    from smaug_fast.kernels import _jit

    first = _jit.sources_hash()
    assert first == _jit.sources_hash() and len(first) == 64
    real_open = builtins.open

    def edited(path, *args, **kwargs):
        if os.path.basename(str(path)) == "cache.py":
            with real_open(path, *args, **kwargs) as f:
                return io.BytesIO(f.read() + b"# edited\n")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", edited)
    assert _jit.sources_hash() != first
