"""The trainer: the loop of a run and its policy.

One :meth:`Trainer.step` is one generator iteration (:mod:`engine.algorithm`: ``n_critic`` critic
updates, then one generator update), followed by the work due at that iteration: reporting,
evaluation, samples, checkpoint, and the rollback to the last good checkpoint when the losses
or weights turn NaN or infinite. :meth:`Trainer.run` repeats it and honours :meth:`pause`,
:meth:`resume`, :meth:`request_step`, :meth:`stop` and :meth:`request_edit` from any thread
(:mod:`engine.control`); all of them take effect at a generator-iteration boundary.

The run's other pieces: building it (:mod:`engine.build`; the trainer takes the parts as its
attributes), its folder's request and heartbeat channel (:mod:`engine.channel`), its evaluations,
best checkpoint and overfitting rule (:mod:`engine.evaluation_policy`), its checkpoints
(:mod:`engine.run_state`), how many processes train it (:mod:`engine.strategy`,
:mod:`engine.distributed`), its metrics (:mod:`engine.recorder`), its CPU threads
(:mod:`engine.run_threads`).

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

import contextlib
import math
import time
import warnings
from concurrent.futures import Future
from pathlib import Path

import numpy as np
import torch

from . import run_state
from .algorithm import n_critic_for
from .build import build_run
from .channel import RequestChannel
from .checkpoint import load_checkpoint
from .config import Config, validate
from .control import RunControl
from .data import DataSource
from .device import describe, pick_device
from .evaluation_policy import EvaluationPolicy, critic_means
from .inference import generate
from .models.mlp import describe_data_scale
from .render import payload_image, save_png
from .requests import POLL_S
from .run_report import ResumePoint
from .run_threads import RunThreads
from .sampling import ARROW_RES, FIELD_RES, critic_field, sample_payload
from .status import RunState, RunStatus
from .strategy import SingleProcess, Strategy


class TrainingError(RuntimeError):
    pass


_NOTHING: Future = Future()  # what a process that does not evaluate hands back
_NOTHING.set_result(None)


class Trainer:
    def __init__(self, config: Config, run_dir: str | Path | None = None, *, observers=(),
                 device: str | torch.device | None = None, data: DataSource | None = None,
                 report_interval_s: float = 0.1, on_nonfinite: str = "pause", request_poll_s: float = POLL_S,
                 control: RunControl | None = None, strategy: Strategy | None = None):
        """``request_poll_s``: how often the run folder's requests are looked for (at most; 0 looks
        at every iteration boundary). ``on_nonfinite``: what a NaN/Inf loss does. "pause" rolls
        the run back to its last good checkpoint, records a "nonfinite" event and pauses (the
        studio then offers lower learning rates); "raise" records it and raises TrainingError
        (the command line), leaving the last good checkpoint for ``--resume``. ``control``: a
        :class:`engine.control.RunControl` made before the trainer (what was asked of it meanwhile
        applies at the first iteration); default a new one. ``strategy``: how many processes
        train the run (:mod:`engine.strategy`); default :class:`~engine.strategy.SingleProcess`."""
        if on_nonfinite not in ("pause", "raise"):
            raise ValueError("on_nonfinite must be 'pause' or 'raise'")
        self.strategy = strategy if strategy is not None else SingleProcess()
        notes = self.strategy.check(config)
        self.on_nonfinite = on_nonfinite
        self.nonfinite: dict | None = None
        checked = validate(config)
        self.config = config.copy()
        device = device if device is not None else self.strategy.device
        self.device = torch.device(device) if device is not None else pick_device(config.train.device)
        self.run_dir = self.strategy.folder(run_dir)
        writes = self.run_dir if self.strategy.leads else None  # the folder this process writes
        self.observers = list(observers)
        if self.config.train.tensorboard and writes is not None:
            from .tensorboard_log import TensorBoardLog
            self.observers.append(TensorBoardLog(run_dir, self.config))
        self.report_interval_s = report_interval_s
        # the run's parts (engine.build.RunParts) are the trainer's attributes: data, generator,
        # critic, objective, optimisers, rng, algorithm, recorder, evaluator, fixed batches, ...
        parts = build_run(self.config, self.device, data, writes, evaluates=self.strategy.leads)
        for name, value in parts.items():
            setattr(self, name, value)
        self.warnings = list(checked) + self.warnings + notes
        self.gen_iter = 0
        self.total_iters = self.config.train.iterations
        self.evaluation = EvaluationPolicy(self.is_toy, self.run_dir, self.log_event, self.config.train.best_by)
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
        # The run folder as a steering channel (engine.channel): requests from other processes,
        # and the heartbeat that tells a follower the run is alive.
        self.channel = (RequestChannel(writes.path, self, self.log_event, self.status, request_poll_s)
                        if writes is not None else None)
        # CPU threads (engine.run_threads): fixed, tuned while training, or the strategy's share
        self.threads = RunThreads(self.device, self.config.train.threads, self.strategy.thread_share)
        self.thread_tuner = self.threads.tuner  # told of each iteration by the loop
        self._last_step = (True, 0.0)  # (plain, seconds of periodic work) of the last step, for the tuner
        self.strategy.attach(self)
        self.request_target = self.strategy.request_target(self.control)  # where pause, stop, edits... go
        self._report_due = self.strategy.report_rule(self)

    # ================================================================== checkpoints in and out
    @classmethod
    def from_checkpoint(cls, path: str | Path, run_dir: str | Path | None = None, **kwargs) -> Trainer:
        """Rebuild a trainer exactly where a checkpoint left it (models, optimisers, every RNG,
        counters, fixed noise, live values and edit log)."""
        state = load_checkpoint(path)
        cfg = run_state.checkpoint_config(state, path)
        trainer = cls(cfg, run_dir, **kwargs)
        trainer.load_state(state, source=path)
        return trainer

    @classmethod
    def resume_run(cls, run_dir: str | Path, iterations: int | None = None, *, strategy: Strategy | None = None,
                   **kwargs) -> Trainer:
        """Continue a stopped or crashed run in its own folder from the checkpoint the strategy
        chooses (:func:`engine.run_report.prepare_resume`: latest.pt, or the newest numbered one
        that loads when latest.pt is damaged); ``trainer.resumed_from`` says which."""
        strategy = strategy if strategy is not None else SingleProcess()
        point = strategy.choose_resume(run_dir)
        trainer = cls.from_checkpoint(point.checkpoint, run_dir=point.run_dir, strategy=strategy, **kwargs)
        if iterations is not None:
            trainer.total_iters = iterations
        trainer._resumed = True
        trainer.resumed_from = point
        return trainer

    def load_state(self, state: dict, source="checkpoint") -> None:
        """Put the run where a checkpoint's ``state`` left it (engine.run_state)."""
        run_state.restore_state(self, state, source)

    def state_dict(self) -> dict:
        """The run's checkpoint as it is now (engine.run_state)."""
        return run_state.capture_state(self)

    def save_checkpoint(self, numbered: bool = False) -> Path | None:
        """Write checkpoints/latest.pt (``numbered``: iter_NNNNNNN.pt, linked as latest.pt), after
        reporting every row up to it; never a state with NaN/Inf weights (that rolls back)."""
        self.strategy.before_checkpoint(self)  # several processes: every rank's RNG (a collective)
        if self.run_dir is None:
            return None
        self._rolled_back = False
        self.flush(wait=True)  # metrics.csv holds every row up to the checkpoint before it exists
        if not self._rolled_back and not run_state.weights_finite(self):
            # finite losses can still leave non-finite weights (the last update of the step)
            self.handle_nonfinite(self.gen_iter, what="weights")
        if self._rolled_back or not self.strategy.leads:
            return None  # never checkpoint a state that produced NaN/Inf
        return run_state.write_checkpoint(self.state_dict(), self.run_dir, self.gen_iter if numbered else None)

    # ================================================================== what the run shows
    @property
    def best(self) -> dict | None:
        """The best evaluation so far (measure, value, gen_iter): checkpoints/best.pt."""
        return self.evaluation.best

    @property
    def best_measure(self) -> str:
        return self.evaluation.measure

    @property
    def resume_note(self) -> str | None:
        """How the run continued from its checkpoint, when it is not exactly (several processes)."""
        return self.strategy.resume_note

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

    def status(self) -> RunStatus:
        """Where the run is (what the heartbeat writes and a front end shows); any thread."""
        return RunStatus(self.state, self.gen_iter, self.total_iters, self.its_per_sec, self._elapsed(),
                         dict(self.hp), describe(self.device))

    # ================================================================== thread-safe control
    def pause(self) -> None:
        self.request_target.pause()

    def resume(self) -> None:
        self.request_target.resume()

    def request_step(self, n: int = 1) -> None:
        """While paused, run ``n`` generator iterations and stay paused."""
        self.request_target.request_step(n)

    def stop(self) -> None:
        """Stop at the next generator-iteration boundary (a checkpoint is written)."""
        self.request_target.stop()

    def request_samples(self) -> None:
        """Produce a sample payload for the observers at the next boundary (no file written)."""
        self.request_target.request_samples()

    def request_edit(self, **changes) -> None:
        """Change live parameters (``clip_value``, ``lr_critic``, ``lr_generator``, ``n_critic``,
        ``gp_lambda``); they apply at the next generator-iteration boundary and are logged.
        Raises ConfigError at once for an unknown key or a bad value."""
        self.request_target.request_edit(**changes)

    def serve_requests(self) -> None:
        """Take the requests waiting for this boundary (the folder's, engine.channel; several
        processes: rank 0's, sent to all) and beat the heart. :meth:`run` calls it at every
        boundary and while paused; call it between :meth:`step` calls when you drive the steps."""
        self.strategy.serve(self.channel)

    # ================================================================== observers and events
    def _notify(self, method: str, arg) -> None:
        for obs in self.observers:
            fn = getattr(obs, method, None)
            if fn is not None:
                fn(arg)

    def log_event(self, kind: str, **fields) -> dict:
        """An event of the run at this iteration: events.jsonl and the observers' ``on_event``."""
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
            if self.channel is not None:
                self.channel.heartbeat(force=True)

    # ================================================================== one iteration and its periodic work
    def set_learning_rates(self) -> None:
        """The optimisers' learning rates from the live values."""
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
                self.set_learning_rates()
            self.edit_log.append({"gen_iter": self.gen_iter, "key": key, "old": old, "new": value})
            self.log_event("edit", key=key, old=old, new=value)

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
        if self.ema is not None:
            self.ema.update(self.gen_iter)
        self.recorder.add(self.gen_iter, (self.hp["lr_critic"], self.hp["lr_generator"], self.hp["clip_value"],
                                          n_critic, self.hp["gp_lambda"]), self._elapsed())
        clock = self.thread_tuner.clock if self.thread_tuner is not None else time.perf_counter
        t = clock()
        self.periodic_work()
        self._last_step = (not evaluating, clock() - t)  # (plain, seconds of periodic work)

    def _elapsed(self) -> float:
        if self._t_active is None:
            return self.elapsed_s
        return self.elapsed_s + (time.perf_counter() - self._t_active)

    def periodic_work(self) -> None:
        """The work due after the iteration just done: evaluation, report, samples, checkpoint."""
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
            self.flush(wait=full)
            if self._rolled_back:
                return  # NaN/Inf: the run went back to its last checkpoint and is paused
        if due_sample or self.control.samples_requested:
            self.make_samples(write=bool(due_sample))
        if due_ckpt:
            self.save_checkpoint(numbered=True)

    def report_time(self) -> bool:
        """Whether the report interval has passed on this process's clock (several processes:
        rank 0's decides for all, engine.distributed)."""
        return self.recorder.due >= self.report_interval_s

    def flush(self, wait: bool = False) -> None:
        """Report the recorded iterations (see :meth:`MetricsRecorder.flush`) to metrics.csv and
        the observers; NaN/Inf among them starts the rollback."""
        cols, first_bad = self.recorder.flush(self.evaluator, wait)
        if cols is None:
            return
        self._notify("on_metrics", cols)
        self._notify("on_status", self.status())
        if first_bad is not None:
            self.handle_nonfinite(first_bad)
            return
        self.evaluation.read(cols)

    # ================================================================== the NaN/Inf policy
    def handle_nonfinite(self, first_bad: int, what: str = "losses") -> None:
        """The ``what`` (losses or weights) turned NaN or infinite at ``first_bad``: roll the run
        back to its last good checkpoint (weights, optimisers, RNGs, counters and metrics.csv),
        log a "nonfinite" event and pause; or, with ``on_nonfinite`` "raise" or no checkpoint to
        go back to, raise :class:`TrainingError` with advice."""
        rd = self.run_dir
        if self.on_nonfinite == "raise" or rd is None or not rd.latest_checkpoint.is_file():
            raise TrainingError(f"the {what} became NaN or infinite at generator iteration {first_bad}"
                                f"{run_state.nonfinite_advice(rd)}")
        self.load_state(load_checkpoint(rd.latest_checkpoint), source=rd.latest_checkpoint)
        self.recorder.clear()
        self.evaluator.clear()
        rd.start_metrics(self.columns, keep_until=self.gen_iter)
        self.evaluation.restore()
        self.nonfinite = {"first_bad": first_bad, "rolled_back_to": self.gen_iter, "what": what,
                          "lr_critic": self.hp["lr_critic"], "lr_generator": self.hp["lr_generator"]}
        self._rolled_back = True
        self.log_event("nonfinite", **self.nonfinite)
        self.control.pause()  # the run waits for the user: lower the learning rates, then resume

    # ================================================================== evaluation and samples
    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """Quality metrics of the current generator on the fixed evaluation noise, now (waits for
        them): exact W1, modes covered and high-quality share (toy mixtures), sliced W1 (images),
        classes hit and class-histogram KL (the bundled digits)."""
        return self._evaluate_async().result()

    def _evaluate_async(self) -> Future:
        """An evaluation of this iteration, measured off the training thread (engine.evaluation_policy);
        the metrics.csv row of this iteration waits for it. Only the leading process evaluates."""
        return self.evaluation.submit(self) if self.strategy.leads else _NOTHING

    def critic_on_real(self) -> dict[str, float]:
        """The critic's means on held-out and training images (engine.evaluation_policy.critic_means)."""
        return critic_means(self.critic, self.probe_heldout, self.probe_train)

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
        samples/iter_NNNNNNN.png when ``write``. Only the leading process makes them."""
        self.control.take_samples_request()
        if not self.strategy.leads:
            return {}
        payload = self.sample_payload()
        if write and self.run_dir is not None:
            nrow = payload.get("nrow", int(math.ceil(math.sqrt(len(self.fixed_noise)))))
            save_png(payload_image(payload, nrow=nrow), self.run_dir.sample_path(self.gen_iter),
                     {"gen_iter": str(self.gen_iter), "seed": str(self.config.train.seed)})
        self._notify("on_samples", payload)
        return payload

    def sample(self, n: int, seed: int | None = None, classes=None) -> np.ndarray:
        """``n`` fresh samples in data space (toy ``[n, 2]``, images ``[n, C, H, W]`` in [-1, 1]).
        Conditional runs: ``n`` per class of ``classes`` (default all), class by class."""
        return generate(self.sampler, n, self.config.model.z_dim,
                        seed if seed is not None else self.config.train.seed, classes=classes)

    # ================================================================== the run
    def _start(self) -> None:
        self._started = True
        self.threads.take()
        if self.channel is not None:
            self.channel.open()  # requests written before this part of the run are stale
        if self.run_dir is not None:
            self.run_dir.create()
            self.config = self.run_dir.keep_points(self.config)  # the points go with the run folder
            self.run_dir.write_config(self.config)
            self.run_dir.start_metrics(self.columns, keep_until=self.gen_iter if self._resumed else None)
            if self.strategy.leads:   # the process that evaluates (the others build no feature networks)
                self.evaluation.describe(self.evaluator, self.columns)  # measures.json
            if self._resumed:
                self.evaluation.restore()
            scaled = describe_data_scale(self.generator)  # your own points at their scale
            self.log_event("resume_run" if self._resumed else "start", device=describe(self.device),
                           total=self.total_iters, warnings=self.warnings, **self.performance.as_event(),
                           **({"data_scale": scaled} if scaled else {}))
        for w in self.warnings:
            warnings.warn(w, stacklevel=3)
        self.recorder.restart_clock(self.gen_iter)
        self.strategy.on_start(self)

    def run(self, iterations: int | None = None) -> dict:
        """Train until ``iterations`` generator iterations in all (default: the config's), a
        stop request or an error. Returns the summary. Errors are recorded, the last good
        checkpoint is kept, and the exception is raised again. The CPU thread count is given back
        when the run ends (engine.run_threads)."""
        with self.threads.given_back():
            return self._run(iterations)

    def _run(self, iterations: int | None) -> dict:
        if iterations is not None:
            self.total_iters = iterations
        self.control.attach(self)  # a later run() of this trainer: boundary calls wait for its loop again
        if not self._started:
            self._start()
        else:
            self.threads.take()  # a later run() of this trainer: the count given back at the last one's end
        self._set_state(RunState.RUNNING)
        try:
            self._loop()
        except BaseException as e:
            self._failed(e)
            raise
        return self._finish()

    def _loop(self) -> None:
        """Iterations until the total or a stop; pauses, steps and boundary calls between them."""
        serve, channel = self.strategy.serve, self.channel  # serve_requests, without a call more per iteration
        while self.gen_iter < self.total_iters:
            serve(channel)
            if self.control.wants_calls():
                self.control.run_calls()
            action = self.control.next_action()
            if action == "stop":
                break
            if action == "run" and self._in_pause:
                self._leave_pause()  # resumed while a paused step was running
            if action == "wait":
                self._wait_while_paused()
                if self.thread_tuner is not None:
                    self.thread_tuner.interrupted()  # the pause is not an iteration's time
                continue
            self.step()
            if self.thread_tuner is not None:
                plain, extra_s = self._last_step
                self.thread_tuner.iteration(plain=plain, extra_s=extra_s)

    def _failed(self, e: BaseException) -> None:
        self.error = e
        with contextlib.suppress(BaseException):
            self.flush(wait=True)  # rows of the iterations that did complete
        self.recorder.clear()
        self.evaluator.clear()
        self.log_event("error", message=f"{type(e).__name__}: {e}")
        self._set_state(RunState.FAILED)
        self.control.end()

    def _finish(self) -> dict:
        """The end of a run (done or stopped): the last report, evaluation, samples, checkpoint."""
        stopped = self.gen_iter < self.total_iters
        self._set_state(RunState.STOPPING)
        self.flush(wait=True)
        tc = self.config.train
        if tc.eval_every and self.last_eval.get("gen_iter") != self.gen_iter:
            self._evaluate_async()
            self.flush(wait=True)
        if tc.sample_every and self.gen_iter % tc.sample_every != 0:
            self.make_samples(write=True)
        if not (tc.checkpoint_every and self.gen_iter % tc.checkpoint_every == 0):
            self.save_checkpoint()
        self.elapsed_s, self._t_active = self._elapsed(), None
        summary = self.summary()
        if self.run_dir is not None:
            self.run_dir.write_summary(summary)
        self.log_event("stop" if stopped else "finish", elapsed_s=round(self.elapsed_s, 3))
        self.control.clear_stop()
        self._set_state(RunState.STOPPED if stopped else RunState.FINISHED)
        self.close()
        self.control.end()
        return summary

    def _wait_while_paused(self) -> None:
        """Block while paused; return on resume, stop or a step request."""
        self.flush(wait=True)
        self.elapsed_s, self._t_active = self._elapsed(), None  # pauses are not training time
        if not self._in_pause:
            self._in_pause = True
            self.log_event("pause")
            self._set_state(RunState.PAUSED)
        poll = POLL_S if self.channel is not None or self.strategy.wakes_while_paused else None
        while True:
            resumed = self.control.wait_while_paused(timeout=poll)
            if resumed is not None:
                break
            self.serve_requests()  # still paused: a request may resume, step or stop the run
            self.control.run_calls()
        if resumed:
            self._leave_pause()
        self.recorder.restart_clock()

    def _leave_pause(self) -> None:
        self._in_pause = False
        self.log_event("resume")
        self._set_state(RunState.RUNNING)

    def summary(self) -> dict:
        """What summary.json holds: where the run ended, how fast, its last metrics and
        evaluation, the best checkpoint and how the W-estimate followed the quality measure."""
        return {
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
            **self.evaluation.summary(),
        }
