"""The trainer: builds a run, runs its loop and applies its policy.

One :meth:`Trainer.step` is one generator iteration (:mod:`engine.algorithm`: ``n_critic`` critic
updates, then one generator update), followed by the work due at that iteration: reporting,
evaluation, samples, checkpoint, and the rollback to the last good checkpoint when the losses
or weights turn NaN or infinite. :meth:`Trainer.run` repeats it and honours :meth:`pause`,
:meth:`resume`, :meth:`request_step`, :meth:`stop` and :meth:`request_edit` from any thread
(:mod:`engine.control`); all of them take effect at a generator-iteration boundary.

The other jobs have their own modules: the metrics recorder (:mod:`engine.recorder`: device
buffer, rows, metrics.csv), evaluation off the training thread (:mod:`engine.evaluation`),
samples and pictures (:mod:`engine.sampling`), RNG capture and restore (:mod:`engine.rng`).

Performance rules (the loop is usually the whole cost of a toy run):
- no ``.item()`` / ``.cpu()`` per step: statistics stay on the device until a report;
- batches are drawn on the device from a ``torch.Generator`` (no NumPy round trip).

Observers are plain objects with any of ``on_metrics(columns: dict[str, np.ndarray])``,
``on_samples(payload: dict)``, ``on_event(event: dict)``, ``on_state(state: RunState)`` and
``on_status(status: RunStatus)`` (at every report and state change: what a front end shows, so it
never reads the trainer's attributes). They are called on the training thread; a GUI must hand
the data over to its own thread.
"""

from __future__ import annotations

import copy
import math
import time
import warnings
from concurrent.futures import Future
from pathlib import Path

import numpy as np
import torch

from .algorithm import MixedPrecision, TrainingStep, choose_critic_gradients, hand_derived_layers, n_critic_for
from .checkpoint import FORMAT_VERSION, CheckpointError, load_checkpoint, save_checkpoint
from .config import LIVE_KEYS, Config, ConfigError, config_from_dict, unlabelled_message, validate
from .control import RunControl
from .data import DataSource, make_data
from .data.toy import ToyData
from .device import apply_cudnn_benchmark, describe, pick_device, resolve_performance
from .evaluation import (
    EVAL_POINTS,
    Evaluator,
    best_measure,
    critic_overfitting,
    feature_net_for,
    is_better,
    w_estimate_correlation,
)
from .inference import generate
from .models import build_models
from .models.ema import WeightAverage
from .objectives import get_objective
from .recorder import MetricsRecorder
from .render import payload_image, save_png
from .requests import HEARTBEAT_S, POLL_S, RequestInbox, write_status
from .rng import capture_rng, restore_rng, seed_everything
from .rundir import RunDir, checkpoint_config_source, metric_columns, read_metrics, uses_digit_classifier
from .runfolder import ResumePoint, prepare_resume
from .sampling import (
    ARROW_RES,
    FIELD_RES,
    MAX_GRID_CLASSES,
    class_rows,
    critic_field,
    forward_in_chunks,
    sample_payload,
)
from .status import RunState, RunStatus
from .threads import ThreadTuner, others_cpu_s


class TrainingError(RuntimeError):
    pass


