#!/usr/bin/env bash
# Build the packaged studio with PyInstaller (studio.spec): dist/WGANStudio-<version>/WGANStudio.
#
#   bash scripts/build.sh [--distpath DIR] [--workpath DIR] [--archive] [--smoke-test]
#
#   --distpath DIR   where the bundle folder goes (default: dist)
#   --workpath DIR   PyInstaller's work folder (default: build)
#   --archive        also write DIR/WGANStudio-<version>-linux-x86_64.tar.gz
#   --smoke-test     then run the bundle's own smoke test (offscreen, 20 iterations, export)
#
# Sets up .venv first (scripts/setup.sh installs PyInstaller through the [dist] extra). Prints the
# build time and the bundle's size.
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
        -h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "error: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

bash "$root/scripts/setup.sh"
venv="${WGAN_VENV:-$root/.venv}"
# PyInstaller embeds the interpreter's shared library (libpython3.X.so): say so plainly if there is none.
if ! pylib="$("$venv/bin/python" -c 'from PyInstaller.depend.bindepend import get_python_library_path as f; print(f() or "")' 2>/dev/null)" \
        || [ -z "$pylib" ]; then
    echo "error: PyInstaller needs the shared Python library (libpython3.X.so) of $("$venv/bin/python" -c 'import sys; print(sys.executable, sys.version.split()[0])')," >&2
    echo "       and this interpreter has none. Use a Python built with --enable-shared (pyenv:" >&2
    echo "       PYTHON_CONFIGURE_OPTS=--enable-shared pyenv install 3.11; Debian/Ubuntu: apt-get install libpython3.11)," >&2
    echo "       then recreate the venv: rm -rf .venv && WGAN_PYTHON=/path/to/python3.11 bash scripts/setup.sh" >&2
    exit 2
fi
version="$("$venv/bin/python" -c 'import engine; print(engine.__version__)')"
bundle="$distpath/WGANStudio-$version"
mkdir -p "$distpath" "$workpath"
distpath="$(cd "$distpath" && pwd)"; workpath="$(cd "$workpath" && pwd)"; bundle="$distpath/WGANStudio-$version"

start=$(date +%s)
cd "$root"
"$venv/bin/python" -m PyInstaller --noconfirm --log-level WARN \
    --distpath "$distpath" --workpath "$workpath" studio.spec
cp "$root/scripts/install_desktop_entry.sh" "$bundle/install-desktop-entry.sh"
end=$(date +%s)

size_mb=$(du -sm "$bundle" | cut -f1)
echo "built $bundle in $((end - start)) s: ${size_mb} MiB on disk (du)"
echo "run it: \"$bundle/WGANStudio\"   (smoke test: add --smoke-test)"

if [ "$archive" = 1 ]; then
    tarball="$distpath/WGANStudio-$version-linux-$(uname -m).tar.gz"
    tar -C "$distpath" -czf "$tarball" "WGANStudio-$version"
    echo "archive $tarball: $(du -sm "$tarball" | cut -f1) MiB"
fi
if [ "$smoke" = 1 ]; then
    QT_QPA_PLATFORM=offscreen "$bundle/WGANStudio" --smoke-test
fi
