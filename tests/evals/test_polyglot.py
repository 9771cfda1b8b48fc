"""The polyglot suites on the sample checkout (evals/polyglot-sample), graded for real in the
polyglot image: for every language the example passes, the stub and a half solution fail,
and each integrity attack earns nothing."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dgm.evals import TaskFormatError, UnknownSuiteError, get_suite
from dgm.evals.polyglot import parse_languages
from dgm.evals.polyglot.grade import decide, fold_subtests, graded_tree
from dgm.evals.polyglot.languages import LANGUAGE_SPECS, ReportError, CaseResult
from dgm.evals.polyglot.layout import LANGUAGES, example_files
from dgm.evals.registry import image_for
from dgm.sandbox import DEFAULT_IMAGE, POLYGLOT_IMAGE

from tests.evals.polyglot_attacks import ATTACKS

SAMPLE = Path(__file__).parents[2] / "evals" / "polyglot-sample"
VARIANTS = ("example", "stub", "half", "exit-early", "fake-summary", "fake-report", "added-files")


@pytest.fixture(scope="module")
def suite():
    return get_suite(f"polyglot:{SAMPLE}", workers=3)


def test_sample_layout_and_what_the_agent_sees(suite):
    tasks = suite.tasks()
    assert [t.id.split("/")[1] for t in tasks] == [lang for lang in LANGUAGES for _ in range(2)]
    for (folder, exercise), task in zip(suite.exercises, tasks):
        assert not set(exercise.tests) & set(task.workspace), "tests are hidden by default"
        assert not any(p.startswith((".meta", ".docs")) for p in task.workspace)
        assert set(exercise.solution) <= set(task.workspace)
        assert exercise.instructions.splitlines()[0] in task.instruction
        assert len(task.hidden.expected) == (8 if exercise.slug == "bracket-depth" else 7), task.id
        assert example_files(folder, exercise).keys() == set(exercise.solution)
    shown = get_suite(f"polyglot-java+tests:{SAMPLE}")
    assert shown.name == "polyglot-java" and len(shown.tasks()) == 2
    assert all(set(t.hidden.exercise.tests) <= set(t.workspace) for t in shown.tasks())


def test_suite_names_and_images():
    assert parse_languages("polyglot-rust+tests") == (("rust",), True)
    with pytest.raises(TaskFormatError, match="unknown polyglot language"):
        get_suite(f"polyglot-cobol:{SAMPLE}")
    with pytest.raises(UnknownSuiteError, match="needs a folder"):
        get_suite("polyglot-go")
    with pytest.raises(TaskFormatError, match="no <language>"):
        get_suite(f"polyglot:{SAMPLE / 'go'}")
    assert image_for(["humaneval", f"polyglot-go:{SAMPLE}"]) == POLYGLOT_IMAGE
    assert image_for(["humaneval"]) == DEFAULT_IMAGE
    assert image_for([f"polyglot:{SAMPLE}"], "mine:1") == "mine:1"


def test_graded_tree_takes_only_the_solution_files(suite):
    task = next(t for t in suite.tasks() if t.id == "polyglot/javascript/bracket-depth")
    exercise = task.hidden.exercise
    output = {**ATTACKS["javascript"]["added-files"], "extra.js": b"x"}
    tree = graded_tree(exercise, {k: v.encode() if isinstance(v, str) else v for k, v in output.items()})
    assert set(tree) == set(exercise.files)
    assert tree["bracket-depth.spec.js"] != exercise.files["bracket-depth.spec.js"]  # un-skipped: xtest -> test
    assert b"xtest(" not in tree["bracket-depth.spec.js"] and tree["package.json"] == exercise.files["package.json"]


def test_decide_needs_exactly_the_expected_tests():
    ok = [CaseResult("a", True), CaseResult("b", True)]
    assert decide(["a", "b"], ok, 0).passed
    assert not decide(["a", "b"], ok, 1).passed
    assert not decide(["a", "b"], ok[:1], 0).passed
    assert not decide(["a", "b"], ok + [CaseResult("c", True)], 0).passed
    assert not decide(["a", "b"], [ok[0], CaseResult("b", False)], 0).passed
    assert not decide(["a", "a"], ok[:1], 0).passed
    assert not decide(["a"], [], 0).passed


def test_expected_names_from_pristine_tests():
    java = b'@Test\n@DisplayName("a (tricky) name")\npublic void first() {}\n@Disabled("x") @Test void second() {}\nvoid helper() {}'
    assert LANGUAGE_SPECS["java"].expected({"T.java": java}) == ["first", "second"]
    rust = b"#[test]\n#[ignore]\nfn a() {}\n#[ignore]\n#[test]\nfn b() {}\nfn helper() {}"
    assert LANGUAGE_SPECS["rust"].expected({"tests/t.rs": rust}) == ["a", "b"]
    js = b"describe('d', () => { test('it\\'s', () => {}); xit(\"two\", () => {}); });"
    assert LANGUAGE_SPECS["javascript"].expected({"t.spec.js": js}) == ["it's", "two"]
    go = b"func TestA(t *testing.T) {}\nfunc TestMain(m *testing.M) {}\nfunc BenchmarkB(b *testing.B) {}"
    assert LANGUAGE_SPECS["go"].expected({"a_test.go": go}) == ["TestA"]
    py = b"import unittest\nclass LeapTest(unittest.TestCase):\n    def test_a(self): pass\n    def helper(self): pass\ndef test_b(): pass\n"
    assert LANGUAGE_SPECS["python"].expected({"leap_test.py": py}) == ["test_a", "test_b"]


def test_catch2_sections_count_for_their_test_case():
    results = [CaseResult("case/one", True), CaseResult("case/two", True), CaseResult("a/b", True)]
    folded = fold_subtests(results, ["case", "a/b"], LANGUAGE_SPECS["cpp"].subtest_separator)
    assert [r.name for r in folded] == ["case", "case", "a/b"]
    assert decide(["case", "a/b"], folded, 0).passed
    assert fold_subtests(results, ["case"], "") == results


def test_report_parsers():
    assert LANGUAGE_SPECS["go"].parse('{"Action":"pass","Test":"TestA"}\nnot json\n{"Action":"fail","Test":"TestA/sub"}\n'
                                      '{"Action":"output","Test":"TestB"}') == [CaseResult("TestA", True)]
    assert LANGUAGE_SPECS["rust"].parse("ok tests::a\nfailed b\nnoise\n") == [CaseResult("a", True), CaseResult("b", False)]
    assert LANGUAGE_SPECS["java"].parse('<r><testcase name="x()"/><testcase name="y()"><failure/></testcase></r>') == [
        CaseResult("x", True), CaseResult("y", False)]
    report = {"testResults": [{"status": "failed", "name": "/work/a.spec.js", "assertionResults": []}]}
    assert not LANGUAGE_SPECS["javascript"].parse(json.dumps(report))[0].passed
    with pytest.raises(ReportError):
        LANGUAGE_SPECS["python"].parse("<not xml")
    with pytest.raises(ReportError):
        LANGUAGE_SPECS["javascript"].parse("[]")


@pytest.fixture(scope="module")
def verdicts(suite, polyglot_backend):
    """Every language's bracket-depth exercise under every variant, plus both examples,
    graded in one call (three exercises at a time)."""
    items, keys = [], []
    for (folder, exercise), task in zip(suite.exercises, suite.tasks()):
        keys.append((exercise.language, exercise.slug, "example"))
        items.append((task, example_files(folder, exercise)))
        if exercise.slug != "bracket-depth":
            continue
        for variant in VARIANTS[1:] + (("watcher",) if "watcher" in ATTACKS[exercise.language] else ()):
            output = dict(task.workspace)  # what the agent leaves: the workspace, edited
            if variant != "stub":
                output.update({k: v.encode() for k, v in ATTACKS[exercise.language][variant].items()})
            keys.append((exercise.language, exercise.slug, variant))
            items.append((task, output))
    return dict(zip(keys, suite.grade(polyglot_backend, items)))


@pytest.mark.docker
@pytest.mark.parametrize("language", LANGUAGES)
def test_grading_per_language(verdicts, language):
    for slug in ("bracket-depth", "rotate-letters"):
        verdict = verdicts[(language, slug, "example")]
        assert verdict.passed, f"{language}/{slug} example: {verdict.log[-3000:]}"
    for variant in VARIANTS[1:]:
        verdict = verdicts[(language, "bracket-depth", variant)]
        assert not verdict.passed, f"{language} {variant} earned credit: {verdict.log[-2000:]}"
        assert verdict.reason != "grader-error", f"{language} {variant}: {verdict.log[-2000:]}"
    watcher = verdicts.get((language, "bracket-depth", "watcher"))
    assert watcher is None or "6 of 8 tests failed" in watcher.log, watcher and watcher.log[-2000:]
    half = verdicts[(language, "bracket-depth", "half")]
    assert "3 of 8 tests failed" in half.log, half.log[-2000:]


@pytest.mark.docker
def test_dgm_eval_on_the_sample(tmp_path, polyglot_backend):
    """`dgm eval AGENT --suite polyglot:evals/polyglot-sample` with a scripted agent that
    copies each exercise's example into /work: every exercise passes, graded for real."""
    answers = {}
    for folder, exercise in get_suite(f"polyglot:{SAMPLE}").exercises:
        answers[f"{exercise.slug} ({exercise.language})"] = {
            k: v.decode() for k, v in example_files(folder, exercise).items()}
    agent = tmp_path / "agent"
    agent.mkdir()
    shutil.copy(Path(__file__).parent / "agents" / "copy_solution.py", agent / "agent.py")
    (agent / "answers.json").write_text(json.dumps(answers))
    env = {"DGM_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    cmd = [sys.executable, "-m", "dgm.cli", "eval", str(agent), "--suite", f"polyglot:{SAMPLE}", "--json", "--workers", "3"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert [r["passed"] for r in report["results"]] == [True] * 12, done.stdout[-3000:]
    (polyglot,) = report["breakdown"]
    assert (polyglot["suite"], polyglot["passed"], polyglot["tasks"]) == ("polyglot", 12, 12)
    assert {k: (v["passed"], v["tasks"]) for k, v in polyglot["languages"].items()} == {language: (2, 2) for language in LANGUAGES}


def test_polyglot_image_needs_docker():
    from dgm.sandbox import NoBackendError, open_backend

    with pytest.raises(NoBackendError, match="only the default root filesystem"):
        open_backend("bwrap", POLYGLOT_IMAGE)


@pytest.mark.docker
def test_sandbox_build_polyglot_is_a_no_op_when_current(polyglot_backend):
    done = subprocess.run([sys.executable, "-m", "dgm.cli", "sandbox", "build", "--image", "polyglot"],
                          capture_output=True, text=True)
    assert done.returncode == 0 and "polyglot image: up to date" in done.stdout, done.stdout + done.stderr
