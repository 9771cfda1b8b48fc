"""Several processes claim jobs from one archive at once: no job is taken twice, none is lost."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from dgm.archive import Archive

CLAIMER = """
import json, sys, time
from pathlib import Path
from dgm.archive import Archive
run, go, ready = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
taken = []
with Archive.open(run) as store:
    ready.touch()
    while not go.exists():  # every claimer is connected before the first claim
        time.sleep(0.005)
    while (job := store.claim_job(["child"])) is not None:
        taken.append(job.id)
        time.sleep(0.01)  # the job's work
        store.finish_job(job.id, ok=True)
print(json.dumps(taken))
"""


def test_processes_claiming_at_once_never_share_a_job(family, tmp_path):
    jobs, claimers = 60, 4
    with Archive.open(family.run) as store:
        queued = [store.enqueue_job("child", {"iteration": i}) for i in range(jobs)]
        store.enqueue_job("evaluate", {"agent": "a1"})  # another kind: never claimed here
    go, ready = tmp_path / "go", [tmp_path / f"ready{i}" for i in range(claimers)]
    procs = [
        subprocess.Popen([sys.executable, "-c", CLAIMER, str(family.run), str(go), str(flag)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for flag in ready
    ]
    deadline = time.monotonic() + 60
    while not all(flag.exists() for flag in ready) and time.monotonic() < deadline and all(p.poll() is None for p in procs):
        time.sleep(0.01)
    go.touch()
    results = [proc.communicate(timeout=120) for proc in procs]
    for proc, (_, err) in zip(procs, results):
        assert proc.returncode == 0, err
    taken = [json.loads(out) for out, _ in results]
    every = [job for mine in taken for job in mine]
    assert sorted(every) == queued, "each job claimed exactly once"
    assert sum(1 for mine in taken if mine) >= 2, "the claims were spread over several processes"
    with Archive.open(family.run, readonly=True) as store:
        assert {job.state for job in store.jobs("done")} == {"done"} and len(store.jobs("done")) == jobs
        assert all(job.attempts == 1 for job in store.jobs("done"))
        assert [job.kind for job in store.jobs("queued")] == ["evaluate"]
