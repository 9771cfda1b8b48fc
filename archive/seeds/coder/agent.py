"""A small, real coding agent: a tool loop over an LLM reached through the gateway.

    python agent.py --instruction FILE --workspace DIR

The agent's output is what it leaves in the workspace. Its transcript goes to stderr (the
run's log) and, in full, to a JSON-lines file in /tmp. Standard library only.
Modules: llm_client.py (the gateway), tools.py (bash, view, write, edit, finish),
prompts.py (what the model is told).
"""

import argparse
import json
import os
import sys
import time

from llm_client import ContextTooLongError, FatalLLMError, GatewayClient, LLMError
from prompts import CONTEXT_NOTE, FIRST_MESSAGE, NO_TOOL_NUDGE, OUTPUT_PREFIX, SYSTEM_PROMPT
from tools import TOOLS, Toolbox, clip, shell_blocks

MAX_STEPS = int(os.environ.get("DGM_AGENT_MAX_STEPS", "60"))
MAX_TOTAL_TOKENS = int(os.environ.get("DGM_AGENT_MAX_TOKENS", "1500000"))
MAX_TOKENS_PER_CALL = 4096
TEMPERATURE = 0.2
CONTEXT_CHARS = 360_000
"""About 90k tokens: beyond it, the oldest tool outputs are shortened."""
KEEP_RECENT = 8
MAX_NUDGES = 3
ANSWER_CHARS = 40_000
"""An answer longer than this is clipped before it joins the conversation (a runaway model
must not make every later request too large for the gateway)."""
LOG_CHARS = 2_000
TRANSCRIPT = os.environ.get("DGM_AGENT_TRANSCRIPT", "/tmp/agent-transcript.jsonl")


def log(text):
    print(text, file=sys.stderr, flush=True)


def record(entry):
    try:
        with open(TRANSCRIPT, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")
    except OSError:
        pass  # the transcript is a convenience; stderr already has the essentials


def is_output(message):
    """A tool result, or a command's output in text mode."""
    return message.get("role") == "tool" or (
        message.get("role") == "user" and str(message.get("content") or "").startswith(OUTPUT_PREFIX))


def shorten_history(messages, limit=CONTEXT_CHARS, keep=KEEP_RECENT):
    """Shorten the oldest tool outputs until the conversation fits in `limit` characters."""
    size = sum(len(json.dumps(m)) for m in messages)
    tool_indexes = [i for i, m in enumerate(messages) if is_output(m)][:-keep or None]
    for i in tool_indexes:
        if size <= limit:
            break
        old = messages[i].get("content") or ""
        if len(old) > 400:
            messages[i] = dict(messages[i], content=old[:300] + "\n" + CONTEXT_NOTE)
            size -= len(old) - len(messages[i]["content"])
    return size <= limit


class Agent:
    def __init__(self, client, toolbox, max_steps=MAX_STEPS, max_total_tokens=MAX_TOTAL_TOKENS):
        self.client = client
        self.toolbox = toolbox
        self.max_steps = max_steps
        self.max_total_tokens = max_total_tokens
        self.tokens = 0

    def run(self, instruction):
        """Returns (finished, reason, steps)."""
        workspace = self.toolbox.root
        messages = [
            {"role": "system", "content": SYSTEM_PROMPT.format(workspace=workspace)},
            {"role": "user", "content": FIRST_MESSAGE.format(
                instruction=instruction.strip(), workspace=workspace, listing=self.toolbox.tool_view(".")[0])},
        ]
        log(f"=== task ===\n{clip(instruction, LOG_CHARS)}")
        nudges = 0
        for step in range(1, self.max_steps + 1):
            if self.tokens >= self.max_total_tokens:
                return False, f"token cap of {self.max_total_tokens} reached", step - 1
            message = self.ask(messages)
            messages.append(message)
            record({"step": step, "message": message})
            if message.get("content"):
                log(f"=== step {step}: assistant ===\n{clip(message['content'], LOG_CHARS)}")
            calls = message.get("tool_calls") or []
            blocks = [] if calls else shell_blocks(message.get("content") or "")
            if len(blocks) == 1:  # text mode: a model that answers in prose with one shell block
                nudges = 0
                command = blocks[0]
                log(f"=== step {step}: shell block ===\n{clip(command, LOG_CHARS)}")
                if command.strip() == "finish":
                    return True, "Finished: the model said finish", step
                output, _ = self.toolbox.tool_bash(command)
                log(f"--- result ---\n{clip(output, LOG_CHARS)}")
                messages.append({"role": "user", "content": OUTPUT_PREFIX + output})
                record({"step": step, "tool": "shell block", "result": output})
                continue
            if not calls:
                nudges += 1
                if nudges > MAX_NUDGES:
                    return False, "the model stopped calling tools", step
                messages.append({"role": "user", "content": NO_TOOL_NUDGE})
                continue
            nudges = 0
            finished = None
            for call in calls:
                function = call.get("function") or {}
                name, arguments = function.get("name", ""), function.get("arguments", "")
                log(f"=== step {step}: {name} ===\n{clip(arguments, LOG_CHARS)}")
                if name == "finish" and len(calls) > 1 and call is not calls[-1]:
                    output, done = "Error: call finish alone, after your other tool calls have run.", False
                else:
                    output, done = self.toolbox.run(name, arguments)
                log(f"--- result ---\n{clip(output, LOG_CHARS)}")
                messages.append({"role": "tool", "tool_call_id": call.get("id", ""), "content": output})
                record({"step": step, "tool": name, "result": output})
                if done:
                    finished = output
            if finished is not None:
                return True, finished, step
        return False, f"step cap of {self.max_steps} reached", self.max_steps

    def ask(self, messages):
        """One model turn; a too-long conversation is shortened and retried once."""
        for attempt in range(2):
            shorten_history(messages, CONTEXT_CHARS // (1 + 2 * attempt))
            try:
                message, usage = self.client.chat(messages, TOOLS, MAX_TOKENS_PER_CALL, TEMPERATURE)
            except ContextTooLongError:
                if attempt:
                    raise
                continue
            self.tokens += int(usage.get("total_tokens") or 0)
            clean = {"role": "assistant", "content": clip(str(message.get("content") or ""), ANSWER_CHARS)}
            if message.get("tool_calls"):
                clean["tool_calls"] = message["tool_calls"]
                clean["content"] = clean["content"] or None  # some providers reject empty text blocks
            return clean
        raise LLMError("unreachable")


def parse_args(argv):
    parser = argparse.ArgumentParser(description="A small coding agent (tool loop over an LLM).")
    parser.add_argument("--instruction", required=True, help="File holding the task.")
    parser.add_argument("--workspace", required=True, help="Directory to work in; the output is left here.")
    parser.add_argument("--max-steps", type=int, default=MAX_STEPS)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    started = time.monotonic()
    with open(args.instruction, encoding="utf-8") as f:
        instruction = f.read()
    agent = None
    try:
        agent = Agent(GatewayClient(), Toolbox(args.workspace), max_steps=args.max_steps)
        finished, reason, steps = agent.run(instruction)
        code = 0
    except FatalLLMError as exc:
        finished, reason, steps, code = False, f"stopped: {exc}", None, 3
    except LLMError as exc:
        finished, reason, steps, code = False, f"the model could not be reached: {exc}", None, 4
    summary = {"finished": finished, "reason": clip(reason, 500), "steps": steps,
               "tokens": agent.tokens if agent else 0, "seconds": round(time.monotonic() - started, 1)}
    log(f"=== done ===\n{json.dumps(summary)}")
    print(json.dumps(summary))
    return code


if __name__ == "__main__":
    sys.exit(main())
