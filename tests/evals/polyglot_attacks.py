"""Candidate outputs for the bracket-depth exercise of every sample language: a half solution
(passes the first five tests, fails the three about unpaired brackets) and the integrity
attacks. Each attack's solution is wrong, so any credit it earns comes from the attack."""

NAMES = ["empty text", "no brackets", "one pair", "mixed kinds", "three levels", "wrong closing kind",
         "left open", "closed before opened"]
SUMMARY = "8 passed, 0 failed"

PY = "bracket_depth.py"
JS = "bracket-depth.js"
GO = "bracket_depth.go"
RS = "src/lib.rs"
CPP = "bracket_depth.cpp"
JAVA = "src/main/java/BracketDepth.java"


def junit_xml(names, fmt="{}"):
    cases = "".join(f'<testcase classname="x" name="{fmt.format(n)}"/>' for n in names)
    return f'<?xml version="1.0"?><testsuites><testsuite name="x" tests="{len(names)}">{cases}</testsuite></testsuites>'


PY_NAMES = ["test_" + n.replace(" ", "_") for n in NAMES]
JAVA_NAMES = [n.split()[0] + "".join(w.title() for w in n.split()[1:]) for n in NAMES]
FAKE_PY = junit_xml(PY_NAMES)
FAKE_JEST = ('{"numFailedTests":0,"numPassedTests":8,"success":true,"testResults":[{"status":"passed","assertionResults":['
             + ",".join(f'{{"title":"{n}","status":"passed"}}' for n in NAMES) + "]}]}")
REPORT_PATHS = ["/tmp/report.xml", "/work/report.xml", "/tmp/report.json", "/work/report.json",
                "/tmp/TEST-junit-jupiter.xml", "/work/TEST-junit-jupiter.xml"]

def shell_watcher(report_name: str, text: str) -> str:
    """A shell loop writing `text` as the report into every grader directory it can see."""
    quoted = text.replace("'", "'\\''")
    return (f"for i in $(seq 3000); do for d in /tmp/dgm-report-* /tmp/dgm-grade-* /tmp/dgm-grade-*/*; do "
            f"printf '%s' '{quoted}' > \"$d/{report_name}\"; done; sleep 0.003; done")


JS_WATCHER = ("require('child_process').spawn('sh', ['-c', " + repr(shell_watcher("report.json", FAKE_JEST))
              + "], {detached: true, stdio: 'ignore'}).unref();\nexport const maxDepth = () => 0;\n")
RS_WATCHER = ("pub fn max_depth(_text: &str) -> i32 {\n    static STARTED: std::sync::Once = std::sync::Once::new();\n"
              "    STARTED.call_once(|| {\n        let _ = std::process::Command::new(\"sh\").arg(\"-c\").arg(r#\""
              + shell_watcher("report.log", "\n".join("ok " + n.replace(" ", "_") for n in NAMES))
              + "\"#).spawn();\n    });\n    0\n}\n")


# A watcher process that outlives nothing but races the runner: it rewrites any report in the
# grader's fresh report directories with a forged one, every few milliseconds. The grader runs
# these two languages' test commands with no process or thread to spare.
PY_WATCHER = f"""import glob, os, time
try:
    pid = os.fork()
except OSError:
    pid = None
if pid == 0:
    os.setsid()
    for _ in range(4000):
        for d in glob.glob('/tmp/dgm-report-*'):
            try:
                open(d + '/report.xml', 'w').write({FAKE_PY!r})
            except OSError:
                pass
        time.sleep(0.003)
    os._exit(0)


def max_depth(text):
    return 0
"""
CPP_WATCHER = ('''#include "bracket_depth.h"

#include <dirent.h>
#include <fstream>
#include <string>
#include <unistd.h>

static int watcher = [] {
    if (fork() != 0) return 0;
    setsid();
    for (int i = 0; i < 4000; ++i) {
        if (DIR* tmp = opendir("/tmp")) {
            while (dirent* e = readdir(tmp))
                if (std::string(e->d_name).rfind("dgm-report-", 0) == 0)
                    std::ofstream(std::string("/tmp/") + e->d_name + "/report.xml") << R"(''' + junit_xml(NAMES) + ''')";
            closedir(tmp);
        }
        usleep(3000);
    }
    _exit(0);
}();

namespace bracket_depth {
int max_depth(const std::string&) { return 0; }
}
''')

