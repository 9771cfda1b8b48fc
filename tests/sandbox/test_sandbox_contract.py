"""The sandbox contract: what any backend must do, proven against each real backend."""

from __future__ import annotations

import os
import socket
import time
import tracemalloc

import pytest
from tests.sandbox.conftest import TEST_LIMITS, tracker

from dgm.sandbox import BatchItem, Limits, Mount, SandboxStartError, SessionClosedError, TransferCaps, TransferError

ALLOWED_LEFT = (b"sleep infinity", b"runner.py", b"docker-init", b"bwrap")


PROBE = """
import os
for p in os.listdir('/proc'):
    if p.isdigit() and int(p) != os.getpid():
        try:
            print(open(f'/proc/{p}/cmdline', 'rb').read().replace(b'\\0', b' ').decode())
        except OSError:
            pass
"""


def running(session) -> list[bytes]:
    """Command lines of the processes in the session, other than its own machinery."""
    result = session.exec(["python3", "-c", PROBE])
    lines = [line.strip().encode() for line in result.stdout.decode().splitlines() if line.strip()]
    return [line for line in lines if not any(a in line for a in ALLOWED_LEFT)]


def test_exec_passes_stdin_env_cwd_and_exit_code(session):
    result = session.exec(["sh", "-c", "cat; echo \"$GREETING\"; pwd; echo err >&2; exit 3"], stdin=b"in\n", env={"GREETING": "hi"})
    assert result.exit_code == 3 and not result.ok and result.exit_reason == "exit"
    assert result.stdout == b"in\nhi\n/work\n"
    assert result.stderr == b"err\n"
    env = session.exec(["env"], env={"A": "1"}, cwd="/tmp").stdout.decode().splitlines()
    assert sorted(env) == sorted(["A=1", "PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", "LANG=C.UTF-8"])


def test_runs_as_non_root_without_capabilities_on_a_read_only_root(session):
    result = session.exec(["sh", "-c", "id -u; grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status; touch /usr/x /etc/x /x"])
    lines = result.stdout.decode().split()
    assert lines[0] != "0"
    assert lines[1:] == ["CapEff:", "0000000000000000", "CapBnd:", "0000000000000000", "NoNewPrivs:", "1"]
    assert result.exit_code != 0 and result.stderr.count(b"Read-only file system") == 3


def test_fork_bomb_is_contained(session):
    bomb = "import os\nwhile True:\n    try: os.fork()\n    except OSError: pass"
    result = session.exec(["python3", "-c", bomb], timeout=3)
    assert result.timed_out and result.exit_code is None
    assert running(session) == []  # every bomb process died with it
    assert session.exec(["true"]).ok  # and the session still works


def has_session_cgroup(session) -> bool:
    """Docker always limits the session as a whole; bwrap when it could give it a cgroup."""
    return session.backend_name == "docker" or getattr(session, "cgroup", None) is not None


def test_memory_bomb_is_killed_for_memory(session):
    bomb = "x = []\nwhile True: x.append(bytearray(16 << 20))"
    result = session.exec(["python3", "-c", bomb], timeout=20)
    assert not result.ok and not result.timed_out
    if has_session_cgroup(session):
        assert result.oom_killed and result.exit_reason == "oom"  # the cgroup's OOM killer
    else:
        # bwrap without a cgroup (rlimits only): RLIMIT_AS makes the allocation fail instead
        assert result.exit_code == 1 and b"MemoryError" in result.stderr and not result.oom_killed
    assert session.exec(["true"]).ok
    assert not session.exec(["python3", "-c", "print(1)"]).oom_killed  # a later exec is not blamed


SPREAD = """
import subprocess, sys
hold = "import time\\nx = bytearray(%s)\\nprint('held', flush=True)\\ntime.sleep(3)" % sys.argv[1]
kids = [subprocess.Popen([sys.executable, '-c', hold]) for _ in range(4)]
print(*[k.wait() for k in kids])
"""


def test_memory_limit_holds_for_the_whole_session(session):
    """Four processes each taking 40% of the limit cannot all live at once."""
    share = (TEST_LIMITS.memory_mb << 20) * 4 // 10
    result = session.exec(["python3", "-c", SPREAD, str(share)], timeout=30)
    codes = result.stdout.split()[-4:]
    assert len(codes) == 4, result.stderr
    if has_session_cgroup(session):
        assert b"-9" in codes  # the OOM killer took at least one
    else:
        # rlimits only: each process alone is bounded, the session as a whole is not
        assert codes == [b"0"] * 4
        single = session.exec(["python3", "-c", f"bytearray({(TEST_LIMITS.memory_mb << 20) * 11 // 10})"])
        assert b"MemoryError" in single.stderr
    assert session.exec(["true"]).ok


