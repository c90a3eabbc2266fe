"""One run as a front end knows it (Qt-free): everything the studio shows of it lives here.

A :class:`Run` is fed by its source (:mod:`studio.sources`: a trainer of this process, a run
folder another process writes, a job the studio started) or filled once from a run folder
(:meth:`Run.opened`). Each change goes through a method that tells the run's listener (set by
:class:`studio.runs.Runs`) what changed: ``notify(run, change, *args)`` with ``change`` one of
:data:`CHANGES`. Nothing here blocks or computes more than bookkeeping.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from engine import LIVE_KEYS, SCHEMA, Config
from engine.objectives import traits
from engine.run_report import RunReport, run_kind
from engine.status import ACTIVE_STATES, ENDED_STATES, RunState, RunStatus

from .buffer import ColumnBuffer

# Where a run comes from (Run.kind).
NEW = "new"            # no run yet: the configuration the next run starts with
LOCAL = "local"        # trained by this studio, on a thread of its own
FOLDER = "folder"      # a run folder another process writes, followed
PROCESS = "process"    # a job this studio started as a child process, followed through its folder
OPENED = "opened"      # a run folder shown as it is on disk (finished, stopped, failed)
KINDS = (NEW, LOCAL, FOLDER, PROCESS, OPENED)

# What a listener hears (the second argument of notify).
CHANGES = ("restart", "ready", "status", "state", "metrics", "metrics_replaced", "samples", "event", "note",
           "live_values", "rollback", "failed", "ended")

DEFAULT_OBJECTIVE = SCHEMA["objective.kind"].default   # what a run without configuration shows

# The per-iteration statistics watched for NaN / Inf (the banner names them as the plots do).
WATCHED = ("critic_loss", "generator_loss", "w_estimate", "gradient_penalty", "critic_grad_norm")


def config_live_values(cfg: Config, overrides: Mapping | None = None) -> dict:
    """The live parameters a run of ``cfg`` starts with; finite ``overrides`` win (an opened run's
    last logged values)."""
    values = {key: cfg.get(f"{section}.{name}") for key, (section, name) in LIVE_KEYS.items()}
    values.update({k: v for k, v in (overrides or {}).items()
                   if k in values and isinstance(v, int | float) and math.isfinite(v)})
    return values


def first_nonfinite(cols: Mapping[str, np.ndarray], names) -> dict | None:
    """{"gen_iter", "values"} of the first row of ``cols`` where a column of ``names`` is NaN or
    infinite (None: every value is finite)."""
    names = [k for k in names if k in cols]
    bad = None
    for k in names:
        b = ~np.isfinite(np.asarray(cols[k], dtype=np.float64))
        bad = b if bad is None else bad | b
    if bad is None or not bad.any():
        return None
    i = int(np.argmax(bad))
    values = {k: float(cols[k][i]) for k in names if not np.isfinite(cols[k][i])}
    return {"gen_iter": int(cols["gen_iter"][i]), "values": values}


class Run:
    """One run: its source and kind, state and last status, configuration, what its folder held
    when opened (``report``) and the continuation plan of the form's configuration, metrics
    history, events, log (events and the studio's own lines), samples, live values, and the NaN
    rollback the user has not answered yet (``rollback``)."""

    def __init__(self, kind: str, key: Path | None = None, config: Config | None = None, *,
                 source=None, owns: bool = True):
        if kind not in KINDS:
            raise ValueError(f"unknown kind of run {kind!r}")
        self.kind = kind
        self.key = Path(key) if key is not None else None   # its folder (None: no run yet)
        self.location: str | None = None  # a folder on another machine: ssh://host/path (key: a stand-in)
        self.source = source            # studio.sources.RunSource: the controls, when it has any
        self.owns = owns                # False: another process's run; closing stops following only
        self.state = RunState.IDLE
        self.status: RunStatus | None = None
        self.config = config
        self.report: RunReport | None = None
        self.continuation = None        # engine.continuation.Continuation of the form's configuration
        self.metrics: ColumnBuffer | None = None
        self.events: list[dict] = []
        self.log: list[dict | str] = []
        self.samples: dict | None = None
        self.live_values: dict = config_live_values(config) if config is not None else {}
        self.device = ""
        self.num_classes = 0            # classes of a conditional run trained here (0: not conditional)
        self.nonfinite_seen: dict | None = None   # the first non-finite statistics, until the engine's event
        self.rollback: dict | None = None         # {"event", "values"} of a rollback not yet answered
        self.active = False                       # from start until its source has ended
        self.notify: Callable | None = None       # set by Runs

    # ------------------------------------------------------------------ ways in
    @classmethod
    def new(cls, config: Config | None) -> Run:
        """No run: the configuration the next run starts with."""
        return cls(NEW, None, config)

    @classmethod
    def opened(cls, report: RunReport, state: RunState | str) -> Run:
        """A run folder to look at (and perhaps continue): its rows, events and final state."""
        run = cls(OPENED, report.path, report.config)
        run.report = report
        cols = report.columns
        if cols and len(cols.get("gen_iter", ())):
            run._append({k: np.asarray(v, dtype=np.float64) for k, v in cols.items()})
        run.events = list(report.events)
        run.log = list(run.events)
        # The values the run ended with: its config's, every logged edit, then its last row's.
        last = {e["key"]: e["new"] for e in run.events if e.get("type") == "edit" and "new" in e}
        last.update({k: cols[k][-1] for k in LIVE_KEYS if len(cols.get(k, ()))})
        run.live_values = config_live_values(report.config, last) if report.config is not None else {}
        run.state = RunState.parse(state)
        return run

    @classmethod
    def started(cls, kind: str, key: Path, config: Config, source, *, owns: bool = True) -> Run:
        """A new run from ``source`` (not started yet: the caller starts it once it is listed)."""
        run = cls(kind, key, config, source=source, owns=owns)
        run.state, run.active = RunState.STARTING, True
        return run

    def go_on(self, source, config: Config) -> None:
        """This opened run continues from ``source`` (trained here): its rows, events, log and
        samples stay, the configuration is the one it continues with."""
        if self.active:
            raise RuntimeError(f"{self.name} is in progress")
        self.kind, self.source, self.owns, self.config = LOCAL, source, True, config
        self.status, self.report, self.continuation, self.rollback = None, None, None, None
        self.state, self.active = RunState.STARTING, True
        self._tell("restart")

    # ------------------------------------------------------------------ what it holds
    @property
    def name(self) -> str:
        return self.key.name if self.key is not None else "new run"

    @property
    def where(self) -> str:
        """Its folder as a user names it: a path, or ssh://host/path for a remote one."""
        return self.location or (str(self.key) if self.key is not None else "")

    @property
    def objective(self) -> str:
        return self.kind_of()[0]

    @property
    def is_toy(self) -> bool:
        return self.kind_of()[1]

    def kind_of(self) -> tuple[str, bool]:
        """(objective, is_toy): from the configuration, or guessed from the columns without one."""
        if self.config is None and self.metrics is None:
            return DEFAULT_OBJECTIVE, True
        return run_kind(self.config, self.columns() if self.config is None else {})

    @property
    def opened_folder(self) -> bool:
        return self.kind == OPENED

    @property
    def rows(self) -> int:
        return self.metrics.n if self.metrics is not None else 0

    def columns(self) -> dict[str, np.ndarray]:
        m = self.metrics
        return {k: m.view(k) for k in m.names} if m is not None else {}

    def last_iter(self) -> int:
        m = self.metrics
        return int(m.view("gen_iter")[-1]) if self.rows and "gen_iter" in m.names else 0

    @property
    def steerable(self) -> bool:
        """Whether live edits, pause and step reach the run now."""
        return (self.active and self.state in (RunState.RUNNING, RunState.PAUSED)
                and self.source is not None and bool(getattr(self.source, "can_steer", False)))

    @property
    def trains_here(self) -> bool:
        """A run of this studio's own (trained here or a job it started) that is in progress."""
        return self.active and self.owns and self.kind in (LOCAL, PROCESS)

    def shown_status(self) -> RunStatus:
        """Where the run is, for the status bar: its last status, or what its folder says."""
        st = self.status
        if st is not None and (st.total or st.gen_iter):
            return st
        total = self.config.train.iterations if self.config is not None else 0
        elapsed = None
        if self.kind == OPENED:
            # The training time the run's last stop / finish event recorded.
            elapsed = next((float(e["elapsed_s"]) for e in reversed(self.events) if "elapsed_s" in e), None)
            total = total or self.last_iter()
        return RunStatus(state=self.state, gen_iter=self.last_iter() if self.kind == OPENED else 0, total=total,
                         its_per_sec=None, elapsed_s=elapsed, live={}, device="")

    # ------------------------------------------------------------------ changes
    def _tell(self, change: str, *args) -> None:
        if self.notify is not None:
            self.notify(self, change, *args)

    def set_state(self, state: RunState | str) -> None:
        state = RunState.parse(state)
        if self.state == RunState.STOPPING and state in (RunState.RUNNING, RunState.PAUSED):
            return  # a late report from before the stop request
        if state == self.state:
            return
        self.state = state
        self._tell("state", state)

    def set_status(self, status: RunStatus) -> None:
        """The run's heartbeat: where it is, how fast, and its live values now."""
        self.status = status
        if status.device:
            self.device = status.device
        live = {k: v for k, v in (status.live or {}).items() if k in LIVE_KEYS}
        if live and any(self.live_values.get(k) != v for k, v in live.items()):
            self.live_values.update(live)
            self._tell("live_values", dict(self.live_values))
        self._tell("status", status)

    def ready(self, info: Mapping) -> None:
        """The run can be steered: {"values": live values, "device": str, "warnings": [str],
        "num_classes": int (optional)}."""
        self.device = str(info.get("device", "")) or self.device
        self.num_classes = int(info.get("num_classes", 0) or 0)
        self.live_values = dict(info.get("values") or self.live_values)
        self._tell("live_values", dict(self.live_values))
        for w in info.get("warnings", ()):
            self.add_note(f"warning: {w}")
        self._tell("ready")

    def add_note(self, text: str) -> None:
        """A line of the studio's own (not an engine event) in the run's log."""
        self.log.append(text)
        self._tell("note", text)

    def set_samples(self, payload: dict) -> None:
        self.samples = payload
        self._tell("samples", payload)

    def append_metrics(self, cols: Mapping[str, np.ndarray]) -> None:
        if self.nonfinite_seen is None:
            names = [k for k in WATCHED if k != "gradient_penalty" or traits(self.objective).uses_penalty]
            self.nonfinite_seen = first_nonfinite(cols, names)
        self._append(cols)
        self._tell("metrics", cols)

    def reset_metrics(self) -> None:
        """The rows so far are no longer the run's: they come again."""
        if self.rows:
            self.metrics.clear()
            self._tell("metrics_replaced")

    def keep_until(self, gen_iter: int) -> None:
        """Drop the rows past ``gen_iter``: they are no longer part of the run."""
        if self.rows and self.last_iter() > gen_iter:
            self.metrics.keep_until(gen_iter)
            self._tell("metrics_replaced")

    def add_event(self, ev: Mapping) -> None:
        ev = dict(ev)
        self.events.append(ev)
        self.log.append(ev)
        kind = ev.get("type")
        if kind == "edit" and ev.get("key") in LIVE_KEYS:
            self.live_values[ev["key"]] = ev.get("new")
        elif kind == "nonfinite":
            self._rolled_back(ev)
        elif kind == "resume" and self.rollback is not None:
            self.rollback = None   # resumed (from the toolbar too): the user has chosen
            self._tell("rollback", None)
        self._tell("event", ev)

    def _rolled_back(self, ev: dict) -> None:
        """The engine rolled the run back to its last good checkpoint and paused it: what the
        banner says (with the non-finite statistics seen just before, when they are of the same
        iteration), the learning rates restored, and the rolled-back rows dropped."""
        seen, self.nonfinite_seen = self.nonfinite_seen, None
        values = seen["values"] if seen is not None and seen["gen_iter"] == ev.get("first_bad") else None
        for key in ("lr_critic", "lr_generator"):
            if isinstance(ev.get(key), int | float):
                self.live_values[key] = ev[key]
        self.rollback = {"event": ev, "values": values}
        self.keep_until(int(ev.get("rolled_back_to", ev.get("gen_iter", 0))))
        self._tell("live_values", dict(self.live_values))
        self._tell("rollback", self.rollback)

    def dismiss_rollback(self) -> None:
        if self.rollback is not None:
            self.rollback = None
            self._tell("rollback", None)

    def preview_config(self, config: Config) -> None:
        """No run yet: the form changed; the values the next run starts with."""
        if self.kind != NEW:
            return
        self.config = config
        self.live_values = config_live_values(config)
        self._tell("live_values", dict(self.live_values))

    def fail(self, message: str, details: str) -> None:
        self.set_state(RunState.FAILED)
        self._tell("failed", message, details)

    def end(self) -> None:
        """The source has ended (its last report handled): the state is final."""
        self.active = False
        if self.state in ACTIVE_STATES or self.state in (RunState.NOT_RESPONDING, RunState.CONNECTION_LOST):
            last = self.status.state if self.status is not None else None
            if last in ENDED_STATES:
                final = last
            elif not self.owns or self.status is not None:
                final = RunState.STOPPED
            else:
                final = RunState.FAILED   # it never reported: it could not start
            self.set_state(final)
        self._tell("ended")

    def _append(self, cols: Mapping[str, np.ndarray]) -> None:
        m = self.metrics
        if m is None or not set(cols) <= set(m.names):
            names = tuple(dict.fromkeys([*(m.names if m is not None else ()), *cols]))
            grown = ColumnBuffer(names)
            if m is not None and m.n:
                grown.append({k: m.view(k) for k in m.names})
            self.metrics = m = grown
        m.append(cols)

    def __repr__(self) -> str:
        return f"Run({self.kind}, {self.name}, {self.state})"
