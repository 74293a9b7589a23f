#!/usr/bin/env bash
# Install everything repo-explorer needs on a fresh Debian machine: the Python package with its
# test extras, and Debian's chromium for the browser tests (playwright cannot download browsers
# here, so the tests drive /usr/bin/chromium). Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    echo "setup: installing Debian chromium (for the browser tests)" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

echo "setup: installing repo-explorer and its test dependencies with pip" >&2
python3 -m pip install --quiet --disable-pip-version-check -e ".[test,notebook]"
