"""The runs, as Qt signals: a thin adapter over :class:`studio.runs.Runs`.

Every panel binds to one :class:`RunModel` and shows the *current* run. When another run becomes
current (started, opened, continued, switched to, or none after a preset or configuration was
loaded) the model emits ``run_changed`` and every panel redraws from the model alone, so nothing
of another run stays on screen. The other signals carry what was just added to the current run;
changes of the other held runs are kept in their :class:`studio.runs.Run` and shown when one of
them becomes current. ``runs_changed``: the list of held runs (or a state in it) changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from engine import Config
from engine.run_report import RunReport
from engine.status import RunState, RunStatus
from studio.runs import NEW, OPENED, ColumnBuffer, Run, Runs, config_live_values

__all__ = ["ColumnBuffer", "RunModel", "config_live_values"]


class RunModel(QObject):
    """The current run's signals and the current run's contents (``columns()``, ``rows``,
    ``events``, ``log``, ``samples``, ``config``, ``objective``, ``is_toy``, ``live_values``,
    ``state``, ``path``...). ``runs``: every held run; ``current``: the one shown."""

    run_changed = Signal()
    metrics_appended = Signal(object)       # a batch of rows {column: array}, already in metrics
    metrics_replaced = Signal()             # rows were dropped (NaN rollback, continuing from older)
    samples_changed = Signal(object)        # the payload now in samples
    event_added = Signal(object)            # an event now in events (and in log)
    note_added = Signal(str)                # a studio line now in log
    state_changed = Signal(str)
    status_changed = Signal(object)         # the current run's RunStatus
    live_values_changed = Signal(object)    # {key: value}
    rollback_changed = Signal(object)       # the current run's unanswered NaN rollback (or None)
    ready = Signal()                        # the source's run can be steered
    failed = Signal(str, str)
    ended = Signal()                        # the source has ended; state is final
    runs_changed = Signal()                 # runs were added or let go, or one changed state

    def __init__(self, parent: QObject | None = None, runs: Runs | None = None):
        super().__init__(parent)
        self.runs = runs if runs is not None else Runs()
        self.generation = 0                   # +1 at every run_changed; late results name theirs
        self.runs.listen(self._on_change)

    # ------------------------------------------------------------------ the current run
    @property
    def current(self) -> Run:
        return self.runs.current

    @property
    def source(self):
        return self.current.source

    @property
    def state(self) -> RunState:
        return self.current.state

    @property
    def config(self) -> Config | None:
        return self.current.config

    @property
    def path(self) -> Path | None:
        return self.current.key

    @property
    def opened(self) -> bool:
        """A run folder shown, not running here."""
        return self.current.kind == OPENED

    @property
    def report(self) -> RunReport | None:
        return self.current.report

    @property
    def objective(self) -> str:
        return self.current.objective

    @property
    def is_toy(self) -> bool:
        return self.current.is_toy

    @property
    def events(self) -> list[dict]:
        return self.current.events

    @property
    def log(self) -> list:
        return self.current.log

    @property
    def samples(self) -> dict | None:
        return self.current.samples

    @property
    def live_values(self) -> dict:
        return self.current.live_values

    @property
    def device(self) -> str:
        return self.current.device

    @property
    def rows(self) -> int:
        return self.current.rows

    def columns(self) -> dict[str, np.ndarray]:
        return self.current.columns()

    def last_iter(self) -> int:
        return self.current.last_iter()

    def is_active(self) -> bool:
        """True from start() until the current run's source has ended (its last signal handled)."""
        return self.current.active

    def status(self) -> RunStatus:
        """Where the current run is (the status bar's numbers)."""
        return self.current.shown_status()

    # ------------------------------------------------------------------ turning to another run
    def clear(self, config: Config | None = None) -> None:
        """No run: the window shows ``config``, the configuration the next run starts with. A run
        in progress stays held (listed), and goes on."""
        self.runs.show(Run.new(config))

    def show_run(self, path: Path, config: Config | None, columns: Mapping[str, list], events: list[dict],
                 state: str, report: RunReport | None = None) -> Run:
        """A run folder to look at (and perhaps continue): its rows, events and final state."""
        rep = report if report is not None else RunReport(path=Path(path), config=config, columns=dict(columns),
                                                          events=list(events))
        return self.runs.show(Run.opened(rep, state))

    def start(self, source, config: Config, path: Path, *, continued: bool = False, location: str | None = None) -> Run:
        """A run from ``source`` (a :class:`studio.sources.RunSource`, which says what kind of run it
        is and whether this studio owns it): a new one, or (``continued``) the opened run going on,
        whose rows, events and log stay."""
        run = self.current
        if continued and run.kind == OPENED:
            source.feed(run)
            run.go_on(source, config)
        else:
            run = Run.started(source.kind, Path(path), config, source, owns=source.owns_run)
            run.location = location  # a run on another machine: ssh://host/path (``path``: a stand-in)
            source.feed(run)
            self.runs.show(run)
        source.start()
        return run

    def switch_to(self, run: Run) -> None:
        self.runs.switch(run)

    # ------------------------------------------------------------------ changes of the current run
    def set_state(self, state: RunState | str) -> None:
        self.current.set_state(state)

    def add_note(self, text: str) -> None:
        self.current.add_note(text)

    def set_samples(self, payload: dict, generation: int | None = None) -> bool:
        """Show ``payload``; one made for an earlier current run (``generation`` given and past) is
        dropped."""
        if generation is not None and generation != self.generation:
            return False
        self.current.set_samples(payload)
        return True

    def keep_until(self, gen_iter: int) -> None:
        self.current.keep_until(gen_iter)

    def preview_config(self, config: Config) -> None:
        """Between runs: the form changed; show the values the next run starts with."""
        if self.current.kind == NEW:
            self.current.preview_config(config)

    # ------------------------------------------------------------------ from the runs
    def _on_change(self, run: Run | None, change: str, *args) -> None:
        if change == "list":
            self.runs_changed.emit()
            return
        if run is not self.runs.current:
            return  # kept in its Run, shown when it becomes current
        if change in ("current", "restart"):
            self.generation += 1
            self.run_changed.emit()
            self.state_changed.emit(str(run.state))
            return
        emit = _SIGNALS.get(change)
        if emit is not None:
            emit(self, *args)


def _emit(name: str, convert=None):
    def emit(model: RunModel, *args) -> None:
        getattr(model, name).emit(*(convert(*args) if convert else args))
    return emit


# A run's change -> the model's signal for the current run.
_SIGNALS = {
    "ready": _emit("ready"),
    "status": _emit("status_changed"),
    "state": _emit("state_changed", lambda s: (str(s),)),
    "metrics": _emit("metrics_appended"),
    "metrics_replaced": _emit("metrics_replaced"),
    "samples": _emit("samples_changed"),
    "event": _emit("event_added"),
    "note": _emit("note_added"),
    "live_values": _emit("live_values_changed"),
    "rollback": _emit("rollback_changed"),
    "failed": _emit("failed"),
    "ended": _emit("ended"),
}
