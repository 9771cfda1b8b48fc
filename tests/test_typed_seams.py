"""The seams between the packages are typed: no parameter or field that carries the store,
a sandbox backend or the gateway is annotated `Any` (the type checker then follows a child
from the loop into the store; `make test` runs it)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEAM_NAMES = {"archive", "store", "ledger", "backend", "gateway", "ctx", "reader"}
"""Names that, by this project's convention, hold one of the seams' objects."""
IN_SANDBOX = ("sandbox/image", "evals/harness", "archive/seeds")
"""Standalone scripts that run inside sandboxes, not code of the host's program."""


def untyped_seams(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            params = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
            named = [(p.arg, p.annotation) for p in params]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            named = [(node.target.id, node.annotation)]
        else:
            continue
        for name, annotation in named:
            if name in SEAM_NAMES and (annotation is None or ast.unparse(annotation) in ("Any", "typing.Any", "object")):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    return found


def test_no_seam_is_untyped() -> None:
    files = [p for package in ("dgm", "archive", "sandbox", "evals") for p in (ROOT / package).rglob("*.py")
             if not any(part in p.relative_to(ROOT).as_posix() for part in IN_SANDBOX)]
    assert len(files) > 100
    problems = [problem for path in files for problem in untyped_seams(path)]
    assert problems == []


def test_the_check_sees_an_untyped_seam(tmp_path: Path) -> None:
    sample = ROOT / "tests" / "_sample_untyped.py"
    sample.write_text("from typing import Any\ndef f(archive: Any, backend, gateway: 'Gateway') -> None: ...\n")
    try:
        assert [p.split()[-1] for p in untyped_seams(sample)] == ["archive", "backend"]
    finally:
        sample.unlink()
