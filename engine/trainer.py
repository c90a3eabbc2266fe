"""The training loop.

One :meth:`Trainer.step` is one generator iteration: ``n_critic`` critic updates, then one
generator update (ALGORITHM.md, Algorithm 1 of both papers). :meth:`Trainer.run` repeats it and
honours :meth:`pause`, :meth:`resume`, :meth:`request_step`, :meth:`stop` and
:meth:`request_edit` from any thread; all of them take effect at a generator-iteration boundary.

Performance rules (the loop is usually the whole cost of a toy run):
- no ``.item()`` / ``.cpu()`` per step: per-iteration statistics go into a preallocated device
  buffer and are copied to the host in one piece when reporting (about ten times a second);
- batches are drawn on the device from a ``torch.Generator`` (no NumPy round trip);
- the critic sees real and fake in one forward pass (unless it has batch-norm, which would
  mix their statistics); the fake batch of a critic step is made without autograd; the
  critic's weights need no gradient during the generator step;
- WGAN-GP with a plain ReLU MLP critic (the toy presets) takes a critic step whose gradients are
  derived by hand (``objectives/mlp_gp.py``): the same loss and gradients as autograd's double
  backward, as one pass over ``[real; fake; x_hat]`` with one matmul per weight gradient, in
  buffers reused from step to step.

Observers are plain objects with any of ``on_metrics(columns: dict[str, np.ndarray])``,
``on_samples(payload: dict)``, ``on_event(event: dict)`` and ``on_state(state: str)``. They are
called on the training thread; a GUI must hand the data over to its own thread.
"""

from __future__ import annotations

import copy
import math
import random
import threading
import time
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from .checkpoint import FORMAT_VERSION, CheckpointError, load_checkpoint, save_checkpoint
from .config import (
    LIVE_KEYS,
    SCHEMA,
    Config,
    ConfigError,
    coerce_value,
    config_from_dict,
    unlabelled_message,
    validate,
)
from .data import DataSource, make_data
from .data.toy import ToyData
from .device import describe, pick_device
from .metrics import mode_stats, sliced_wasserstein, spearman, w1_exact
from .models import build_models, has_batchnorm
from .models.ema import WeightAverage
from .objectives import WGANGPObjective, get_objective
from .objectives.mlp_gp import MLPGradientPenaltyStep, plain_relu_mlp
from .objectives.wgan_clip import clip_fraction, clip_parameters
from .objectives.wgan_gp import draw_eps
from .render import payload_image, save_png
from .rundir import BASE_COLUMNS, RunDir, metric_columns, read_metrics, uses_digit_classifier

EVAL_POINTS = 1000          # points for exact W1 / sliced W (ALGORITHM.md)
FIELD_RES = 64              # critic heat map resolution (toy view)
ARROW_RES = 16              # critic gradient arrows per side (toy view)
MAX_GRID_CLASSES = 20       # conditional image runs: at most this many class rows in the sample grid
_STATS = ("w_estimate", "critic_loss", "generator_loss", "gradient_penalty", "clip_fraction",
          "critic_grad_norm", "nonfinite")

STATES = ("idle", "running", "paused", "stopping", "finished", "stopped", "error")


class TrainingError(RuntimeError):
    pass


