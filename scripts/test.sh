#!/usr/bin/env bash
# Set everything up (first time only) and run the whole test suite. Extra arguments go to pytest
# (which then runs what they select, without the packaged build unless they say -m bundle).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh"
venv="${WGAN_VENV:-$root/.venv}"
py="$venv/bin/python"
[ ! -x "$venv/Scripts/python.exe" ] || py="$venv/Scripts/python.exe"  # Windows (Git Bash)
cd "$root"
if [ $# -gt 0 ]; then
    exec "$py" -m pytest "$@"
fi
# No arguments: the main suite on up to 4 worker processes (pytest-xdist; WGAN_TEST_WORKERS to
# choose), and the packaged build beside it (tests/bundle, marker "bundle": builds the PyInstaller
# bundle once, ~3-4 min on 2 cores, and runs it). The build mostly waits on the disk and on
# PyInstaller's single-threaded analysis, so running the two together saves minutes on 2 cores.
# The bundle's output follows the main suite's; both run to the end even if one fails.
cores="$(nproc 2>/dev/null || echo 2)"
# as many workers as cores, up to 4 (a third worker on 2 cores measured slower: it slows the build)
workers="${WGAN_TEST_WORKERS:-$(( cores < 4 ? cores : 4 ))}"
bundle_log="$(mktemp "${TMPDIR:-/tmp}/wgan-bundle-tests.XXXXXX")"
trap 'rm -f "$bundle_log"' EXIT
# A last guard beside each test's own timeout (pyproject.toml): the whole run ends after
# WGAN_TEST_LIMIT_S seconds (default an hour, ~7 times what 2 cores take) with what it has, so a
# CI that allows 90 minutes always gets a report. GNU timeout where there is one (not on macOS).
limit="${WGAN_TEST_LIMIT_S:-3600}"
limited=()
if command -v timeout >/dev/null 2>&1; then
    limited=(timeout --signal=INT --kill-after=60 "$limit")
fi
start=$SECONDS
${limited[@]+"${limited[@]}"} "$py" -m pytest -m bundle -raP tests/bundle >"$bundle_log" 2>&1 &
bundle_pid=$!
status=0
${limited[@]+"${limited[@]}"} "$py" -m pytest -m "not bundle" -n "$workers" --dist worksteal --durations=12 || status=$?
[ "$status" -ne 124 ] || echo "main suite: stopped after WGAN_TEST_LIMIT_S=$limit s"
echo "main suite: $(( SECONDS - start )) s"
rc=0
wait "$bundle_pid" || rc=$?
echo "================================ packaged build (tests/bundle, run beside the main suite)"
cat "$bundle_log"
echo "packaged build: $(( SECONDS - start )) s from the start of both"
[ "$status" -ne 0 ] || status=$rc
exit "$status"
