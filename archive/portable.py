"""A whole run as one file, for another machine: `export_run` / `import_run`.

The file is a gzipped tar holding `manifest.json` (format, run name, where the run was),
`run.toml`, `archive.db` (a consistent copy made with SQLite's backup API, so a run may be
exported while its daemon writes), `agents.bundle` (a git bundle of every agent ref) and
`logs/`. Importing recreates the run folder: the bare repository is rebuilt from the bundle,
and log paths the database holds are moved from the old folder to the new one. Anything in
the file outside those names is refused, as is any path that would leave the new folder.
"""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from dgm.archive.postgres import is_postgres_url
from dgm.archive.errors import RunFileError
from dgm.archive.layout import RunLayout
from dgm.archive.schema import TASK_RESULTS

FORMAT = 1
MANIFEST = "manifest.json"
BUNDLE = "agents.bundle"
MEMBERS = (MANIFEST, "run.toml", "archive.db", BUNDLE)


@dataclass(frozen=True)
class ExportedRun:
    path: Path
    run_name: str
    bytes: int


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RunFileError(f"git {args[0]} failed: {done.stderr.strip()}")
    return done.stdout


def export_run(run_dir: Path, dest: Path) -> ExportedRun:
    """Write the run at `run_dir` to the file `dest`.

    Raises: NotARunError / MissingGitRepoError; RunFileError when dest exists or git fails.
    """
    layout = RunLayout(Path(run_dir))
    if is_postgres_url(layout.store_url()):
        raise RunFileError(f"{run_dir} keeps its tables in PostgreSQL: export-run packs runs on SQLite only "
                           "(copy the tables with pg_dump, and the run folder with agents.git and logs/)")
    layout.check_existing()
    dest = Path(dest)
    if dest.exists():
        raise RunFileError(f"{dest} already exists; choose another file name")
    with tempfile.TemporaryDirectory(prefix="dgm-export-") as scratch:
        tmp = Path(scratch)
        source = sqlite3.connect(f"file:{layout.db}?mode=ro", uri=True)
        target = sqlite3.connect(tmp / "archive.db")
        with target:
            source.backup(target)
        source.close()
        target.close()
        refs = _git("--git-dir", str(layout.git), "for-each-ref", "--format=%(refname)").split()
        if refs:
            _git("--git-dir", str(layout.git), "bundle", "create", str(tmp / BUNDLE), "--all")
        manifest = {"format": FORMAT, "run_name": layout.name, "source_dir": str(layout.root.resolve()), "refs": len(refs)}
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(dest.name + ".partial")
        with tarfile.open(partial, "w:gz") as tar:
            data = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
            tar.add(layout.config, "run.toml")
            tar.add(tmp / "archive.db", "archive.db")
            if refs:
                tar.add(tmp / BUNDLE, BUNDLE)
            if layout.logs.is_dir():
                tar.add(layout.logs, "logs")
        partial.replace(dest)
    return ExportedRun(dest, layout.name, dest.stat().st_size)


def _manifest(tar: tarfile.TarFile) -> dict:
    try:
        member = tar.getmember(MANIFEST)
        handle = tar.extractfile(member)
        manifest = json.loads(handle.read()) if handle else None
    except (KeyError, ValueError):
        manifest = None
    if not isinstance(manifest, dict) or "format" not in manifest:
        raise RunFileError("not a dgm run export (no manifest)")
    if manifest["format"] > FORMAT:
        raise RunFileError(f"the file has export format {manifest['format']}; this dgm reads up to {FORMAT}: upgrade dgm")
    return manifest


def _safe_members(tar: tarfile.TarFile) -> list[tarfile.TarInfo]:
    members = []
    for m in tar.getmembers():
        parts = Path(m.name).parts
        top = parts[0] if parts else ""
        if m.name.startswith("/") or ".." in parts or top not in (*MEMBERS, "logs"):
            raise RunFileError(f"refusing the file: unexpected member {m.name!r}")
        if not (m.isfile() or m.isdir()):
            raise RunFileError(f"refusing the file: {m.name!r} is neither a file nor a folder")
        members.append(m)
    return members


def import_run(file: Path, dest: Path | None = None, runs_dir: Path = Path("runs")) -> Path:
    """Recreate the run exported in `file` at `dest` (default: runs_dir/<its name>).

    Raises: RunFileError for a file that is not a run export, or a destination that exists.
    """
    file = Path(file)
    try:
        tar = tarfile.open(file, "r:gz")
    except (OSError, tarfile.TarError) as exc:
        raise RunFileError(f"cannot read {file} as a run export: {exc}") from None
    with tar:
        manifest = _manifest(tar)
        members = _safe_members(tar)
        target = Path(dest) if dest is not None else Path(runs_dir) / str(manifest["run_name"])
        if target.exists() and any(target.iterdir()):
            raise RunFileError(f"{target} already exists and is not empty; choose another destination")
        with tempfile.TemporaryDirectory(prefix="dgm-import-", dir=target.parent if target.parent.exists() else None) as scratch:
            tmp = Path(scratch) / "run"
            tmp.mkdir()
            tar.extractall(tmp, members=[m for m in members if m.name != MANIFEST], filter="data")
            layout = RunLayout(tmp)
            from dgm.archive.gitwrite import init_bare

            init_bare(layout.git)
            if (tmp / BUNDLE).is_file():
                _git("--git-dir", str(layout.git), "fetch", "--quiet", str(tmp / BUNDLE), "refs/*:refs/*")
                (tmp / BUNDLE).unlink()
            _move_log_paths(layout.db, str(manifest.get("source_dir", "")), str(target.resolve()))
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                target.rmdir()
            shutil.move(str(tmp), str(target))
    return target


def _move_log_paths(db: Path, old: str, new: str) -> None:
    """Task logs are stored by absolute path: re-root those under the old run folder."""
    if not old or old == new:
        return
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(
            f"UPDATE {TASK_RESULTS} SET log_path = :new || substr(log_path, length(:old) + 1) "
            "WHERE substr(log_path, 1, length(:old) + 1) = :old || '/'",
            {"old": old, "new": new},
        )
    conn.close()
