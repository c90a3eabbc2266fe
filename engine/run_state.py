"""A run's checkpoint: what :meth:`engine.trainer.Trainer.state_dict` writes and
:meth:`~engine.trainer.Trainer.load_state` puts back.

A checkpoint (format :data:`engine.checkpoint.FORMAT_VERSION`) holds the configuration, the
generator iteration, both networks and the generator's moving average, both optimisers and the
gradient scalers, the live values, the run's RNG stream, the fixed batches, the edit log and the
active training time; the strategy adds its own keys (several processes: every rank's RNG,
``"dist"``). Everything needed to continue the run exactly where it was.

A state whose weights are NaN or infinite is never checkpointed (:func:`weights_finite`); when
such a failure stops a run, :func:`nonfinite_advice` says what it can continue from.
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch

from .build import CHECKPOINTED_BATCHES
from .checkpoint import FORMAT_VERSION, CheckpointError, load_checkpoint, save_checkpoint
from .config import Config, ConfigError, config_from_dict
from .rng import capture_rng, restore_rng
from .rundir import RunDir, checkpoint_config_source


def _on_cpu(t: torch.Tensor | None) -> torch.Tensor | None:
    return t.cpu() if t is not None else None


def capture_state(trainer) -> dict:
    """The checkpoint of ``trainer`` as it is now (tensors on the CPU)."""
    t = trainer
    state = {
        "format_version": FORMAT_VERSION,
        "config": t.config.to_dict(),
        "gen_iter": t.gen_iter,
        "sample_shape": list(t.data.shape),
        "num_classes": t.num_classes,
        "generator": t.generator.state_dict(),
        "generator_ema": t.ema.model.state_dict() if t.ema is not None else None,
        "critic": t.critic.state_dict(),
        "opt_generator": t.opt_generator.state_dict(),
        "opt_critic": t.opt_critic.state_dict(),
        "grad_scalers": t.amp.state_dict(),
        "hp": dict(t.hp),
        "rng": capture_rng(t.rng),
        **{k: _on_cpu(getattr(t, k)) for k in CHECKPOINTED_BATCHES},  # the fixed batches
        "edit_log": copy.deepcopy(t.edit_log),
        "elapsed_s": t.elapsed,
    }
    state.update(t.strategy.checkpoint_state(t.gen_iter))
    return state


def _load_weights(t, state: dict, source) -> None:
    try:
        t.generator.load_state_dict(state["generator"])
        t.critic.load_state_dict(state["critic"])
        t.opt_generator.load_state_dict(state["opt_generator"])
        t.opt_critic.load_state_dict(state["opt_critic"])
        # fp16's gradient scalers (absent from checkpoints of other precisions: fresh scalers)
        t.amp.load_state_dict(state.get("grad_scalers"))
        if t.ema is not None:
            if state.get("generator_ema") is not None:
                t.ema.model.load_state_dict(state["generator_ema"])
            else:  # written without an average (or by an older version): start one here
                t.ema.reset()
    except (RuntimeError, ValueError, KeyError) as e:
        raise CheckpointError(f"{source}: the weights do not fit the configured networks: "
                              f"{str(e).splitlines()[0]}") from None


def restore_state(trainer, state: dict, source="checkpoint") -> None:
    """Put ``trainer`` where ``state`` left it (CheckpointError when the weights do not fit its
    networks). The live values of the checkpoint apply; its configuration is not read here."""
    t = trainer
    _load_weights(t, state, source)
    t.gen_iter = int(state["gen_iter"])
    t.hp.update({k: v for k, v in state.get("hp", {}).items() if k in t.hp})
    t.set_learning_rates()
    restore_rng(state.get("rng", {}), t.rng)
    for key in CHECKPOINTED_BATCHES:
        if state.get(key) is not None:
            setattr(t, key, state[key].to(t.device))
    t.edit_log = [dict(e) for e in state.get("edit_log", [])]
    t.elapsed_s = float(state.get("elapsed_s", 0.0))
    t.recorder.restart_clock(t.gen_iter)
    t.strategy.load_state(t, state)


def write_checkpoint(state: dict, run_dir: RunDir, numbered: int | None = None) -> Path:
    """Write ``state`` as checkpoints/latest.pt, or with ``numbered`` (its generator iteration) as
    checkpoints/iter_NNNNNNN.pt linked as latest.pt. Returns latest.pt's path."""
    if numbered is not None:
        run_dir.link_latest(save_checkpoint(state, run_dir.checkpoint_path(numbered)))
    else:
        save_checkpoint(state, run_dir.latest_checkpoint)
    return run_dir.latest_checkpoint


def checkpoint_config(state: dict, path: str | Path) -> Config:
    """The configuration a checkpoint was written with (CheckpointError when it is invalid)."""
    try:
        cfg = config_from_dict(state["config"])
    except ConfigError as e:
        raise CheckpointError(f"{path}: the configuration stored in the checkpoint is invalid: {e}") from None
    cfg.source = checkpoint_config_source(path)
    return cfg


@torch.no_grad()
def weights_finite(trainer) -> bool:
    """Every weight of both nets (and of the moving average) finite (one sync; checked before each
    checkpoint only)."""
    t = trainer
    nets = (t.generator, t.critic) + ((t.ema.model,) if t.ema is not None else ())
    params = [p for net in nets for p in net.parameters()]
    return bool(torch.stack([torch.isfinite(p).all() for p in params]).all())


def nonfinite_advice(rd: RunDir | None) -> str:
    """What to do after a NaN/Inf that stops the run, from where the run is."""
    if rd is not None and rd.latest_checkpoint.is_file():  # continue from its last good checkpoint
        it = load_checkpoint(rd.latest_checkpoint)["gen_iter"]
        return (f"; the last good checkpoint (iteration {it}) is kept in {rd.checkpoints}: continue from it "
                f"with lower learning rates (wgan-train --resume {rd.path} --set optimiser.lr_critic=... "
                "--set optimiser.lr_generator=...)")
    # nothing to continue from: no checkpoint was written before the failure
    return ("; no checkpoint was written before it, so there is nothing to continue from: start the run "
            "again with lower learning rates (or a smaller [train] checkpoint_every, so a good state "
            "is kept sooner)")
