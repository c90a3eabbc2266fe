#!/usr/bin/env bash
# Build the packaged studio with PyInstaller (studio.spec): dist/WGANStudio-<version>/WGANStudio
# (WGANStudio.exe on Windows; on macOS also dist/WGANStudio.app).
#
#   bash scripts/build.sh [--distpath DIR] [--workpath DIR] [--archive] [--smoke-test]
#
#   --distpath DIR   where the bundle folder goes (default: dist)
#   --workpath DIR   PyInstaller's work folder (default: build)
#   --archive        also write the archive a user downloads, in DIR: WGANStudio-<version>-<system>.<ext>
#                    (linux-x86_64.tar.gz, windows-x64.zip, macos-arm64.dmg holding WGANStudio.app)
#   --smoke-test     then run the bundle's own checks (scripts/smoke_bundle.sh, offscreen):
#                    --smoke-test (20 iterations, an export) and --quit-after-shown (the start-up check)
#
# Sets up .venv first (scripts/setup.sh installs PyInstaller through the [dist] extra). Prints the
# build time and the bundle's size. Runs on Linux, macOS and Windows (Git Bash); the forge's
# workflow .github/workflows/build.yml runs exactly this on each (docs/guide/platforms.md).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
distpath="$root/dist"
workpath="$root/build"
archive=0
smoke=0
while [ $# -gt 0 ]; do
    case "$1" in
        --distpath) distpath="$2"; shift 2 ;;
        --workpath) workpath="$2"; shift 2 ;;
        --archive) archive=1; shift ;;
        --smoke-test) smoke=1; shift ;;
        -h|--help) sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "error: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

case "$(uname -s)" in
    Linux*) system=linux ;;
    Darwin*) system=macos ;;
    MINGW*|MSYS*|CYGWIN*) system=windows ;;
    *) echo "error: unknown system $(uname -s): the studio builds on Linux, macOS and Windows" >&2; exit 2 ;;
esac

bash "$root/scripts/setup.sh"
venv="${WGAN_VENV:-$root/.venv}"
if [ -x "$venv/Scripts/python.exe" ]; then py="$venv/Scripts/python.exe"; else py="$venv/bin/python"; fi
# PyInstaller embeds the interpreter's shared library (libpython3.X.so): say so plainly if there is none.
if ! pylib="$("$py" -c 'from PyInstaller.depend.bindepend import get_python_library_path as f; print(f() or "")' 2>/dev/null)" \
        || [ -z "$pylib" ]; then
    echo "error: PyInstaller needs the shared Python library (libpython3.X.so) of $("$py" -c 'import sys; print(sys.executable, sys.version.split()[0])')," >&2
    echo "       and this interpreter has none. Use a Python built with --enable-shared (pyenv:" >&2
    echo "       PYTHON_CONFIGURE_OPTS=--enable-shared pyenv install 3.11; Debian/Ubuntu: apt-get install libpython3.11)," >&2
    echo "       then recreate the venv: rm -rf .venv && WGAN_PYTHON=/path/to/python3.11 bash scripts/setup.sh" >&2
    exit 2
fi
version="$("$py" -c 'import engine; print(engine.__version__)')"
mkdir -p "$distpath" "$workpath"
distpath="$(cd "$distpath" && pwd)"; workpath="$(cd "$workpath" && pwd)"; bundle="$distpath/WGANStudio-$version"

start=$(date +%s)
cd "$root"
"$py" -m PyInstaller --noconfirm --log-level WARN \
    --distpath "$distpath" --workpath "$workpath" studio.spec
if [ "$system" = linux ]; then
    cp "$root/scripts/install_desktop_entry.sh" "$bundle/install-desktop-entry.sh"
fi
end=$(date +%s)

exe="$bundle/WGANStudio"
[ "$system" != windows ] || exe="$bundle/WGANStudio.exe"
size_mb=$(du -sm "$bundle" | cut -f1)
echo "built $bundle in $((end - start)) s: ${size_mb} MiB on disk (du)"
[ "$system" != macos ] || echo "and $distpath/WGANStudio.app"
echo "run it: \"$exe\"   (smoke test: add --smoke-test)"

if [ "$archive" = 1 ]; then
    case "$system" in
        linux)
            out="$distpath/WGANStudio-$version-linux-$(uname -m).tar.gz"
            tar -C "$distpath" -czf "$out" "WGANStudio-$version" ;;
        windows)
            out="$distpath/WGANStudio-$version-windows-x64.zip"
            "$py" -c 'import shutil, sys; shutil.make_archive(sys.argv[1][:-4], "zip", sys.argv[2], sys.argv[3])' \
                "$out" "$distpath" "WGANStudio-$version" ;;
        macos)
            out="$distpath/WGANStudio-$version-macos-$(uname -m).dmg"
            rm -f "$out"
            hdiutil create -volname "WGAN Studio" -srcfolder "$distpath/WGANStudio.app" -ov -format UDZO "$out" ;;
    esac
    echo "archive $out: $(du -sm "$out" | cut -f1) MiB"
fi
if [ "$smoke" = 1 ]; then
    bash "$root/scripts/smoke_bundle.sh" --distpath "$distpath"
fi
