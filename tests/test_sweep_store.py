"""Sweep stores against hostile conditions (issue 17): killed sweeps, concurrent writers, foreign stores,
torn and malformed journals, unwritable folders and full disks. Each case runs in a few seconds."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from smaug_fast import presets, sweep

BASE = presets.load("smaug-table2")
AXES = {"cpu_threads": [1, 2]}


def _wait_for(condition, timeout: float):
    """``condition()``'s first true value within ``timeout`` seconds (None if it never is)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    return None


def _running(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie nobody reaped does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


_ORPHANS = """
import multiprocessing, os, sys, time
multiprocessing.set_start_method("fork", force=True)  # the workers inherit the patches below
import smaug_fast.sweeps.worker as sw
from smaug_fast import presets, sweep
def never_ends(*args):  # a point that never ends: the worker runs until something ends it
    open(os.path.join(sys.argv[2], str(os.getpid())), "w").close()
    while True:
        time.sleep(0.01)
sw._evaluate = never_ends
if sys.argv[3] == "pdeathsig":
    sw._watch = lambda *args: None  # only the kernel's signal
else:
    sw._set_pdeathsig = lambda: False  # only the thread that watches the parent (other systems)
sweep("minerva", presets.load("smaug-table2"), {"cpu_threads": [1, 2]}, executor="processes", workers=2,
      store=sys.argv[1], progress=False)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("how", ["pdeathsig", "poll"])
def test_the_workers_of_a_sigkilled_sweep_end(tmp_path, how):
    pids = tmp_path / "pids"
    pids.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", _ORPHANS, str(tmp_path / "s.nc"), str(pids), how])
    try:
        workers = _wait_for(lambda: [int(p.name) for p in pids.iterdir()], 60)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert workers, "no worker started"
    _wait_for(lambda: not any(_running(p) for p in workers), 5)
    left = [p for p in workers if _running(p)]
    for p in left:  # not to leave them behind
        os.kill(p, signal.SIGKILL)
    assert not left, f"workers {left} outlived their sweep ({how})"


# ------------------------------------------------------------------------------------------------
# the lock: one sweep at a time writes a store
# ------------------------------------------------------------------------------------------------

AXES4 = {"interface": ["dma", "acp"], "cpu_threads": [1, 2]}

_WRITER = """
import os, sys, time
import smaug_fast.sweeps.worker as sw
from smaug_fast import presets, sweep
original = sw._evaluate
def held(*args):  # each point waits for the file argv[2] (then 0.2 s): the store stays locked meanwhile
    while not os.path.exists(sys.argv[2]):
        time.sleep(0.01)
    time.sleep(0.2)
    return original(*args)
sw._evaluate = held
sweep("minerva", presets.load("smaug-table2"), {"interface": ["dma", "acp"], "cpu_threads": [1, 2]},
      executor="serial", store=sys.argv[1], progress=False)
"""


@pytest.fixture(scope="module")
def clean():
    return sweep("minerva", BASE, AXES4, executor="serial", progress=False)


@pytest.fixture
def simulated(monkeypatch):
    """The points simulated in this process from now on (their indices in the order of the calls)."""
    import smaug_fast.sweeps.worker as sw

    calls = []
    original = sw._evaluate

    def counting(*args):
        calls.append(args[:3])
        return original(*args)

    monkeypatch.setattr(sw, "_evaluate", counting)
    return calls


def _same(a, b) -> None:
    """Identical Datasets but for the time each was created."""
    import xarray as xr

    a, b = a.copy(), b.copy()
    a.attrs.pop("created"), b.attrs.pop("created")
    xr.testing.assert_identical(a, b)


def test_a_second_writer_gets_a_sweep_error_naming_the_holder(tmp_path, clean, simulated):
    from smaug_fast import SweepError, open_sweep

    store, go = tmp_path / "s.zarr", tmp_path / "go"
    lock = Path(f"{store}.lock")
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(store), str(go)])
    try:
        assert _wait_for(lambda: lock.exists() and lock.read_text().strip() == str(proc.pid), 60)
        with pytest.raises(SweepError, match=rf"store '.*s.zarr' is being written by another sweep "
                                             rf"\(process {proc.pid}, which holds .*s.zarr.lock\); wait until it"):
            sweep("minerva", BASE, AXES4, executor="serial", progress=False, store=store)
        assert not simulated, "the second writer simulated before it found the lock"
    finally:
        go.touch()
        assert proc.wait(60) == 0
    assert not lock.exists()
    _same(open_sweep(store), clean)
    again = sweep("minerva", BASE, AXES4, executor="serial", progress=False, store=store)  # from the journal
    assert not simulated
    _same(again, clean)


def test_two_identical_sweeps_at_once_leave_one_whole_store(tmp_path, clean):
    """Two writers of one .zarr store at once left it missing variables or unreadable while one exited 0
    (issue 17): now one writes it and the other says so, or resumes from the finished journal."""
    from smaug_fast import open_sweep
    from smaug_fast.sim import VARIABLES

    store, go = tmp_path / "s.zarr", tmp_path / "go"
    go.touch()
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(store), str(go)], stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outcomes = [(p.wait(60), p.stderr.read()) for p in procs]
    for rc, err in outcomes:
        assert rc == 0 or "SweepError: store" in err and "is being written by another sweep" in err, err
    assert any(rc == 0 for rc, _ in outcomes)
    back = open_sweep(store)
    assert set(back.data_vars) == set(VARIABLES)
    _same(back, clean)


def test_the_lock_of_a_dead_sweep_is_taken_over(tmp_path, clean):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    store = tmp_path / "s.nc"
    Path(f"{store}.lock").write_text(dead.stdout)
    _same(sweep("minerva", BASE, AXES4, executor="serial", progress=False, store=store), clean)
    assert not Path(f"{store}.lock").exists()


def test_without_fcntl_the_lock_is_a_file_of_a_live_process(tmp_path, clean, monkeypatch):
    """Where fcntl is missing (not POSIX) the lock is a file created with O_EXCL: a live holder is named,
    a dead one's file is taken over."""
    import smaug_fast.sweeps.journal as journal
    from smaug_fast import SweepError

    monkeypatch.setattr(journal, "fcntl", None)
    store = tmp_path / "s.nc"
    lock = Path(f"{store}.lock")
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock.write_text(f"{live.pid}\n")
        with pytest.raises(SweepError, match=rf"\(process {live.pid}, .*; if no sweep runs, delete .*s.nc.lock"):
            sweep("minerva", BASE, AXES4, executor="serial", progress=False, store=store)
    finally:
        live.kill()
        live.wait()
    _same(sweep("minerva", BASE, AXES4, executor="serial", progress=False, store=store), clean)
    assert not lock.exists()


# ------------------------------------------------------------------------------------------------
# a store already there: overwritten only if it is this sweep's
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_a_foreign_store_without_a_journal_is_not_overwritten(tmp_path, suffix, clean, simulated):
    """A finished store of another sweep with no journal beside it was overwritten without a word."""
    from smaug_fast import ConfigError, open_sweep

    store = tmp_path / f"s{suffix}"
    other = sweep("minerva", BASE, {"cpu_threads": [1, 4]}, executor="serial", progress=False, store=store)
    Path(f"{store}.journal").unlink()
    simulated.clear()
    with pytest.raises(ConfigError, match=rf"store '.*s{suffix}' holds another sweep and has no journal "
                                          rf"\(.*s{suffix}.journal\) to resume from; it is not overwritten: write "
                                          "this sweep to another path, or delete it first"):
        sweep("minerva", BASE, AXES4, executor="serial", progress=False, store=store)
    assert not simulated
    _same(open_sweep(store), other)  # its points are still there
    assert not Path(f"{store}.journal").exists() and not Path(f"{store}.lock").exists()
    # the same sweep again (its journal deleted) writes it again
    _same(sweep("minerva", BASE, {"cpu_threads": [1, 4]}, executor="serial", progress=False, store=store), other)


def test_a_file_that_is_not_a_store_is_not_overwritten(tmp_path):
    from smaug_fast import ConfigError

    store = tmp_path / "s.nc"
    store.write_text("my notes")
    with pytest.raises(ConfigError, match=r"store '.*s.nc' is not a sweep store and has no journal"):
        sweep("minerva", BASE, AXES4, executor="serial", progress=False, store=store)
    assert store.read_text() == "my notes"


# ------------------------------------------------------------------------------------------------
# the journal: what a crash, a full disk or a hand leaves in it is repaired
# ------------------------------------------------------------------------------------------------


@pytest.fixture
def journaled(tmp_path, clean):
    """A store's path and the lines of the journal of its finished sweep (header, points 0 to 3); the
    store itself removed."""
    store = tmp_path / "s.nc"
    sweep("minerva", BASE, AXES4, executor="serial", progress=False, store=store)
    store.unlink()
    lines = Path(f"{store}.journal").read_bytes().split(b"\n")
    assert len(lines) == 6 and lines[-1] == b""
    return store, lines[:5]


def _resweep(store):
    return sweep("minerva", BASE, AXES4, executor="serial", progress=False, store=store)


def test_torn_and_malformed_journal_lines_are_skipped_and_named(journaled, clean, simulated):
    """A non-UTF-8 byte or a malformed line (UnicodeDecodeError, KeyError, TypeError, ValueError) blocked
    every rerun: now each is skipped with a warning naming the journal and its line, and its point is
    simulated again."""
    import warnings

    from smaug_fast.errors import SweepWarning

    store, (header, p0, p1, p2, p3) = journaled
    journal = Path(f"{store}.journal")
    bad = [b"\xff" + p1[1:], b'{"i": 2}', b'{"i": "2", "v": {}}', b"[1, 2]", p3.replace(b'"i": 3', b'"i": 9'),
           b'{"i": 3, "v": {"latency_s": "fast"}}', b"{" * 100_000, p3[:40]]
    journal.write_bytes(b"\n".join([header, p0, *bad]))  # the torn last line has no newline
    with pytest.warns(SweepWarning) as caught:
        _same(_resweep(store), clean)
    assert len(caught) == 1 and caught[0].filename == __file__
    assert str(caught[0].message) == (f"{journal}: skipped 8 torn or malformed line(s) (lines 3, 4, 5, 6, 7, 8, 9, "
                                      "10); their points are simulated again")
    assert len(simulated) == 3  # points 1, 2 and 3
    assert journal.read_bytes().count(b"\n") == 5  # rewritten: the header and the four points
    simulated.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _same(_resweep(store), clean)
    assert not simulated


@pytest.mark.parametrize("records", [0, 2])
def test_a_header_that_lost_its_newline_resumes_every_time(journaled, clean, simulated, records):
    """It resumed once, then was 'not a sweep journal' (the next record was appended to its line)."""
    store, lines = journaled
    journal = Path(f"{store}.journal")
    journal.write_bytes(lines[0] + b"\n".join(lines[1:1 + records]) + (b"\n" if records else b""))
    _same(_resweep(store), clean)
    assert len(simulated) == 4 - records
    store.unlink()
    simulated.clear()
    _same(_resweep(store), clean)
    assert not simulated
    assert journal.read_bytes().count(b"\n") == 5


@pytest.mark.parametrize("content", [b"", b"\n", b'{"definition": "{\\"base\\": {\\"accel'])
def test_an_empty_journal_or_a_torn_header_starts_afresh(journaled, clean, content):
    """A full disk at the start left an empty journal that every later run refused."""
    store, _ = journaled
    Path(f"{store}.journal").write_bytes(content)
    _same(_resweep(store), clean)
    assert Path(f"{store}.journal").read_bytes().count(b"\n") == 5


def test_a_file_that_is_not_a_journal_is_refused_and_kept(journaled):
    from smaug_fast import ConfigError

    store, _ = journaled
    Path(f"{store}.journal").write_text("my notes\nmore notes\n")
    with pytest.raises(ConfigError, match=r"\.journal is not a sweep journal; write another store, or delete"):
        _resweep(store)
    assert Path(f"{store}.journal").read_text() == "my notes\nmore notes\n"
    assert not Path(f"{store}.lock").exists()


# ------------------------------------------------------------------------------------------------
# a folder that cannot be written, a full disk: named errors, raised early, no journaled point lost
# ------------------------------------------------------------------------------------------------


def test_a_missing_folder_is_a_config_error(tmp_path):
    from smaug_fast import ConfigError

    with pytest.raises(ConfigError, match=r"store = '.*nodir/s.nc': folder '.*nodir' does not exist; create it"):
        sweep("minerva", BASE, AXES4, executor="serial", progress=False, store=tmp_path / "nodir" / "s.nc")


def _refuse_writes_under(folder: Path, monkeypatch, error: int) -> None:
    """os.open of a file under ``folder`` for writing fails with errno ``error`` from now on (root may
    write into a read-only folder)."""
    real = os.open

    def guarded(path, flags, *args, **kwargs):
        if str(path).startswith(str(folder)) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise OSError(error, os.strerror(error), str(path))
        return real(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", guarded)
    return errno


def test_a_folder_that_cannot_be_written_is_named_before_any_point(tmp_path, monkeypatch, simulated):
    """A read-only folder raised a bare PermissionError, some only after every point was computed."""
    from smaug_fast import ConfigError

    _refuse_writes_under(tmp_path, monkeypatch, errno.EACCES)
    with pytest.raises(ConfigError, match=r"store '.*s.nc': cannot create its lock file .*s.nc.lock: Permission "
                                          r"denied \(.*\); make its folder writable or write the store elsewhere"):
        sweep("minerva", BASE, AXES4, executor="serial", progress=False, store=tmp_path / "s.nc")
    assert not simulated


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_is_named_before_any_point(tmp_path, simulated):
    from smaug_fast import ConfigError

    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(ConfigError, match=r"cannot create its lock file .*Permission denied"):
            sweep("minerva", BASE, AXES4, executor="serial", progress=False, store=folder / "s.nc")
    finally:
        folder.chmod(0o755)
    assert not simulated


def test_a_full_disk_at_the_start_leaves_no_empty_journal(tmp_path, monkeypatch, clean, simulated):
    import smaug_fast.sweeps.journal as journal
    from smaug_fast import SweepError

    real = journal._write_all

    def full(fd, data):
        if data.startswith(b'{"definition"'):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd, data)

    monkeypatch.setattr(journal, "_write_all", full)
    store = tmp_path / "s.nc"
    with pytest.raises(SweepError, match=r"store '.*s.nc': cannot write its journal .*s.nc.journal: no space left "
                                         r"on the device; free some space \(or write the store elsewhere\) and call "
                                         r"again$"):
        _resweep(store)
    assert not simulated
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no empty journal, no temporary file, no lock
    monkeypatch.setattr(journal, "_write_all", real)
    _same(_resweep(store), clean)


def test_a_full_disk_while_points_finish_keeps_the_journaled_ones(tmp_path, monkeypatch, clean, simulated):
    import smaug_fast.sweeps.journal as journal
    from smaug_fast import SweepError

    real = journal._write_all
    writes = []

    def fills(fd, data):
        writes.append(data)
        if len(writes) > 4:  # the lock's pid, the header, two points
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd, data)

    monkeypatch.setattr(journal, "_write_all", fills)
    store = tmp_path / "s.nc"
    with pytest.raises(SweepError, match=r"cannot append to its journal .*s.nc.journal: no space left on the device; "
                                         r"free some .*; the points journaled so far are kept in .*s.nc.journal "
                                         r"\(the same call resumes from them\)"):
        _resweep(store)
    assert len(simulated) == 3 and not store.exists()
    monkeypatch.setattr(journal, "_write_all", real)
    simulated.clear()
    _same(_resweep(store), clean)
    assert len(simulated) == 2


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
@pytest.mark.parametrize("error", ["ENOSPC", "EACCES"])
def test_a_store_that_cannot_be_written_at_the_end_keeps_every_point(tmp_path, monkeypatch, suffix, error, clean,
                                                                      simulated):
    """Writing the finished store fails (a full disk, a folder made read-only): the error names the store
    and says that the same call writes it without simulating again; the store written before is whole
    and no temporary file is left."""
    import smaug_fast.sweeps.store as st
    from smaug_fast import ConfigError, SweepError, open_sweep

    store = tmp_path / f"s{suffix}"
    _resweep(store)
    before = open_sweep(store)
    Path(f"{store}.journal").write_bytes(Path(f"{store}.journal").read_bytes().rsplit(b"\n", 2)[0] + b"\n")
    code = getattr(errno, error)
    monkeypatch.setattr(st, "_fsync_file", lambda path: (_ for _ in ()).throw(OSError(code, os.strerror(code), path)))
    simulated.clear()
    with pytest.raises(ConfigError if error == "EACCES" else SweepError,
                       match=rf"store '.*s{suffix}': cannot write it: .*; every point is kept in .*s{suffix}.journal: "
                             "the same call again writes the store without simulating them"):
        _resweep(store)
    assert len(simulated) == 1  # the point left out of the journal above
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"s{suffix}", f"s{suffix}.journal"]
    _same(open_sweep(store), before)
    monkeypatch.undo()
    import smaug_fast.sweeps.worker as sw

    monkeypatch.setattr(sw, "_evaluate", lambda *args: pytest.fail("simulated again"))
    _same(_resweep(store), clean)


def test_the_cli_refuses_a_foreign_store_in_one_line(tmp_path, capsys):
    from smaug_fast.cli import main

    (tmp_path / "spec.toml").write_text('networks = "minerva"\n[axes]\ncpu_threads = [1]\n')
    (tmp_path / "notes.nc").write_text("my notes")
    assert main(["sweep", str(tmp_path / "spec.toml"), "-o", str(tmp_path / "notes.nc"), "--workers", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("smaug-fast sweep: error: store ") and "is not a sweep store" in err, err
    assert (tmp_path / "notes.nc").read_text() == "my notes"
