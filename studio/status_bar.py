"""The window's status bar and title: where the current run is, from its
:class:`engine.status.RunStatus` (the same for a run trained here, followed or opened)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar

from engine.status import ACTIVE_STATES, RunState
from engine.text import format_duration
from studio.runs import Run
from studio.runs.table import STATE_COLOUR

STATE_TEXT = {RunState.IDLE: "Idle", RunState.QUEUED: "Queued", RunState.STARTING: "Starting",
              RunState.RUNNING: "Running", RunState.PAUSED: "Paused", RunState.STOPPING: "Stopping",
              RunState.FINISHED: "Finished", RunState.STOPPED: "Stopped", RunState.FAILED: "Failed",
              RunState.NOT_RESPONDING: "Not responding (no sign of life from the training process)",
              RunState.CONNECTION_LOST: "Connection lost, retrying (the run goes on on its machine)"}


def state_text(state: RunState) -> str:
    return STATE_TEXT.get(state, str(state))


def window_title(run: Run, fallback_name: str, modified: bool) -> str:
    """"State [it/total] — name[*] — WGAN Studio": the run's folder while it is in progress or was
    opened, else where the configuration came from (``fallback_name``)."""
    shown = run.key is not None and (run.active or run.kind == "opened")
    name = run.name if shown else fallback_name
    extra = ""
    if run.state in ACTIVE_STATES and run.status is not None:
        extra = f" {run.status.gen_iter}/{run.status.total}"
    # The star compares whole configurations: not while a run is in progress (no star then).
    star = "*" if modified and not run.active else ""
    return f"{state_text(run.state)}{extra} — {name}{star} — WGAN Studio"


class RunStatusBar:
    """The permanent labels of ``bar``: state, iteration of total with a progress bar, speed,
    training time, ETA, device, and the run folder."""

    def __init__(self, bar: QStatusBar):
        self.bar = bar
        self.state_label = QLabel()
        self.state_label.setObjectName("stateLabel")
        self.iter_label = QLabel("0 / 0")
        self.progress = QProgressBar()
        self.progress.setFixedWidth(160)
        self.progress.setTextVisible(False)
        self.rate_label = QLabel("– it/s")
        self.elapsed_label = QLabel("elapsed –")
        self.eta_label = QLabel("ETA –")
        self.device_label = QLabel("")
        self.path_label = QLabel("")
        self.path_label.setObjectName("statusRunPath")
        for w in (self.state_label, self.iter_label, self.progress, self.rate_label, self.elapsed_label,
                  self.eta_label, self.device_label):
            bar.addPermanentWidget(w)
        bar.addWidget(self.path_label, 1)

    def show(self, run: Run) -> None:
        s = run.state
        colour = STATE_COLOUR.get(s, "#7f7f7f")
        self.state_label.setText(f"<span style='color:{colour}'>●</span> {state_text(s)}")
        p = run.shown_status()
        self.iter_label.setText(f"{p.gen_iter} / {p.total}")
        self.progress.setRange(0, max(p.total, 1))
        self.progress.setValue(min(p.gen_iter, p.total))
        running = s in (RunState.RUNNING, RunState.STARTING)
        rate = p.its_per_sec if running and p.its_per_sec else None
        self.rate_label.setText(f"{rate:.1f} it/s" if rate else "– it/s")
        self.elapsed_label.setText(f"elapsed {format_duration(p.elapsed_s)}")
        eta = max(p.total - p.gen_iter, 0) / rate if rate else None
        self.eta_label.setText(f"ETA {format_duration(eta)}")
        self.device_label.setText(p.device)
        self.path_label.setText(run.where)
