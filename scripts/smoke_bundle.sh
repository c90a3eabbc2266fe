#!/usr/bin/env bash
# Run the built bundle's own checks, offscreen (no display needed): --smoke-test (train 20
# iterations, export a grid, check it) and --quit-after-shown (the start-up check: the main window
# is shown, then it exits 0). What is shipped is checked: the .app on macOS, the folder elsewhere.
#
#   bash scripts/smoke_bundle.sh [--distpath DIR]      (after scripts/build.sh; default: dist)
#
# The windowed build prints nothing on Windows: a failure shows as the exit status, and
# scripts/show_log.sh prints the studio's log.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
distpath="$root/dist"
if [ "${1:-}" = "--distpath" ]; then distpath="$2"; fi
version="$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$root/engine/__init__.py")"
case "$(uname -s)" in
    Darwin*) exe="$distpath/WGANStudio.app/Contents/MacOS/WGANStudio" ;;
    MINGW*|MSYS*|CYGWIN*) exe="$distpath/WGANStudio-$version/WGANStudio.exe" ;;
    *) exe="$distpath/WGANStudio-$version/WGANStudio" ;;
esac
if [ ! -x "$exe" ]; then
    echo "error: no bundle at $exe: build it first (bash scripts/build.sh)" >&2
    exit 2
fi
export QT_QPA_PLATFORM=offscreen
echo "smoke test: $exe --smoke-test"
"$exe" --smoke-test
echo "start-up check: $exe --quit-after-shown"
"$exe" --quit-after-shown
echo "the bundle passed its smoke test and start-up check"
