#!/usr/bin/env bash
# A throw-away PostgreSQL server for the tests: `start DIR` creates a cluster in DIR/data
# listening only on a unix socket in DIR (no TCP port; trust auth, except the role
# dgm_password, which must give its password) and prints the socket folder; `stop DIR` stops it.
# initdb refuses to run as root, so as root the server runs as `nobody`, owning DIR (whose
# parent folders must then be reachable by nobody: use a fresh folder under /tmp).
set -euo pipefail
cmd=${1:?usage: pg-test-server.sh start|stop DIR}
dir=${2:?usage: pg-test-server.sh start|stop DIR}
bindir=${DGM_PG_BINDIR:-}
if [ -z "$bindir" ]; then
    bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    echo "pg-test-server: no PostgreSQL binaries (install Debian's 'postgresql' package: scripts/system-setup.sh)" >&2
    exit 2
fi
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"; else "$@"; fi
}
case "$cmd" in
start)
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown nobody:nogroup "$dir"
    as_owner "$bindir/initdb" -D "$dir/data" -U dgm --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    # one role must give a password (scram), so a test shows libpq's PGPASSWORD/.pgpass at work
    as_owner sh -c 'printf "local all dgm_password scram-sha-256\n" | cat - "$1" >"$1.new" && mv "$1.new" "$1"' sh "$dir/data/pg_hba.conf"
    opts="-c listen_addresses='' -c unix_socket_directories='$dir' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "$opts" -w -t 60 start >/dev/null \
        || { cat "$dir/server.log" >&2; exit 1; }
    echo "$dir"
    ;;
stop)
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null
    ;;
*)
    echo "pg-test-server: unknown command '$cmd' (start or stop)" >&2
    exit 2
    ;;
esac
