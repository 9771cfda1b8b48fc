"""The dry-run script: lets the scripted model drive a whole run of the loop, offline.

It answers by the *shape* of each request, never by counting calls, so a dry run of any
number of iterations never runs out: the diagnosis prompt gets a JSON proposal, and inside a
tool loop the step number (assistant turns so far) and the task in the first user message pick
the next tool call. The tool names are the seed agent's (bash, view, write, edit, finish).

Scenarios (model name 'scripted:<scenario>') make the self-modification misbehave on purpose,
so tests can drive each invalid-child path of the loop with the real machinery. The
'landscape' scenario instead gives agents a hidden skill (dgm.loop.landscape's random process,
kept in a marker line of the agent's prompts.py that its system prompt carries to the model):
on the tasks of `custom:evals/examples/landscape` an agent passes each task with probability
equal to its skill, so a dry run exercises selection on a landscape where agents do differ.
"""

from __future__ import annotations

import json
import re
from typing import Callable

from dgm.llm.scripted import Answer, Request

SCENARIOS = ("dry-run", "empty-diff", "broken-agent", "fail-smoke", "garbage-diagnosis", "landscape")
MARK = "[dry-run]"
ANCHOR = 'if __name__ == "__main__":'
NOTE = "# dry-run note"

Plan = list[Callable[[Request], Answer]]


def finish(summary: str) -> Callable[[Request], Answer]:
    return lambda r: Answer.call("finish", summary=summary)


def diagnosis(request: Request, scenario: str) -> Answer:
    if scenario == "garbage-diagnosis":
        return Answer.say("I would rather not answer in JSON today.")
    proposal = {
        "log_summary": f"{MARK} The scripted model saw {request.last_user.count('### Task')} failure log(s).",
        "improvement_proposal": f"{MARK} Record a short note in the agent's main module (no behaviour change).",
        "implementation_suggestion": f"Insert a comment line starting with '{NOTE}' just above the line {ANCHOR!r} in agent.py.",
        "problem_statement": (
            f"{MARK} Add one comment line starting with '{NOTE}' to agent.py, just above the line "
            f"{ANCHOR!r}. Do not change anything else."
        ),
    }
    return Answer.say("```json\n" + json.dumps(proposal, indent=2) + "\n```")


def self_modify_edit(scenario: str) -> Callable[[Request], Answer]:
    def edit(request: Request) -> Answer:
        seen = "\n".join(request.tool_results)
        if scenario == "empty-diff":
            return Answer.call("finish", summary="dry run: decided that no change is needed")
        if scenario == "broken-agent":
            new = ANCHOR.rstrip(":") + "  # dry run: the colon is gone, so agent.py no longer compiles"
        elif scenario == "fail-smoke":
            new = 'if __name__ == "__disabled__":  # dry run: the agent compiles but never runs'
        else:
            new = f"{NOTE} {seen.count(NOTE) + 1}: a scripted, behaviour-free edit\n{ANCHOR}"
        return Answer.call("edit", path="agent.py", old_str=ANCHOR, new_str=new)

    return edit


def check_or_repair(request: Request) -> Answer:
    """After the edit: compile-check agent.py; if the edit was refused, append the note instead."""
    last = request.tool_results[-1] if request.tool_results else ""
    if last.lower().startswith("error"):
        return Answer.call("bash", command=f"printf '\\n{NOTE}: appended by the dry run\\n' >> agent.py")
    return Answer.call("bash", command="python3 -c \"import ast; ast.parse(open('agent.py').read()); print('agent.py compiles')\"")


LANDSCAPE_MARK = re.compile(r"\[landscape skill=([0-9.]+) drift=(-?[0-9.]+)\]")
LANDSCAPE_TOKEN = re.compile(r"landscape token `([^`]+)`")


def landscape_state(text: str) -> tuple[float, float]:
    """(skill, drift) of the last marker in the text; the seed's when there is none."""
    from dgm.loop.landscape import Landscape

    found = LANDSCAPE_MARK.findall(text)
    return (float(found[-1][0]), float(found[-1][1])) if found else (Landscape().seed_skill, 0.0)


