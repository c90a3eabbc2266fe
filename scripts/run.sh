#!/usr/bin/env bash
# Set everything up (first time only) and open WGAN Studio on the default preset (toy-wgan-gp).
# Extra arguments go to the studio, e.g. a config file or a run folder.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh"
venv="${WGAN_VENV:-$root/.venv}"
bin="$venv/bin"
[ ! -d "$venv/Scripts" ] || bin="$venv/Scripts"  # Windows (Git Bash)
if [ -x "$bin/wgan-studio" ] || [ -x "$bin/wgan-studio.exe" ]; then
    exec "$bin/wgan-studio" "$@"
fi
# Before the studio existed, the quick start trained the default preset headless.
exec "$bin/wgan-train" --preset toy-wgan-gp --out "${WGAN_RUNS:-$root/runs}/quickstart-$(date +%Y%m%d-%H%M%S)" "$@"
