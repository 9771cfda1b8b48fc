"""Grading one SWE-bench instance: what runs in the grading sandbox, and the verdict.

In a fresh session of the instance's image (the pristine repository copied to /work, which
the image's /testbed leads to): first the agent's diff is applied, minus every file the test
patch touches and every file that could hook the test run; then the instance's evaluation
script resets the test files, applies the test patch and runs the test command between the
swebench markers. For repositories the swebench package knows, that script and the log
parser are the package's own (`make_test_spec`, `get_logs_eval`); for others the instance
or the suite's config names a test command and one of the package's parsers. The host
parses the log per test: resolved only when every FAIL_TO_PASS and PASS_TO_PASS test passed.
The swebench package is imported here only, lazily, when a grade is decided.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
from dataclasses import dataclass
from pathlib import PurePosixPath
from types import SimpleNamespace
from typing import Any, Callable

from dgm.evals.base import EvalError
from dgm.evals.swebench_data import Instance, SweBenchFormatError

HOOK_FILES = ("conftest.py", "sitecustomize.py", "usercustomize.py", "*.pth", "pytest.ini", "tox.ini", "setup.cfg",
              "pyproject.toml", ".coveragerc", "noxfile.py")  # fmt: skip
"""Files that can change how tests run or report: never taken from the agent's diff."""
TEST_FILES = ("test_*.py", "*_test.py")
TEST_DIR = "tests"
"""Test files and anything under a `tests` directory are never taken from the agent's diff
either: SWE-bench split each fix into patch and test_patch by a broader rule of the same kind,
so no gold patch touches them."""
EXIT_CODE = "DGM_TEST_EXIT_CODE="
_EXIT_LINE = re.compile(rf"^{EXIT_CODE}(\d+)$", re.MULTILINE)
START = ">>>>> Start Test Output"
END = ">>>>> End Test Output"
PASSING = ("PASSED", "XFAIL")
_SAME_PATH = re.compile(r"^diff --git a/(.+) b/\1$")
_DIFF_HEADER = re.compile(r"^diff --git a/(\S+) b/(\S+)$")
HEREDOC = "EOF_DGM_7731940"


@dataclass(frozen=True)
class FilteredPatch:
    patch: str
    dropped: tuple[str, ...]
    """Paths whose changes were left out (test files, hooks)."""


@dataclass(frozen=True)
class Decision:
    resolved: bool
    reason: str
    """ok, failed, no-tests (the log shows no test run), inconsistent-log (a failed run whose log
    reports no failure)."""
    detail: str


def header_paths(line: str) -> tuple[str, ...] | None:
    """The paths of a `diff --git` header line (one path, or both sides of a rename); None
    when git quoted them (quotes, backslashes, control bytes), which this does not decode."""
    same = _SAME_PATH.match(line)
    if same:
        return (same.group(1),)
    pair = _DIFF_HEADER.match(line)
    return pair.groups() if pair else None


def patch_files(patch: str) -> list[str]:
    """Paths a git diff touches (both sides of each header), in order."""
    paths: list[str] = []
    for line in patch.splitlines():
        for path in header_paths(line) or () if line.startswith("diff --git ") else ():
            if path not in paths:
                paths.append(path)
    return paths


def is_hook(path: str) -> bool:
    """A file that can hook the test run, or a test file (see TEST_FILES)."""
    parts = PurePosixPath(path).parts
    return TEST_DIR in parts[:-1] or any(fnmatch.fnmatch(parts[-1], p) for p in (*HOOK_FILES, *TEST_FILES))


def filter_patch(patch: str, protected: set[str]) -> FilteredPatch:
    """The diff without the sections for protected paths or hook files."""
    kept: list[str] = []
    dropped: list[str] = []
    section: list[str] = []
    drop = False

    def flush() -> None:
        if section and not drop:
            kept.extend(section)

    for line in patch.splitlines(keepends=True):
        if line.startswith("diff --git "):
            flush()
            section = []
            paths = header_paths(line.rstrip("\n"))
            if paths is None:  # a quoted path: not checkable, so not taken
                drop = True
                dropped.append(line[len("diff --git ") :].strip()[:200])
            else:
                drop = bool(set(paths) & protected) or any(is_hook(p) for p in paths)
                if drop:
                    dropped.append(paths[-1])
        section.append(line)
    flush()
    return FilteredPatch("".join(kept), tuple(dropped))


def apply_script(patch_path: str) -> str:
    """Apply the agent's (filtered) diff in /work, as the official harness does: `git apply`,
    then `patch` with fuzz. No code of the candidate runs here."""
    p = shlex.quote(patch_path)
    return (
        f"cd /work && if [ ! -s {p} ]; then echo 'empty patch'; exit 0; fi\n"
        f"git apply --verbose {p} && exit 0\n"  # all or nothing: a failure leaves the tree as it was
        f"patch --batch --fuzz=5 -p1 -i {p} && exit 0\n"
        "exit 3\n"
    )


def require_swebench() -> None:
    """Raises: EvalError naming the install command when the swebench package is absent."""
    import importlib.util

    if importlib.util.find_spec("swebench") is None:
        raise EvalError("grading SWE-bench needs the swebench package: pip install 'dgm[swebench]'")


