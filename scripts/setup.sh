#!/usr/bin/env bash
# Install everything repo-explorer needs on a fresh Debian machine, into the project's own
# virtual environment `.venv` (made with a Python >= 3.12: lsst-images, the reader of Rubin's
# current image format, needs it):
#   * Debian packages: chromium (browser tests; playwright cannot download browsers here),
#     postgresql (the registry tests start their own server on 127.0.0.1) and nginx (the
#     multi-process hosting test starts its own reverse proxy on 127.0.0.1);
#   * the Python package with its test, notebook and benchmark extras.
# Safe to run again: it skips what is already there. Nothing is started here: each test starts
# (and stops) the servers it needs.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(chromium postgresql nginx)
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    echo "setup: installing Debian ${missing[*]} (of ${DEBIAN_PACKAGES[*]})" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
    # the packaged services are not used (tests start their own on loopback): keep them stopped
    $SUDO service nginx stop >/dev/null 2>&1 || true
    $SUDO service postgresql stop >/dev/null 2>&1 || true
fi

# A Python >= 3.12, 3.12 first (the version CI and the benchmarks use): on PATH, then one that
# pyenv has installed; then 3.13.
find_python() {
    local cand
    for cand in python3.12 "$HOME"/.pyenv/versions/3.12*/bin/python3 python3 \
                python3.13 "$HOME"/.pyenv/versions/3.13*/bin/python3; do
        if "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then
            command -v "$cand" 2>/dev/null || echo "$cand"
            return 0
        fi
    done
    return 1
}

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then
    PY=$(find_python) || { echo "setup: no Python >= 3.12 found (tried python3.13, python3.12, python3, pyenv)" >&2; exit 1; }
    echo "setup: making .venv with $PY ($("$PY" --version 2>&1))" >&2
    rm -rf .venv
    "$PY" -m venv .venv
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
fi

echo "setup: installing repo-explorer and its dependencies into .venv with pip" >&2
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test,notebook,bench]"
