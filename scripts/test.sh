#!/usr/bin/env bash
# Set up (see setup.sh) and run the whole test suite in the project's .venv: unit, real-file,
# registry (PostgreSQL), remote (Butler server), hosting (nginx) and browser tests. Each test starts
# and stops the servers it needs, on 127.0.0.1.
#
# The modules run in parallel (pytest-xdist): REPO_EXPLORER_TEST_WORKERS processes (default 3: on
# two cores most of a browser or server test is waiting), each module whole on one worker
# (`--dist loadfile`: its module fixtures are built once), the longest modules first (their order
# is set in tests/conftest.py). REPO_EXPLORER_TEST_WORKERS=0 runs everything in this one process.
# Arguments go to pytest after these options, so they can override them (`-n 0`, `-x`, a path).
# pytest's exit code 5 ("no tests collected") is a failure here, never a silent pass.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
workers="${REPO_EXPLORER_TEST_WORKERS:-3}"
.venv/bin/python -m pytest -n "$workers" --dist loadfile --no-loadscope-reorder "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
    echo "test.sh: pytest collected no tests: failing" >&2
    exit 1
fi
exit "$rc"
