"""A scripted agent for the synthetic SWE-bench instances: fixes add() in /work, commits the
change (so only a diff against the pristine repository can see it), and reports what it
saw of the sandbox on stdout."""

import argparse
import os
import subprocess
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--instruction")
parser.add_argument("--workspace")
args = parser.parse_args()
work = Path(args.workspace)
module = work / "calc" / "__init__.py"
module.write_text(module.read_text().replace("def add(a, b):\n    return a - b", "def add(a, b):\n    return a + b"))
env = {**os.environ, "GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@b", "GIT_COMMITTER_NAME": "a", "GIT_COMMITTER_EMAIL": "a@b"}
subprocess.run(["git", "commit", "-qam", "fix add"], cwd=work, env=env, check=True)
print(f"uid={os.getuid()}")
print(f"testbed->{os.path.realpath('/testbed')}")
print(f"instruction-has-hidden-tests={'test_add' in Path(args.instruction).read_text()}")
print(f"llm-socket={os.path.exists('/run/llm/llm.sock')}")
