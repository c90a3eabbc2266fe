#!/usr/bin/env bash
# Set everything up (first time only) and run the whole test suite. Extra arguments go to pytest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh"
venv="${WGAN_VENV:-$root/.venv}"
cd "$root"
exec "$venv/bin/python" -m pytest "$@"
