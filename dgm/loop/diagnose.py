"""Diagnosis: one host-side LLM call that reads the parent's code and some of its failures and
proposes one improvement, written as a task for the self-modification step."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import Mapping, Sequence

from dgm.errors import DgmError

MAX_FILE_CHARS = 12_000
MAX_LOG_CHARS = 4_000
MIN_CLIP_CHARS = 200
"""The least of a file or log a fitted prompt keeps (its head and tail)."""

SYSTEM = """You are the diagnosis step of a Darwin Gödel Machine: a system in which a coding agent \
improves its own code. You read the agent's source code and logs of tasks it failed, find the \
most important weakness, and propose ONE concrete, general improvement to the agent's own code \
(its prompts, tools, loop, error handling, context management). Do not propose anything that \
special-cases particular tasks or touches tests or grading."""

FORMAT = """Answer with a single JSON object and nothing else, with these string fields:
"log_summary": what went wrong in the failed tasks;
"improvement_proposal": the one improvement to make, and why it helps in general;
"implementation_suggestion": how to implement it in the agent's files;
"problem_statement": a self-contained task for a coding agent that will edit the agent's code
(it sees only the code and this text)."""

FIELDS = ("log_summary", "improvement_proposal", "implementation_suggestion", "problem_statement")


class DiagnosisError(DgmError):
    """The model's diagnosis could not be used (no JSON object, missing fields)."""


@dataclass(frozen=True)
class Diagnosis:
    log_summary: str
    improvement_proposal: str
    implementation_suggestion: str
    problem_statement: str

    def as_meta(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class FailedTask:
    task_id: str
    log: str


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit // 2] + "\n[... clipped ...]\n" + text[-limit // 2 :]


def diagnosis_messages(code: Mapping[str, bytes], failures: Sequence[FailedTask], max_chars: int | None = None) -> list[dict]:
    """The diagnosis prompt. With `max_chars` (a small model's context window), every file
    and log is clipped harder, halving the clips, until the whole prompt fits."""
    file_chars, log_chars = MAX_FILE_CHARS, MAX_LOG_CHARS
    while True:
        messages = _messages(code, failures, file_chars, log_chars)
        size = sum(len(m["content"]) for m in messages)
        if max_chars is None or size <= max_chars or file_chars <= MIN_CLIP_CHARS:
            return messages
        file_chars, log_chars = max(MIN_CLIP_CHARS, file_chars // 2), max(MIN_CLIP_CHARS, log_chars // 2)


def _messages(code: Mapping[str, bytes], failures: Sequence[FailedTask], file_chars: int, log_chars: int) -> list[dict]:
    files = "\n\n".join(
        f"### {path}\n```\n{_clip(data.decode('utf-8', 'replace'), file_chars)}\n```"
        for path, data in sorted(code.items())
        if path.endswith((".py", ".md", ".txt", ".toml", ".json"))
    )
    logs = "\n\n".join(f"### Task {f.task_id}\n```\n{_clip(f.log, log_chars)}\n```" for f in failures)
    user = (
        f"# The agent's code\n{files}\n\n"
        f"# Logs of failed tasks\n{logs or '(no failure logs: propose the most valuable general improvement)'}\n\n"
        f"{FORMAT}"
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def parse_diagnosis(text: str) -> Diagnosis:
    """Take the first JSON object in the answer (fenced or bare).

    Raises: DiagnosisError when there is none or it lacks the problem statement.
    """
    fenced = re.search(r"```(?:json)?\s*(\{.*?\})\s*```", text, re.DOTALL)
    candidates = [fenced.group(1)] if fenced else []
    start = text.find("{")
    if start >= 0:
        candidates.append(text[start : text.rfind("}") + 1])
    for candidate in candidates:
        try:
            data = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict) and str(data.get("problem_statement", "")).strip():
            return Diagnosis(**{name: str(data.get(name, "")).strip() for name in FIELDS})
    raise DiagnosisError(f"the diagnosis answer holds no JSON object with a problem_statement: {text[:120]!r}")


SELF_MODIFY_INSTRUCTION = """You are improving a coding agent. The workspace holds the agent's own \
source code; edit it in place.

{problem_statement}

Constraints:
- Keep the command-line contract: `python agent.py --instruction FILE --workspace DIR` must still work,
  and the agent must still reach its LLM only through the gateway it uses now.
- Use only the Python standard library.
- Make a focused change; do not add tests, result files or anything that special-cases tasks.
"""


def self_modify_instruction(diagnosis: Diagnosis) -> str:
    return SELF_MODIFY_INSTRUCTION.format(problem_statement=diagnosis.problem_statement)