class Trainer:
    def __init__(self, config: Config, run_dir: str | Path | None = None, *, observers=(),
                 device: str | torch.device | None = None, data: DataSource | None = None,
                 report_interval_s: float = 0.1, on_nonfinite: str = "pause", request_poll_s: float = POLL_S,
                 control: RunControl | None = None):
        """``request_poll_s``: how often the run folder's requests are looked for (at most; 0 looks
        at every iteration boundary). ``on_nonfinite``: what a NaN/Inf loss does. "pause" rolls
        the run back to its last good checkpoint, records a "nonfinite" event and pauses (the
        studio then offers lower learning rates); "raise" records it and raises TrainingError
        (the command line), leaving the last good checkpoint for ``--resume``. ``control``: a
        :class:`engine.control.RunControl` made before the trainer (what was asked of it meanwhile
        applies at the first iteration); default a new one."""
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
        # Image sets: [data] holdout of the images never trained on (the overfitting check). Toy
        # sets draw fresh points for every batch: nothing to keep out.
        self.heldout = None
        if not self.is_toy and cfg.data.holdout > 0 and hasattr(self.data, "split"):
            self.data, self.heldout = self.data.split(cfg.data.holdout, seed)
        if cfg.model.conditional != "none" and self.data.num_classes <= 0:
            raise ConfigError(unlabelled_message(cfg.data.name), file=cfg.source, key="[model] conditional",
                              value=cfg.model.conditional, allowed="'none' for this data set")
        # Conditional training: both nets take the class label (0 = unconditional).
        self.num_classes = self.data.num_classes if cfg.model.conditional != "none" else 0
        self.conditional = self.num_classes > 0
        seed_everything(seed)
        self.generator, self.critic = build_models(cfg, self.data.shape, self.num_classes)
        self.objective = get_objective(cfg.objective.kind, divergence=cfg.objective.divergence,
                                       fgan_generator=cfg.objective.fgan_generator)
        # How the run uses its device ([train] precision, channels_last, cudnn_benchmark, pin_memory):
        # decided once, here, with the reasons the "start" event carries (engine.device).
        self.performance = resolve_performance(
            cfg, self.device, image=not self.is_toy,
            hand_derived=hand_derived_layers(self.critic, self.objective, self.conditional) is not None)
        self.warnings = list(self.warnings) + self.performance.warnings
        fmt = self.performance.memory_format
        self.generator.to(self.device, memory_format=fmt)
        self.critic.to(self.device, memory_format=fmt)
        for d in (self.data, self.heldout):
            if hasattr(d, "memory_format"):  # image batches in the networks' layout
                d.memory_format = fmt
        apply_cudnn_benchmark(self.performance.cudnn_benchmark, self.device)
        self.amp = MixedPrecision(self.performance.autocast_dtype, self.device.type, self.performance.grad_scaler,
                                  self.performance.penalty_dtype)
        # The moving average of the generator's weights (config [model] ema_decay): what samples,
        # evaluations and exports show. None: they use the generator itself.
        self._ema = WeightAverage(self.generator, cfg.model.ema_decay) if cfg.model.ema_decay > 0 else None
        self.hp = {k: cfg.get(f"{s}.{n}") for k, (s, n) in LIVE_KEYS.items()}
        self.opt_critic = self._make_optimiser(self.critic, self.hp["lr_critic"])
        self.opt_generator = self._make_optimiser(self.generator, self.hp["lr_generator"])
        # One RNG stream on the device for batches, noise and GP epsilons: its state is
        # checkpointed, which is what makes resume exact.
        self.rng = torch.Generator(device=self.device)
        self.rng.manual_seed(seed)
        self.algorithm = TrainingStep(
            self.generator, self.critic, self.opt_generator, self.opt_critic, self.objective, self.data, self.rng,
            batch_size=cfg.train.batch_size, z_dim=cfg.model.z_dim, conditional=self.conditional,
            clip_before_step=cfg.objective.clip_before_step, amp=self.amp,
            critic_gradients=choose_critic_gradients(self.critic, self.objective, self.conditional, self.rng,
                                                     self.amp))

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
        # The overfitting check's two fixed sets of real images, of one size: the held-out images
        # (at most EVAL_POINTS) and as many training images (without repetition).
        self.probe_heldout = self.probe_train = None
        if self.heldout is not None:
            n = min(len(self.heldout), len(self.data), EVAL_POINTS)
            pick = torch.Generator().manual_seed(seed + 32452843)
            take = [torch.randperm(len(d), generator=pick)[:n].to(self.device) for d in (self.heldout, self.data)]
            self.probe_heldout, self.probe_train = (
                (d.batch(i), d.labels[i] if self.conditional and d.labels is not None else None)
                for d, i in zip((self.heldout, self.data), take, strict=True))
        # Conditional runs: the evaluation batch is generated with the real evaluation set's
        # labels; the samples show one row per class (fixed labels, kept in the checkpoint).
        self.eval_labels = eval_labels if self.conditional else None
        self.fixed_labels = None
        if self.conditional:
            self.fixed_noise, self.fixed_labels, _ = class_rows(
                self.fixed_noise, self.num_classes, None if self.is_toy else MAX_GRID_CLASSES)

        # -------- counters, recorder, evaluator, control
        self.gen_iter = 0
        self.total_iters = cfg.train.iterations
        digits = uses_digit_classifier(cfg, self.data)
        net = feature_net_for(cfg.data.name, self.data.shape[0] if not self.is_toy else 0)
        self.columns = metric_columns(self.is_toy, digits, digit_features=not self.is_toy and net == "digits")
        self.recorder = MetricsRecorder(self.columns, self.objective, self.device, self.run_dir)
        centres = None
        if isinstance(self.data, ToyData) and self.data.centres is not None:
            centres = (self.data.centres.cpu().numpy(), self.data.std)
        self.evaluator = Evaluator(self.is_toy, centres, digits, net)
        # The best checkpoint (checkpoints/best.pt): the measure that decides it (lower is better),
        # the best value so far and its iteration; the states of evaluations not yet measured.
        self.best_measure = best_measure(self.is_toy)
        self.best: dict | None = None
        self._best_pending: dict[int, dict] = {}
        # the evaluations' (critic_train, critic_heldout, w_estimate) for the overfitting rule
        self._overfit_rows: list[tuple[int, float, float, float]] = []
        self._overfitting = False
        self.control = control if control is not None else RunControl()
        self.control.attach(self)
        self.edit_log: list[dict] = []
        self.elapsed_s = 0.0          # active training time (pauses excluded), kept across resume
        self._t_active = None
        self.state = RunState.IDLE
        self._in_pause = False
        self._resumed = False
        self.resumed_from: ResumePoint | None = None  # set by resume_run
        self._rolled_back = False
        self._started = False
        self.error: BaseException | None = None
        # The run folder as a steering channel (engine.requests): requests from other processes,
        # and the heartbeat that tells a follower the run is alive.
        self._inbox = (RequestInbox(self.run_dir.path, poll_s=request_poll_s) if self.run_dir is not None
                       else None)
        self._heartbeat_due = -math.inf
        # CPU threads (engine.threads): a fixed count, or tuned while training ([train] threads = 0).
        self._threads: ThreadTuner | None = None
        self._last_step = (True, 0.0)  # (plain, seconds of periodic work) of the last step, for the tuner
        if self.device.type == "cpu" and cfg.train.threads == 0:
            tuner = ThreadTuner(others=others_cpu_s)
            self._threads = tuner if tuner.active else None


    # ================================================================== construction helpers
    def _make_optimiser(self, model: torch.nn.Module, lr: float) -> torch.optim.Optimizer:
        o = self.config.optimiser
        params = list(model.parameters())
        if o.name == "adam":
            # Fused Adam: one kernel per parameter instead of ~10 elementwise passes (foreach), the
            # fastest of the three on the CPU (README, "Figures"). Same update rule; results
            # differ from foreach in the last bits, runs stay deterministic.
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
        cfg.source = checkpoint_config_source(path)
        trainer = cls(cfg, run_dir, **kwargs)
        trainer.load_state(state, source=path)
        return trainer

    @classmethod
    def resume_run(cls, run_dir: str | Path, iterations: int | None = None, **kwargs) -> Trainer:
        """Continue a stopped or crashed run in its own folder from the checkpoint
        :func:`engine.runfolder.prepare_resume` chooses (latest.pt, or the newest numbered one
        that loads when latest.pt is damaged); ``trainer.resumed_from`` says which."""
        point = prepare_resume(run_dir)
        trainer = cls.from_checkpoint(point.checkpoint, run_dir=point.run_dir, **kwargs)
        if iterations is not None:
            trainer.total_iters = iterations
        trainer._resumed = True
        trainer.resumed_from = point
        return trainer

    def load_state(self, state: dict, source="checkpoint") -> None:
        try:
            self.generator.load_state_dict(state["generator"])
            self.critic.load_state_dict(state["critic"])
            self.opt_generator.load_state_dict(state["opt_generator"])
            self.opt_critic.load_state_dict(state["opt_critic"])
            # fp16's gradient scalers (absent from checkpoints of other precisions: fresh scalers)
            self.amp.load_state_dict(state.get("grad_scalers"))
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
        restore_rng(state.get("rng", {}), self.rng)
        for key in ("fixed_noise", "eval_noise", "eval_real", "display_real", "fixed_labels", "eval_labels"):
            if state.get(key) is not None:
                setattr(self, key, state[key].to(self.device))
        self.edit_log = [dict(e) for e in state.get("edit_log", [])]
        self.elapsed_s = float(state.get("elapsed_s", 0.0))
        self.recorder.restart_clock(self.gen_iter)

    @property
    def eval_real_np(self) -> np.ndarray:
        """The real evaluation set on the host (cached; it changes only when a checkpoint loads)."""
        if getattr(self, "_eval_real_src", None) is not self.eval_real:
            self._eval_real_np = self.eval_real.float().cpu().numpy()
            self._eval_real_src = self.eval_real
        return self._eval_real_np

    def state_dict(self) -> dict:
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
            "grad_scalers": self.amp.state_dict(),
            "hp": dict(self.hp),
            "rng": capture_rng(self.rng),
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
        self.control.pause()

    def resume(self) -> None:
        self.control.resume()

    def request_step(self, n: int = 1) -> None:
        """While paused, run ``n`` generator iterations and stay paused."""
        self.control.request_step(n)

    def stop(self) -> None:
        """Stop at the next generator-iteration boundary (a checkpoint is written)."""
        self.control.stop()

    def request_samples(self) -> None:
        """Produce a sample payload for the observers at the next boundary (no file written)."""
        self.control.request_samples()

    def request_edit(self, **changes) -> None:
        """Change live parameters (``clip_value``, ``lr_critic``, ``lr_generator``, ``n_critic``,
        ``gp_lambda``); they apply at the next generator-iteration boundary and are logged.
        Raises ConfigError at once for an unknown key or a bad value."""
        self.control.request_edit(**changes)

    @property
    def elapsed(self) -> float:
        """Active training time in seconds (pauses excluded), including the current stretch."""
        return self._elapsed()

    @property
    def paused(self) -> bool:
        return self.control.paused

    @property
    def its_per_sec(self) -> float:
        return self.recorder.its_per_sec

    @property
    def last_metrics(self) -> dict[str, float]:
        """The latest reported value of each metrics column."""
        return self.recorder.last_metrics

    @property
    def last_eval(self) -> dict[str, float]:
        """The latest quality metrics, with the iteration they were measured at."""
        return self.evaluator.last

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

    def _set_state(self, state: RunState) -> None:
        if state != self.state:
            self.state = state
            self._notify("on_state", state)
            self._notify("on_status", self.status())
            self._heartbeat(force=True)

    def status(self) -> RunStatus:
        """Where the run is (what the heartbeat writes and a front end shows); any thread."""
        return RunStatus(self.state, self.gen_iter, self.total_iters, self.its_per_sec, self._elapsed(),
                         dict(self.hp), describe(self.device))

    # ================================================================== the run folder as a channel
    def serve_requests(self) -> None:
        """Apply the requests waiting in RUN/requests/ and beat the heart (both throttled: a few
        file-system calls a second). :meth:`run` calls it at every iteration boundary and while
        paused; call it yourself between :meth:`step` calls when you drive the steps."""
        if self._inbox is None:
            return
        for req, reason, _name in self._inbox.take():
            self._apply_request(req, reason)
        self._heartbeat()

    def _apply_request(self, req: dict | None, reason: str | None) -> None:
        req = req if isinstance(req, dict) else {}
        action = req.get("action")
        fields = {"id": req.get("id"), "action": action, "by": req.get("by", "")}
        if action == "set":
            fields.update(key=req.get("key"), value=req.get("value"))
        if reason is None:
            try:
                if action == "set":
                    self.request_edit(**{req["key"]: req["value"]})
                elif action == "step":
                    self.request_step(int(req.get("n", 1)))
                else:
                    {"pause": self.pause, "resume": self.resume, "stop": self.stop}[action]()
            except ConfigError as e:  # refused with the config's own words; the run goes on
                reason = str(e)
        outcome = {"outcome": "refused", "reason": reason} if reason else {"outcome": "applied"}
        self._event("request", **fields, **outcome)

    def _heartbeat(self, force: bool = False) -> None:
        if self.run_dir is None or not self._started:
            return
        now = time.monotonic()
        if not force and now < self._heartbeat_due:
            return
        self._heartbeat_due = now + HEARTBEAT_S
        try:
            write_status(self.run_dir.path, self.status().to_dict())
        except OSError:  # a full disk must not stop the run for a heartbeat
            pass

    def _set_lrs(self) -> None:
        for g in self.opt_critic.param_groups:
            g["lr"] = self.hp["lr_critic"]
        for g in self.opt_generator.param_groups:
            g["lr"] = self.hp["lr_generator"]

    def _apply_edits(self) -> None:
        for key, value in self.control.take_edits():
            old = self.hp[key]
            if old == value:
                continue
            self.hp[key] = value
            if key.startswith("lr_"):
                self._set_lrs()
            entry = {"gen_iter": self.gen_iter, "key": key, "old": old, "new": value}
            self.edit_log.append(entry)
            self._event("edit", key=key, old=old, new=value)

    # ================================================================== one iteration and its periodic work
    def n_critic_now(self) -> int:
        """Critic steps for the coming generator iteration (reference-code warm-up optional)."""
        return n_critic_for(self.gen_iter, int(self.hp["n_critic"]), self.config.objective.warmup)

    def step(self) -> None:
        """One generator iteration (its critic steps included), then the periodic work due at
        this iteration: reporting, evaluation, samples, checkpoint."""
        if not self._started:
            self._start()
        self._apply_edits()
        if self._t_active is None:
            self._t_active = time.perf_counter()
        n_critic = self.n_critic_now()
        # For the thread tuner (engine.threads): an iteration that ran beside this run's own
        # evaluation says nothing about the thread count, and the periodic work is not training.
        evaluating = self.evaluator.busy
        self.algorithm.iteration(self.hp, n_critic, self.recorder.next_row())
        self.gen_iter += 1
        if self._ema is not None:
            self._ema.update(self.gen_iter)
        self.recorder.add(self.gen_iter, (self.hp["lr_critic"], self.hp["lr_generator"], self.hp["clip_value"],
                                          n_critic), self._elapsed())
        clock = self._threads.clock if self._threads is not None else time.perf_counter
        t = clock()
        self._periodic()
        self._last_step = (not evaluating, clock() - t)  # (plain, seconds of periodic work)

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
        full = self.recorder.full
        if full or due_ckpt or self._report_due():
            self._rolled_back = False
            self._flush(wait=full)
            if self._rolled_back:
                return  # NaN/Inf: the run went back to its last checkpoint and is paused
        if due_sample or self.control.samples_requested:
            self.make_samples(write=bool(due_sample))
        if due_ckpt:
            self.save_checkpoint(numbered=True)

    def _report_due(self) -> bool:
        """Time to report (engine.distributed: rank 0's clock decides for every process)."""
        return self.recorder.due >= self.report_interval_s

    def _flush(self, wait: bool = False) -> None:
        """Report the recorded iterations (see :meth:`MetricsRecorder.flush`) to metrics.csv and
        the observers; NaN/Inf among them starts the rollback."""
        cols, first_bad = self.recorder.flush(self.evaluator, wait)
        if cols is None:
            return
        self._notify("on_metrics", cols)
        self._notify("on_status", self.status())
        if first_bad is not None:
            self._on_nonfinite(first_bad)
            return
        self._read_evaluations(cols)

    def _read_evaluations(self, cols: dict[str, np.ndarray]) -> None:
        """The rules read from each evaluation reported: a new best writes checkpoints/best.pt;
        the overfitting rule (engine.evaluation.critic_overfitting) logs a "critic_overfitting"
        event when it turns true."""
        measure = cols.get(self.best_measure)
        for i, it in enumerate(cols["gen_iter"]):
            it = int(it)
            state = self._best_pending.pop(it, None)
            if measure is not None and np.isfinite(measure[i]):
                value = float(measure[i])
                best = self.best["value"] if self.best else None
                if state is not None and is_better(value, best):
                    self.best = {"measure": self.best_measure, "value": value, "gen_iter": it}
                    state["best"] = dict(self.best)
                    save_checkpoint(state, self.run_dir.best_checkpoint)
                    self._event("best", measure=self.best_measure, value=value, gen_iter=it)
            if "critic_heldout" in cols and np.isfinite(cols["critic_heldout"][i]):
                self._overfit_rows.append((it, float(cols["critic_train"][i]), float(cols["critic_heldout"][i]),
                                           float(cols["w_estimate"][i])))
                self._check_overfitting(it)
        for it in [k for k in self._best_pending if k <= int(cols["gen_iter"][-1])]:
            del self._best_pending[it]  # an evaluation without a measure (NaN samples)

    def _restore_evaluation_history(self) -> None:
        """After a resume or a rollback: the best so far is the one in checkpoints/best.pt (which
        may be newer than the checkpoint the run continues from: it stays, and is what a new best
        must beat); the overfitting rule's evaluations are those left in metrics.csv."""
        self._best_pending.clear()
        self.best = None
        rd = self.run_dir
        if rd.best_checkpoint.is_file():
            try:
                best = load_checkpoint(rd.best_checkpoint).get("best")
            except CheckpointError:
                best = None  # damaged: the next evaluation writes a new one
            if isinstance(best, dict) and best.get("measure") == self.best_measure:
                self.best = {"measure": best["measure"], "value": float(best["value"]),
                             "gen_iter": int(best["gen_iter"])}
        self._overfit_rows, self._overfitting = [], False
        if not self.is_toy and rd.metrics_path.is_file():
            m = read_metrics(rd.metrics_path)
            if "critic_heldout" in m:
                self._overfit_rows = [(int(it), t, h, w) for it, t, h, w in zip(
                    m["gen_iter"], m["critic_train"], m["critic_heldout"], m["w_estimate"], strict=True)
                    if np.isfinite(h) and np.isfinite(t)]
                if self._overfit_rows:
                    self._overfitting = self._overfit_check().overfitting

    def _overfit_check(self):
        """engine.evaluation.critic_overfitting on the evaluations so far."""
        _, t, h, w = zip(*self._overfit_rows, strict=True)
        return critic_overfitting(t, h, w)

    def _check_overfitting(self, gen_iter: int) -> None:
        check = self._overfit_check()
        if check.overfitting and not self._overfitting:
            self._event("critic_overfitting", gen_iter=gen_iter, gap=check.gap, share=check.share,
                        message=check.message(gen_iter))
        self._overfitting = check.overfitting

    # ================================================================== the NaN/Inf policy
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
            if good:  # advice that works from where the run is: continue from its last good checkpoint
                it = load_checkpoint(rd.latest_checkpoint)["gen_iter"]
                advice = (f"; the last good checkpoint (iteration {it}) is kept in {rd.checkpoints}: continue from it "
                          f"with lower learning rates (wgan-train --resume {rd.path} --set optimiser.lr_critic=... "
                          "--set optimiser.lr_generator=...)")
            else:  # nothing to continue from: no checkpoint was written before the failure
                advice = ("; no checkpoint was written before it, so there is nothing to continue from: start the run "
                          "again with lower learning rates (or a smaller [train] checkpoint_every, so a good state "
                          "is kept sooner)")
            raise TrainingError(f"the {what} became NaN or infinite at generator iteration {first_bad}{advice}")
        # Roll back to the last good checkpoint: weights, optimisers, RNGs, counters and metrics.csv.
        self.load_state(load_checkpoint(rd.latest_checkpoint), source=rd.latest_checkpoint)
        self.recorder.clear()
        self.evaluator.clear()
        rd.start_metrics(self.columns, keep_until=self.gen_iter)
        self._restore_evaluation_history()
        self.nonfinite = {"first_bad": first_bad, "rolled_back_to": self.gen_iter, "what": what,
                          "lr_critic": self.hp["lr_critic"], "lr_generator": self.hp["lr_generator"]}
        self._rolled_back = True
        self._event("nonfinite", **self.nonfinite)
        self.control.pause()  # the run waits for the user: lower the learning rates, then resume

    # ================================================================== evaluation, samples, checkpoints
    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """Quality metrics of the current generator on the fixed evaluation noise, now (waits for
        them): exact W1, modes covered and high-quality share (toy mixtures), sliced W1 (images),
        classes hit and class-histogram KL (the bundled digits)."""
        return self._evaluate_async().result()

    @torch.no_grad()
    def _evaluate_async(self) -> Future:
        """Generate the evaluation batch here (the generator belongs to the training thread); the
        evaluator computes the metrics off it. The metrics.csv row of this iteration waits for
        them, so the files are the same as with a synchronous evaluation."""
        fake = forward_in_chunks(self.sampler, self.eval_noise, self.eval_labels)
        if self.run_dir is not None:
            # this iteration's state, kept until its measure says whether it is the best so far
            self._best_pending[self.gen_iter] = copy.deepcopy(self.state_dict())
        return self.evaluator.submit(self.gen_iter, fake.float().cpu().numpy(), self.eval_real_np,
                                     self.critic_on_real())

    @torch.no_grad()
    def critic_on_real(self) -> dict[str, float]:
        """The critic's mean value on the held-out real images and on as many training images
        (metrics columns critic_heldout, critic_train); empty without held-out images. One sync,
        at evaluation time only. Both sets go through the critic in the same chunks."""
        if self.probe_heldout is None:
            return {}
        means = torch.stack([forward_in_chunks(self.critic, x, y).float().mean()
                             for x, y in (self.probe_heldout, self.probe_train)]).cpu()
        return {"critic_heldout": float(means[0]), "critic_train": float(means[1])}

    def close(self) -> None:
        """Release the evaluation thread (also done when the run ends)."""
        self.evaluator.close()

    def critic_field(self, extent, res: int = FIELD_RES, arrows: int = ARROW_RES):
        return critic_field(self.critic, extent, res, arrows)

    def sample_payload(self, field_res: int = FIELD_RES, arrows: bool = True) -> dict:
        """The picture of the fixed noise batch that observers receive (see :meth:`make_samples`):
        generated points or images, and on toy sets the real points and the critic's value on a
        ``field_res`` x ``field_res`` grid with its gradient arrows (none unless ``arrows``; the
        studio's live view asks for a coarser grid). Call it at a generator-iteration boundary."""
        return sample_payload(self.sampler, self.critic, self.fixed_noise, self.fixed_labels, self.data,
                              gen_iter=self.gen_iter, averaged=self.averaged, num_classes=self.num_classes,
                              display_real=self.display_real,
                              title=f"{self.config.data.name}  iteration {self.gen_iter}",
                              field_res=field_res, arrows=arrows)

    def make_samples(self, write: bool = True) -> dict:
        """Samples from the fixed noise, handed to the observers; written to
        samples/iter_NNNNNNN.png when ``write``."""
        self.control.take_samples_request()
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
        if self.device.type == "cpu":
            self._take_threads()
        if self._inbox is not None:
            self._inbox.restart()  # requests written before this part of the run are stale
        if self.run_dir is not None:
            self.run_dir.create()
            self.config = self.run_dir.keep_points(self.config)  # the points go with the run folder
            self.run_dir.write_config(self.config)
            self.run_dir.start_metrics(self.columns, keep_until=self.gen_iter if self._resumed else None)
            if self._resumed:
                self._restore_evaluation_history()
            self._event("resume_run" if self._resumed else "start", device=describe(self.device),
                        total=self.total_iters, warnings=self.warnings, **self.performance.as_event())
        for w in self.warnings:
            warnings.warn(w, stacklevel=3)
        self.recorder.restart_clock(self.gen_iter)

    def _take_threads(self) -> None:
        """The run's CPU thread count, set on the training thread (it runs the ops)."""
        if self.config.train.threads > 0:
            torch.set_num_threads(self.config.train.threads)
        elif self._threads is not None:
            self._threads.resume()

    def run(self, iterations: int | None = None) -> dict:
        """Train until ``iterations`` generator iterations in all (default: the config's), a
        stop request or an error. Returns the summary. Errors are recorded, the last good
        checkpoint is kept, and the exception is raised again.

        The CPU thread count (a fixed ``[train] threads``, or the tuner's choice) is PyTorch's
        process-wide setting, which every thread started later inherits: it is given back when
        the run ends. Kept, a count the tuner was trying when the run ended (or chose under
        load) became the next run's ceiling in the same process, and the studio, which runs
        every run in one process, trained its second and later runs on one thread
        (benchmarks/gui_overhead.py)."""
        threads_before = torch.get_num_threads() if self.device.type == "cpu" else None
        try:
            return self._run(iterations)
        finally:
            if threads_before is not None and torch.get_num_threads() != threads_before:
                torch.set_num_threads(threads_before)

    def _run(self, iterations: int | None) -> dict:
        if iterations is not None:
            self.total_iters = iterations
        self.control.attach(self)  # a later run() of this trainer: boundary calls wait for its loop again
        if not self._started:
            self._start()
        elif self.device.type == "cpu":
            self._take_threads()  # a later run() of this trainer: the count given back at the last one's end
        self._set_state(RunState.RUNNING)
        try:
            while self.gen_iter < self.total_iters:
                self.serve_requests()
                if self.control.wants_calls():
                    self.control.run_calls()
                action = self.control.next_action()
                if action == "stop":
                    break
                if action == "run" and self._in_pause:
                    self._leave_pause()  # resumed while a paused step was running
                if action == "wait":
                    self._wait_while_paused()
                    if self._threads is not None:
                        self._threads.interrupted()  # the pause is not an iteration's time
                    continue
                self.step()
                if self._threads is not None:
                    plain, extra_s = self._last_step
                    self._threads.iteration(plain=plain, extra_s=extra_s)
        except BaseException as e:
            self.error = e
            try:
                self._flush(wait=True)  # rows of the iterations that did complete
            except BaseException:
                pass
            self.recorder.clear()
            self.evaluator.clear()
            self._event("error", message=f"{type(e).__name__}: {e}")
            self._set_state(RunState.FAILED)
            self.control.end()
            raise
        stopped = self.gen_iter < self.total_iters
        self._set_state(RunState.STOPPING)
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
        self.control.clear_stop()
        self._set_state(RunState.STOPPED if stopped else RunState.FINISHED)
        self.close()
        self.control.end()
        return summary

    def _wait_while_paused(self) -> None:
        """Block while paused; return on resume, stop or a step request."""
        self._flush(wait=True)
        self.elapsed_s, self._t_active = self._elapsed(), None  # pauses are not training time
        if not self._in_pause:
            self._in_pause = True
            self._event("pause")
            self._set_state(RunState.PAUSED)
        while True:
            resumed = self.control.wait_while_paused(timeout=POLL_S if self._inbox is not None else None)
            if resumed is not None:
                break
            self.serve_requests()  # still paused: a request may resume, step or stop the run
            self.control.run_calls()
        if resumed:
            self._leave_pause()
        self.recorder.restart_clock()

    def _leave_pause(self) -> None:
        self._in_pause = False
        self._event("resume")
        self._set_state(RunState.RUNNING)

    def summary(self) -> dict:
        s = {
            "gen_iter": self.gen_iter,
            "total_iters": self.total_iters,
            "elapsed_s": round(self._elapsed(), 3),
            "device": describe(self.device),
            "precision": self.performance.precision.value,
            "its_per_sec": round(self.gen_iter / self._elapsed(), 3) if self._elapsed() > 0 else None,
            "preset_description": self.config.description,
            "last_metrics": {k: v for k, v in self.last_metrics.items() if np.isfinite(v)},
            "last_eval": self.last_eval,
            "edits": len(self.edit_log),
        }
        if self.best is not None:
            s["best"] = dict(self.best, checkpoint="checkpoints/best.pt")
        corr = self.w_estimate_correlation()
        if corr is not None:
            s["w_estimate_vs_quality"] = corr
        return s

    def w_estimate_correlation(self) -> dict | None:
        """The Spearman rank correlation between the logged W-estimate and the quality measure
        over the evaluations in metrics.csv, earlier sessions of a resumed run included (see
        :func:`engine.evaluation.w_estimate_correlation`). With ``eval_every`` =
        ``checkpoint_every`` these are the paper's "across checkpoints" (docs/algorithm.md, "Quality measures")."""
        if self.run_dir is None:
            return None
        return w_estimate_correlation(self.run_dir.metrics_path)
