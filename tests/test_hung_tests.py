"""The suite's guard against a test that never returns: CI must end with that test failed and
its stacks shown, not wait out its 90 minutes (a modal dialog once held a whole run)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

HANGING = '''
import threading
import pytest

def wait_for_a_click_that_never_comes():
    threading.Event().wait()

@pytest.mark.timeout(8)
def test_hangs():
    wait_for_a_click_that_never_comes()

def test_beside_it():
    assert True
'''


@pytest.mark.posix_only("worker processes and faulthandler's timer as on CI")
def test_a_hung_test_fails_with_its_stacks_and_the_run_goes_on(tmp_path):
    (tmp_path / "test_probe.py").write_text(HANGING)
    env = {k: v for k, v in os.environ.items() if k != "WGAN_TEST_HANGS_DIR"}   # this run's own folder
    env["PYTHONPATH"] = str(ROOT)
    args = ["-p", "tests.conftest", "-n", "2", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
            "-c", str(ROOT / "pyproject.toml"), str(tmp_path / "test_probe.py")]   # the suite's own settings
    out = subprocess.run([sys.executable, "-m", "pytest", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=240, stdin=subprocess.DEVNULL)
    text = out.stdout + out.stderr
    assert out.returncode == 1, text
    assert "1 failed, 1 passed" in text, text
    assert "test_probe.py::test_hangs ran past its timeout of 8 s" in text, text
    assert "wait_for_a_click_that_never_comes" in text, text   # the stack says where it hung
