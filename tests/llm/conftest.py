"""Fixtures of the LLM layer's tests: a real Archive as the ledger (real SQLite and git in
tmp_path), a started gateway, and raw HTTP over its unix socket (the seed agent's own client
connection, so both sides of the wire are the real code)."""

from __future__ import annotations

import importlib.util
import json
import sqlite3
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from dgm.config import BudgetConfig, ModelConfig, RunConfig, dump_config

SEED_DIR = Path(__file__).resolve().parents[2] / "archive" / "seeds" / "coder"


def seed_module(name: str) -> Any:
    """Import a module of the seed agent from its folder (it is not a package)."""
    key = f"seed_coder_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, SEED_DIR / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        siblings = {p.stem for p in SEED_DIR.glob("*.py")}
        before = {n: sys.modules[n] for n in siblings if n in sys.modules}
        sys.path.insert(0, str(SEED_DIR))  # the agent imports its siblings by plain name
        try:
            spec.loader.exec_module(module)
        finally:
            sys.path.remove(str(SEED_DIR))
            for n in siblings:  # keep the plain names from leaking into other tests
                sys.modules.pop(n, None)
            sys.modules.update(before)
        sys.modules[key] = module
    return sys.modules[key]


def make_config(model: str = "scripted:dry-run", max_tokens: int = 512, **budget: Any) -> RunConfig:
    return RunConfig(name="t", model=ModelConfig(name=model, max_tokens=max_tokens), budget=BudgetConfig(**budget))


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Any]:
    from dgm.archive import Archive

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "run.toml").write_text(dump_config(make_config()), encoding="utf-8")
    with Archive.create(run_dir) as store:
        yield store


def ledger_rows(archive: Any) -> list[sqlite3.Row]:
    """The ledger as stored (read with sqlite3, so the test does not lean on the store's API)."""
    with sqlite3.connect(Path(archive.run_dir) / "archive.db") as db:
        db.row_factory = sqlite3.Row
        return db.execute("SELECT * FROM llm_calls ORDER BY id").fetchall()


def post(socket_path: Path, body: bytes | dict, token: str | None, headers: dict | None = None) -> tuple[int, dict]:
    conn = seed_module("llm_client").UnixHTTPConnection(str(socket_path), 30)
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    all_headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
    try:
        conn.request("POST", "/v1/chat/completions", body=data, headers=all_headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


def token_of(mounts: list) -> str:
    return (Path(mounts[0].host_path) / "token").read_text()


def socket_of(mounts: list) -> Path:
    return Path(mounts[0].host_path) / "llm.sock"


def chat(text: str = "hello", **extra: Any) -> dict:
    return {"messages": [{"role": "user", "content": text}], **extra}
