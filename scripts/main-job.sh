#!/usr/bin/env bash
# The main job (`make run`): build the sandbox image if needed, create a run if none exists,
# run a few iterations, and show the lineage. With DGM_MODEL set (a litellm model string, plus
# the provider's key such as OPENAI_API_KEY or ANTHROPIC_API_KEY, and DGM_API_BASE for a local
# OpenAI-compatible server) it is a real run; without it, a clearly labelled dry run.
set -euo pipefail
BIN="${BIN:-.venv/bin}"
# a run's model is fixed at creation, so a real model gets a run of its own
DEFAULT_NAME="demo"
[ -n "${DGM_MODEL:-}" ] && DEFAULT_NAME="$(printf '%s' "$DGM_MODEL" | tr -c 'A-Za-z0-9._-' '-')"
RUN_DIR="${DGM_RUN:-runs/${DGM_RUN_NAME:-$DEFAULT_NAME}}"
ITERATIONS="${DGM_ITERATIONS:-3}"

"$BIN/dgm" sandbox build
if [ ! -f "$RUN_DIR/run.toml" ]; then
    config="$(mktemp)"
    trap 'rm -f "$config"' EXIT
    cat > "$config" <<TOML
name = "$(basename "$RUN_DIR")"

[model]
name = "${DGM_MODEL:-}"
api_base = "${DGM_API_BASE:-}"

[loop]
children_in_flight = 2
max_iterations = 0

[eval]
suites = ["humaneval", "humaneval-fix"]
stages = [{ tasks = 6, min_score = 0.3 }, { tasks = 24 }]
TOML
    "$BIN/dgm" init "$RUN_DIR" --config "$config"
fi
"$BIN/dgm" run --run "$RUN_DIR" --iterations "$ITERATIONS"
"$BIN/dgm" archive tree --run "$RUN_DIR"