@pytest.mark.parametrize("argv", [["python3", "-c", "while True: pass"], ["sh", "-c", "sleep 100 & sleep 100"]])
def test_hung_command_is_killed_at_its_deadline(session, argv):
    start = time.monotonic()
    result = session.exec(argv, timeout=1)
    assert result.timed_out and result.exit_reason == "timeout"
    assert time.monotonic() - start < 5
    assert running(session) == []


def test_wall_clock_limit_kills_the_whole_session(backend):
    session = backend.start(Limits(wall_seconds=2, exec_timeout=30))
    left = tracker(session)
    start = time.monotonic()
    result = session.exec(["sleep", "60"])
    assert result.timed_out and time.monotonic() - start < 10
    with pytest.raises(SessionClosedError):
        session.exec(["true"])
    session.close()
    assert left() == []


def test_endless_output_is_capped_and_host_memory_stays_flat(session):
    tracemalloc.start()
    try:
        out = session.exec(["yes"], timeout=10)
        err = session.exec(["python3", "-c", "import sys\nwhile True: sys.stderr.write('x' * 65536)"], timeout=10)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    cap = TEST_LIMITS.output_bytes
    assert len(out.stdout) == cap and out.stdout_truncated and not out.timed_out
    assert len(err.stderr) == cap and err.stderr_truncated and not err.timed_out
    assert peak < 20 * cap  # a few copies of the capped reply, nothing like the stream


def test_disk_fillers_are_bounded(session):
    # files under the fsize limit (16 MiB) until /work (32 MiB) is full
    fill = session.exec(["sh", "-c", "for i in 1 2 3 4; do dd if=/dev/zero of=/work/f$i bs=1M count=15 || exit 1; done"], timeout=20)
    assert fill.exit_code == 1 and b"No space left" in fill.stderr
    used = session.exec(["sh", "-c", "cat /work/f* | wc -c"]).stdout
    assert int(used) <= TEST_LIMITS.work_mb << 20
    big = session.exec(["dd", "if=/dev/zero", "of=/tmp/big", "bs=1M", "count=20"], timeout=20)
    assert not big.ok  # killed by SIGXFSZ past the file-size limit
    size = int(session.exec(["stat", "-c", "%s", "/tmp/big"]).stdout)
    assert size <= TEST_LIMITS.fsize_mb << 20
    root = session.exec(["dd", "if=/dev/zero", "of=/fill", "bs=1M", "count=1"])
    assert root.exit_code != 0


def test_host_environment_and_files_are_not_visible(session, monkeypatch, tmp_path):
    canary = "dgm-canary-4f1c2a9e7b"
    monkeypatch.setenv("DGM_TEST_SECRET", canary)
    (tmp_path / "host-secret.txt").write_text(canary)
    script = f"cat /proc/*/environ /proc/*/cmdline 2>/dev/null; env; ls -R /tmp /work /run 2>/dev/null; cat {tmp_path}/host-secret.txt"
    result = session.exec(["sh", "-c", script])
    seen = result.stdout + result.stderr
    assert canary.encode() not in seen and b"DGM_TEST_SECRET" not in seen
    assert b"No such file" in result.stderr
    docker_sock = session.exec(["sh", "-c", "ls /var/run/docker.sock /run/docker.sock"])
    assert docker_sock.exit_code != 0


def test_network_access_fails(session):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    try:
        probe = (
            "import socket\nfor addr in [('127.0.0.1', %d), ('1.1.1.1', 53), ('deb.debian.org', 80)]:\n"
            "    try:\n        socket.create_connection(addr, timeout=3); print('connected', addr)\n"
            "    except OSError as e: print('failed', addr)" % port
        )
        result = session.exec(["python3", "-c", probe], timeout=20)
    finally:
        listener.close()
    assert result.stdout.count(b"failed") == 3 and b"connected" not in result.stdout


