"""Sandbox speed: session start + one command + close, against a bare `docker run --rm IMAGE
true`; and the batch runner's per-item cost on 200 trivial Python snippets, against the same
snippets run as local subprocesses with no sandbox (goal: within 1.5x). Run after
`dgm sandbox build`; backends that do not work here are reported and skipped."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time

from dgm.sandbox import BatchItem, Limits, SandboxError, open_backend
from dgm.sandbox.layout import DEFAULT_IMAGE, rootfs_dir

ROUNDS = 10
SNIPPETS = 200
LIMITS = Limits(wall_seconds=300, exec_timeout=30)


def median_seconds(fn, rounds: int = ROUNDS) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def session_round_trip(backend) -> None:
    with backend.start(LIMITS) as session:
        assert session.exec(["true"]).ok


def docker_run_true() -> None:
    subprocess.run(["docker", "run", "--rm", DEFAULT_IMAGE, "true"], check=True, capture_output=True)


def snippets(python: str = "python3") -> list[list[str]]:
    return [[python, "-c", f"print({i} * {i})"] for i in range(SNIPPETS)]


def local_batch(python: str) -> float:
    start = time.perf_counter()
    for argv in snippets(python):
        subprocess.run(argv, capture_output=True, timeout=10, check=True)
    return time.perf_counter() - start


def sandbox_batch(backend) -> float:
    start = time.perf_counter()
    with backend.start(LIMITS) as session:
        results = session.run_batch([BatchItem(argv) for argv in snippets()], parallel=1)
    assert all(r.ok for r in results)
    return time.perf_counter() - start


def main() -> int:
    backends = {}
    for name in ("docker", "bwrap"):
        try:
            backends[name] = open_backend(name)
        except SandboxError as exc:
            print(f"{name}: not available here ({exc})")
    print(f"== session start + one command + close (median of {ROUNDS}) ==")
    bare = None
    if "docker" in backends and shutil.which("docker"):
        docker_run_true()  # warm-up
        bare = median_seconds(docker_run_true)
        print(f"  docker run --rm {DEFAULT_IMAGE} true   {bare * 1000:8.1f} ms  (baseline)")
    for name, backend in backends.items():
        session_round_trip(backend)  # warm-up
        took = median_seconds(lambda: session_round_trip(backend))
        ratio = f"{took / bare:5.2f}x the baseline" if bare else "no docker baseline"
        print(f"  {name:6} session round trip          {took * 1000:8.1f} ms  ({ratio})")
    print(f"== batch runner: {SNIPPETS} trivial python snippets, sequential ==")
    host_python = shutil.which("python3") or sys.executable
    local = min(local_batch(host_python) for _ in range(2))
    print(f"  local subprocesses, host python3       {local:6.2f} s  {local / SNIPPETS * 1000:6.2f} ms/item  (baseline)")
    image_python = rootfs_dir() / "usr/bin/python3"
    if image_python.exists():
        # the sandbox's own interpreter run on the host: the same work minus the isolation
        same = min(local_batch(str(image_python)) for _ in range(2))
        print(f"  local subprocesses, the image's python {same:6.2f} s  {same / SNIPPETS * 1000:6.2f} ms/item  (stricter baseline)")
        local = same
    for name, backend in backends.items():
        took = min(sandbox_batch(backend) for _ in range(2))
        verdict = "meets" if took <= 1.5 * local else "MISSES"
        print(
            f"  {name:6} one session, run_batch       {took:6.2f} s  {took / SNIPPETS * 1000:6.2f} ms/item  "
            f"({took / local:4.2f}x; {verdict} the 1.5x goal; includes session start and close)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
