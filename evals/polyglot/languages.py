"""Per-language test commands, expected test names and report parsers.

For each language: which test names the pristine test files define (read on the host, never
from the candidate's run), how the graded tree is prepared (skipped tests un-skipped, as the
published harness does; a trusted build file where the language needs one), the steps the
grading driver runs, and how the runner's structured per-test report is read.
"""

from __future__ import annotations

import ast
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Mapping

from dgm.evals.polyglot.layout import Exercise

JEST = "/opt/jest/node_modules"
JUNIT_CONSOLE = "/usr/share/java/junit-platform-console-standalone.jar"
JAVA_LIBS = "/usr/share/java/assertj-core.jar"
BASE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp/home", "LANG": "C.UTF-8"}


@dataclass(frozen=True)
class Step:
    argv: tuple[str, ...]
    timeout: float
    is_test: bool = False
    """The language's test command: its report is written to a fresh private path ({report})."""
    stdout_is_report: bool = False
    single_process: bool = False
    """Run with RLIMIT_NPROC 0 (no fork, no threads): for runners that need neither."""
    report_fd: bool = False
    """{report} is /dev/fd/N of a file with no name, inherited by the runner."""

    def to_json(self) -> dict[str, object]:
        return {"argv": list(self.argv), "timeout": self.timeout, "is_test": self.is_test,
                "stdout_is_report": self.stdout_is_report, "single_process": self.single_process,
                "report_fd": self.report_fd}


@dataclass(frozen=True)
class CaseResult:
    name: str
    passed: bool


class ReportError(Exception):
    """The report is missing or cannot be read: no test counts as run."""


class Language:
    name = ""
    report_name = "report"
    run_hint = ""
    """How a person runs the tests, for the instruction when the tests are shown."""
    env: Mapping[str, str] = {}
    subtest_separator = ""
    """When set, a reported 'Case<sep>part' of an expected 'Case' counts as a run of 'Case'
    (Catch2 reports each SECTION as 'TEST_CASE/SECTION')."""

    def expected(self, tests: Mapping[str, bytes]) -> list[str]:
        """Test names the pristine test files define (a name may repeat)."""
        raise NotImplementedError

    def prepare(self, exercise: Exercise, files: dict[str, bytes]) -> None:
        """Edit the graded tree in place before it enters the sandbox (default: nothing)."""

    def steps(self, exercise: Exercise, files: Mapping[str, bytes]) -> list[Step]:
        raise NotImplementedError

    def parse(self, report: str) -> list[CaseResult]:
        """Raises: ReportError."""
        raise NotImplementedError

    def full_env(self) -> dict[str, str]:
        return {**BASE_ENV, **self.env}


def _text(files: Mapping[str, bytes], names: tuple[str, ...] | list[str]) -> list[str]:
    return [files[n].decode("utf-8", "replace") for n in names if n in files]


def _rewrite(files: dict[str, bytes], names: tuple[str, ...], pattern: str, repl: str) -> None:
    for name in names:
        if name in files:
            files[name] = re.sub(pattern, repl, files[name].decode("utf-8", "replace")).encode()


def junit_cases(report: str) -> list[tuple[str, bool]]:
    """(name, passed) of every <testcase> of a JUnit-style XML report. A case passes when it
    has no failure, error or skipped child.

    Raises: ReportError on XML that does not parse.
    """
    try:
        root = ET.fromstring(report)
    except ET.ParseError as exc:
        raise ReportError(f"report is not XML: {exc}") from None
    out = []
    for case in root.iter("testcase"):
        bad = any(child.tag in ("failure", "error", "skipped") for child in case)
        out.append((case.get("name") or "", not bad))
    return out


class Python(Language):
    name, report_name, run_hint = "python", "report.xml", "python3 -m pytest"
    env = {"PYTHONDONTWRITEBYTECODE": "1", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}

    def expected(self, tests: Mapping[str, bytes]) -> list[str]:
        names = []
        for source in _text(tests, list(tests)):
            try:
                tree = ast.parse(source)
            except SyntaxError:
                continue
            for node in tree.body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
                    names.append(node.name)
                elif isinstance(node, ast.ClassDef) and (
                    node.name.startswith("Test") or any(ast.unparse(b).endswith("TestCase") for b in node.bases)
                ):
                    names += [f.name for f in node.body if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                              and f.name.startswith("test")]
        return names

    def steps(self, exercise: Exercise, files: Mapping[str, bytes]) -> list[Step]:
        # -c /dev/null: no ini file of the tree counts; -I: no PYTHON* variables, no user site
        argv = ("python3", "-I", "-m", "pytest", "-p", "no:cacheprovider", "-c", "/dev/null", "--rootdir=/work",
                "-q", "-o", "junit_family=xunit1", "--junitxml={report}", *exercise.tests)
        return [Step(argv, 120.0, is_test=True, single_process=True, report_fd=True)]

    def parse(self, report: str) -> list[CaseResult]:
        return [CaseResult(n, ok) for n, ok in junit_cases(report)]