def _looking_forward(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
    """Forward in training mode without updating batch-norm running statistics, so that looking
    at samples never changes the run (momentum 0 keeps the running averages as they are).
    Differentiable (the critic's gradient arrows); :func:`frozen_bn_forward` is its no-grad form.
    ``y``: class labels for a conditional net."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    saved = [(m.momentum, m.num_batches_tracked.clone() if m.num_batches_tracked is not None else None)
             for m in bns]
    for m in bns:
        m.momentum = 0.0
    try:
        return model(x) if y is None else model(x, y)
    finally:
        with torch.no_grad():
            for m, (mom, tracked) in zip(bns, saved, strict=True):
                m.momentum = mom
                if tracked is not None:  # the batch counter too: looking leaves no trace
                    m.num_batches_tracked.copy_(tracked)


def _grad_norm(params: list[torch.Tensor]) -> torch.Tensor:
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))


frozen_bn_forward = torch.no_grad()(_looking_forward)
_frozen_bn_forward = frozen_bn_forward


def class_rows(noise: torch.Tensor, num_classes: int, max_rows: int | None = None
               ) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Labelled fixed noise for a conditional run: one row per class (classes ``0 .. rows-1``,
    ``rows = min(num_classes, max_rows)``), the same noise in every row (a column shows one z
    across the classes). Returns ``(z, labels, per_class)``, ``per_class = len(noise) // rows``."""
    rows = min(num_classes, max_rows or num_classes, len(noise))
    per_class = max(1, len(noise) // rows)
    z = noise[:per_class].repeat(rows, 1)
    labels = torch.arange(rows, device=noise.device).repeat_interleave(per_class)
    return z, labels, per_class


def critic_field(critic: torch.nn.Module, extent, res: int = FIELD_RES, arrows: int = ARROW_RES):
    """The critic's value on a ``res x res`` grid over ``extent`` (row 0 = bottom) and its
    gradient at ``arrows x arrows`` points: the picture that explains WGAN (the generator's
    samples are pushed along this gradient). ``arrows = 0``: no arrows (empty arrays). Neither
    pass changes the critic (batch-norm statistics are left as they are).

    A conditional critic is shown averaged over the classes, ``mean_y f(x, y)``; with more than 8
    classes the grid is made coarser so the cost stays that of 8 classes."""
    k = int(getattr(critic, "num_classes", 0) or 0)
    if k:
        res = min(res, max(8, int(res * math.sqrt(8 / k))))
    device = next(critic.parameters()).device
    x0, x1, y0, y1 = extent
    xs = torch.linspace(x0, x1, res, device=device)
    ys = torch.linspace(y0, y1, res, device=device)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    pts = torch.stack((gx.reshape(-1), gy.reshape(-1)), 1)

    def f(p):
        if not k:
            return _looking_forward(critic, p)
        y = torch.arange(k, device=device).repeat_interleave(len(p))
        return _looking_forward(critic, p.repeat(k, 1), y).view(k, len(p)).mean(0)

    with torch.no_grad():
        field = f(pts).view(res, res).float()
    if arrows <= 0:
        empty = np.zeros((0, 2), np.float32)
        return field.cpu().numpy(), empty, empty.copy()
    ay, ax = torch.meshgrid(torch.linspace(y0, y1, arrows, device=device),
                            torch.linspace(x0, x1, arrows, device=device), indexing="ij")
    apts = torch.stack((ax.reshape(-1), ay.reshape(-1)), 1).requires_grad_(True)
    with torch.enable_grad():
        (g,) = torch.autograd.grad(f(apts).sum(), apts)
    return field.cpu().numpy(), apts.detach().cpu().numpy(), g.cpu().numpy()


def quality_metrics(fake: np.ndarray, real: np.ndarray, is_toy: bool, centres=None, digits: bool = False
                    ) -> dict[str, float]:
    """ALGORITHM.md's quality measures of a generated batch (host arrays; runs on any thread)."""
    res: dict[str, float] = {}
    finite = bool(np.isfinite(fake).all())
    if is_toy:
        res["w1_exact"] = w1_exact(fake, real)
        if centres is not None:
            covered, hq = mode_stats(fake, centres[0], centres[1]) if finite else (0, 0.0)
            res["modes_covered"], res["high_quality_share"] = covered, hq
        return res
    res["sliced_w"] = sliced_wasserstein(fake, real) if finite else float("nan")
    if digits:
        from .digits_classifier import coverage
        hit, kl = coverage(fake) if finite else (0, float("nan"))
        res["classes_hit"], res["class_kl"] = hit, kl
    return res


class Trainer:
    def __init__(self, config: Config, run_dir: str | Path | None = None, *, observers=(),
                 device: str | torch.device | None = None, data: DataSource | None = None,
                 report_interval_s: float = 0.1, on_nonfinite: str = "pause"):
        """``on_nonfinite``: what a NaN/Inf loss does. "pause" rolls the run back to its last good
        checkpoint, records a "nonfinite" event and pauses (the studio then offers lower learning
        rates); "raise" records it and raises TrainingError (the command line), leaving the last
        good checkpoint for ``--resume``."""
        if on_nonfinite not in ("pause", "raise"):
            raise ValueError("on_nonfinite must be 'pause' or 'raise'")
        self.on_nonfinite = on_nonfinite
        self.nonfinite: dict | None = None
        self.warnings = validate(config)
        self.config = config.copy()
        self.device = torch.device(device) if device is not None else pick_device(config.train.device)
        self.observers = list(observers)
        if self.config.train.tensorboard and run_dir is not None:
            from .tensorboard_log import TensorBoardLog
            self.observers.append(TensorBoardLog(run_dir, self.config))
        self.report_interval_s = report_interval_s
        self.run_dir = RunDir(run_dir) if run_dir is not None else None
        cfg = self.config
        seed = cfg.train.seed

        # -------- data, models, objective, optimisers (deterministic from the seed)
        self.data = data.to(self.device) if data is not None else make_data(cfg, self.device)
        self.is_toy = self.data.kind == "toy"
        if cfg.model.conditional != "none" and self.data.num_classes <= 0:
            raise ConfigError(unlabelled_message(cfg.data.name), file=cfg.source, key="[model] conditional",
                              value=cfg.model.conditional, allowed="'none' for this data set")
        # Conditional training: both nets take the class label (0 = unconditional).
        self.num_classes = self.data.num_classes if cfg.model.conditional != "none" else 0
        self.conditional = self.num_classes > 0
        torch.manual_seed(seed)
        random.seed(seed)
        np.random.seed(seed % 2**32)
        self.generator, self.critic = build_models(cfg, self.data.shape, self.num_classes)
        self.generator.to(self.device)
        self.critic.to(self.device)
        # The moving average of the generator's weights (config [model] ema_decay): what samples,
        # evaluations and exports show. None: they use the generator itself.
        self._ema = WeightAverage(self.generator, cfg.model.ema_decay) if cfg.model.ema_decay > 0 else None
        self.objective = get_objective(cfg.objective.kind, divergence=cfg.objective.divergence,
                                       fgan_generator=cfg.objective.fgan_generator)
        self._critic_params = list(self.critic.parameters())
        self._critic_bn = has_batchnorm(self.critic)
        # WGAN-GP with a plain ReLU MLP critic (the toy presets): the critic step with hand-derived
        # gradients (objectives/mlp_gp.py), same values as autograd in fewer operations.
        gp_mlp = isinstance(self.objective, WGANGPObjective) and not self.conditional
        layers = plain_relu_mlp(self.critic) if gp_mlp else None
        self._mlp_gp = MLPGradientPenaltyStep(layers) if layers else None
        self.hp = {k: cfg.get(f"{s}.{n}") for k, (s, n) in LIVE_KEYS.items()}
        self.opt_critic = self._make_optimiser(self.critic, self.hp["lr_critic"])
        self.opt_generator = self._make_optimiser(self.generator, self.hp["lr_generator"])
        # One RNG stream on the device for batches, noise and GP epsilons: its state is
        # checkpointed, which is what makes resume exact.
        self.rng = torch.Generator(device=self.device)
        self.rng.manual_seed(seed)

        # -------- fixed batches (made on the CPU so every device shows the same noise)
        aux = torch.Generator().manual_seed(seed + 7919)
        z_dim = cfg.model.z_dim
        self.fixed_noise = torch.randn(cfg.train.sample_count, z_dim, generator=aux).to(self.device)
        self.eval_noise = torch.randn(EVAL_POINTS, z_dim, generator=aux).to(self.device)
        aux_dev = torch.Generator(device=self.device).manual_seed(seed + 104729)
        # The real evaluation set: for mixtures, exactly as many points per mode (a stratified sample
        # of P_r), so exact W1 is not inflated by chance imbalance between modes in the reference set.
        if isinstance(self.data, ToyData) and self.data.centres is not None:
            self.eval_real = self.data.stratified_sample(EVAL_POINTS, aux_dev)
            eval_labels = torch.arange(EVAL_POINTS, device=self.device) % len(self.data.centres)
        else:
            self.eval_real, eval_labels = self.data.sample(EVAL_POINTS, aux_dev)
        self.display_real = self.data.sample(max(cfg.train.sample_count, 512 if self.is_toy else 0) or 1,
                                             aux_dev)[0] if self.is_toy else None
        # Conditional runs: the evaluation batch is generated with the real evaluation set's
        # labels; the samples show one row per class (fixed labels, kept in the checkpoint).
        self.eval_labels = eval_labels if self.conditional else None
        self.fixed_labels = None
        if self.conditional:
            self.fixed_noise, self.fixed_labels, _ = class_rows(
                self.fixed_noise, self.num_classes, None if self.is_toy else MAX_GRID_CLASSES)

        # -------- counters, buffers, control
        self.gen_iter = 0
        self.total_iters = cfg.train.iterations
        self._digits = uses_digit_classifier(cfg, self.data)
        self.columns = metric_columns(self.is_toy, self._digits)
        self._eval_pool: ThreadPoolExecutor | None = None
        self._buf_cap = 1024
        self._buf = torch.zeros(self._buf_cap, len(_STATS), device=self.device)
        self._buf_iters: list[int] = []
        self._buf_hp: list[tuple] = []
        self._buf_times: list[float] = []
        self._evals: dict[int, Future] = {}  # quality metrics being computed off the training thread
        self.edit_log: list[dict] = []
        self.last_metrics: dict[str, float] = {}
        self.last_eval: dict[str, float] = {}
        self.its_per_sec = 0.0
        self.elapsed_s = 0.0          # active training time (pauses excluded), kept across resume
        self._t_active = None
        self._last_flush_t = time.perf_counter()
        self._last_flush_iter = 0
        self.state = "idle"
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._pending_edits: list[tuple[str, float]] = []
        self._pause = False
        self._stop = False
        self._step_requests = 0
        self._samples_requested = False
        self._in_pause = False
        self._rolled_back = False
        self._started = False
        self.error: BaseException | None = None

    # ================================================================== construction helpers
    def _make_optimiser(self, model: torch.nn.Module, lr: float) -> torch.optim.Optimizer:
        o = self.config.optimiser
        params = list(model.parameters())
        if o.name == "adam":
            # Fused Adam: one kernel per parameter instead of ~10 elementwise passes (foreach). The
            # toy critic's Adam step on this 2-core CPU, 2 threads: 0.18 ms fused, 0.61 ms foreach,
            # 0.59 ms for-loop on a quiet machine; 16 vs 68 vs 188 ms with other work running (the
            # elementwise passes are where OpenMP threads wait for each other). Same update rule;
            # results differ from foreach in the last bits, runs stay deterministic.
            try:
                return torch.optim.Adam(params, lr=lr, betas=tuple(o.betas), eps=o.eps, fused=True)
            except (RuntimeError, ValueError):  # a device without the fused kernel
                return torch.optim.Adam(params, lr=lr, betas=tuple(o.betas), eps=o.eps, foreach=True)
        return torch.optim.RMSprop(params, lr=lr, alpha=o.rmsprop_alpha, eps=o.eps, foreach=True)

    @classmethod
    def from_checkpoint(cls, path: str | Path, run_dir: str | Path | None = None, **kwargs) -> Trainer:
        """Rebuild a trainer exactly where a checkpoint left it (models, optimisers, every RNG,
        counters, fixed noise, live values and edit log)."""
        state = load_checkpoint(path)
        try:
            cfg = config_from_dict(state["config"])
        except ConfigError as e:
            raise CheckpointError(f"{path}: the configuration stored in the checkpoint is invalid: {e}") from None
        trainer = cls(cfg, run_dir, **kwargs)
        trainer.load_state(state, source=path)
        return trainer

    @classmethod
    def resume_run(cls, run_dir: str | Path, iterations: int | None = None, **kwargs) -> Trainer:
        """Continue a stopped or crashed run in its own folder from checkpoints/latest.pt."""
        rd = RunDir(run_dir)
        if not rd.latest_checkpoint.is_file():
            raise CheckpointError(f"{rd.path}: nothing to resume (no checkpoints/latest.pt)")
        trainer = cls.from_checkpoint(rd.latest_checkpoint, run_dir=rd.path, **kwargs)
        if iterations is not None:
            trainer.total_iters = iterations
        trainer._resumed = True
        return trainer

    def load_state(self, state: dict, source="checkpoint") -> None:
        try:
            self.generator.load_state_dict(state["generator"])
            self.critic.load_state_dict(state["critic"])
            self.opt_generator.load_state_dict(state["opt_generator"])
            self.opt_critic.load_state_dict(state["opt_critic"])
            if self._ema is not None:
                if state.get("generator_ema") is not None:
                    self._ema.model.load_state_dict(state["generator_ema"])
                else:  # written without an average (or by an older version): start one here
                    self._ema.reset()
        except (RuntimeError, ValueError, KeyError) as e:
            raise CheckpointError(f"{source}: the weights do not fit the configured networks: "
                                  f"{str(e).splitlines()[0]}") from None
        self.gen_iter = int(state["gen_iter"])
        self.hp.update({k: v for k, v in state.get("hp", {}).items() if k in self.hp})
        self._set_lrs()
        rng = state.get("rng", {})
        if "trainer" in rng:
            self.rng.set_state(rng["trainer"].to(torch.uint8).cpu())
        if "torch" in rng:
            torch.set_rng_state(rng["torch"].to(torch.uint8).cpu())
        if rng.get("cuda") and torch.cuda.is_available():
            torch.cuda.set_rng_state_all([s.to(torch.uint8).cpu() for s in rng["cuda"]])
        if "numpy" in rng:
            n = rng["numpy"]
            np.random.set_state((n["name"], n["keys"].numpy().astype(np.uint32), int(n["pos"]),
                                 int(n["has_gauss"]), float(n["cached"])))
        if "python" in rng:
            v, internal, g = rng["python"]
            random.setstate((v, tuple(internal), g))
        for key in ("fixed_noise", "eval_noise", "eval_real", "display_real", "fixed_labels", "eval_labels"):
            if state.get(key) is not None:
                setattr(self, key, state[key].to(self.device))
        self.edit_log = [dict(e) for e in state.get("edit_log", [])]
        self.elapsed_s = float(state.get("elapsed_s", 0.0))
        self._last_flush_iter = self.gen_iter

    @property
    def eval_real_np(self) -> np.ndarray:
        """The real evaluation set on the host (cached; it changes only when a checkpoint loads)."""
        if getattr(self, "_eval_real_src", None) is not self.eval_real:
            self._eval_real_np = self.eval_real.float().cpu().numpy()
            self._eval_real_src = self.eval_real
        return self._eval_real_np

    def state_dict(self) -> dict:
        np_state = np.random.get_state()
        return {
            "format_version": FORMAT_VERSION,
            "config": self.config.to_dict(),
            "gen_iter": self.gen_iter,
            "sample_shape": list(self.data.shape),
            "num_classes": self.num_classes,
            "generator": self.generator.state_dict(),
            "generator_ema": self._ema.model.state_dict() if self._ema is not None else None,
            "critic": self.critic.state_dict(),
            "opt_generator": self.opt_generator.state_dict(),
            "opt_critic": self.opt_critic.state_dict(),
            "hp": dict(self.hp),
            "rng": {
                "trainer": self.rng.get_state(),
                "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
                "numpy": {"name": np_state[0], "keys": torch.from_numpy(np_state[1].astype(np.int64)),
                          "pos": int(np_state[2]), "has_gauss": int(np_state[3]), "cached": float(np_state[4])},
                "python": random.getstate(),
            },
            "fixed_noise": self.fixed_noise.cpu(),
            "eval_noise": self.eval_noise.cpu(),
            "eval_real": self.eval_real.cpu(),
            "display_real": self.display_real.cpu() if self.display_real is not None else None,
            "fixed_labels": self.fixed_labels.cpu() if self.fixed_labels is not None else None,
            "eval_labels": self.eval_labels.cpu() if self.eval_labels is not None else None,
            "edit_log": copy.deepcopy(self.edit_log),
            "elapsed_s": self._elapsed(),
        }

    @property
    def averaged(self) -> bool:
        """Samples and metrics come from the moving average of the generator's weights."""
        return self._ema is not None

    @property
    def sampler(self) -> torch.nn.Module:
        """The generator that samples, evaluations and exports use: the moving average of the
        weights when ``[model] ema_decay`` > 0, else the generator being trained. Training thread
        only (an optimiser step changes both)."""
        return self._ema.model if self._ema is not None else self.generator

    # ================================================================== thread-safe control
    def pause(self) -> None:
        with self._wake:
            self._pause = True
            self._wake.notify_all()

    def resume(self) -> None:
        with self._wake:
            self._pause = False
            self._wake.notify_all()

    def request_step(self, n: int = 1) -> None:
        """While paused, run ``n`` generator iterations and stay paused."""
        with self._wake:
            self._step_requests += n
            self._wake.notify_all()

    def stop(self) -> None:
        """Stop at the next generator-iteration boundary (a checkpoint is written)."""
        with self._wake:
            self._stop = True
            self._wake.notify_all()

    def request_samples(self) -> None:
        """Produce a sample payload for the observers at the next boundary (no file written)."""
        with self._lock:
            self._samples_requested = True

    def request_edit(self, **changes) -> None:
        """Change live parameters (``clip_value``, ``lr_critic``, ``lr_generator``, ``n_critic``,
        ``gp_lambda``); they apply at the next generator-iteration boundary and are logged.
        Raises ConfigError at once for an unknown key or a bad value."""
        checked = []
        for key, value in changes.items():
            if key not in LIVE_KEYS:
                raise ConfigError("cannot be changed during a run", key=key, value=value,
                                  allowed=", ".join(LIVE_KEYS))
            sec, name = LIVE_KEYS[key]
            checked.append((key, coerce_value(SCHEMA[f"{sec}.{name}"], value)))
        with self._wake:
            self._pending_edits.extend(checked)
            self._wake.notify_all()

    @property
    def elapsed(self) -> float:
        """Active training time in seconds (pauses excluded), including the current stretch."""
        return self._elapsed()

    @property
    def paused(self) -> bool:
        return self._pause

    # ================================================================== observers and events
    def _notify(self, method: str, arg) -> None:
        for obs in self.observers:
            fn = getattr(obs, method, None)
            if fn is not None:
                fn(arg)

    def _event(self, kind: str, **fields) -> dict:
        ev = {"type": kind, "gen_iter": self.gen_iter, **fields}
        if self.run_dir is not None:
            ev = self.run_dir.append_event(ev)
        self._notify("on_event", ev)
        return ev

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self._notify("on_state", state)

    def _set_lrs(self) -> None:
        for g in self.opt_critic.param_groups:
            g["lr"] = self.hp["lr_critic"]
        for g in self.opt_generator.param_groups:
            g["lr"] = self.hp["lr_generator"]

    def _apply_edits(self) -> None:
        with self._lock:
            edits, self._pending_edits = self._pending_edits, []
        for key, value in edits:
            old = self.hp[key]
            if old == value:
                continue
            self.hp[key] = value
            if key.startswith("lr_"):
                self._set_lrs()
            entry = {"gen_iter": self.gen_iter, "key": key, "old": old, "new": value}
            self.edit_log.append(entry)
            self._event("edit", key=key, old=old, new=value)

    # ================================================================== the algorithm
    def n_critic_now(self) -> int:
        """Critic steps for the coming generator iteration (reference-code warm-up optional)."""
        if self.config.objective.warmup and (self.gen_iter < 25 or self.gen_iter % 500 == 0):
            return 100
        return int(self.hp["n_critic"])

    def _critic_step(self, record: bool):
        m, dev = self.config.train.batch_size, self.device
        obj = self.objective
        clip = obj.clips_weights
        c = self.hp["clip_value"]
        real, labels = self.data.sample(m, self.rng)
        # Conditional: the fake batch is generated with the real batch's labels (y), which the
        # critic sees with both halves and the gradient penalty with its interpolates.
        y = labels if self.conditional else None
        z = torch.randn(m, self.config.model.z_dim, generator=self.rng, device=dev)
        with torch.no_grad():  # the critic step needs no gradient through the generator
            fake = self.generator(z) if y is None else self.generator(z, y)
        if clip and self.config.objective.clip_before_step:
            clip_parameters(self._critic_params, c)
        self.opt_critic.zero_grad(set_to_none=True)
        if self._mlp_gp is not None:  # writes the gradients itself
            eps = draw_eps(real, self.rng)  # the same draw, in the same order, as gradient_penalty's
            out = self._mlp_gp(real, fake, eps, self.hp["gp_lambda"])
        else:
            if self._critic_bn:
                f_real, f_fake = self._critic(real, y), self._critic(fake, y)
            else:
                f = self._critic(torch.cat((real, fake)), None if y is None else torch.cat((y, y)))
                f_real, f_fake = f[:m], f[m:]
            out = obj.critic_loss(f_real, f_fake, critic=self.critic, real=real, fake=fake, generator=self.rng,
                                  gp_lambda=self.hp["gp_lambda"], labels=y)
            out.loss.backward()
        grad_norm = _grad_norm(self._critic_params) if record else None
        self.opt_critic.step()
        if clip and not self.config.objective.clip_before_step:
            clip_parameters(self._critic_params, c)
        return out, grad_norm

    def _critic(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        return self.critic(x) if y is None else self.critic(x, y)

    def _generator_step(self) -> torch.Tensor:
        m = self.config.train.batch_size
        self.critic.requires_grad_(False)  # no gradient for the critic's weights here
        try:
            z = torch.randn(m, self.config.model.z_dim, generator=self.rng, device=self.device)
            if self.conditional:  # labels drawn as the data's are
                y = self.data.sample_labels(m, self.rng)
                loss = self.objective.generator_loss(self.critic(self.generator(z, y), y))
            else:
                loss = self.objective.generator_loss(self.critic(self.generator(z)))
            self.opt_generator.zero_grad(set_to_none=True)
            loss.backward()
            self.opt_generator.step()
        finally:
            self.critic.requires_grad_(True)
        return loss.detach()

    def step(self) -> None:
        """One generator iteration (its critic steps included), then the periodic work due at
        this iteration: reporting, evaluation, samples, checkpoint."""
        if not self._started:
            self._start()
        self._apply_edits()
        t0 = time.perf_counter()
        if self._t_active is None:
            self._t_active = t0
        n_critic = self.n_critic_now()
        # ---- (1) Update the critic n_critic times
        # The logged W-estimate, critic loss and penalty of a generator iteration are the means over
        # its critic steps: n_critic batches give a steadier estimate than the last batch alone.
        w_sum = loss_sum = gp_sum = None
        for t in range(n_critic):
            out, grad_norm = self._critic_step(record=t == n_critic - 1)
            if w_sum is None:
                w_sum, loss_sum, gp_sum = out.w_estimate, out.loss.detach(), out.penalty
            else:
                w_sum, loss_sum, gp_sum = w_sum + out.w_estimate, loss_sum + out.loss.detach(), gp_sum + out.penalty
        # ---- (2) Update the generator once
        g_loss = self._generator_step()
        self.gen_iter += 1
        if self._ema is not None:
            self._ema.update(self.gen_iter)
        # ---- record on the device (no sync): reported in batches by _flush
        c = self.hp["clip_value"]
        cf = clip_fraction(self._critic_params, c) if self.objective.clips_weights else out.w_estimate.new_zeros(())
        nonfinite = (~torch.isfinite(loss_sum) | ~torch.isfinite(g_loss) | ~torch.isfinite(grad_norm)).float()
        row = len(self._buf_iters)
        torch.stack((w_sum / n_critic, loss_sum / n_critic, g_loss, gp_sum / n_critic, cf, grad_norm, nonfinite),
                    out=self._buf[row])
        self._buf_iters.append(self.gen_iter)
        self._buf_hp.append((self.hp["lr_critic"], self.hp["lr_generator"], self.hp["clip_value"], n_critic))
        self._buf_times.append(self._elapsed())
        self._periodic()

    def _elapsed(self) -> float:
        if self._t_active is None:
            return self.elapsed_s
        return self.elapsed_s + (time.perf_counter() - self._t_active)

    def _periodic(self) -> None:
        tc = self.config.train
        k = self.gen_iter
        due_eval = tc.eval_every and k % tc.eval_every == 0
        due_sample = tc.sample_every and k % tc.sample_every == 0
        due_ckpt = tc.checkpoint_every and k % tc.checkpoint_every == 0
        if due_eval:
            self._evaluate_async()
        now = time.perf_counter()
        full = len(self._buf_iters) >= self._buf_cap
        if (full or due_ckpt or now - self._last_flush_t >= self.report_interval_s):
            self._rolled_back = False
            self._flush(wait=full)
            if self._rolled_back:
                return  # NaN/Inf: the run went back to its last checkpoint and is paused
        if due_sample or self._samples_requested:
            self.make_samples(write=bool(due_sample))
        if due_ckpt:
            self.save_checkpoint(numbered=True)

    # ================================================================== reporting
    def _flush(self, wait: bool = False) -> None:
        """The sync point: copy the buffered statistics to the host, append whole rows to
        metrics.csv and hand them to the observers.

        Rows from an iteration whose quality metrics are still being computed stay buffered
        until they are ready (``wait=True``: wait for them), so every row is written whole, once."""
        n = len(self._buf_iters)
        now = time.perf_counter()
        if n and self._evals and not wait:
            pending = [it for it, fut in self._evals.items() if not fut.done()]
            if pending:
                first = min(pending)
                n = next((i for i, it in enumerate(self._buf_iters) if it >= first), n)
        if n == 0:
            self._last_flush_t = now
            return
        total = len(self._buf_iters)
        stats = self._buf[:n].cpu().numpy().astype(np.float64)  # the one sync per report
        iters, hps, times = self._buf_iters[:n], self._buf_hp[:n], self._buf_times[:n]
        self._buf_iters, self._buf_hp, self._buf_times = self._buf_iters[n:], self._buf_hp[n:], self._buf_times[n:]
        if n < total:  # keep the held-back rows at the front of the device buffer
            self._buf[:total - n] = self._buf[n:total].clone()
        cols: dict[str, np.ndarray] = {
            "gen_iter": np.asarray(iters, dtype=np.int64),
            "wall_time_s": np.asarray(times),
        }
        for j, name in enumerate(_STATS[:-1]):
            cols[name] = stats[:, j]
        if not self.objective.uses_penalty:
            cols["gradient_penalty"] = np.full(n, np.nan)
        if not self.objective.clips_weights:
            cols["clip_fraction"] = np.full(n, np.nan)
        hp = np.asarray(hps, dtype=np.float64)
        cols["lr_critic"], cols["lr_generator"], cols["clip_value"] = hp[:, 0], hp[:, 1], hp[:, 2]
        cols["n_critic"] = hp[:, 3].astype(np.int64)
        for name in self.columns[len(BASE_COLUMNS):]:
            cols[name] = np.full(n, np.nan)
        for i, it in enumerate(iters):
            ev = self._collect_eval(it)
            if ev is not None:
                for name, v in ev.items():
                    cols[name][i] = v
        if self.run_dir is not None:
            optional = set(self.columns[len(BASE_COLUMNS):])
            if not self.objective.uses_penalty:
                optional.add("gradient_penalty")
            if not self.objective.clips_weights:
                optional.add("clip_fraction")
            rows = []
            for i in range(n):
                row = []
                for name in self.columns:
                    v = cols[name][i]
                    if name in optional and np.isnan(v):
                        row.append(None)  # not measured at this iteration / by this objective
                    elif name in ("gen_iter", "n_critic", "modes_covered", "classes_hit"):
                        row.append(int(v))
                    else:
                        row.append(float(v))
                rows.append(row)
            self.run_dir.append_metrics(rows)
        dt = now - self._last_flush_t
        di = iters[-1] - self._last_flush_iter
        if dt > 0 and di > 0:
            rate = di / dt
            self.its_per_sec = rate if self.its_per_sec == 0 else 0.7 * self.its_per_sec + 0.3 * rate
        self._last_flush_t, self._last_flush_iter = now, iters[-1]
        self.last_metrics = {k: float(v[-1]) for k, v in cols.items()}
        self._notify("on_metrics", cols)
        if stats[:, -1].any():
            first = iters[int(np.argmax(stats[:, -1] > 0))]
            self._on_nonfinite(first)

    @torch.no_grad()
    def _weights_finite(self) -> bool:
        """Every weight of both nets finite (one sync; checked before each checkpoint only)."""
        nets = (self.generator, self.critic) + ((self._ema.model,) if self._ema is not None else ())
        params = [p for net in nets for p in net.parameters()]
        return bool(torch.stack([torch.isfinite(p).all() for p in params]).all())

    def _on_nonfinite(self, first_bad: int, what: str = "losses") -> None:
        rd = self.run_dir
        good = rd is not None and rd.latest_checkpoint.is_file()
        if self.on_nonfinite == "raise" or not good:
            where = (f"; the last good checkpoint (iteration {load_checkpoint(rd.latest_checkpoint)['gen_iter']}) is "
                     f"kept in {rd.checkpoints}" if good else "")
            raise TrainingError(f"the {what} became NaN or infinite at generator iteration {first_bad}{where}; "
                                "lower the learning rates and resume")
        # Roll back to the last good checkpoint: weights, optimisers, RNGs, counters and metrics.csv.
        self.load_state(load_checkpoint(rd.latest_checkpoint), source=rd.latest_checkpoint)
        self._buf_iters, self._buf_hp, self._buf_times = [], [], []
        self._evals.clear()
        rd.start_metrics(self.columns, keep_until=self.gen_iter)
        self.nonfinite = {"first_bad": first_bad, "rolled_back_to": self.gen_iter, "what": what,
                          "lr_critic": self.hp["lr_critic"], "lr_generator": self.hp["lr_generator"]}
        self._rolled_back = True
        self._event("nonfinite", **self.nonfinite)
        with self._wake:
            self._pause = True  # the run waits for the user: lower the learning rates, then resume

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """Quality metrics of the current generator on the fixed evaluation noise, now (waits for
        them): exact W1, modes covered and high-quality share (toy mixtures), sliced W1 (images),
        classes hit and class-histogram KL (the bundled digits)."""
        return self._evaluate_async().result()

    @torch.no_grad()
    def _evaluate_async(self) -> Future:
        """Generate the evaluation batch here (the generator belongs to the training thread), then
        compute the metrics off the training thread (ALGORITHM.md's measures are NumPy/SciPy work:
        an optimal assignment of 1,000 x 1,000 points, sorting projections, a classifier). The
        metrics.csv row of this iteration waits for them (see :meth:`_flush`), so the files are
        the same as with a synchronous evaluation."""
        if self.eval_labels is None:
            fake = torch.cat([_frozen_bn_forward(self.sampler, z) for z in self.eval_noise.split(250)])
        else:
            fake = torch.cat([_frozen_bn_forward(self.sampler, z, y)
                              for z, y in zip(self.eval_noise.split(250), self.eval_labels.split(250), strict=True)])
        fake_np = fake.float().cpu().numpy()
        real_np = self.eval_real_np
        centres = None
        if isinstance(self.data, ToyData) and self.data.centres is not None:
            centres = (self.data.centres.cpu().numpy(), self.data.std)
        if self._eval_pool is None:
            self._eval_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wgan-eval")
        fut = self._eval_pool.submit(quality_metrics, fake_np, real_np, self.is_toy, centres, self._digits)
        self._evals[self.gen_iter] = fut
        fut.gen_iter = self.gen_iter
        return fut

    def _collect_eval(self, it: int) -> dict[str, float] | None:
        fut = self._evals.pop(it, None)
        if fut is None:
            return None
        res = fut.result()
        self.last_eval = dict(res, gen_iter=it)
        return res

    def close(self) -> None:
        """Release the evaluation thread (also done when the run ends)."""
        if self._eval_pool is not None:
            self._eval_pool.shutdown(wait=True)
            self._eval_pool = None

    def critic_field(self, extent, res: int = FIELD_RES, arrows: int = ARROW_RES):
        return critic_field(self.critic, extent, res, arrows)

    def sample_payload(self, field_res: int = FIELD_RES, arrows: bool = True) -> dict:
        """The picture of the fixed noise batch that observers receive (see :meth:`make_samples`):
        generated points or images, and on toy sets the real points and the critic's value on a
        ``field_res`` x ``field_res`` grid with its gradient arrows (none unless ``arrows``; the
        studio's live view asks for a coarser grid). Call it at a generator-iteration boundary."""
        fake = _frozen_bn_forward(self.sampler, self.fixed_noise, self.fixed_labels).float()
        payload: dict = {"kind": "toy" if self.is_toy else "image", "gen_iter": self.gen_iter,
                         "averaged": self.averaged}
        if self.fixed_labels is not None:
            # one row per class: the row's class is labels[row * nrow]
            labels = self.fixed_labels.cpu().numpy()
            payload.update(labels=labels, nrow=int((labels == labels[0]).sum()), num_classes=self.num_classes)
        if self.is_toy:
            extent = self.data.extent
            field, arrow_pos, arrow_grad = self.critic_field(extent, field_res, ARROW_RES if arrows else 0)
            payload.update(fake=fake.cpu().numpy(), real=self.display_real.float().cpu().numpy(), field=field,
                           extent=extent, arrow_pos=arrow_pos, arrow_grad=arrow_grad,
                           label=f"{self.config.data.name}  iteration {self.gen_iter}")
        else:
            payload["images"] = fake.cpu().numpy()
        return payload

    def make_samples(self, write: bool = True) -> dict:
        """Samples from the fixed noise, handed to the observers; written to
        samples/iter_NNNNNNN.png when ``write``."""
        with self._lock:
            self._samples_requested = False
        payload = self.sample_payload()
        if write and self.run_dir is not None:
            n = len(self.fixed_noise)
            nrow = payload.get("nrow", int(math.ceil(math.sqrt(n))))
            save_png(payload_image(payload, nrow=nrow), self.run_dir.sample_path(self.gen_iter),
                     {"gen_iter": str(self.gen_iter), "seed": str(self.config.train.seed)})
        self._notify("on_samples", payload)
        return payload

    def sample(self, n: int, seed: int | None = None, classes=None) -> np.ndarray:
        """``n`` fresh samples in data space (toy ``[n, 2]``, images ``[n, C, H, W]`` in [-1, 1]).
        Conditional runs: ``n`` per class of ``classes`` (default all), class by class."""
        from .inference import generate
        return generate(self.sampler, n, self.config.model.z_dim,
                        seed if seed is not None else self.config.train.seed, classes=classes)

    def save_checkpoint(self, numbered: bool = False) -> Path | None:
        if self.run_dir is None:
            return None
        self._rolled_back = False
        self._flush(wait=True)  # metrics.csv holds every row up to the checkpoint before it exists
        if not self._rolled_back and not self._weights_finite():
            # finite losses can still leave non-finite weights (the last update of the step)
            self._on_nonfinite(self.gen_iter, what="weights")
        if self._rolled_back:
            return None  # never checkpoint a state that produced NaN/Inf
        state = self.state_dict()
        if numbered:
            p = save_checkpoint(state, self.run_dir.checkpoint_path(self.gen_iter))
            self.run_dir.link_latest(p)
        else:
            save_checkpoint(state, self.run_dir.latest_checkpoint)
        return self.run_dir.latest_checkpoint

    # ================================================================== the run
    def _start(self) -> None:
        self._started = True
        if self.run_dir is not None:
            self.run_dir.create()
            resumed = getattr(self, "_resumed", False)
            self.run_dir.write_config(self.config)
            self.run_dir.start_metrics(self.columns, keep_until=self.gen_iter if resumed else None)
            self._event("resume_run" if resumed else "start", device=describe(self.device),
                        total=self.total_iters, warnings=self.warnings)
        for w in self.warnings:
            warnings.warn(w, stacklevel=3)
        self._last_flush_t = time.perf_counter()
        self._last_flush_iter = self.gen_iter

    def run(self, iterations: int | None = None) -> dict:
        """Train until ``iterations`` generator iterations in all (default: the config's), a
        stop request or an error. Returns the summary. Errors are recorded, the last good
        checkpoint is kept, and the exception is raised again."""
        if iterations is not None:
            self.total_iters = iterations
        if not self._started:
            self._start()
        self._set_state("running")
        try:
            while self.gen_iter < self.total_iters:
                with self._wake:
                    if self._stop:
                        break
                    paused = self._pause
                    do_step = not paused
                    if paused and self._step_requests:
                        self._step_requests -= 1  # one step while paused, then wait again
                        do_step = True
                if not paused and self._in_pause:
                    self._leave_pause()  # resumed while a paused step was running
                if not do_step:
                    self._wait_while_paused()
                    continue
                self.step()
        except BaseException as e:
            self.error = e
            try:
                self._flush(wait=True)  # rows of the iterations that did complete
            except BaseException:
                pass
            self._buf_iters, self._buf_hp, self._buf_times = [], [], []
            self._evals.clear()
            self._event("error", message=f"{type(e).__name__}: {e}")
            self._set_state("error")
            raise
        stopped = self.gen_iter < self.total_iters
        self._set_state("stopping")
        self._flush(wait=True)
        tc = self.config.train
        if tc.eval_every and self.last_eval.get("gen_iter") != self.gen_iter:
            self._evaluate_async()
            self._flush(wait=True)
        if tc.sample_every and self.gen_iter % tc.sample_every != 0:
            self.make_samples(write=True)
        if not (tc.checkpoint_every and self.gen_iter % tc.checkpoint_every == 0):
            self.save_checkpoint()
        self.elapsed_s, self._t_active = self._elapsed(), None
        summary = self.summary()
        if self.run_dir is not None:
            self.run_dir.write_summary(summary)
        self._event("stop" if stopped else "finish", elapsed_s=round(self.elapsed_s, 3))
        with self._wake:
            self._stop = False
        self._set_state("stopped" if stopped else "finished")
        self.close()
        return summary

    def _wait_while_paused(self) -> None:
        """Block while paused; return on resume, stop or a step request."""
        self._flush(wait=True)
        self.elapsed_s, self._t_active = self._elapsed(), None  # pauses are not training time
        if not self._in_pause:
            self._in_pause = True
            self._event("pause")
            self._set_state("paused")
        with self._wake:
            while self._pause and not self._stop and self._step_requests == 0:
                self._wake.wait(0.5)
            resumed = not self._pause
        if resumed:
            self._leave_pause()
        self._last_flush_t = time.perf_counter()

    def _leave_pause(self) -> None:
        self._in_pause = False
        self._event("resume")
        self._set_state("running")

    def summary(self) -> dict:
        s = {
            "gen_iter": self.gen_iter,
            "total_iters": self.total_iters,
            "elapsed_s": round(self._elapsed(), 3),
            "device": describe(self.device),
            "its_per_sec": round(self.gen_iter / self._elapsed(), 3) if self._elapsed() > 0 else None,
            "preset_description": self.config.description,
            "last_metrics": {k: v for k, v in self.last_metrics.items() if np.isfinite(v)},
            "last_eval": self.last_eval,
            "edits": len(self.edit_log),
        }
        corr = self.w_estimate_correlation()
        if corr is not None:
            s["w_estimate_vs_quality"] = corr
        return s

    def w_estimate_correlation(self) -> dict | None:
        """The WGAN paper's key claim measured on this run: the Spearman rank correlation between
        the logged W-estimate and the quality measure (exact W1 on toy sets, sliced W on images)
        over the evaluations in metrics.csv, earlier sessions of a resumed run included. With
        ``eval_every`` = ``checkpoint_every`` these are ALGORITHM.md's "across checkpoints"."""
        if self.run_dir is None or not self.run_dir.metrics_path.is_file():
            return None
        m = read_metrics(self.run_dir.metrics_path)
        key = next((k for k in ("w1_exact", "sliced_w") if k in m), None)
        if key is None:
            return None
        w, q = np.asarray(m["w_estimate"], dtype=np.float64), np.asarray(m[key], dtype=np.float64)
        ok = np.isfinite(w) & np.isfinite(q)
        if ok.sum() < 3:
            return None
        rho = spearman(w[ok], q[ok])
        return {"measure": key, "evaluations": int(ok.sum()),
                "spearman": round(rho, 4) if math.isfinite(rho) else None}  # None: a constant column