def test_double_forked_daemon_is_gone_after_close(backend):
    session = backend.start(TEST_LIMITS)
    left = tracker(session)
    daemon = (
        "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
        "        open('/tmp/daemon.pid', 'w').write(str(os.getpid()))\n        time.sleep(1000)\n    os._exit(0)\n"
        "time.sleep(0.5)"
    )
    assert session.exec(["python3", "-c", daemon], timeout=10).ok
    assert session.exec(["sh", "-c", "kill -0 $(cat /tmp/daemon.pid)"]).ok  # it escaped the exec
    assert left() != []
    session.close()
    session.close()  # idempotent
    assert left() == []


def test_files_round_trip_and_unsafe_puts_are_refused(session, tmp_path):
    session.put_files("/work", {"a.txt": b"A", "sub/b.bin": bytes(range(256))})
    assert session.get_files("/work") == {"a.txt": b"A", "sub/b.bin": bytes(range(256))}
    for bad in ("../escape", "/etc/passwd", "a/../../b"):
        with pytest.raises(TransferError):
            session.put_files("/work", {bad: b"x"})
    with pytest.raises(TransferError):
        session.put_files("/work/../etc", {"x": b"x"})
    (tmp_path / "ok.txt").write_text("fine")
    session.put_dir(tmp_path, "/work/copied")
    assert session.get_files("/work/copied") == {"ok.txt": b"fine"}
    (tmp_path / "link").symlink_to("/etc/passwd")
    with pytest.raises(TransferError):
        session.put_dir(tmp_path, "/work/copied2")


@pytest.mark.parametrize(
    "setup, caps",
    [
        ("ln -s /etc/passwd /work/out/link", None),
        ("mkdir /work/real && ln -s /work/real /work/out/dirlink", None),
        ("echo x > /work/out/a && ln /work/out/a /work/out/hard", None),
        ("mkfifo /work/out/fifo", None),
        ("head -c 2000000 /dev/zero > /work/out/huge", TransferCaps(max_bytes=1_000_000, max_file_bytes=1_000_000)),
        ("for i in $(seq 1 30); do echo $i > /work/out/f$i; done", TransferCaps(max_files=10)),
    ],
    ids=["symlink", "dir-symlink", "hardlink", "fifo", "huge", "too-many"],
)
def test_hostile_trees_coming_out_are_refused(session, setup, caps):
    assert session.exec(["sh", "-c", f"mkdir -p /work/out && {setup}"]).ok
    with pytest.raises(TransferError):
        session.get_files("/work/out", caps)


def test_read_only_mounts_are_visible_but_not_writable(backend, tmp_path):
    (tmp_path / "task.md").write_text("do it")
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    with pytest.raises(SandboxStartError, match="closed to the sandbox user"):
        backend.start(TEST_LIMITS, mounts=[Mount(private, "/task")])
    private.rmdir()
    tmp_path.chmod(0o755)
    with backend.start(TEST_LIMITS, mounts=[Mount(tmp_path, "/task")]) as session:
        assert session.exec(["cat", "/task/task.md"]).stdout == b"do it"
        assert session.exec(["sh", "-c", "echo x > /task/task.md; touch /task/new"]).exit_code != 0
    assert (tmp_path / "task.md").read_text() == "do it" and sorted(os.listdir(tmp_path)) == ["task.md"]


def test_batch_runs_items_in_their_own_processes_with_their_own_timeouts(session):
    items = [
        BatchItem(["python3", "-c", "print(6 * 7)"]),
        BatchItem(["sh", "-c", "sleep 60 & sleep 60"], timeout=0.5),
        BatchItem(["python3", "-c", "import sys; sys.exit(3)"]),
        BatchItem(["cat"], stdin=b"fed"),
        BatchItem(["sh", "-c", "echo $X; pwd; touch mine; ls"], env={"X": "y"}),
        BatchItem(["sh", "-c", "ls"]),
        BatchItem(["python3", "-c", "import os; os.kill(os.getpid(), 9)"]),
    ]
    results = session.run_batch(items)
    assert [r.exit_code for r in results] == [0, None, 3, 0, 0, 0, None]
    assert results[0].stdout == b"42\n"
    assert results[1].timed_out and results[1].duration < 3
    assert results[3].stdout == b"fed"
    out = results[4].stdout.decode().split()
    assert out[0] == "y" and out[1].startswith("/tmp/") and out[2] == "mine"
    assert results[5].stdout == b""  # a fresh directory per item
    assert not results[6].timed_out and not results[6].oom_killed
    assert running(session) == []