JS_TITLE = re.compile(r"""\b(?:x?test|x?it)(?:\.skip|\.only)?\s*\(\s*(['"`])((?:\\.|(?!\1).)*)\1""", re.S)


class JavaScript(Language):
    name, report_name, run_hint = "javascript", "report.json", "jest"
    env = {"NODE_OPTIONS": "--max-old-space-size=1024"}

    def expected(self, tests: Mapping[str, bytes]) -> list[str]:
        return [re.sub(r"\\(.)", r"\1", m.group(2)) for src in _text(tests, list(tests)) for m in JS_TITLE.finditer(src)]

    def prepare(self, exercise: Exercise, files: dict[str, bytes]) -> None:
        _rewrite(files, exercise.tests, r"\bx(test|it|describe)\s*\(", r"\1(")
        _rewrite(files, exercise.tests, r"\b(test|it|describe)\.skip\s*\(", r"\1(")

    def steps(self, exercise: Exercise, files: Mapping[str, bytes]) -> list[Step]:
        # The whole configuration is given on the command line: no jest/babel config file
        # (nor package.json key) of the tree is read; the transform is ours.
        config = {
            "rootDir": "/work", "testEnvironment": "node", "cacheDirectory": "/tmp/jest-cache",
            "transform": {r"\.[cm]?jsx?$": [f"{JEST}/babel-jest/build/index.js", {
                "babelrc": False, "configFile": False,
                "presets": [[f"{JEST}/@babel/preset-env", {"targets": {"node": "current"}}]]}]},
        }
        argv = ("node", f"{JEST}/jest/bin/jest.js", "--ci", "--runInBand", "--watchman=false", "--json",
                "--outputFile={report}", f"--config={json.dumps(config)}", "--runTestsByPath",
                *(f"/work/{t}" for t in exercise.tests))
        return [Step(argv, 180.0, is_test=True, report_fd=True)]

    def parse(self, report: str) -> list[CaseResult]:
        try:
            data = json.loads(report)
            out = []
            for suite in data["testResults"]:
                cases = suite["assertionResults"]
                out += [CaseResult(str(c["title"]), c["status"] == "passed") for c in cases]
                if suite.get("status") == "failed" and not cases:
                    out.append(CaseResult(f"(test file {suite.get('name')} failed to run)", False))
            return out
        except (ValueError, KeyError, TypeError) as exc:
            raise ReportError(f"jest report unreadable: {exc!r}") from None


class Go(Language):
    name, report_name, run_hint = "go", "report.jsonl", "go test"
    env = {"GOCACHE": "/tmp/go-cache", "GOPATH": "/tmp/go", "GOFLAGS": "-mod=mod", "GOPROXY": "off",
           "GOTOOLCHAIN": "local", "CGO_ENABLED": "0", "GO111MODULE": "on"}

    def expected(self, tests: Mapping[str, bytes]) -> list[str]:
        pattern = re.compile(r"^func\s+(Test\w*)\s*\(\s*\w+\s+\*testing\.T\s*\)", re.M)
        return [n for src in _text(tests, list(tests)) for n in pattern.findall(src) if n != "TestMain"]

    def steps(self, exercise: Exercise, files: Mapping[str, bytes]) -> list[Step]:
        argv = ("go", "test", "-json", "-count=1", "-vet=off", "-run", "^Test", ".")
        return [Step(argv, 240.0, is_test=True, stdout_is_report=True)]

    def parse(self, report: str) -> list[CaseResult]:
        out = []
        for line in report.splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            test = event.get("Test") if isinstance(event, dict) else None
            if isinstance(test, str) and "/" not in test and event.get("Action") in ("pass", "fail", "skip"):
                out.append(CaseResult(test, event["Action"] == "pass"))
        return out


