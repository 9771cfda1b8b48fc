"""The bubblewrap backend, for machines without Docker: the same contract and limits.

A session is one long-lived `bwrap` process whose namespaces (user, pid, net, ipc, uts,
cgroup) hold the runner; it sees the same Debian root filesystem as the Docker image
(read-only), sized tmpfs at /work and /tmp, and nothing else of the host. Killing the bwrap
process kills the namespace's init (--die-with-parent), and with it every process of the
session; the wall clock is the host's.

Limits: when this process may make cgroups (root, writable cgroupfs; see sandbox.cgroups),
each session gets its own group, joined by the launching shell before bwrap forks anything:
memory (and memory+swap) and pids for the whole session, a CPU quota, and an OOM counter
that classifies a memory kill as `oom_killed`, as on Docker. rlimits are set by `prlimit`
in any case (processes per user, open files, file size, no core dumps); the address-space
rlimit is twice the memory limit under a cgroup (a backstop that leaves the cgroup to act
first), and equals it without one. Without a cgroup the limits are per process only, `cpus`
is not enforced, and a memory bomb ends as an ordinary failure (MemoryError, exit 1).
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable, Mapping, Sequence

from dgm.sandbox.base import Limits, Mount, SandboxStartError
from dgm.sandbox.cgroups import PREFIX, CgroupError, CgroupHost, SessionCgroup, find_host
from dgm.sandbox.cgroups import sweep as sweep_cgroups
from dgm.sandbox.layout import RUNNER_ARGV, check_mounts, RUNNER_HOST, RUNNER_PATH, SANDBOX_UID, rootfs_dir
from dgm.sandbox.protocol import ChannelClosed, ChannelTimeout, PipeChannel, ReplyTooLarge
from dgm.sandbox.session import RunnerSession
from dgm.sandbox.warm_pool import Shape, Warm, WarmPool, runner_answers, shape_of

MARKER = "dgm-session="
"""Argument given to every session's runner so the host can find its processes."""
SKIP_TOP = {"proc", "dev", "sys", "tmp", "work", "run", "home", "root", "boot", "media", "mnt", "srv"}
PATH_ENV = "/usr/local/bin:/usr/bin:/bin"
ROOTFS_SHAPE = "bwrap-rootfs"
"""What a warm bubblewrap session's shape names as its image: there is only one root filesystem."""


def bwrap_problem(root: Path | None = None) -> str | None:
    """None when bubblewrap works here, else one line saying what is missing and how to fix it."""
    root = root or rootfs_dir()
    if shutil.which("bwrap") is None:
        return "bubblewrap is missing: apt-get install bubblewrap"
    if shutil.which("prlimit") is None:
        return "prlimit is missing: apt-get install util-linux"
    from dgm.sandbox.image_build import rootfs_ready

    if not rootfs_ready(root):
        return f"the sandbox root filesystem is not built ({root}): dgm sandbox build --backend bwrap"
    proc = subprocess.run(
        ["bwrap", *namespace_args(), *root_args(root), "true"], capture_output=True, text=True, timeout=30, env={}
    )
    if proc.returncode != 0:
        detail = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        return f"bwrap cannot create namespaces here ({detail}); enable user namespaces (sysctl kernel.unprivileged_userns_clone=1)"
    return None


def namespace_args() -> list[str]:
    return [
        "--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
        "--unshare-cgroup-try", "--disable-userns",
        "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID), "--hostname", "sandbox",
        "--die-with-parent", "--new-session", "--clearenv", "--cap-drop", "ALL",
    ]  # fmt: skip


def root_args(root: Path) -> list[str]:
    """The image's top-level directories bound read-only; its symlinks (bin -> usr/bin) kept."""
    args: list[str] = []
    for entry in sorted(root.iterdir()):
        if entry.name in SKIP_TOP or entry.name.startswith("."):
            continue
        if entry.is_symlink():
            args += ["--symlink", os.readlink(entry), f"/{entry.name}"]
        elif entry.is_dir():
            args += ["--ro-bind", str(entry), f"/{entry.name}"]
    return args + ["--proc", "/proc", "--dev", "/dev"]


