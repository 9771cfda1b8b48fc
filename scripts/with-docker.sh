#!/usr/bin/env bash
# Runs a command with a Docker daemon answering. If none answers and we are root, starts
# dockerd with its output in a log file, and stops that daemon (by its own pid) when the
# command ends, so callers' pipes close. As a non-root user, says what to run instead.
set -uo pipefail
log_dir="${DGM_STATE_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/dgm}"
started_pid=""

docker_answers() { docker info >/dev/null 2>&1; }

stop_started() {
    if [ -n "$started_pid" ] && kill -0 "$started_pid" 2>/dev/null; then
        kill "$started_pid" 2>/dev/null
        for _ in $(seq 1 50); do kill -0 "$started_pid" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$started_pid" 2>/dev/null || true
    fi
}

if ! docker_answers; then
    if [ "$(id -u)" -eq 0 ] && command -v dockerd >/dev/null 2>&1; then
        mkdir -p "$log_dir"
        echo "dgm: no Docker daemon answers; starting dockerd (log: $log_dir/dockerd.log)"
        dockerd >"$log_dir/dockerd.log" 2>&1 </dev/null &
        started_pid=$!
        trap stop_started EXIT
        for _ in $(seq 1 60); do docker_answers && break; sleep 0.5; done
        docker_answers || { echo "dgm: dockerd did not come up; see $log_dir/dockerd.log" >&2; }
    else
        echo "dgm: no Docker daemon answers. Start it (as root: 'dockerd &' or 'systemctl start docker');" >&2
        echo "dgm: without Docker the bubblewrap backend is used if 'bwrap' works." >&2
    fi
fi
"$@"
