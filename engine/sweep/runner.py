"""Running a sweep on Optuna: workers claim trials from the storage and train each one as a
``wgan-train`` process in its own run folder (docs/guide/sweeps.md).

- The storage (a journal file in the sweep folder by default, or ``--storage URL``) gives each
  trial its number; trials numbered ``trials`` and above are never trained (told FAIL at once,
  marked ``surplus``), so the sweep ends with exactly ``trials`` trials however many workers race.
- A worker claims a trial under ``DIR/sweep.lock`` and keeps its claim file fresh; a RUNNING trial
  whose claim is stale (its worker died: SIGKILL, power off) is taken over and continued from its
  checkpoint by the continuation rule (``wgan-train --resume``); its parameters are the storage's.
- The trial's evaluations are read from its ``metrics.csv`` while it trains and reported to the
  pruner; a pruned trial gets a stop request (engine.requests) and is marked pruned, its folder kept.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
import tomli_w
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from ..config import SCHEMA, save_config
from ..follow import RunFollower
from ..procs import FileLock, engine_command, last_line, machine_cores, pid_alive, slots_for, spawn, threads_needed
from ..requests import read_status, write_request
from ..run_report import inspect_run, is_run_folder
from .folder import (
    CLAIM_EVERY_S,
    LOCK_FILE,
    STUDY_NAME,
    SweepTrials,
    TrialRow,
    claim_is_stale,
    trial_name,
    write_claim,
    write_trials,
)
from .spec import Choice, SweepSpec

POLL_S = 0.25
MAX_RESTARTS = 3
STATE_NAMES = {TrialState.COMPLETE: "complete", TrialState.PRUNED: "pruned", TrialState.FAIL: "failed",
               TrialState.RUNNING: "running", TrialState.WAITING: "waiting"}


def encode(key: str, value: Any) -> Any:
    """A value as Optuna stores it (lists, e.g. Adam's betas, as JSON text)."""
    return json.dumps(list(value)) if isinstance(value, tuple | list) else value


def decode(key: str, value: Any) -> Any:
    return tuple(json.loads(value)) if SCHEMA[key].type is tuple and isinstance(value, str) else value


def distributions(spec: SweepSpec) -> dict:
    out = {}
    for key, s in spec.search.items():
        if isinstance(s, Choice):
            out[key] = CategoricalDistribution([encode(key, v) for v in s.values])
        elif s.integer:
            out[key] = IntDistribution(int(s.low), int(s.high), log=s.log)
        else:
            out[key] = FloatDistribution(s.low, s.high, log=s.log)
    return out


class GridSampler(optuna.samplers.GridSampler):
    """Optuna's grid sampler, without its ``study.stop()`` when the grid is done (only allowed
    inside ``optimize``): the sweep counts its trials itself."""

    def after_trial(self, study, trial, state, values) -> None:
        pass


def make_study(spec: SweepSpec, storage, *, seed: int | None) -> optuna.Study:
    if spec.sampler == "grid":  # every process the same order: trial k is grid point k
        sampler = GridSampler(
            {k: [encode(k, v) for v in s.values] for k, s in spec.search.items()}, seed=spec.seed)
    elif spec.sampler == "random":
        sampler = optuna.samplers.RandomSampler(seed=seed)
    else:
        sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=max(2, min(10, spec.trials // 3)))
    if spec.pruner == "median":
        pruner = optuna.pruners.MedianPruner(n_startup_trials=max(1, min(5, spec.trials // 4)),
                                             n_warmup_steps=spec.base_config.train.eval_every)
    else:
        pruner = optuna.pruners.NopPruner()
    return optuna.create_study(study_name=STUDY_NAME, storage=storage, sampler=sampler, pruner=pruner,
                               direction=spec.direction, load_if_exists=True)


@dataclass
class Claimed:
    trial_id: int
    number: int
    params: dict[str, Any]
    resume: bool
    run_dir: Path
    reported: dict[int, float]        # the evaluations already reported (a trial taken over)


@dataclass
class Outcome:
    state: TrialState | None          # None: left RUNNING (the sweep was stopped); continued later
    value: float | None = None
    iteration: int | None = None
    message: str = ""
    reported: dict[int, float] = field(default_factory=dict)


class Sweep:
    """The workers of one process on one sweep folder."""

    def __init__(self, spec: SweepSpec, out: Path, storage, *, workers: int | None = None, nproc: int | None = None,
                 seed: int | None = None, say=print):
        self.spec, self.out, self.nproc, self.say = spec, Path(out), nproc, say
        cores = machine_cores()
        need = threads_needed(spec.base_config, cores, nproc)
        self.workers = max(1, workers or min(spec.trials, slots_for(cores, need)))
        self.threads = None if spec.base_config.train.threads else max(1, cores // self.workers // (nproc or 1))
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.study = make_study(spec, storage, seed=seed)
        self.dists = distributions(spec)
        self.worker_id = uuid.uuid4().hex[:12]
        self.stopping = threading.Event()
        self.active: dict[int, str] = {}    # trial number -> claim owner, refreshed by a thread
        self.active_lock = threading.Lock()
        self.procs: dict[int, Any] = {}
        self.restarts: dict[int, int] = {}

    # ------------------------------------------------------------------ the loop

    def run(self) -> None:
        """Train trials until every one of the ``trials`` is finished (or :meth:`stop`)."""
        (self.out / "trials").mkdir(parents=True, exist_ok=True)
        refresher = threading.Thread(target=self._refresh_claims, daemon=True, name="sweep-claims")
        refresher.start()
        threads = [threading.Thread(target=self._work, name=f"sweep-worker-{i}", args=(f"{self.worker_id}-{i}",))
                   for i in range(self.workers)]
        for t in threads:
            t.start()
        try:
            for t in threads:
                while t.is_alive():
                    t.join(0.2)
        except KeyboardInterrupt:
            self.stop()
            for t in threads:
                t.join()
            raise
        finally:
            self.stopping.set()
            self.write_table()

    def stop(self) -> None:
        """Stop the trials at their next iteration (each writes a checkpoint); they stay RUNNING,
        claims released, to be continued by the next run of the sweep."""
        self.stopping.set()
        for number, proc in list(self.procs.items()):
            if proc.poll() is None:
                run = self._run_dir_of(number)
                if run is not None and run.is_dir():
                    write_request(run, "stop", by="wgan-sweep")

    def _work(self, owner: str) -> None:
        while not self.stopping.is_set():
            claimed = self.claim(owner)
            if claimed == "wait":
                self.stopping.wait(2.0)
                continue
            if claimed is None:
                return
            try:
                outcome = self.train(claimed)
                self.finish(claimed, outcome)
            finally:
                with self.active_lock:
                    self.active.pop(claimed.number, None)
                write_claim(self.out, claimed.number, owner, released=True)

    def _refresh_claims(self) -> None:
        while not self.stopping.wait(CLAIM_EVERY_S):
            with self.active_lock:
                active = dict(self.active)
            for number, owner in active.items():
                write_claim(self.out, number, owner)

    # ------------------------------------------------------------------ claiming

    def claim(self, owner: str) -> Claimed | str | None:
        """The next trial this worker trains (new, or a dead worker's), "wait" while others run
        the last ones, None when every trial is finished."""
        with FileLock(self.out / LOCK_FILE):
            while True:
                trials = [t for t in self.study.get_trials(deepcopy=False) if t.number < self.spec.trials]
                if len(trials) < self.spec.trials:
                    trial = self.study.ask(self.dists)
                    if trial.number >= self.spec.trials:  # another process took the last number
                        trial.set_user_attr("surplus", True)
                        self.study.tell(trial, state=TrialState.FAIL)
                        continue
                    return self._claimed(owner, trial._trial_id, trial.number, trial.params, {}, resume=False)
                for t in trials:
                    started = t.datetime_start.timestamp() if t.datetime_start else None
                    if t.state == TrialState.RUNNING and claim_is_stale(self.out, t.number, started=started):
                        return self._claimed(owner, t._trial_id, t.number, t.params, dict(t.intermediate_values),
                                             resume=True)
                if any(t.state in (TrialState.RUNNING, TrialState.WAITING) for t in trials):
                    return "wait"
                return None

    def _claimed(self, owner: str, trial_id: int, number: int, raw: dict, reported: dict, *, resume: bool) -> Claimed:
        write_claim(self.out, number, owner)
        with self.active_lock:
            self.active[number] = owner
        params = {k: decode(k, raw[k]) for k in self.spec.search if k in raw}
        return Claimed(trial_id, number, params, resume, self.out / "trials" / trial_name(number, params), reported)

    def _run_dir_of(self, number: int) -> Path | None:
        found = sorted((self.out / "trials").glob(f"{number:03d}*"))
        return found[0] if found else None

    # ------------------------------------------------------------------ one trial

    def command(self, c: Claimed) -> list[str] | None:
        """How the trial trains: anew, or on from its checkpoint (None: it already finished)."""
        run = c.run_dir
        if c.resume and is_run_folder(run):
            self._wait_for_orphan(run)
            report = inspect_run(run)
            total = self.spec.trial_config(c.params).train.iterations
            if report.last_iter >= total and (run / "summary.json").exists():
                return None
            if report.checkpoint is not None:
                self.say(f"trial {c.number}: continuing {run.name} from iteration {report.checkpoint_iter}")
                return engine_command("train", "--resume", run, "--quiet", *self._nproc_args())
            self.say(f"trial {c.number}: {run.name} has no checkpoint; starting it again")
        if run.exists():
            shutil.rmtree(run)
        sets = [a for k, v in c.params.items() for a in ("--set", f"{k}={_toml_value(v)}")]
        return engine_command("train", self.out / "base.toml", "--out", run, "--quiet", *sets, *self._nproc_args())

    def _nproc_args(self) -> list[str]:
        return ["--nproc-per-node", str(self.nproc)] if self.nproc else []

    def _wait_for_orphan(self, run: Path, timeout_s: float = 120.0) -> None:
        """A process of the trial still training here (its sweep was killed where children outlive
        it): ask it to stop, and wait until it has written its checkpoint and ended."""
        status = read_status(run) or {}
        if status.get("state") not in ("running", "paused", "starting") or not pid_alive(status.get("pid"),
                                                                                          status.get("host")):
            return
        write_request(run, "stop", by="wgan-sweep")
        end = time.monotonic() + timeout_s
        while pid_alive(status.get("pid"), status.get("host")) and time.monotonic() < end:
            time.sleep(POLL_S)

    def train(self, c: Claimed) -> Outcome:
        argv = self.command(c)
        reporter = _Reporter(self.study, c.trial_id, self.spec.metric, dict(c.reported))
        if argv is None:
            reporter.feed(RunFollower(c.run_dir))
            return reporter.outcome(finished=True)
        log = self.out / "logs" / f"{c.number:03d}.log"
        if not c.resume:
            self.say(f"trial {c.number}: {c.run_dir.name}")
        proc = spawn(argv, log=log, threads=self.threads, with_parent=True)
        self.procs[c.number] = proc
        follower = RunFollower(c.run_dir)
        stop_sent = False
        while proc.poll() is None:
            time.sleep(POLL_S)
            reporter.feed(follower)
            if reporter.pruned and not stop_sent and c.run_dir.is_dir():
                write_request(c.run_dir, "stop", by="wgan-sweep (pruned)")
                stop_sent = True
        self.procs.pop(c.number, None)
        reporter.feed(follower)
        total = self.spec.trial_config(c.params).train.iterations
        finished = reporter.last_iter >= total and (c.run_dir / "summary.json").exists()
        if reporter.pruned or finished:
            return reporter.outcome(finished=True)
        return self.ended_early(c, proc.returncode, log)

    def ended_early(self, c: Claimed, returncode: int, log: Path) -> Outcome:
        """The trial's process ended before its last iteration: stopped (Ctrl+C, a stop request)
        or killed by a signal, it stays RUNNING and is continued (at most MAX_RESTARTS times by
        this process); an error (a status > 0) fails it."""
        if self.stopping.is_set():
            return Outcome(None)
        restarts = self.restarts[c.number] = self.restarts.get(c.number, 0) + 1
        if (returncode <= 0 or returncode == 130) and restarts <= MAX_RESTARTS:
            self.stopping.wait(1.0)   # a Ctrl+C reaches the trials and the sweep together: let it arrive
            return Outcome(None)
        return Outcome(TrialState.FAIL, message=last_line(log) or f"wgan-train exited with status {returncode}")

    def finish(self, c: Claimed, o: Outcome) -> None:
        if o.state is None:
            if self.stopping.is_set():
                self.say(f"trial {c.number}: stopped; it continues from its checkpoint when the sweep runs again")
            return
        trial = optuna.trial.Trial(self.study, c.trial_id)
        trial.set_user_attr("run_folder", c.run_dir.relative_to(self.out).as_posix())
        if o.iteration is not None:
            trial.set_user_attr("iteration", o.iteration)
        if o.message:
            trial.set_user_attr("message", o.message)
        if o.state == TrialState.COMPLETE:
            self.study.tell(trial, o.value)
        else:
            self.study.tell(trial, state=o.state)
        what = {TrialState.COMPLETE: f"{self.spec.metric} {o.value:.6g}",
                TrialState.PRUNED: f"pruned at iteration {o.iteration}",
                TrialState.FAIL: f"failed: {o.message}"}[o.state]
        self.say(f"trial {c.number}: {what}")
        self.write_table()

    # ------------------------------------------------------------------ the table

    def table(self) -> SweepTrials:
        rows = []
        for t in self.study.get_trials(deepcopy=False):
            if t.number >= self.spec.trials or t.user_attrs.get("surplus"):
                continue
            params = {k: decode(k, t.params[k]) for k in self.spec.search if k in t.params}
            value = t.value if t.state == TrialState.COMPLETE else (
                t.intermediate_values[max(t.intermediate_values)] if t.intermediate_values else None)
            iteration = t.user_attrs.get("iteration") or (max(t.intermediate_values) if t.intermediate_values else None)
            rows.append(TrialRow(t.number, STATE_NAMES.get(t.state, str(t.state).lower()), params, value, iteration,
                                 self.out / "trials" / trial_name(t.number, params)))
        return SweepTrials(self.spec.metric, self.spec.direction, list(self.spec.search), rows)

    def write_table(self) -> SweepTrials:
        table = self.table()
        write_trials(self.out, table)
        return table


class _Reporter:
    """Feeds a trial's evaluations to Optuna as they appear in its metrics.csv; asks the pruner."""

    def __init__(self, study: optuna.Study, trial_id: int, metric: str, reported: dict[int, float]):
        self.trial = optuna.trial.Trial(study, trial_id)
        self.metric = metric
        self.reported = reported
        self.pruned = False
        self.last_iter = 0
        self.value: float | None = None
        self.value_iter: int | None = None

    def feed(self, follower: RunFollower) -> None:
        up = follower.poll()
        if up.reset:
            self.last_iter = 0
        iters = up.rows.get("gen_iter", [])
        values = up.rows.get(self.metric, [])
        for it, v in zip(iters, values, strict=False):
            self.last_iter = max(self.last_iter, int(it))
            if v != v:  # NaN: no evaluation at this iteration
                continue
            self.value, self.value_iter = float(v), int(it)
            if int(it) not in self.reported and not self.pruned:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    self.trial.report(float(v), int(it))
                self.reported[int(it)] = float(v)
                self.pruned = self.trial.should_prune()

    def outcome(self, *, finished: bool) -> Outcome:
        if self.pruned:
            return Outcome(TrialState.PRUNED, self.value, self.value_iter)
        if self.value is None:
            return Outcome(TrialState.FAIL, message="no evaluation was written (train.eval_every)")
        return Outcome(TrialState.COMPLETE, self.value, self.value_iter)


def _toml_value(v: Any) -> str:
    return tomli_w.dumps({"v": list(v) if isinstance(v, tuple) else v}).split("=", 1)[1].strip()


def prepare_folder(spec: SweepSpec, out: Path) -> None:
    """Write DIR/sweep.toml and DIR/base.toml at the first run of the sweep."""
    from ..io import atomic_write_bytes
    out.mkdir(parents=True, exist_ok=True)
    if not (out / "sweep.toml").exists():
        atomic_write_bytes(out / "sweep.toml", spec.text.encode("utf-8"))
    if not (out / "base.toml").exists():
        save_config(spec.base_config, out / "base.toml")
