"""The forge's workflow (.github/workflows/*.yml), checked here so that a broken one fails before it
reaches the forge: valid against GitHub's own workflow schema (check-jsonschema's copy, offline:
nothing is downloaded), every script a step runs exists, and the matrix is the one
docs/guide/platforms.md describes (Linux, Windows, Apple-silicon macOS; Python 3.11; CPU PyTorch)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
BUILD = ROOT / ".github" / "workflows" / "build.yml"
# Any attempt to reach the network fails at once (check-jsonschema's downloads honour these).
OFFLINE = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}


def check_jsonschema(*files: Path) -> subprocess.CompletedProcess:
    exe = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    assert exe, "check-jsonschema is missing: it is in the [dev] extra (bash scripts/setup.sh)"
    env = {**os.environ, **OFFLINE, "http_proxy": OFFLINE["HTTP_PROXY"], "https_proxy": OFFLINE["HTTPS_PROXY"]}
    return subprocess.run([exe, "--builtin-schema", "vendor.github-workflows", *map(str, files)],
                          capture_output=True, text=True, timeout=120, env=env)


def steps() -> list[dict]:
    doc = YAML(typ="safe").load(BUILD.read_text("utf-8"))
    return [step for job in doc["jobs"].values() for step in job["steps"]]


def test_the_workflows_are_valid_against_githubs_schema_offline():
    assert WORKFLOWS == [BUILD]
    proc = check_jsonschema(*WORKFLOWS)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "validation done" in proc.stdout


def test_a_broken_workflow_is_caught(tmp_path):
    """The check has teeth: a step that both runs and uses, and a job without runs-on, fail it."""
    broken = tmp_path / "broken.yml"
    text = BUILD.read_text("utf-8").replace("    runs-on: ${{ matrix.os }}\n", "")
    broken.write_text(text.replace("        run: bash scripts/setup.sh",
                                   "        run: bash scripts/setup.sh\n        uses: actions/checkout@v4"), "utf-8")
    proc = check_jsonschema(broken)
    assert proc.returncode != 0 and "broken.yml" in proc.stdout + proc.stderr


def test_every_script_a_step_runs_exists_and_every_action_is_pinned():
    ran = []
    for step in steps():
        if "uses" in step:
            assert re.fullmatch(r"actions/[\w-]+@v\d+", step["uses"]), step["uses"]
        for path in re.findall(r"\bscripts/[\w./-]+", step.get("run", "")):
            assert (ROOT / path).is_file(), f"the step {step.get('name')!r} runs {path}, which does not exist"
            ran.append(path)
    assert {"scripts/setup.sh", "scripts/test.sh", "scripts/build.sh", "scripts/smoke_bundle.sh"} <= set(ran)
    assert (ROOT / "studio.spec").is_file()


def test_the_matrix_the_guide_promises():
    doc = YAML(typ="safe").load(BUILD.read_text("utf-8"))
    job = doc["jobs"]["build"]
    include = job["strategy"]["matrix"]["include"]
    assert [m["os"] for m in include] == ["ubuntu-latest", "windows-latest", "macos-14"]
    torch = {m["os"]: m["torch"] for m in include}
    assert all("/whl/cpu" in torch[os_] for os_ in ("ubuntu-latest", "windows-latest"))
    assert "--index-url" not in torch["macos-14"]  # PyPI's arm64 wheel
    assert job["env"]["WGAN_TORCH"] == "${{ matrix.torch }}"  # the documented variable of scripts/setup.sh
    python = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python"))
    assert python["with"]["python-version"] == "3.11"
    tests = next(s for s in job["steps"] if "scripts/test.sh" in s.get("run", ""))
    assert '-m "not bundle"' in tests["run"]
    upload = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact"))
    build_sh = (ROOT / "scripts" / "build.sh").read_text("utf-8")
    for ext, system in (("tar.gz", "linux"), ("zip", "windows-x64"), ("dmg", "macos")):
        assert f"dist/WGANStudio-*.{ext}" in upload["with"]["path"]
        assert re.search(rf"WGANStudio-\$version-{system}.*\.{re.escape(ext)}\"", build_sh), ext


@pytest.mark.parametrize("marker", ["linux_only", "posix_only"])
def test_the_platform_markers_are_declared(marker):
    """The suite skips what a system lacks by these markers (tests/conftest.py)."""
    text = (ROOT / "pyproject.toml").read_text("utf-8")
    assert f'"{marker}(reason):' in text
