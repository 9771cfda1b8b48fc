"""The in-sandbox runner: executes commands for the host, one framed request at a time.

It runs inside every sandbox session (baked into the image at /opt/dgm/runner.py and
bind-mounted read-only over it from the host package), standard library only, on the
image's Python (3.11.2 in the Debian build: no tarfile filters, so paths are checked by hand).

Why a runner: a Docker exec cannot be killed from the host, bubblewrap has no exec at all,
and grading 164 solutions must not pay a container start each. The runner gives both
backends one protocol: each command in its own session and process group, its own
deadline, capped output, stragglers killed. The host never trusts what it says: agent code
runs as the same user and could tamper with it, so the host caps reply sizes and time.

Frame (both directions): 4-byte big-endian JSON length, JSON header, 8-byte payload length,
payload bytes.
"""

from __future__ import annotations

import base64
import io
import json
import os
import selectors
import shutil
import signal
import struct
import subprocess
import sys
import tarfile
import threading
import time

DEFAULT_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8"}
MAX_HEADER = 64 * 1024 * 1024
BATCH_ROOT = "/tmp/.dgm-batch"


def read_exact(stream, n):
    chunks = []
    while n:
        chunk = stream.read(n)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_frame(stream):
    (hlen,) = struct.unpack(">I", read_exact(stream, 4))
    if hlen > MAX_HEADER:
        raise EOFError
    header = json.loads(read_exact(stream, hlen))
    (plen,) = struct.unpack(">Q", read_exact(stream, 8))
    return header, read_exact(stream, plen) if plen else b""


def write_frame(stream, header, payload=b""):
    data = json.dumps(header).encode()
    stream.write(struct.pack(">I", len(data)) + data + struct.pack(">Q", len(payload)))
    stream.write(payload)
    stream.flush()


def kill_session(sid):
    """SIGKILL the process group and every process of the session `sid` (the command's own
    session: start_new_session makes the command its leader), so stragglers die too."""
    try:
        os.killpg(sid, signal.SIGKILL)
    except OSError:
        pass
    me = os.getpid()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == sid or int(fields[3]) == sid:
            try:
                os.kill(int(name), signal.SIGKILL)
            except OSError:
                pass


def run_command(argv, stdin=b"", timeout=10.0, env=None, cwd="/work", cap=1_000_000):
    """Run one command; returns (result dict, stdout bytes, stderr bytes)."""
    full_env = dict(DEFAULT_ENV)
    full_env.update(env or {})
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            argv, cwd=cwd, env=full_env, start_new_session=True,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
    except OSError as exc:
        msg = f"cannot run {argv[0] if argv else '?'}: {exc}\n".encode()
        return {"exit_code": 127, "signal": None, "timed_out": False, "duration": 0.0,
                "stdout_truncated": False, "stderr_truncated": False}, b"", msg
    try:
        with open(f"/proc/{proc.pid}/oom_score_adj", "w") as f:
            f.write("1000")  # the command, not the runner, is what the OOM killer should take
    except OSError:
        pass
    if stdin:
        threading.Thread(target=feed, args=(proc.stdin, stdin), daemon=True).start()
    out = {proc.stdout: bytearray(), proc.stderr: bytearray()}
    truncated = {proc.stdout: False, proc.stderr: False}
    sel = selectors.DefaultSelector()
    for stream in out:
        sel.register(stream, selectors.EVENT_READ)
    deadline = start + timeout
    timed_out = False
    exited_at = None
    while sel.get_map():
        now = time.monotonic()
        if proc.poll() is not None and exited_at is None:
            exited_at = now
            kill_session(proc.pid)  # stragglers of the group die; their pipes close
        if exited_at is not None and now - exited_at > 0.2:
            break  # an escaped daemon holds a pipe: stop waiting for it
        if now >= deadline and not timed_out:
            timed_out = True
            kill_session(proc.pid)
        for key, _ in sel.select(0.05 if exited_at or timed_out else min(0.5, max(0.0, deadline - now))):
            chunk = os.read(key.fileobj.fileno(), 65536)
            buf = out[key.fileobj]
            if not chunk:
                sel.unregister(key.fileobj)
                continue
            room = cap - len(buf)
            buf += chunk[:room]
            if len(chunk) > room:
                truncated[key.fileobj] = True
                sel.unregister(key.fileobj)
                key.fileobj.close()  # the writer gets SIGPIPE instead of filling memory
    sel.close()
    code = proc.wait()
    kill_session(proc.pid)
    for stream in out:
        if not stream.closed:
            stream.close()
    result = {
        "exit_code": code if code >= 0 else None,
        "signal": -code if code < 0 else None,
        "timed_out": timed_out,
        "duration": time.monotonic() - start,
        "stdout_truncated": truncated[proc.stdout],
        "stderr_truncated": truncated[proc.stderr],
    }
    return result, bytes(out[proc.stdout]), bytes(out[proc.stderr])


def feed(pipe, data):
    try:
        pipe.write(data)
        pipe.close()
    except OSError:
        pass


