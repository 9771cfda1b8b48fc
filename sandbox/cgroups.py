"""Per-session cgroups for the bubblewrap backend: whole-session memory, process and CPU limits.

rlimits bound each process on its own (a session could use pids x memory in total) and
cannot express a CPU share; a cgroup bounds the session as a whole, and its OOM counter tells
a memory kill from any other SIGKILL, as Docker does. Session groups are made below this
process's own cgroup (so they stay inside whatever limits the host put on us): on cgroup v1
in each controller's hierarchy; on cgroup v2 in our own group when it may delegate
controllers (the root), else beside it in our parent (v2 forbids processes in a group that
delegates). When none of that is possible (not root, read-only cgroupfs, controllers not
delegated) `find_host` says why and the backend keeps rlimits only.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from dgm.sandbox.base import Limits, SandboxError

PREFIX = "dgm-"
"""Every session group is named PREFIX + session id, so a sweep can find leftovers."""
WANTED = ("memory", "pids", "cpu")
REQUIRED = "memory"
SWEEP_AGE = 60.0
"""Seconds an empty group must have existed before a sweep removes it: a group being set up
by another process has no process in it for a moment."""
CFS_PERIOD_US = 100_000


class CgroupError(SandboxError):
    """A session cgroup could not be made or configured."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"cannot set up cgroup {name}: {reason}")
        self.reason = reason


@dataclass(frozen=True)
class CgroupHost:
    """Where this process may make session groups, per controller (v2: one directory)."""

    version: int
    parents: dict[str, Path]

    @property
    def controllers(self) -> tuple[str, ...]:
        return tuple(c for c in WANTED if c in self.parents)

    def describe(self) -> str:
        return f"cgroup v{self.version} ({', '.join(self.controllers)})"

    def parent_dirs(self) -> list[Path]:
        return sorted(set(self.parents.values()))


@dataclass
class SessionCgroup:
    """One session's group (one directory per v1 hierarchy, one on v2)."""

    host: CgroupHost
    name: str
    dirs: dict[str, Path] = field(default_factory=dict)

    @classmethod
    def create(cls, host: CgroupHost, name: str, limits: Limits) -> "SessionCgroup":
        """Make the group and write its limits.

        Raises: CgroupError (nothing is left behind).
        """
        group = cls(host, name, {c: p / name for c, p in host.parents.items()})
        try:
            for d in group.unique_dirs():
                d.mkdir()
            group._configure(limits)
        except OSError as exc:
            group.remove(timeout=1.0)
            raise CgroupError(name, f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")) from None
        return group

    def unique_dirs(self) -> list[Path]:
        return sorted(set(self.dirs.values()))

    def procs_files(self) -> list[Path]:
        """The files a process writes its pid into to join the group."""
        return [d / "cgroup.procs" for d in self.unique_dirs()]

    def _configure(self, limits: Limits) -> None:
        memory = str(limits.memory_mb << 20)
        quota = max(1000, int(limits.cpus * CFS_PERIOD_US))
        mem, pids, cpu = (self.dirs.get(c) for c in WANTED)
        if self.host.version == 1:
            _write(mem / "memory.limit_in_bytes", memory)  # type: ignore[operator]
            _write_optional(mem / "memory.memsw.limit_in_bytes", memory)  # type: ignore[operator]
            if pids:
                _write(pids / "pids.max", str(limits.pids))
            if cpu:
                _write(cpu / "cpu.cfs_period_us", str(CFS_PERIOD_US))
                _write(cpu / "cpu.cfs_quota_us", str(quota))
        else:
            _write(mem / "memory.max", memory)  # type: ignore[operator]
            _write_optional(mem / "memory.swap.max", "0")  # type: ignore[operator]
            if pids:
                _write(pids / "pids.max", str(limits.pids))
            if cpu:
                _write(cpu / "cpu.max", f"{quota} {CFS_PERIOD_US}")

    def oom_kills(self) -> int:
        """Processes the kernel killed for memory in this group so far (0 when not shown)."""
        mem = self.dirs[REQUIRED]
        name = "memory.oom_control" if self.host.version == 1 else "memory.events"
        return _counter(mem / name, "oom_kill")

    def pids(self) -> set[int]:
        found: set[int] = set()
        for procs in self.procs_files():
            try:
                found.update(int(p) for p in procs.read_text().split())
            except (OSError, ValueError):
                continue
        return found

    def remove(self, timeout: float = 10.0) -> bool:
        """Kill what is still in the group, then remove it. True when it is gone; never raises."""
        deadline = time.monotonic() + timeout
        left = self.unique_dirs()
        while True:
            for pid in self.pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass  # exited meanwhile
            left = [d for d in left if not _rmdir(d)]
            if not left or time.monotonic() >= deadline:
                return not left
            time.sleep(0.01)


def find_host() -> tuple[CgroupHost | None, str]:
    """Where session groups can be made here, or None and the reason they cannot."""
    mounts = _cgroup_mounts()
    own = _own_cgroups()
    v1 = {c: m for c, m in mounts.items() if c != "" and c in WANTED}
    if REQUIRED in v1:
        parents = {}
        for ctrl, (mount_root, mount_point) in v1.items():
            parent = _inside(mount_point, mount_root, own.get(ctrl))
            if parent is not None:
                parents[ctrl] = parent
        if REQUIRED not in parents:
            return None, "this process's memory cgroup is not visible"
        return _probe(CgroupHost(1, parents))
    if "" in mounts:
        mount_root, mount_point = mounts[""]
        mine = _inside(mount_point, mount_root, own.get(""))
        if mine is None:
            return None, "this process's cgroup v2 group is not visible"
        candidates = [mine] if mine == mount_point else [mine, mine.parent]
        why = "the memory controller is not delegated to this process's cgroup"
        for parent in candidates:
            enabled = _delegate(parent)
            if REQUIRED in enabled:
                return _probe(CgroupHost(2, {c: parent for c in enabled}))
        return None, why
    return None, "no cgroup filesystem with a memory controller is mounted"


def sweep(host: CgroupHost, also: frozenset[str] | set[str] = frozenset(), wait: float = 5.0) -> set[str]:
    """Remove leftover session groups with no process left: older than SWEEP_AGE, or named in
    `also` (sessions just killed: waited for up to `wait` seconds). Returns the names removed."""
    removed: set[str] = set()
    for parent in host.parent_dirs():
        try:
            entries = [e for e in parent.iterdir() if e.name.startswith(PREFIX) and e.is_dir()]
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            group = SessionCgroup(host, name, {c: p / name for c, p in host.parents.items() if (p / name).is_dir()})
            if name[len(PREFIX) :] in also:
                if group.remove(timeout=wait):
                    removed.add(name)
            elif not group.pids() and _age(entry) >= SWEEP_AGE and group.remove(timeout=0.5):
                removed.add(name)
    return removed


# --- helpers ---------------------------------------------------------------------------------
def _cgroup_mounts() -> dict[str, tuple[str, Path]]:
    """controller -> (root within the hierarchy, mount point); "" is the v2 hierarchy."""
    found: dict[str, tuple[str, Path]] = {}
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        before, _, after = line.partition(" - ")
        fields, tail = before.split(), after.split()
        if len(fields) < 5 or len(tail) < 3:
            continue
        root, point, opts = fields[3], Path(fields[4]), fields[5].split(",")
        if "ro" in opts:
            continue
        if tail[0] == "cgroup2":
            found.setdefault("", (root, point))
        elif tail[0] == "cgroup":
            for ctrl in tail[2].split(","):
                found.setdefault(ctrl, (root, point))
    return found


def _own_cgroups() -> dict[str, str]:
    """controller -> this process's group path; "" is the v2 group."""
    own: dict[str, str] = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return own
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) == 3:
            for ctrl in parts[1].split(",") if parts[1] else [""]:
                own[ctrl] = parts[2]
    return own


