"""The one rule for continuing a run, for every front end (``wgan-train --resume``, the studio's
Start, a queue).

A run continues in its own folder from the newest checkpoint that loads
(:func:`engine.run_report.prepare_resume`) when

- only ``train.iterations``, ``train.device`` and the live parameters (``engine.LIVE_KEYS``)
  differ from the run's configuration: anything else would train another model than the one in
  the checkpoint;
- iterations are left: the wanted total is above the checkpoint's generator iteration.

Live parameters that differ from the values the run would continue with (those in its
checkpoint: edits made during the run included) become logged edits at the first iteration, as
if made in the Steer panel or with ``wgan-ctl set``. :func:`plan_continuation` says whether and
how, with one sentence for the user; :func:`continue_run` does it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .config import LIVE_KEYS, LIVE_SYMBOLS, Config, apply_overrides
from .run_report import RunReport

#: What may differ from a run's configuration when it continues ("section.key").
MAY_CHANGE = ("train.iterations", "train.device", *(f"{s}.{k}" for s, k in LIVE_KEYS.values()))


@dataclass(frozen=True)
class Continuation:
    """Whether and how a run continues. ``message``: one sentence for the user, either way."""

    run_dir: Path
    possible: bool
    message: str
    checkpoint: Path | None = None
    from_iter: int = 0
    to_iter: int = 0
    edits: dict[str, float] = field(default_factory=dict)   # live parameters set at the first iteration
    device: str | None = None                                 # another device than the run's, if asked
    uses_fallback: bool = False                               # an older checkpoint than latest.pt


def continuation_config(report: RunReport) -> Config | None:
    """The run's configuration with the live values it would continue with (its checkpoint's,
    edits made during the run included): what a form shows for it, and what ``--set`` changes."""
    if report.config is None:
        return None
    cfg = report.config.copy()
    for key, (section, name) in LIVE_KEYS.items():
        if key in report.checkpoint_live:
            setattr(getattr(cfg, section), name, type(cfg.get(f"{section}.{name}"))(report.checkpoint_live[key]))
    return cfg


def resume_wanted(report: RunReport, *, iterations: int | None = None, device: str | None = None,
                  overrides: Sequence[str] = ()) -> Config | None:
    """What the command line asks for: the run's configuration (:func:`continuation_config`) with
    ``--iters``, ``--device`` and ``--set`` applied (ConfigError for a bad value)."""
    cfg = continuation_config(report)
    if cfg is None:
        return None
    items = list(overrides)
    if iterations is not None:
        items.append(f"train.iterations={iterations}")
    if device is not None:
        items.append(f'train.device="{device}"')
    return apply_overrides(cfg, items) if items else cfg


def _differences(a: dict, b: dict, prefix: str = "") -> list[str]:
    out = []
    for key in dict.fromkeys([*a, *b]):
        va, vb = a.get(key), b.get(key)
        if isinstance(va, dict) and isinstance(vb, dict):
            out += _differences(va, vb, f"{prefix}{key}.")
        elif va != vb:
            out.append(f"{prefix}{key}")
    return out


def _fmt(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def plan_continuation(report: RunReport, wanted: Config | None) -> Continuation:
    """Whether the run of ``report`` continues when ``wanted`` is asked for, and how."""
    name, folder = report.path.name, report.path
    if report.checkpoint is None:
        why = "; ".join(report.problems) if report.problems else "no checkpoint was written"
        return Continuation(folder, False, f"{name} cannot be continued: no checkpoint of it loads ({why})")
    if wanted is None or report.config is None:
        return Continuation(folder, False, f"{name} cannot be continued: its configuration cannot be read")
    changed = [k for k in _differences(report.config.to_dict(), wanted.to_dict()) if k not in MAY_CHANGE]
    if changed:
        return Continuation(folder, False, (
            f"the configuration differs from {name}'s in {', '.join(changed)}: only train.iterations, train.device "
            f"and the live parameters ({', '.join(LIVE_KEYS)}) may change to continue it"))
    start, total = report.checkpoint_iter, wanted.train.iterations
    if total <= start:
        return Continuation(folder, False, (
            f"{name} has done {start} of its {total} iterations: raise train.iterations (wgan-train --iters) above "
            f"{start} to continue it"), report.checkpoint, start, total)
    edits = {}
    for key, (section, field_name) in LIVE_KEYS.items():
        value = wanted.get(f"{section}.{field_name}")
        if value != report.checkpoint_live.get(key, report.config.get(f"{section}.{field_name}")):
            edits[key] = value
    device = wanted.train.device if wanted.train.device != report.config.train.device else None
    text = (f"continue {name} from generator iteration {start} ({report.rel(report.checkpoint)}) up to {total}, in "
            "the same folder")
    if edits:
        text += "; then " + ", ".join(f"{LIVE_SYMBOLS[k]} = {_fmt(v)}" for k, v in edits.items())
    if device is not None:
        text += f"; on device {device!r}"
    return Continuation(folder, True, text, report.checkpoint, start, total, edits, device, report.uses_fallback)


def continue_run(plan: Continuation, *, resume: Callable | None = None, **trainer_kwargs):
    """The trainer that continues ``plan``'s run (``Trainer.resume_run``, or ``resume`` with the
    same arguments, e.g. the distributed one); its edits are queued for the first iteration.
    ValueError when the plan says it cannot continue."""
    if not plan.possible:
        raise ValueError(plan.message)
    if resume is None:
        from .trainer import Trainer
        resume = Trainer.resume_run
    if plan.device is not None and "device" not in trainer_kwargs:
        from .device import pick_device
        trainer_kwargs["device"] = pick_device(plan.device)
    trainer = resume(plan.run_dir, iterations=plan.to_iter, **trainer_kwargs)
    if plan.edits:
        trainer.request_edit(**plan.edits)  # applied and logged at the first iteration
    return trainer
