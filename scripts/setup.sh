#!/usr/bin/env bash
# Create .venv (if missing) and install PyTorch, then WGAN Studio with its test tools and
# PyInstaller (the [dist] extra: the packaged build is part of the test suite).
# Re-running is cheap: nothing is reinstalled unless pyproject.toml or WGAN_TORCH changed.
#
#   WGAN_TORCH   pip requirement for PyTorch (default: torch==2.13.0, the CPU wheel).
#                e.g. WGAN_TORCH="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu126"
#   WGAN_PYTHON  interpreter used to create the venv (default: python3.11, else python3;
#                the forge's workflow sets it to the Python that actions/setup-python installed)
#   WGAN_VENV    where the venv lives (default: .venv in the repository)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${WGAN_VENV:-$root/.venv}"
torch_req="${WGAN_TORCH:-torch==2.13.0}"

# The venv's interpreter: bin/python on Linux and macOS, Scripts/python.exe on Windows (Git Bash).
venv_python() { if [ -x "$venv/Scripts/python.exe" ]; then echo "$venv/Scripts/python.exe"; else echo "$venv/bin/python"; fi; }
if [ ! -x "$(venv_python)" ]; then
    py="${WGAN_PYTHON:-}"
    if [ -z "$py" ]; then
        if command -v python3.11 >/dev/null 2>&1; then py=python3.11; else py=python3; fi
    fi
    if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        echo "error: WGAN Studio needs Python >= 3.11; '$py' is $("$py" --version 2>&1)." >&2
        echo "       Set WGAN_PYTHON to a Python 3.11+ interpreter." >&2
        exit 2
    fi
    echo "Creating virtual environment in $venv (with $py)" >&2
    "$py" -m venv "$venv"
fi

stamp="$venv/.wgan-studio-installed"
extras="dev,dist"
py="$(venv_python)"
# sha256 of pyproject.toml by Python: sha256sum is not on every system (macOS has shasum)
want="$("$py" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest()[:16])' \
    "$root/pyproject.toml") $torch_req [$extras]"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "Installing PyTorch ($torch_req) and WGAN Studio into $venv" >&2
    "$py" -m pip install -q --disable-pip-version-check --upgrade pip
    # torch first and pinned: an unpinned torch pulled in by the project would be a CUDA build.
    # shellcheck disable=SC2086
    "$py" -m pip install -q --disable-pip-version-check $torch_req
    # from the checkout's folder: a relative path reaches pip unchanged under Git Bash on Windows too
    (cd "$root" && "$py" -m pip install -q --disable-pip-version-check -e ".[$extras]")
    echo "$want" > "$stamp"
fi
