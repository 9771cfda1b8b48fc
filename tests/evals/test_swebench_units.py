"""swebench:FILE without Docker: loading and its errors, image names, the diff filter, the
decision, and the run config's mirror of the suite's options."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from dgm.evals import get_suite
from dgm.evals.swebench import DEFAULT_IMAGE_TEMPLATE, SweBenchOptions, image_name
from dgm.evals.swebench_data import Instance, SweBenchFormatError, load_instances
from dgm.evals.swebench_grade import Decision, decide, eval_script, filter_patch, patch_files, recorded_exit_code, with_exit_code

TEST_PATCH = "diff --git a/tests/test_a.py b/tests/test_a.py\n--- a/tests/test_a.py\n+++ b/tests/test_a.py\n@@ -0,0 +1 @@\n+x\n"
RECORD = {
    "instance_id": "astropy__astropy-12907", "repo": "astropy/astropy", "base_commit": "abc", "version": "4.3",
    "problem_statement": "p", "patch": "", "test_patch": TEST_PATCH,
    "FAIL_TO_PASS": '["tests/test_a.py::test_x"]', "PASS_TO_PASS": "[]",
}  # fmt: skip


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_json_list_json_lines_and_parquet_load_alike(tmp_path):
    as_list = load_instances(write(tmp_path, "a.json", json.dumps([RECORD])))
    as_lines = load_instances(write(tmp_path, "b.json", json.dumps(RECORD) + "\n" + json.dumps({**RECORD, "instance_id": "x__y-1"})))
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist([RECORD]), tmp_path / "c.parquet")
    as_parquet = load_instances(tmp_path / "c.parquet")
    assert as_list[0] == as_lines[0] == as_parquet[0]
    assert as_list[0].fail_to_pass == ("tests/test_a.py::test_x",) and as_list[0].pass_to_pass == ()
    assert [i.instance_id for i in as_lines] == ["astropy__astropy-12907", "x__y-1"]


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("missing.json", None, "no such file"),
        ("g.json", "{not json\n", "line 1 is not JSON"),
        ("e.jsonl", "", "holds no instances"),
        ("m.json", json.dumps([{k: v for k, v in RECORD.items() if k != "test_patch"}]), "instance 1: missing test_patch"),
        ("l.json", json.dumps([{**RECORD, "FAIL_TO_PASS": "[oops"}]), "astropy__astropy-12907: FAIL_TO_PASS is not a JSON list"),
        ("f.json", json.dumps([{**RECORD, "FAIL_TO_PASS": "[]"}]), "FAIL_TO_PASS is empty"),
        ("t.json", json.dumps([{**RECORD, "test_patch": "just words"}]), "test_patch is not a git diff"),
        ("d.json", json.dumps([RECORD, RECORD]), "appears twice"),
        ("p.parquet", "not parquet", "not a readable parquet file"),
    ],
)
def test_bad_files_and_instances_get_one_line_errors(tmp_path, name, text, message):
    path = tmp_path / name if text is None else write(tmp_path, name, text)
    with pytest.raises(SweBenchFormatError) as info:
        get_suite(f"swebench:{path}")
    assert message in str(info.value) and "\n" not in str(info.value)


def test_image_names_follow_the_swebench_rule_and_bad_templates_say_so():
    instance = load_instance()
    assert image_name(DEFAULT_IMAGE_TEMPLATE, instance) == "swebench/sweb.eval.x86_64.astropy_1776_astropy-12907:latest"
    assert image_name("mirror/{instance_id}", instance) == "mirror/astropy__astropy-12907"
    assert image_name("x", dataclasses.replace(instance, image="own:1")) == "own:1"
    with pytest.raises(SweBenchFormatError, match="known fields"):
        image_name("x/{nope}", instance)


def load_instance() -> Instance:
    from dgm.evals.swebench_data import _instance

    return _instance(dict(RECORD), "t")


def test_diff_filter_drops_test_files_and_hooks_but_keeps_the_fix():
    section = "diff --git a/{0} b/{0}\n--- a/{0}\n+++ b/{0}\n@@ -1 +1 @@\n-a\n+b\n"
    paths = ("src/a.py", "tests/test_a.py", "conftest.py", "pkg/x.pth", "pkg/tests/helpers.py", "pkg/test_x.py",
             "django/test/utils.py", "src/b.py")  # fmt: skip
    quoted = 'diff --git "a/src/q\\"x.py" "b/src/q\\"x.py"\nnew file mode 100644\n'
    diff = "".join(section.format(p) for p in (*paths, "tests/test_ x.py", "src/with space.py")) + quoted
    out = filter_patch(diff, set(patch_files(TEST_PATCH)))
    assert patch_files(out.patch) == ["src/a.py", "django/test/utils.py", "src/b.py", "src/with space.py"]
    assert out.dropped == ("tests/test_a.py", "conftest.py", "pkg/x.pth", "pkg/tests/helpers.py", "pkg/test_x.py",
                           "tests/test_ x.py", '"a/src/q\\"x.py" "b/src/q\\"x.py"')  # fmt: skip


def test_decision_needs_every_listed_test_passing():
    instance = dataclasses.replace(load_instance(), fail_to_pass=("f",), pass_to_pass=("p",))
    assert decide(instance, {"f": "PASSED", "p": "PASSED"}, True).resolved
    assert decide(instance, {"f": "PASSED"}, True) == Decision(False, "failed", "1 test(s) not passing (PASS_TO_PASS first): p: missing")
    assert not decide(instance, {"f": "SKIPPED", "p": "PASSED"}, True).resolved  # a skip is not a fix
    assert decide(instance, {"f": "PASSED", "p": "PASSED"}, False).reason == "no-tests"
    assert decide(instance, {"f": "PASSED", "p": "PASSED"}, True, exit_code=1).reason == "inconsistent-log"
    assert decide(instance, {"f": "PASSED", "p": "PASSED", "other": "FAILED"}, True, exit_code=1).resolved


def test_the_exit_code_is_read_after_the_end_marker_and_a_failure_wins():
    end = ": '>>>>> End Test Output'"
    assert recorded_exit_code(f"DGM_TEST_EXIT_CODE=0\n{end}\nDGM_TEST_EXIT_CODE=1\nDGM_TEST_EXIT_CODE=0\n") == 1
    assert recorded_exit_code(f"{end}\n+ echo DGM_TEST_EXIT_CODE=0\n") is None
    assert "dgm_status=$?\n" + end + '\necho "DGM_TEST_EXIT_CODE=$dgm_status"' in with_exit_code(f"run\n{end}\nreset\n")


def test_known_repositories_use_the_packages_eval_script_and_others_need_a_command():
    script = eval_script(load_instance(), "", "/testbed")
    assert "conda activate testbed" in script and ">>>>> Start Test Output" in script  # swebench's own
    unknown = dataclasses.replace(load_instance(), repo="me/mine")
    with pytest.raises(SweBenchFormatError, match="name a test_cmd"):
        eval_script(unknown, "", "/testbed")
    own = eval_script(unknown, "pytest -rA", "/testbed")
    assert "git checkout abc -- tests/test_a.py" in own and own.index("Start Test Output") < own.index("pytest -rA")


def test_run_config_mirrors_the_suite_options():
    from dgm.config import RunConfig, SwebenchConfig, dump_config, parse_config

    ours = {f.name: f.default for f in dataclasses.fields(SwebenchConfig)}
    assert ours == {f.name: f.default for f in dataclasses.fields(SweBenchOptions)}
    config = parse_config('[swebench]\nimage_template = "mirror/{id}"\n')
    assert config.suite_options()["swebench"]["image_template"] == "mirror/{id}"
    assert parse_config(dump_config(config)) == config and RunConfig().swebench == SwebenchConfig()


def test_a_dataset_name_loads_from_the_hub_and_offline_says_so_in_one_line(tmp_path):
    """`swebench:owner/name@split` goes to the hub (internet only); here, offline, the CLI
    answers with one line and exit 2. A missing file with a data suffix stays a file error."""
    import os
    import subprocess
    import sys

    (tmp_path / "agent.py").write_text("")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "DGM_CACHE_DIR": str(tmp_path / "cache")}
    cmd = [sys.executable, "-m", "dgm.cli", "eval", str(tmp_path), "--suite", "swebench:nobody-here/none@test"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [
        "dgm: error: nobody-here/none@test: cannot load the dataset (ConnectionError: Couldn't reach 'nobody-here/none' on the Hub (OfflineModeIsEnabled))"
    ]
    with pytest.raises(SweBenchFormatError, match="no such file"):
        load_instances(Path("nobody-here/missing.jsonl"))  # reads as owner/name, but is a file name


def test_a_swebench_tasks_own_timeout_wins_over_run_wide_limits_and_the_cli_sets_it():
    from dgm.cli.eval import swebench_options
    from dgm.evals.base import Task
    from dgm.evals.evaluate import agent_limits
    from dgm.sandbox import Limits

    run_wide = Limits(wall_seconds=60, exec_timeout=60, memory_mb=777)
    own = Task("swebench-x/a", "swebench-x", "fix it", {}, timeout=900.0, own_timeout=True)
    plain = Task("humaneval/1", "humaneval", "solve it", {}, timeout=300.0)
    assert (agent_limits(run_wide, own).exec_timeout, agent_limits(run_wide, own).memory_mb) == (900.0, 777)
    assert agent_limits(run_wide, plain) == run_wide
    assert agent_limits(None, plain).exec_timeout == 300.0
    assert swebench_options(None, None) is None
    assert swebench_options("mirror/{id}", 30.0) == {"swebench": {"image_template": "mirror/{id}", "timeout": 30.0}}