def op_exec(req, payload):
    result, stdout, stderr = run_command(
        req["argv"], payload, req.get("timeout", 10.0), req.get("env"), req.get("cwd") or "/work",
        req.get("cap", 1_000_000))
    result["stdout_len"] = len(stdout)
    return result, stdout + stderr


def op_batch(req, payload):
    items = req["items"]
    results = [None] * len(items)
    cap = req.get("cap", 1_000_000)
    lock = threading.Lock()
    todo = list(range(len(items)))

    def worker():
        while True:
            with lock:
                if not todo:
                    return
                i = todo.pop(0)
            item = items[i]
            cwd = item.get("cwd")
            own_dir = None
            if not cwd:
                own_dir = cwd = f"{BATCH_ROOT}/{i}"
                os.makedirs(cwd, exist_ok=True)
            stdin = base64.b64decode(item["stdin"]) if item.get("stdin") else b""
            results[i] = run_command(item["argv"], stdin, item.get("timeout", 10.0), item.get("env"), cwd, cap)
            if own_dir:
                shutil.rmtree(own_dir, ignore_errors=True)

    threads = [threading.Thread(target=worker) for _ in range(max(1, min(req.get("parallel", 1), len(items))))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    header, chunks = [], []
    for result, stdout, stderr in results:
        result["stdout_len"], result["stderr_len"] = len(stdout), len(stderr)
        header.append(result)
        chunks += [stdout, stderr]
    return {"results": header}, b"".join(chunks)


def safe_member(member, dest):
    name = member.name
    if name.startswith("/") or ".." in name.split("/") or not (member.isfile() or member.isdir()):
        raise ValueError(f"unsafe archive member {name!r}")
    target = os.path.realpath(os.path.join(dest, name))
    if target != dest and not target.startswith(dest + os.sep):
        raise ValueError(f"archive member {name!r} leaves {dest}")


def op_put(req, payload):
    dest = os.path.realpath(req["dest"])
    os.makedirs(dest, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(payload), mode="r:") as tar:
        for member in tar:
            safe_member(member, dest)
            path = os.path.join(dest, member.name)
            if member.isdir():
                os.makedirs(path, exist_ok=True)
                continue
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if os.path.islink(path):
                os.unlink(path)
            with tar.extractfile(member) as src, open(path, "wb") as dst:
                shutil.copyfileobj(src, dst)
            os.chmod(path, 0o755 if member.mode & 0o100 else 0o644)
    return {"ok": True}, b""


def op_get(req, payload):
    src = req["src"]
    if not os.path.isdir(src):
        return {"error": f"{src} is not a directory in the sandbox"}, b""
    max_bytes, max_files = req["max_bytes"], req["max_files"]
    buf = io.BytesIO()
    count = size = 0
    with tarfile.open(fileobj=buf, mode="w:") as tar:
        for root, dirs, files in os.walk(src):
            dirs.sort()
            for name in sorted(files) + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
                path = os.path.join(root, name)
                count += 1
                size += os.lstat(path).st_size
                if count > max_files or size > max_bytes:
                    return {"error": f"{src} holds more than {max_files} files or {max_bytes} bytes"}, b""
                tar.add(path, arcname=os.path.relpath(path, src), recursive=False)
    return {"ok": True}, buf.getvalue()


OPS = {"exec": op_exec, "batch": op_batch, "put": op_put, "get": op_get,
       "ping": lambda req, payload: ({"ok": True, "pid": os.getpid()}, b"")}


def make_undumpable():
    """Agent code runs as our user: without this it could read our memory or write into our
    protocol pipes through /proc/<pid>/fd. Children get the flag reset by execve."""
    try:
        import ctypes

        if ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0) != 0:  # PR_SET_DUMPABLE = 4
            sys.stderr.write("runner: prctl(PR_SET_DUMPABLE) failed; host-side caps still apply\n")
    except (OSError, AttributeError, ImportError) as exc:
        sys.stderr.write(f"runner: cannot make itself undumpable: {exc}\n")


def protocol_streams():
    """stdin/stdout, or the fds named by --fds=R,W. Bubblewrap's own pid 1 keeps its stdio
    (and is dumpable), so there the protocol travels on other fds, which that init closes."""
    for arg in sys.argv[1:]:
        if arg.startswith("--fds="):
            read_fd, write_fd = (int(x) for x in arg[len("--fds="):].split(","))
            return os.fdopen(read_fd, "rb"), os.fdopen(write_fd, "wb")
    return sys.stdin.buffer, sys.stdout.buffer


def serve():
    make_undumpable()
    stdin, stdout = protocol_streams()
    sys.stdout = sys.stderr  # nothing else may write into the protocol stream
    while True:
        try:
            req, payload = read_frame(stdin)
        except (EOFError, ValueError):
            return
        try:
            header, data = OPS[req["op"]](req, payload)
        except (OSError, ValueError, KeyError, TypeError, IndexError, tarfile.TarError) as exc:
            header, data = {"error": f"{type(exc).__name__}: {exc}"}, b""
        write_frame(stdout, header, data)


if __name__ == "__main__":
    serve()
