#!/usr/bin/env bash
# Print the end of the studio's log (where each system keeps it: docs/guide/install.md).
#
#   bash scripts/show_log.sh [LINES]      (default: 200)
set -uo pipefail
case "$(uname -s)" in
    Darwin*) base="$HOME/Library/Application Support" ;;
    MINGW*|MSYS*|CYGWIN*) base="${LOCALAPPDATA:-$HOME/AppData/Local}" ;;
    *) base="${XDG_DATA_HOME:-$HOME/.local/share}" ;;
esac
log="$base/WGAN Studio/WGAN Studio/logs/studio.log"
if [ -f "$log" ]; then
    echo "== $log"
    tail -n "${1:-200}" "$log"
else
    echo "no log at $log"
fi
