"""Reading a process's whole memory for given bytes, as root through /proc/PID/mem.

This is what "no key reached a worker" has to mean: not only its environment variables (a
process that renames itself, as every Ray process does, overwrites the block that
/proc/PID/environ shows) but every byte it holds: its stack with the environment it was
started with, its heap with every object it deserialised, and the Ray object store it maps
(plasma's shared-memory file, unlinked from /dev/shm but mapped by the raylet and each worker).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Callable, Iterable, Iterator, Sequence

CHUNK = 8 * 1024 * 1024
SKIPPED_FILES = ("/usr/", "/lib", "/opt/", "/etc/", "/work/", "/root/", "/home/")
"""Mapped program and library files (code, read-only data) hold nothing a process received;
shared memory (/dev/shm, memfd) and anonymous memory are read whole."""


@dataclass
class Scan:
    """What a scan found: each needle with the processes that hold it, and how much was read."""

    found: dict[bytes, set[int]] = field(default_factory=dict)
    bytes_read: int = 0
    processes: int = 0

    def holders(self, needle: bytes) -> set[int]:
        return self.found.get(needle, set())


def regions(pid: int) -> list[tuple[int, int, bool, str]]:
    """(start, end, shared, what) of each readable mapping worth reading."""
    out = []
    try:
        lines = Path(f"/proc/{pid}/maps").read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        parts = line.split(None, 5)
        span, perms = parts[0], parts[1]
        what = parts[5] if len(parts) > 5 else ""
        if not perms.startswith("r") or what in ("[vvar]", "[vsyscall]", "[vvar_vclock]"):
            continue
        if what.startswith(SKIPPED_FILES):
            continue
        start, end = (int(x, 16) for x in span.split("-"))
        out.append((start, end, perms[3] == "s" and what.startswith("/"), what))
    return out


class _Search:
    def __init__(self, needles: Sequence[bytes], scan: Scan):
        self.needles, self.scan = needles, scan
        self.overlap = max(len(n) for n in needles) - 1
        self.files_seen: set[tuple[int, int]] = set()

    def feed(self, pid: int, chunks: Iterable[bytes]) -> None:
        """Search one contiguous stream of bytes, across chunk borders."""
        tail = b""
        for data in chunks:
            self.scan.bytes_read += len(data)
            window = tail + data
            for needle in self.needles:
                if needle in window:
                    self.scan.found.setdefault(needle, set()).add(pid)
            tail = window[-self.overlap:] if self.overlap else b""


def _memory(mem: BinaryIO, start: int, end: int) -> Iterator[bytes]:
    pos = start
    while pos < end:
        try:
            mem.seek(pos)
            data = mem.read(min(CHUNK, end - pos))
        except (OSError, ValueError, OverflowError):
            return  # unmapped since the listing, or a region the kernel will not read
        if not data:
            return
        yield data
        pos += len(data)


def _file_data(fd: int) -> Iterator[bytes]:
    """The bytes of a (sparse) file, holes skipped: the object store is a shared-memory file
    of the store's full size of which only what was written takes room."""
    size = os.fstat(fd).st_size
    pos = 0
    while pos < size:
        try:
            pos = os.lseek(fd, pos, os.SEEK_DATA)
            hole = os.lseek(fd, pos, os.SEEK_HOLE)
        except OSError:  # ENXIO: no data after pos
            return
        while pos < hole:
            data = os.pread(fd, min(CHUNK, hole - pos), pos)
            if not data:
                return
            yield data
            pos += len(data)


def _scan_process(pid: int, search: _Search) -> None:
    try:
        mem = open(f"/proc/{pid}/mem", "rb", buffering=0)
    except OSError:
        return  # ended since the listing
    search.scan.processes += 1
    with mem:
        for start, end, shared_file, _ in regions(pid):
            if not shared_file:
                search.feed(pid, _memory(mem, start, end))
                continue
            # A shared file (the object store) is read as a file, once, whoever maps it.
            try:
                fd = os.open(f"/proc/{pid}/map_files/{start:x}-{end:x}", os.O_RDONLY)
            except OSError:
                continue
            try:
                st = os.fstat(fd)
                if (st.st_dev, st.st_ino) not in search.files_seen:
                    search.files_seen.add((st.st_dev, st.st_ino))
                    search.feed(pid, _file_data(fd))
            finally:
                os.close(fd)


def scan_memory(pids: Iterable[int], needles: Sequence[bytes]) -> Scan:
    """Every readable byte of each process (and of the shared files it maps), searched for
    each needle. A needle found in a shared file is credited to the first process seen mapping it."""
    scan = Scan()
    search = _Search(needles, scan)
    for pid in pids:
        _scan_process(pid, search)
    return scan


class MemoryWatch:
    """`scan_memory` again and again in a thread, until stopped, over the processes that
    `pids()` lists at each pass (workers come and go during a run); what any pass found adds up."""

    def __init__(self, pids: Callable[[], list[int]], needles: Sequence[bytes], pause: float = 2.0):
        self.pids, self.needles, self.pause = pids, needles, pause
        self.scan = Scan()
        self.passes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-watch", daemon=True)

    def _run(self) -> None:
        while True:
            self._pass()
            if self._stop.wait(self.pause):
                return

    def _pass(self) -> None:
        found = scan_memory(self.pids(), self.needles)
        self.passes += 1
        self.scan.bytes_read += found.bytes_read
        self.scan.processes += found.processes
        for needle, pids in found.found.items():
            self.scan.found.setdefault(needle, set()).update(pids)

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._pass()  # and once more on what is left at the end