def limits_note(host: CgroupHost | None, why: str) -> str:
    """One line for `dgm sandbox check`: how the session limits are enforced here."""
    if host is None:
        return f"limits: rlimits only (no cgroup: {why}; memory per process, cpus not enforced)"
    return f"limits: {host.describe()} per session, plus rlimits"


def bwrap_limits_note() -> str:
    """How a bwrap session's limits would be enforced on this machine now."""
    return limits_note(*find_host())


def session_argv(
    root: Path, limits: Limits, mounts: Sequence[Mount], session_id: str, info_fd: int,
    cgroup: SessionCgroup | None = None, protocol_fds: tuple[int, int] = (0, 1),
) -> list[str]:
    """The command starting a session; with a cgroup, a shell joins it and then execs
    prlimit, which execs bwrap: one pid throughout, in the group before anything forks."""
    address_space = (limits.memory_mb << 20) * (2 if cgroup else 1)
    limit_args = [
        f"--as={address_space}", f"--nproc={limits.pids}", f"--nofile={limits.nofile}",
        f"--fsize={limits.fsize_mb << 20}", "--core=0",
    ]  # fmt: skip
    args = ["prlimit", *limit_args, "--", "bwrap", "--info-fd", str(info_fd), *namespace_args(), *root_args(root)]
    args += ["--size", str(limits.tmp_mb << 20), "--perms", "1777", "--tmpfs", "/tmp"]
    args += ["--size", str(limits.work_mb << 20), "--perms", "1777", "--tmpfs", "/work"]
    args += ["--size", str(limits.tmp_mb << 20), "--perms", "1777", "--tmpfs", "/dev/shm"]  # not half the host's RAM
    args += ["--ro-bind", str(RUNNER_HOST), RUNNER_PATH]
    for m in mounts:
        args += ["--ro-bind" if m.read_only else "--bind", str(Path(m.host_path).resolve()), m.sandbox_path]
    args += ["--remount-ro", "/", "--chdir", "/work"]
    args += ["--setenv", "PATH", PATH_ENV, "--setenv", "LANG", "C.UTF-8", "--setenv", "HOME", "/tmp"]
    args += [*RUNNER_ARGV, f"{MARKER}{session_id}", f"--fds={protocol_fds[0]},{protocol_fds[1]}"]
    return join_cgroup(cgroup, args) if cgroup else args


def join_cgroup(cgroup: SessionCgroup, argv: list[str]) -> list[str]:
    """`argv` run by a shell that first writes its own pid into the group (any failure stops
    it before argv runs, so a session never starts outside its group)."""
    joins = " && ".join(f"echo $$ > {shlex.quote(str(f))}" for f in cgroup.procs_files())
    argv = [shutil.which(argv[0]) or argv[0], *argv[1:]]
    return ["/bin/sh", "-c", f'{joins} && exec "$@"', "sh", *argv]


class BwrapSession(RunnerSession):
    backend_name = "bwrap"

    def __init__(
        self,
        session_id: str,
        proc: subprocess.Popen,
        channel: PipeChannel,
        limits: Limits,
        init_pid: int,
        cgroup: SessionCgroup | None = None,
        release: Callable[[], None] | None = None,
    ) -> None:
        self.cgroup = cgroup
        """The session's own cgroup, or None where only rlimits apply."""
        self._proc = proc
        self._init_pid = init_pid
        self._namespace = _pid_namespace(init_pid)
        super().__init__(session_id, channel, limits, release)

    def _kill(self) -> None:
        """SIGKILL the namespace's init (the kernel then kills every process in it) and the
        outer bwrap; wait until the namespace is empty, so nothing outlives close()."""
        if self._namespace and _pid_namespace(self._init_pid) == self._namespace:
            os.kill(self._init_pid, signal.SIGKILL)
            try:
                self._proc.wait(timeout=2)  # the outer bwrap reaps its init, then exits
            except subprocess.TimeoutExpired:
                pass  # killed below
        try:
            os.killpg(self._proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # already gone
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass  # stuck in the kernel; nothing more can be done from here
        deadline = time.monotonic() + 10
        while self._namespace and time.monotonic() < deadline and _alive(self._init_pid, self._namespace):
            time.sleep(0.005)
        if self._proc.stderr:
            self._proc.stderr.close()
        if self.cgroup:
            self.cgroup.remove()  # kills any straggler first; the group goes with the session

    def _oom_events(self) -> int:
        return self.cgroup.oom_kills() if self.cgroup else 0


def _pid_namespace(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return ""


def _alive(pid: int, namespace: str) -> bool:
    """Whether the namespace's init still runs (it exits only once every process in it is gone)."""
    if _pid_namespace(pid) != namespace:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except OSError:
        return False


def _read_info(fd: int, timeout: float) -> int:
    """The namespace init's host pid, from bwrap's --info-fd JSON."""
    import json
    import select

    data = b""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], max(0.0, end - time.monotonic()))
        if not ready:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
        try:
            return int(json.loads(data)["child-pid"])
        except (ValueError, KeyError):
            continue
    return 0


