"""Installing dgm claims one top-level name, `dgm`: the folders archive/, sandbox/ and evals/
install as dgm.archive, dgm.sandbox and dgm.evals, so a shared environment may also hold a
distribution that owns a top-level `evals` (one exists in the package index)."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(*args: object, cwd: Path | None = None) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def build_wheel(source: Path, out: Path) -> Path:
    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", out, source)
    return next(out.glob(f"{source.name.replace('-', '_')}*.whl" if source != ROOT else "dgm-*.whl"))


@pytest.mark.slow
def test_wheel_installs_beside_a_distribution_that_owns_top_level_evals(tmp_path: Path) -> None:
    other = tmp_path / "other-evals"
    (other / "evals").mkdir(parents=True)
    (other / "evals" / "__init__.py").write_text("OWNER = 'other-evals'\n")
    (other / "pyproject.toml").write_text(textwrap.dedent("""\
        [build-system]
        requires = ["setuptools>=68"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "other-evals"
        version = "1.0"
        [tool.setuptools]
        packages = ["evals"]
        """))
    wheels = tmp_path / "wheels"
    dgm_wheel = build_wheel(ROOT, wheels)
    other_wheel = build_wheel(other, wheels)

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    # dgm's dependencies come from the project's environment, named by a .pth line: a path
    # added that way is not a site directory, so the project's editable dgm stays invisible
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip())
    (site / "project-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run(python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", dgm_wheel, other_wheel)

    probe = textwrap.dedent("""\
        import evals, dgm.evals, dgm.archive, dgm.sandbox
        assert evals.OWNER == "other-evals", evals.__file__
        assert "site-packages/dgm/evals" in dgm.evals.__file__, dgm.evals.__file__
        from dgm.evals import get_suite
        assert len(get_suite("humaneval-fix").tasks()) > 100  # package data travels in the wheel
        from dgm.archive import Archive
        from dgm.sandbox import open_backend
        import importlib.util
        assert importlib.util.find_spec("archive") is None and importlib.util.find_spec("sandbox") is None
        print("ok")
        """)
    assert run(python, "-c", probe, cwd=tmp_path).strip() == "ok"
    assert "Usage: dgm" in run(venv / "bin" / "dgm", "--help", cwd=tmp_path)
