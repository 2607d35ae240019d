#!/usr/bin/env bash
# Install everything Tingyin needs on Debian 12: system packages and the .venv.
#
#   scripts/setup.sh                 system packages + .venv (everything in requirements.lock)
#   scripts/setup.sh --test          the same, plus what the browser tests need (Debian's
#                                    chromium, a CJK font for legible screenshots), and check
#                                    the test tools are there
#   scripts/setup.sh --with-browser  only add the browser packages (kept as an alias)
#
# Idempotent and fast when nothing is missing: apt runs only for missing packages, and the
# pip steps are skipped while .venv/.installed-<sha256 of requirements.lock + pyproject.toml>
# exists. Set PYTHON to choose the interpreter for the venv (default: python3, >= 3.11).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

with_test=0
with_browser=0
for arg in "$@"; do
    case "$arg" in
        --test) with_test=1 ;;
        --with-browser) with_browser=1 ;;
        -h | --help)
            sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "setup.sh: unknown argument: $arg" >&2
            exit 2
            ;;
    esac
done

log() { echo "setup: $*" >&2; }

PYTHON="${PYTHON:-python3}"
VENV=.venv

# --- Debian packages ---------------------------------------------------------------------
# sip-tester (SIPp) and kamailio: SIP load/proxy; espeak-ng + sox: synthetic caller audio;
# postgresql: server binaries for the throwaway test cluster (tests/pgcluster.py). Debian
# creates and may start its own "main" cluster on 5432; we never use it and it does not get
# in the way (the tests pick a free port).
# fonts-noto-cjk: the report charts' and word cloud's Chinese (and the screenshots').
packages=(sip-tester kamailio espeak-ng sox postgresql fonts-noto-cjk)
# Browser tests (tests/e2e): Playwright drives Debian's chromium (never its own downloads).
if ((with_test || with_browser)); then
    packages+=(chromium)
fi
if ! command -v "$PYTHON" >/dev/null 2>&1; then
    packages+=(python3 python3-venv)
elif [[ ! -x "$VENV/bin/python" ]] && ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
    # Debian's own python3 ships without ensurepip; python3-venv brings it.
    packages+=(python3-venv)
fi

is_installed() {
    local status
    status="$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)"
    [[ "$status" == "install ok installed" ]]
}

missing=()
for pkg in "${packages[@]}"; do
    is_installed "$pkg" || missing+=("$pkg")
done

if ((${#missing[@]})); then
    log "installing Debian packages: ${missing[*]}"
    sudo=()
    if ((EUID != 0)); then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            log "not root and no sudo: install these as root: ${missing[*]}"
            exit 1
        fi
    fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# --- Python virtualenv ---------------------------------------------------------------------
if [[ ! -x "$VENV/bin/python" ]]; then
    if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        log "$PYTHON is $("$PYTHON" -V 2>&1); Tingyin needs Python >= 3.11 (set PYTHON=...)"
        exit 1
    fi
    log "creating $VENV with $("$PYTHON" -V 2>&1)"
    "$PYTHON" -m venv "$VENV"
fi

stamp="$VENV/.installed-$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)"
if [[ ! -e "$stamp" ]]; then
    log "installing requirements.lock and tingyin (editable) into $VENV"
    rm -f "$VENV"/.installed-*
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements.lock
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps -e .
    touch "$stamp"
fi

if ((with_test)); then
    # The lock is one file with the test tools in it; this only checks that they are there.
    for tool in pytest ruff mypy; do
        if [[ ! -x "$VENV/bin/$tool" ]]; then
            log "$VENV/bin/$tool is missing; remove $VENV and run this again"
            exit 1
        fi
    done
fi

log "ready"