def _inside(mount_point: Path, mount_root: str, path: str | None) -> Path | None:
    """The directory of group `path` under a mount of the hierarchy from `mount_root`."""
    if path is None:
        return None
    root = mount_root.rstrip("/")
    if path != root and not path.startswith(root + "/"):
        return None
    d = mount_point / path[len(root) :].lstrip("/")
    return d if d.is_dir() else None


def _delegate(parent: Path) -> set[str]:
    """Enable the wanted v2 controllers for `parent`'s children; the ones that are enabled."""
    try:
        available = set((parent / "cgroup.controllers").read_text().split())
    except OSError:
        return set()
    for ctrl in WANTED:
        if ctrl in available:
            try:
                _write(parent / "cgroup.subtree_control", f"+{ctrl}")
            except OSError:
                continue  # busy (processes in it) or not allowed: checked below
    try:
        return set((parent / "cgroup.subtree_control").read_text().split()) & set(WANTED)
    except OSError:
        return set()


def _probe(host: CgroupHost) -> tuple[CgroupHost | None, str]:
    """Whether groups can really be made there (read-only or foreign cgroupfs: not). An
    optional controller that refuses is left out rather than losing the memory limit."""
    usable = {c: p for c, p in host.parents.items() if c == REQUIRED or _can_make(p)}
    host = CgroupHost(host.version, usable)
    try:
        SessionCgroup.create(host, f"{PREFIX}probe-{os.getpid()}-{uuid.uuid4().hex[:6]}", Limits()).remove(timeout=1.0)
    except CgroupError as exc:
        return None, f"no cgroup can be made here ({exc.reason})"
    return host, ""


def _can_make(parent: Path) -> bool:
    probe = parent / f"{PREFIX}probe-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    try:
        probe.mkdir()
    except OSError:
        return False
    return _rmdir(probe)


def _write(path: Path, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def _write_optional(path: Path, value: str) -> None:
    """A limit the kernel may lack (swap accounting off): skipped when absent or refused."""
    if path.exists():
        try:
            _write(path, value)
        except OSError:
            pass  # swap accounting disabled: memory alone is limited


def _counter(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        return 0
    return 0


def _rmdir(d: Path) -> bool:
    try:
        d.rmdir()
    except FileNotFoundError:
        return True
    except OSError:
        return False  # still busy (processes leaving), retried by the caller
    return True


def _age(d: Path) -> float:
    try:
        return time.time() - d.stat().st_mtime
    except OSError:
        return 0.0
