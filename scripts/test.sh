#!/usr/bin/env bash
# Lint, type-check and run the test suite with the project's .venv (made by scripts/setup.sh).
# Extra arguments go to pytest:  scripts/test.sh -k postgres -x
# Every step runs even if an earlier one fails, so one run shows all problems; the exit
# status is non-zero if any step failed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

VENV=.venv
if [[ ! -x "$VENV/bin/pytest" ]]; then
    echo "test.sh: $VENV/bin/pytest not found; run scripts/setup.sh --test (or make test)" >&2
    exit 1
fi
export PATH="$PWD/$VENV/bin:$PATH"

failed=()
step() {
    echo "==> $*" >&2
    if ! "$@"; then
        failed+=("$*")
    fi
}

step ruff check .
step ruff format --check .
step mypy
step pytest -q -ra --durations=15 "$@"

if ((${#failed[@]})); then
    echo "FAILED:" >&2
    printf '  %s\n' "${failed[@]}" >&2
    exit 1
fi
echo "all checks passed" >&2