class Rust(Language):
    name, report_name, run_hint = "rust", "report.log", "cargo test"
    env = {"CARGO_HOME": "/tmp/cargo", "CARGO_TARGET_DIR": "/tmp/target", "CARGO_NET_OFFLINE": "true",
           "CARGO_INCREMENTAL": "0"}

    def expected(self, tests: Mapping[str, bytes]) -> list[str]:
        pattern = re.compile(r"#\[test\]\s*(?:#\[[^\]]*\]\s*)*(?:pub\s+)?fn\s+(\w+)")
        return [n for src in _text(tests, list(tests)) for n in pattern.findall(src)]

    def steps(self, exercise: Exercise, files: Mapping[str, bytes]) -> list[Step]:
        targets = [a for t in exercise.tests if t.startswith("tests/") for a in ("--test", PurePosixPath(t).stem)]
        argv = ("cargo", "test", "--offline", *(targets[:2] or ["--lib"]), "--", "--include-ignored",
                "--logfile", "{report}")
        return [Step(argv, 300.0, is_test=True, report_fd=True)]

    def parse(self, report: str) -> list[CaseResult]:
        out = []
        for line in report.splitlines():
            status, _, name = line.strip().partition(" ")
            if status in ("ok", "failed", "ignored") and name:
                out.append(CaseResult(name.rsplit("::", 1)[-1], status == "ok"))
        return out


CMAKE = """\
cmake_minimum_required(VERSION 3.16)
project(dgm_exercise CXX)
set(CMAKE_CXX_STANDARD 17)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
file(GLOB DGM_SOURCES ${CMAKE_SOURCE_DIR}/*.cpp ${CMAKE_SOURCE_DIR}/test/*.cpp)
add_executable(dgm_tests ${DGM_SOURCES})
target_include_directories(dgm_tests PRIVATE ${CMAKE_SOURCE_DIR})
target_compile_definitions(dgm_tests PRIVATE EXERCISM_RUN_ALL_TESTS)
"""


class Cpp(Language):
    name, report_name, run_hint = "cpp", "report.xml", "cmake -S . -B build && cmake --build build && build/dgm_tests"
    subtest_separator = "/"

    def expected(self, tests: Mapping[str, bytes]) -> list[str]:
        pattern = re.compile(r'TEST_CASE\s*\(\s*"((?:[^"\\]|\\.)*)"')
        return [n for src in _text(tests, list(tests)) for n in pattern.findall(src)]

    def prepare(self, exercise: Exercise, files: dict[str, bytes]) -> None:
        files["CMakeLists.txt"] = CMAKE.encode()  # ours: builds the exercise's sources, runs no command

    def steps(self, exercise: Exercise, files: Mapping[str, bytes]) -> list[Step]:
        return [
            Step(("cmake", "-S", "/work", "-B", "/tmp/build", "-DCMAKE_BUILD_TYPE=Debug"), 120.0),
            Step(("cmake", "--build", "/tmp/build", "-j", "2"), 300.0),
            Step(("/tmp/build/dgm_tests", "-r", "junit", "-o", "{report}"), 60.0, is_test=True, single_process=True,
                 report_fd=True),
        ]

    def parse(self, report: str) -> list[CaseResult]:
        return [CaseResult(n, ok) for n, ok in junit_cases(report)]


class Java(Language):
    name, report_name, run_hint = "java", "TEST-junit-jupiter.xml", "JUnit 5 (src/test/java)"

    def expected(self, tests: Mapping[str, bytes]) -> list[str]:
        args = r'\((?:"(?:[^"\\]|\\.)*"|[^)"])*\)'  # an annotation's arguments, quoted ')' included
        pattern = re.compile(rf"@Test\b(?:\s*@[\w.]+(?:{args})?)*\s*(?:public\s+|protected\s+|private\s+)?void\s+(\w+)\s*\(")
        return [n for src in _text(tests, list(tests)) for n in pattern.findall(src)]

    def prepare(self, exercise: Exercise, files: dict[str, bytes]) -> None:
        _rewrite(files, exercise.tests, r"@Disabled\b(\s*\([^)]*\))?", "")

    def steps(self, exercise: Exercise, files: Mapping[str, bytes]) -> list[Step]:
        sources = sorted(p for p in files if p.endswith(".java") and p.startswith(("src/main/java/", "src/test/java/")))
        classpath = f"{JUNIT_CONSOLE}:{JAVA_LIBS}"
        return [
            Step(("javac", "-J-XX:+UseSerialGC", "-nowarn", "-encoding", "UTF-8", "-d", "/tmp/classes", "-cp",
                  classpath, *sources), 240.0),
            Step(("java", "-XX:+UseSerialGC", "-Xmx512m", "-jar", JUNIT_CONSOLE, "--class-path",
                  f"/tmp/classes:{JAVA_LIBS}", "--scan-class-path", "--reports-dir={reportdir}", "--disable-banner",
                  "--details=none"), 120.0, is_test=True),
        ]

    def parse(self, report: str) -> list[CaseResult]:
        return [CaseResult(n.split("(", 1)[0], ok) for n, ok in junit_cases(report)]


LANGUAGE_SPECS: dict[str, Language] = {
    lang.name: lang for lang in (Python(), JavaScript(), Go(), Rust(), Cpp(), Java())
}
