#!/usr/bin/env bash
# Add WGAN Studio to the desktop's application menu for the current user (no root needed):
# ~/.local/share/applications/wgan-studio.desktop and the 256x256 icon in the hicolor theme.
#
#   bash scripts/install_desktop_entry.sh [EXECUTABLE]
#
# EXECUTABLE defaults to WGANStudio beside this script (a packaged build carries this script as
# install-desktop-entry.sh), else the checkout's .venv/bin/wgan-studio. --uninstall removes both.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
data="${XDG_DATA_HOME:-$HOME/.local/share}"
entry="$data/applications/wgan-studio.desktop"
icon="$data/icons/hicolor/256x256/apps/wgan-studio.png"

if [ "${1:-}" = "--uninstall" ]; then
    rm -f "$entry" "$icon"
    echo "removed $entry and $icon"
    exit 0
fi

exe="${1:-}"
if [ -z "$exe" ]; then
    if [ -x "$here/WGANStudio" ]; then exe="$here/WGANStudio"; else exe="$here/../.venv/bin/wgan-studio"; fi
fi
if [ ! -x "$exe" ]; then
    echo "error: $exe is not an executable; pass the WGANStudio (or wgan-studio) to start" >&2
    exit 2
fi
exe="$(cd "$(dirname "$exe")" && pwd)/$(basename "$exe")"

# The bundled resources: inside a packaged build (_internal/resources) or a checkout (resources).
res=""
for d in "$(dirname "$exe")/_internal/resources" "$here/_internal/resources" "$here/../resources"; do
    if [ -f "$d/wgan-studio.desktop" ]; then res="$d"; break; fi
done
if [ -z "$res" ]; then
    echo "error: cannot find wgan-studio.desktop next to $exe or this script" >&2
    exit 2
fi

# Exec takes a quoted argument: escape \ " ` $ inside the quotes, then every \ once more (a
# desktop entry's string values treat \ as an escape themselves).
quoted="$exe"
quoted="${quoted//\\/\\\\}"; quoted="${quoted//\"/\\\"}"; quoted="${quoted//\`/\\\`}"; quoted="${quoted//\$/\\\$}"
quoted="${quoted//\\/\\\\}"
mkdir -p "$(dirname "$entry")" "$(dirname "$icon")"
cp "$res/icons/app.png" "$icon"
tmp="$entry.tmp.$$"
while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in
        Exec=*) printf 'Exec="%s" %%f\n' "$quoted" ;;
        TryExec=*) printf 'TryExec=%s\n' "${exe//\\/\\\\}" ;;
        *) printf '%s\n' "$line" ;;
    esac
done < "$res/wgan-studio.desktop" > "$tmp"
mv "$tmp" "$entry"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$data/applications" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$data/icons/hicolor" || true
echo "installed $entry (Exec: $exe) and $icon"