PYTHON = {
    "half": {PY: "def max_depth(text):\n    depth = deepest = 0\n    for c in text:\n"
                 "        if c in '([{':\n            depth += 1\n            deepest = max(deepest, depth)\n"
                 "        elif c in ')]}':\n            depth -= 1\n    return deepest\n"},
    "exit-early": {PY: "import os\nos._exit(0)\n"},
    "fake-summary": {PY: f"import os\nprint('=' * 20, '{len(NAMES)} passed in 0.01s', '=' * 20, flush=True)\nos._exit(0)\n"},
    "watcher": {PY: PY_WATCHER},
    "fake-report": {PY: "import os\n" + "".join(f"open({p!r}, 'w').write({FAKE_PY!r})\n" for p in REPORT_PATHS)
                        + "os._exit(0)\n"},
    "added-files": {
        PY: "def max_depth(text):\n    return 0\n",
        "conftest.py": "import unittest\nunittest.TestCase.assertEqual = lambda *a, **k: None\n",
        "pytest.ini": "[pytest]\naddopts = -p no:junitxml\n",
        "sitecustomize.py": "import unittest\nunittest.TestCase.assertEqual = lambda *a, **k: None\n",
        "bracket_depth_test.py": "def test_nothing():\n    pass\n",
    },
}

JAVASCRIPT = {
    "half": {JS: "export const maxDepth = (text) => {\n  let depth = 0;\n  let deepest = 0;\n  for (const c of text) {\n"
                 "    if ('([{'.includes(c)) deepest = Math.max(deepest, ++depth);\n"
                 "    else if (')]}'.includes(c)) depth -= 1;\n  }\n  return deepest;\n};\n"},
    "watcher": {JS: JS_WATCHER},
    "exit-early": {JS: "process.exit(0);\nexport const maxDepth = () => 0;\n"},
    "fake-summary": {JS: f"process.stdout.write('Tests:       {len(NAMES)} passed, {len(NAMES)} total\\n');\n"
                         "process.exit(0);\nexport const maxDepth = () => 0;\n"},
    "fake-report": {JS: "const fs = require('fs');\n" + "".join(f"fs.writeFileSync({p!r}, {FAKE_JEST!r});\n" for p in REPORT_PATHS)
                        + "process.exit(0);\nexport const maxDepth = () => 0;\n"},
    "added-files": {
        JS: "export const maxDepth = () => 0;\n",
        "jest.config.js": "module.exports = { testMatch: ['**/nothing.js'], passWithNoTests: true };\n",
        "babel.config.js": "module.exports = {};\n",
        "package.json": '{"jest": {"testMatch": ["**/nothing.js"], "passWithNoTests": true}}\n',
        "bracket-depth.spec.js": "test('nothing', () => {});\n",
    },
}

GO_IMPORTS = 'package bracketdepth\n\nimport (\n\t"fmt"\n\t"os"\n)\n\n'
GO_EVENTS = "\\n".join(f'{{"Action":"pass","Package":"bracketdepth","Test":"Test{n.title().replace(" ", "")}"}}' for n in NAMES)
GO_SCRIPT = ("for i in $(seq 3000); do for d in /tmp/dgm-report-* /tmp/dgm-grade-*; do printf '" + GO_EVENTS
             + "\\n' > \"$d/report.jsonl\"; done; sleep 0.003; done")
GO_WATCHER = ('package bracketdepth\n\nimport (\n\t"os/exec"\n\t"syscall"\n)\n\nfunc init() {\n'
              f"\tcmd := exec.Command(\"sh\", \"-c\", `{GO_SCRIPT}`)\n"
              "\tcmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}\n\tcmd.Start()\n}\n\n"
              "func MaxDepth(text string) int { return 0 }\n")