_SPAWNER: ThreadPoolExecutor | None = None
_SPAWNER_LOCK = threading.Lock()


def _spawner() -> ThreadPoolExecutor:
    """The thread that starts warm sessions. It lives as long as this process: bwrap's
    --die-with-parent fires when the *thread* that started it ends, so a pool's own thread,
    which ends with the pool, would take the sessions it made (some in use) with it."""
    global _SPAWNER
    with _SPAWNER_LOCK:
        if _SPAWNER is None:
            _SPAWNER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dgm-bwrap-spawner")
        return _SPAWNER


@dataclass
class Launched:
    """A bwrap process whose runner answers, not yet a session (its wall clock not started)."""

    proc: subprocess.Popen
    channel: PipeChannel
    init_pid: int
    cgroup: SessionCgroup | None

    def session(self, session_id: str, limits: Limits, release: Callable[[], None] | None = None) -> BwrapSession:
        return BwrapSession(session_id, self.proc, self.channel, limits, self.init_pid, self.cgroup, release)


class BwrapBackend:
    """Sessions as bubblewrap namespaces over the cached Debian root filesystem. With `warm` >
    0, up to that many are started ahead of demand (see warm_pool): a start costs little CPU,
    but dozens of them at once (an evaluation's tasks begin together) still queue for tenths of
    a second on a small host. `close` discards them.

    Raises: SandboxStartError when bubblewrap does not work here (the message says why).
    """

    name = "bwrap"

    def __init__(self, root: Path | None = None, use_cgroups: bool = True, warm: int = 0) -> None:
        """`use_cgroups=False` keeps rlimits only, as on a machine without usable cgroups."""
        self.root = root or rootfs_dir()
        problem = bwrap_problem(self.root)
        if problem:
            raise SandboxStartError(problem)
        self.cgroups, why = find_host() if use_cgroups else (None, "turned off")
        self.limits_note = limits_note(self.cgroups, why)
        self._pool = WarmPool(self._make_warm, self._discard_warm, runner_answers, warm) if warm > 0 else None

    def start(
        self, limits: Limits | None = None, mounts: Sequence[Mount] = (), labels: Mapping[str, str] | None = None
    ) -> BwrapSession:
        """Start a bwrap session with its runner (or take a warm one of the same shape).
        `labels` only name it (nothing outlives a session).

        Raises: SandboxStartError.
        """
        limits = limits or Limits()
        if limits.image is not None or limits.workspace_source is not None:
            raise SandboxStartError(f"bubblewrap cannot run the image {limits.image or 'with a workspace source'}: environment images need Docker")
        check_mounts(mounts)
        run = str((labels or {}).get("run", "none"))
        warm = self._pool.serve(shape_of(ROOTFS_SHAPE, limits, mounts, run), mounts) if self._pool else None
        if warm is not None and self._pool is not None:
            return warm.container.session(warm.session_id, limits, partial(self._pool.release, warm))
        session_id = uuid.uuid4().hex[:12]
        return self._launch(session_id, limits, mounts).session(session_id, limits)

    def _launch(self, session_id: str, limits: Limits, mounts: Sequence[Mount]) -> Launched:
        """Start bwrap and its runner in the session's cgroup, and see the runner answer.

        Raises: SandboxStartError.
        """
        cgroup = self._cgroup(session_id, limits)
        to_runner_r, to_runner_w = os.pipe()
        from_runner_r, from_runner_w = os.pipe()
        info_r, info_w = os.pipe()
        try:
            # The protocol pipes go in as extra fds, not stdio: bubblewrap's pid 1, which agent
            # code can reach through /proc/1/fd, keeps stdio open but closes every other fd.
            proc = subprocess.Popen(
                session_argv(self.root, limits, mounts, session_id, info_w, cgroup, (to_runner_r, from_runner_w)),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                env={}, start_new_session=True, close_fds=True, pass_fds=(info_w, to_runner_r, from_runner_w),
            )  # fmt: skip
        except OSError as exc:
            for fd in (to_runner_w, from_runner_r, info_r):
                os.close(fd)
            if cgroup:
                cgroup.remove()
            raise SandboxStartError(f"cannot start bwrap: {exc}") from None
        finally:
            for fd in (to_runner_r, from_runner_w, info_w):
                os.close(fd)
        channel = PipeChannel(to_runner_w, from_runner_r)
        try:
            init_pid = _read_info(info_r, 30)
            channel.request({"op": "ping"}, b"", time.monotonic() + 30, 0)
        except (ChannelClosed, ChannelTimeout, ReplyTooLarge) as exc:
            channel.close()
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            if cgroup:
                cgroup.remove()
            why = proc.stderr.read(4096).decode(errors="replace").strip()  # type: ignore[union-attr]
            raise SandboxStartError(f"cannot start a bwrap sandbox: {why or exc}") from None
        finally:
            os.close(info_r)
        return Launched(proc, channel, init_pid, cgroup)

    # -- the warm pool's hooks --------------------------------------------------------------
    def _make_warm(self, shape: Shape, folders: list[Path]) -> Warm:
        session_id = uuid.uuid4().hex[:12]
        mounts = [Mount(folder, target) for folder, target in zip(folders, shape.targets)]
        launched = _spawner().submit(self._launch, session_id, shape.limits, mounts).result()
        return Warm(session_id, launched, launched.channel, folders)

    def _discard_warm(self, warm: Warm) -> None:
        """Killed the way a session is killed (the pool removes its folders)."""
        warm.container.session(warm.session_id, Limits()).close()

    def _cgroup(self, session_id: str, limits: Limits) -> SessionCgroup | None:
        """The session's group, when cgroups work here.

        Raises: SandboxStartError when they worked at start-up but this group cannot be made.
        """
        if self.cgroups is None:
            return None
        try:
            return SessionCgroup.create(self.cgroups, f"{PREFIX}{session_id}", limits)
        except CgroupError as exc:
            raise SandboxStartError(str(exc)) from None

    def answers(self) -> bool:
        """Always: there is no daemon that could go away."""
        return True

    def close(self) -> None:
        """Discard the warm sessions and stop making them (sessions in use are untouched)."""
        if self._pool is not None:
            self._pool.close()

    def sweep(self, run_id: str | None = None, include_own: bool = False) -> int:
        """Kill bwrap sessions whose owner died (--die-with-parent makes this rare), and with
        `include_own` this process's own; then remove their cgroups and any older empty
        leftover group of a crashed owner."""
        if include_own and self._pool is not None:  # no warm session may appear behind the sweep
            self._pool.close()
        orphaned_to = {1, os.getpid()} if include_own else {1}
        killed: set[str] = set()
        for pid_dir in Path("/proc").iterdir():
            if not pid_dir.name.isdigit():
                continue
            try:
                argv = (pid_dir / "cmdline").read_bytes().split(b"\0")
                ppid = int((pid_dir / "stat").read_bytes().rsplit(b")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            marks = [a[len(MARKER) :].decode(errors="replace") for a in argv if a.startswith(MARKER.encode())]
            if argv and argv[0].endswith(b"bwrap") and marks and ppid in orphaned_to:
                try:
                    os.killpg(int(pid_dir.name), signal.SIGKILL)
                except ProcessLookupError:
                    continue  # gone meanwhile
                killed.add(marks[0])
        if self.cgroups is None:
            return len(killed)
        groups = sweep_cgroups(self.cgroups, also=killed)
        return len(killed | {g.removeprefix(PREFIX) for g in groups})
