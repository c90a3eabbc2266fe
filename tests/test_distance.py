"""Example 1 of the WGAN paper (parallel lines): the critic's estimates against the closed forms."""

from __future__ import annotations

import json
import math

import pytest

from engine import distance as lab
from engine.cli import distance_main

FAST = dict(steps=250, batch=128, hidden=64, eval_points=2048)


def test_closed_forms_of_example_1():
    assert lab.closed_forms(-1.5) == {"w_exact": 1.5, "js": math.log(2), "kl": math.inf, "tv": 1.0}
    assert lab.closed_forms(0.0) == {"w_exact": 0.0, "js": 0.0, "kl": 0.0, "tv": 0.0}


@pytest.mark.parametrize("theta", [0.5, 1.0, 2.0])
def test_gradient_penalty_critic_estimates_w_within_ten_percent(theta):
    r = lab.estimate(theta, lab.LabSettings(objective="wgan-gp", **FAST))
    assert r["w_exact"] == theta
    assert abs(r["w_estimate"] - theta) <= 0.1 * theta, r
    # the generator at theta is pushed towards 0 with a slope near 1: the useful gradient of W
    assert 0.8 < r["grad_theta"] < 1.2, r


def test_gradient_penalty_estimate_is_symmetric_in_theta():
    r = lab.estimate(-1.0, lab.LabSettings(objective="wgan-gp", **FAST))
    assert abs(r["w_estimate"] - 1.0) <= 0.1 and r["grad_theta"] < -0.8


def test_gan_discriminator_saturates_at_log2_with_vanishing_gradient():
    near, far = (lab.estimate(t, lab.LabSettings(objective="gan", **FAST)) for t in (0.5, 2.0))
    for r in (near, far):
        assert r["js_estimate"] == pytest.approx(math.log(2), abs=0.01), r
        assert abs(r["grad_theta"]) < 0.01, r  # flat: no gradient towards theta = 0
    # the W estimate of the same run is meaningless: it is not proportional to theta
    assert abs(far["js_estimate"] - near["js_estimate"]) < 0.01


def test_clipped_critic_estimate_is_proportional_to_theta():
    s = lab.LabSettings(objective="wgan-clip", **FAST)
    a, b = lab.estimate(0.5, s), lab.estimate(2.0, s)
    assert 0 < a["w_estimate"] < 0.5 * 0.05, "a clipped critic (c = 0.01) is far below 1-Lipschitz"
    assert b["w_estimate"] / a["w_estimate"] == pytest.approx(4.0, rel=0.25)


def test_cli_json_and_bad_input(capsys, tmp_path):
    assert distance_main(["--theta", "1", "--steps", "300", "--hidden", "64", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"theta", "w_estimate", "w_exact", "js", "kl", "tv"}
    assert out["theta"] == 1.0 and out["w_exact"] == 1.0 and out["tv"] == 1.0 and math.isinf(out["kl"])
    assert out["js"] == pytest.approx(math.log(2)) and abs(out["w_estimate"] - 1) < 0.1

    assert distance_main(["--theta", "1", "--steps", "0"]) == 2
    assert "steps = 0" in capsys.readouterr().err
    assert distance_main(["--sweep", "0.5,1", "--steps", "20", "--out", str(tmp_path / "t.txt")]) == 2
    assert ".csv and .json" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        distance_main(["--sweep", "a:b"])
    assert "START:STOP:COUNT" in capsys.readouterr().err


def test_cli_sweep_writes_a_table(capsys, tmp_path):
    out = tmp_path / "sweep.csv"
    assert distance_main(["--sweep=-1:1:3", "--steps", "50", "--hidden", "32", "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0].startswith("theta,objective,estimate") and len(lines) == 4
    assert [float(line.split(",")[0]) for line in lines[1:]] == [-1.0, 0.0, 1.0]
    assert "slope of the estimate" in capsys.readouterr().out