def test_killing_the_runner_ends_the_session_cleanly(backend):
    session = backend.start(TEST_LIMITS)
    left = tracker(session)
    result = session.exec(["sh", "-c", "kill -9 $PPID; sleep 5"])
    assert result.exit_code is None and not result.ok
    with pytest.raises(SessionClosedError):
        session.exec(["true"])
    session.close()
    assert left() == []


RUNNER_SNOOP = """
import os
pids = [p for p in os.listdir('/proc') if p.isdigit() and int(p) != os.getpid()]
# the runner itself (bubblewrap's own pid 1 also names runner.py in its arguments: see notes)
runner = [p for p in pids if b'python' in open(f'/proc/{p}/cmdline', 'rb').read().split(b'\\0')[0]
          and b'runner.py' in open(f'/proc/{p}/cmdline', 'rb').read()]
assert runner, 'no runner process found'
for p in runner:
    for target in (f'/proc/{p}/fd/1', f'/proc/{p}/mem'):
        try:
            open(target, 'wb' if target.endswith('/1') else 'rb').close()
            print('OPENED', target)
        except OSError as exc:
            print('denied', target, type(exc).__name__)
"""


def test_agent_code_cannot_reach_into_the_runner(session):
    """The runner runs as the agent's user; it must still be out of reach (not dumpable), or
    agent code could write into its protocol pipe or read its memory."""
    result = session.exec(["python3", "-c", RUNNER_SNOOP])
    assert result.ok, result.stderr
    assert b"OPENED" not in result.stdout
    assert result.stdout.count(b"denied") >= 2


TRUSTED_SNOOP = """
import os, subprocess, sys, time
victims = {name: subprocess.Popen([exe, "-c", "import time; time.sleep(2)"], stdin=subprocess.PIPE)
           for name, exe in (("trusted", sys.argv[1]), ("ordinary", "python3"))}
for name, proc in victims.items():
    try:  # at once: inside the interpreter's start-up, before any prctl could have run
        open(f"/proc/{proc.pid}/fd/0", "wb").close()
        print(name, "OPENED")
    except OSError:
        print(name, "denied")
    proc.kill()
"""


def test_trusted_python_is_out_of_reach_from_its_first_instruction(session):
    """Grading parents run on TRUSTED_PYTHON: agent code of another item in the same session
    must never reach their pipes (where the hidden tests arrive), not even during start-up."""
    from dgm.sandbox import TRUSTED_PYTHON

    assert session.exec(["cat", TRUSTED_PYTHON]).exit_code != 0, "the trusted python must not be readable"
    result = session.exec(["python3", "-c", TRUSTED_SNOOP, TRUSTED_PYTHON])
    assert result.stdout.split(b"\n")[:2] == [b"trusted denied", b"ordinary OPENED"], result


FORGE_THROUGH_PID1 = r"""
import json, os, struct, sys
header = json.dumps({"exit_code": 0, "stdout_len": 16}).encode()
forged = struct.pack(">I", len(header)) + header + struct.pack(">Q", 16) + b"ALL TESTS PASSED"
reached = []
for fd in os.listdir("/proc/1/fd"):
    try:
        with open(f"/proc/1/fd/{fd}", "wb") as stream:
            stream.write(forged)
        reached.append(fd)
    except OSError:
        pass
print("reached", reached)
sys.exit(1)
"""


def test_agent_code_cannot_forge_replies_through_the_sandbox_init(session):
    """Whatever pid 1 of the sandbox is (docker-init, bubblewrap's init), agent code that
    writes into its open files must not reach the host's channel to the runner."""
    result = session.exec(["python3", "-c", FORGE_THROUGH_PID1])
    assert result.exit_code == 1 and b"ALL TESTS PASSED" not in result.stdout
    follow = session.exec(["echo", "in step"])
    assert follow.ok and follow.stdout == b"in step\n", "the channel must still be in step"


def test_no_writable_space_beyond_the_sized_tmpfs(session):
    """/dev/shm is writable on both backends, so it must be sized too (Docker: 64 MiB;
    bubblewrap: the size of /tmp), not half the host's memory."""
    result = session.exec(["python3", "-c", "import os; s = os.statvfs('/dev/shm'); print(s.f_blocks * s.f_frsize)"])
    assert result.ok and int(result.stdout) <= max(TEST_LIMITS.tmp_mb, 64) << 20
