"""Make tests/fixtures/run-schema1.tar.gz: a small real run created by an older dgm (schema 1).

The old code is taken from a git commit of this repository (`git archive`, so nothing of the
current checkout leaks in) and run with PYTHONPATH pointing at it, with this interpreter's
installed dependencies. It makes a dry run of a few children on real Docker sandboxes, then
keeps only what a run needs to open (run.toml, archive.db, agents.git; a tarball, because git
would drop the bare repository's empty folders) and, beside it, `<name>.json`: what the old
`dgm archive ls --json` and `show --json` said, so a test can check the migrated run against it.

    python scripts/make_old_run_fixture.py --commit b2b9e06 --out tests/fixtures/run-schema1
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CONFIG = """name = "old"
seed = 7

[model]
name = "scripted:dry-run"

[loop]
children_in_flight = 1
max_iterations = {iterations}
self_modify_timeout = 120.0

[eval]
suites = ["humaneval"]
stages = [{{ tasks = 2 }}]
workers = 2
task_timeout = 60.0
"""


def old_dgm(code: Path, *args: str, cwd: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(code), "DGM_CACHE_DIR": str(cwd / "cache")}
    proc = subprocess.run([sys.executable, "-m", "dgm.cli", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"old dgm {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commit", required=True, help="the old dgm's commit in this repository")
    parser.add_argument("--out", type=Path, required=True, help="writes OUT.tar.gz and OUT.json")
    parser.add_argument("--iterations", type=int, default=3)
    args = parser.parse_args()
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", args.commit], capture_output=True, text=True, check=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="dgm-old-") as tmp:
        work = Path(tmp)
        code = work / "code"
        code.mkdir()
        tar = subprocess.run(["git", "-C", str(REPO), "archive", commit], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(code)], input=tar, check=True)
        where = subprocess.run([sys.executable, "-c", "import dgm; print(dgm.__file__)"], env={**os.environ, "PYTHONPATH": str(code)},
                               cwd=work, capture_output=True, text=True, check=True).stdout.strip()
        if not where.startswith(str(code)):
            sys.exit(f"the old code is shadowed: dgm imports from {where}")
        (work / "old.toml").write_text(CONFIG.format(iterations=args.iterations))
        run = work / "old"
        old_dgm(code, "init", str(run), "--config", str(work / "old.toml"), cwd=work)
        old_dgm(code, "run", "--run", str(run), cwd=work)
        listing = json.loads(old_dgm(code, "archive", "ls", "--json", "--run", str(run), cwd=work))
        spend = {row["id"]: json.loads(old_dgm(code, "archive", "show", row["id"], "--json", "--run", str(run), cwd=work))["spend"]
                 for row in listing}
        conn = sqlite3.connect(run / "archive.db")
        try:  # fold the WAL into the file: one file to keep
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            version = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0]
        finally:
            conn.close()
        subprocess.run(["git", "--git-dir", str(run / "agents.git"), "gc", "--quiet", "--prune=now"], check=True)
        for hook in (run / "agents.git" / "hooks").glob("*.sample"):
            hook.unlink()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tarball = args.out.with_name(args.out.name + ".tar.gz")
        subprocess.run(["tar", "-czf", str(tarball), "--owner=0", "--group=0", "-C", str(work), "old/run.toml", "old/archive.db", "old/agents.git"],
                       check=True)
        expected = {"made_by": commit, "schema_version": version, "ls": listing, "spend": spend}
        args.out.with_name(args.out.name + ".json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")
    print(f"wrote {args.out}.tar.gz and .json: {len(listing)} agents, schema {version}, made by {commit[:12]}")


if __name__ == "__main__":
    main()
