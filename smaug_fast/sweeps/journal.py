"""A sweep store's journal of finished points (resume), and the lock that lets one sweep at a time
write a store.

``<store>.journal`` holds a header line (the sweep's definition) and a JSON line per finished point,
each fsynced as it is appended. Whatever a crash, a full disk or a hand leaves in it is repaired on
the next run: an empty journal or a torn header starts afresh, a header that lost its newline is
split from the record behind it, and a torn or malformed line is skipped with a
:class:`~smaug_fast.errors.SweepWarning` naming it (its point is simulated again). ``<store>.lock``
is held from the start of a sweep to the end of its store's writing.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import warnings
from collections.abc import Callable

try:
    import fcntl
except ImportError:  # not POSIX: the lock is a file created with O_EXCL
    fcntl = None

from ..errors import ConfigError, SweepError, SweepWarning
from .store import check_foreign, check_path, store_error, write
from .worker import process_alive


class StoreLock:
    """``<store>.lock``: held by the one sweep that writes a store; it holds that process's id.

    POSIX: an ``fcntl.flock`` on the file, which the kernel releases however the process ends, so that
    a SIGKILLed sweep's lock is taken over by the next run. Elsewhere: the file, created with O_EXCL,
    taken over when the process it names no longer runs. A sweep that finds the lock held gets a
    SweepError naming the holder; the holder removes the file when it is done."""

    def __init__(self, store: str) -> None:
        self.store, self.path = store, store + ".lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        """Hold the lock: a SweepError if another sweep holds it, a ConfigError if the folder cannot be
        written (before any point is simulated)."""
        try:
            fd = self._flock() if fcntl is not None else self._exclusive()
        except OSError as exc:
            raise store_error(self.store, exc, f"create its lock file {self.path}") from exc
        try:
            os.ftruncate(fd, 0)
            _write_all(fd, f"{os.getpid()}\n".encode())
        except OSError as exc:
            self._fd = fd
            self.release()
            raise store_error(self.store, exc, f"write its lock file {self.path}") from exc
        self._fd = fd

    def _flock(self) -> int:
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _pid_in(os.pread(fd, 32, 0))
                os.close(fd)
                raise self._held(holder) from None
            except BaseException:
                os.close(fd)
                raise
            try:  # the file locked must still be the one at the path (a holder removes it as it ends)
                if os.path.samestat(os.fstat(fd), os.stat(self.path)):
                    return fd
            except FileNotFoundError:
                pass
            os.close(fd)

    def _exclusive(self) -> int:
        for _ in range(3):
            try:
                return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                try:
                    with open(self.path, "rb") as fh:
                        holder = _pid_in(fh.read(32))
                except FileNotFoundError:
                    continue
                if holder is None or process_alive(holder):
                    raise self._held(holder) from None
                with contextlib.suppress(FileNotFoundError):  # a dead sweep's: taken over
                    os.unlink(self.path)
        raise self._held(None)

    def _held(self, holder: int | None) -> SweepError:
        who = f"process {holder}" if holder is not None else "a process that has not yet written its id"
        return SweepError(
            f"store {self.store!r} is being written by another sweep ({who}, which holds {self.path}); "
            "wait until it ends (then the same call resumes from its journal) or write another store"
            + ("" if fcntl is not None else f"; if no sweep runs, delete {self.path}")
        )

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        os.close(self._fd)  # releases the flock
        self._fd = None


def _pid_in(data: bytes) -> int | None:
    try:
        return int(data.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        return None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class Journal:
    """Append-only record of a sweep's finished points, fsynced, after a header line that holds the
    sweep's definition; the store's lock is held from construction to the end of the ``with`` block.

    ``identity``: which sweep this is, as its finished store says (a store found without a journal is
    overwritten only if it is this sweep's); ``row_ok(index, row)``: whether a journaled row is whole
    (a malformed one is skipped, its point simulated again)."""

    def __init__(self, store, definition: str, total: int, identity: dict,
                 row_ok: Callable[[int, dict], bool] = lambda i, row: True) -> None:
        self.store = check_path(store)
        self.path = self.store + ".journal"
        self.definition, self.total, self._row_ok = definition, total, row_ok
        self.done: dict[int, dict] = {}
        self.created = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        self._fd: int | None = None
        self._failed = False
        self.lock = StoreLock(self.store)
        self.lock.acquire()
        try:
            if not self._resume():
                check_foreign(self.store, identity)
                self._rewrite()
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        except BaseException:
            self.lock.release()
            raise

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _resume(self) -> bool:
        """Read the points an earlier run of this definition finished; False if there is no journal to
        resume (none, an empty one or a torn header: a new one is written). A ConfigError if the
        journal is not a sweep journal or another sweep's."""
        try:
            with open(self.path, "rb") as fh:
                raw = fh.read()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise store_error(self.store, exc, f"read {self.path}") from exc
        first, _, rest = raw.partition(b"\n")
        header, tail = _header(first)
        if header is None:
            if not raw.strip() or (b"\n" not in raw and raw.startswith(b'{"definition": ')):
                return False  # the header was never written whole (a full disk, a kill): start afresh
            raise ConfigError(f"store {self.store!r}: {self.path} is not a sweep journal; write another store, "
                              f"or delete {self.path} (and {self.store}) to start over")
        if header["definition"] != self.definition:
            raise ConfigError(
                f"store {self.store!r}: written by a different sweep definition; use another path or delete "
                f"{self.path} and {self.store}"
            )
        if isinstance(header.get("created"), str):
            self.created = header["created"]
        bad = self._read_records([(1, tail)] + list(enumerate(rest.split(b"\n"), start=2)))
        if bad:
            warnings.warn(f"{self.path}: skipped {len(bad)} torn or malformed line(s) ({_lines(bad)}); their "
                          "points are simulated again", SweepWarning, stacklevel=5)
        if bad or tail.strip() or not raw.endswith(b"\n"):
            self._rewrite()  # the finished points alone, each on its line
        return True

    def _read_records(self, lines: list[tuple[int, bytes]]) -> list[int]:
        """Keep each whole record of ``lines`` ((line number, text)); the numbers of the others."""
        bad = []
        for number, line in lines:
            if not line.strip():
                continue
            record = _record(line)
            if record is None or not 0 <= record[0] < self.total or not self._row_ok(*record):
                bad.append(number)
            else:
                self.done[record[0]] = record[1]
        return bad

    def _rewrite(self) -> None:
        """Write the header and the finished points to a temporary file and rename it over the journal."""
        lines = [json.dumps({"definition": self.definition, "created": self.created})]
        lines += [json.dumps({"i": i, "v": v}) for i, v in sorted(self.done.items())]
        tmp = self.path + ".tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                _write_all(fd, ("\n".join(lines) + "\n").encode())
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.remove(tmp)
            raise store_error(self.store, exc, f"write its journal {self.path}",
                              _kept(self.path) if self.done else "") from exc

    def record(self, index: int, values: dict) -> None:
        """Append a finished point (fsynced). After a failed write the points are kept in memory only."""
        self.done[index] = values
        if self._failed:
            return
        try:
            _write_all(self._fd, (json.dumps({"i": index, "v": values}) + "\n").encode())
            os.fsync(self._fd)
        except OSError as exc:
            self._failed = True
            raise store_error(self.store, exc, f"append to its journal {self.path}", _kept(self.path)) from exc

    def close(self) -> None:
        """Close the journal and release the store's lock."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self.lock.release()

    def finish(self, result) -> None:
        """Write the finished Dataset (or DataTree) to the store (see :func:`.store.write`)."""
        try:
            write(result, self.store)
        except OSError as exc:
            raise store_error(self.store, exc, "write it",
                              f"every point is kept in {self.path}: the same call again writes the store "
                              "without simulating them") from exc


def _kept(path: str) -> str:
    return f"the points journaled so far are kept in {path} (the same call resumes from them)"


def _header(line: bytes) -> tuple[dict | None, bytes]:
    """A journal's header, and what follows it on its line (a record, if the header lost its newline)."""
    try:
        text = line.decode("utf-8")
        header, end = json.JSONDecoder().raw_decode(text)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None, b""
    if not isinstance(header, dict) or not isinstance(header.get("definition"), str):
        return None, b""
    return header, text[end:].encode("utf-8")


def _record(line: bytes) -> tuple[int, dict] | None:
    """(point index, row) of a journal line; None if it is torn or malformed."""
    try:
        record = json.loads(line.decode("utf-8"))
        index, row = record["i"], record["v"]
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, IndexError, RecursionError):
        return None
    if type(index) is not int or not isinstance(row, dict):
        return None
    return index, row


def _lines(numbers: list[int]) -> str:
    shown = ", ".join(map(str, numbers[:8]))
    more = f" and {len(numbers) - 8} more" if len(numbers) > 8 else ""
    return f"line{'s' if len(numbers) > 1 else ''} {shown}{more}"
