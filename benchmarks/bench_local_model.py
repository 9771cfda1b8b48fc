"""The `local` model's speed on this machine: generation tokens per second of the llama.cpp
server (one thread, the server's own timings) against the ~50 tokens/s the issue measured, and
the wall time of a two-task `dgm eval --model local` against the same eval on the scripted
dry-run model (the machine's own overhead: sandboxes, gateway, grading).

    python benchmarks/bench_local_model.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from dgm.llm.local import local_server

SEED = Path(__file__).resolve().parents[1] / "archive" / "seeds" / "coder"
EXPECTED_TOKENS_PER_SECOND = 50.0
PROMPTS = ["Write a Python function that reverses a string.", "Explain what a hash map is.",
           "Write a Python function that checks whether a number is prime."]


def tokens_per_second() -> tuple[float, float, float]:
    """(generation tokens/s, prompt tokens/s, seconds to start the server)."""
    started = time.perf_counter()
    with local_server() as server:
        start_seconds = time.perf_counter() - started
        predicted, predicted_ms, prompt, prompt_ms = 0, 0.0, 0, 0.0
        for text in PROMPTS:
            body = json.dumps({"messages": [{"role": "user", "content": text}], "max_tokens": 128,
                               "temperature": 0}).encode()
            request = urllib.request.Request(server.url + "/chat/completions", data=body,
                                             headers={"Content-Type": "application/json",
                                                      "Authorization": f"Bearer {server.key}"})
            with urllib.request.urlopen(request, timeout=300) as response:
                timings = json.load(response)["timings"]
            predicted += timings["predicted_n"]
            predicted_ms += timings["predicted_ms"]
            prompt += timings["prompt_n"]
            prompt_ms += timings["prompt_ms"]
    return predicted / (predicted_ms / 1000), prompt / (prompt_ms / 1000), start_seconds


def eval_seconds(model: str) -> tuple[float, dict]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "dgm.cli", "eval", str(SEED), "--suite", "humaneval", "--limit", "2",
                           "--model", model, "--json", "--seed", str(int(time.time()))],
                          capture_output=True, text=True, timeout=3600)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"dgm eval --model {model} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return seconds, json.loads(proc.stdout)


def main() -> None:
    generation, prompt, start = tokens_per_second()
    print(f"local model: server up in {start:.1f} s; generation {generation:.1f} tokens/s, prompt {prompt:.1f} tokens/s "
          f"(issue's figure: ~{EXPECTED_TOKENS_PER_SECOND:.0f} tokens/s; ratio {generation / EXPECTED_TOKENS_PER_SECOND:.2f})")
    local, report = eval_seconds("local")
    scripted, _ = eval_seconds("scripted:dry-run")
    reasons = [r["exit_reason"] for r in report["results"]]
    print(f"dgm eval humaneval --limit 2: local {local:.1f} s, scripted dry-run {scripted:.1f} s "
          f"(ratio {local / scripted:.1f}x); local results: {reasons}")


if __name__ == "__main__":
    main()
