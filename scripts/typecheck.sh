#!/usr/bin/env bash
# Type-checks dgm/, archive/, sandbox/ and evals/ with mypy (config in pyproject.toml).
# The folders install as dgm, dgm.archive, dgm.sandbox and dgm.evals (see setup.py); mypy
# cannot follow the editable install's import hook, so it reads the sources through a small
# tree of links laid out as they install.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
shadow="$(mktemp -d)"
trap 'rm -rf "$shadow"' EXIT
mkdir "$shadow/dgm"
for entry in dgm/*; do
    [ "$(basename "$entry")" = __pycache__ ] || ln -s "$root/$entry" "$shadow/dgm/"
done
for folder in archive sandbox evals; do ln -s "$root/$folder" "$shadow/dgm/$folder"; done
cd "$shadow"
"$root/${BIN:-.venv/bin}/mypy" --config-file "$root/pyproject.toml" --cache-dir "$root/.mypy_cache" -p dgm "$@"
