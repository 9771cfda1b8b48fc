"""The replay record of a child: everything needed to see how it was made and to make it again.

Small facts go into the child's meta under 'replay' (model and parameters, seeds, sandbox
backend, image and digest, config hash, dgm version, the selection step); the large texts stay
in its log folder: `diagnosis.json` (the prompt sent and the answer received) and
`self-modify.log` (the self-modification transcript). `load_replay` gathers both for
`dgm archive show ID --replay`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dgm.archive.queries import Queries
    from dgm.loop.iteration import LoopContext

DIAGNOSIS_LOG = "diagnosis.json"
SELF_MODIFY_LOG = "self-modify.log"


@lru_cache(maxsize=8)
def image_digest(backend: str, image: str) -> str:
    """The sandbox image's content id: Docker's image id, or for bubblewrap the recipe
    version of its root filesystem; '' when it cannot be read."""
    try:
        if backend == "docker":
            from dgm.sandbox.docker_backend import connect

            return str(connect().images.get(image).id)
        from dgm.sandbox.image_build import image_version

        return f"rootfs-recipe:{image_version()}"
    except Exception as exc:  # the record notes what it could not read; a run never fails on it
        return f"unknown ({type(exc).__name__})"


def config_sha256(run_dir: Path) -> str:
    path = run_dir / "run.toml"
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""


def dgm_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dgm")
    except PackageNotFoundError:
        return "unknown"


def replay_meta(ctx: "LoopContext", iteration: int, parent_id: str) -> dict[str, Any]:
    """The small facts of a child's making, for its meta."""
    config = ctx.config
    backend = str(getattr(ctx.backend, "name", type(ctx.backend).__name__))
    return {
        "iteration": iteration,
        "parent": parent_id,
        "selection": config.loop.selection,
        "run_seed": config.seed,
        "eval_seed": config.eval.seed,
        "model": config.model.name or "scripted:dry-run",
        "diagnose_model": config.model.diagnose_model or config.model.name or "scripted:dry-run",
        "temperature": config.model.temperature,
        "max_tokens": config.model.max_tokens,
        "api_base": config.model.api_base,
        "meta_agent": config.loop.meta_agent,
        "sandbox_backend": backend,
        "sandbox_image": config.sandbox.image,
        "sandbox_image_digest": image_digest(backend, config.sandbox.image),
        "config_sha256": config_sha256(ctx.run_dir),
        "dgm_version": dgm_version(),
    }


def write_diagnosis_log(logs: Path, messages: list[dict], answer: str) -> Path:
    logs.mkdir(parents=True, exist_ok=True)
    path = logs / DIAGNOSIS_LOG
    path.write_text(json.dumps({"prompt": messages, "answer": answer}, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


@dataclass(frozen=True)
class Replay:
    agent_id: str
    facts: dict[str, Any]
    prompt: list[dict] = field(default_factory=list)
    answer: str = ""
    transcript: str = ""
    missing: tuple[str, ...] = ()
    """What the record lacks (a seed agent, or a child made before records were kept)."""


def load_replay(archive: Queries, agent_id: str) -> Replay:
    """Raises: UnknownAgentError."""
    agent = archive.get(agent_id)
    logs = Path(archive.logs_dir(agent_id))
    missing = []
    facts = dict(agent.meta.get("replay") or {})
    if not facts:
        missing.append("replay facts (seed agent, or made before replay records)")
    prompt, answer = [], ""
    if (logs / DIAGNOSIS_LOG).is_file():
        data = json.loads((logs / DIAGNOSIS_LOG).read_text(encoding="utf-8"))
        prompt, answer = data.get("prompt", []), data.get("answer", "")
    else:
        missing.append(DIAGNOSIS_LOG)
    transcript = ""
    if (logs / SELF_MODIFY_LOG).is_file():
        transcript = (logs / SELF_MODIFY_LOG).read_text(encoding="utf-8", errors="replace")
    else:
        missing.append(SELF_MODIFY_LOG)
    return Replay(agent_id, facts, prompt, answer, transcript, tuple(missing))


def replay_json(replay: Replay) -> dict[str, Any]:
    return {"agent": replay.agent_id, "facts": replay.facts, "diagnosis_prompt": replay.prompt,
            "diagnosis_answer": replay.answer, "self_modify_transcript": replay.transcript, "missing": list(replay.missing)}


def replay_view(replay: Replay, clip: int = 4000) -> Any:
    """The record as rich renderables: facts, the diagnosis exchange, the transcript."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    for key, value in replay.facts.items():
        facts.add_row(key.replace("_", " "), str(value))
    parts: list[Any] = [Text(f"Replay record of {replay.agent_id}", style="bold"), facts]
    for message in replay.prompt:
        content = str(message.get("content", ""))
        parts.append(Text.assemble((f"diagnosis prompt ({message.get('role', '?')}): ", "bold"), _clip(content, clip)))
    if replay.answer:
        parts.append(Text.assemble(("diagnosis answer: ", "bold"), _clip(replay.answer, clip)))
    if replay.transcript:
        parts.append(Text.assemble(("self-modification transcript: ", "bold"), _clip(replay.transcript, clip)))
    if replay.missing:
        parts.append(Text("missing: " + ", ".join(replay.missing), style="yellow"))
    return Group(*parts)


def _clip(text: str, most: int) -> str:
    return text if len(text) <= most else text[:most] + f"\n… ({len(text) - most:,} more characters; --json has all)"
