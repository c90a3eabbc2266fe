"""The continuation cases both front ends are tested with (engine.continuation is the one rule):
``tests/test_continuation.py`` drives ``wgan-train --resume`` with them, the studio's tests drive
Start on an opened run folder. Same inputs, same answers.

Each case: the run folder (``"done"``: a tiny toy run that trained its 4 iterations, checkpoints
at 2 and 4; ``"damaged"``: the same with every checkpoint overwritten), the changes asked for
("section.key": value; the CLI passes train.iterations as --iters, train.device as --device, the
rest as --set; the studio types them into its form), whether the run continues, and a fragment of
the one sentence both front ends show."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from engine import Trainer
from tests.helpers import tiny_config

DONE_ITERS = 4


@dataclass(frozen=True)
class Case:
    name: str
    folder: str
    changes: dict = field(default_factory=dict)
    possible: bool = False
    says: str = ""
    edits: dict = field(default_factory=dict)


CASES = [
    Case("nothing left", "done", {}, False, "has done 4 of its 4 iterations"),
    Case("fewer iterations", "done", {"train.iterations": 3}, False, "raise train.iterations"),
    Case("more iterations", "done", {"train.iterations": 6}, True, "from generator iteration 4"),
    Case("a live parameter", "done", {"train.iterations": 6, "optimiser.lr_critic": 5e-5}, True, "α_D = 5e-05",
         {"lr_critic": 5e-5}),
    Case("the penalty weight", "done", {"train.iterations": 6, "objective.gp_lambda": 1.0}, True, "λ = 1",
         {"gp_lambda": 1.0}),
    Case("the device", "done", {"train.iterations": 6, "train.device": "auto"}, True, "on device 'auto'"),
    Case("the network", "done", {"train.iterations": 6, "model.hidden": 48}, False, "model.hidden"),
    Case("the seed", "done", {"train.iterations": 6, "train.seed": 3}, False, "train.seed"),
    Case("no checkpoint loads", "damaged", {"train.iterations": 6}, False, "no checkpoint of it loads"),
]


def make_folder(kind: str, where: Path, cache: dict) -> Path:
    """A fresh copy of run folder ``kind`` at ``where`` (trained once per ``cache``)."""
    if "done" not in cache:
        src = where.parent / "continuation-source"
        cfg = tiny_config(train__iterations=DONE_ITERS, train__checkpoint_every=2, train__eval_every=0,
                          train__sample_every=0)
        Trainer(cfg, src).run()
        cache["done"] = src
    shutil.copytree(cache["done"], where)
    if kind == "damaged":
        for p in (where / "checkpoints").glob("*.pt"):
            p.write_bytes(b"not a checkpoint")
    return where
