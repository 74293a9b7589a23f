#!/usr/bin/env bash
# Set up (see setup.sh) and run the whole test suite in the project's .venv: unit, real-file,
# registry (PostgreSQL), remote (Butler server), hosting (nginx) and browser tests. Each test starts
# and stops the servers it needs, on 127.0.0.1.
# pytest's exit code 5 ("no tests collected") is a failure here, never a silent pass.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
.venv/bin/python -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
    echo "test.sh: pytest collected no tests: failing" >&2
    exit 1
fi
exit "$rc"