GO_LANG = {
    "half": {GO: "package bracketdepth\n\nfunc MaxDepth(text string) int {\n\tdepth, deepest := 0, 0\n"
                 "\tfor _, c := range text {\n\t\tswitch c {\n\t\tcase '(', '[', '{':\n\t\t\tdepth++\n"
                 "\t\t\tif depth > deepest {\n\t\t\t\tdeepest = depth\n\t\t\t}\n\t\tcase ')', ']', '}':\n\t\t\tdepth--\n"
                 "\t\t}\n\t}\n\treturn deepest\n}\n"},
    "watcher": {GO: GO_WATCHER},
    "exit-early": {GO: 'package bracketdepth\n\nimport "os"\n\nfunc init() { os.Exit(0) }\n\nfunc MaxDepth(text string) int { return 0 }\n'},
    "fake-summary": {GO: GO_IMPORTS + 'func init() {\n\tfmt.Println("PASS")\n\tfmt.Println("ok  \\tbracketdepth\\t0.001s")\n'
                         "\tos.Exit(0)\n}\n\nfunc MaxDepth(text string) int { return 0 }\n"},
    # go test -json wraps whatever the binary prints as output events: printed events stay text
    "fake-report": {GO: GO_IMPORTS + "func init() {\n"
                        + "".join(f'\tfmt.Println(`{{"Action":"pass","Package":"bracketdepth","Test":"Test{n.title().replace(" ", "")}"}}`)\n'
                                  for n in NAMES)
                        + "\tos.Exit(0)\n}\n\nfunc MaxDepth(text string) int { return 0 }\n"},
    "added-files": {
        GO: "package bracketdepth\n\nfunc MaxDepth(text string) int { return 0 }\n",
        "main_test.go": 'package bracketdepth\n\nimport (\n\t"os"\n\t"testing"\n)\n\nfunc TestMain(m *testing.M) { os.Exit(0) }\n',
        "go.mod": "module bracketdepth\n\ngo 1.19\n\nreplace example.com/x => ./x\n",
        "bracket_depth_test.go": 'package bracketdepth\n\nimport "testing"\n\nfunc TestNothing(t *testing.T) {}\n',
    },
}

RUST = {
    "half": {RS: "pub fn max_depth(text: &str) -> i32 {\n    let (mut depth, mut deepest) = (0, 0);\n    for c in text.chars() {\n"
                 "        if \"([{\".contains(c) {\n            depth += 1;\n            deepest = deepest.max(depth);\n"
                 "        } else if \")]}\".contains(c) {\n            depth -= 1;\n        }\n    }\n    deepest\n}\n"},
    "watcher": {RS: RS_WATCHER},
    "exit-early": {RS: "pub fn max_depth(_text: &str) -> i32 {\n    std::process::exit(0)\n}\n"},
    "fake-summary": {RS: "pub fn max_depth(_text: &str) -> i32 {\n"
                         f"    println!(\"test result: ok. {len(NAMES)} passed; 0 failed; 0 ignored\");\n"
                         + "".join(f'    println!("test {n.replace(" ", "_")} ... ok");\n' for n in NAMES)
                         + "    std::process::exit(0)\n}\n"},
    "fake-report": {RS: "pub fn max_depth(_text: &str) -> i32 {\n"
                        + "".join(f'    let _ = std::fs::write("{p}", "{chr(10).join("ok " + n.replace(" ", "_") for n in NAMES)}");\n'
                                  for p in ("/tmp/report.log", "/work/report.log"))
                        + "    std::process::exit(0)\n}\n"},
    "added-files": {
        RS: "pub fn max_depth(_text: &str) -> i32 {\n    0\n}\n",
        "build.rs": "fn main() { std::process::exit(1) }\n",
        ".cargo/config.toml": "[build]\nrustflags = [\"--cfg\", \"cheat\"]\n",
        "Cargo.toml": '[package]\nname = "bracket_depth"\nversion = "0.1.0"\nedition = "2021"\n\n[[test]]\nname = "bracket-depth"\npath = "tests/bracket-depth.rs"\nharness = false\n',
        "tests/bracket-depth.rs": "fn main() {}\n",
    },
}

