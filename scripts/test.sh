#!/usr/bin/env bash
# Set everything up (first time only) and run the whole test suite. Extra arguments go to pytest
# (which then runs what they select, without the packaged build unless they say -m bundle).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh"
venv="${WGAN_VENV:-$root/.venv}"
cd "$root"
if [ $# -gt 0 ]; then
    exec "$venv/bin/python" -m pytest "$@"
fi
# No arguments: the main suite, then the packaged build (tests/bundle, marker "bundle": builds the
# PyInstaller bundle once, ~4 min on 2 cores, and runs it). Both run even if the first fails.
status=0
"$venv/bin/python" -m pytest -m "not bundle" || status=$?
"$venv/bin/python" -m pytest -m bundle -raP tests/bundle || { rc=$?; [ "$status" -ne 0 ] || status=$rc; }
exit "$status"
