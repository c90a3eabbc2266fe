"""Continuing a run: the engine's rule (engine.continuation) and wgan-train --resume, case by case
(tests/continuation_cases.py; the studio's Start is tested with the same cases)."""

from __future__ import annotations

import pytest

from engine import read_events, read_metrics
from engine.continuation import continuation_config, plan_continuation, resume_wanted
from engine.run_report import inspect_run
from tests.continuation_cases import CASES, DONE_ITERS, make_folder
from tests.test_cli import run_cli

_CACHE: dict = {}


def _cli_args(changes: dict) -> list[str]:
    args = []
    for dotted, value in changes.items():
        if dotted == "train.iterations":
            args += ["--iters", str(value)]
        elif dotted == "train.device":
            args += ["--device", str(value)]
        else:
            args += ["--set", f"{dotted}={value}"]
    return args


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_wgan_train_resume_follows_the_one_rule(case, tmp_path):
    run = make_folder(case.folder, tmp_path / "run", _CACHE)
    r = run_cli("wgan-train", "--resume", run, "--quiet", *_cli_args(case.changes))
    if not case.possible:
        assert r.returncode == 2, r.stderr
        assert case.says in r.stderr and r.stderr.startswith("error: ")
        return
    assert r.returncode == 0, r.stderr
    total = case.changes["train.iterations"]
    assert read_metrics(run / "metrics.csv")["gen_iter"][-1] == total
    edits = {e["key"]: e["new"] for e in read_events(run / "events.jsonl") if e["type"] == "edit"}
    assert edits == case.edits  # the changed live values, logged as edits at the first iteration


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_the_plan_says_the_same_sentence(case, tmp_path):
    run = make_folder(case.folder, tmp_path / "run", _CACHE)
    report = inspect_run(run)
    wanted = continuation_config(report)
    for dotted, value in case.changes.items():
        section, key = dotted.split(".")
        setattr(getattr(wanted, section), key, value)
    plan = plan_continuation(report, wanted)
    assert plan.possible == case.possible and case.says in plan.message
    assert plan.edits == case.edits
    if plan.possible:
        assert (plan.from_iter, plan.to_iter) == (DONE_ITERS, case.changes["train.iterations"])


def test_a_live_edit_made_during_the_run_is_what_it_continues_with(tmp_path):
    """The form (and --set) start from the values the run would continue with, edits included: a
    value put back to the configuration's original after an edit is an edit too."""
    run = make_folder("done", tmp_path / "run", _CACHE)
    r = run_cli("wgan-train", "--resume", run, "--quiet", "--iters", "6", "--set", "optimiser.lr_critic=5e-5")
    assert r.returncode == 0, r.stderr
    report = inspect_run(run)
    assert continuation_config(report).optimiser.lr_critic == 5e-5
    original = report.config.optimiser.lr_critic
    plan = plan_continuation(report, resume_wanted(report, iterations=8,
                                                   overrides=[f"optimiser.lr_critic={original}"]))
    assert plan.possible and plan.edits == {"lr_critic": original}
