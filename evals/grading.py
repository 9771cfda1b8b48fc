"""Run signed grading jobs in one fresh sandbox session and decide verdicts on the host.

Each job runs as its own batch item: a trusted grading parent (`harness/parent.py`) that
spawns one child for the untrusted part (the candidate's code, or a verifier fed an
untrusted answer). The parent signs its verdict with a key agreed with this process by
Diffie-Hellman; the host's private half never leaves this process. A verdict counts only
when the item's output holds exactly one key line and one correctly signed verdict line
for the right item, and the parent exited cleanly. Nothing else the sandbox prints counts.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, Sequence

from dgm.evals.base import Verdict
from dgm.evals.regrade import GradingSandboxLost, check_not_lost, once_more_if_lost
from dgm.sandbox import TRUSTED_PYTHON, Backend, BatchItem, ExecResult, Limits, Mount

HARNESS = Path(__file__).parent / "harness"
P = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
    "15728E5A8AACAA68FFFFFFFFFFFFFFFF",
    16,
)
"""RFC 3526 group 14, the same prime as in harness/parent.py."""
GRADE_LABELS = {"purpose": "grade"}


@lru_cache(maxsize=None)
def harness_source(name: str) -> str:
    """A harness program with the shared wire code prepended (both run as `python -c`)."""
    return (HARNESS / "wire.py").read_text() + "\n" + (HARNESS / name).read_text()


@dataclass(frozen=True)
class GradeJob:
    """One item to grade: `mode` picks the parent's routine, `child` the untrusted program."""

    task_id: str
    mode: str
    child: str
    fields: Mapping[str, Any]
    timeout: float = 10.0


@dataclass(frozen=True)
class GradingSetup:
    """How the grading session is started: limits, read-only mounts, parallel items."""

    limits: Limits = field(
        default_factory=lambda: Limits(wall_seconds=1800, memory_mb=2048, pids=512, cpus=2.0, output_bytes=64_000)
    )
    mounts: Sequence[Mount] = ()
    labels: Mapping[str, str] = field(default_factory=lambda: dict(GRADE_LABELS))


def grade_jobs(backend: Backend, jobs: Sequence[GradeJob], setup: GradingSetup | None = None) -> list[Verdict]:
    """Grade every job in ONE fresh session (each in its own process and directory).

    Raises: SandboxError when no session can be started.
    """
    if not jobs:
        return []
    setup = setup or GradingSetup()
    # One host secret per batch (each parent brings its own, so every item's key differs);
    # a 256-bit exponent gives 128-bit security at an eighth of a full exponent's cost.
    secret = secrets.randbits(256) | (1 << 255)
    peer = format(pow(2, secret, P), "x")
    parent = harness_source("parent.py")
    items = []
    for job in jobs:
        payload = dict(job.fields)
        payload.update(item=job.task_id, mode=job.mode, child=harness_source(job.child), peer=peer, timeout=job.timeout)
        items.append(
            BatchItem(
                argv=[TRUSTED_PYTHON, "-I", "-S", "-c", parent],  # non-dumpable from birth
                stdin=json.dumps(payload).encode(),
                timeout=job.timeout + 10.0,
            )
        )

    def batch() -> list[ExecResult]:
        with backend.start(setup.limits, list(setup.mounts), dict(setup.labels)) as session:
            results = session.run_batch(items)
        check_not_lost(*results)
        return results

    try:
        results = once_more_if_lost(f"a batch of {len(jobs)}", batch)
    except GradingSandboxLost as exc:
        return [Verdict(job.task_id, False, "grader-error", str(exc)) for job in jobs]
    return [verdict_from(job, secret, result) for job, result in zip(jobs, results)]


def verdict_from(job: GradeJob, secret: int, result: ExecResult) -> Verdict:
    """Decide on the host: only a correctly signed verdict from a cleanly exited parent counts."""
    if result.timed_out:
        return Verdict(job.task_id, False, "timeout", "grading timed out")
    if result.oom_killed:
        return Verdict(job.task_id, False, "oom", "grading ran out of memory")
    lines = result.stdout.decode("utf-8", "replace").splitlines()
    keys = [line for line in lines if line.startswith("KEY ")]
    verdicts = [line for line in lines if line.startswith("VERDICT ")]
    if result.exit_code != 0 or len(keys) != 1 or len(verdicts) != 1 or not lines or lines[0] != keys[0]:
        tail = result.stderr.decode("utf-8", "replace")[-500:]
        return Verdict(job.task_id, False, "grader-error", f"no valid verdict (exit {result.exit_code}) {tail}")
    try:
        peer = int(keys[0][4:], 16)
        _, mac, body = verdicts[0].split(" ", 2)
    except ValueError:
        return Verdict(job.task_id, False, "grader-error", "malformed verdict")
    if not 1 < peer < P - 1:
        return Verdict(job.task_id, False, "grader-error", "bad key")
    key = hashlib.sha256(format(pow(peer, secret, P), "x").encode()).digest()
    if not hmac.compare_digest(hmac.new(key, body.encode(), "sha256").hexdigest(), mac):
        return Verdict(job.task_id, False, "grader-error", "verdict signature does not match")
    data = json.loads(body)
    if data.get("item") != job.task_id:
        return Verdict(job.task_id, False, "grader-error", "verdict for another item")
    passed = data.get("passed") is True
    return Verdict(job.task_id, passed, "ok" if passed else str(data.get("reason", "failed")), str(data.get("detail", "")))