def known_spec(instance: Instance) -> Any | None:
    """The swebench package's test specification, when it knows the repository and version
    and the instance does not name its own test command."""
    if instance.test_cmd:
        return None
    require_swebench()
    from swebench.harness.constants import MAP_REPO_VERSION_TO_SPECS
    from swebench.harness.test_spec.test_spec import make_test_spec

    if instance.version not in MAP_REPO_VERSION_TO_SPECS.get(instance.repo, {}):
        return None
    return make_test_spec(dict(instance.record))


def eval_script(instance: Instance, test_cmd: str, source: str) -> str:
    """The evaluation script: the swebench package's for a known repository, else one of the
    same shape around `test_cmd` (reset test files, apply the test patch, markers, tests)."""
    spec = known_spec(instance)
    if spec is not None:
        return with_exit_code(spec.eval_script)
    command = instance.test_cmd or test_cmd
    if not command:
        raise SweBenchFormatError(
            f"{instance.instance_id}: the swebench package does not know {instance.repo} {instance.version or ''}; "
            "name a test_cmd (and log_parser) in the instance or the suite config"
        )
    base = shlex.quote(instance.base_commit)
    resets = []
    for path in patch_files(instance.test_patch):
        q = shlex.quote(path)
        resets.append(f"if git cat-file -e {base}:{q} 2>/dev/null; then git checkout {base} -- {q}; else rm -rf -- {q}; fi")
    lines = ["#!/bin/bash", "set -uxo pipefail", f"cd {shlex.quote(source)}", *resets,
             f"git apply -v - <<'{HEREDOC}'\n{instance.test_patch}\n{HEREDOC}",
             f": '{START}'", command, f": '{END}'"]  # fmt: skip
    return with_exit_code("\n".join(lines) + "\n")


def with_exit_code(script: str) -> str:
    """Record the test command's own exit status right after the end marker (the script's
    status is that of its last step). Only lines after the marker are read for it."""
    lines = script.split("\n")
    for i, line in enumerate(lines):
        if line == f": '{END}'":
            lines[i : i + 1] = ["dgm_status=$?", line, f'echo "{EXIT_CODE}$dgm_status"']
            return "\n".join(lines)
    raise SweBenchFormatError("the evaluation script has no end-of-tests marker")


def recorded_exit_code(log: str) -> int | None:
    """The test command's exit status from after the last end marker: the largest one found,
    so a line the candidate's leftover processes print cannot replace a failure by a 0."""
    if END not in log:
        return None
    codes = [int(c) for c in _EXIT_LINE.findall(log.rsplit(END, 1)[1])]
    return max(codes) if codes else None


def _parser(instance: Instance, log_parser: str) -> Callable[[str, Any], dict[str, str]]:
    import importlib

    name = instance.log_parser or log_parser or "parse_log_pytest"
    for lang in ("python", "javascript", "go", "rust", "java", "c", "php", "ruby"):
        try:
            module = importlib.import_module(f"swebench.harness.log_parsers.{lang}")
        except ImportError:
            continue
        if hasattr(module, name):
            return getattr(module, name)
    raise SweBenchFormatError(f"{instance.instance_id}: the swebench package has no log parser {name}")


def status_map(instance: Instance, log: str, log_path: str, log_parser: str) -> tuple[dict[str, str], bool]:
    """Per-test statuses from the log, and whether the log shows a test run at all."""
    spec = known_spec(instance)
    if spec is not None:
        from swebench.harness.grading import get_logs_eval

        return get_logs_eval(spec, log_path)
    if START not in log or END not in log:
        return {}, False
    parse = _parser(instance, log_parser)
    fake_spec = SimpleNamespace(instance_id=instance.instance_id, repo=instance.repo, version=instance.version,
                                FAIL_TO_PASS=list(instance.fail_to_pass), PASS_TO_PASS=list(instance.pass_to_pass))  # fmt: skip
    statuses = parse(log.split(START, 1)[1].split(END, 1)[0], fake_spec)
    return statuses, True


def decide(instance: Instance, statuses: dict[str, str], ran: bool, exit_code: int | None = None) -> Decision:
    """Resolved only when every FAIL_TO_PASS and PASS_TO_PASS test is reported passing (a
    skipped or missing test counts as not passing). Repositories whose parser records only
    failures (the swebench package's FAIL_ONLY_REPOS) pass a test that is not reported failing.
    A test command that failed while its log reports no failing test is not believed."""
    from swebench.harness.constants import FAIL_ONLY_REPOS

    if not ran:
        return Decision(False, "no-tests", "the log shows no test run")
    if exit_code not in (None, 0) and not any(s in ("FAILED", "ERROR") for s in statuses.values()):
        return Decision(False, "inconsistent-log", f"the tests exited {exit_code} but the log reports no failure")
    fail_only = instance.repo in FAIL_ONLY_REPOS
    bad = []
    for test in (*instance.fail_to_pass, *instance.pass_to_pass):
        status = statuses.get(test)
        ok = status not in ("FAILED", "ERROR") if fail_only else status in PASSING
        if not ok:
            bad.append(f"{test}: {status or 'missing'}")
    if bad:
        kind = "FAIL_TO_PASS" if any(b.split(": ")[0] in instance.fail_to_pass for b in bad) else "PASS_TO_PASS"
        return Decision(False, "failed", f"{len(bad)} test(s) not passing ({kind} first): " + "; ".join(bad[:20]))
    n = len(instance.fail_to_pass) + len(instance.pass_to_pass)
    return Decision(True, "ok", f"all {n} FAIL_TO_PASS and PASS_TO_PASS tests passed")