def landscape_draw(*parts: str) -> float:
    """A uniform number in [0, 1) fixed by the parts (no hidden state: same agent, same task,
    same outcome)."""
    import hashlib

    return int.from_bytes(hashlib.sha256("|".join(parts).encode()).digest()[:8], "big") / 2**64


def landscape_passes(system_prompt: str, task_text: str) -> bool:
    """Whether the agent whose system prompt this is solves the task named in the text: a
    draw fixed by (its skill, the task's token), below its skill."""
    skill, drift = landscape_state(system_prompt)
    token = LANDSCAPE_TOKEN.search(task_text)
    return landscape_draw(f"{skill:.4f} {drift:.4f}", token.group(1) if token else task_text) < skill


def landscape_edit(request: Request) -> Answer:
    """The child's skill from the parent's (read in prompts.py, viewed a step before), drawn by
    the landscape's process; the draw depends on the parent and the diagnosis it got."""
    import numpy as np

    from dgm.loop.landscape import Landscape

    seen = "\n".join(request.tool_results)
    skill, drift = landscape_state(seen)
    seed = int(landscape_draw(seen[-400:], request.first_user) * 2**32)
    skill, drift = Landscape().child(skill, drift, np.random.default_rng(seed))
    line = f'SYSTEM_PROMPT += "\\n[landscape skill={skill:.4f} drift={drift:.4f}]"'
    return Answer.call("bash", command=f"cat >> prompts.py <<'EOF'\n{line}\nEOF\npython3 -c 'import prompts'")


def plan_for(request: Request, scenario: str) -> Plan:
    task = request.first_user
    if scenario == "landscape" and (MARK in task or "improving a coding agent" in task):
        return [lambda r: Answer.call("view", path="prompts.py"), landscape_edit, finish("dry run: the landscape drew this child's skill")]
    token = LANDSCAPE_TOKEN.search(task)
    if scenario == "landscape" and token:
        answer = token.group(1) if landscape_passes(request.system, task) else "not the token"
        return [lambda r: Answer.call("write", path="answer.txt", content=answer + "\n"), finish("dry run: answered")]
    if MARK in task or "improving a coding agent" in task:
        plan: Plan = [lambda r: Answer.call("bash", command="ls -la && wc -l *.py"),
                      lambda r: Answer.call("view", path="agent.py"),
                      self_modify_edit(scenario)]
        if scenario != "empty-diff":
            plan.append(check_or_repair)
        return plan + [finish("dry run: made the scripted edit")]
    smoke = re.search(r"Edit the file (\S+) .*?exactly the line '([^']*)'", task, re.DOTALL)
    if smoke:
        path, line = smoke.group(1), smoke.group(2)
        return [lambda r: Answer.call("view", path=path),
                lambda r: Answer.call("write", path=path, content=line + "\n"),
                lambda r: Answer.call("bash", command=f"cat {path}"),
                finish(f"dry run: {path} now holds the requested line")]
    if "solution.py" in task:
        body = "    return None  # dry run: the scripted model does not solve tasks"
        return [lambda r: Answer.call("view", path="solution.py"),
                lambda r: Answer.call("bash", command=f"printf '%s\\n' '{body}' >> solution.py && python3 -c 'import solution'"),
                finish("dry run: wrote a placeholder body")]
    if "module.py" in task:
        return [lambda r: Answer.call("bash", command="python3 test_module.py"),
                lambda r: Answer.call("view", path="module.py"),
                finish("dry run: looked at the bug but did not fix it")]
    if "answer.txt" in task:
        return [lambda r: Answer.call("write", path="answer.txt", content="42\n"),
                finish("dry run: wrote a placeholder answer")]
    return [finish("dry run: nothing to do for this task")]


def dry_run_script(scenario: str = "dry-run") -> Callable[[Request], Answer]:
    """The script of the offline dry run (see the module docstring).

    Raises: ValueError for an unknown scenario.
    """
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scripted scenario '{scenario}' (known: {', '.join(SCENARIOS)})")

    def answer(request: Request) -> Answer:
        if not request.tools:
            if "problem_statement" in request.last_user:
                return diagnosis(request, scenario)
            return Answer.say(f"{MARK} The scripted model has nothing to add.")
        plan = plan_for(request, scenario)
        step = min(request.turns, len(plan) - 1)
        return plan[step](request)

    return answer
