"""The archive on PostgreSQL against the same archive on SQLite (the baseline), same machine.

Builds the synthetic archive of bench_archive.py (N agents, default 1,000) twice, in
archive.db and in a throw-away local PostgreSQL server (scripts/pg-test-server.sh, unix
socket), then reports PostgreSQL / SQLite ratios for: adding an agent (git + rows), the
browsing commands as subprocess CLI calls, and claiming jobs (one process).

    python benchmarks/bench_postgres.py [--agents N]

No goal is set here: the figures say what moving the tables to a server costs on one host.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_archive import DGM, build, median_wall

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "pg-test-server.sh"
JOBS = 300


def claim_rate(run_dir: Path) -> float:
    """Jobs enqueued, claimed and finished per second by one process."""
    from dgm.archive import Archive

    with Archive.open(run_dir) as store:
        for i in range(JOBS):
            store.enqueue_job("bench", {"i": i})
        start = time.perf_counter()
        while (job := store.claim_job(["bench"])) is not None:
            store.finish_job(job.id, ok=True)
        return JOBS / (time.perf_counter() - start)


def measure(run_dir: Path, agents: int, url: str | None) -> dict[str, float]:
    built = build(run_dir, agents, url)
    figures = {"add_child median (ms)": built["add_median"] * 1000}
    for label, cmd in (
        ("archive ls (ms)", ["archive", "ls"]),
        ("archive tree (ms)", ["archive", "tree"]),
        ("archive show last (ms)", ["archive", "show", str(built["last"])]),
        ("status (ms)", ["status"]),
    ):
        figures[label] = median_wall([DGM, *cmd, "--run", str(run_dir)]) * 1000
    figures["jobs claimed per s (more is better)"] = claim_rate(run_dir)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=1000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    server = Path(tempfile.mkdtemp(prefix="dgm-pg-", dir="/tmp"))  # its own folder: the server's user must reach it
    try:
        started = subprocess.run([str(SCRIPT), "start", str(server)], capture_output=True, text=True)
        if started.returncode != 0:
            raise SystemExit(f"cannot start PostgreSQL: {started.stderr.strip()}")
        import psycopg

        with psycopg.connect(f"postgresql://dgm@/postgres?host={server}", autocommit=True) as conn:
            conn.execute("CREATE DATABASE bench")
        print(f"== {args.agents} agents on SQLite (baseline), then on PostgreSQL (local server, unix socket)")
        sqlite = measure(tmp / "sqlite" / "run", args.agents, None)
        postgres = measure(tmp / "postgres" / "run", args.agents, f"postgresql://dgm@/bench?host={server}")
        print(f"{'':36} {'SQLite':>10} {'PostgreSQL':>11} {'ratio':>7}")
        for label, base in sqlite.items():
            print(f"{label:36} {base:10.1f} {postgres[label]:11.1f} {postgres[label] / base:6.2f}x")
    finally:
        subprocess.run([str(SCRIPT), "stop", str(server)], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(server, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
