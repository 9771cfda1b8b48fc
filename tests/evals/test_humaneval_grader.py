"""The humaneval grader against the official harness, and against hostile completions."""

import pytest

from dgm.evals.humaneval import grade_completions, problems
from dgm.evals.mutations import pick_mutations

from he_official import run_official

pytestmark = pytest.mark.docker

EMPTY = "    pass\n"


def mixed_set() -> list[tuple[str, str, str]]:
    """(problem id, kind, completion): canonical, empty and one injected bug per problem."""
    rows = []
    for p in problems():
        rows.append((p.task_id, "canonical", p.canonical_solution))
        rows.append((p.task_id, "empty", EMPTY))
        bugs = pick_mutations(p.prompt + p.canonical_solution, p.entry_point, f"agree:{p.task_id}", 1)
        if bugs:
            rows.append((p.task_id, "buggy", bugs[0].apply(p.prompt + p.canonical_solution)[len(p.prompt):]))
    return rows


def grade_rows(backend, rows):
    # grade_completions is keyed by problem id: one call per kind keeps ids unique
    verdicts = {}
    for kind in ("canonical", "empty", "buggy"):
        subset = {pid: c for pid, k, c in rows if k == kind}
        for pid, v in grade_completions(backend, subset).items():
            verdicts[(pid, kind)] = v
    return [verdicts[(pid, kind)] for pid, kind, _ in rows]


def test_grader_agrees_with_official_harness(backend):
    rows = mixed_set()
    ours = grade_rows(backend, rows)
    official = run_official([(pid, c) for pid, _, c in rows])
    canonical = [v for (_, k, _), v in zip(rows, ours) if k == "canonical"]
    empty = [v for (_, k, _), v in zip(rows, ours) if k == "empty"]
    assert len(canonical) == 164 and all(v.passed for v in canonical), [v for v in canonical if not v.passed]
    assert len(empty) == 164 and not any(v.passed for v in empty)
    disagreements = [(pid, k, v.passed, o) for (pid, k, _), v, o in zip(rows, ours, official) if v.passed != o]
    assert disagreements == []
    buggy = [(v, o) for (_, k, _), v, o in zip(rows, ours, official) if k == "buggy"]
    assert len(buggy) > 150 and 0 < sum(o for _, o in buggy) < len(buggy)  # a real mix


HOSTILE = {
    "exit-early": "    import sys\n    sys.exit(0)\n",
    "os-exit": "    import os\n    os._exit(0)\n",
    "exit-at-import": "    pass\nimport os\nos._exit(0)\n",
    "always-equal": (
        "    class AlwaysEqual:\n        def __eq__(self, other): return True\n"
        "        def __ne__(self, other): return False\n    return AlwaysEqual()\n"
    ),
    "int-subclass": "    class Liar(int):\n        def __eq__(self, other): return True\n    return Liar(0)\n",
    "flood": "    import sys\n    while True:\n        sys.stdout.write('ok ' * 100000)\n",
    "hang": "    while True:\n        pass\n",
    "fake-verdict": (
        "    import json, os\n"
        "    line = 'VERDICT 00 ' + json.dumps({'item': 'HumanEval/0', 'passed': True, 'reason': 'ok', 'detail': ''})\n"
        "    for fd in ('/proc/%d/fd/1' % os.getppid(), '/proc/1/fd/1'):\n"
        "        try:\n            open(fd, 'w').write('KEY 2\\n' + line + '\\n')\n        except OSError:\n            pass\n"
        "    print(line)\n    os._exit(0)\n"
    ),
    "patch-checker": (
        "    import builtins\n    builtins.AssertionError = type('X', (BaseException,), {})\n"
        "    raise SystemExit(0)\n"
    ),
    "huge-file": (
        "    with open('big', 'wb') as f:\n        for _ in range(1000):\n            f.write(b'0' * 1000000)\n"
        "    return None\n"
    ),
    "fork-daemon": "    import os\n    if os.fork() == 0:\n        os._exit(0)\n    return None\n",
    "read-parent-memory": (
        "    import os\n    data = open('/proc/%d/mem' % os.getppid(), 'rb')\n    return None\n"
    ),
}


@pytest.mark.parametrize("backend_name", ["docker", pytest.param("bwrap", marks=pytest.mark.bwrap)])
def test_hostile_completions_get_no_credit(backend_name):
    from dgm import sandbox

    backend = sandbox.open_backend(backend_name)
    # every hostile body replaces HumanEval/0's. Under bubblewrap the 'fake-verdict' body can
    # write into the runner's own protocol pipe (/proc/1/fd/1) and wreck the whole batch: no
    # credit either way (verdicts need the key), so the canonical control gets its own batch.
    from dgm.evals.grading import grade_jobs
    from dgm.evals.humaneval import function_job

    p0 = problems()[0]
    jobs = [function_job(name, p0, p0.prompt + body, filename="solution.py", tests=[p0.test]) for name, body in HOSTILE.items()]
    verdicts = {v.task_id: v for v in grade_jobs(backend, jobs)}
    assert {name: v.passed for name, v in verdicts.items()} == {name: False for name in HOSTILE}
    assert verdicts["hang"].reason in ("timeout", "grader-error")
    control = function_job("control", p0, p0.prompt + p0.canonical_solution, filename="solution.py", tests=[p0.test])
    assert grade_jobs(backend, [control])[0].passed
