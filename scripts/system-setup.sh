#!/usr/bin/env bash
# Installs the system packages the sandbox needs (docker.io, debootstrap, bubblewrap), npm for
# the polyglot image's jest, chromium + chromium-driver for the web view's browser tests, and the
# PostgreSQL server the archive's tests start (postgresql), on a Debian or Ubuntu machine. As root
# it runs apt-get; otherwise it prints the command to run.
set -euo pipefail
missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
command -v git >/dev/null 2>&1 || missing+=(git)
command -v npm >/dev/null 2>&1 || missing+=(npm)
# the browser tests of `dgm serve` drive headless Chromium through Selenium
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "dgm: missing system packages: ${missing[*]}" >&2
    echo "dgm: run as root:  apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "dgm: missing system packages (${missing[*]}) and no apt-get here: install them with your package manager" >&2
    exit 1
fi
echo "dgm: installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q "${missing[@]}" >/dev/null