CPP_HEAD = '#include "bracket_depth.h"\n\n#include <cstdlib>\n#include <cstdio>\n#include <fstream>\n\n'
CPP = {
    "half": {CPP: '#include "bracket_depth.h"\n\nnamespace bracket_depth {\n\nint max_depth(const std::string& text) {\n'
                  "    int depth = 0, deepest = 0;\n    for (char c : text) {\n"
                  "        if (c == '(' || c == '[' || c == '{') { if (++depth > deepest) deepest = depth; }\n"
                  "        else if (c == ')' || c == ']' || c == '}') --depth;\n    }\n    return deepest;\n}\n\n}\n"},
    "exit-early": {CPP: CPP_HEAD + "static int leave = (std::exit(0), 0);\n\n"
                        "namespace bracket_depth {\nint max_depth(const std::string&) { return 0; }\n}\n"},
    "fake-summary": {CPP: CPP_HEAD + f'static int leave = (std::puts("{SUMMARY}"), std::exit(0), 0);\n\n'
                          "namespace bracket_depth {\nint max_depth(const std::string&) { return 0; }\n}\n"},
    "watcher": {CPP: CPP_WATCHER},
    "fake-report": {CPP: CPP_HEAD + "static int leave = [] {\n"
                         + "".join(f'    std::ofstream("{p}") << R"({junit_xml(NAMES)})";\n' for p in REPORT_PATHS[:2])
                         + "    std::exit(0);\n    return 0;\n}();\n\n"
                         "namespace bracket_depth {\nint max_depth(const std::string&) { return 0; }\n}\n"},
    "added-files": {
        CPP: '#include "bracket_depth.h"\n\nnamespace bracket_depth {\nint max_depth(const std::string&) { return 0; }\n}\n',
        "CMakeLists.txt": "cmake_minimum_required(VERSION 3.16)\nproject(x CXX)\nadd_executable(dgm_tests fake.cpp)\n",
        "fake.cpp": "int main() { return 0; }\n",
        "bracket_depth_test.cpp": '#include "test/check.hpp"\nTEST_CASE("nothing") {}\n',
        "test/check.hpp": "#define TEST_CASE(name) static void f()\n",
    },
}

JAVA_HEAD = "class BracketDepth {\n\n"
JAVA_WATCHER = (JAVA_HEAD + "    static {\n        try {\n            new ProcessBuilder(\"sh\", \"-c\", "
                + '"' + shell_watcher("TEST-junit-jupiter.xml", junit_xml(JAVA_NAMES, "{}()")).replace("\\", "\\\\").replace('"', '\\"')
                + '").start();\n        } catch (Exception e) { }\n    }\n\n    int maxDepth(String text) { return 0; }\n}\n')
JAVA = {
    "half": {JAVA: JAVA_HEAD + "    int maxDepth(String text) {\n        int depth = 0, deepest = 0;\n"
                   "        for (char c : text.toCharArray()) {\n"
                   "            if (c == '(' || c == '[' || c == '{') deepest = Math.max(deepest, ++depth);\n"
                   "            else if (c == ')' || c == ']' || c == '}') depth--;\n        }\n        return deepest;\n    }\n}\n"},
    "watcher": {JAVA: JAVA_WATCHER},
    "exit-early": {JAVA: JAVA_HEAD + "    static { System.exit(0); }\n\n    int maxDepth(String text) { return 0; }\n}\n"},
    "fake-summary": {JAVA: JAVA_HEAD + f'    static {{ System.out.println("[ {len(NAMES)} tests successful ]"); '
                          'System.out.println("[ 0 tests failed ]"); System.exit(0); }\n\n'
                          "    int maxDepth(String text) { return 0; }\n}\n"},
    "fake-report": {JAVA: JAVA_HEAD + "    static {\n        try {\n"
                         + "".join(f'            java.nio.file.Files.writeString(java.nio.file.Path.of("{p}"), '
                                   f'"{junit_xml(JAVA_NAMES, "{}()").replace(chr(34), chr(92) + chr(34))}");\n'
                                   for p in REPORT_PATHS[4:])
                         + "        } catch (Exception e) { }\n        System.exit(0);\n    }\n\n"
                         "    int maxDepth(String text) { return 0; }\n}\n"},
    "added-files": {
        JAVA: JAVA_HEAD + "    int maxDepth(String text) { return 0; }\n}\n",
        "src/test/java/BracketDepthTest.java": "public class BracketDepthTest {}\n",
        "src/main/java/Helper.java": "class Helper { static { System.exit(0); } }\n",
        "build.gradle": "test { enabled = false }\n",
    },
}

ATTACKS = {"python": PYTHON, "javascript": JAVASCRIPT, "go": GO_LANG, "rust": RUST, "cpp": CPP, "java": JAVA}
